import Foundation
import OneCardCore
import SQLKit

/// A raised alert as kept: the finding, who looks at it, what was done, how it ended.
public struct RiskAlert: Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case open, resolved }

    public var id: String
    public var rule: RiskRule
    public var severity: RiskSeverity
    public var status: Status
    public var subject: String
    /// When what it is about happened.
    public var at: Date
    /// When the node raised it.
    public var raisedAt: Date
    public var summary: String
    public var useIds: [String]
    public var paymentIds: [String]
    public var assignee: String?
    /// What was done about it, oldest first: `held payment …`, `released payment …`, `online checks for the card`, ….
    public var actions: [String]
    public var resolution: String?
    public var resolvedBy: String?
    public var resolvedAt: Date?
}

/// Risk alerts, the monitor's cursor, payment holds, per-card online checks and node settings (incident mode).
public struct RiskRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect

    /// Keeps a finding unless one with its key exists; the new alert's id, or nil when it was known.
    @discardableResult
    public func raise(_ f: RiskFinding, id: String, at now: Date) async throws -> String? {
        let rows = try await db.raw("""
            INSERT INTO risk_alerts (id, dedupe_key, rule, severity, status, subject, at, raised_at, summary, use_ids, payment_ids, actions)
            VALUES (\(bind: id), \(bind: f.key), \(bind: f.rule.rawValue), \(bind: f.severity.rawValue), 'open', \(bind: f.subject),
                    \(bind: f.at.millis), \(bind: now.millis), \(bind: f.summary), \(bind: JSONColumn.encode(f.useIds)),
                    \(bind: JSONColumn.encode(f.paymentIds)), '[]')
            ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
            """).all()
        return try rows.first.map { try $0.string("id") }
    }

    public func alert(_ id: String, lock: Bool = false) async throws -> RiskAlert? {
        let suffix = lock ? dialect.forUpdate : ""
        return try await db.raw("SELECT * FROM risk_alerts WHERE id = \(bind: id)\(unsafeRaw: suffix)").first().map(Self.decode)
    }

    /// Alerts newest first, optionally only those with a status or rule.
    public func list(status: RiskAlert.Status?, rule: RiskRule?, limit: Int) async throws -> [RiskAlert] {
        var sql = SQLQueryString("SELECT * FROM risk_alerts WHERE 1 = 1")
        if let status { sql.appendInterpolation(unsafeRaw: " AND status = "); sql.appendInterpolation(bind: status.rawValue) }
        if let rule { sql.appendInterpolation(unsafeRaw: " AND rule = "); sql.appendInterpolation(bind: rule.rawValue) }
        sql.appendInterpolation(unsafeRaw: " ORDER BY raised_at DESC, id LIMIT ")
        sql.appendInterpolation(bind: Int64(limit))
        return try await db.raw(sql).all().map(Self.decode)
    }

    public func count(status: RiskAlert.Status) async throws -> Int {
        Int(try await db.raw("SELECT COUNT(*) AS n FROM risk_alerts WHERE status = \(bind: status.rawValue)").first()?.int("n") ?? 0)
    }

    public func update(_ a: RiskAlert) async throws {
        try await db.raw("""
            UPDATE risk_alerts SET status = \(bind: a.status.rawValue), assignee = \(bind: a.assignee), actions = \(bind: JSONColumn.encode(a.actions)),
                resolution = \(bind: a.resolution), resolved_by = \(bind: a.resolvedBy), resolved_at = \(bind: a.resolvedAt?.millis)
            WHERE id = \(bind: a.id)
            """).run()
    }

    static func decode(_ r: any SQLRow) throws -> RiskAlert {
        RiskAlert(id: try r.string("id"), rule: RiskRule(rawValue: try r.string("rule")) ?? .revokedCardUsed,
                  severity: RiskSeverity(rawValue: try r.string("severity")) ?? .medium,
                  status: RiskAlert.Status(rawValue: try r.string("status")) ?? .open, subject: try r.string("subject"),
                  at: try r.date("at"), raisedAt: try r.date("raised_at"), summary: try r.string("summary"),
                  useIds: JSONColumn.decode(try r.string("use_ids")), paymentIds: JSONColumn.decode(try r.string("payment_ids")),
                  assignee: try r.optionalString("assignee"), actions: JSONColumn.decode(try r.string("actions")),
                  resolution: try r.optionalString("resolution"), resolvedBy: try r.optionalString("resolved_by"),
                  resolvedAt: try r.optionalDate("resolved_at"))
    }

    // MARK: The monitor's reading of uses

    /// A use with its venue's region, as the rules read it.
    static func riskUse(_ r: any SQLRow) throws -> RiskUse {
        RiskUse(id: try r.string("id"), cardNumber: try r.optionalCardNumber("card_number"), terminalId: try r.string("terminal_id"),
                venueId: try r.string("venue_id"), venueRegion: try r.optionalString("region_code") ?? "",
                at: try r.date("at"), accepted: try r.string("decision") == UseDecision.accepted.rawValue, reason: try r.optionalString("reason"))
    }

    /// Uses recorded in `(after, through]`, in recording order, at most `limit` (identity checks are not uses of a card
    /// at a venue item and are left out).
    public func usesRecorded(after: Date, through: Date, limit: Int) async throws -> [(use: RiskUse, recordedAt: Date)] {
        try await db.raw("""
            SELECT u.id, u.card_number, u.terminal_id, u.venue_id, u.decision, u.reason, u.at, u.recorded_at, v.region_code
            FROM uses u LEFT JOIN venues v ON v.id = u.venue_id
            WHERE u.recorded_at > \(bind: after.millis) AND u.recorded_at <= \(bind: through.millis) AND u.kind <> 'identity_check'
            ORDER BY u.recorded_at, u.id LIMIT \(bind: Int64(limit))
            """).all().map { (try Self.riskUse($0), try $0.date("recorded_at")) }
    }

    /// One card's uses between two times (both included).
    public func uses(card: CardNumber, from: Date, through: Date) async throws -> [RiskUse] {
        try await db.raw("""
            SELECT u.id, u.card_number, u.terminal_id, u.venue_id, u.decision, u.reason, u.at, v.region_code
            FROM uses u LEFT JOIN venues v ON v.id = u.venue_id
            WHERE u.card_number = \(bind: card) AND u.at >= \(bind: from.millis) AND u.at <= \(bind: through.millis) AND u.kind <> 'identity_check'
            ORDER BY u.at, u.id
            """).all().map(Self.riskUse)
    }

    /// One terminal's refusals between two times (both included).
    public func refusals(terminal: String, from: Date, through: Date) async throws -> [RiskUse] {
        try await db.raw("""
            SELECT u.id, u.card_number, u.terminal_id, u.venue_id, u.decision, u.reason, u.at, v.region_code
            FROM uses u LEFT JOIN venues v ON v.id = u.venue_id
            WHERE u.terminal_id = \(bind: terminal) AND u.decision = 'denied' AND u.at >= \(bind: from.millis) AND u.at <= \(bind: through.millis)
            ORDER BY u.at, u.id
            """).all().map(Self.riskUse)
    }

    /// When each card became revoked (lost, cancelled, replaced), for those that are; cards in use are absent.
    public func revokedSince(_ cards: [CardNumber]) async throws -> [CardNumber: Date] {
        guard !cards.isEmpty else { return [:] }
        var out: [CardNumber: Date] = [:]
        for r in try await db.raw("""
            SELECT c.card_number, c.status, c.lost_at,
                (SELECT MAX(e.at) FROM card_events e WHERE e.card_number = c.card_number
                    AND e.type IN ('card_cancelled', 'card_replaced', 'loss_reported_formal', 'loss_reported_temporary')) AS changed_at
            FROM cards c WHERE c.card_number \(dialect.oneOf(cards.map(\.rawValue)))
            """).all() {
            guard let status = CardStatus(rawValue: try r.string("status")), RevocationStatus(status)?.revokes == true,
                  let number = try r.optionalCardNumber("card_number") else { continue }
            if let at = try r.optionalDate("lost_at") ?? r.optionalDate("changed_at") { out[number] = at }
        }
        return out
    }

    /// The card a use was of, if any.
    public func cardOfUse(_ id: String) async throws -> CardNumber? {
        try await db.raw("SELECT card_number FROM uses WHERE id = \(bind: id)").first().flatMap { try $0.optionalCardNumber("card_number") }
    }

    // MARK: Cursor

    public func cursor(_ name: String) async throws -> Int64? {
        try await db.raw("SELECT value FROM risk_state WHERE name = \(bind: name)").first().map { try $0.int("value") }
    }

    public func setCursor(_ name: String, _ value: Int64) async throws {
        try await db.raw("INSERT INTO risk_state (name, value) VALUES (\(bind: name), \(bind: value)) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run()
    }

    // MARK: Payments

    /// Holds a pending payment line for an alert; false when it is not pending (already sent, settled) or held.
    public func hold(paymentId: String, alertId: String) async throws -> Bool {
        try await db.raw("""
            UPDATE payments SET risk_hold = \(bind: alertId) WHERE id = \(bind: paymentId) AND state = 'pending' AND risk_hold IS NULL RETURNING id
            """).all().isEmpty == false
    }

    /// Releases a payment line held by this alert; false when it is not held by it.
    public func release(paymentId: String, alertId: String) async throws -> Bool {
        try await db.raw("""
            UPDATE payments SET risk_hold = NULL WHERE id = \(bind: paymentId) AND risk_hold = \(bind: alertId) RETURNING id
            """).all().isEmpty == false
    }

    /// Which of these payment lines are held.
    public func held(_ paymentIds: [String]) async throws -> Set<String> {
        guard !paymentIds.isEmpty else { return [] }
        return Set(try await db.raw("SELECT id FROM payments WHERE id \(dialect.oneOf(paymentIds)) AND risk_hold IS NOT NULL").all().map { try $0.string("id") })
    }

    /// When each of these persons' cards last had its bank account changed.
    public func accountChanges(personIds: [Person.ID]) async throws -> [Person.ID: Date] {
        guard !personIds.isEmpty else { return [:] }
        var out: [Person.ID: Date] = [:]
        for r in try await db.raw("""
            SELECT c.person_id, MAX(e.at) AS at FROM card_events e JOIN cards c ON c.card_number = e.card_number
            WHERE c.person_id \(dialect.oneOf(personIds.map(\.rawValue))) AND e.type = 'bank_account_changed' GROUP BY c.person_id
            """).all() {
            if let at = try r.optionalDate("at") { out[try r.id("person_id")] = at }
        }
        return out
    }

    // MARK: Cards that must be checked online

    public func requireOnline(_ card: CardNumber, alertId: String?, by: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO card_online_only (card_number, alert_id, set_by, set_at) VALUES (\(bind: card), \(bind: alertId), \(bind: by), \(bind: at.millis))
            ON CONFLICT (card_number) DO NOTHING
            """).run()
    }

    public func liftOnline(_ card: CardNumber) async throws -> Bool {
        try await db.raw("DELETE FROM card_online_only WHERE card_number = \(bind: card) RETURNING card_number").all().isEmpty == false
    }

    public func isOnlineOnly(_ card: CardNumber) async throws -> Bool {
        try await db.raw("SELECT 1 AS one FROM card_online_only WHERE card_number = \(bind: card)").first() != nil
    }

    // MARK: Node settings

    public func setting(_ name: String) async throws -> (value: String, by: String, at: Date)? {
        try await db.raw("SELECT * FROM node_settings WHERE name = \(bind: name)").first().map {
            (try $0.string("value"), try $0.string("updated_by"), try $0.date("updated_at"))
        }
    }

    public func setSetting(_ name: String, _ value: String, by: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO node_settings (name, value, updated_by, updated_at) VALUES (\(bind: name), \(bind: value), \(bind: by), \(bind: at.millis))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at
            """).run()
    }
}
