import ArgumentParser
import Foundation
import Logging
import OneCardServer

struct BankSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bank-sim",
        abstract: "Run a simulated cooperating bank on 127.0.0.1: batch credits idempotent per payment id, debits idempotent per debit id against balances, closed accounts, statements.")

    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 0
    @Option(help: "The bank's code, e.g. ICBC.") var bank: String
    @Option(help: "The bank's own SQLite file (default: in memory, lost when the process ends).") var store: String?
    @Option(name: .customLong("fail-rate"), help: "Share (0 to 1) of credit requests refused with a transient 503.") var failRate: Double = 0
    @Option(name: .customLong("latency-ms"), help: "Delay added to every credit request.") var latencyMs: Int = 0
    @Option(name: .customLong("lose-reply-rate"), help: "Share (0 to 1) of credit requests answered 503 after the credits committed (a lost reply).")
    var loseReplyRate: Double = 0
    @Option(name: .customLong("opening-balance"), help: "The balance in fen of an account given none by POST /accounts/{account}/balance (debits).")
    var openingBalance: Int64 = 0

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard (0...1).contains(failRate), (0...1).contains(loseReplyRate) else { throw ValidationError("--fail-rate and --lose-reply-rate are 0 to 1") }
        guard (0...60_000).contains(latencyMs) else { throw ValidationError("--latency-ms must be 0 to 60000") }
        guard openingBalance >= 0 else { throw ValidationError("--opening-balance must be 0 or more") }
    }

    func run() async throws {
        var logger = Logger(label: "onecard-bank-sim")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let options = BankSimulator.Options(bank: bank, port: port, storePath: store, failRate: failRate, latencyMs: latencyMs,
                                            loseReplyRate: loseReplyRate, openingBalanceFen: openingBalance)
        let bank = bank
        try await BankSimulator.run(options, logger: logger) { port in
            say("bank-sim \(bank) listening on http://127.0.0.1:\(port)")
        }
    }
}
