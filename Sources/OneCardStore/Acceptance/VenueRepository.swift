import Foundation
import OneCardCore
import SQLKit

public struct VenueRepository: Sendable {
    let db: any SQLDatabase

    public func insert(_ v: Venue, at: Date) async throws {
        try await db.raw("""
            INSERT INTO venues (id, name, operator_uscc, type, region_code, address, accessibility, unified_logo, item_codes, created_at)
            VALUES (\(bind: v.id), \(bind: v.name), \(bind: v.operatorUscc), \(bind: v.type.rawValue), \(bind: v.regionCode), \(bind: v.address),
                    \(bind: JSONColumn.encode(v.accessibility)), \(bind: v.unifiedLogo.int), \(bind: JSONColumn.encode(v.itemCodes)), \(bind: at.millis))
            """).run()
    }

    public func find(_ id: Venue.ID) async throws -> Venue? {
        try await db.raw("SELECT * FROM venues WHERE id = \(bind: id)").first().map(Self.decode)
    }

    /// Several venues in one query (acceptances decided together).
    public func find(ids: [Venue.ID]) async throws -> [Venue] {
        guard !ids.isEmpty else { return [] }
        return try await db.raw("SELECT * FROM venues WHERE id IN (\(binds: ids))").all().map(Self.decode)
    }

    public func list() async throws -> [Venue] {
        try await db.raw("SELECT * FROM venues ORDER BY region_code, name").all().map(Self.decode)
    }

    static func decode(_ r: any SQLRow) throws -> Venue {
        Venue(id: try r.id("id"), name: try r.string("name"), operatorUscc: try r.string("operator_uscc"),
              type: VenueType(rawValue: try r.string("type")) ?? .other, regionCode: try r.string("region_code"), address: try r.string("address"),
              accessibility: JSONColumn.decode(try r.string("accessibility")), unifiedLogo: try r.bool("unified_logo"),
              itemCodes: JSONColumn.decode(try r.string("item_codes")))
    }

