import Foundation
import OneCardCore
import SQLKit

public struct ECardRepository: Sendable {
    let db: any SQLDatabase

    public func find(personId: Person.ID) async throws -> ECard? {
        try await db.raw("SELECT * FROM ecards WHERE person_id = \(bind: personId)").first().map(Self.decode)
    }

    public func find(cardNumber: CardNumber) async throws -> ECard? {
        try await db.raw("SELECT * FROM ecards WHERE card_number = \(bind: cardNumber)").first().map(Self.decode)
    }

    public func insert(_ e: ECard) async throws {
        try await db.raw("""
            INSERT INTO ecards (id, person_id, card_number, device_id, status, issued_at, updated_at)
            VALUES (\(bind: e.id), \(bind: e.personId), \(bind: e.cardNumber), \(bind: e.deviceId), \(bind: e.status.rawValue),
                    \(bind: e.issuedAt.millis), \(bind: e.updatedAt.millis))
            """).run()
    }

    public func update(_ e: ECard) async throws {
        try await db.raw("""
            UPDATE ecards SET card_number = \(bind: e.cardNumber), device_id = \(bind: e.deviceId), status = \(bind: e.status.rawValue),
                updated_at = \(bind: e.updatedAt.millis) WHERE id = \(bind: e.id)
            """).run()
    }

    static func decode(_ r: any SQLRow) throws -> ECard {
        ECard(id: try r.string("id"), personId: try r.id("person_id"), cardNumber: try r.cardNumber("card_number"),
              deviceId: try r.string("device_id"), status: ECard.Status(rawValue: try r.string("status")) ?? .suspended,
              issuedAt: try r.date("issued_at"), updatedAt: try r.date("updated_at"))
    }
}

/// QR tokens issued and the public revocation list.
public struct TrustRepository: Sendable {
    let db: any SQLDatabase

    public func recordToken(jti: String, cardNumber: CardNumber, issuedAt: Date, expiresAt: Date) async throws {
        try await db.raw("""
            INSERT INTO qr_tokens (jti, card_number, issued_at, expires_at)
            VALUES (\(bind: jti), \(bind: cardNumber), \(bind: issuedAt.millis), \(bind: expiresAt.millis))
            """).run()
    }

    /// Tokens of a card that a terminal could still accept at `now` (allowing for clock skew).
    public func outstandingTokens(cardNumber: CardNumber, now: Date, skew: TimeInterval) async throws -> [String] {
        try await db.raw("""
            SELECT jti FROM qr_tokens WHERE card_number = \(bind: cardNumber) AND expires_at >= \(bind: now.addingTimeInterval(-skew).millis)
            """).all().map { try $0.string("jti") }
    }

    /// Forgets tokens that expired before `cutoff`.
    public func pruneTokens(before cutoff: Date) async throws {
        try await db.raw("DELETE FROM qr_tokens WHERE expires_at < \(bind: cutoff.millis)").run()
    }

    /// Appends an entry under the next number of the list; `iss` names another region's entry merged from the
    /// national list (nil: this node's own). Call inside a write transaction: the number is taken under a row lock
    /// held to commit, so entries commit in the order of their numbers.
    public func appendRevocation(_ entry: RevocationEntry) async throws {
        let (hash, jti): (String?, String?) = switch entry.subject {
        case .card(let h): (h, nil)
        case .token(let j): (nil, j)
        }
        let seq = try await SequenceHeads(db: db).next("revocations")
        try await db.raw("""
            INSERT INTO revocations (seq, card_hash, jti, status, at, iss)
            VALUES (\(bind: seq), \(bind: hash), \(bind: jti), \(bind: entry.status.rawValue), \(bind: entry.at.millis), \(bind: entry.iss))
            """).run()
    }

    /// This node's own entries after `since`, each with its number (what the node pushes to the hub).
    public func ownRevocations(since: Int64, limit: Int = 1000) async throws -> [(seq: Int64, entry: RevocationEntry)] {
        try await db.raw("SELECT * FROM revocations WHERE seq > \(bind: since) AND iss IS NULL ORDER BY seq LIMIT \(bind: limit)").all().compactMap { r in
            let status = RevocationStatus(rawValue: try r.string("status")) ?? .cancelled
            let at = try r.date("at")
            if let hash = try r.optionalString("card_hash") { return (try r.int("seq"), RevocationEntry(.card(hash: hash), status: status, at: at)) }
            if let jti = try r.optionalString("jti") { return (try r.int("seq"), RevocationEntry(.token(jti: jti), status: status, at: at)) }
            return nil
        }
    }

