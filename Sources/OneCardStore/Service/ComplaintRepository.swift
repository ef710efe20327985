import Foundation
import OneCardCore
import SQLKit

/// Complaints, consultations and suggestions with their event history, and the holiday calendar years an
/// administrator loaded after release.
public struct ComplaintRepository: Sendable {
    let db: any SQLDatabase

    public func insert(_ c: Complaint, at: Date) async throws {
        try await db.raw("""
            INSERT INTO complaints (id, kind, topic, channel, summary, region_code, venue_id, use_id, person_id, lodged_by, received_at,
                                    due_at, due_provisional, status, assignee, reopenings, answer, answered_at, satisfied, closed_at, created_at,
                                    forwarded_to, origin_region, origin_complaint_id)
            VALUES (\(bind: c.id), \(bind: c.kind.rawValue), \(bind: c.topic.rawValue), \(bind: c.channel.rawValue), \(bind: c.summary),
                    \(bind: c.regionCode), \(bind: c.venueId?.rawValue), \(bind: c.useId), \(bind: c.personId?.rawValue), \(bind: c.lodgedBy),
                    \(bind: c.receivedAt.millis), \(bind: c.dueAt.millis), \(bind: c.dueProvisional.int), \(bind: c.progress.status.rawValue),
                    \(bind: c.progress.assignee), \(bind: Int64(c.progress.reopenings)), \(bind: c.answer), \(bind: c.answeredAt?.millis),
                    \(bind: c.satisfied?.int), \(bind: c.closedAt?.millis), \(bind: at.millis),
                    \(bind: c.forwardedTo), \(bind: c.originRegion), \(bind: c.originComplaintId))
            """).run()
    }

    /// Writes the mutable part of a complaint (its progress, answer, rating and deadline).
    public func update(_ c: Complaint) async throws {
        try await db.raw("""
            UPDATE complaints SET status = \(bind: c.progress.status.rawValue), assignee = \(bind: c.progress.assignee),
                reopenings = \(bind: Int64(c.progress.reopenings)), answer = \(bind: c.answer), answered_at = \(bind: c.answeredAt?.millis),
                satisfied = \(bind: c.satisfied?.int), closed_at = \(bind: c.closedAt?.millis), due_at = \(bind: c.dueAt.millis),
                due_provisional = \(bind: c.dueProvisional.int), forwarded_to = \(bind: c.forwardedTo)
            WHERE id = \(bind: c.id)
            """).run()
    }

    public func find(_ id: Complaint.ID) async throws -> Complaint? {
        try await db.raw("SELECT * FROM complaints WHERE id = \(bind: id)").first().map(Self.decode)
    }

    /// A complaint read to change it: on PostgreSQL the row is locked until the transaction ends, so two steps on
    /// one complaint are taken one after the other (SQLite has one writer anyway).
    public func findForUpdate(_ id: Complaint.ID, dialect: Dialect) async throws -> Complaint? {
        let lock = dialect == .postgres ? " FOR UPDATE" : ""
        return try await db.raw("SELECT * FROM complaints WHERE id = \(bind: id)\(unsafeRaw: lock)").first().map(Self.decode)
    }

    /// The complaint this province made of one forwarded to it from `region` (locked on PostgreSQL, to change it).
    public func findByOrigin(region: String, complaintId: Complaint.ID, dialect: Dialect) async throws -> Complaint? {
        let lock = dialect == .postgres ? " FOR UPDATE" : ""
        return try await db.raw("""
            SELECT * FROM complaints WHERE origin_region = \(bind: region) AND origin_complaint_id = \(bind: complaintId)\(unsafeRaw: lock)
            """).first().map(Self.decode)
    }

    /// Complaints, newest first: a person's own, or every one, filtered by status, assignee and an overdue moment.
    public func list(personId: Person.ID? = nil, status: ComplaintStatus? = nil, assignee: String? = nil, overdueAt: Date? = nil,
                     limit: Int = 500) async throws -> [Complaint] {
        var sql = SQLQueryString("SELECT * FROM complaints WHERE 1 = 1")
        if let personId { sql.appendInterpolation(unsafeRaw: " AND person_id = "); sql.appendInterpolation(bind: personId.rawValue) }
        if let status { sql.appendInterpolation(unsafeRaw: " AND status = "); sql.appendInterpolation(bind: status.rawValue) }
        if let assignee { sql.appendInterpolation(unsafeRaw: " AND assignee = "); sql.appendInterpolation(bind: assignee) }
        if let overdueAt {
            // ComplaintClock.isOverdue: not answered by the deadline, or answered at or after it.
            sql.appendInterpolation(unsafeRaw: " AND ((answered_at IS NULL AND due_at <= ")
            sql.appendInterpolation(bind: overdueAt.millis)
            sql.appendInterpolation(unsafeRaw: ") OR answered_at >= due_at)")
        }
        sql.appendInterpolation(unsafeRaw: " ORDER BY received_at DESC, id LIMIT ")
        sql.appendInterpolation(bind: limit)
        return try await db.raw(sql).all().map(Self.decode)
    }

