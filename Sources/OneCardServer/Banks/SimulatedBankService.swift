import Foundation
import OneCardCore
import OneCardStore
import SQLKit

/// The simulated bank's own books (`onecard bank-sim`): credits idempotent per payment reference, closed accounts,
/// and the statement that witnesses what was paid.
struct SimulatedBankService: Sendable {
    let store: Store
    /// The balance of an account the bank was given none for.
    var openingBalanceFen: Int64 = 0

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

    /// Takes each debit once, if the account's balance covers it: a repeated id answers `duplicate` (taken before), a
    /// debit the balance does not cover `insufficient_funds` and leaves nothing behind, so it may be asked again later.
    func debit(_ debits: [BankGateway.Debit]) async throws -> [BankGateway.DebitResult] {
        let at = Timestamp.millis(Date())
        return try await store.write { s -> [BankGateway.DebitResult] in
            var taken = Set<String>()
            var balances: [String: Int64] = [:]
            var closed = Set<String>()
            for part in stride(from: 0, to: debits.count, by: 500) {
                let slice = debits[part..<min(part + 500, debits.count)]
                for r in try await s.db.raw("SELECT debit_id FROM debits WHERE debit_id IN (\(binds: slice.map(\.debitId)))").all() {
                    taken.insert(try r.decode(column: "debit_id", as: String.self))
                }
                for r in try await s.db.raw("SELECT account, balance_fen FROM balances WHERE account IN (\(binds: slice.map(\.account)))").all() {
                    balances[try r.decode(column: "account", as: String.self)] = try r.decode(column: "balance_fen", as: Int64.self)
                }
                for r in try await s.db.raw("SELECT account FROM closed_accounts WHERE account IN (\(binds: slice.map(\.account)))").all() {
                    closed.insert(try r.decode(column: "account", as: String.self))
                }
            }
            var out: [BankGateway.DebitResult] = []
            var changed = Set<String>()
            for d in debits {
                if taken.contains(d.debitId) { out.append(.init(debitId: d.debitId, status: "duplicate")); continue }
                let balance = balances[d.account] ?? openingBalanceFen
                guard !closed.contains(d.account), balance >= d.amountFen else {
                    out.append(.init(debitId: d.debitId, status: "insufficient_funds")); continue
                }
                balances[d.account] = balance - d.amountFen
                changed.insert(d.account)
                taken.insert(d.debitId)
                try await s.db.raw("""
                    INSERT INTO debits (debit_id, account, amount_fen, at) VALUES (\(bind: d.debitId), \(bind: d.account), \(bind: d.amountFen), \(bind: at))
                    """).run()
                out.append(.init(debitId: d.debitId, status: "ok"))
            }
            for account in changed {
                try await s.db.raw("""
                    INSERT INTO balances (account, balance_fen, at) VALUES (\(bind: account), \(bind: balances[account] ?? 0), \(bind: at))
                    ON CONFLICT (account) DO UPDATE SET balance_fen = excluded.balance_fen, at = excluded.at
                    """).run()
            }
            return out
        }
    }

    func setBalance(account: String, fen: Int64) async throws {
        let at = Timestamp.millis(Date())
        try await store.write { s in
            try await s.db.raw("""
                INSERT INTO balances (account, balance_fen, at) VALUES (\(bind: account), \(bind: fen), \(bind: at))
                ON CONFLICT (account) DO UPDATE SET balance_fen = excluded.balance_fen, at = excluded.at
                """).run()
        }
    }

    func account(_ account: String) async throws -> BankSimulator.AccountView {
        try await store.read { s in
            let balance = try await s.db.raw("SELECT balance_fen FROM balances WHERE account = \(bind: account)").first()?
                .decode(column: "balance_fen", as: Int64.self) ?? openingBalanceFen
            let closed = try await s.db.raw("SELECT account FROM closed_accounts WHERE account = \(bind: account)").first() != nil
            return BankSimulator.AccountView(account: account, balanceFen: balance, status: closed ? "closed" : "active")
        }
    }

    /// Every debit taken, in order.
    func debitStatement() async throws -> [BankSimulator.DebitLine] {
        try await store.read { s in
            try await s.db.raw("SELECT debit_id, account, amount_fen, at FROM debits ORDER BY seq").all().map {
                BankSimulator.DebitLine(debitId: try $0.decode(column: "debit_id", as: String.self), account: try $0.decode(column: "account", as: String.self),
                                        amountFen: try $0.decode(column: "amount_fen", as: Int64.self),
                                        at: Timestamp.format(Timestamp.date(millis: try $0.decode(column: "at", as: Int64.self))))
            }
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
