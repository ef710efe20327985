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
        /// The balance of an account the bank was given none for (`POST /accounts/{account}/balance` sets one).
        public var openingBalanceFen: Int64

        public init(bank: String, port: Int, storePath: String?, failRate: Double = 0, latencyMs: Int = 0, loseReplyRate: Double = 0,
                    openingBalanceFen: Int64 = 0) {
            self.bank = bank; self.port = port; self.storePath = storePath; self.failRate = failRate; self.latencyMs = latencyMs
            self.loseReplyRate = loseReplyRate; self.openingBalanceFen = openingBalanceFen
        }
    }

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS credits (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, payment_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
            amount_fen BIGINT NOT NULL, outcome TEXT NOT NULL, at BIGINT NOT NULL)
        """,
        "CREATE TABLE IF NOT EXISTS closed_accounts (account TEXT PRIMARY KEY, at BIGINT NOT NULL)",
        // Debits (transit trips): balances set by `POST /accounts/{account}/balance`, one row per debit id taken.
        "CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, balance_fen BIGINT NOT NULL, at BIGINT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS debits (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, debit_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL, amount_fen BIGINT NOT NULL, at BIGINT NOT NULL)
        """,
    ]

    public static func openStore(_ options: Options, logger: Logger) async throws -> Store {
        let url: DatabaseURL = options.storePath.map { .sqliteFile($0) } ?? .sqliteMemory
        // The bank keeps nothing encrypted through the platform's cipher; any key will do.
        let store = try await Store.open(url, cipher: FieldCipher(keys: NodeKeys(master: SymmetricKey(size: .bits256))), logger: logger, readers: 1)
        try await SimulatedBankService(store: store).createTables(schema)
        return store
    }

    struct DebitRequest: Decodable { var debits: [BankGateway.Debit] }
    struct BalanceInput: Decodable { var balanceFen: Int64 }
    struct DebitLine: Encodable { let debitId: String; let account: String; let amountFen: Int64; let at: String }
    struct DebitStatement: Encodable { let bank: String; let debits: [DebitLine] }
    /// `GET /accounts/{account}`: an account the bank has no balance for has 0; a closed one says so.
    struct AccountView: Encodable { let account: String; let balanceFen: Int64; let status: String }
    static func validAccount(_ account: String) -> Bool { (10...30).contains(account.count) && account.allSatisfy(\.isNumber) }
    struct Line: Encodable { let paymentId: String; let account: String; let amountFen: Int64; let at: String }
    struct Statement: Encodable { let bank: String; let credits: [Line]; let next: Int64? }

    public static func router(store: Store, options: Options) -> Router<BasicRequestContext> {
        let ledger = SimulatedBankService(store: store, openingBalanceFen: options.openingBalanceFen)  // the bank-sim is its own application
        let router = Router()
        router.get("/health") { _, _ in ["status": "ok", "bank": options.bank] }

        router.post("/credits") { request, context -> Response in
            if Double.random(in: 0..<1) < options.failRate { return Response(status: .serviceUnavailable) }
            if options.latencyMs > 0 { try await Task.sleep(for: .milliseconds(options.latencyMs)) }
            let body = try await request.body.collect(upTo: 16 * 1_048_576)
            guard let payments = body.withUnsafeReadableBytes({ BankWire.readCredits($0) }), payments.count <= 5000 else {
                return Response(status: .badRequest)
            }
            let results = try await ledger.credit(payments)
            if Double.random(in: 0..<1) < options.loseReplyRate { return Response(status: .serviceUnavailable) }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: BankWire.results(results))))
        }

        router.post("/debits") { request, _ -> Response in
            if Double.random(in: 0..<1) < options.failRate { return Response(status: .serviceUnavailable) }
            if options.latencyMs > 0 { try await Task.sleep(for: .milliseconds(options.latencyMs)) }
            let body = try await request.body.collect(upTo: 16 * 1_048_576)
            guard let input = try? JSONDecoder().decode(DebitRequest.self, from: Data(buffer: body)), input.debits.count <= 5000,
                  input.debits.allSatisfy({ $0.amountFen > 0 && (1...100).contains($0.debitId.count) && validAccount($0.account) }) else {
                return Response(status: .badRequest)
            }
            let results = try await ledger.debit(input.debits)
            if Double.random(in: 0..<1) < options.loseReplyRate { return Response(status: .serviceUnavailable) }
            return try Response.json(["results": results])
        }

        router.get("/debits") { _, _ -> Response in
            try Response.json(DebitStatement(bank: options.bank, debits: try await ledger.debitStatement()))
        }

        router.post("/accounts/:account/balance") { request, context -> Response in
            let account = context.parameters.get("account") ?? ""
            let body = try await request.body.collect(upTo: 65_536)
            guard validAccount(account), let input = try? JSONDecoder().decode(BalanceInput.self, from: Data(buffer: body)), input.balanceFen >= 0 else {
                return Response(status: .badRequest)
            }
            try await ledger.setBalance(account: account, fen: input.balanceFen)
            return try Response.json(try await ledger.account(account))
        }

        router.get("/accounts/:account") { _, context -> Response in
            let account = context.parameters.get("account") ?? ""
            guard validAccount(account) else { return Response(status: .badRequest) }
            return try Response.json(try await ledger.account(account))
        }

        router.post("/accounts/:account/close") { _, context -> Response in
            let account = context.parameters.get("account") ?? ""
            guard (10...30).contains(account.count), account.allSatisfy(\.isNumber) else { return Response(status: .badRequest) }
            try await ledger.close(account: account)
            return try Response.json(["account": account, "status": "closed"])
        }

        router.get("/statement") { request, _ -> Response in
            let after = Int64(request.uri.queryParameters.get("after") ?? "") ?? 0
            let limit = Int64(request.uri.queryParameters.get("limit") ?? "") ?? Int64.max
            let (credits, last, rows) = try await ledger.statement(after: after, limit: limit)
            return try Response.json(Statement(bank: options.bank, credits: credits, next: rows == 0 || Int64(rows) < limit ? nil : last))
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

    /// The debit statement: debit ids taken, with account and amount (the witness that each trip was charged once).
    public static func debits(_ store: Store) async throws -> [(debitId: String, account: String, amountFen: Int64)] {
        try await SimulatedBankService(store: store).debitStatement().map { ($0.debitId, $0.account, $0.amountFen) }
    }

    /// The statement: payment references credited, with account and amount.
    public static func credits(_ store: Store) async throws -> [(paymentId: String, account: String, amountFen: Int64)] {
        try await SimulatedBankService(store: store).credits()
    }
}
