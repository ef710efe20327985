import Foundation
import Hummingbird
import OneCardCore

/// Family service (API.md "Entitlements and records"). API.md fixes adding, listing, accepting, the agent's confirmation
/// and the relative's QR; the rest follow the holder's own paths under `/api/v1/me/relatives/...`: declining, removal by
/// either side (`DELETE .../links/{linkId}`), the relative's uses, card application and loss report, and the activity both
/// sides see.
struct FamilyController {
    let family: FamilyService

    func register(_ api: API) {
        api.add(.post,   "/api/v1/me/relatives",                               roles: [.holder], add)
        api.add(.get,    "/api/v1/me/relatives",                               roles: [.holder], list)
        api.add(.get,    "/api/v1/me/relatives/activity",                      roles: [.holder], activity)
        api.add(.post,   "/api/v1/me/relatives/requests/{linkId}/accept",      roles: [.holder], accept)
        api.add(.post,   "/api/v1/me/relatives/requests/{linkId}/decline",     roles: [.holder], decline)
        api.add(.delete, "/api/v1/me/relatives/links/{linkId}",                roles: [.holder], remove)
        api.add(.post,   "/api/v1/relatives/{linkId}/confirm",                 roles: [.agent],  confirm)
        api.add(.post,   "/api/v1/me/relatives/{personId}/ecard/qr",           roles: [.holder], qr)
        api.add(.get,    "/api/v1/me/relatives/{personId}/uses",               roles: [.holder], uses)
        api.add(.post,   "/api/v1/me/relatives/{personId}/report-loss",        roles: [.holder], reportLoss)
        api.add(.post,   "/api/v1/me/relatives/{personId}/card-applications",  roles: [.holder], apply)
    }

    struct LinkView: Encodable, Sendable {
        static let schema = Schema.named("RelativeLink", .object([
            ("linkId", .text), ("personId", .text), ("nameMasked", .text), ("relationship", .oneOf(RelativeLink.Relationship.self)),
            ("status", .oneOf(RelativeLink.Status.self)), ("basis", .nullable(.oneOf(RelativeLink.Basis.self))), ("createdAt", .dateTime),
            ("changedAt", .dateTime),
        ], required: ["linkId", "personId", "relationship", "status", "createdAt", "changedAt"]))
        let linkId: String, personId: String, nameMasked: String?, relationship: String, status: String, basis: String?, createdAt: String, changedAt: String
        /// `personId`: the other person (the relative in my list; the asker in requests to me).
        init(_ l: RelativeLink, other: Person.ID, nameMasked: String?) {
            linkId = l.id; personId = other.rawValue; self.nameMasked = nameMasked; relationship = l.relationship.rawValue; status = l.status.rawValue
            basis = l.basis?.rawValue; createdAt = Timestamp.format(l.createdAt); changedAt = Timestamp.format(l.changedAt)
        }
    }

    struct AddInput: Decodable { let idNumber: String; let name: String; let relationship: String }

    var add: Handler {
        Handler("Add a relative for family service by their ID number and name (they must be registered, and the name must match: "
                    + "otherwise relative_not_matched, the same answer for both); pending until they accept or an agent confirms "
                    + "guardianship in person; pending and active links count toward the region's limit (relatives_limit)",
                tag: "family",
                request: .object([("idNumber", .text(1, 40)), ("name", .line(50)), ("relationship", .oneOf(RelativeLink.Relationship.self))],
                                 required: ["idNumber", "name", "relationship"]),
                success: (201, "The link", .object([("linkId", .text), ("personId", .text), ("status", .oneOf(RelativeLink.Status.self))],
                                                   required: ["linkId", "personId", "status"])),
                errors: [.relativeNotMatched, .relativeExists, .relativesLimit]) { request, context in
            let i = try await request.decodeJSON(as: AddInput.self, context: context)
            try TextRule.check(i.idNumber, "idNumber", max: 40)
            try TextRule.check(i.name, "name", max: 50, notBlank: true, oneLine: true)
            let relationship: RelativeLink.Relationship = try parseEnum(i.relationship, "relationship")
            let l = try await family.add(holder: context.identity!, idNumber: i.idNumber.trimmingCharacters(in: .whitespaces), name: i.name,
                                         relationship: relationship)
            return JSONResponse(["linkId": l.id, "personId": l.relativeId.rawValue, "status": l.status.rawValue], status: .created)
        }
    }

    var list: Handler {
        Handler("My relatives (pending and active) and the requests and links of others to me", tag: "family",
                success: (200, "Links", .object([("relatives", .array(LinkView.schema)), ("requests", .array(LinkView.schema))],
                                                 required: ["relatives", "requests"]))) { _, context in
            let (mine, toMe) = try await family.list(personId: context.identity!.personId!)
            return JSONResponse(["relatives": mine.map { LinkView($0.link, other: $0.link.relativeId, nameMasked: $0.nameMasked) },
                                 "requests": toMe.map { LinkView($0.link, other: $0.link.holderId, nameMasked: $0.nameMasked) }])
        }
    }

    struct EventView: Encodable, Sendable {
        static let schema = Schema.named("FamilyEvent", .object([
            ("linkId", .text), ("holderId", .text), ("relativeId", .text), ("action", .text), ("actor", .text), ("at", .dateTime),
        ], required: ["linkId", "holderId", "relativeId", "action", "actor", "at"]))
        let linkId: String, holderId: String, relativeId: String, action: String, actor: String, at: String
        init(_ e: FamilyEvent) {
            linkId = e.linkId; holderId = e.holderId.rawValue; relativeId = e.relativeId.rawValue; action = e.action; actor = e.actor; at = Timestamp.format(e.at)
        }
    }

