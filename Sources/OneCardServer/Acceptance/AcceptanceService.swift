import Crypto
import Foundation
import OneCardCore
import OneCardStore
import OneCardVerifier

/// Decides whether a card or QR code is accepted at a venue and records every answer once per
/// Idempotency-Key; identity checks disclose only what the venue type may see.
struct AcceptanceService: Sendable {
    let services: AppServices
    var store: Store { services.store }

    /// A credential as presented at a terminal.
    enum Credential: Sendable {
        case qr(token: String)
        case card(number: String, challenge: Data, response: Data)
    }

    struct Answer: Codable, Sendable {
        var decision: String
        var reason: String?
        var useId: String?
        var crossRegion: Bool
        var entitlements: [String]
        var chargedFen: Int64
    }

    /// The card behind a credential, and the first credential-level failure.
    struct Presented: Sendable {
        var card: Card?
        var failure: DenialCode?
        var form: CardForm
        var entitlements: [String]
        var jti: String?
        var challengeHash: String?
    }

    static func parse(kind: String, token: String?, cardNumber: String?, challenge: String?, response: String?) throws(DomainError) -> Credential {
        switch kind {
        case "qr":
            guard let token, !token.isEmpty else { throw .invalidField("credential.token", "required for a QR credential") }
            return .qr(token: token)
        case "card":
            guard let cardNumber else { throw .invalidField("credential.cardNumber", "required for a card credential") }
            guard let c = challenge.flatMap({ Data(base64Encoded: $0) }), c.count >= 16 else {
                throw .invalidField("credential.challenge", "16 or more random bytes, base64")
            }
            guard let r = response.flatMap({ Data(base64Encoded: $0) }), r.count == 32 else {
                throw .invalidField("credential.response", "base64 HMAC-SHA256 of the challenge under the card's chip key")
            }
            return .card(number: cardNumber, challenge: c, response: r)
        default:
            throw DomainError(.unprocessable, "invalid_value", "credential.kind: qr or card")
        }
    }

    /// What the credential proves by itself, before any database read.
    struct Verified: Sendable {
        var cardNumber: String?
        var failure: DenialCode?
        var form: CardForm
        var entitlements: [String]
        var jti: String?
        var challengeHash: String?
    }

    /// Checks the credential itself — signature and expiry of a QR token, or the chip's answer to the
    /// challenge — with no database access, so the cryptography runs outside the write transaction.
    func verify(_ credential: Credential, at now: Date) -> Verified {
        switch credential {
        case .qr(let token):
            switch services.signingKeys.verifier.verify(token, at: now) {
            case .denied(let reason):
                let code: DenialCode = switch reason {
                case .tokenExpired: .tokenExpired
                case .unknownIssuer: .unknownIssuer
                case .tokenReplayed: .tokenReplayed
                case .tokenRevoked: .cardLost
                case .tokenInvalid: .tokenInvalid
                }
                return Verified(cardNumber: nil, failure: code, form: .electronic, entitlements: [], jti: nil, challengeHash: nil)
            case .valid(let claims):
                guard let number = try? services.qrIssuer(ring: services.signingKeys.ring).card(of: claims) else {
                    return Verified(cardNumber: nil, failure: .tokenInvalid, form: .electronic, entitlements: [], jti: nil, challengeHash: nil)
                }
                return Verified(cardNumber: number.rawValue, failure: nil, form: .electronic, entitlements: claims.ent, jti: claims.jti, challengeHash: nil)
            }
        case let .card(number, challenge, response):
            guard let n = try? CardNumber(number),
                  HMAC<SHA256>.isValidAuthenticationCode(response, authenticating: challenge, using: services.chipKeys.key(for: n))
            else { return Verified(cardNumber: nil, failure: .chipAuthFailed, form: .physical, entitlements: [], jti: nil, challengeHash: nil) }
            let challengeHash = Hex.encode(SHA256.hash(data: challenge))
            return Verified(cardNumber: n.rawValue, failure: nil, form: .physical, entitlements: [], jti: nil, challengeHash: challengeHash)
        }
    }

    /// Checks the credential and finds its card.
    func present(_ credential: Credential, at now: Date, in s: StoreSession) async throws -> Presented {
        try await present(verify(credential, at: now), at: now, in: s)
    }

    /// Finds the card of a verified credential (a card unknown here fails as the credential did).
    func present(_ v: Verified, at now: Date, in s: StoreSession) async throws -> Presented {
        guard let number = v.cardNumber, let card = try await s.cards.find(number) else {
            let failure: DenialCode = v.failure ?? (v.form == .physical ? .chipAuthFailed : .tokenInvalid)
            return Presented(card: nil, failure: failure, form: v.form, entitlements: [], jti: nil, challengeHash: nil)
        }
        var entitlements = v.entitlements
        if v.form == .physical, let person = try await s.persons.find(card.personId) {
            entitlements = Entitlement.codes(birthDate: person.idNumber.birthDate, today: CalendarDay(now))
        }
        return Presented(card: card, failure: nil, form: v.form, entitlements: entitlements, jti: v.jti, challengeHash: v.challengeHash)
    }

