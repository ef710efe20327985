import Foundation
import OneCardCore
import SQLKit

/// Holders' correction and deletion requests; the requested value and the holder's words sealed (they are personal data).
public struct DataRequestRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    public func insert(_ r: DataRequest) async throws {
        try await db.raw("""
            INSERT INTO data_requests (id, person_id, kind, field, value_enc, reason_enc, received_at, due_at, due_provisional, status,
                                       decided_at, decided_by, note)
            VALUES (\(bind: r.id), \(bind: r.personId), \(bind: r.kind.rawValue), \(bind: r.field.rawValue),
                    \(bind: r.value.map { cipher.seal($0, field: "data_request_value") }), \(bind: cipher.seal(r.reason, field: "data_request_reason")),
                    \(bind: r.receivedAt.millis), \(bind: r.dueAt.millis), \(bind: r.dueProvisional ? 1 : 0), \(bind: r.status.rawValue),
                    \(bind: r.decidedAt?.millis), \(bind: r.decidedBy), \(bind: r.note))
            """).run()
    }

    /// Records a decision, only on a request still open (false otherwise: someone decided it first).
    public func decide(_ r: DataRequest) async throws -> Bool {
        try await db.raw("""
            UPDATE data_requests SET status = \(bind: r.status.rawValue), decided_at = \(bind: r.decidedAt?.millis), decided_by = \(bind: r.decidedBy),
                note = \(bind: r.note)
            WHERE id = \(bind: r.id) AND status = 'open' RETURNING id
            """).all().isEmpty == false
    }

    public func find(_ id: DataRequest.ID) async throws -> DataRequest? {
        try await db.raw("SELECT * FROM data_requests WHERE id = \(bind: id)").first().map(decode)
    }

    /// A holder's requests, newest first.
    public func list(personId: Person.ID) async throws -> [DataRequest] {
        try await db.raw("SELECT * FROM data_requests WHERE person_id = \(bind: personId) ORDER BY received_at DESC, id").all().map(decode)
    }

    /// Requests by status (all when nil), the earliest deadline first; `overdueAt`: only those open past their deadline then.
    public func list(status: DataRequest.Status?, overdueAt: Date?, limit: Int = 500) async throws -> [DataRequest] {
        var q = SQLQueryString("SELECT * FROM data_requests WHERE 1 = 1")
        if let status { q += " AND status = \(bind: status.rawValue)" }
        if let overdueAt { q += " AND status = 'open' AND due_at < \(bind: overdueAt.millis)" }
        q += " ORDER BY due_at, id LIMIT \(bind: limit)"
        return try await db.raw(q).all().map(decode)
    }

    func decode(_ r: any SQLRow) throws -> DataRequest {
        DataRequest(id: try r.string("id"), personId: try r.id("person_id"),
                    kind: DataRequest.Kind(rawValue: try r.string("kind")) ?? .correction,
                    field: DataRequest.Field(rawValue: try r.string("field")) ?? .other,
                    value: try r.optionalString("value_enc").map { try cipher.open($0, field: "data_request_value") },
                    reason: try cipher.open(try r.string("reason_enc"), field: "data_request_reason"),
                    receivedAt: try r.date("received_at"), dueAt: try r.date("due_at"), dueProvisional: try r.bool("due_provisional"),
                    status: DataRequest.Status(rawValue: try r.string("status")) ?? .open, decidedAt: try r.optionalDate("decided_at"),
                    decidedBy: try r.optionalString("decided_by"), note: try r.optionalString("note"))
    }
}

/// The retention job's work: each record type's expired rows deleted or anonymised by one statement per table, and the
/// job's own bookkeeping.
public struct RetentionRepository: Sendable {
    let db: any SQLDatabase

