import Foundation
import Logging
import ServiceLifecycle
import OneCardCore
import OneCardStore

/// Holders' correction and deletion requests (PIPL arts. 46, 47, 50): the holder asks, an agent reads the request
/// (audited: it is personal data) and decides it by the deadline; a granted correction or deletion changes the person
/// record in the same transaction as the decision, and both are audited.
struct DataRequestService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let privacy: PrivacyPolicy
    /// The calendar shipped with this release; years an administrator loaded override it.
    let shippedCalendar: HolidayCalendar

    struct Submission: Sendable { var kind: DataRequest.Kind; var field: DataRequest.Field; var value: String?; var reason: String }

    func submit(_ i: Submission, personId: Person.ID, actor: String) async throws -> DataRequest {
        let sent = i.value?.trimmingCharacters(in: .whitespaces)
        try DataRequest.validate(kind: i.kind, field: i.field, value: sent, reason: i.reason)
        let value = DataRequest.value(sent, for: i.kind, i.field)
        let now = clock.now()
        let id = random.uuid()
        let (shipped, days) = (shippedCalendar, privacy.requestWorkingDays)
        return try await store.write { s in
            let due = try WorkingDays.deadline(days, after: now, calendar: try await ComplaintService.calendar(shipped, in: s))
            let r = DataRequest(id: id, personId: personId, kind: i.kind, field: i.field, value: value, reason: i.reason, receivedAt: now,
                                dueAt: due.dueAt, dueProvisional: due.provisional)
            try await s.dataRequests.insert(r)
            try await s.audit.append(at: now, actor: actor, action: "data_request_submitted", subject: "person:\(personId)",
                                     purpose: "\(i.kind.rawValue) \(i.field.rawValue)")
            return r
        }
    }

    func mine(personId: Person.ID) async throws -> [DataRequest] {
        try await store.read { try await $0.dataRequests.list(personId: personId) }
    }

    /// The queue for agents: without the value and the holder's words (`show` reads those, audited).
    func list(status: DataRequest.Status?, overdue: Bool) async throws -> [DataRequest] {
        let now = clock.now()
        return try await store.read { try await $0.dataRequests.list(status: status, overdueAt: overdue ? now : nil) }
    }

    /// One request in full for the agent deciding it, audited as a read of the holder's personal data.
    func show(_ id: DataRequest.ID, actor: String) async throws -> DataRequest {
        let now = clock.now()
        return try await store.write { s in
            guard let r = try await s.dataRequests.find(id) else { throw DomainError(.dataRequestNotFound, "no request \(id)") }
            try await s.audit.append(at: now, actor: actor, action: "data_request_read", subject: "person:\(r.personId)", purpose: "deciding request \(id)")
            return r
        }
    }

    /// Decides an open request; a granted correction or deletion of a field changes the person record in the same step.
    func decide(_ id: DataRequest.ID, outcome: DataRequest.Status, note: String?, actor: String) async throws -> DataRequest {
        let now = clock.now()
        return try await store.write { s in
            guard var r = try await s.dataRequests.find(id) else { throw DomainError(.dataRequestNotFound, "no request \(id)") }
            try r.decide(outcome, note: note, by: actor, at: now)
            guard try await s.dataRequests.decide(r) else { throw DomainError(.requestDecided, "the request was decided already") }
            if outcome == .done, r.field != .other {
                guard let person = try await s.persons.find(r.personId) else { throw DomainError(.personNotFound, "no person \(r.personId)") }
                try await s.persons.updateContact(r.apply(to: person))
                try await s.audit.append(at: now, actor: actor, action: r.kind == .correction ? "person_corrected" : "person_data_deleted",
                                         subject: "person:\(r.personId)", purpose: "\(r.field.rawValue), request \(id)")
            }
            try await s.audit.append(at: now, actor: actor, action: "data_request_decided", subject: "person:\(r.personId)",
                                     purpose: "\(outcome.rawValue): request \(id)")
            return r
        }
    }
}

/// The retention job (PIPL art. 19: kept no longer than the purpose needs): per record type of the pack's rules, deletes
/// or anonymises what expired, in one transaction per type with an audit entry saying what and how many.
struct RetentionService: Sendable {
    let store: Store
    let clock: Clock
    let privacy: PrivacyPolicy

    struct Outcome: Sendable, Equatable { var record: RetentionRule.Record; var cutoff: Date; var affected: Int }

    func run(actor: String) async throws -> [Outcome] {
        let now = clock.now()
        var out: [Outcome] = []
        for rule in privacy.retention {
            let cutoff = rule.cutoff(at: now)
            let affected = try await store.write { s in
                let n = try await s.retention.apply(rule.record, before: cutoff)
                try await s.retention.recordRun(rule.record, at: now, cutoff: cutoff, affected: n)
                if n > 0 {
                    try await s.audit.append(at: now, actor: actor, action: "retention_applied", subject: "retention:\(rule.record.rawValue)",
                                             purpose: "\(rule.record.action) \(n) before \(Timestamp.format(cutoff))")
                }
                return n
            }
            out.append(Outcome(record: rule.record, cutoff: cutoff, affected: affected))
        }
        return out
    }

    func runs() async throws -> [RetentionRepository.Run] { try await store.read { try await $0.retention.runs() } }
}

/// Runs the retention job once a day beside the server (and once shortly after start).
struct RetentionJob: Service {
    let retention: RetentionService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            try? await Task.sleep(for: .seconds(5))
            while !Task.isCancelled {
                do {
                    let done = try await retention.run(actor: "system:retention")
                    let changed = done.filter { $0.affected > 0 }
                    if !changed.isEmpty { logger.info("retention: \(changed.map { "\($0.record.rawValue) \($0.affected)" }.joined(separator: ", "))") }
                } catch {
                    logger.error("retention: \(error)")
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