    func accept(terminal: Identity, idempotencyKey: String, itemCode: String, credential: Credential, amountFen: Int64?) async throws -> Answer {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        // A temporary loss that has run its period lapses before the card is judged.
        if case let .card(number, _, _) = credential { _ = try? await services.cards.card(number) }
        let now = services.clock.now()
        let random = services.random
        // The signature or chip check happens before the transaction: on SQLite every write queues
        // behind one connection, and nothing cryptographic should hold it.
        let verified = verify(credential, at: now)
        do {
            return try await store.write { s in
                if let earlier = try await s.uses.find(terminalId: terminal.subject, idempotencyKey: idempotencyKey) {
                    return try JSONDecoder().decode(Answer.self, from: Data(earlier.response.utf8))
                }
                guard let venue = try await s.venues.find(venueId) else { throw DomainError(.notFound, "venue_not_found", "the terminal's venue is gone") }
                let presented = try await present(verified, at: now, in: s)
                var replayed = false
                if let hash = presented.challengeHash, let card = presented.card {
                    // A challenge is never reused for a card, whatever the answer.
                    replayed = !(try await s.uses.markChallengeUsed(cardNumber: card.number, challengeHash: hash, at: now))
                }
                if let jti = presented.jti {
                    replayed = try await s.uses.tokenAccepted(jti: jti, venueId: venue.id, itemCode: itemCode)
                }
                let item = try await CatalogueService(services: services).publishedItem(itemCode, in: s)
                let card = presented.card
                let facts = AcceptanceFacts(
                    credentialFailure: presented.failure, replayed: replayed, cardStatus: card?.status, item: item, today: CalendarDay(now),
                    venueRegion: venue.regionCode, venueItemCodes: venue.itemCodes, issuerRegion: card?.issuerRegion ?? "",
                    form: presented.form, transitLoaded: card?.transit ?? false, financialLoaded: card?.financial ?? false)
                let denial = AcceptanceRules.decide(facts)
                let useId = random.uuid()
                let crossRegion = card.map { AcceptanceRules.isCrossRegion(issuerRegion: $0.issuerRegion, venueRegion: venue.regionCode) } ?? false
                let answer = Answer(decision: denial == nil ? "accepted" : "denied", reason: denial?.rawValue, useId: denial == nil ? useId : nil,
                                    crossRegion: crossRegion, entitlements: denial == nil ? presented.entitlements : [],
                                    chargedFen: denial == nil ? (amountFen ?? 0) : 0)
                if denial == nil, let jti = presented.jti {
                    _ = try await s.uses.markTokenAccepted(jti: jti, venueId: venue.id, itemCode: itemCode, at: now)
                }
                try await s.uses.insert(UseRecord(
                    id: useId, terminalId: terminal.subject, idempotencyKey: idempotencyKey, venueId: venue.id, itemCode: itemCode,
                    kind: presented.form == .electronic ? "qr" : "card", decision: answer.decision, reason: answer.reason,
                    cardNumber: card?.number, personId: card?.personId, crossRegion: crossRegion, chargedFen: answer.chargedFen, disclosed: nil,
                    at: now, response: String(decoding: try JSONEncoder().encode(answer), as: UTF8.self)))
                return answer
            }
        } catch where Store.isUniqueViolation(error) {
            // The same key raced in twice: answer with whatever was recorded first.
            guard let earlier = try await store.read({ try await $0.uses.find(terminalId: terminal.subject, idempotencyKey: idempotencyKey) }) else { throw error }
            return try JSONDecoder().decode(Answer.self, from: Data(earlier.response.utf8))
        }
    }

    struct IdentityAnswer: Codable, Sendable {
        var verified: Bool
        var reason: String?
        var nameMasked: String?
        var idNumberMasked: String?
        var name: String?
        var idNumber: String?
    }

