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
        guard let head = try await db.raw("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").first() else {
            throw AuditChainError.missingHead
        }
        let seq = try head.int("seq")
        let prev = try head.string("hash")
        let hash = Self.hash(prev: prev, seq: seq, at: at.millis, actor: actor, action: action, subject: subject, purpose: purpose)
        try await db.raw("UPDATE audit_head SET hash = \(bind: hash) WHERE id = 1").run()
        try await db.raw("""
            INSERT INTO audit_log (seq, at, actor, action, subject, purpose, prev_hash, hash)
            VALUES (\(bind: seq), \(bind: at.millis), \(bind: actor), \(bind: action), \(bind: subject), \(bind: purpose), \(bind: prev), \(bind: hash))
            """).run()
        return AuditEntry(seq: seq, at: at, actor: actor, action: action, subject: subject, purpose: purpose, hash: hash)
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

    /// Recomputes the whole chain; returns the first sequence number that does not match, or nil.
    public func verifyChain() async throws -> Int64? {
        var prev = String(repeating: "0", count: 64)
        for r in try await db.raw("SELECT * FROM audit_log ORDER BY seq").all() {
            let seq = try r.int("seq")
            let expected = Self.hash(prev: prev, seq: seq, at: try r.int("at"), actor: try r.string("actor"), action: try r.string("action"),
                                     subject: try r.string("subject"), purpose: try r.optionalString("purpose"))
            guard try r.string("prev_hash") == prev, try r.string("hash") == expected else { return seq }
            prev = expected
        }
        return nil
    }

    static func hash(prev: String, seq: Int64, at: Int64, actor: String, action: String, subject: String, purpose: String?) -> String {
        let fields = [prev, String(seq), String(at), actor, action, subject, purpose ?? ""]
        let joined = fields.map { "\($0.utf8.count):\($0)" }.joined()
        return Hex.encode(SHA256.hash(data: Data(joined.utf8)))
    }

    public enum AuditChainError: Error { case missingHead }
}
