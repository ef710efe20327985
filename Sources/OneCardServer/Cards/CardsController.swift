import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OneCardCore

/// Card applications at the agency, cards and their lifecycle, and the holder's own card (`/me`).
struct CardsController {
    let cards: CardService
    /// Requests about another region's card go to its issuer through the hub (ZJ art. 8: the issuing place handles them).
    let federation: FederationService

    struct ApplicationInput: Decodable {
        let personId: String; let channel: String; let applyOutletId: String?; let pickupOutletId: String?; let bankCode: String; let delivery: String?
    }
    struct MeApplicationInput: Decodable { let pickupOutletId: String?; let bankCode: String; let delivery: String?; let channel: String? }
    struct ReasonInput: Decodable { let reason: String? }
    struct PinInput: Decodable { let pin: String }
    struct LossInput: Decodable { let kind: String }
    struct ReplaceInput: Decodable { let reason: String }

    struct ApplicationView: Encodable, Sendable {
        static let schema = Schema.named("CardApplication", .object([
                ("applicationId", .text), ("personId", .text), ("status", .oneOf(ApplicationStatus.self)), ("channel", .oneOf(ApplicationChannel.self)),
                ("applyOutletId", .nullable(.text)), ("pickupOutletId", .nullable(.text)), ("delivery", .oneOf(Delivery.self)), ("bankCode", .text),
                ("remote", .boolean), ("submittedAt", .dateTime), ("dueAt", .dateTime), ("overdue", .boolean), ("reason", .nullable(.text)),
                ("cardNumber", .nullable(.text)),
            ], required: ["applicationId", "personId", "status", "channel", "delivery", "bankCode", "remote", "submittedAt", "dueAt", "overdue"]))

        let applicationId: String, personId: String, status: String, channel: String, applyOutletId: String?, pickupOutletId: String?
        let delivery: String, bankCode: String, remote: Bool, submittedAt: String, dueAt: String, overdue: Bool, reason: String?, cardNumber: String?
        init(_ a: CardApplication, now: Date) {
            applicationId = a.id; personId = a.personId.rawValue; status = a.status.rawValue; channel = a.channel.rawValue
            applyOutletId = a.applyOutletId; pickupOutletId = a.pickupOutletId; delivery = a.delivery.rawValue; bankCode = a.bankCode
            remote = a.remote; submittedAt = Timestamp.format(a.submittedAt); dueAt = Timestamp.format(a.dueAt)
            overdue = a.status.isOpen && now > a.dueAt; reason = a.reason; cardNumber = a.cardNumber?.rawValue
        }
    }

    struct CardView: Encodable, Sendable {
        static let schema = Schema.named("Card", .object([
                ("cardNumber", .text), ("identificationCode", .text), ("status", .oneOf(CardStatus.self)), ("issuerRegion", .text), ("personId", .text),
                ("functions", .object([("transit", .boolean), ("financial", .boolean)], required: ["transit", "financial"])),
                ("bankCode", .nullable(.text)), ("accountMasked", .nullable(.text)), ("issuedAt", .dateTime), ("expiresAt", .dateTime),
                ("replacedBy", .nullable(.text)), ("replaces", .nullable(.text)),
            ], required: ["cardNumber", "status", "issuerRegion", "personId", "functions", "issuedAt", "expiresAt"]))

        struct Functions: Encodable, Sendable { let transit: Bool; let financial: Bool }
        let cardNumber: String, identificationCode: String, status: String, issuerRegion: String, personId: String
        let functions: Functions, bankCode: String?, accountMasked: String?, issuedAt: String, expiresAt: String
        let replacedBy: String?, replaces: String?
        init(_ c: Card) {
            cardNumber = c.number.rawValue; identificationCode = c.identificationCode; status = c.status.rawValue; issuerRegion = c.issuerRegion
            personId = c.personId.rawValue; functions = .init(transit: c.transit, financial: c.financial); bankCode = c.bankCode
            accountMasked = c.accountNumber.map(Mask.account); issuedAt = Timestamp.format(c.issuedAt); expiresAt = Timestamp.format(c.expiresAt)
            replacedBy = c.replacedBy?.rawValue; replaces = c.replaces?.rawValue
        }
    }

