import ArgumentParser
import Foundation
import Logging
import OneCardCore
import OneCardServer
import OneCardStore

/// Measures a day of taps end to end — uploaded by a gate over HTTP in batches of 1,000, paired, priced and charged to a
/// running bank-sim until every trip is charged — against raw inserts of as many tap rows into the same database, and
/// reports peak memory. Seeds its own holders and cards first (not timed). Benchmarks/RESULTS.md has the numbers.
struct BenchTransit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-transit",
        abstract: "Benchmark: N taps uploaded, paired, priced and charged to a bank-sim, against raw inserts (use an empty database).")

    @Option(help: "Taps (two per ride, ten rides per card).") var taps: Int = 20_000
    @Option(name: .customLong("bank-url"), help: "A running `onecard bank-sim --opening-balance 100000000` (its debits are checked at the end).")
    var bankURL: String
    @Option(name: .customLong("late-share"), help: "Share of exit taps uploaded at the end, as a gate that was offline would.") var lateShare: Double = 0.1
    @Option(help: "Uploads at once.") var concurrency: Int = 2
    @OptionGroup var data: DataOptions

    func run() async throws {
        let config = try data.configuration(port: 0)
        var logger = Logger(label: "onecard-bench")
        logger.logLevel = .warning
        let services = try await OneCardApp.services(config, logger: logger)
        try await services.store.migrate()
        let rides = 10
        let cards = max(1, taps / (2 * rides))
        say("bench-transit: \(cards * rides * 2) taps (\(cards) cards × \(rides) rides), database \(config.database), bank \(bankURL)")
        let seedStart = ContinuousClock.now
        let bench = TransitBenchService(services)
        let seeded = try await bench.seed(cards: cards, bankURL: bankURL)
        let bodies = bench.uploads(cards: seeded.cards, ridesPerCard: rides, lateShare: lateShare, batchSize: 1000)
        let n = bodies.total
        say("seeded \(cards) holders with cards in \(Self.seconds(ContinuousClock.now - seedStart)) s (the taps are made as they are uploaded, in the bench client)")

        let raw = try await bench.rawInserts(count: n)
        say("raw inserts: \(n) tap rows in \(Self.seconds(raw)) s (\(Self.rate(n, raw))/s)")

        let running = try await OneCardApp.start(services)
        let base = "http://127.0.0.1:\(running.port)"
        // The seeding's heap is returned and the high-water mark started over: the peak below is the measured work's.
        let seedingPeak = ProcessMemory.peakMB()
        ProcessMemory.startPeakOver()
        let rssBefore = ProcessMemory.currentMB()
        let e2eStart = ContinuousClock.now
        let http = HTTPClient1(timeout: .seconds(600))
        let key = seeded.gateKey
        var accepted = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            func add() {
                guard let body = bodies.next() else { return }
                group.addTask {
                    let r = try await http.send("POST", base + "/api/v1/transit/taps", headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(key)")],
                                                body: body)
                    guard r.status == 200 else { throw ValidationError("upload answered \(r.status): \(String(decoding: r.body.prefix(300), as: UTF8.self))") }
                    return (try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["accepted"] as? Int ?? 0
                }
            }
            for _ in 0..<concurrency { add() }
            while let a = try await group.next() {
                accepted += a
                add()
            }
        }
        let uploadTime = ContinuousClock.now - e2eStart
        say("upload (paired and priced as it arrives): \(accepted) taps taken in \(Self.seconds(uploadTime)) s (\(Self.rate(n, uploadTime))/s)")
        var counts: [String: Int] = [:]
        while true {
            counts = try await bench.tripCounts()
            let waiting = try await bench.progress().unpaired
            if waiting == 0, (counts["priced"] ?? 0) + (counts["charging"] ?? 0) == 0 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let total = ContinuousClock.now - e2eStart
        let trips = counts.values.reduce(0, +)
        say("end to end: \(n) taps, \(trips) trips \(counts) in \(Self.seconds(total)) s (\(Self.rate(n, total)) taps/s); ratio raw/e2e = \(String(format: "%.3f", Self.seconds(raw) / Self.seconds(total)))")
        say("peak RSS of this process (platform + bench client) from the upload on: \(ProcessMemory.peakMB()) MB (resident before the upload: \(rssBefore) MB; seeding peaked at \(seedingPeak) MB)")

        // The bank's debit statement is the witness.
        let progress = try await bench.progress()
        let r = try await http.send("GET", bankURL + "/debits")
        let debits = (try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["debits"] as? [[String: Any]] ?? []
        let ids = Set(debits.compactMap { $0["debitId"] as? String })
        let fen = debits.reduce(Int64(0)) { $0 + Int64($1["amountFen"] as? Int ?? 0) }
        say("bank statement: \(debits.count) debits, \(ids.count) distinct, \(fen) fen (trips charged: \(progress.positiveTrips), \(progress.chargedFen) fen)")
        await running.stop()
        await services.store.close()
        if debits.count != progress.positiveTrips || ids.count != debits.count || fen != progress.chargedFen { throw fail("the statement does not match the trips") }
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    static func rate(_ n: Int, _ d: Duration) -> Int { Int(Double(n) / max(seconds(d), 0.001)) }
}
