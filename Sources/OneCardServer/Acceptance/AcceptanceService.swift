import Crypto
import Foundation
import OneCardCore
import OneCardStore
import OneCardVerifier

/// Decides whether a card or QR code is accepted at a venue and records every answer once per
/// Idempotency-Key; identity checks disclose only what the venue type may see.
struct AcceptanceService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let policy: JurisdictionPolicy
    /// The packs of every region: a venue's concessions are its region's.
    let policies: PolicyBook
    let cards: CardService
    let tokens: QRTokens
    let chipKeys: ChipKeyDeriver
    /// Other regions' cards and QR codes: the national trust list, chip checks by the issuer, uses reported to it.
    let federation: FederationService
    /// Other platforms' codes linked to cards (multi-code fusion).
    let partnerCodes: PartnerCodeService
    /// Acceptances arriving while a transaction runs are decided together in the next (one lane on SQLite,
    /// several on PostgreSQL).
    let groups: GroupCommit<Pending, Answer>

    /// A credential as presented at a terminal.
    enum Credential: Sendable {
        case qr(token: String)
        case card(number: String, challenge: Data, response: Data)
        /// Another platform's code (`partner_qr`), accepted at venues only: resolved by `PartnerCodeService.verify`,
        /// which needs the database (the issuer's keys, the account's link).
        case partner(issuer: String, token: String)
    }

    struct Answer: Codable, Sendable {
        var decision: UseDecision
        /// A denial code; for an offline gate's decision, the reason the gate gave.
        var reason: String?
        var useId: String?
        var crossRegion: Bool
        var entitlements: [String]
        var chargedFen: Int64
        /// The venue region's best concession for the holder, with its basis (`chargedFen` = `amountFen` − its `amountFen`).
        var concession: AppliedVenueConcession?

        // Encoded with `concession: null` when there is none (API.md "or null"); answers stored before it decode as none.
        private enum CodingKeys: String, CodingKey { case decision, reason, useId, crossRegion, entitlements, chargedFen, concession }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(decision, forKey: .decision); try c.encodeIfPresent(reason, forKey: .reason); try c.encodeIfPresent(useId, forKey: .useId)
            try c.encode(crossRegion, forKey: .crossRegion); try c.encode(entitlements, forKey: .entitlements); try c.encode(chargedFen, forKey: .chargedFen)
            try c.encode(concession, forKey: .concession)
        }
    }

    static func parse(kind: String, token: String?, cardNumber: String?, challenge: String?, response: String?) throws(DomainError) -> Credential {
        switch kind {
        case "qr":
            guard let token, (1...8192).contains(token.utf8.count) else { throw .invalidField("credential.token", "1 to 8192 characters, required for a QR credential") }
            return .qr(token: token)
        case "card":
            guard let cardNumber else { throw .invalidField("credential.cardNumber", "required for a card credential") }
            // Canonical base64 only (what the document's pattern says): it decodes and encodes back to the same text.
            func canonical(_ text: String?) -> Data? { text.flatMap { Data(base64Encoded: $0) }.flatMap { $0.base64EncodedString() == text ? $0 : nil } }
            guard let c = canonical(challenge), c.count >= 16 else {
                throw .invalidField("credential.challenge", "16 or more random bytes, base64")
            }
            guard let r = canonical(response), r.count == 32 else {
                throw .invalidField("credential.response", "base64 HMAC-SHA256 of the challenge under the card's chip key")
            }
            return .card(number: cardNumber, challenge: c, response: r)
        default:
            throw DomainError(.invalidValue, "credential.kind: qr or card")
        }
    }

    /// Checks the credential itself — signature and expiry of a QR token, or the chip's answer to the
    /// challenge — with no database access, so the cryptography runs outside the write transaction.
    func verify(_ credential: Credential, at now: Date) -> VerifiedCredential {
        switch credential {
        case .qr(let token):
            var decision = tokens.keys.verifier.verify(token, at: now)
            if case .denied(.unknownIssuer) = decision, let national = federation.trust.snapshot?.verifier {
                // Another member region's token: verified offline with the hub's trust list; its status comes from the
                // national revocation list in the decision's transaction.
                decision = national.verify(token, at: now)
                if case .valid(let claims) = decision {
                    var v = VerifiedCredential(form: .electronic, cardNumber: nil, entitlements: claims.ent, jti: claims.jti)
                    v.foreignIssuer = claims.iss
                    v.pseudonym = claims.sub
                    return v
                }
            }
            switch decision {
            case .denied(let reason):
                let code: DenialCode = switch reason {
                case .tokenExpired: .tokenExpired
                case .unknownIssuer: .unknownIssuer
                case .tokenReplayed: .tokenReplayed
                case .tokenRevoked: .cardLost
                case .tokenInvalid: .tokenInvalid
                case .onlineCheckRequired: .onlineCheckRequired
                }
                return .failed(code, form: .electronic)
            case .valid(let claims):
                guard let number = try? tokens.card(of: claims) else { return .failed(.tokenInvalid, form: .electronic) }
                return VerifiedCredential(form: .electronic, cardNumber: number, entitlements: claims.ent, jti: claims.jti)
            }
        case let .card(number, challenge, response):
            guard let n = try? CardNumber(number),
                  HMAC<SHA256>.isValidAuthenticationCode(response, authenticating: challenge, using: chipKeys.key(for: n))
            else { return .failed(.chipAuthFailed, form: .physical) }
            return VerifiedCredential(form: .physical, cardNumber: n, challengeHash: Hex.encode(SHA256.hash(data: challenge)))
        case .partner:
            // Only `accept` takes partner codes, and resolves them with the database before this is reached.
            return .failed(.tokenInvalid, form: .electronic)
        }
    }

    /// One acceptance waiting for the transaction that decides it with others (`GroupCommit`).
    struct Pending: Sendable {
        var terminalId: Terminal.ID
        var venueId: Venue.ID
        var idempotencyKey: String
        var itemCode: String
        var credential: VerifiedCredential
        /// A foreign physical card as its issuer described it when it checked the chip.
        var foreign: ForeignCard?
        var amountFen: Int64?
        var at: Date
        /// A temporary loss whose period has run was lifted first, so the card is judged as it now is.
        var lapseChecked = false
        /// Times decided again alone after losing a race on a unique key (another group or node committed the
        /// same key, token or challenge first). Each loss means another transaction committed, so this ends;
        /// a request can lose once on its token and again on its key.
        var retries = 0

        var key: String { terminalId.rawValue + "\u{1F}" + idempotencyKey }
    }

    func accept(terminal: Identity, idempotencyKey: String, itemCode: String, credential: Credential, amountFen: Int64?) async throws -> Answer {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        let now = clock.now()
        // The signature or chip check happens before the transaction: on SQLite every write queues
        // behind one connection, and nothing cryptographic should hold it.
        var verified = if case let .partner(issuer, token) = credential {
            try await partnerCodes.verify(issuer: issuer, token: token, at: now)
        } else {
            verify(credential, at: now)
        }
        var foreign: ForeignCard?
        if verified.failure == .chipAuthFailed, case let .card(number, challenge, response) = credential, federation.isFederated,
           let n = try? CardNumber(number), try await store.read({ try await $0.cards.find(n) }) == nil,
           try await store.read({ try await $0.uses.find(terminalId: Terminal.ID(terminal.subject), idempotencyKey: idempotencyKey) }) == nil {
            // Another region's physical card: only its issuer can derive the chip key, so it checks the answer (online).
            (verified, foreign) = try await foreignChipCheck(n, challenge: challenge, response: response)
        }
        let pending = Pending(terminalId: Terminal.ID(terminal.subject), venueId: venueId, idempotencyKey: idempotencyKey, itemCode: itemCode,
                              credential: verified, foreign: foreign, amountFen: amountFen, at: now)
        let service = self
        return try await groups.submit(pending) { group in await service.decide(group) }
    }

    /// Decides a group of acceptances in one transaction, one answer per request in order. When the group
    /// fails as a whole — another node raced it on the same Idempotency-Key, token or challenge — each
    /// request is decided again on its own and sees what the other committed.
    func decide(_ group: [Pending]) async -> [Result<Answer, any Error>] {
        let outcomes: [Outcome]
        do {
            outcomes = try await store.write { s in try await record(group, in: s) }
        } catch {
            // The database is gone for now (a failover, an outage): every request of the group gets the same 503 at once.
            // Deciding each again alone would make them wait for a connection one after another, the last for
            // `connectionWait` times the group's size.
            if let unavailable = Store.unavailable(error) { return group.map { _ in .failure(unavailable) } }
            if group.count > 1 {
                var results: [Result<Answer, any Error>] = []
                for p in group { results += await decide([p]) }
                return results
            }
            guard Store.isUniqueViolation(error), group[0].retries < 8 else { return [.failure(error)] }
            var again = group[0]
            again.retries += 1
            return await decide([again])
        }
        var results: [Result<Answer, any Error>] = []
        for (p, outcome) in zip(group, outcomes) {
            switch outcome {
            case .answer(let a): results.append(.success(a))
            case .failure(let e): results.append(.failure(e))
            case .lapseFirst(let number):
                // The lapse is a card transition with its own event: it runs in its own transaction.
                _ = try? await cards.card(number)
                var again = p
                again.lapseChecked = true
                results += await decide([again])
            }
        }
        return results
    }

    private enum Outcome: Sendable {
        case answer(Answer)
        case failure(any Error)
        case lapseFirst(cardNumber: CardNumber)
    }

    /// What is done with each request of a group: answered as before, decided now, or sent back.
    private enum Plan {
        /// A key answered by an earlier transaction: the same answer again.
        case earlier(UseRecord)
        /// A key repeated within the group: the answer of the request at this index.
        case repeatOf(Int)
        case failure(any Error)
        /// The card's temporary loss has lapsed: lift it (its own transition) and decide again.
        case lapseFirst(CardNumber)
        case decide(Venue, Card?)
    }

    /// One group's transaction: load (a handful of statements whatever the group's size), decide each request
    /// with `AcceptanceRules.decide`, write every answer and accepted token together.
    private func record(_ group: [Pending], in s: StoreSession) async throws -> [Outcome] {
        func unique<T: Hashable>(_ values: [T]) -> [T] { Array(Set(values)) }
        // Load: earlier answers, venues and cards, then what decides replays and items.
        var earlier: [String: UseRecord] = [:]
        for u in try await s.uses.find(requests: group.map { ($0.terminalId, $0.idempotencyKey) }) { earlier[u.terminalId.rawValue + "\u{1F}" + u.idempotencyKey] = u }
        var venues: [Venue.ID: Venue] = [:]
        for v in try await s.venues.find(ids: unique(group.map(\.venueId))) { venues[v.id] = v }
        var cards: [CardNumber: Card] = [:]
        for c in try await s.cards.find(numbers: unique(group.compactMap(\.credential.cardNumber))) { cards[c.number] = c }
        let plans = plan(group, earlier: earlier, venues: venues, cards: cards)
        let decided = zip(group, plans).compactMap { p, plan -> (Pending, Venue, Card?)? in
            if case let .decide(venue, card) = plan { (p, venue, card) } else { nil }
        }
        let replayedChallenges = try await markChallenges(decided, in: s)
        var acceptedTokens = try await s.uses.acceptedTokens(among: decided.compactMap { p, venue, card in
            tokenUse(p, venue, card, foreign: p.foreign != nil || p.credential.foreignIssuer != nil)
        })
        var items: [String: CatalogueItem] = [:]
        if let version = try await s.catalogue.latestVersion() {
            for item in try await s.catalogue.items(version: version.version, codes: unique(decided.map(\.0.itemCode))) { items[item.code] = item }
        }
        // The holders of this node's cards: their entitlements now (a QR token's `ent` may predate a revoked certificate).
        let holders = try await EntitlementSources.load(unique(decided.compactMap { _, _, card in card?.personId }), now: clock.now(), in: s)
        let tiers = policy.ageTiers
        // Foreign QR tokens: their card's status as the national revocation list says (no entry: active).
        var foreignStatus: [String: CardStatus] = [:]
        for (p, _, _) in decided {
            guard let iss = p.credential.foreignIssuer, let jti = p.credential.jti, p.credential.form == .electronic else { continue }
            foreignStatus[jti] = switch try await s.trust.foreignTokenStatus(jti: jti, iss: iss) {
            case .lost?: .lost
            case .temporarilyLost?: .temporarilyLost
            case .cancelled?: .cancelled
            case .replaced?: .replaced
            case .active?, .onlineOnly?, .entitlementsChanged?, nil: .active
            }
        }

        // Decide, in order, and build the rows.
        let encoder = JSONEncoder()
        var outcomes: [Outcome] = []
        var uses: [UseRecord] = []
        var newTokens: [(UseRecord.TokenUse, at: Date)] = []
        var decidedIndex = 0
        for (p, plan) in zip(group, plans) {
            switch plan {
            case .earlier(let u): outcomes.append(.answer(try JSONDecoder().decode(Answer.self, from: Data(u.response.utf8))))
            case .repeatOf(let j): outcomes.append(outcomes[j])
            case .failure(let e): outcomes.append(.failure(e))
            case .lapseFirst(let number): outcomes.append(.lapseFirst(cardNumber: number))
            case let .decide(venue, card):
                defer { decidedIndex += 1 }
                let foreign = p.foreign ?? p.credential.foreignIssuer.flatMap { iss in
                    p.credential.jti.flatMap { foreignStatus[$0] }.map { ForeignCard(issuerRegion: iss, status: $0) }
                }
                let token = tokenUse(p, venue, card, foreign: foreign != nil)
                let replayed = token.map { acceptedTokens.contains($0) } ?? replayedChallenges.contains(decidedIndex)
                let decision = AcceptanceRules.decide(AcceptanceFacts(
                    credential: p.credential, card: card, foreign: foreign, holderEntitlements: card.map { holders.codes($0.personId, at: p.at, tiers: tiers) },
                    replayed: replayed, venue: venue, item: items[p.itemCode], today: CalendarDay(p.at), amountFen: p.amountFen,
                    concessions: policies.policy(for: venue.regionCode).venueConcessions ?? []))
                let useId = random.uuid()
                let answer = Answer(decision: decision.decision, reason: decision.denial?.rawValue, useId: decision.denial == nil ? useId : nil,
                                    crossRegion: decision.crossRegion, entitlements: decision.entitlements,
                                    chargedFen: decision.chargedFen, concession: decision.concession)
                if decision.denial == nil, let token {
                    acceptedTokens.insert(token)
                    newTokens.append((token, p.at))
                }
                var use = UseRecord(
                    id: useId, terminalId: p.terminalId, idempotencyKey: p.idempotencyKey, venueId: venue.id, itemCode: p.itemCode,
                    kind: p.credential.partnerIssuer != nil ? .partnerQr : p.credential.form == .electronic ? .qr : .card, decision: answer.decision, reason: answer.reason,
                    cardNumber: card?.number, personId: card?.personId, crossRegion: answer.crossRegion, chargedFen: answer.chargedFen, disclosed: nil,
                    at: p.at, response: String(decoding: try encoder.encode(answer), as: UTF8.self))
                use.concession = answer.concession
                uses.append(use)
                if let issuer = foreign?.issuerRegion ?? p.credential.foreignIssuer {
                    // The holder sees uses in every province: the issuer learns this one (it alone can resolve the pseudonym).
                    try await federation.enqueue(.use, to: issuer, payload: .init(use: Federation.ReportedUse(
                        useId: useId, at: Timestamp.format(p.at), region: venue.regionCode, venueName: venue.name, venueType: venue.type.rawValue,
                        itemCode: p.itemCode, kind: (p.credential.form == .electronic ? UseKind.qr : .card).rawValue, decision: answer.decision.rawValue,
                        reason: answer.reason, sub: Self.reportedPseudonym(p.credential).sub, jti: Self.reportedPseudonym(p.credential).jti,
                        cardHash: nil)), at: p.at, in: s)
                }
                outcomes.append(.answer(answer))
            }
        }
        // Write.
        try await s.uses.insertTokenUses(newTokens)
        try await s.uses.insert(uses)
        return outcomes
    }

    /// Which requests are decided now; repeats of a key answer as the first did.
    private func plan(_ group: [Pending], earlier: [String: UseRecord], venues: [Venue.ID: Venue], cards: [CardNumber: Card]) -> [Plan] {
        var plans: [Plan] = []
        var firstOfKey: [String: Int] = [:]
        for (i, p) in group.enumerated() {
            if let e = earlier[p.key] { plans.append(.earlier(e)); continue }
            if let j = firstOfKey[p.key] { plans.append(.repeatOf(j)); continue }
            firstOfKey[p.key] = i
            guard let venue = venues[p.venueId] else { plans.append(.failure(DomainError(.venueNotFound, "the terminal's venue is gone"))); continue }
            let card = p.credential.cardNumber.flatMap { cards[$0] }
            if let card, !p.lapseChecked, card.lapsedLoss(lapseDays: policy.temporaryLossLapseDays, now: p.at) != nil {
                plans.append(.lapseFirst(card.number)); continue
            }
            plans.append(.decide(venue, card))
        }
        return plans
    }

    /// A QR token's use at this venue item, for a token whose card is known here or abroad.
    private func tokenUse(_ p: Pending, _ venue: Venue, _ card: Card?, foreign: Bool = false) -> UseRecord.TokenUse? {
        guard card != nil || foreign, let jti = p.credential.jti else { return nil }
        return UseRecord.TokenUse(jti: jti, venueId: venue.id, itemCode: p.itemCode)
    }

    /// Records every challenge presented now — a challenge is never reused for a card, whatever the answer — and
    /// returns the positions (among `decided`) of those used before.
    private func markChallenges(_ decided: [(Pending, Venue, Card?)], in s: StoreSession) async throws -> Set<Int> {
        var positions: [Int] = []
        var challenges: [(UseRecord.ChallengeUse, at: Date)] = []
        for (i, (p, _, card)) in decided.enumerated() {
            guard let card, let hash = p.credential.challengeHash else { continue }
            positions.append(i)
            challenges.append((UseRecord.ChallengeUse(cardNumber: card.number, challengeHash: hash), p.at))
        }
        return Set(zip(positions, try await s.uses.markChallengesUsed(challenges)).filter(\.1).map(\.0))
    }

    /// What an issuer answers about one of its physical cards presented in another region.
    struct ChipCheckAnswer: Codable, Sendable {
        var valid: Bool
        var reason: String?
        var issuerRegion: String?
        var status: String?
        var transit: Bool?
        var financial: Bool?
        var entitlements: [String]
        /// A pseudonym of the card under a fresh `ref` (as a QR token's `sub` under its `jti`): the use report that
        /// follows names the card by these, so neither the hub nor anyone on the way learns the card number.
        var sub: String?
        var ref: String?
    }

    /// The pseudonym and its key a use report names the card by: a QR token's `sub` and `jti`, or for a chip the pair its
    /// issuer gave with the chip check (kept as `sub.ref`).
    static func reportedPseudonym(_ v: VerifiedCredential) -> (sub: String?, jti: String?) {
        if v.form == .electronic { return (v.pseudonym, v.jti) }
        guard let parts = v.pseudonym?.split(separator: "."), parts.count == 2 else { return (nil, nil) }
        return (String(parts[0]), String(parts[1]))
    }

    /// Asks the card's issuer, through the hub, whether the chip answered the challenge right, and how the card stands.
    private func foreignChipCheck(_ number: CardNumber, challenge: Data, response: Data) async throws -> (VerifiedCredential, ForeignCard?) {
        let answer = try await federation.forward(.init(cardNumber: number.rawValue, action: .chipCheck,
                                                        body: ["challenge": challenge.base64EncodedString(), "response": response.base64EncodedString()],
                                                        actor: "terminal", channel: "venue"))
        if answer.status == 404 { return (.failed(.chipAuthFailed, form: .physical), nil) }
        guard answer.status == 200 else { throw answer.problem }
        let check = try answer.decode(ChipCheckAnswer.self)
        let pseudonym = check.sub.flatMap { sub in check.ref.map { "\(sub).\($0)" } }
        guard check.valid, let status = check.status.flatMap(CardStatus.init(rawValue:)), let issuer = check.issuerRegion,
              RegionCode.isProvinceCode(issuer) else {
            let code = check.reason.flatMap(DenialCode.init(rawValue:)) ?? .chipAuthFailed
            var failed = VerifiedCredential.failed(code, form: .physical)
            // A genuine card refused (a spent challenge) is reported to its issuer like any use; a wrong answer is not its.
            if let issuer = check.issuerRegion, RegionCode.isProvinceCode(issuer), pseudonym != nil {
                failed.foreignIssuer = issuer
                failed.pseudonym = pseudonym
            }
            return (failed, nil)
        }
        var v = VerifiedCredential(form: .physical, cardNumber: number, jti: nil)
        v.foreignIssuer = issuer
        v.pseudonym = pseudonym
        return (v, ForeignCard(issuerRegion: issuer, status: status, transit: check.transit, financial: check.financial, entitlements: check.entitlements))
    }

    /// As a card's issuer: checks a chip's answer to a challenge presented in another region (the challenge is spent
    /// here, so it cannot be replayed anywhere) and says how the card stands.
    func answerChipCheck(_ number: CardNumber, challenge: String, response: String) async throws -> ChipCheckAnswer {
        guard case let .card(_, c, r) = try Self.parse(kind: "card", token: nil, cardNumber: number.rawValue, challenge: challenge, response: response) else {
            throw DomainError(.invalidMessage, "challenge and response: base64")
        }
        let verified = verify(.card(number: number.rawValue, challenge: c, response: r), at: clock.now())
        let at = clock.now()
        return try await store.write { s in
            guard let card = try await s.cards.find(number) else { throw DomainError(.cardNotFound, "no card \(number)") }
            guard verified.failure == nil, let hash = verified.challengeHash else { return ChipCheckAnswer(valid: false, reason: DenialCode.chipAuthFailed.rawValue, entitlements: []) }
            guard try await s.uses.markChallengeUsed(cardNumber: number, challengeHash: hash, at: at) else {
                // The card answered, but with a spent challenge: the attempt is still its holder's to see.
                let ref = random.uuid()
                return ChipCheckAnswer(valid: false, reason: DenialCode.tokenReplayed.rawValue, issuerRegion: card.issuerRegion, entitlements: [],
                                       sub: tokens.pseudonyms.seal(number, jti: ref), ref: ref)
            }
            let entitlements = try await EntitlementSources.load([card.personId], now: at, in: s).codes(card.personId, at: at, tiers: policy.ageTiers)
            let ref = random.uuid()
            return ChipCheckAnswer(valid: true, reason: nil, issuerRegion: card.issuerRegion, status: card.status.rawValue, transit: card.transit, financial: card.financial,
                                   entitlements: entitlements,
                                   sub: tokens.pseudonyms.seal(number, jti: ref), ref: ref)
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
        let now = clock.now()
        let random = random
        let verified = verify(credential, at: now)
        if federation.isFederated, let answer = try await foreignIdentityCheck(terminal: terminal, venueId: venueId, credential: credential,
                                                                              verified: verified, purpose: purpose, at: now) {
            return answer
        }
        return try await store.write { s in
            guard let venue = try await s.venues.find(venueId) else { throw DomainError(.venueNotFound, "the terminal's venue is gone") }
            guard venue.type == .hotel || venue.type == .government else {
                throw DomainError(.venueNotPermitted, "identity checks are for hotels and government counters")
            }
            let (card, answer, disclosed) = try await Self.checkIdentity(verified, venueType: venue.type, auditActor: terminal.actor,
                                                                         auditPurpose: "\(venue.name): \(purpose)", at: now, in: s)
            try await s.uses.insert(UseRecord(
                id: random.uuid(), terminalId: Terminal.ID(terminal.subject), idempotencyKey: "identity:" + random.uuid(), venueId: venue.id,
                itemCode: "identity_check", kind: .identityCheck, decision: answer.verified ? .verified : .denied, reason: answer.reason,
                cardNumber: card?.number, personId: card?.personId, crossRegion: false, chargedFen: 0, disclosed: disclosed,
                at: now, response: "{}"))
            return answer
        }
    }

    /// The identity check itself, where the card is this node's: the credential judged as at a gate (a chip's challenge
    /// spent), then what the venue type may see disclosed, and the disclosure audited. Shared by checks at this node's
    /// venues and those another province's venues ask of it as the issuer.
    static func checkIdentity(_ verified: VerifiedCredential, venueType: VenueType, auditActor: String, auditPurpose: String, at now: Date,
                              in s: StoreSession) async throws -> (card: Card?, answer: IdentityAnswer, disclosed: Disclosure?) {
        let (card, failure) = try await presented(verified, at: now, in: s)
        guard failure == nil, let card, let person = try await s.persons.find(card.personId) else {
            return (card, IdentityAnswer(verified: false, reason: failure?.rawValue), nil)
        }
        var answer = IdentityAnswer(verified: true, reason: nil, nameMasked: Mask.name(person.name), idNumberMasked: Mask.idNumber(person.idNumber.value))
        let disclosure = AcceptanceRules.disclosure(to: venueType)
        if disclosure == .full {
            answer.name = person.name
            answer.idNumber = person.idNumber.value
        }
        try await s.audit.append(at: now, actor: auditActor, action: "identity_disclosed_\(disclosure.rawValue)", subject: "person:\(person.id)",
                                 purpose: auditPurpose)
        return (card, answer, disclosure)
    }

    /// This node's card behind a verified credential and, when it may not be used now, why: a chip's challenge is spent
    /// (never accepted twice), a QR token is spent for `tokenUse` when given (a settlement: one token, one bill), and the
    /// card's status judged. Shared by identity checks and medical settlements, within the caller's transaction.
    static func presented(_ verified: VerifiedCredential, tokenUse: (venueId: Venue.ID, itemCode: String)? = nil, at now: Date,
                          in s: StoreSession) async throws -> (card: Card?, denial: DenialCode?) {
        let card: Card? = if let number = verified.cardNumber { try await s.cards.find(number) } else { nil }
        var replayed = false
        if let hash = verified.challengeHash, let card {
            replayed = !(try await s.uses.markChallengeUsed(cardNumber: card.number, challengeHash: hash, at: now))
        }
        if let tokenUse, let jti = verified.jti, card != nil, verified.form == .electronic {
            replayed = !(try await s.uses.markTokenAccepted(jti: jti, venueId: tokenUse.venueId, itemCode: tokenUse.itemCode, at: now))
        }
        return (card, AcceptanceRules.presentationDenial(credential: verified, card: card, replayed: replayed))
    }

    /// An identity check of another province's card or QR code: its issuer verifies it and discloses what the venue type
    /// may see (and audits that, as the holder's data is its); this node records the check and audits what it received.
    /// Nil when the credential is not another province's.
    private func foreignIdentityCheck(terminal: Identity, venueId: Venue.ID, credential: Credential, verified: VerifiedCredential, purpose: String,
                                      at now: Date) async throws -> IdentityAnswer? {
        var body: [String: String] = ["purpose": purpose]
        var number = ""
        switch credential {
        case .qr(let token):
            guard let issuer = verified.foreignIssuer else { return nil }
            body["kind"] = "qr"; body["token"] = token; body["issuer"] = issuer
        case let .card(raw, challenge, response):
            guard verified.failure == .chipAuthFailed, let n = try? CardNumber(raw), try await store.read({ try await $0.cards.find(n) }) == nil else { return nil }
            number = n.rawValue
            body["kind"] = "card"; body["cardNumber"] = n.rawValue
            body["challenge"] = challenge.base64EncodedString(); body["response"] = response.base64EncodedString()
        case .partner:
            return nil
        }
        guard let venue = try await store.read({ try await $0.venues.find(venueId) }) else { throw DomainError(.venueNotFound, "the terminal's venue is gone") }
        guard venue.type == .hotel || venue.type == .government else {
            throw DomainError(.venueNotPermitted, "identity checks are for hotels and government counters")
        }
        body["venueName"] = venue.name; body["venueType"] = venue.type.rawValue; body["region"] = venue.regionCode
        let forwarded = try await federation.forward(.init(cardNumber: number, region: verified.foreignIssuer, action: .identity, body: body,
                                                           actor: terminal.actor, channel: "venue"))
        var answer: IdentityAnswer
        switch forwarded.status {
        case 200: answer = try forwarded.decode(IdentityAnswer.self)
        case 404: answer = IdentityAnswer(verified: false, reason: DenialCode.chipAuthFailed.rawValue)  // no issuer knows the card
        default: throw forwarded.problem.code == .federationUnavailable ? forwarded.problem : DomainError(.federationUnavailable, "the issuer answered \(forwarded.status)")
        }
        let disclosed: Disclosure? = answer.verified ? (answer.idNumber != nil ? .full : .masked) : nil
        let random = random
        let (subject, result) = ("issuer:\(verified.foreignIssuer ?? number)", answer)
        try await store.write { s in
            if disclosed == .full {
                try await s.audit.append(at: now, actor: terminal.actor, action: "identity_disclosed_full", subject: subject,
                                         purpose: "\(venue.name): \(purpose)")
            }
            try await s.uses.insert(UseRecord(
                id: random.uuid(), terminalId: Terminal.ID(terminal.subject), idempotencyKey: "identity:" + random.uuid(), venueId: venue.id,
                itemCode: "identity_check", kind: .identityCheck, decision: result.verified ? .verified : .denied, reason: result.reason,
                cardNumber: nil, personId: nil, crossRegion: true, chargedFen: 0, disclosed: disclosed, at: now, response: "{}"))
        }
        return answer
    }

    /// As a card's issuer: an identity check of its card or QR code at another province's hotel or government counter.
    /// The issuer verifies the credential, discloses what the venue type may see, audits the disclosure and records the
    /// check among the holder's uses.
    func answerIdentityCheck(_ body: [String: String], cardNumber: String, actor: String) async throws -> IdentityAnswer {
        guard let venueType = body["venueType"].flatMap(VenueType.init(rawValue:)), venueType == .hotel || venueType == .government,
              let region = body["region"], (try? RegionCode(region)) != nil, let venueName = body["venueName"], !venueName.isEmpty,
              let purpose = body["purpose"], !purpose.isEmpty else {
            throw DomainError(.invalidMessage, "an identity check names the venue (venueName, venueType hotel|government, region) and its purpose")
        }
        let credential = try Self.parse(kind: body["kind"] ?? "", token: body["token"], cardNumber: cardNumber.isEmpty ? nil : cardNumber,
                                        challenge: body["challenge"], response: body["response"])
        let now = clock.now()
        let verified = verify(credential, at: now)
        let random = random
        return try await store.write { s in
            let (card, answer, disclosed) = try await Self.checkIdentity(verified, venueType: venueType, auditActor: "\(actor) (\(region))",
                                                                         auditPurpose: "\(venueName): \(purpose)", at: now, in: s)
            if let card {
                let report = Federation.ReportedUse(
                    useId: random.uuid(), at: Timestamp.format(now), region: region, venueName: venueName, venueType: venueType.rawValue,
                    itemCode: "identity_check", kind: UseKind.identityCheck.rawValue, decision: answer.verified ? "verified" : "denied",
                    reason: answer.reason, sub: nil, jti: nil, cardHash: nil)
                try await s.uses.insert(UseRecord(
                    id: report.useId, terminalId: Terminal.ID(FederationService.reportedTerminalPrefix + region), idempotencyKey: "identity:" + report.useId,
                    venueId: Venue.ID("\(region):\(venueName)".prefix(200).description), itemCode: "identity_check", kind: .identityCheck,
                    decision: answer.verified ? .verified : .denied, reason: answer.reason, cardNumber: card.number, personId: card.personId,
                    crossRegion: true, chargedFen: 0, disclosed: disclosed, at: now, response: String(decoding: FederationJSON.encode(report), as: UTF8.self)))
            }
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

    /// Where an offline gate's decision is kept: apart from the Idempotency-Keys of the terminal's online acceptances
    /// (migration 024), so neither can answer for the other.
    static func offlineKey(_ decisionId: String) -> String { "offline:" + decisionId }

    /// Records decisions an offline terminal already acted on, once per `decisionId` (the gate's
    /// Idempotency-Key). The gate's answer stands — the person has passed or not — and the node notes
    /// where its own view differs (e.g. a card reported lost while the gate was cut off).
    ///
    /// All or nothing: every decision is checked before anything is written, and the upload is recorded in one
    /// transaction (tokens are verified before it, outside the write lock), so a bad decision changes nothing and
    /// a repeated upload finds every decision already recorded.
    func recordOffline(terminal: Identity, _ decisions: [OfflineDecision]) async throws -> (recorded: Int, duplicates: Int, disputed: [String]) {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        let checked = try decisions.map { d -> (decision: OfflineDecision, gate: UseDecision, at: Date, verified: VerifiedCredential) in
            guard (1...100).contains(d.decisionId.unicodeScalars.count), let gate = UseDecision(rawValue: d.decision), gate != .verified,
                  let at = Timestamp.parse(d.decidedAt) else {
                throw DomainError(.invalidField, "decisions: decisionId (1 to 100 characters), decision accepted|denied, decidedAt RFC 3339")
            }
            return (d, gate, at, verify(.qr(token: d.token), at: at))
        }
        let random = random
        let recordedAt = clock.now()
        let outcomes = try await store.write { s -> [OfflineOutcome] in
            guard let venue = try await s.venues.find(venueId) else { throw DomainError(.venueNotFound, "the terminal's venue is gone") }
            var outcomes: [OfflineOutcome] = []
            for (d, gate, at, verified) in checked {
                if try await s.uses.find(terminalId: Terminal.ID(terminal.subject), idempotencyKey: Self.offlineKey(d.decisionId)) != nil {
                    outcomes.append(.duplicate); continue
                }
                let card: Card? = if let number = verified.cardNumber { try await s.cards.find(number) } else { nil }
                let nodeDenial = AcceptanceRules.presentationDenial(credential: verified, card: card, replayed: false)
                let answer = Answer(decision: gate, reason: d.reason, useId: nil,
                                    crossRegion: card.map { AcceptanceRules.isCrossRegion(issuerRegion: $0.issuerRegion, venueRegion: venue.regionCode) } ?? false,
                                    entitlements: gate == .accepted ? AcceptanceRules.entitlements(credential: verified, card: card, holderEntitlements: nil) : [],
                                    chargedFen: 0, concession: nil)
                if gate == .accepted, card != nil, let jti = verified.jti {
                    _ = try await s.uses.markTokenAccepted(jti: jti, venueId: venue.id, itemCode: d.itemCode, at: at)
                }
                var use = UseRecord(
                    id: random.uuid(), terminalId: Terminal.ID(terminal.subject), idempotencyKey: Self.offlineKey(d.decisionId), venueId: venue.id, itemCode: d.itemCode,
                    kind: .qrOffline, decision: gate, reason: d.reason, cardNumber: card?.number, personId: card?.personId,
                    crossRegion: answer.crossRegion, chargedFen: 0, disclosed: nil, at: at,
                    response: String(decoding: try JSONEncoder().encode(answer), as: UTF8.self))
                // Recorded now, decided at `at`: the risk monitor reads uses in recording order, so a late upload is judged too.
                use.recordedAt = recordedAt
                try await s.uses.insert(use)
                outcomes.append(AcceptanceRules.offlineOutcome(gateAccepted: gate == .accepted, nodeDenial: nodeDenial))
            }
            return outcomes
        }
        var recorded = 0, duplicates = 0
        var disputed: [String] = []
        for (outcome, c) in zip(outcomes, checked) {
            switch outcome {
            case .duplicate: duplicates += 1
            case .disputed: recorded += 1; disputed.append(c.decision.decisionId)
            case .recorded: recorded += 1
            }
        }
        return (recorded, duplicates, disputed)
    }

    /// Where a use reported by another region's node happened, as that node described it.
    static func reportedVenue(_ u: UseRecord) -> Venue? {
        guard u.terminalId.rawValue.hasPrefix(FederationService.reportedTerminalPrefix),
              let r = try? JSONDecoder().decode(Federation.ReportedUse.self, from: Data(u.response.utf8)) else { return nil }
        return Venue(id: u.venueId, name: r.venueName, operatorUscc: "", type: VenueType(rawValue: r.venueType) ?? .other, regionCode: r.region,
                     address: "", accessibility: [], unifiedLogo: false, itemCodes: [r.itemCode])
    }

    /// A use or identity check with the venue where it happened.
    struct UseWithVenue: Sendable {
        var use: UseRecord
        var venue: Venue?
    }

    /// Every use and identity check of a person's cards, newest first, with the venue named ("who checked my card",
    /// the holder's page and the data export).
    func uses(personId: Person.ID) async throws -> [UseWithVenue] {
        try await store.read { s in
            let uses = try await s.uses.list(personId: personId)
            var venues: [Venue.ID: Venue] = [:]
            for v in try await s.venues.find(ids: Array(Set(uses.map(\.venueId)))) { venues[v.id] = v }
            return uses.map { UseWithVenue(use: $0, venue: venues[$0.venueId] ?? Self.reportedVenue($0)) }
        }
    }
}