    struct EventView: Encodable, Sendable {
        let at: String, type: String, actor: String, channel: String, reason: String?
        init(_ e: CardEvent) { at = Timestamp.format(e.at); type = e.type; actor = e.actor; channel = e.channel; reason = e.reason }
    }

    static func actor(_ context: AppContext, channel: String = "counter") -> Actor {
        Actor(name: context.identity!.actor, channel: channel)
    }

    /// The optional Idempotency-Key of a lifecycle step.
    static func idempotencyKey(_ request: Request) throws(DomainError) -> String? {
        guard let key = request.headers[.idempotencyKey] else { return nil }
        guard (1...200).contains(key.count) else { throw DomainError(.invalidIdempotencyKey, "Idempotency-Key: 1 to 200 characters") }
        return key
    }

    /// Loads a card that the caller may see: staff see every card, a holder only their own.
    func visibleCard(_ number: String, _ context: AppContext) async throws -> Card {
        let card = try await cards.card(try .existing(number))
        if let id = context.identity, id.role == .holder, id.personId != card.personId { throw DomainError.forbidden }
        return card
    }

    /// Answers locally; for a card this node does not hold, asked by staff of a federated node, forwards the request to
    /// the card's issuer through the hub and answers with the issuer's status and body, as if local.
    func orIssuer(_ number: String, _ action: Federation.CardRequest, body: [String: String] = [:], _ context: AppContext,
                  local: () async throws -> any ResponseGenerator) async throws -> any ResponseGenerator {
        do {
            return try await local()
        } catch let e as DomainError where cards.isForIssuer(e) && context.identity?.role != .holder {
            guard let card = try? CardNumber(number) else { throw e }
            let answer = try await federation.forward(.init(cardNumber: card.rawValue, action: action, body: body,
                                                            actor: context.identity?.actor ?? "unknown", channel: "counter"))
            var headers = HTTPFields()
            headers[.contentType] = answer.status >= 400 ? "application/problem+json" : "application/json"
            // Says the answer came from another province's node (shown on the agent's page).
            headers[HTTPField.Name("OneCard-Forwarded")!] = "issuer"
            return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
    }

    func register(_ api: API) {
        api.add(.post, "/api/v1/card-applications",                 roles: Docs.staff,                       submitApplication)
        api.add(.get,  "/api/v1/card-applications",                 roles: Docs.staff + [.auditor],          applicationQueue)
        api.add(.get,  "/api/v1/card-applications/{applicationId}", roles: Docs.staff + [.auditor],          showApplication)
        api.add(.get,  "/api/v1/cards/{cardNumber}",                roles: Docs.staff + [.auditor, .holder], showCard)
        api.add(.get,  "/api/v1/cards/{cardNumber}/events",         roles: Docs.staff + [.auditor, .holder], cardEvents)
        api.add(.post, "/api/v1/cards/{cardNumber}/activate",       roles: Docs.staff,                       activateCard)
        api.add(.post, "/api/v1/cards/{cardNumber}/report-loss",    roles: Docs.staff,                       reportLoss)
        api.add(.post, "/api/v1/cards/{cardNumber}/unlock",         roles: Docs.staff,                       unlockCard)
        api.add(.post, "/api/v1/cards/{cardNumber}/replace",        roles: Docs.staff,                       replaceCard)
        api.add(.post, "/api/v1/cards/{cardNumber}/cancel",         roles: Docs.staff,                       cancelCard)
        api.add(.get,  "/api/v1/me/card",                           roles: [.holder],                   myCard)
        api.add(.post, "/api/v1/me/report-loss",                    roles: [.holder],                   reportMyLoss)
        api.add(.post, "/api/v1/me/card-applications",              roles: [.holder],                   applyForMyCard)
        api.add(.get,  "/api/v1/me/card-applications",              roles: [.holder],                   myApplications)
        for step in [ApplicationStep.approve, .reject, .produce, .ready, .collect] {
            api.add(.post, "/api/v1/card-applications/{applicationId}/\(step.rawValue)", roles: Docs.staff, applicationStep(step))
        }
    }

    // MARK: handlers

    /// One step of an application: approve, reject (with a reason), produce, ready, collect.
    func applicationStep(_ step: ApplicationStep) -> Handler {
        let summary = switch step {
        case .approve: "Approve a submitted application"
        case .reject: "Reject an application, with a reason"
        case .produce: "Produce the card: returns the card number and chip key once, for personalisation"
        case .ready: "The card is ready at the pick-up outlet"
        case .collect: "The person collects the card, which is then issued"
        }
        return Handler(summary, tag: "card-applications",
                       request: step == .reject ? .object([("reason", .filled(500))], required: ["reason"]) : nil,
                       success: (200, step == .produce ? "Produced: the card number and its chip key (shown once)" : "The application",
                                 step == .produce ? Docs.produced : ApplicationView.schema),
                       errors: [.applicationNotFound, .invalidTransition, .activeCardExists]) { request, context in
            var reason: String?
            if step == .reject { reason = try await request.decodeJSON(as: ReasonInput.self, context: context).reason }
            let (app, produced) = try await cards.step(context.parameters.get("applicationId") ?? "", step, reason: reason, actor: Self.actor(context))
            if let produced {
                return try Response.json(["cardNumber": produced.cardNumber, "chipKey": produced.chipKey, "status": app.status.rawValue, "applicationId": app.id])
            }
            return try Response.json(ApplicationView(app, now: cards.now))
        }
    }

    // MARK: applications (agent)
    var submitApplication: Handler {
        Handler("Apply for a card for a person",
                tag: "card-applications",
                request: .object([
                       ("personId", .text), ("channel", .oneOf(ApplicationChannel.self)), ("applyOutletId", .text), ("pickupOutletId", .text),
                       ("bankCode", .text), ("delivery", .oneOf(Delivery.self)),
                    ], required: ["personId", "channel", "bankCode"]),
                success: (201, "Submitted", ApplicationView.schema),
                errors: Docs.applicationErrors) { request, context in
            let i = try await request.decodeJSON(as: ApplicationInput.self, context: context)
            let channel: ApplicationChannel = try parseEnum(i.channel, "channel")
            let app = try await cards.submit(.init(
                personId: Person.ID(i.personId), channel: channel, applyOutletId: i.applyOutletId, pickupOutletId: i.pickupOutletId,
                bankCode: i.bankCode, delivery: try parseEnum(i.delivery ?? "pickup", "delivery")), actor: Self.actor(context, channel: channel.rawValue))
            return JSONResponse(ApplicationView(app, now: cards.now), status: .created)
        }
    }

    var applicationQueue: Handler {
        Handler("The application queue, soonest deadline first",
                tag: "card-applications",
                query: [.list("status", "comma-separated statuses; default the open ones", ApplicationStatus.self)],
                success: (200, "Applications", .object([("applications", .array(ApplicationView.schema))], required: ["applications"]))) { request, _ in
            let statuses: [ApplicationStatus]
            if let raw = request.uri.queryParameters.get("status") {
                statuses = try raw.split(separator: ",").map { try parseEnum(String($0), "status") }
            } else {
                statuses = ApplicationStatus.allCases.filter(\.isOpen)
            }
            let now = cards.now
            return JSONResponse(["applications": try await cards.queue(statuses: statuses).map { ApplicationView($0, now: now) }])
        }
    }

    var showApplication: Handler {
        Handler("One application",
                tag: "card-applications",
                success: (200, "The application", ApplicationView.schema),
                errors: [.applicationNotFound]) { _, context in
            let app = try await cards.application(context.parameters.get("applicationId") ?? "")
            return JSONResponse(ApplicationView(app, now: cards.now))
        }
    }

    // MARK: cards (agent; holders their own)
    var showCard: Handler {
        Handler("A card (another region's card: its issuer's answer, through the hub)", tag: "cards", success: (200, "The card", CardView.schema),
                errors: [.cardNotFound, .federationUnavailable]) { _, context in
            let number = context.parameters.get("cardNumber") ?? ""
            return try await orIssuer(number, .view, context) { JSONResponse(CardView(try await visibleCard(number, context))) }
        }
    }

    var cardEvents: Handler {
        Handler("Every change to a card, from its application on",
                tag: "cards",
                success: (200, "Events in order", Docs.events),
                errors: [.cardNotFound, .federationUnavailable]) { _, context in
            let number = context.parameters.get("cardNumber") ?? ""
            return try await orIssuer(number, .events, context) {
                let c = try await visibleCard(number, context)
                return JSONResponse(["events": try await cards.events(c.number).map(EventView.init)])
            }
        }
    }

    var activateCard: Handler {
        Handler("Activate an issued card with a 6-digit PIN",
                tag: "cards",
                request: .object([("pin", .string(pattern: "^[0-9]{6}$"))], required: ["pin"]),
                success: (200, "Active", CardView.schema),
                errors: Docs.transitionErrors + [.invalidPin],
                extraHeaders: [Docs.idempotencyHeader]) { request, context in
            let pin = try PIN(try await request.decodeJSON(as: PinInput.self, context: context).pin)
            return JSONResponse(CardView(try await cards.transition(try .existing(context.parameters.get("cardNumber") ?? ""), .activate, pin: pin, actor: Self.actor(context), idempotencyKey: try Self.idempotencyKey(request)).card))
        }
    }

    var reportLoss: Handler {
        Handler("Report a card lost, temporarily or formally",
                tag: "cards",
                request: .object([("kind", .oneOf(LossKind.self))], required: ["kind"]),
                success: (200, "temporarily_lost or lost", CardView.schema),
                errors: Docs.transitionErrors,
                extraHeaders: [Docs.idempotencyHeader]) { request, context in
            let kind: LossKind = try parseEnum(try await request.decodeJSON(as: LossInput.self, context: context).kind, "kind")
            let number = context.parameters.get("cardNumber") ?? ""
            return try await orIssuer(number, .reportLoss, body: ["kind": kind.rawValue], context) {
                JSONResponse(CardView(try await cards.transition(try .existing(number), .reportLoss(kind), actor: Self.actor(context), idempotencyKey: try Self.idempotencyKey(request)).card))
            }
        }
    }

    var unlockCard: Handler {
        Handler("Lift a loss report (not after replacement)",
                tag: "cards",
                success: (200, "Active", CardView.schema),
                errors: Docs.transitionErrors,
                extraHeaders: [Docs.idempotencyHeader]) { request, context in
            let number = context.parameters.get("cardNumber") ?? ""
            return try await orIssuer(number, .unlock, context) {
                JSONResponse(CardView(try await cards.transition(try .existing(number), .unlock, actor: Self.actor(context), idempotencyKey: try Self.idempotencyKey(request)).card))
            }
        }
    }

    var replaceCard: Handler {
        Handler("Replace a card; the bank account moves to the new one (换卡不换号)",
                tag: "cards",
                request: .object([("reason", .oneOf(ReplaceReason.self))], required: ["reason"]),
                success: (201, "The new card, with its chip key (shown once)", Docs.produced),
                errors: Docs.transitionErrors,
                extraHeaders: [Docs.idempotencyHeader]) { request, context in
            let reason: ReplaceReason = try parseEnum(try await request.decodeJSON(as: ReplaceInput.self, context: context).reason, "reason")
            let number = context.parameters.get("cardNumber") ?? ""
            return try await orIssuer(number, .replace, body: ["reason": reason.rawValue], context) {
                let r = try await cards.transition(try .existing(number), .replace(reason), actor: Self.actor(context), idempotencyKey: try Self.idempotencyKey(request))
                return JSONResponse(["cardNumber": r.replacement!.number.rawValue, "chipKey": r.chipKey!, "status": r.replacement!.status.rawValue], status: .created)
            }
        }
    }

    var cancelCard: Handler {
        Handler("Cancel a card",
                tag: "cards",
                request: .object([("reason", .oneOf(CancelReason.self))], required: ["reason"]),
                success: (200, "Cancelled", CardView.schema),
                errors: Docs.transitionErrors,
                extraHeaders: [Docs.idempotencyHeader]) { request, context in
            let reason: CancelReason = try parseEnum(try await request.decodeJSON(as: ReplaceInput.self, context: context).reason, "reason")
            let number = context.parameters.get("cardNumber") ?? ""
            return try await orIssuer(number, .cancel, body: ["reason": reason.rawValue], context) {
                JSONResponse(CardView(try await cards.transition(try .existing(number), .cancel(reason), actor: Self.actor(context), idempotencyKey: try Self.idempotencyKey(request)).card))
            }
        }
    }

    // MARK: holder self-service
    var myCard: Handler {
        Handler("My card", tag: "me", success: (200, "My card", CardView.schema), errors: [.noCard]) { _, context in
            guard let c = try await cards.liveCard(personId: context.identity!.personId!) else {
                throw DomainError(.noCard, "you hold no card; apply for one")
            }
            return JSONResponse(CardView(c))
        }
    }

    var reportMyLoss: Handler {
        Handler("Report my card lost",
                tag: "me",
                request: .object([("kind", .oneOf(LossKind.self))], required: ["kind"]),
                success: (200, "My card", CardView.schema),
                errors: [.noCard, .invalidTransition, .idempotencyKeyReused, .invalidValue, .invalidIdempotencyKey],
                extraHeaders: [Docs.idempotencyHeader]) { request, context in
            let kind: LossKind = try parseEnum(try await request.decodeJSON(as: LossInput.self, context: context).kind, "kind")
            guard let c = try await cards.liveCard(personId: context.identity!.personId!) else {
                throw DomainError(.noCard, "you hold no card")
            }
            return JSONResponse(CardView(try await cards.transition(c.number, .reportLoss(kind), actor: Self.actor(context, channel: "web"), idempotencyKey: try Self.idempotencyKey(request)).card))
        }
    }

    var applyForMyCard: Handler {
        Handler("Apply for my card online",
                tag: "me",
                request: .object([("pickupOutletId", .text), ("bankCode", .text), ("delivery", .oneOf(Delivery.self)),
                    ("channel", .string(values: ["web", "mobile"]))], required: ["bankCode"]),
                success: (201, "Submitted", ApplicationView.schema),
                errors: Docs.applicationErrors) { request, context in
            let i = try await request.decodeJSON(as: MeApplicationInput.self, context: context)
            let channel: ApplicationChannel = try parseEnum(i.channel ?? "web", "channel")
            guard channel == .web || channel == .mobile else { throw DomainError(.invalidValue, "channel: web or mobile") }
            let app = try await cards.submit(.init(
                personId: context.identity!.personId!, channel: channel, applyOutletId: nil, pickupOutletId: i.pickupOutletId,
                bankCode: i.bankCode, delivery: try parseEnum(i.delivery ?? "pickup", "delivery")), actor: Self.actor(context, channel: channel.rawValue))
            return JSONResponse(ApplicationView(app, now: cards.now), status: .created)
        }
    }

    var myApplications: Handler {
        Handler("My applications and their progress",
                tag: "me",
                success: (200, "Applications", .object([("applications", .array(ApplicationView.schema))], required: ["applications"]))) { _, context in
            let now = cards.now
            return JSONResponse(["applications": try await cards.applications(personId: context.identity!.personId!).map { ApplicationView($0, now: now) }])
        }
    }

    /// Schemas, roles and error lists several handlers share.
    enum Docs {
        static let events = Schema.object([("events", .array(Schema.named("CardEvent", .object([
                ("at", .dateTime), ("type", .text), ("actor", .text), ("channel", .text), ("reason", .nullable(.text)),
            ], required: ["at", "type", "actor", "channel"]))))], required: ["events"])
        static let produced = Schema.named("ProducedCard", .object([("cardNumber", .text), ("chipKey", .text), ("status", .text), ("applicationId", .text)], required: ["cardNumber", "chipKey"]))
        static let staff: Roles = [.agent, .admin]
        static let applicationErrors: [DomainError.Code] = [.personNotFound, .activeCardExists, .applicationInProgress, .bankNotAccepting, .unknownOutlet,
                                                            .unknownBank, .notEligible, .pickupOutletRequired, .activeCardElsewhere]
        static let transitionErrors: [DomainError.Code] = [.cardNotFound, .invalidTransition, .notIssuer, .federationUnavailable, .idempotencyKeyReused,
                                                             .invalidIdempotencyKey]
        /// Lifecycle steps take an optional Idempotency-Key (issue 18: a retry after a lost answer).
        static let idempotencyHeader = (name: "Idempotency-Key",
                                        description: "optional, 1 to 200 characters: a retry with the same key answers as the first time without a second step (the key used for another step or card: 422 idempotency_key_reused); without a key a repeated step is 409 invalid_transition naming the current status",
                                        required: false)
    }
}
