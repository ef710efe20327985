import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Venues and terminals (admin), acceptances and identity checks (terminals), and "who checked my card".
struct AcceptanceController {
    let venues: VenueService
    let acceptance: AcceptanceService

    struct CredentialInput: Decodable {
        let kind: String; let token: String?; let cardNumber: String?; let challenge: String?; let response: String?
        /// A partner code's issuer (`partner_qr`, venues only).
        var issuer: String? = nil
    }
    struct AcceptanceInput: Decodable { let itemCode: String; let credential: CredentialInput; let amountFen: Int64? }
    struct IdentityInput: Decodable { let credential: CredentialInput; let purpose: String }

    struct VenueView: Encodable, Sendable {
        static let schema = Schema.named("Venue", .object([
                ("venueId", .text), ("name", .text), ("operatorUscc", .text), ("type", .oneOf(VenueType.self)), ("regionCode", .text), ("address", .text),
                ("accessibility", .array(.text)), ("unifiedLogo", .boolean), ("itemCodes", .array(.text)),
            ], required: ["venueId", "name", "operatorUscc", "type", "regionCode", "itemCodes"]))

        let venueId: String, name: String, operatorUscc: String, type: String, regionCode: String, address: String
        let accessibility: [String], unifiedLogo: Bool, itemCodes: [String]
        init(_ v: Venue) {
            venueId = v.id.rawValue; name = v.name; operatorUscc = v.operatorUscc; type = v.type.rawValue; regionCode = v.regionCode; address = v.address
            accessibility = v.accessibility; unifiedLogo = v.unifiedLogo; itemCodes = v.itemCodes
        }
    }

    struct UseView: Encodable, Sendable {
        let useId: String, at: String, kind: UseKind, decision: UseDecision, reason: String?, itemCode: String, venueName: String?, venueType: String?
        let regionCode: String?, crossRegion: Bool, chargedFen: Int64, disclosed: Disclosure?
        let concession: AppliedVenueConcession?
        init(_ uv: AcceptanceService.UseWithVenue) {
            let (u, v) = (uv.use, uv.venue)
            useId = u.id; at = Timestamp.format(u.at); kind = u.kind; decision = u.decision; reason = u.reason; itemCode = u.itemCode
            venueName = v?.name; venueType = v?.type.rawValue; regionCode = v?.regionCode; crossRegion = u.crossRegion
            chargedFen = u.chargedFen; disclosed = u.disclosed; concession = u.concession
        }
    }

    static func credential(_ c: CredentialInput) throws(DomainError) -> AcceptanceService.Credential {
        try AcceptanceService.parse(kind: c.kind, token: c.token, cardNumber: c.cardNumber, challenge: c.challenge, response: c.response)
    }

    /// What a venue's terminal may present for an item: the card, its QR code, or another platform's linked code.
    static func acceptanceCredential(_ c: CredentialInput) throws(DomainError) -> AcceptanceService.Credential {
        guard c.kind == "partner_qr" else { return try credential(c) }
        guard let issuer = c.issuer, CodeIssuer.validCode(issuer) else {
            throw .invalidField("credential.issuer", "the partner code's issuer: 2 to 40 letters, digits, '-', '_' or '.'")
        }
        guard let token = c.token, (1...8192).contains(token.utf8.count) else { throw .invalidField("credential.token", "1 to 8192 characters") }
        return .partner(issuer: issuer, token: token)
    }

    func register(_ api: API) {
        api.add(.post,   "/api/v1/venues",                                  roles: [.admin],    createVenue)
        api.add(.get,    "/api/v1/venues",                                  roles: .anyone,     listVenues)
        api.add(.get,    "/api/v1/venues/{venueId}",                        roles: .anyone,     showVenue)
        api.add(.post,   "/api/v1/venues/{venueId}/terminals",              roles: [.admin],    createTerminal)
        api.add(.delete, "/api/v1/venues/{venueId}/terminals/{terminalId}", roles: [.admin],    revokeTerminal)
        api.add(.post,   "/api/v1/acceptances",                             roles: [.terminal], accept)
        api.add(.post,   "/api/v1/acceptances/batch",                       roles: [.terminal], uploadOfflineDecisions)
        api.add(.post,   "/api/v1/identity-checks",                         roles: [.terminal], checkIdentity)
        api.add(.get,    "/api/v1/me/uses",                                 roles: [.holder],   myUses)
    }

    // MARK: handlers