    /// Deletes or anonymises what of `record` expired before `cutoff`; the number of rows changed.
    public func apply(_ record: RetentionRule.Record, before cutoff: Date) async throws -> Int {
        let c = cutoff.millis
        func count(_ q: SQLQueryString) async throws -> Int { try await db.raw(q).all().count }
        switch record {
        case .uses:
            // Counts and the venue stay (statistics); who, which card, what was disclosed and the answer go.
            return try await count("""
                UPDATE uses SET card_number = NULL, person_id = NULL, disclosed = NULL, response = '{}'
                WHERE at < \(bind: c) AND (card_number IS NOT NULL OR person_id IS NOT NULL) RETURNING id
                """)
        case .closedComplaints:
            try await db.raw("""
                UPDATE complaint_events SET note = NULL WHERE note IS NOT NULL AND complaint_id IN
                    (SELECT id FROM complaints WHERE status = 'closed' AND closed_at < \(bind: c) AND person_id IS NOT NULL)
                """).run()
            return try await count("""
                UPDATE complaints SET summary = '', answer = NULL, person_id = NULL
                WHERE status = 'closed' AND closed_at < \(bind: c) AND (person_id IS NOT NULL OR summary <> '') RETURNING id
                """)
        case .withdrawnConsents:
            return try await count("DELETE FROM consents WHERE withdrawn_at IS NOT NULL AND withdrawn_at < \(bind: c) RETURNING id")
        case .decidedDataRequests:
            return try await count("DELETE FROM data_requests WHERE status <> 'open' AND decided_at < \(bind: c) RETURNING id")
        case .resolvedRiskAlerts:
            return try await count("DELETE FROM risk_alerts WHERE status = 'resolved' AND resolved_at < \(bind: c) RETURNING id")
        case .federationEvidence:
            let messages = try await count("DELETE FROM federation_messages WHERE at < \(bind: c) RETURNING seq")
            let outbox = try await count("DELETE FROM federation_outbox WHERE delivered_at IS NOT NULL AND delivered_at < \(bind: c) RETURNING id")
            let inbox = try await count("DELETE FROM federation_inbox WHERE received_at < \(bind: c) RETURNING id")
            return messages + outbox + inbox
        case .endedLabourContracts:
            // Only contracts with an end: an open-ended contract has not ended, and is never taken by this rule.
            let ended = "SELECT id FROM hr_records WHERE type = 'labour_contract' AND ends_at IS NOT NULL AND ends_at < \(c)"
            try await db.raw("DELETE FROM record_share_reads WHERE share_id IN (SELECT id FROM record_shares WHERE record_id IN (\(unsafeRaw: ended)))").run()
            try await db.raw("DELETE FROM record_shares WHERE record_id IN (\(unsafeRaw: ended))").run()
            return try await count("DELETE FROM hr_records WHERE type = 'labour_contract' AND ends_at IS NOT NULL AND ends_at < \(bind: c) RETURNING id")
        }
    }

    public struct Run: Sendable, Equatable {
        public var record: RetentionRule.Record
        public var lastRunAt: Date
        public var cutoff: Date
        public var affected: Int
        public var totalAffected: Int
    }

    public func recordRun(_ record: RetentionRule.Record, at: Date, cutoff: Date, affected: Int) async throws {
        try await db.raw("""
            INSERT INTO retention_runs (record, last_run_at, cutoff, affected, total_affected)
            VALUES (\(bind: record.rawValue), \(bind: at.millis), \(bind: cutoff.millis), \(bind: affected), \(bind: affected))
            ON CONFLICT (record) DO UPDATE SET last_run_at = excluded.last_run_at, cutoff = excluded.cutoff, affected = excluded.affected,
                total_affected = retention_runs.total_affected + excluded.affected
            """).run()
    }

    public func runs() async throws -> [Run] {
        try await db.raw("SELECT * FROM retention_runs ORDER BY record").all().compactMap { r in
            guard let record = RetentionRule.Record(rawValue: try r.string("record")) else { return nil }
            return Run(record: record, lastRunAt: try r.date("last_run_at"), cutoff: try r.date("cutoff"), affected: Int(try r.int("affected")),
                       totalAffected: Int(try r.int("total_affected")))
        }
    }
}