    /// Verifies who presents a card or QR code at a hotel or government counter, disclosing the least the
    /// venue needs; every disclosure is audited.
    func identityCheck(terminal: Identity, credential: Credential, purpose: String) async throws -> IdentityAnswer {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        let now = services.clock.now()
        let random = services.random
        return try await store.write { s in
            guard let venue = try await s.venues.find(venueId) else { throw DomainError(.notFound, "venue_not_found", "the terminal's venue is gone") }
            guard venue.type == .hotel || venue.type == .government else {
                throw DomainError(.forbidden, "venue_not_permitted", "identity checks are for hotels and government counters")
            }
            let presented = try await present(credential, at: now, in: s)
            var replayed = false
            if let hash = presented.challengeHash, let card = presented.card {
                replayed = !(try await s.uses.markChallengeUsed(cardNumber: card.number, challengeHash: hash, at: now))
            }
            var failure = presented.failure ?? (replayed ? .tokenReplayed : nil)
            if failure == nil, presented.card?.status != .active {
                failure = presented.card?.status == .cancelled || presented.card?.status == .replaced ? .cardCancelled
                    : presented.card?.status == .issued ? .cardNotActive : .cardLost
            }
            var answer = IdentityAnswer(verified: false, reason: failure?.rawValue)
            var disclosed: String?
            if failure == nil, let card = presented.card, let person = try await s.persons.find(card.personId) {
                answer = IdentityAnswer(verified: true, reason: nil, nameMasked: Mask.name(person.name), idNumberMasked: Mask.idNumber(person.idNumber.value))
                disclosed = "masked"
                if AcceptanceRules.disclosesFullIdentity(to: venue.type) {
                    answer.name = person.name
                    answer.idNumber = person.idNumber.value
                    disclosed = "full"
                }
                try await s.audit.append(at: now, actor: terminal.actor, action: "identity_disclosed_\(disclosed!)", subject: "person:\(person.id)",
                                         purpose: "\(venue.name): \(purpose)")
            }
            try await s.uses.insert(UseRecord(
                id: random.uuid(), terminalId: terminal.subject, idempotencyKey: "identity:" + random.uuid(), venueId: venue.id,
                itemCode: "identity_check", kind: "identity_check", decision: answer.verified ? "verified" : "denied", reason: answer.reason,
                cardNumber: presented.card?.number, personId: presented.card?.personId, crossRegion: false, chargedFen: 0, disclosed: disclosed,
                at: now, response: "{}"))
            return answer
        }
    }

    /// A decision an offline gate made and uploads later.
    struct OfflineDecision: Decodable, Sendable {
        let decisionId: String
        let itemCode: String
        let token: String
        let decidedAt: String
        let decision: String
        let reason: String?
    }

    /// Records decisions an offline terminal already acted on, once per `decisionId` (the gate's
    /// Idempotency-Key). The gate's answer stands — the person has passed or not — and the node notes
    /// where its own view differs (e.g. a card reported lost while the gate was cut off).
    func recordOffline(terminal: Identity, _ decisions: [OfflineDecision]) async throws -> (recorded: Int, duplicates: Int, disputed: [String]) {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        var recorded = 0, duplicates = 0
        var disputed: [String] = []
        for d in decisions {
            guard (1...100).contains(d.decisionId.count), ["accepted", "denied"].contains(d.decision), let at = Timestamp.parse(d.decidedAt) else {
                throw DomainError(.unprocessable, "invalid_field", "decisions: decisionId (1 to 100 characters), decision accepted|denied, decidedAt RFC 3339")
            }
            let random = services.random
            let outcome = try await store.write { s -> Int in
                if try await s.uses.find(terminalId: terminal.subject, idempotencyKey: d.decisionId) != nil { return 0 }
                guard let venue = try await s.venues.find(venueId) else { throw DomainError(.notFound, "venue_not_found", "the terminal's venue is gone") }
                let presented = try await present(.qr(token: d.token), at: at, in: s)
                let card = presented.card
                var nodeView = presented.failure
                if nodeView == nil, let card, card.status != .active { nodeView = card.status == .issued ? .cardNotActive : .cardLost }
                let answer = Answer(decision: d.decision, reason: d.reason, useId: nil,
                                    crossRegion: card.map { AcceptanceRules.isCrossRegion(issuerRegion: $0.issuerRegion, venueRegion: venue.regionCode) } ?? false,
                                    entitlements: d.decision == "accepted" ? presented.entitlements : [], chargedFen: 0)
                if d.decision == "accepted", let jti = presented.jti {
                    _ = try await s.uses.markTokenAccepted(jti: jti, venueId: venue.id, itemCode: d.itemCode, at: at)
                }
                try await s.uses.insert(UseRecord(
                    id: random.uuid(), terminalId: terminal.subject, idempotencyKey: d.decisionId, venueId: venue.id, itemCode: d.itemCode,
                    kind: "qr_offline", decision: d.decision, reason: d.reason, cardNumber: card?.number, personId: card?.personId,
                    crossRegion: answer.crossRegion, chargedFen: 0, disclosed: nil, at: at,
                    response: String(decoding: try JSONEncoder().encode(answer), as: UTF8.self)))
                return d.decision == "accepted" && nodeView != nil ? 2 : 1
            }
            switch outcome {
            case 0: duplicates += 1
            case 2: recorded += 1; disputed.append(d.decisionId)
            default: recorded += 1
            }
        }
        return (recorded, duplicates, disputed)
    }
}