    var createVenue: Handler {
        Handler("Register an acceptance venue",
                tag: "venues",
                request: .object([("name", .text(1, 100)), ("operatorUscc", .string(pattern: "^[0-9A-Z]{18}$")), ("type", .oneOf(VenueType.self)),
                    ("regionCode", .string(pattern: "^[0-9]{6}$")), ("address", .text(1, 200)), ("accessibility", .array(.text)),
                    ("unifiedLogo", .boolean), ("itemCodes", .array(.text, minItems: 1))], required: ["name", "operatorUscc", "type", "regionCode", "address", "itemCodes"]),
                success: (201, "Created", VenueView.schema),
                errors: [.invalidUscc, .itemNotInCatalogue, .itemNotForVenueType, .invalidRegionCode]) { request, context in
            let i = try await request.decodeJSON(as: VenueService.VenueInput.self, context: context)
            return JSONResponse(VenueView(try await venues.create(i, by: context.identity!.actor)), status: .created)
        }
    }

    var listVenues: Handler {
        Handler("Where the card is accepted (public)",
                tag: "venues",
                success: (200, "Venues", .object([("venues", .array(VenueView.schema))], required: ["venues"]))) { _, _ in
            JSONResponse(["venues": try await venues.list().map(VenueView.init)])
        }
    }

    var showVenue: Handler {
        Handler("One venue (public)",
                tag: "venues",
                success: (200, "The venue", VenueView.schema),
                errors: [.venueNotFound]) { _, context in
            JSONResponse(VenueView(try await venues.venue(Venue.ID(context.parameters.get("venueId") ?? ""))))
        }
    }

    var createTerminal: Handler {
        Handler("Add a terminal; its API key is shown once",
                tag: "venues",
                success: (201, "The terminal and its key", .object([("terminalId", .text), ("apiKey", .text)], required: ["terminalId", "apiKey"])),
                errors: [.venueNotFound]) { _, context in
            let t = try await venues.createTerminal(venueId: Venue.ID(context.parameters.get("venueId") ?? ""), by: context.identity!.actor)
            return JSONResponse(["terminalId": t.id.rawValue, "apiKey": t.apiKey], status: .created)
        }
    }

    var revokeTerminal: Handler {
        Handler("Revoke a terminal's key", tag: "venues", success: (204, "Revoked", nil), errors: [.terminalNotFound]) { _, context in
            try await venues.revokeTerminal(venueId: Venue.ID(context.parameters.get("venueId") ?? ""), terminalId: Terminal.ID(context.parameters.get("terminalId") ?? ""),
                                            by: context.identity!.actor)
            return Response(status: .noContent)
        }
    }

    var accept: Handler {
        Handler("Accept a QR code or a physical card for a catalogue item at this terminal's venue",
                tag: "acceptance",
                request: .object([("itemCode", .text(1, 40)), ("credential", Docs.acceptanceCredential), ("amountFen", .integerIn(minimum: 0, maximum: 100_000_000))],
                                 required: ["itemCode", "credential"]),
                success: (200, "The decision (a repeat of the Idempotency-Key returns the first one)", Docs.answer),
                errors: [.idempotencyKeyRequired],
                extraHeaders: [("Idempotency-Key", "one per presentation; a repeat returns the first answer", true)]) { request, context in
            guard let key = request.headers[.idempotencyKey], (1...200).contains(key.count) else {
                throw DomainError(.idempotencyKeyRequired, "send an Idempotency-Key header (1 to 200 characters)")
            }
            let i = try await request.decodeJSON(as: AcceptanceInput.self, context: context, fast: AcceptanceInput.read)
            if let amount = i.amountFen, !(0...100_000_000).contains(amount) {
                throw DomainError.invalidField("amountFen", "0 to 100000000 fen")
            }
            try TextRule.check(i.itemCode, "itemCode", max: 40)
            return JSONResponse(try await acceptance.accept(terminal: context.identity!, idempotencyKey: key, itemCode: i.itemCode,
                                                            credential: try Self.acceptanceCredential(i.credential), amountFen: i.amountFen))
        }
    }

