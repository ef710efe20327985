import Foundation
import OneCardCore
import SQLKit

/// Enforcement cases, their fines and the payments on them; decided fines are the integrity records the credit feed
/// publishes (one record per decided case, no second bookkeeping).
public struct CaseRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect

    public func insert(_ c: EnforcementCase) async throws {
        let (kind, personId, uscc, name): (String, String?, String?, String?) = switch c.party {
        case .person(let id): ("person", id.rawValue, nil, nil)
        case .organisation(let uscc, let name): ("organisation", nil, uscc, name)
        }
        try await db.raw("""
            INSERT INTO enforcement_cases (id, type, party_kind, person_id, uscc, party_name, summary, evidence, status, opened_at, opened_by)
            VALUES (\(bind: c.id), \(bind: c.type.rawValue), \(bind: kind), \(bind: personId), \(bind: uscc), \(bind: name), \(bind: c.summary),
                    \(bind: JSONColumn.encode(c.evidence)), \(bind: c.status.rawValue), \(bind: c.openedAt.millis), \(bind: c.openedBy))
            """).run()
    }

    public func update(_ c: EnforcementCase) async throws {
        try await db.raw("""
            UPDATE enforcement_cases SET status = \(bind: c.status.rawValue), ordered_at = \(bind: c.orderedAt?.millis),
                order_due_at = \(bind: c.orderDueAt?.millis), serious = \(bind: c.serious?.int), fine_fen = \(bind: c.fineFen),
                decided_at = \(bind: c.decidedAt?.millis), payment_due_at = \(bind: c.paymentDueAt?.millis),
                credit_class = \(bind: c.creditClass?.rawValue), repaired_on = \(bind: c.repairedOn?.description)
            WHERE id = \(bind: c.id)
            """).run()
    }

    public func find(_ id: EnforcementCase.ID, forUpdate: Bool = false) async throws -> EnforcementCase? {
        let lock = forUpdate && dialect == .postgres ? " FOR UPDATE" : ""
        return try await db.raw("SELECT * FROM enforcement_cases WHERE id = \(bind: id)\(unsafeRaw: lock)").first().map(Self.decode)
    }

    public func list(limit: Int = 500) async throws -> [EnforcementCase] {
        try await db.raw("SELECT * FROM enforcement_cases ORDER BY opened_at DESC, id LIMIT \(bind: limit)").all().map(Self.decode)
    }

    /// Decided cases with a fine: the integrity records (published, or removed once their period ended or they were repaired).
    public func fined() async throws -> [EnforcementCase] {
        try await db.raw("SELECT * FROM enforcement_cases WHERE status = 'decided' AND fine_fen IS NOT NULL ORDER BY decided_at, id").all().map(Self.decode)
    }

    /// A person's decided fines: their own integrity records.
    public func fined(personId: Person.ID) async throws -> [EnforcementCase] {
        try await db.raw("""
            SELECT * FROM enforcement_cases WHERE person_id = \(bind: personId.rawValue) AND status = 'decided' AND fine_fen IS NOT NULL ORDER BY decided_at DESC, id
            """).all().map(Self.decode)
    }

    public func insertPayment(caseId: EnforcementCase.ID, _ p: CasePayment, at: Date, by: String) async throws {
        try await db.raw("""
            INSERT INTO case_payments (id, case_id, amount_fen, paid_at, recorded_at, recorded_by)
            VALUES (\(bind: p.id), \(bind: caseId), \(bind: p.amountFen), \(bind: p.paidAt.millis), \(bind: at.millis), \(bind: by))
            """).run()
    }

    public func payments(caseId: EnforcementCase.ID) async throws -> [CasePayment] {
        try await db.raw("SELECT * FROM case_payments WHERE case_id = \(bind: caseId) ORDER BY paid_at, id").all().map {
            CasePayment(id: try $0.string("id"), amountFen: try $0.int("amount_fen"), paidAt: try $0.date("paid_at"))
        }
    }

    static func decode(_ r: any SQLRow) throws -> EnforcementCase {
        let party: EnforcementCase.Party = try r.string("party_kind") == "person"
            ? .person(try r.id("person_id")) : .organisation(uscc: try r.optionalString("uscc") ?? "", name: try r.optionalString("party_name") ?? "")
        return EnforcementCase(id: try r.string("id"), type: CaseType(rawValue: try r.string("type")) ?? .cardLending, party: party,
                               summary: try r.string("summary"), evidence: JSONColumn.decode(try r.string("evidence")),
                               status: CaseStatus(rawValue: try r.string("status")) ?? .open, openedAt: try r.date("opened_at"),
                               openedBy: try r.string("opened_by"), orderedAt: try r.optionalDate("ordered_at"),
                               orderDueAt: try r.optionalDate("order_due_at"), serious: try r.optionalInt("serious").map { $0 != 0 },
                               fineFen: try r.optionalInt("fine_fen"), decidedAt: try r.optionalDate("decided_at"),
                               paymentDueAt: try r.optionalDate("payment_due_at"),
                               creditClass: try r.optionalString("credit_class").flatMap(CreditClass.init(rawValue:)),
                               repairedOn: try r.optionalString("repaired_on").flatMap(CalendarDay.init))
    }
}
