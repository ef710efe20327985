import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import OneCardCore
import OneCardStore
import SQLKit
import ServiceLifecycle

/// A cooperating bank as its own process with its own SQLite store (`onecard bank-sim`): a batch credit API
/// idempotent per payment reference, closed accounts that return payments, a statement that is the witness of
/// what was paid, and switches for realism (latency, transient 503s, replies lost after the credit committed).
public enum BankSimulator {
    public struct Options: Sendable {
        public var bank: String
        public var port: Int
        /// `nil`: an in-memory store.
        public var storePath: String?
        /// Share of credit requests refused with 503 before anything happens.
        public var failRate: Double
        public var latencyMs: Int
        /// Share of credit requests whose reply is lost (503) after the credits were committed.
        public var loseReplyRate: Double

        public init(bank: String, port: Int, storePath: String?, failRate: Double = 0, latencyMs: Int = 0, loseReplyRate: Double = 0) {
            self.bank = bank; self.port = port; self.storePath = storePath; self.failRate = failRate; self.latencyMs = latencyMs
            self.loseReplyRate = loseReplyRate
        }
    }

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS credits (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, payment_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
            amount_fen BIGINT NOT NULL, outcome TEXT NOT NULL, at BIGINT NOT NULL)
        """,
        "CREATE TABLE IF NOT EXISTS closed_accounts (account TEXT PRIMARY KEY, at BIGINT NOT NULL)",
    ]

    public static func openStore(_ options: Options, logger: Logger) async throws -> Store {
        let url: DatabaseURL = options.storePath.map { .sqliteFile($0) } ?? .sqliteMemory
        // The bank keeps nothing encrypted through the platform's cipher; any key will do.
        let store = try await Store.open(url, cipher: FieldCipher(keys: NodeKeys(master: SymmetricKey(size: .bits256))), logger: logger, readers: 1)
        try await store.write { s in for statement in schema { try await s.db.raw(SQLQueryString(statement)).run() } }
        return store
    }

    struct CreditRequest: Decodable { var payments: [BankGateway.Credit] }
    struct Line: Encodable { let paymentId: String; let account: String; let amountFen: Int64; let at: String }
    struct Statement: Encodable { let bank: String; let credits: [Line]; let next: Int64? }

    public static func router(store: Store, options: Options) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ in ["status": "ok", "bank": options.bank] }

        router.post("/credits") { request, context -> Response in
            if Double.random(in: 0..<1) < options.failRate { return Response(status: .serviceUnavailable) }
            if options.latencyMs > 0 { try await Task.sleep(for: .milliseconds(options.latencyMs)) }
            let body = try await request.body.collect(upTo: 16 * 1_048_576)
            guard let input = try? JSONDecoder().decode(CreditRequest.self, from: Data(buffer: body)), input.payments.count <= 5000 else {
                return Response(status: .badRequest)
            }
            let at = Timestamp.millis(Date())
            let results = try await store.write { s -> [BankGateway.Result] in
                var known: [String: BankOutcome] = [:]
                var closed = Set<String>()
                for part in stride(from: 0, to: input.payments.count, by: 500) {
                    let slice = input.payments[part..<min(part + 500, input.payments.count)]
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
                for p in input.payments {
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
            if Double.random(in: 0..<1) < options.loseReplyRate { return Response(status: .serviceUnavailable) }
            return try Response.json(["results": results])
        }

        router.post("/accounts/:account/close") { _, context -> Response in
            let account = context.parameters.get("account") ?? ""
            guard (10...30).contains(account.count), account.allSatisfy(\.isNumber) else { return Response(status: .badRequest) }
            try await store.write { s in
                try await s.db.raw("INSERT INTO closed_accounts (account, at) VALUES (\(bind: account), \(bind: Timestamp.millis(Date()))) ON CONFLICT DO NOTHING").run()
            }
            return try Response.json(["account": account, "status": "closed"])
        }

        router.get("/statement") { request, _ -> Response in
            let after = Int64(request.uri.queryParameters.get("after") ?? "") ?? 0
            let limit = Int64(request.uri.queryParameters.get("limit") ?? "") ?? Int64.max
            let rows = try await store.read { s in
                try await s.db.raw("""
                    SELECT seq, payment_id, account, amount_fen, at FROM credits WHERE outcome = 'credited' AND seq > \(bind: after)
                    ORDER BY seq LIMIT \(bind: limit)
                    """).all()
            }
            var credits: [Line] = []
            credits.reserveCapacity(rows.count)
            var last: Int64 = after
            for r in rows {
                last = try r.decode(column: "seq", as: Int64.self)
                credits.append(Line(paymentId: try r.decode(column: "payment_id", as: String.self), account: try r.decode(column: "account", as: String.self),
                                    amountFen: try r.decode(column: "amount_fen", as: Int64.self),
                                    at: Timestamp.format(Timestamp.date(millis: try r.decode(column: "at", as: Int64.self)))))
            }
            return try Response.json(Statement(bank: options.bank, credits: credits, next: rows.isEmpty || Int64(rows.count) < limit ? nil : last))
        }
        return router
    }

    /// Runs the bank on 127.0.0.1 until SIGTERM or SIGINT.
    public static func run(_ options: Options, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void) async throws {
        let store = try await openStore(options, logger: logger)
        let app = Application(router: router(store: store, options: options),
                              configuration: .init(address: .hostname("127.0.0.1", port: options.port), serverName: "onecard-bank-sim"),
                              onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        do { try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint]) } catch { await store.close(); throw error }
        await store.close()
    }
}


extension BankSimulator {
    /// A bank running in this process (tests): its URL, its store (the witness) and a way to stop it.
    public struct Running: Sendable {
        public let url: String
        public let store: Store
        public let stop: @Sendable () async -> Void
    }

    public static func start(_ options: Options, logger: Logger) async throws -> Running {
        let store = try await openStore(options, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router(store: store, options: options),
                              configuration: .init(address: .hostname("127.0.0.1", port: options.port), serverName: "onecard-bank-sim"),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0); continuation.finish() },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        for await p in ports { port = p }
        return Running(url: "http://127.0.0.1:\(port)", store: store) {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            await store.close()
        }
    }

    /// The statement: payment references credited, with account and amount.
    public static func credits(_ store: Store) async throws -> [(paymentId: String, account: String, amountFen: Int64)] {
        try await store.read { s in
            try await s.db.raw("SELECT payment_id, account, amount_fen FROM credits WHERE outcome = 'credited' ORDER BY seq").all().map {
                (try $0.decode(column: "payment_id", as: String.self), try $0.decode(column: "account", as: String.self),
                 try $0.decode(column: "amount_fen", as: Int64.self))
            }
        }
    }
}