    var uploadOfflineDecisions: Handler {
        Handler("Upload decisions an offline gate made, once each per decisionId",
                tag: "acceptance",
                request: .object([("decisions", .array(.object([
                       ("decisionId", .text(1, 100)), ("itemCode", .text), ("token", .text), ("decidedAt", .dateTime),
                       ("decision", .string(values: ["accepted", "denied"])), ("reason", .nullable(.text)),
                    ], required: ["decisionId", "itemCode", "token", "decidedAt", "decision"]), maxItems: 1000))], required: ["decisions"]),
                success: (200, "How many were new, how many were already recorded, and accepted ones the node would have refused",
                    .object([("recorded", .integer), ("duplicates", .integer), ("disputed", .array(.text))], required: ["recorded", "duplicates", "disputed"]))) { request, context in
            struct Batch: Decodable { let decisions: [AcceptanceService.OfflineDecision] }
            let batch = try await request.decodeJSON(as: Batch.self, context: context)
            guard batch.decisions.count <= 1000 else { throw DomainError.invalidField("decisions", "at most 1000 per upload") }
            let r = try await acceptance.recordOffline(terminal: context.identity!, batch.decisions)
            return try Response.json(["recorded": .int(r.recorded), "duplicates": .int(r.duplicates), "disputed": .array(r.disputed.map { .string($0) })] as JSONValue)
        }
    }

    var checkIdentity: Handler {
        Handler("Verify who presents a card at a hotel or government counter (minimal disclosure, audited; another province's card or QR code is verified by its issuer through the hub)",
                tag: "acceptance",
                request: .object([("credential", Docs.credential), ("purpose", .text(1, 200))], required: ["credential", "purpose"]),
                success: (200, "The check; a hotel also gets the full name and ID number", .object([
                       ("verified", .boolean), ("reason", .nullable(.text)), ("nameMasked", .text), ("idNumberMasked", .text), ("name", .text), ("idNumber", .text),
                    ], required: ["verified"])),
                errors: [.venueNotPermitted, .federationUnavailable]) { request, context in
            let i = try await request.decodeJSON(as: IdentityInput.self, context: context)
            try TextRule.check(i.purpose, "purpose", max: 200)
            return JSONResponse(try await acceptance.identityCheck(terminal: context.identity!, credential: try Self.credential(i.credential), purpose: i.purpose))
        }
    }

    var myUses: Handler {
        Handler("Who checked my card: every use and identity check",
                tag: "me",
                success: (200, "Uses, newest first", .object([("uses", .array(Schema.named("Use", .object([
                       ("useId", .text), ("at", .dateTime), ("kind", .oneOf(UseKind.self)), ("decision", .text),
                       ("reason", .nullable(.text)), ("itemCode", .text), ("venueName", .text), ("venueType", .text), ("regionCode", .text),
                       ("crossRegion", .boolean), ("chargedFen", .integer), ("disclosed", .nullable(.text)), ("concession", .nullable(Docs.concession)),
                    ], required: ["useId", "at", "kind", "decision", "itemCode"]))))], required: ["uses"]))) { _, context in
            JSONResponse(["uses": try await acceptance.uses(personId: context.identity!.personId!).map(UseView.init)])
        }
    }

    /// Schemas, roles and error lists several handlers share.
    enum Docs {
        /// A QR token, or a physical card's number with its chip's answer to a challenge of 16 or more random bytes.
        static let credential = Schema.either([
            .object([("kind", .string(values: ["qr"])), ("token", .text(1, 8192))], required: ["kind", "token"]),
            .object([("kind", .string(values: ["card"])), ("cardNumber", .text),
                     ("challenge", .string(format: "byte", pattern: "^(?:[A-Za-z0-9+/]{4}){5,}(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=|[A-Za-z0-9+/]{4})$")),
                     ("response", .string(format: "byte", pattern: "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"))], required: ["kind", "cardNumber", "challenge", "response"]),
        ])
        /// At a venue item also another platform's code linked to the card.
        static let acceptanceCredential: Schema = {
            guard case .either(let kinds) = credential else { return credential }
            return .either(kinds + [.object([("kind", .string(values: ["partner_qr"])), ("issuer", .string(pattern: "^[A-Za-z0-9._-]{2,40}$")),
                                             ("token", .text(1, 8192))], required: ["kind", "issuer", "token"])])
        }()
        static let answer = Schema.named("AcceptanceAnswer", .object([
                ("decision", .string(values: ["accepted", "denied"])), ("reason", .nullable(.oneOf(DenialCode.self))), ("useId", .text),
                ("crossRegion", .boolean), ("entitlements", .array(.text)),
                ("chargedFen", .integer), ("concession", .nullable(concession)),
            ], required: ["decision", "crossRegion", "entitlements", "chargedFen", "concession"]))
        /// The concession the venue region's pack gives the holder (free, a percentage off, companions admitted free), with
        /// its basis: `chargedFen` = `amountFen` − `concession.amountFen`.
        static let concession = Schema.named("VenueConcessionApplied", .object([
                ("code", .text), ("basis", .text), ("amountFen", .integer), ("companions", .integer),
            ], required: ["code", "basis", "amountFen", "companions"]))
    }
}
