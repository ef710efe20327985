import Foundation
import OneCardCore
import SQLKit

public struct BankRepository: Sendable {
    let db: any SQLDatabase

    public func insert(_ b: Bank, at: Date) async throws {
        try await db.raw("""
            INSERT INTO banks (code, name, agreement_from, agreement_to, endpoint, status, created_at)
            VALUES (\(bind: b.code), \(bind: b.name), \(bind: b.agreementFrom.description), \(bind: b.agreementTo.description),
                    \(bind: b.endpoint), \(bind: b.status.rawValue), \(bind: at.millis))
            """).run()
    }

    public func find(_ code: String) async throws -> Bank? {
        try await db.raw("SELECT * FROM banks WHERE code = \(bind: code)").first().map(Self.decode)
    }

    public func list() async throws -> [Bank] {
        try await db.raw("SELECT * FROM banks ORDER BY code").all().map(Self.decode)
    }

    static func decode(_ r: any SQLRow) throws -> Bank {
        Bank(code: try r.string("code"), name: try r.string("name"),
             agreementFrom: CalendarDay(try r.string("agreement_from"))!, agreementTo: CalendarDay(try r.string("agreement_to"))!,
             endpoint: try r.optionalString("endpoint"), status: Bank.Status(rawValue: try r.string("status")) ?? .suspended)
    }
}
