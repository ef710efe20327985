import Crypto
import Foundation
import NIOConcurrencyHelpers
import OneCardCore
import OneCardStore

/// Venues and their terminals. A terminal's API key is `oct_<terminalId>_<secret>`, shown once and
/// stored as its SHA-256.
struct VenueService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let catalogue: CatalogueService
    /// Terminal keys seen in the last seconds; a revocation here clears it.
    let terminalKeys: TerminalKeyCache

    struct VenueInput: Decodable, Sendable {
        let name: String; let operatorUscc: String; let type: VenueType; let regionCode: String; let address: String
        let accessibility: [String]?; let unifiedLogo: Bool?; let itemCodes: [String]
    }

    func create(_ i: VenueInput, by actor: String) async throws -> Venue {
        try TextRule.check(i.name, "name", max: 100)
        let uscc = try UnifiedSocialCreditCode(i.operatorUscc)
        _ = try RegionCode(i.regionCode)
        try TextRule.check(i.address, "address", max: 200)
        guard !i.itemCodes.isEmpty else { throw DomainError.invalidField("itemCodes", "at least one catalogue item") }
        let venue = Venue(id: Venue.ID(random.uuid()), name: i.name, operatorUscc: uscc.value, type: i.type, regionCode: i.regionCode,
                          address: i.address, accessibility: i.accessibility ?? [], unifiedLogo: i.unifiedLogo ?? false,
                          itemCodes: Array(Set(i.itemCodes)).sorted())
        try await store.write { s in
            for code in venue.itemCodes {
                guard let item = try await catalogue.publishedItem(code, in: s) else {
                    throw DomainError(.itemNotInCatalogue, "\(code) is not in the published catalogue")
                }
                guard item.venueTypes.contains(venue.type) else {
                    throw DomainError(.itemNotForVenueType, "\(code) is not offered at a \(venue.type.rawValue)")
                }
            }
            try await s.venues.insert(venue, at: clock.now())
            try await s.audit.append(at: clock.now(), actor: actor, action: "venue_created", subject: "venue:\(venue.id)", purpose: nil)
        }
        return venue
    }

    /// Every venue, by region and name (public).
    func list() async throws -> [Venue] {
        try await store.read { try await $0.venues.list() }
    }

    /// Every venue with its terminals (the administrator's page).
    func listWithTerminals() async throws -> [(Venue, [Terminal])] {
        try await store.read { s in
            var out: [(Venue, [Terminal])] = []
            for v in try await s.venues.list() { out.append((v, try await s.venues.terminals(venueId: v.id))) }
            return out
        }
    }

    func venue(_ id: Venue.ID) async throws -> Venue {
        guard let v = try await store.read({ try await $0.venues.find(id) }) else { throw DomainError(.venueNotFound, "no venue \(id)") }
        return v
    }

    /// Makes a terminal and returns its key, which is never shown again.
    func createTerminal(venueId: Venue.ID, by actor: String) async throws -> (id: Terminal.ID, apiKey: String) {
        _ = try await venue(venueId)
        let id = Terminal.ID(random.uuid())
        let key = "oct_\(id)_\(Base64URL.encode(random.bytes(32)))"
        try await store.write { s in
            try await s.venues.insertTerminal(id: id, venueId: venueId, keyHash: Self.hash(key), at: clock.now())
            try await s.audit.append(at: clock.now(), actor: actor, action: "terminal_created", subject: "terminal:\(id)", purpose: venueId.rawValue)
        }
        return (id, key)
    }

    func revokeTerminal(venueId: Venue.ID, terminalId: Terminal.ID, by actor: String) async throws {
        try await store.write { s in
            guard let t = try await s.venues.terminal(terminalId), t.venueId == venueId else {
                throw DomainError(.terminalNotFound, "no terminal \(terminalId) at venue \(venueId)")
            }
            try await s.venues.revokeTerminal(terminalId, at: clock.now())
            terminalKeys.clear()
            try await s.audit.append(at: clock.now(), actor: actor, action: "terminal_revoked", subject: "terminal:\(terminalId)", purpose: venueId.rawValue)
        }
    }

    /// The terminal identity behind an API key, or nil when the key is unknown, wrong or revoked.
    func authenticate(_ key: String) async -> Identity? {
        let keyHash = Self.hash(key)
        if let known = terminalKeys.identity(keyHash: keyHash) { return known }
        let parts = key.split(separator: "_", maxSplits: 2)
        guard parts.count == 3, parts[0] == "oct", let t = try? await store.read({ try await $0.venues.terminal(Terminal.ID(String(parts[1]))) }),
              t.revokedAt == nil, Self.constantTimeEqual(t.keyHash, keyHash)
        else { return nil }
        let identity = Identity(subject: t.id.rawValue, role: .terminal, personId: nil, venueId: t.venueId)
        terminalKeys.remember(identity, keyHash: keyHash)
        return identity
    }

    static func hash(_ key: String) -> String { Hex.encode(SHA256.hash(data: Data(key.utf8))) }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// Terminal keys checked against the database in the last few seconds, by the key's SHA-256, so a busy
/// gate does not cost a database read per request. A revocation on this node clears the cache at once;
/// another node sharing the PostgreSQL database stops accepting the key within `ttl`.
final class TerminalKeyCache: Sendable {
    private struct Entry: Sendable { var identity: Identity; var until: ContinuousClock.Instant }
    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    let ttl: Duration
    let capacity: Int

    init(ttl: Duration = .seconds(2), capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    func identity(keyHash: String) -> Identity? {
        let now = ContinuousClock.now
        return entries.withLockedValue { e in
            guard let entry = e[keyHash] else { return nil }
            if entry.until < now { e[keyHash] = nil; return nil }
            return entry.identity
        }
    }

    func remember(_ identity: Identity, keyHash: String) {
        let until = ContinuousClock.now + ttl
        entries.withLockedValue { e in
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[keyHash] = Entry(identity: identity, until: until)
        }
    }

    func clear() { entries.withLockedValue { $0.removeAll() } }
}
