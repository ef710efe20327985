import Crypto
import Foundation
import Metrics
import OneCardCore
import OneCardStore

/// Who did something and through which channel; written into every event.
struct Actor: Sendable {
    var name: String
    var channel: String
    static let system = Actor(name: "system", channel: "system")
}

/// Card applications and the card lifecycle. Every change goes through `step` or `transition`, which
/// write the event in the same transaction as the change, so no path changes a card without a trace.
struct CardService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    /// The node's issuing region: every card it makes has it as `issuerRegion`.
    let region: String
    let policy: JurisdictionPolicy
    let keys: NodeKeys
    let passwords: PasswordHasher
    /// For the clock skew a revoked card's tokens stay listed for.
    let signingKeys: SigningKeyStore
    /// The national hub: one person, one card nationwide, and the card directory (does nothing on a node alone).
    let federation: FederationService
    var chipKeys: ChipKeyDeriver { ChipKeyDeriver(master: keys.chipMaster) }
    var now: Date { clock.now() }

    struct ApplicationInput: Sendable {
        var personId: Person.ID
        var channel: ApplicationChannel
        var applyOutletId: String?
        var pickupOutletId: String?
        var bankCode: String
        var delivery: Delivery
    }

    // MARK: Applications

    func submit(_ input: ApplicationInput, actor: Actor) async throws -> CardApplication {
        let at = now
        let policy = policy
        let today = CalendarDay(clock.now())
        let random = random
        let federation = federation
        let applicationId = random.uuid()
        // One person, one card nationwide (API.md "Federation"): the hub is asked first; a refusal changes nothing here.
        // When the hub does not answer, the application waits in `pending_national_check` and its claim goes through the
        // outbox: it proceeds when the hub answers, and is never issued unchecked.
        var initial = ApplicationStatus.submitted
        var claimed: IdentityNumber?
        if federation.isFederated, let person = try await store.read({ try await $0.persons.find(input.personId) }),
           policy.eligibleIdTypes.contains(person.idNumber.type),
           try await store.read({ s in
               guard try await s.cards.live(personId: person.id) == nil else { return false }
               return !(try await s.applications.hasOpen(personId: person.id))
           }) {
            do {
                let receipt = try await federation.claim(person.idNumber, messageId: FederationService.claimMessageId(application: applicationId))
                if receipt.granted != true {
                    throw DomainError(.activeCardElsewhere, "another province (\(receipt.region ?? "?")) holds this person's card or an application under way",
                                      extensions: ["region": receipt.region ?? ""])
                }
                claimed = person.idNumber
            } catch let e as DomainError where e.code == .federationUnavailable {
                initial = .pendingNationalCheck
            }
        }
        let status = initial
        do {
            return try await store.write { s in
                guard let person = try await s.persons.find(input.personId) else {
                    throw DomainError(.personNotFound, "no person \(input.personId)")
                }
                // Who may apply is the jurisdiction's data (e.g. HK/Macau/Taiwan residents in Guangdong, GD art. 10).
                guard policy.eligibleIdTypes.contains(person.idNumber.type) else {
                    throw DomainError(.notEligible, "holders of a \(person.idNumber.type.rawValue) ID cannot apply in \(policy.name): \(policy.eligibilityNote)")
                }
                let applyOutlet = try await outlet(input.applyOutletId, "applyOutletId", s)
                let pickupOutlet = try await outlet(input.pickupOutletId, "pickupOutletId", s)
                if input.delivery == .pickup, pickupOutlet == nil, applyOutlet == nil {
                    throw DomainError(.pickupOutletRequired, "pickupOutletId: required when the card is picked up")
                }
                guard let bank = try await s.banks.find(input.bankCode) else {
                    throw DomainError(.unknownBank, "no cooperating bank \(input.bankCode)")
                }
                guard bank.acceptsNewCards(on: today) else {
                    throw DomainError(.bankNotAccepting, "bank \(bank.code) does not take new cards (status \(bank.status.rawValue) or agreement not in force)")
                }
                // One person, one card (一人一卡).
                if try await s.cards.live(personId: person.id) != nil {
                    throw DomainError(.activeCardExists, "this person holds a card that is not cancelled or replaced")
                }
                if try await s.applications.hasOpen(personId: person.id) {
                    throw DomainError(.applicationInProgress, "this person has an application under way")
                }
                let outletRegion = applyOutlet?.regionCode ?? pickupOutlet?.regionCode ?? region
                let app = CardApplication(
                    id: applicationId, personId: person.id, channel: input.channel, applyOutletId: applyOutlet?.id,
                    pickupOutletId: pickupOutlet?.id ?? applyOutlet?.id, delivery: input.delivery, bankCode: bank.code,
                    status: status,
                    remote: ApplicationLifecycle.isRemote(householdRegion: person.idNumber.regionCode, outletRegion: outletRegion),
                    submittedAt: at, dueAt: ApplicationLifecycle.dueAt(submittedAt: at, timeLimitDays: policy.applicationTimeLimitDays),
                    updatedAt: at)
                try await s.applications.insert(app)
                try await s.events.append(CardEvent(at: at, type: "application_submitted", actor: actor.name, channel: actor.channel,
                                                    reason: app.remote ? "remote" : nil, cardNumber: nil, applicationId: app.id))
                if status == .pendingNationalCheck {
                    try await federation.enqueue(.claim, id: FederationService.claimMessageId(application: app.id),
                                                 payload: .init(personKey: federation.personKey(person.idNumber)), at: at, in: s)
                    try await s.events.append(CardEvent(at: at, type: "application_pending_national_check", actor: "system", channel: "federation",
                                                        reason: "the national hub did not answer; the check is retried", cardNumber: nil, applicationId: app.id))
                }
                return app
            }
        } catch {
            // Refused here after the hub granted the claim: give it back unless the person holds a card or application here.
            if let claimed {
                let personId = input.personId
                try? await store.write { s in
                    guard try await s.cards.live(personId: personId) == nil, !(try await s.applications.hasOpen(personId: personId)) else { return }
                    try await federation.enqueue(.release, payload: .init(personKey: federation.personKey(claimed)), at: at, in: s)
                }
            }
            if Store.isUniqueViolation(error) { throw DomainError(.applicationInProgress, "this person has an application under way") }
            throw error
        }
    }

    private func outlet(_ id: String?, _ field: String, _ s: StoreSession) async throws -> Outlet? {
        guard let id else { return nil }
        guard let o = try await s.outlets.find(id) else { throw DomainError(.unknownOutlet, "\(field): no outlet \(id)") }
        return o
    }

    func application(_ id: String) async throws -> CardApplication {
        guard let a = try await store.read({ try await $0.applications.find(id) }) else {
            throw DomainError(.applicationNotFound, "no application \(id)")
        }
        return a
    }

    struct Produced: Sendable { var cardNumber: String; var chipKey: String }

    /// Moves an application one step. `produce` assigns the card number and returns the chip key once;
    /// `collect` issues the card.
    func step(_ id: String, _ step: ApplicationStep, reason: String?, actor: Actor) async throws -> (CardApplication, Produced?) {
        if step == .reject { try TextRule.check(reason ?? "", "reason", max: 500, notBlank: true) }
        for attempt in 0..<5 {
            do {
                return try await attemptStep(id, step, reason: reason, actor: actor)
            } catch where Store.isUniqueViolation(error) && step == .produce && attempt < 4 {
                continue  // a card number collision: draw another
            } catch where Store.isUniqueViolation(error) && step == .collect {
                throw DomainError(.activeCardExists, "this person holds a card that is not cancelled or replaced")
            }
        }
        throw DomainError(.cardNumberExhausted, "could not draw a free card number")
    }

    private func attemptStep(_ id: String, _ step: ApplicationStep, reason: String?, actor: Actor) async throws -> (CardApplication, Produced?) {
        let at = now
        let policy = policy
        let region = region
        let random = random
        let chipKeys = chipKeys
        let keys = keys
        let federation = federation
        return try await store.write { s in
            guard var app = try await s.applications.find(id, lock: true) else {
                throw DomainError(.applicationNotFound, "no application \(id)")
            }
            app.status = try ApplicationLifecycle.next(from: app.status, step)
            app.updatedAt = at
            if step == .reject { app.reason = reason }
            var produced: Produced?
            switch step {
            case .produce:
                let number = CardNumber.random(random)
                app.cardNumber = number
                produced = Produced(cardNumber: number.rawValue, chipKey: chipKeys.base64Key(for: number))
            case .collect:
                guard let number = app.cardNumber else { throw DomainError.invalidTransition("the application has no card") }
                let card = Card(
                    number: number, identificationCode: Self.identificationCode(region: region, card: number.rawValue, keys: keys),
                    personId: app.personId, applicationId: app.id, issuerRegion: region, status: .issued, transit: true,
                    financial: true, bankCode: app.bankCode, accountNumber: Self.openAccount(bank: app.bankCode, random: random),
                    pinHash: nil, issuedAt: at, expiresAt: Card.expiry(issuedAt: at, years: policy.cardValidityYears))
                try await s.cards.insert(card)
                // The hub's claim now follows this card, and its directory routes requests about it here.
                if let person = try await s.persons.find(app.personId) {
                    try await federation.enqueue(.card, payload: .init(personKey: federation.personKey(person.idNumber), cardHash: number.hash), at: at, in: s)
                }
            case .reject:
                if let person = try await s.persons.find(app.personId) {
                    try await federation.enqueue(.release, payload: .init(personKey: federation.personKey(person.idNumber)), at: at, in: s)
                }
            default: break
            }
            try await s.applications.update(app)
            try await s.events.append(CardEvent(at: at, type: step.eventType, actor: actor.name, channel: actor.channel,
                                                reason: reason, cardNumber: app.cardNumber, applicationId: app.id))
            if step == .collect {
                try await s.events.append(CardEvent(at: at, type: "card_issued", actor: actor.name, channel: actor.channel,
                                                    reason: nil, cardNumber: app.cardNumber, applicationId: nil))
            }
            return (app, produced)
        }
    }

    func applications(personId: Person.ID) async throws -> [CardApplication] {
        try await store.read { try await $0.applications.list(personId: personId) }
    }

    func queue(statuses: [ApplicationStatus]) async throws -> [CardApplication] {
        try await store.read { try await $0.applications.list(statuses: statuses) }
    }

    /// The card identification code (卡识别码): issuer region + D156000005 + 16 hex characters, derived
    /// from the card number under the node key so it needs no extra storage before issue.
    static func identificationCode(region: String, card: String, keys: NodeKeys) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(("card-identification:" + card).utf8), using: keys.pseudonyms)
        return region + CardIdentificationCode.middle + Hex.encode(Data(mac).prefix(8), uppercase: true)
    }

    /// The social security card's financial account, opened by the cooperating bank at issue.
    /// A 19-digit account number in the bank's range; issue 6's bank interface replaces this with the
    /// bank's own answer.
    static func openAccount(bank: String, random: RandomSource) -> String {
        "621" + random.bytes(16).map { String(Int($0) % 10) }.joined()
    }

    // MARK: Cards

    /// Reads a card, first letting a temporary loss report that has run its period lapse.
    func card(_ number: CardNumber) async throws -> Card {
        let card = try await store.read { s in try await s.cards.find(number) }
        guard let card else { throw DomainError(.cardNotFound, "no card \(number)") }
        if card.lapsedLoss(lapseDays: policy.temporaryLossLapseDays, now: now) != nil {
            return try await transition(number, .lapse, actor: .system).card
        }
        return card
    }

    /// The person's live card, if any.
    func liveCard(personId: Person.ID) async throws -> Card? {
        guard let c = try await store.read({ try await $0.cards.live(personId: personId) }) else { return nil }
        return try await card(c.number)
    }

    func events(_ number: CardNumber) async throws -> [CardEvent] {
        let c = try await card(number)
        return try await store.read { try await $0.events.list(cardNumber: c.number, applicationId: c.applicationId) }
    }

    struct TransitionResult: Sendable {
        var card: Card; var replacement: Card?; var chipKey: String?
        /// The answer of an earlier step under the same Idempotency-Key: nothing changed now.
        var replayed = false
    }

    /// The one function through which a card changes state: lock, lapse if due, check the move,
    /// apply it, write the event. With an `idempotencyKey`, a step already taken under that key by the same actor on the
    /// same card answers as it did the first time (a retry after a lost answer), without a second step; the key used for
    /// another step or card is 422 `idempotency_key_reused`. Without a key a repeated step is 409 `invalid_transition`
    /// naming the card's current status.
    func transition(_ number: CardNumber, _ action: CardAction, pin: PIN? = nil, actor: Actor, idempotencyKey: String? = nil) async throws -> TransitionResult {
        let at = now
        let lapseDays = policy.temporaryLossLapseDays
        let policy = policy
        let region = region
        let random = random
        let keys = keys
        let federation = federation
        let skew = signingKeys.ring.skew
        let pinHash: String? = if let pin { try await passwords.hash(pin.digits) } else { nil }
        for attempt in 0..<5 {
            let replacementNumber = CardNumber.random(random)
            do {
                let result = try await store.write { s -> TransitionResult in
                    guard var card = try await s.cards.find(number, lock: true) else {
                        throw DomainError(.cardNotFound, "no card \(number)")
                    }
                    // Lifecycle of a card is handled by its issuing region (ZJ: 发卡地负责).
                    guard card.issuerRegion == region else {
                        throw DomainError(.notIssuer, "card \(number) was issued by region \(card.issuerRegion); ask that region's node")
                    }
                    // Looked up under the card's row lock: a retry racing the first attempt waits for it and then finds it.
                    if let idempotencyKey, let prior = try await s.lifecycleRequests.find(actor: actor.name, key: idempotencyKey) {
                        guard prior.cardNumber == number, prior.action == action.eventType else {
                            throw DomainError(.idempotencyKeyReused, "this Idempotency-Key was used for \(prior.action) on card \(prior.cardNumber); use a new key")
                        }
                        card.status = prior.status
                        var replacement: Card? = nil
                        if let made = prior.replacement {
                            replacement = try await s.cards.find(made)
                            replacement?.status = .issued  // as first answered: a replacement is issued when it is made
                        }
                        return TransitionResult(card: card, replacement: replacement, chipKey: nil, replayed: true)
                    }
                    if action != .lapse, let lapsedAt = card.lapsedLoss(lapseDays: lapseDays, now: at) {
                        card.status = try CardLifecycle.next(from: card.status, .lapse)
                        card.lostAt = nil
                        try await s.cards.update(card)
                        try await s.events.append(CardEvent(at: lapsedAt, type: CardAction.lapse.eventType, actor: Actor.system.name,
                                                            channel: Actor.system.channel, reason: "\(lapseDays) days", cardNumber: number, applicationId: nil))
                        try await ECardService.follow(card, after: .lapse, at: lapsedAt, actor: .system, skew: skew, in: s)
                    }
                    card.status = try CardLifecycle.next(from: card.status, action)
                    var replacement: Card?
                    switch action {
                    case .activate: card.pinHash = pinHash
                    case .reportLoss: card.lostAt = at
                    case .unlock, .lapse, .cancel: card.lostAt = nil
                    case .replace:
                        // 换卡不换号: the bank account moves to the new card.
                        let new = Card(
                            number: replacementNumber,
                            identificationCode: Self.identificationCode(region: region, card: replacementNumber.rawValue, keys: keys),
                            personId: card.personId, applicationId: nil, issuerRegion: region, status: .issued, transit: card.transit,
                            financial: card.accountNumber != nil, bankCode: card.bankCode, accountNumber: card.accountNumber,
                            pinHash: nil, issuedAt: at, expiresAt: Card.expiry(issuedAt: at, years: policy.cardValidityYears),
                            replaces: card.number)
                        card.replacedBy = new.number
                        card.accountNumber = nil
                        card.bankCode = nil
                        card.financial = false
                        card.lostAt = nil
                        replacement = new
                    }
                    try await s.cards.update(card)
                    try await s.events.append(CardEvent(at: at, type: action.eventType, actor: actor.name, channel: actor.channel,
                                                        reason: action == .lapse ? "\(lapseDays) days" : action.reason,
                                                        cardNumber: number, applicationId: nil))
                    try await ECardService.follow(card, after: action, at: at, actor: actor, skew: skew, in: s)
                    if let replacement {
                        try await s.cards.insert(replacement)
                        try await s.events.append(CardEvent(at: at, type: "card_issued", actor: actor.name, channel: actor.channel,
                                                            reason: "replaces \(number)", cardNumber: replacement.number, applicationId: nil))
                    }
                    // Claims follow the card: a replacement carries the claim on, a cancellation releases it.
                    if federation.isFederated, replacement != nil || card.status == .cancelled, let person = try await s.persons.find(card.personId) {
                        let personKey = federation.personKey(person.idNumber)
                        if let replacement {
                            try await federation.enqueue(.card, payload: .init(personKey: personKey, cardHash: replacement.number.hash,
                                                                               previousCardHash: number.hash), at: at, in: s)
                        } else {
                            try await federation.enqueue(.release, payload: .init(personKey: personKey, cardHash: number.hash), at: at, in: s)
                        }
                    }
                    if let idempotencyKey {
                        try await s.lifecycleRequests.insert(LifecycleRequest(actor: actor.name, key: idempotencyKey, cardNumber: number, action: action.eventType,
                                                                              status: card.status, replacement: replacement?.number, at: at))
                    }
                    return TransitionResult(card: card, replacement: replacement, chipKey: nil)
                }
                if result.replayed {
                    return TransitionResult(card: result.card, replacement: result.replacement,
                                            chipKey: result.replacement.map { chipKeys.base64Key(for: $0.number) }, replayed: true)
                }
                Counter(label: "onecard_card_transitions_total", dimensions: [("type", action.eventType)]).increment()
                // A new revocation entry (or outbox message) is owed to the hub: exchange now rather than at the next interval.
                if federation.isFederated { federation.work.signal() }
                if let r = result.replacement {
                    return TransitionResult(card: result.card, replacement: r, chipKey: chipKeys.base64Key(for: r.number))
                }
                return result
            } catch where Store.isUniqueViolation(error) && attempt < 4 {
                continue  // replacement card number collision: draw another
            }
        }
        throw DomainError(.cardNumberExhausted, "could not draw a free card number")
    }

    /// Lapses every temporary loss report whose period has run out (run periodically by the server).
    @discardableResult
    func lapseDue() async throws -> Int {
        let cutoff = CardLifecycle.lapseCutoff(now: now, lapseDays: policy.temporaryLossLapseDays)
        let due = try await store.read { try await $0.cards.temporarilyLost(before: cutoff) }
        var lapsed = 0
        for number in due {
            do { _ = try await transition(number, .lapse, actor: .system); lapsed += 1 } catch let e as DomainError where e.code == .invalidTransition {
                continue  // changed meanwhile
            }
        }
        return lapsed
    }
}

extension CardNumber {
    /// The card a path names: a malformed number names no card, so it answers like an unknown one.
    static func existing(_ raw: String) throws(DomainError) -> CardNumber {
        do { return try CardNumber(raw) } catch { throw DomainError(.cardNotFound, "no card \(raw)") }
    }
}
