import Foundation
import OneCardCore
import OneCardStore
import SQLKit

/// The simulated bank's own books (`onecard bank-sim`): credits idempotent per payment reference, closed accounts,
/// and the statement that witnesses what was paid.
struct SimulatedBankService: Sendable {
    let store: Store

    /// Creates the bank's tables if they are not there (its store is its own, not the platform's).
    func createTables(_ schema: [String]) async throws {
        try await store.write { s in for statement in schema { try await s.db.raw(SQLQueryString(statement)).run() } }
    }

    /// Credits each payment once: a repeated reference answers its first outcome; a closed account returns it.
    func credit(_ payments: [BankGateway.Credit]) async throws -> [BankGateway.Result] {
        let at = Timestamp.millis(Date())
        return try await store.write { s -> [BankGateway.Result] in
            var known: [String: BankOutcome] = [:]
            var closed = Set<String>()
            for part in stride(from: 0, to: payments.count, by: 500) {
                let slice = payments[part..<min(part + 500, payments.count)]
                for r in try await s.db.raw("SELECT payment_id, outcome FROM credits WHERE payment_id IN (\(binds: slice.map(\.paymentId)))").all() {
                    known[try r.decode(column: "payment_id", as: String.self)] = BankOutcome(rawValue: try r.decode(column: "outcome", as: String.self))
                }
                for r in try await s.db.raw("SELECT account FROM closed_accounts WHERE account IN (\(binds: slice.map(\.account)))").all() {
                    closed.insert(try r.decode(column: "account", as: String.self))
                }
            }
            var out: [BankGateway.Result] = []
            var insert = s.db.insert(into: "credits").columns("payment_id", "account", "amount_fen", "outcome", "at")
            var inserted = 0
            for p in payments {
                if let first = known[p.paymentId] {
                    out.append(.init(paymentId: p.paymentId, outcome: first, reason: "repeat"))
                    continue
                }
                let valid = p.amountFen > 0 && (10...30).contains(p.account.count) && p.account.allSatisfy(\.isNumber)
                let outcome: BankOutcome = !valid ? .rejected : closed.contains(p.account) ? .returned : .credited
                known[p.paymentId] = outcome
                insert = insert.values([SQLBind(p.paymentId), SQLBind(p.account), SQLBind(p.amountFen), SQLBind(outcome.rawValue), SQLBind(at)])
                inserted += 1
                out.append(.init(paymentId: p.paymentId, outcome: outcome, reason: outcome == .returned ? "account_closed" : nil))
            }
            if inserted > 0 { try await insert.run() }
            return out
        }
    }

    func close(account: String) async throws {
        try await store.write { s in
            try await s.db.raw("INSERT INTO closed_accounts (account, at) VALUES (\(bind: account), \(bind: Timestamp.millis(Date()))) ON CONFLICT DO NOTHING").run()
        }
    }

    /// Credited payments after `after` (a sequence number), at most `limit`; the last sequence number and how many rows.
    func statement(after: Int64, limit: Int64) async throws -> (lines: [BankSimulator.Line], last: Int64, rows: Int) {
        let rows = try await store.read { s in
            try await s.db.raw("""
                SELECT seq, payment_id, account, amount_fen, at FROM credits WHERE outcome = 'credited' AND seq > \(bind: after)
                ORDER BY seq LIMIT \(bind: limit)
                """).all()
        }
        var credits: [BankSimulator.Line] = []
        credits.reserveCapacity(rows.count)
        var last: Int64 = after
        for r in rows {
            last = try r.decode(column: "seq", as: Int64.self)
            credits.append(BankSimulator.Line(paymentId: try r.decode(column: "payment_id", as: String.self), account: try r.decode(column: "account", as: String.self),
                                              amountFen: try r.decode(column: "amount_fen", as: Int64.self),
                                              at: Timestamp.format(Timestamp.date(millis: try r.decode(column: "at", as: Int64.self)))))
        }
        return (credits, last, rows.count)
    }

    /// Every credited payment, in order.
    func credits() async throws -> [(paymentId: String, account: String, amountFen: Int64)] {
        try await store.read { s in
            try await s.db.raw("SELECT payment_id, account, amount_fen FROM credits WHERE outcome = 'credited' ORDER BY seq").all().map {
                (try $0.decode(column: "payment_id", as: String.self), try $0.decode(column: "account", as: String.self),
                 try $0.decode(column: "amount_fen", as: Int64.self))
            }
        }
    }
}
