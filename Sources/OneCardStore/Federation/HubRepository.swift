import Foundation
import OneCardCore
import SQLKit

/// A member of the federation as the hub knows it.
public struct HubMember: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A provincial node: issues cards, claims persons, verifies.
        case province
        /// A cross-border partner (GD art. 4: Hong Kong, Macau): verifies cards and QR codes and reports uses; issues nothing.
        case partner
    }
    public enum Status: String, Sendable, CaseIterable { case active, suspended }

    public var region: String
    public var url: String
    /// The member's federation public key (JWK JSON).
    public var publicKey: String
    public var kind: Kind
    public var status: Status
    public var addedAt: Date
    public var updatedAt: Date

    public init(region: String, url: String, publicKey: String, kind: Kind, status: Status, addedAt: Date, updatedAt: Date) {
        self.region = region; self.url = url; self.publicKey = publicKey; self.kind = kind; self.status = status
        self.addedAt = addedAt; self.updatedAt = updatedAt
    }
}

/// Who holds a person's claim at the hub.
public struct HubClaim: Sendable, Equatable {
    public enum State: String, Sendable { case application, card }
    public var personKey: String
    public var region: String
    public var state: State
    public var cardHash: String?

    public init(personKey: String, region: String, state: State, cardHash: String?) {
        self.personKey = personKey; self.region = region; self.state = state; self.cardHash = cardHash
    }
}