    public func insertTerminal(id: Terminal.ID, venueId: Venue.ID, keyHash: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO terminals (id, venue_id, key_hash, created_at) VALUES (\(bind: id), \(bind: venueId), \(bind: keyHash), \(bind: at.millis))
            """).run()
    }

    public func terminal(_ id: Terminal.ID) async throws -> Terminal? {
        try await db.raw("SELECT * FROM terminals WHERE id = \(bind: id)").first().map { r in
            Terminal(id: try r.id("id"), venueId: try r.id("venue_id"), keyHash: try r.string("key_hash"),
                     createdAt: try r.date("created_at"), revokedAt: try r.optionalDate("revoked_at"))
        }
    }

    public func terminals(venueId: Venue.ID) async throws -> [Terminal] {
        try await db.raw("SELECT * FROM terminals WHERE venue_id = \(bind: venueId) ORDER BY created_at").all().map { r in
            Terminal(id: try r.id("id"), venueId: try r.id("venue_id"), keyHash: try r.string("key_hash"),
                     createdAt: try r.date("created_at"), revokedAt: try r.optionalDate("revoked_at"))
        }
    }

    public func revokeTerminal(_ id: Terminal.ID, at: Date) async throws {
        try await db.raw("UPDATE terminals SET revoked_at = \(bind: at.millis) WHERE id = \(bind: id) AND revoked_at IS NULL").run()
    }
}

public struct UseRepository: Sendable {
    let db: any SQLDatabase

    public func find(terminalId: Terminal.ID, idempotencyKey: String) async throws -> UseRecord? {
        try await db.raw("SELECT * FROM uses WHERE terminal_id = \(bind: terminalId) AND idempotency_key = \(bind: idempotencyKey)").first().map(Self.decode)
    }

    public func insert(_ u: UseRecord) async throws { try await insert([u]) }

    /// Records several answers in one statement.
    public func insert(_ uses: [UseRecord]) async throws {
        guard !uses.isEmpty else { return }
        var values = SQLQueryString("")
        for (i, u) in uses.enumerated() {
            if i > 0 { values += ", " }
            values += """
                (\(bind: u.id), \(bind: u.terminalId), \(bind: u.idempotencyKey), \(bind: u.venueId), \(bind: u.itemCode), \(bind: u.kind.rawValue),
                \(bind: u.decision.rawValue), \(bind: u.reason), \(bind: u.cardNumber), \(bind: u.personId), \(bind: u.crossRegion.int), \(bind: u.chargedFen),
                \(bind: u.disclosed?.rawValue), \(bind: u.at.millis), \(bind: u.response), \(bind: (u.recordedAt ?? u.at).millis),
                \(bind: u.concession?.code), \(bind: u.concession?.basis), \(bind: u.concession?.amountFen), \(bind: u.concession.map { Int64($0.companions) }))
                """
        }
        try await db.raw("""
            INSERT INTO uses (id, terminal_id, idempotency_key, venue_id, item_code, kind, decision, reason, card_number, person_id,
                cross_region, charged_fen, disclosed, at, response, recorded_at, concession_code, concession_basis, concession_fen, concession_companions)
            VALUES \(values)
            """).run()
    }

    /// The answers already given to any of these (terminal, Idempotency-Key) pairs.
    public func find(requests: [(terminalId: Terminal.ID, idempotencyKey: String)]) async throws -> [UseRecord] {
        guard !requests.isEmpty else { return [] }
        let wanted = Set(requests.map { "\($0.terminalId)\u{1F}\($0.idempotencyKey)" })
        // Both IN lists use the unique (terminal_id, idempotency_key) index; pairs that merely cross are dropped here.
        return try await db.raw("""
            SELECT * FROM uses WHERE terminal_id IN (\(binds: Array(Set(requests.map(\.terminalId)))))
                AND idempotency_key IN (\(binds: Array(Set(requests.map(\.idempotencyKey)))))
            """).all().map(Self.decode).filter { wanted.contains("\($0.terminalId)\u{1F}\($0.idempotencyKey)") }
    }

    /// Every use and identity check of a person's cards, newest first ("who checked my card").
    public func list(personId: Person.ID, limit: Int = 500) async throws -> [UseRecord] {
        try await db.raw("SELECT * FROM uses WHERE person_id = \(bind: personId) ORDER BY at DESC, id LIMIT \(bind: limit)").all().map(Self.decode)
    }

    /// Whether a QR token was accepted at this venue item before.
    public func tokenAccepted(jti: String, venueId: Venue.ID, itemCode: String) async throws -> Bool {
        try await acceptedTokens(among: [UseRecord.TokenUse(jti: jti, venueId: venueId, itemCode: itemCode)]).isEmpty == false
    }

    /// Which of these token uses were recorded before.
    public func acceptedTokens(among uses: [UseRecord.TokenUse]) async throws -> Set<UseRecord.TokenUse> {
        guard !uses.isEmpty else { return [] }
        let wanted = Set(uses)
        return Set(try await db.raw("SELECT jti, venue_id, item_code FROM accepted_tokens WHERE jti IN (\(binds: Array(Set(uses.map(\.jti)))))")
            .all().map { UseRecord.TokenUse(jti: try $0.string("jti"), venueId: try $0.id("venue_id"), itemCode: try $0.string("item_code")) })
            .intersection(wanted)
    }

    /// Records a QR token's acceptance at a venue item; false if it was accepted there before.
    public func markTokenAccepted(jti: String, venueId: Venue.ID, itemCode: String, at: Date) async throws -> Bool {
        guard try await !tokenAccepted(jti: jti, venueId: venueId, itemCode: itemCode) else { return false }
        try await insertTokenUses([(UseRecord.TokenUse(jti: jti, venueId: venueId, itemCode: itemCode), at)])
        return true
    }

    /// Records token acceptances not recorded before (the caller checked with `acceptedTokens`).
    public func insertTokenUses(_ uses: [(UseRecord.TokenUse, at: Date)]) async throws {
        guard !uses.isEmpty else { return }
        var values = SQLQueryString("")
        for (i, (u, at)) in uses.enumerated() {
            if i > 0 { values += ", " }
            values += "(\(bind: u.jti), \(bind: u.venueId), \(bind: u.itemCode), \(bind: at.millis))"
        }
        try await db.raw("INSERT INTO accepted_tokens (jti, venue_id, item_code, at) VALUES \(values)").run()
    }

    /// Records a card challenge; false if the card answered it before (a replayed challenge–response).
    public func markChallengeUsed(cardNumber: CardNumber, challengeHash: String, at: Date) async throws -> Bool {
        try await markChallengesUsed([(UseRecord.ChallengeUse(cardNumber: cardNumber, challengeHash: challengeHash), at)]) == [false]
    }

    /// Records card challenges; for each, in order, whether it was answered before (a replay: earlier, or
    /// earlier in this list), in which case it is not recorded again.
    public func markChallengesUsed(_ uses: [(UseRecord.ChallengeUse, at: Date)]) async throws -> [Bool] {
        guard !uses.isEmpty else { return [] }
        var seen = try await usedChallenges(among: uses.map(\.0))
        var fresh: [(UseRecord.ChallengeUse, Date)] = [], replayed: [Bool] = []
        for (u, at) in uses {
            let isNew = seen.insert(u).inserted
            if isNew { fresh.append((u, at)) }
            replayed.append(!isNew)
        }
        try await insertChallengeUses(fresh)
        return replayed
    }

    /// Which of these challenges their cards answered before.
    public func usedChallenges(among uses: [UseRecord.ChallengeUse]) async throws -> Set<UseRecord.ChallengeUse> {
        // A join on the key, pair by pair: `card_number IN (…) AND challenge_hash IN (…)` probed every combination of the two
        // lists (a million look-ups for a gate's batch of a thousand taps).
        var seen = Set<UseRecord.ChallengeUse>()
        for part in stride(from: 0, to: uses.count, by: 400) {
            var pairs = SQLQueryString("")
            for (i, u) in uses[part..<min(part + 400, uses.count)].enumerated() {
                if i > 0 { pairs += ", " }
                pairs += "(\(bind: u.cardNumber), \(bind: u.challengeHash))"
            }
            for r in try await db.raw("""
                SELECT c.card_number, c.challenge_hash FROM (VALUES \(pairs)) AS v
                JOIN card_challenges c ON c.card_number = v.column1 AND c.challenge_hash = v.column2
                """).all() {
                seen.insert(UseRecord.ChallengeUse(cardNumber: try r.cardNumber("card_number"), challengeHash: try r.string("challenge_hash")))
            }
        }
        return seen
    }

    /// Records challenges not recorded before (the caller checked with `usedChallenges`).
    public func insertChallengeUses(_ uses: [(UseRecord.ChallengeUse, at: Date)]) async throws {
        guard !uses.isEmpty else { return }
        var values = SQLQueryString("")
        for (i, (u, at)) in uses.enumerated() {
            if i > 0 { values += ", " }
            values += "(\(bind: u.cardNumber), \(bind: u.challengeHash), \(bind: at.millis))"
        }
        try await db.raw("INSERT INTO card_challenges (card_number, challenge_hash, at) VALUES \(values)").run()
    }

    static func decode(_ r: any SQLRow) throws -> UseRecord {
        var u = UseRecord(id: try r.string("id"), terminalId: try r.id("terminal_id"), idempotencyKey: try r.string("idempotency_key"),
                  venueId: try r.id("venue_id"), itemCode: try r.string("item_code"), kind: UseKind(rawValue: try r.string("kind")) ?? .qr, decision: UseDecision(rawValue: try r.string("decision")) ?? .denied,
                  reason: try r.optionalString("reason"), cardNumber: try r.optionalCardNumber("card_number"), personId: try r.optionalId("person_id"),
                  crossRegion: try r.bool("cross_region"), chargedFen: try r.int("charged_fen"), disclosed: try r.optionalString("disclosed").flatMap(Disclosure.init(rawValue:)),
                  at: try r.date("at"), response: try r.string("response"))
        // Rows read by a database not yet at migration 037 (an upgrade test) have no concession columns.
        if r.contains(column: "concession_code"), let code = try r.optionalString("concession_code") {
            u.concession = AppliedVenueConcession(code: code, basis: try r.optionalString("concession_basis") ?? "", amountFen: try r.optionalInt("concession_fen") ?? 0,
                                                  companions: Int(try r.optionalInt("concession_companions") ?? 0))
        }
        return u
    }
}