    /// Complaints whose deadline was counted over a year the calendar lacked, still to be answered.
    public func provisional() async throws -> [Complaint] {
        try await db.raw("SELECT * FROM complaints WHERE due_provisional = 1").all().map(Self.decode)
    }

    public func appendEvents(_ id: Complaint.ID, _ events: [ComplaintEvent]) async throws {
        let next = try await db.raw("SELECT COALESCE(MAX(seq), 0) AS m FROM complaint_events WHERE complaint_id = \(bind: id)").first()
            .map { try $0.int("m") } ?? 0
        for (i, e) in events.enumerated() {
            try await db.raw("""
                INSERT INTO complaint_events (complaint_id, seq, at, type, actor, note)
                VALUES (\(bind: id), \(bind: next + Int64(i) + 1), \(bind: e.at.millis), \(bind: e.type.rawValue), \(bind: e.actor), \(bind: e.note))
                """).run()
        }
    }

    public func events(_ id: Complaint.ID) async throws -> [ComplaintEvent] {
        try await db.raw("SELECT * FROM complaint_events WHERE complaint_id = \(bind: id) ORDER BY seq").all().map {
            ComplaintEvent(at: try $0.date("at"), type: ComplaintEventType(rawValue: try $0.string("type")) ?? .lodged,
                           actor: try $0.string("actor"), note: try $0.optionalString("note"))
        }
    }

    static func decode(_ r: any SQLRow) throws -> Complaint {
        Complaint(id: try r.string("id"), kind: ComplaintKind(rawValue: try r.string("kind")) ?? .complaint,
                  topic: ComplaintTopic(rawValue: try r.string("topic")) ?? .other, channel: ComplaintChannel(rawValue: try r.string("channel")) ?? .online,
                  summary: try r.string("summary"), regionCode: try r.optionalString("region_code"), venueId: try r.optionalId("venue_id"),
                  useId: try r.optionalString("use_id"), personId: try r.optionalId("person_id"), lodgedBy: try r.string("lodged_by"),
                  receivedAt: try r.date("received_at"), dueAt: try r.date("due_at"), dueProvisional: try r.bool("due_provisional"),
                  progress: ComplaintProgress(status: ComplaintStatus(rawValue: try r.string("status")) ?? .open, assignee: try r.optionalString("assignee"),
                                              reopenings: Int(try r.int("reopenings"))),
                  answer: try r.optionalString("answer"), answeredAt: try r.optionalDate("answered_at"),
                  satisfied: try r.optionalInt("satisfied").map { $0 != 0 }, closedAt: try r.optionalDate("closed_at"),
                  forwardedTo: try r.optionalString("forwarded_to"), originRegion: try r.optionalString("origin_region"),
                  originComplaintId: try r.optionalString("origin_complaint_id"))
    }

    /// The person and venue of a recorded use (a complaint tied to a use on "who checked my card").
    /// `terminalId` and `reportedId` tell a use another province reported (terminal `federation:<region>`, and the
    /// use's id at that province).
    public func use(_ useId: String) async throws -> (personId: Person.ID?, venueId: Venue.ID, terminalId: String, reportedId: String)? {
        try await db.raw("SELECT person_id, venue_id, terminal_id, idempotency_key FROM uses WHERE id = \(bind: useId)").first().map {
            (try $0.optionalId("person_id"), try $0.id("venue_id"), try $0.string("terminal_id"), try $0.string("idempotency_key"))
        }
    }

    // MARK: holiday calendar years loaded after release

    /// Stores (or replaces) a year's notice as JSON.
    public func saveCalendarYear(_ year: Int, json: String, at: Date, by: String) async throws {
        try await db.raw("DELETE FROM holiday_calendar_years WHERE year = \(bind: Int64(year))").run()
        try await db.raw("""
            INSERT INTO holiday_calendar_years (year, body, loaded_at, loaded_by) VALUES (\(bind: Int64(year)), \(bind: json), \(bind: at.millis), \(bind: by))
            """).run()
    }

    /// Every loaded year's JSON with when and by whom it was loaded.
    public func calendarYears() async throws -> [(year: Int, json: String, loadedAt: Date, loadedBy: String)] {
        try await db.raw("SELECT * FROM holiday_calendar_years ORDER BY year").all().map {
            (Int(try $0.int("year")), try $0.string("body"), try $0.date("loaded_at"), try $0.string("loaded_by"))
        }
    }
}
