import Foundation
import OneCardCore
import SQLKit

/// Billers, the holders' bill payments and the passes they bought (products on the card).
public struct ProductRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    // MARK: billers

    public func insert(_ b: Biller) async throws {
        try await db.raw("""
            INSERT INTO billers (code, name, kind, bank_code, account_number, created_at)
            VALUES (\(bind: b.code), \(bind: b.name), \(bind: b.kind.rawValue), \(bind: b.bankCode), \(bind: b.accountNumber), \(bind: b.createdAt.millis))
            """).run()
    }

    public func biller(_ code: String) async throws -> Biller? {
        try await db.raw("SELECT * FROM billers WHERE code = \(bind: code)").first().map(decodeBiller)
    }

    public func billers() async throws -> [Biller] {
        try await db.raw("SELECT * FROM billers ORDER BY kind, code").all().map(decodeBiller)
    }

    // MARK: bill payments

    public func insert(_ p: BillPayment) async throws {
        try await db.raw("""
            INSERT INTO bill_payments (id, person_id, biller, customer_ref_enc, amount_fen, status, idempotency_key, bank_code, account_enc, created_at, settled_at)
            VALUES (\(bind: p.id), \(bind: p.personId), \(bind: p.biller), \(bind: cipher.seal(p.customerRef, field: "bill_customer_ref")),
                    \(bind: Int64(p.amountFen)), \(bind: p.status.rawValue), \(bind: p.idempotencyKey), \(bind: p.bankCode),
                    \(bind: cipher.seal(p.account, field: "account")), \(bind: p.createdAt.millis), \(bind: p.settledAt?.millis))
            """).run()
    }

    /// The payment a person made under an Idempotency-Key.
    public func bill(personId: Person.ID, idempotencyKey: String) async throws -> BillPayment? {
        try await db.raw("SELECT * FROM bill_payments WHERE person_id = \(bind: personId) AND idempotency_key = \(bind: idempotencyKey)")
            .first().map(decodeBill)
    }

    /// Settles a payment still `paying`; false when it was settled already (by a concurrent retry).
    public func settle(bill id: String, to status: BillPayment.Status, at: Date) async throws -> Bool {
        !(try await db.raw("""
            UPDATE bill_payments SET status = \(bind: status.rawValue), settled_at = \(bind: at.millis) WHERE id = \(bind: id) AND status = 'paying' RETURNING id
            """).all()).isEmpty
    }

    /// Bills still `paying` that were started before `before` (their answer was lost: a crash, a bank that did not answer,
    /// a client that never asked again), oldest first.
    public func billsUnderWay(startedBefore before: Date, limit: Int) async throws -> [BillPayment] {
        try await db.raw("""
            SELECT * FROM bill_payments WHERE status = 'paying' AND created_at < \(bind: before.millis) ORDER BY created_at, id LIMIT \(bind: Int64(limit))
            """).all().map(decodeBill)
    }

    /// A person's bills, the latest first.
    public func bills(personId: Person.ID) async throws -> [BillPayment] {
        try await db.raw("SELECT * FROM bill_payments WHERE person_id = \(bind: personId) ORDER BY created_at DESC, id").all().map(decodeBill)
    }

    // MARK: passes

    public func insert(_ p: Pass, bankCode: String, account: String) async throws {
        try await db.raw("""
            INSERT INTO passes (id, person_id, product, year, valid_from, valid_to, charged_fen, status, bank_code, account_enc, bought_at)
            VALUES (\(bind: p.id), \(bind: p.personId), \(bind: p.product), \(bind: p.year), \(bind: p.validFrom.description), \(bind: p.validTo.description),
                    \(bind: Int64(p.chargedFen)), \(bind: p.status.rawValue), \(bind: bankCode), \(bind: cipher.seal(account, field: "account")),
                    \(bind: p.boughtAt.millis))
            """).run()
    }

    /// The live (charging or active) pass of a product for a year, with the account it is charged to.
    public func livePass(personId: Person.ID, product: String, year: Int) async throws -> (pass: Pass, bankCode: String, account: String)? {
        guard let r = try await db.raw("""
            SELECT * FROM passes WHERE person_id = \(bind: personId) AND product = \(bind: product) AND year = \(bind: year) AND status <> 'failed'
            """).first() else { return nil }
        return (try decodePass(r), try r.string("bank_code"), try cipher.open(try r.string("account_enc"), field: "account"))
    }

    /// Settles a pass still `charging`; false when it was settled already.
    public func settle(pass id: String, to status: Pass.Status, at: Date) async throws -> Bool {
        !(try await db.raw("""
            UPDATE passes SET status = \(bind: status.rawValue), settled_at = \(bind: at.millis) WHERE id = \(bind: id) AND status = 'charging' RETURNING id
            """).all()).isEmpty
    }

    /// Passes still `charging` that were started before `before`, with the account each is charged to, oldest first.
    public func passesUnderWay(startedBefore before: Date, limit: Int) async throws -> [(pass: Pass, bankCode: String, account: String)] {
        try await db.raw("""
            SELECT * FROM passes WHERE status = 'charging' AND bought_at < \(bind: before.millis) ORDER BY bought_at, id LIMIT \(bind: Int64(limit))
            """).all().map { (try decodePass($0), try $0.string("bank_code"), try cipher.open(try $0.string("account_enc"), field: "account")) }
    }

    /// A person's passes (every state), the latest year first.
    public func passes(personId: Person.ID) async throws -> [Pass] {
        try await db.raw("SELECT * FROM passes WHERE person_id = \(bind: personId) ORDER BY year DESC, product, bought_at DESC").all().map(decodePass)
    }

    /// The passes in force for a person on a day (paid, and the day within their validity).
    public func activePasses(personId: Person.ID, on day: CalendarDay) async throws -> [Pass] {
        let d = day.description
        return try await db.raw("""
            SELECT * FROM passes WHERE person_id = \(bind: personId) AND status = 'active' AND valid_from <= \(bind: d) AND valid_to >= \(bind: d)
            ORDER BY product
            """).all().map(decodePass)
    }

    /// The paid passes of several persons that are in force at some time on or after `from` (the caller keeps those of
    /// the day it judges): one statement for a group of acceptances.
    public func activePasses(personIds: [Person.ID], around day: CalendarDay) async throws -> [Person.ID: [Pass]] {
        guard !personIds.isEmpty else { return [:] }
        let d = day.description
        var out: [Person.ID: [Pass]] = [:]
        for p in try await db.raw("""
            SELECT * FROM passes WHERE person_id IN (\(binds: personIds.map(\.rawValue))) AND status = 'active' AND valid_to >= \(bind: d)
            """).all().map(decodePass) {
            out[p.personId, default: []].append(p)
        }
        return out
    }

    // MARK: decoding

    func decodeBiller(_ r: any SQLRow) throws -> Biller {
        Biller(code: try r.string("code"), name: try r.string("name"), kind: Biller.Kind(rawValue: try r.string("kind")) ?? .water,
               bankCode: try r.string("bank_code"), accountNumber: try r.string("account_number"), createdAt: try r.date("created_at"))
    }

    func decodeBill(_ r: any SQLRow) throws -> BillPayment {
        BillPayment(id: try r.string("id"), personId: try r.id("person_id"), biller: try r.string("biller"),
                    customerRef: try cipher.open(try r.string("customer_ref_enc"), field: "bill_customer_ref"),
                    amountFen: Int(try r.int("amount_fen")), status: BillPayment.Status(rawValue: try r.string("status")) ?? .paying,
                    idempotencyKey: try r.string("idempotency_key"), bankCode: try r.string("bank_code"),
                    account: try cipher.open(try r.string("account_enc"), field: "account"), createdAt: try r.date("created_at"),
                    settledAt: try r.optionalDate("settled_at"))
    }

    func decodePass(_ r: any SQLRow) throws -> Pass {
        guard let from = CalendarDay(try r.string("valid_from")), let to = CalendarDay(try r.string("valid_to")) else {
            throw DomainError(.internalError, "passes: a stored validity that is not a day")
        }
        return Pass(id: try r.string("id"), personId: try r.id("person_id"), product: try r.string("product"), year: Int(try r.int("year")),
                    validFrom: from, validTo: to, chargedFen: Int(try r.int("charged_fen")),
                    status: Pass.Status(rawValue: try r.string("status")) ?? .charging, boughtAt: try r.date("bought_at"))
    }
}
