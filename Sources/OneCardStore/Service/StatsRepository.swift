import Foundation
import OneCardCore
import SQLKit

/// Counts for statistics, read from the records the rest of the system writes (no second bookkeeping): each query
/// groups in the database over an indexed time range, so a province's million uses are not carried into memory.
public struct StatsRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect

    /// Rows of (key, count) for `SELECT key, COUNT(*) … GROUP BY key`.
    func grouped(_ sql: SQLQueryString) async throws -> [(String, Int64)] {
        try await db.raw(sql).all().map { (try $0.optionalString("k") ?? "", try $0.int("n")) }
    }

    /// Cards issued in [from, to) by their status now.
    public func cardsByStatus(from: Date, to: Date) async throws -> [(String, Int64)] {
        try await grouped("SELECT status AS k, COUNT(*) AS n FROM cards WHERE issued_at >= \(bind: from.millis) AND issued_at < \(bind: to.millis) GROUP BY status")
    }

    /// E-cards opened in [from, to) and active now.
    public func activeECards(from: Date, to: Date) async throws -> Int64 {
        try await db.raw("SELECT COUNT(*) AS n FROM ecards WHERE status = 'active' AND issued_at >= \(bind: from.millis) AND issued_at < \(bind: to.millis)")
            .first()!.int("n")
    }

    /// Uses in [from, to) per catalogue item, venue and whether they crossed regions (the caller maps items to domains
    /// and venues to regions). On SQLite the covering index `uses_item` is walked in group order, so nothing is
    /// sorted: one pass over a million index entries instead of a million-row sort (measured: Benchmarks/stats_scale.py).
    public func uses(from: Date, to: Date) async throws -> [(item: String, venue: String, crossRegion: Bool, count: Int64)] {
        let hint = dialect == .sqlite ? " INDEXED BY uses_item" : ""
        return try await db.raw("""
            SELECT item_code, venue_id, cross_region, COUNT(*) AS n FROM uses\(unsafeRaw: hint)
            WHERE at >= \(bind: from.millis) AND at < \(bind: to.millis) GROUP BY item_code, venue_id, cross_region
            """).all().map { (try $0.string("item_code"), try $0.string("venue_id"), try $0.bool("cross_region"), try $0.int("n")) }
    }

    /// Venue id → region code, for the venues named.
    public func venueRegions() async throws -> [String: String] {
        Dictionary(try await db.raw("SELECT id, region_code FROM venues").all().map { (try $0.string("id"), try $0.string("region_code")) }, uniquingKeysWith: { a, _ in a })
    }

    public struct ComplaintFigures: Sendable {
        public var byKind: [(String, Int64)]
        /// Answered by the deadline, and answered late or still unanswered past it (at `now`).
        public var onTime: Int64, late: Int64
        public var rated: Int64, satisfied: Int64
    }

    /// Complaints received in [from, to).
    public func complaints(from: Date, to: Date, now: Date) async throws -> ComplaintFigures {
        let byKind = try await grouped("SELECT kind AS k, COUNT(*) AS n FROM complaints WHERE received_at >= \(bind: from.millis) AND received_at < \(bind: to.millis) GROUP BY kind")
        let r = try await db.raw("""
            SELECT CAST(SUM(CASE WHEN answered_at IS NOT NULL AND answered_at < due_at THEN 1 ELSE 0 END) AS BIGINT) AS on_time,
                   CAST(SUM(CASE WHEN (answered_at IS NOT NULL AND answered_at >= due_at) OR (answered_at IS NULL AND due_at <= \(bind: now.millis)) THEN 1 ELSE 0 END) AS BIGINT) AS late,
                   CAST(SUM(CASE WHEN satisfied IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS rated,
                   CAST(SUM(CASE WHEN satisfied = 1 THEN 1 ELSE 0 END) AS BIGINT) AS satisfied
            FROM complaints WHERE received_at >= \(bind: from.millis) AND received_at < \(bind: to.millis)
            """).first()!
        return ComplaintFigures(byKind: byKind, onTime: try r.optionalInt("on_time") ?? 0, late: try r.optionalInt("late") ?? 0,
                                rated: try r.optionalInt("rated") ?? 0, satisfied: try r.optionalInt("satisfied") ?? 0)
    }

    /// Cases opened in [from, to), and the fines decided in it.
    public func cases(from: Date, to: Date) async throws -> (opened: Int64, fineFen: Int64) {
        let opened = try await db.raw("SELECT COUNT(*) AS n FROM enforcement_cases WHERE opened_at >= \(bind: from.millis) AND opened_at < \(bind: to.millis)").first()!.int("n")
        let fines = try await db.raw("SELECT CAST(SUM(fine_fen) AS BIGINT) AS s FROM enforcement_cases WHERE decided_at >= \(bind: from.millis) AND decided_at < \(bind: to.millis)").first()!
            .optionalInt("s") ?? 0
        return (opened, fines)
    }

    /// Benefit payments paid (settled) in [from, to).
    public func payments(from: Date, to: Date) async throws -> (count: Int64, paidFen: Int64) {
        let r = try await db.raw("""
            SELECT COUNT(*) AS n, CAST(SUM(amount_fen) AS BIGINT) AS s FROM payments WHERE state = 'paid' AND settled_at >= \(bind: from.millis) AND settled_at < \(bind: to.millis)
            """).first()!
        return (try r.int("n"), try r.optionalInt("s") ?? 0)
    }

    /// Per CST day in [from, to): uses, complaints received, payments paid. Each day is one counted index range
    /// (a recursive list of days, the same SQL on both engines), so nothing is sorted however many rows there are.
    public func daily(from: Date, to: Date) async throws -> (uses: [Int: Int64], complaints: [Int: Int64], payments: [Int: Int64]) {
        let first = Int64(ChinaStandardTime.day(of: from).daysSinceEpoch), last = Int64(ChinaStandardTime.day(of: to.addingTimeInterval(-1)).daysSinceEpoch)
        func perDay(_ table: String, _ column: String, _ extra: String = "") async throws -> [Int: Int64] {
            let rows = try await db.raw("""
                WITH RECURSIVE days(d) AS (SELECT CAST(\(bind: first) AS BIGINT) UNION ALL SELECT d + 1 FROM days WHERE d < \(bind: last))
                SELECT d, (SELECT COUNT(*) FROM \(unsafeRaw: table) WHERE \(unsafeRaw: column) >= d * 86400000 - 28800000
                           AND \(unsafeRaw: column) < (d + 1) * 86400000 - 28800000\(unsafeRaw: extra)) AS n FROM days
                """).all()
            return Dictionary(try rows.map { (Int(try $0.int("d")), try $0.int("n")) }, uniquingKeysWith: +)
        }
        return (try await perDay("uses", "at"), try await perDay("complaints", "received_at"), try await perDay("payments", "settled_at", " AND state = 'paid'"))
    }
}