/// The hub's own tables: members, their QR keys, the national revocation list, claims and the card directory.
public struct HubRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect

    // MARK: members

    public func members() async throws -> [HubMember] {
        try await db.raw("SELECT * FROM hub_members ORDER BY region").all().map(Self.decodeMember)
    }

    public func member(_ region: String) async throws -> HubMember? {
        try await db.raw("SELECT * FROM hub_members WHERE region = \(bind: region)").first().map(Self.decodeMember)
    }

    /// Adds a member, or updates its URL, key and kind (re-admitting a suspended one).
    public func upsert(_ m: HubMember) async throws {
        try await db.raw("""
            INSERT INTO hub_members (region, url, public_key, kind, status, added_at, updated_at)
            VALUES (\(bind: m.region), \(bind: m.url), \(bind: m.publicKey), \(bind: m.kind.rawValue), \(bind: m.status.rawValue),
                    \(bind: m.addedAt.millis), \(bind: m.updatedAt.millis))
            ON CONFLICT (region) DO UPDATE SET url = excluded.url, public_key = excluded.public_key, kind = excluded.kind,
                status = excluded.status, updated_at = excluded.updated_at
            """).run()
    }

    public func setStatus(_ region: String, _ status: HubMember.Status, at: Date) async throws -> Bool {
        let rows = try await db.raw("""
            UPDATE hub_members SET status = \(bind: status.rawValue), updated_at = \(bind: at.millis) WHERE region = \(bind: region) RETURNING region
            """).all()
        return !rows.isEmpty
    }

    static func decodeMember(_ r: any SQLRow) throws -> HubMember {
        HubMember(region: try r.string("region"), url: try r.string("url"), publicKey: try r.string("public_key"),
                  kind: HubMember.Kind(rawValue: try r.string("kind")) ?? .province, status: HubMember.Status(rawValue: try r.string("status")) ?? .suspended,
                  addedAt: try r.date("added_at"), updatedAt: try r.date("updated_at"))
    }

    // MARK: trust list

    /// Replaces a member's published keys; returns the trust list version (a new one when anything changed).
    public func publishKeys(region: String, keys: [JWK]) async throws -> Int64 {
        let heads = SequenceHeads(db: db)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var wanted: [String: String] = [:]
        for k in keys { wanted[k.kid] = String(decoding: try encoder.encode(k), as: UTF8.self) }
        let have = Dictionary(try await db.raw("SELECT kid, jwk FROM hub_keys WHERE region = \(bind: region)").all().map {
            (try $0.string("kid"), try $0.string("jwk"))
        }, uniquingKeysWith: { a, _ in a })
        guard have != wanted else { return try await heads.current("trust_list_version") }
        try await db.raw("DELETE FROM hub_keys WHERE region = \(bind: region)").run()
        for (kid, jwk) in wanted.sorted(by: { $0.key < $1.key }) {
            try await db.raw("INSERT INTO hub_keys (region, kid, jwk) VALUES (\(bind: region), \(bind: kid), \(bind: jwk))").run()
        }
        return try await heads.next("trust_list_version")
    }

    /// Every active member's keys and the list's version.
    public func trustList() async throws -> (version: Int64, keys: [JWK]) {
        let version = try await SequenceHeads(db: db).current("trust_list_version")
        let rows = try await db.raw("""
            SELECT k.jwk FROM hub_keys k JOIN hub_members m ON m.region = k.region WHERE m.status = 'active' ORDER BY k.region, k.kid
            """).all()
        return (version, try rows.compactMap { try? JSONDecoder().decode(JWK.self, from: Data(try $0.string("jwk").utf8)) })
    }

    /// Marks the list changed (a member suspended or re-admitted).
    public func bumpTrustList() async throws { _ = try await SequenceHeads(db: db).next("trust_list_version") }

    // MARK: national revocations

    /// The highest of `region`'s own numbers the hub holds (what the member may skip when pushing).
    public func lastRegionSeq(_ region: String) async throws -> Int64 {
        try await db.raw("SELECT MAX(region_seq) AS m FROM hub_revocations WHERE region = \(bind: region)").first().flatMap { try $0.optionalInt("m") } ?? 0
    }

    /// Appends a member's entries not held yet, each under the next national number; returns how many were new.
    public func appendRevocations(region: String, entries: [(seq: Int64, entry: RevocationEntry)]) async throws -> Int {
        let last = try await lastRegionSeq(region)
        let heads = SequenceHeads(db: db)
        var added = 0
        for (regionSeq, entry) in entries.sorted(by: { $0.seq < $1.seq }) where regionSeq > last {
            let (hash, jti): (String?, String?) = switch entry.subject {
            case .card(let h): (h, nil)
            case .token(let j): (nil, j)
            }
            let seq = try await heads.next("national_revocations")
            try await db.raw("""
                INSERT INTO hub_revocations (seq, region, region_seq, card_hash, jti, status, at)
                VALUES (\(bind: seq), \(bind: region), \(bind: regionSeq), \(bind: hash), \(bind: jti), \(bind: entry.status.rawValue), \(bind: entry.at.millis))
                """).run()
            if let hash, entry.status == .active || entry.status.revokes {
                try await registerCard(hash: hash, region: region, at: entry.at)
            }
            added += 1
        }
        return added
    }

    public func nationalRevocations(since: Int64, limit: Int = 5000) async throws -> NationalRevocationList {
        let rows = try await db.raw("SELECT * FROM hub_revocations WHERE seq > \(bind: since) ORDER BY seq LIMIT \(bind: limit)").all()
        var seq = since
        var entries: [NationalRevocation] = []
        for r in rows {
            let n = try r.int("seq")
            seq = max(seq, n)
            let status = RevocationStatus(rawValue: try r.string("status")) ?? .cancelled
            let iss = try r.string("region")
            let at = try r.date("at")
            if let hash = try r.optionalString("card_hash") {
                entries.append(NationalRevocation(seq: n, entry: RevocationEntry(.card(hash: hash), status: status, at: at, iss: iss)))
            } else if let jti = try r.optionalString("jti") {
                entries.append(NationalRevocation(seq: n, entry: RevocationEntry(.token(jti: jti), status: status, at: at, iss: iss)))
            }
        }
        // Nothing after `since`: answer `since` (a second read of the head could skip an entry committed in between).
        return NationalRevocationList(seq: seq, entries: entries)
    }

    // MARK: claims and the card directory

    public func claim(_ personKey: String, lock: Bool = false) async throws -> HubClaim? {
        try await db.raw("SELECT * FROM hub_claims WHERE person_key = \(bind: personKey)\(unsafeRaw: lock ? dialect.forUpdate : "")").first().map { r in
            HubClaim(personKey: try r.string("person_key"), region: try r.string("region"),
                     state: HubClaim.State(rawValue: try r.string("state")) ?? .application, cardHash: try r.optionalString("card_hash"))
        }
    }

    /// Inserts a new claim; false when another claim for the person got there first.
    public func insertClaim(_ c: HubClaim, at: Date) async throws -> Bool {
        let rows = try await db.raw("""
            INSERT INTO hub_claims (person_key, region, state, card_hash, updated_at)
            VALUES (\(bind: c.personKey), \(bind: c.region), \(bind: c.state.rawValue), \(bind: c.cardHash), \(bind: at.millis))
            ON CONFLICT (person_key) DO NOTHING RETURNING person_key
            """).all()
        return !rows.isEmpty
    }

    public func updateClaim(_ c: HubClaim, at: Date) async throws {
        try await db.raw("""
            UPDATE hub_claims SET state = \(bind: c.state.rawValue), card_hash = \(bind: c.cardHash), updated_at = \(bind: at.millis)
            WHERE person_key = \(bind: c.personKey) AND region = \(bind: c.region)
            """).run()
    }

    /// Releases `region`'s claim on a person; returns whether it held one.
    public func releaseClaim(_ personKey: String, region: String) async throws -> Bool {
        !(try await db.raw("DELETE FROM hub_claims WHERE person_key = \(bind: personKey) AND region = \(bind: region) RETURNING person_key").all().isEmpty)
    }

    public func registerCard(hash: String, region: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO hub_cards (card_hash, region, at) VALUES (\(bind: hash), \(bind: region), \(bind: at.millis))
            ON CONFLICT (card_hash) DO NOTHING
            """).run()
    }

    /// The region that issued the card with this hash, if known.
    public func issuer(cardHash: String) async throws -> String? {
        try await db.raw("SELECT region FROM hub_cards WHERE card_hash = \(bind: cardHash)").first().map { try $0.string("region") }
    }
}

/// A change to an alliance's list proposed by one member and approved by each.
public struct AllianceProposal: Sendable, Equatable {
    public enum Status: String, Sendable { case open, published }
    public var id: String
    public var alliance: String
    /// The proposing member region.
    public var region: String
    /// The item to add or change, or nil to withdraw `code`.
    public var item: CatalogueItem?
    public var code: String
    public var status: Status
    public var approvals: [String]
    public var createdAt: Date

    public init(id: String, alliance: String, region: String, item: CatalogueItem?, code: String, status: Status, approvals: [String], createdAt: Date) {
        self.id = id; self.alliance = alliance; self.region = region; self.item = item; self.code = code; self.status = status
        self.approvals = approvals; self.createdAt = createdAt
    }
}

extension HubRepository {
    private struct Change: Codable { var code: String; var item: CatalogueItem? }

    /// An alliance's published list and its version (0 and empty before the first publication).
    public func allianceList(_ code: String) async throws -> (version: Int64, items: [CatalogueItem]) {
        guard let r = try await db.raw("SELECT version, items FROM hub_alliances WHERE code = \(bind: code)").first() else { return (0, []) }
        return (try r.int("version"), (try? JSONDecoder().decode([CatalogueItem].self, from: Data(try r.string("items").utf8))) ?? [])
    }

    public func publishAlliance(_ code: String, items: [CatalogueItem], at: Date) async throws -> Int64 {
        let version = try await allianceList(code).version + 1
        let json = String(decoding: try JSONEncoder().encode(items.sorted { $0.code < $1.code }), as: UTF8.self)
        try await db.raw("""
            INSERT INTO hub_alliances (code, version, items, published_at) VALUES (\(bind: code), \(bind: version), \(bind: json), \(bind: at.millis))
            ON CONFLICT (code) DO UPDATE SET version = excluded.version, items = excluded.items, published_at = excluded.published_at
            """).run()
        return version
    }

    public func insertProposal(_ p: AllianceProposal) async throws {
        let change = String(decoding: try JSONEncoder().encode(Change(code: p.code, item: p.item)), as: UTF8.self)
        try await db.raw("""
            INSERT INTO hub_alliance_proposals (id, alliance, region, change, status, created_at)
            VALUES (\(bind: p.id), \(bind: p.alliance), \(bind: p.region), \(bind: change), \(bind: p.status.rawValue), \(bind: p.createdAt.millis))
            """).run()
    }

    /// Records a member's approval; false when it had approved before.
    public func approve(proposal id: String, region: String, at: Date) async throws -> Bool {
        !(try await db.raw("""
            INSERT INTO hub_alliance_approvals (proposal_id, region, at) VALUES (\(bind: id), \(bind: region), \(bind: at.millis))
            ON CONFLICT (proposal_id, region) DO NOTHING RETURNING region
            """).all().isEmpty)
    }

    public func markPublished(proposal id: String, at: Date) async throws {
        try await db.raw("UPDATE hub_alliance_proposals SET status = 'published', published_at = \(bind: at.millis) WHERE id = \(bind: id)").run()
    }

    public func proposal(_ id: String, lock: Bool = false) async throws -> AllianceProposal? {
        try await proposals(where: "id = ", id, lock: lock).first
    }

    /// An alliance's proposals, newest first.
    public func proposals(alliance: String) async throws -> [AllianceProposal] {
        try await proposals(where: "alliance = ", alliance, lock: false)
    }

    private func proposals(where column: String, _ value: String, lock: Bool) async throws -> [AllianceProposal] {
        let rows = try await db.raw("""
            SELECT * FROM hub_alliance_proposals WHERE \(unsafeRaw: column)\(bind: value) ORDER BY created_at DESC, id\(unsafeRaw: lock ? dialect.forUpdate : "")
            """).all()
        var out: [AllianceProposal] = []
        for r in rows {
            let id = try r.string("id")
            let change = try JSONDecoder().decode(Change.self, from: Data(try r.string("change").utf8))
            let approvals = try await db.raw("SELECT region FROM hub_alliance_approvals WHERE proposal_id = \(bind: id) ORDER BY region").all()
                .map { try $0.string("region") }
            out.append(AllianceProposal(id: id, alliance: try r.string("alliance"), region: try r.string("region"), item: change.item, code: change.code,
                                        status: AllianceProposal.Status(rawValue: try r.string("status")) ?? .open, approvals: approvals,
                                        createdAt: try r.date("created_at")))
        }
        return out
    }
}

extension HubRepository {
    /// Keeps a member's signed audit checkpoint (a redelivery changes nothing).
    public func keepAuditCheckpoint(region: String, _ c: AuditChain.Checkpoint) async throws {
        try await db.raw("""
            INSERT INTO hub_audit_checkpoints (region, seq, hash, at, key_id, signature)
            VALUES (\(bind: region), \(bind: c.seq), \(bind: c.hash), \(bind: c.atMillis), \(bind: c.keyID), \(bind: c.signature))
            ON CONFLICT (region, seq) DO NOTHING
            """).run()
    }

    public func auditCheckpoints(region: String) async throws -> [AuditChain.Checkpoint] {
        try await db.raw("SELECT * FROM hub_audit_checkpoints WHERE region = \(bind: region) ORDER BY seq").all().map {
            AuditChain.Checkpoint(seq: try $0.int("seq"), hash: try $0.string("hash"), atMillis: try $0.int("at"), keyID: try $0.string("key_id"),
                                  signature: try $0.string("signature"))
        }
    }
}
