import Foundation
import OneCardCore
import OneCardStore
import OneCardVerifier

/// The electronic social security card (same validity as the physical one, GD art. 2) and its
/// dynamic QR codes.
struct ECardService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let cards: CardService
    let registry: RegistryService
    let tokens: QRTokens
    /// Other member regions' keys, from the hub's trust list (empty on a node alone).
    let national: NationalTrust
    /// The last revocation snapshot this process made, shared by the gates that ask at once.
    let snapshots: RevocationSnapshotCache

    /// Issues (or re-binds to a new device) the e-card of a holder whose physical card is active.
    func issue(personId: Person.ID, deviceId: String, actor: Actor) async throws -> ECard {
        try TextRule.check(deviceId, "deviceId", max: 128, notBlank: true, oneLine: true)
        guard deviceId.allSatisfy(\.isASCII) else { throw DomainError(.invalidField, "deviceId: ASCII characters") }
        let device = deviceId.trimmingCharacters(in: .whitespaces)
        let at = clock.now()
        let random = random
        guard let card = try await cards.liveCard(personId: personId) else {
            throw DomainError(.noCard, "you hold no card; apply for one")
        }
        return try await store.write { s in
            guard let locked = try await s.cards.find(card.number, lock: true), locked.status == .active else {
                throw DomainError(.cardNotActive, "the e-card needs an active physical card")
            }
            if var existing = try await s.ecards.find(personId: personId) {
                let changed = existing.deviceId != device
                existing.deviceId = device
                existing.cardNumber = locked.number
                existing.status = .active
                existing.updatedAt = at
                try await s.ecards.update(existing)
                if changed {
                    try await s.events.append(CardEvent(at: at, type: "ecard_device_changed", actor: actor.name, channel: actor.channel,
                                                        reason: "bound to a new device", cardNumber: locked.number, applicationId: nil))
                }
                return existing
            }
            let e = ECard(id: random.uuid(), personId: personId, cardNumber: locked.number, deviceId: device, status: .active, issuedAt: at, updatedAt: at)
            try await s.ecards.insert(e)
            try await s.events.append(CardEvent(at: at, type: "ecard_issued", actor: actor.name, channel: actor.channel,
                                                reason: nil, cardNumber: locked.number, applicationId: nil))
            return e
        }
    }

    func ecard(personId: Person.ID) async throws -> ECard {
        _ = try await cards.liveCard(personId: personId)  // lets a due temporary loss lapse first
        guard let e = try await store.read({ try await $0.ecards.find(personId: personId) }) else {
            throw DomainError(.noEcard, "you have no e-card yet; issue one for your device")
        }
        return e
    }

    /// A fresh QR token for the holder's active e-card.
    func qrToken(personId: Person.ID) async throws -> IssuedQRToken {
        let e = try await ecard(personId: personId)
        let card = try await cards.card(e.cardNumber)
        guard card.status == .active, e.status == .active else {
            throw DomainError(.cardNotActive, "the card is \(card.status.rawValue); QR codes are issued for an active card only")
        }
        let person = try await registry.person(personId)
        let number = card.number
        let ring = tokens.keys.ring
        let now = clock.now()
        let tiers = cards.policy.ageTiers
        let entitlements = try await store.read { s in
            try await EntitlementSources.load([person.id], now: now, in: s).codes(person.id, at: now, tiers: tiers)
        }
        let issued = tokens.issuer(ring: ring).issue(for: number, entitlements: entitlements, key: ring.current)
        try await store.write { s in
            try await s.trust.recordToken(jti: issued.claims.jti, cardNumber: card.number, issuedAt: clock.now(), expiresAt: issued.expiresAt)
            // A card under online checks (a risk action): its new token goes on the feed too, so offline gates refuse it.
            if try await s.risk.isOnlineOnly(card.number) {
                try await s.trust.appendRevocation(.token(jti: issued.claims.jti, status: .onlineOnly, at: clock.now()))
            }
        }
        return issued
    }

    /// The public keys of every issuing region this node trusts: its own and, when federated, its peers'.
    func trustList() -> JWKS {
        let own = tokens.keys.ring.jwks(at: clock.now())
        guard let foreign = national.snapshot?.foreignKeys else { return own }
        // Without `alg`: a node's list stays as it was for verifiers that match it against the token header's `EdDSA`.
        return own.merging(JWKS(keys: foreign.map { var k = $0; k.alg = nil; return k }))
    }

    /// The hub's signed national trust list as this node last fetched it (gates verify it with the hub's key).
    func signedNationalTrustList() throws(DomainError) -> String {
        guard let jws = national.snapshot?.jws else { throw DomainError(.notFederated, "this node holds no national trust list (it has joined no hub, or the hub has not answered yet)") }
        return jws
    }

    /// What changed on the revocation list after `since`, as this node publishes it.
    func revocations(since: Int64) async throws -> RevocationDocument {
        let (seq, entries, incident) = try await store.read { s in
            let (seq, entries) = try await s.trust.revocations(since: since)
            return (seq, entries, try await IncidentService.state(in: s).active)
        }
        return RevocationDocument(seq: seq, iss: tokens.region, entries: entries, incident: incident ? true : nil)
    }

    /// The same delta signed with this node's current key (JWS).
    func signedRevocations(since: Int64) async throws -> String {
        try await revocations(since: since).signed(with: tokens.keys.ring.current)
    }

    /// The whole card list as the gate's own compact table, complete up to the list's head, after a signed header (issue
    /// 18): what a gate starting from empty loads before it follows `since=seq`. The log is read in ranges of its numbers,
    /// one short column a row, into a builder of 8 bytes an entry, so ten million cards never need gigabytes. Token entries
    /// ride in the header while a gate could still meet their token (its longest lifetime plus skew).
    func revocationSnapshot() async throws -> [UInt8] {
        let head = try await store.read { try await $0.trust.revocationHead() }
        return try await snapshots.body(head: head) { try await makeRevocationSnapshot() }
    }

    /// A fresh snapshot, read from the log `page` numbers at a time.
    func makeRevocationSnapshot(page: Int64 = 250_000) async throws -> [UInt8] {
        let (head, incident) = try await store.read { s in (try await s.trust.revocationHead(), try await IncidentService.state(in: s).active) }
        // The log's length bounds the card entries (token entries are in it too): one allocation, not a doubling array.
        var builder = RevocationTableBuilder(capacity: Int(head))
        var after: Int64 = 0
        while after < head {
            let through = min(head, after + page)
            let from = after
            for row in try await store.read({ try await $0.trust.cardRevocations(after: from, through: through) }) {
                builder.add(cardHash: row.hashPrefix, status: row.status)
            }
            after = through
        }
        let gate = QRVerifier.Configuration()
        let since = clock.now().addingTimeInterval(-(gate.maxTokenLifetime + gate.skew))
        let tokenEntries = try await store.read { try await $0.trust.tokenRevocations(since: since, through: head) }
        let (table, cards) = builder.finish()
        return RevocationSnapshot.body(table: table, seq: head, iss: tokens.region, cards: cards, tokens: tokenEntries,
                                       incident: incident ? true : nil, key: tokens.keys.ring.current)
    }

    /// Keeps the e-card in step with its physical card and publishes the card's new status on the
    /// revocation list. Called by `CardService.transition` inside the transaction of the change.
    static func follow(_ card: Card, after action: CardAction, at: Date, actor: Actor, skew: TimeInterval, in s: StoreSession) async throws {
        if let status = RevocationStatus(card.status), action != .activate {
            let number = card.number
            try await s.trust.appendRevocation(.card(number, status: status, at: at))
            if status.revokes {
                for jti in try await s.trust.outstandingTokens(cardNumber: card.number, now: at, skew: skew) {
                    try await s.trust.appendRevocation(.token(jti: jti, status: status, at: at))
                }
            }
        }
        let event = { (type: String, reason: String?) in
            CardEvent(at: at, type: type, actor: actor.name, channel: actor.channel, reason: reason, cardNumber: card.number, applicationId: nil)
        }
        switch action {
        case .reportLoss, .cancel, .replace:
            // A loss report, cancellation or replacement suspends the e-card at once.
            guard var e = try await s.ecards.find(cardNumber: card.number), e.status == .active else { return }
            e.status = .suspended
            e.updatedAt = at
            try await s.ecards.update(e)
            try await s.events.append(event("ecard_suspended", action.eventType))
        case .unlock, .lapse:
            guard var e = try await s.ecards.find(cardNumber: card.number), e.status == .suspended else { return }
            e.status = .active
            e.updatedAt = at
            try await s.ecards.update(e)
            try await s.events.append(event("ecard_resumed", action.eventType))
        case .activate:
            // A replacement card takes over the e-card once it is activated.
            guard let replaced = card.replaces, var e = try await s.ecards.find(cardNumber: replaced) else { return }
            e.cardNumber = card.number
            e.status = .active
            e.updatedAt = at
            try await s.ecards.update(e)
            try await s.events.append(event("ecard_rebound", "replaces \(replaced)"))
        }
    }
}