    var activity: Handler {
        Handler("Every act of family service on my links, as the one acting or the relative acted for (QR shown, uses read, card "
                    + "applied or reported lost, links asked, accepted, confirmed, removed), the latest first",
                tag: "family",
                success: (200, "Acts", .object([("events", .array(EventView.schema))], required: ["events"]))) { _, context in
            JSONResponse(["events": try await family.activity(personId: context.identity!.personId!).map(EventView.init)])
        }
    }

    static func view(_ l: RelativeLink) -> LinkView { LinkView(l, other: l.relativeId, nameMasked: nil) }

    var accept: Handler {
        Handler("Accept a relative's request: they may act for me (show my QR, apply for my card, report it lost, see my uses), never "
                    + "see my records",
                tag: "family", success: (200, "The link", LinkView.schema),
                errors: [.relativeLinkNotFound, .invalidTransition]) { _, context in
            JSONResponse(Self.view(try await family.answer(context.parameters.get("linkId") ?? "", accept: true, by: context.identity!)))
        }
    }

    var decline: Handler {
        Handler("Decline a relative's request", tag: "family", success: (200, "The link", LinkView.schema),
                errors: [.relativeLinkNotFound, .invalidTransition]) { _, context in
            JSONResponse(Self.view(try await family.answer(context.parameters.get("linkId") ?? "", accept: false, by: context.identity!)))
        }
    }

    var remove: Handler {
        Handler("End a family link, as the one acting or as the relative", tag: "family", success: (200, "The link", LinkView.schema),
                errors: [.relativeLinkNotFound, .invalidTransition]) { _, context in
            JSONResponse(Self.view(try await family.remove(context.parameters.get("linkId") ?? "", by: context.identity!)))
        }
    }

    struct ConfirmInput: Decodable { let basis: String }

    var confirm: Handler {
        Handler("An agent confirms a pending family link in person: guardianship of a minor or representation (documents checked at "
                    + "the counter); audited",
                tag: "family", request: .object([("basis", .oneOf(RelativeLink.Basis.self))], required: ["basis"]),
                success: (200, "The link", LinkView.schema),
                errors: [.relativeLinkNotFound, .invalidTransition]) { request, context in
            let basis: RelativeLink.Basis = try parseEnum(try await request.decodeJSON(as: ConfirmInput.self, context: context).basis, "basis")
            return JSONResponse(Self.view(try await family.confirm(context.parameters.get("linkId") ?? "", basis: basis, by: context.identity!)))
        }
    }

    var qr: Handler {
        Handler("A QR token for my relative's active card (their e-card is bound for family service if they have none); the use "
                    + "appears in their uses",
                tag: "family", success: (200, "The token", ECardController.Docs.qr),
                errors: [.relativeLinkNotFound] + ECardController.Docs.qrErrors) { _, context in
            let t = try await family.qrToken(for: Person.ID(context.parameters.get("personId") ?? ""), by: context.identity!)
            return JSONResponse(["token": t.token, "expiresAt": Timestamp.format(t.expiresAt)])
        }
    }

    var uses: Handler {
        Handler("My relative's card uses and identity checks (audited on both)", tag: "family",
                success: (200, "Uses, newest first", .object([("uses", .array(.ref("Use")))], required: ["uses"])),
                errors: [.relativeLinkNotFound]) { _, context in
            JSONResponse(["uses": try await family.uses(of: Person.ID(context.parameters.get("personId") ?? ""), by: context.identity!)
                .map(AcceptanceController.UseView.init)])
        }
    }

    var reportLoss: Handler {
        Handler("Report my relative's card lost (the card lifecycle's rules)", tag: "family",
                request: .object([("kind", .oneOf(LossKind.self))], required: ["kind"]),
                success: (200, "The relative's card", CardsController.CardView.schema),
                errors: [.relativeLinkNotFound, .noCard, .invalidTransition, .idempotencyKeyReused, .invalidIdempotencyKey],
                extraHeaders: [CardsController.Docs.idempotencyHeader]) { request, context in
            let kind: LossKind = try parseEnum(try await request.decodeJSON(as: CardsController.LossInput.self, context: context).kind, "kind")
            let card = try await family.reportLoss(of: Person.ID(context.parameters.get("personId") ?? ""), kind: kind,
                                                   idempotencyKey: try CardsController.idempotencyKey(request), by: context.identity!)
            return JSONResponse(CardsController.CardView(card))
        }
    }

    struct ApplyInput: Decodable { let bankCode: String; let pickupOutletId: String?; let delivery: String? }

    var apply: Handler {
        Handler("Apply online for my relative's card (the application rules)", tag: "family",
                request: .object([("pickupOutletId", .text), ("bankCode", .text), ("delivery", .oneOf(Delivery.self))], required: ["bankCode"]),
                success: (201, "Submitted", CardsController.ApplicationView.schema),
                errors: [.relativeLinkNotFound] + CardsController.Docs.applicationErrors) { request, context in
            let i = try await request.decodeJSON(as: ApplyInput.self, context: context)
            let app = try await family.apply(for: Person.ID(context.parameters.get("personId") ?? ""), bankCode: i.bankCode, pickupOutletId: i.pickupOutletId,
                                             delivery: try parseEnum(i.delivery ?? "pickup", "delivery"), by: context.identity!)
            return JSONResponse(CardsController.ApplicationView(app, now: family.now), status: .created)
        }
    }
}
