import Foundation
import OneCardCore
import SQLKit

extension BankRepository {
    public func update(code: String, status: Bank.Status, endpoint: String?) async throws {
        try await db.raw("UPDATE banks SET status = \(bind: status.rawValue), endpoint = \(bind: endpoint) WHERE code = \(bind: code)").run()
    }
}

public struct BankMigrationRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    /// Opens the plan: lists every live card with the bank and tells each holder.
    public func create(bankCode: String, successorCode: String, chooseBy: Date, at: Date, notice parameters: [String: String]) async throws {
        try await db.raw("""
            INSERT INTO bank_migrations (bank_code, successor_code, choose_by, status, created_at)
            VALUES (\(bind: bankCode), \(bind: successorCode), \(bind: chooseBy.millis), 'open', \(bind: at.millis))
            """).run()
        try await db.raw("""
            INSERT INTO bank_migration_cards (bank_code, card_number, person_id, status, updated_at)
            SELECT bank_code, card_number, person_id, 'pending', \(bind: at.millis) FROM cards
            WHERE bank_code = \(bind: bankCode) AND status NOT IN ('cancelled', 'replaced')
            """).run()
        try await db.raw("""
            INSERT INTO notifications (person_id, at, kind, parameters)
            SELECT person_id, \(bind: at.millis), \(bind: HolderNotice.Kind.bankTerminated.rawValue), \(bind: HolderNotice.encode(parameters)) FROM bank_migration_cards WHERE bank_code = \(bind: bankCode)
            """).run()
    }

    public func find(_ bankCode: String) async throws -> BankMigration? {
        try await db.raw("SELECT * FROM bank_migrations WHERE bank_code = \(bind: bankCode)").first().map { r in
            BankMigration(bankCode: try r.string("bank_code"), successorCode: try r.string("successor_code"), chooseBy: try r.date("choose_by"),
                          status: BankMigration.Status(rawValue: try r.string("status")) ?? .open, createdAt: try r.date("created_at"),
                          appliedAt: try r.optionalDate("applied_at"))
        }
    }

    public func cards(_ bankCode: String, status: MigrationCardStatus? = nil) async throws -> [BankMigration.Card] {
        let filter: SQLQueryString = status.map { "AND status = \(bind: $0.rawValue)" } ?? ""
        return try await db.raw("""
            SELECT * FROM bank_migration_cards WHERE bank_code = \(bind: bankCode) \(filter) ORDER BY card_number
            """).all().map { r in
            BankMigration.Card(cardNumber: try r.cardNumber("card_number"), personId: try r.id("person_id"),
                 status: MigrationCardStatus(rawValue: try r.string("status")) ?? .pending, newBankCode: try r.optionalString("new_bank_code"))
        }
    }

    /// Marks a card of a bank in migration as moved by the holder's choice or by the plan.
    public func mark(cardNumber: CardNumber, from bankCode: String, status: MigrationCardStatus, newBankCode: String, at: Date) async throws {
        try await db.raw("""
            UPDATE bank_migration_cards SET status = \(bind: status.rawValue), new_bank_code = \(bind: newBankCode), updated_at = \(bind: at.millis)
            WHERE bank_code = \(bind: bankCode) AND card_number = \(bind: cardNumber) AND status = 'pending'
            """).run()
    }

    public func markApplied(_ bankCode: String, at: Date) async throws {
        try await db.raw("UPDATE bank_migrations SET status = 'applied', applied_at = \(bind: at.millis) WHERE bank_code = \(bind: bankCode)").run()
    }

    /// Payments not yet sent whose holder's card is still with the bank: held until the card moves.
    public func heldPayments(_ bankCode: String) async throws -> Int {
        Int(try await db.raw("""
            SELECT COUNT(*) AS n FROM payments p JOIN bank_migration_cards m ON m.person_id = p.person_id
            WHERE m.bank_code = \(bind: bankCode) AND m.status = 'pending' AND p.state = 'pending'
            """).first()?.int("n") ?? 0)
    }
}

extension BankMigrationRepository {
    /// Open plans whose choice period is over: the successor is applied to the cards still waiting.
    public func due(at: Date) async throws -> [String] {
        try await db.raw("SELECT bank_code FROM bank_migrations WHERE status = 'open' AND choose_by <= \(bind: at.millis) ORDER BY bank_code")
            .all().map { try $0.string("bank_code") }
    }
}