/// The last revocation snapshot a process made (issue 18). A snapshot of ten million cards takes seconds and a few hundred
/// megabytes to make, and gates start from empty together (a new station, a fleet restored after an outage): the gates
/// asking while one is made wait for it, and one made less than `maxAge` ago, or at the list's current head, is served
/// again. An older snapshot is still a true one (complete up to its `seq`); the gate reads the deltas after it.
actor RevocationSnapshotCache {
    private let maxAge: TimeInterval
    private let clock: Clock
    private var latest: (head: Int64, madeAt: Date, body: [UInt8])?
    private var making: Task<(head: Int64, body: [UInt8]), any Error>?

    /// `clock` is the services' clock, so a test moves the age on rather than waiting it out.
    init(maxAge: TimeInterval = 30, clock: Clock) { self.maxAge = maxAge; self.clock = clock }

    /// The cached body when it is at `head` or young enough, else the one being made, else a new one from `make`.
    func body(head: Int64, make: @escaping @Sendable () async throws -> [UInt8]) async throws -> [UInt8] {
        if let latest, latest.head == head || clock.now().timeIntervalSince(latest.madeAt) < maxAge { return latest.body }
        if let making { return try await making.value.body }
        let task = Task { (head: head, body: try await make()) }
        making = task
        defer { making = nil }
        let made = try await task.value
        latest = (made.head, clock.now(), made.body)
        return made.body
    }
}
