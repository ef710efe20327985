import Crypto
import Foundation
import OneCardCore
import SQLKit

/// The audit log of unmasked reads and other sensitive acts, hash-chained so that an edited or
/// removed entry is detectable (DESIGN capability 14; PIPL; GD security articles).
public struct AuditRepository: Sendable {
    let db: any SQLDatabase

    /// Appends an entry; call inside a write transaction so the chain head update serialises appends.
    @discardableResult
    public func append(at: Date, actor: String, action: String, subject: String, purpose: String?) async throws -> AuditEntry {
        try await append([NewEntry(at: at, actor: actor, action: action, subject: subject, purpose: purpose)])[0]
    }

    /// An entry to append: the chain gives it its number and hash.
    public struct NewEntry: Sendable {
        public var at: Date, actor: String, action: String, subject: String, purpose: String?
        public init(at: Date, actor: String, action: String, subject: String, purpose: String?) {
            self.at = at; self.actor = actor; self.action = action; self.subject = subject; self.purpose = purpose
        }
    }

    /// Appends entries in order, each linked to the one before: three statements however many there are.
    @discardableResult
    public func append(_ entries: [NewEntry]) async throws -> [AuditEntry] {
        guard !entries.isEmpty else { return [] }
        guard let head = try await db.raw("UPDATE audit_head SET seq = seq + \(bind: Int64(entries.count)) WHERE id = 1 RETURNING seq, hash").first() else {
            throw AuditChainError.missingHead
        }
        var seq = try head.int("seq") - Int64(entries.count)
        var prev = try head.string("hash")
        var appended: [AuditEntry] = []
        var values = SQLQueryString("")
        for (i, e) in entries.enumerated() {
            seq += 1
            let hash = Self.hash(prev: prev, seq: seq, at: e.at.millis, actor: e.actor, action: e.action, subject: e.subject, purpose: e.purpose)
            if i > 0 { values += ", " }
            values += "(\(bind: seq), \(bind: e.at.millis), \(bind: e.actor), \(bind: e.action), \(bind: e.subject), \(bind: e.purpose), \(bind: prev), \(bind: hash))"
            appended.append(AuditEntry(seq: seq, at: e.at, actor: e.actor, action: e.action, subject: e.subject, purpose: e.purpose, hash: hash))
            prev = hash
        }
        try await db.raw("UPDATE audit_head SET hash = \(bind: prev) WHERE id = 1").run()
        try await db.raw("INSERT INTO audit_log (seq, at, actor, action, subject, purpose, prev_hash, hash) VALUES \(values)").run()
        return appended
    }

    public func list(subject: String? = nil, limit: Int = 500) async throws -> [AuditEntry] {
        let rows: [any SQLRow]
        if let subject {
            rows = try await db.raw("SELECT * FROM audit_log WHERE subject = \(bind: subject) ORDER BY seq DESC LIMIT \(bind: limit)").all()
        } else {
            rows = try await db.raw("SELECT * FROM audit_log ORDER BY seq DESC LIMIT \(bind: limit)").all()
        }
        return try rows.map {
            AuditEntry(seq: try $0.int("seq"), at: try $0.date("at"), actor: try $0.string("actor"), action: try $0.string("action"),
                       subject: try $0.string("subject"), purpose: try $0.optionalString("purpose"), hash: try $0.string("hash"))
        }
    }

    /// Entries after `seq`, in order, as the chain sees them (a page of a walk over the whole log).
    public func links(after seq: Int64, limit: Int) async throws -> [AuditChain.Link] {
        try await db.raw("SELECT * FROM audit_log WHERE seq > \(bind: seq) ORDER BY seq LIMIT \(bind: limit)").all().map { r in
            AuditChain.Link(seq: try r.int("seq"), atMillis: try r.int("at"), actor: try r.string("actor"), action: try r.string("action"),
                            subject: try r.string("subject"), purpose: try r.optionalString("purpose"), prevHash: try r.string("prev_hash"),
                            hash: try r.string("hash"))
        }
    }

    /// The chain head: the last entry's number and hash.
    public func head() async throws -> (seq: Int64, hash: String) {
        guard let r = try await db.raw("SELECT seq, hash FROM audit_head WHERE id = 1").first() else { throw AuditChainError.missingHead }
        return (try r.int("seq"), try r.string("hash"))
    }

    /// Entries matching every given filter, newest first.
    public func search(from: Date?, to: Date?, actor: String?, subject: String?, before: Int64?, limit: Int) async throws -> [AuditEntry] {
        var sql = SQLQueryString("SELECT * FROM audit_log WHERE seq < \(bind: before ?? Int64.max)")
        if let from { sql.appendInterpolation(unsafeRaw: " AND at >= "); sql.appendInterpolation(bind: from.millis) }
        if let to { sql.appendInterpolation(unsafeRaw: " AND at < "); sql.appendInterpolation(bind: to.millis) }
        if let actor { sql.appendInterpolation(unsafeRaw: " AND actor = "); sql.appendInterpolation(bind: actor) }
        if let subject { sql.appendInterpolation(unsafeRaw: " AND subject = "); sql.appendInterpolation(bind: subject) }
        sql.appendInterpolation(unsafeRaw: " ORDER BY seq DESC LIMIT ")
        sql.appendInterpolation(bind: limit)
        return try await db.raw(sql).all().map {
            AuditEntry(seq: try $0.int("seq"), at: try $0.date("at"), actor: try $0.string("actor"), action: try $0.string("action"),
                       subject: try $0.string("subject"), purpose: try $0.optionalString("purpose"), hash: try $0.string("hash"))
        }
    }

    public func checkpoints() async throws -> [AuditChain.Checkpoint] {
        try await db.raw("SELECT * FROM audit_checkpoints ORDER BY seq").all().map {
            AuditChain.Checkpoint(seq: try $0.int("seq"), hash: try $0.string("hash"), atMillis: try $0.int("at"), keyID: try $0.string("key_id"),
                                  signature: try $0.string("signature"))
        }
    }

    public func lastCheckpoint() async throws -> Int64 {
        try await db.raw("SELECT MAX(seq) AS m FROM audit_checkpoints").first().flatMap { try $0.optionalInt("m") } ?? 0
    }

    public func insert(_ c: AuditChain.Checkpoint) async throws {
        try await db.raw("""
            INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature)
            VALUES (\(bind: c.seq), \(bind: c.hash), \(bind: c.atMillis), \(bind: c.keyID), \(bind: c.signature))
            ON CONFLICT (seq) DO NOTHING
            """).run()
    }

    /// Recomputes the whole chain; returns the first sequence number that does not match, or nil.
    public func verifyChain() async throws -> Int64? {
        var walk = AuditChain.Walk()
        var after: Int64 = 0
        while true {
            let page = try await links(after: after, limit: 1000)
            if let broken = walk.check(page) { return broken.seq }
            guard let last = page.last else { break }
            after = last.seq
        }
        let head = try await head()
        return walk.finish(headSeq: head.seq, headHash: head.hash)?.seq
    }

    static func hash(prev: String, seq: Int64, at: Int64, actor: String, action: String, subject: String, purpose: String?) -> String {
        AuditChain.hash(prev: prev, seq: seq, atMillis: at, actor: actor, action: action, subject: subject, purpose: purpose)
    }

    public enum AuditChainError: Error { case missingHead }
}
