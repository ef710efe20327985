import Foundation
import OneCardCore
import SQLKit

/// Manual medical claims; the account paid to is sealed like the card's.
public struct MedicalClaimRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect
    let cipher: FieldCipher

    static func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try MedicalRepository.encoder.encode(value), as: UTF8.self) }

    public func insert(_ c: MedicalClaim) async throws {
        try await db.raw("""
            INSERT INTO medical_claims (id, person_id, treatment_region, hospital_level, care, admitted_on, discharged_on, items, received_at,
                                        due_at, due_provisional, lodged_by, status)
            VALUES (\(bind: c.id), \(bind: c.personId), \(bind: c.treatmentRegion), \(bind: c.hospitalLevel.rawValue), \(bind: c.care.rawValue),
                    \(bind: c.admittedOn.description), \(bind: c.dischargedOn.description), \(bind: try Self.json(c.items)), \(bind: c.receivedAt.millis),
                    \(bind: c.dueAt.millis), \(bind: c.dueProvisional ? 1 : 0), \(bind: c.lodgedBy), \(bind: c.status.rawValue))
            """).run()
    }

    /// Writes the decision and the payment's state.
    public func update(_ c: MedicalClaim) async throws {
        try await db.raw("""
            UPDATE medical_claims SET status = \(bind: c.status.rawValue), decided_at = \(bind: c.decidedAt?.millis), decided_by = \(bind: c.decidedBy),
                   split = \(bind: try c.split.map(Self.json)), policy_version = \(bind: c.policyVersion), bank_code = \(bind: c.bankCode),
                   account_enc = \(bind: c.account.map { cipher.seal($0, field: "claim_account") }), paid_at = \(bind: c.paidAt?.millis),
                   reason = \(bind: c.reason)
            WHERE id = \(bind: c.id)
            """).run()
    }

    public func find(_ id: String, lock: Bool = false) async throws -> MedicalClaim? {
        try await db.raw("SELECT * FROM medical_claims WHERE id = \(bind: id)\(unsafeRaw: lock ? dialect.forUpdate : "")")
            .first().map(decode)
    }

    public func list(personId: Person.ID) async throws -> [MedicalClaim] {
        try await db.raw("SELECT * FROM medical_claims WHERE person_id = \(bind: personId) ORDER BY received_at DESC, id").all().map(decode)
    }

    /// Claims waiting for a decision or being paid, the earliest deadline first.
    public func open(limit: Int = 200) async throws -> [MedicalClaim] {
        try await db.raw("""
            SELECT * FROM medical_claims WHERE status IN ('lodged', 'approved') ORDER BY due_at, id LIMIT \(bind: limit)
            """).all().map(decode)
    }

    /// Approved claims whose credit is still to be confirmed by the bank.
    public func approved(limit: Int) async throws -> [MedicalClaim] {
        try await db.raw("SELECT * FROM medical_claims WHERE status = 'approved' ORDER BY decided_at, id LIMIT \(bind: limit)").all().map(decode)
    }

    func decode(_ r: any SQLRow) throws -> MedicalClaim {
        var c = MedicalClaim(
            id: try r.string("id"), personId: try r.id("person_id"), treatmentRegion: try r.string("treatment_region"),
            hospitalLevel: HospitalLevel(rawValue: Int(try r.int("hospital_level"))) ?? .one, care: MedicalCare(rawValue: try r.string("care")) ?? .inpatient,
            admittedOn: CalendarDay(try r.string("admitted_on")) ?? CalendarDay(year: 1970, month: 1, day: 1)!,
            dischargedOn: CalendarDay(try r.string("discharged_on")) ?? CalendarDay(year: 1970, month: 1, day: 1)!,
            items: try JSONDecoder().decode([MedicalBillLine].self, from: Data(try r.string("items").utf8)), receivedAt: try r.date("received_at"),
            dueAt: try r.date("due_at"), dueProvisional: try r.int("due_provisional") != 0, lodgedBy: try r.string("lodged_by"),
            status: MedicalClaim.Status(rawValue: try r.string("status")) ?? .lodged)
        c.decidedAt = try r.optionalDate("decided_at")
        c.decidedBy = try r.optionalString("decided_by")
        c.split = try r.optionalString("split").map { try JSONDecoder().decode(MedicalSplit.self, from: Data($0.utf8)) }
        c.policyVersion = try r.optionalInt("policy_version").map(Int.init)
        c.bankCode = try r.optionalString("bank_code")
        c.account = try r.optionalString("account_enc").map { try cipher.open($0, field: "claim_account") }
        c.paidAt = try r.optionalDate("paid_at")
        c.reason = try r.optionalString("reason")
        return c
    }
}