    /// The latest status another region's entries give a QR token (`jti`), if any.
    public func foreignTokenStatus(jti: String, iss: String) async throws -> RevocationStatus? {
        try await db.raw("SELECT status FROM revocations WHERE jti = \(bind: jti) AND iss = \(bind: iss) ORDER BY seq DESC LIMIT 1").first()
            .flatMap { RevocationStatus(rawValue: try $0.string("status")) }
    }

    /// The highest number on the list (0 when empty). Every entry up to it is committed: numbers are taken under a row lock
    /// held to commit, so a reader that sees N has seen every number below N.
    public func revocationHead() async throws -> Int64 {
        try await db.raw("SELECT COALESCE(MAX(seq), 0) AS head FROM revocations").first().map { try $0.int("head") } ?? 0
    }

    /// The card entries numbered after `after` up to `through`, oldest first, as the first 16 hex digits of the card's hash
    /// (all a gate's table keeps) and the status: one short column a row, read by the primary key's range, so that a
    /// snapshot of ten million cards pages through the log quickly on either engine.
    public func cardRevocations(after: Int64, through: Int64) async throws -> [(hashPrefix: Substring, status: RevocationStatus)] {
        try await db.raw("""
            SELECT substr(card_hash, 1, 16) || status AS c FROM revocations
            WHERE seq > \(bind: after) AND seq <= \(bind: through) AND card_hash IS NOT NULL ORDER BY seq
            """).all().map { r in
            let c = try r.string("c")
            let split = c.index(c.startIndex, offsetBy: min(16, c.count))
            return (c[..<split], RevocationStatus(rawValue: String(c[split...])) ?? .cancelled)
        }
    }

    /// Token (`jti`) entries made `since` or later and numbered up to `through`, oldest first.
    public func tokenRevocations(since: Date, through: Int64) async throws -> [RevocationEntry] {
        try await db.raw("""
            SELECT jti, status, at, iss FROM revocations WHERE jti IS NOT NULL AND at >= \(bind: since.millis) AND seq <= \(bind: through) ORDER BY seq
            """).all().map { r in
            RevocationEntry(.token(jti: try r.string("jti")), status: RevocationStatus(rawValue: try r.string("status")) ?? .cancelled,
                            at: try r.date("at"), iss: try r.optionalString("iss"))
        }
    }

    /// Entries after `since`, oldest first, and the highest sequence number (0 when empty). `ownOnly` leaves out
    /// entries merged from other regions (what a node pushes to the hub).
    public func revocations(since: Int64, limit: Int = 10_000, ownOnly: Bool = false) async throws -> (seq: Int64, entries: [RevocationEntry]) {
        let rows = try await db.raw(ownOnly
            ? "SELECT * FROM revocations WHERE seq > \(bind: since) AND iss IS NULL ORDER BY seq LIMIT \(bind: limit)"
            : "SELECT * FROM revocations WHERE seq > \(bind: since) ORDER BY seq LIMIT \(bind: limit)").all()
        var seq = since
        var entries: [RevocationEntry] = []
        for r in rows {
            seq = max(seq, try r.int("seq"))
            let status = RevocationStatus(rawValue: try r.string("status")) ?? .cancelled
            let at = try r.date("at")
            let iss = try r.optionalString("iss")
            if let hash = try r.optionalString("card_hash") {
                entries.append(RevocationEntry(.card(hash: hash), status: status, at: at, iss: iss))
            } else if let jti = try r.optionalString("jti") {
                entries.append(RevocationEntry(.token(jti: jti), status: status, at: at, iss: iss))
            }
        }
        // Nothing after `since`: the answer is `since` itself. Reading the head in a second statement could see an entry
        // committed after the first one and hand out a `seq` past an entry the reader never got.
        return (seq, entries)
    }
}
