import Foundation
import Logging
import OneCardCore
import SQLKit
import SQLiteKit

/// An offline gate's local record: every decision it made (kept until the node has it) and the trust
/// material it last synced, in its own SQLite file so a restart loses nothing.
public final class TerminalJournal: Sendable {
    private let connection: SQLiteStoreConnection
    private let db: any SQLDatabase

    private init(_ c: SQLiteStoreConnection, logger: Logger) { connection = c; db = SQLiteStoreDatabase(connection: c, logger: logger) }

    public static func open(path: String, logger: Logger) async throws -> TerminalJournal {
        let c = try SQLiteStoreConnection(.file(path))
        let db = SQLiteStoreDatabase(connection: c, logger: logger)
        _ = try await db.raw("PRAGMA journal_mode=WAL").all()
        // A second process on the same file (a mistake) waits this long for the lock, then fails the call.
        try await db.raw("PRAGMA busy_timeout=5000").run()
        // As the node's own store: a commit survives the gate's process crashing (the WAL is written before
        // the decision is shown); only a power cut may lose the last few, and the node's copy is the backstop.
        try await db.raw("PRAGMA synchronous=NORMAL").run()
        try await db.raw("""
            CREATE TABLE IF NOT EXISTS decisions (id TEXT PRIMARY KEY, item_code TEXT NOT NULL, token TEXT NOT NULL, decided_at BIGINT NOT NULL,
                decision TEXT NOT NULL, reason TEXT, uploaded BIGINT NOT NULL DEFAULT 0)
            """).run()
        try await db.raw("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)").run()
        // A transit gate's taps (issue 13); a denied tap stays here only (the rider did not pass), marked as needing no upload.
        try await db.raw("""
            CREATE TABLE IF NOT EXISTS taps (id TEXT PRIMARY KEY, operator_code TEXT NOT NULL, station TEXT NOT NULL, direction TEXT NOT NULL,
                at BIGINT NOT NULL, credential TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT, uploaded BIGINT NOT NULL DEFAULT 0)
            """).run()
        return TerminalJournal(c, logger: logger)
    }

    public func record(_ d: GateDecision) async throws {
        try await db.raw("""
            INSERT INTO decisions (id, item_code, token, decided_at, decision, reason) VALUES (\(bind: d.id), \(bind: d.itemCode), \(bind: d.token),
                \(bind: Timestamp.millis(d.decidedAt)), \(bind: d.decision), \(bind: d.reason))
            """).run()
    }

    /// Tokens this gate accepted since `date`, oldest first: after a restart they are replays.
    public func acceptedTokens(since date: Date) async throws -> [(token: String, at: Date)] {
        try await db.raw("""
            SELECT token, decided_at FROM decisions WHERE decision = 'accepted' AND decided_at >= \(bind: Timestamp.millis(date)) ORDER BY decided_at
            """).all().map { (try $0.string("token"), try $0.date("decided_at")) }
    }

    public func pending(limit: Int) async throws -> [GateDecision] {
        try await db.raw("SELECT * FROM decisions WHERE uploaded = 0 ORDER BY decided_at, id LIMIT \(bind: limit)").all().map { r in
            GateDecision(id: try r.string("id"), itemCode: try r.string("item_code"), token: try r.string("token"),
                     decidedAt: try r.date("decided_at"), decision: try r.string("decision"), reason: try r.optionalString("reason"))
        }
    }

    public func markUploaded(_ ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await db.raw("UPDATE decisions SET uploaded = 1 WHERE id IN (\(SQLList(ids.map { SQLBind($0) })))").run()
    }

    public func count(uploaded: Bool) async throws -> Int {
        Int(try await db.raw("SELECT COUNT(*) AS n FROM decisions WHERE uploaded = \(bind: uploaded.int)").first()?.int("n") ?? 0)
    }

    // MARK: a transit gate's taps

    public func record(_ t: GateTap) async throws {
        try await db.raw("""
            INSERT INTO taps (id, operator_code, station, direction, at, credential, decision, reason, uploaded) VALUES (\(bind: t.id),
                \(bind: t.operatorCode), \(bind: t.station), \(bind: t.direction.rawValue), \(bind: Timestamp.millis(t.at)), \(bind: t.credential),
                \(bind: t.decision), \(bind: t.reason), \(bind: (t.decision != "accepted").int))
            """).run()
    }

    /// Accepted taps the node does not have yet, oldest first.
    public func pendingTaps(limit: Int) async throws -> [GateTap] {
        try await db.raw("SELECT * FROM taps WHERE uploaded = 0 ORDER BY at, id LIMIT \(bind: limit)").all().map { r in
            GateTap(id: try r.string("id"), operatorCode: try r.string("operator_code"), station: try r.string("station"),
                    direction: TapDirection(rawValue: try r.string("direction")) ?? .in, at: try r.date("at"), credential: try r.string("credential"),
                    decision: try r.string("decision"), reason: try r.optionalString("reason"))
        }
    }

    public func markTapsUploaded(_ ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await db.raw("UPDATE taps SET uploaded = 1 WHERE id IN (\(SQLList(ids.map { SQLBind($0) })))").run()
    }

    /// Accepted taps still to upload.
    public func tapsToUpload() async throws -> Int {
        Int(try await db.raw("SELECT COUNT(*) AS n FROM taps WHERE uploaded = 0").first()?.int("n") ?? 0)
    }

    /// QR tokens this gate accepted since `date`: after a restart they are replays.
    public func acceptedTapTokens(since date: Date) async throws -> [(credential: String, at: Date)] {
        try await db.raw("""
            SELECT credential, at FROM taps WHERE decision = 'accepted' AND at >= \(bind: Timestamp.millis(date)) ORDER BY at
            """).all().map { (try $0.string("credential"), try $0.date("at")) }
    }

    public func state(_ key: String) async throws -> String? {
        try await db.raw("SELECT value FROM state WHERE key = \(bind: key)").first()?.string("value")
    }

    public func setState(_ key: String, _ value: String) async throws {
        try await db.raw("INSERT INTO state (key, value) VALUES (\(bind: key), \(bind: value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run()
    }

    public func close() async { connection.close() }
}
