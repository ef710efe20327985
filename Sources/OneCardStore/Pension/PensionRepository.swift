import Foundation
import OneCardCore
import SQLKit

/// Pensioners' qualification checks, their confirmations and reported deaths (migration 042).
public struct PensionRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect

    /// A pensioner's qualification, locked for the change that follows on PostgreSQL.
    public func find(_ personId: Person.ID, lock: Bool = false) async throws -> PensionQualification? {
        try await db.raw("SELECT * FROM pension_qualifications WHERE person_id = \(bind: personId)\(unsafeRaw: lock ? dialect.forUpdate : "")")
            .first().map(Self.decode)
    }

    /// The qualifications of those of `personIds` who have one (one query for a chunk of payment lines), locked in
    /// person order on PostgreSQL: a confirmation committing meanwhile is then either seen here or waits, so a payment is
    /// never held after the confirmation that would have released it.
    public func find(_ personIds: some Collection<Person.ID>, lock: Bool) async throws -> [Person.ID: PensionQualification] {
        guard !personIds.isEmpty else { return [:] }
        var out: [Person.ID: PensionQualification] = [:]
        for r in try await db.raw("""
            SELECT * FROM pension_qualifications WHERE person_id \(dialect.oneOf(personIds.map(\.rawValue))) ORDER BY person_id\(unsafeRaw: lock ? dialect.forUpdate : "")
            """).all() {
            let q = try Self.decode(r)
            out[q.personId] = q
        }
        return out
    }

    /// Writes a qualification with the due day it gives now (the reminder job's index).
    public func save(_ q: PensionQualification, dueOn: CalendarDay, at: Date) async throws {
        try await db.raw("""
            INSERT INTO pension_qualifications (person_id, first_paid_on, last_confirmed_at, last_method, due_on, reminded_for, updated_at)
            VALUES (\(bind: q.personId), \(bind: q.firstPaidOn.description), \(bind: q.lastConfirmedAt?.millis), \(bind: q.lastMethod?.rawValue),
                    \(bind: dueOn.description), \(bind: q.remindedFor?.description), \(bind: at.millis))
            ON CONFLICT (person_id) DO UPDATE SET last_confirmed_at = excluded.last_confirmed_at, last_method = excluded.last_method,
                due_on = excluded.due_on, reminded_for = excluded.reminded_for, updated_at = excluded.updated_at
            """).run()
    }

    /// Pensioners whose due day is on or before `day` and who were not reminded of it, by due day, claimed for this
    /// transaction (rows another process's reminder run holds are skipped, so nobody is reminded twice).
    public func unreminded(dueBy day: CalendarDay, limit: Int) async throws -> [PensionQualification] {
        try await db.raw("""
            SELECT * FROM pension_qualifications
            WHERE due_on <= \(bind: day.description) AND (reminded_for IS NULL OR reminded_for <> due_on)
            ORDER BY due_on, person_id LIMIT \(bind: Int64(limit))\(unsafeRaw: dialect.forUpdateSkipLocked)
            """).all().map(Self.decode)
    }

    public func insertConfirmation(id: String, personId: Person.ID, at: Date, method: PensionConfirmationMethod, actor: String, evidence: String?,
                                   recordedAt: Date) async throws {
        try await db.raw("""
            INSERT INTO pension_confirmations (id, person_id, at, method, actor, evidence, recorded_at)
            VALUES (\(bind: id), \(bind: personId), \(bind: at.millis), \(bind: method.rawValue), \(bind: actor), \(bind: evidence), \(bind: recordedAt.millis))
            """).run()
    }

    /// One recorded confirmation.
    public struct Confirmation: Sendable {
        public let id: String, at: Date, method: String, actor: String, evidence: String?
    }

    /// A person's confirmations, the latest first.
    public func confirmations(_ personId: Person.ID) async throws -> [Confirmation] {
        try await db.raw("SELECT * FROM pension_confirmations WHERE person_id = \(bind: personId) ORDER BY at DESC, id").all().map {
            Confirmation(id: try $0.string("id"), at: try $0.date("at"), method: try $0.string("method"), actor: try $0.string("actor"),
                         evidence: try $0.optionalString("evidence"))
        }
    }

    /// The latest card use of a person after `after` that counts as silent authentication (wave2-facts §6.1: travel and
    /// other recorded activity): an accepted use at a venue, a transit trip, a medical settlement. Its kind and time.
    public func latestActivity(_ personId: Person.ID, after: Date) async throws -> (kind: String, at: Date)? {
        let since = after.millis
        let rows = try await db.raw("""
            SELECT 'use' AS kind, MAX(at) AS at FROM uses WHERE person_id = \(bind: personId) AND decision = 'accepted' AND at > \(bind: since)
            UNION ALL SELECT 'transit', MAX(started_at) FROM transit_trips WHERE person_id = \(bind: personId) AND started_at > \(bind: since)
            UNION ALL SELECT 'medical', MAX(at) FROM medical_settlements WHERE person_id = \(bind: personId) AND at > \(bind: since)
            """).all()
        var best: (String, Int64)?
        for r in rows {
            guard let at = try r.optionalInt("at") else { continue }
            if best == nil || at > best!.1 { best = (try r.string("kind"), at) }
        }
        return best.map { ($0.0, Timestamp.date(millis: $0.1)) }
    }

    // MARK: Deaths

    /// Records a death; false when one is recorded already.
    public func recordDeath(_ personId: Person.ID, diedOn: CalendarDay, by: String, at: Date) async throws -> Bool {
        !(try await db.raw("""
            INSERT INTO deaths (person_id, died_on, reported_by, reported_at) VALUES (\(bind: personId), \(bind: diedOn.description), \(bind: by), \(bind: at.millis))
            ON CONFLICT (person_id) DO NOTHING RETURNING person_id
            """).all().isEmpty)
    }

    /// Those of `personIds` whose death is recorded (one query for a chunk of payment lines).
    public func deaths(_ personIds: some Collection<Person.ID>) async throws -> Set<Person.ID> {
        guard !personIds.isEmpty else { return [] }
        return Set(try await db.raw("SELECT person_id FROM deaths WHERE person_id \(dialect.oneOf(personIds.map(\.rawValue)))").all().map { try $0.id("person_id") })
    }

    /// The recorded day of a person's death.
    public func death(_ personId: Person.ID) async throws -> CalendarDay? {
        try await db.raw("SELECT died_on FROM deaths WHERE person_id = \(bind: personId)").first().flatMap { CalendarDay(try $0.string("died_on")) }
    }

    static func decode(_ r: any SQLRow) throws -> PensionQualification {
        PensionQualification(personId: try r.id("person_id"), firstPaidOn: CalendarDay(try r.string("first_paid_on")) ?? CalendarDay(year: 1970, month: 1, day: 1)!,
                             lastConfirmedAt: try r.optionalDate("last_confirmed_at"),
                             lastMethod: try r.optionalString("last_method").flatMap(PensionConfirmationMethod.init(rawValue:)),
                             remindedFor: try r.optionalString("reminded_for").flatMap(CalendarDay.init))
    }
}
