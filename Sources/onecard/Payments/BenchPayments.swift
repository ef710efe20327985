import ArgumentParser
import Foundation
import Logging
import OneCardCore
import OneCardServer
import OneCardStore
import SQLKit

/// Measures one large batch end to end — CSV upload over HTTP, approval, execution through a running
/// bank-sim until every payment is paid — against raw inserts of as many rows into the same database, and
/// reports peak memory. Seeds its own persons and cards first (not timed). Benchmarks/RESULTS.md has the numbers.
struct BenchPayments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-payments",
        abstract: "Benchmark: one batch of N payments end to end to a bank-sim, against raw inserts (use an empty database).")

    @Option(help: "Payments in the batch.") var count: Int = 100_000
    @Option(name: .customLong("bank-url"), help: "A running `onecard bank-sim` (its statement is checked at the end).") var bankURL: String
    @OptionGroup var data: DataOptions

    func run() async throws {
        let config = try data.configuration(port: 0)
        var logger = Logger(label: "onecard-bench")
        logger.logLevel = .warning
        let services = try await OneCardApp.services(config, logger: logger)
        try await services.store.migrate()
        let store = services.store
        let cipher = FieldCipher(keys: services.keys)
        let n = count
        say("bench-payments: \(n) payments, database \(config.database), bank \(bankURL)")

        // Seed (not timed): a bank, n persons each with an issued card and an account.
        let seedStart = ContinuousClock.now
        let ids = (0..<n).map(Self.idNumber)
        let now = Timestamp.millis(Date())
        try await BenchHolderService(services).seed(bankURL: bankURL, count: n) { i in
            BenchHolder(personId: "bp\(i)", idNumber: ids[i], birthDate: "1970-01-01", cardNumber: "B\(i)", account: Self.account(i), issuedAt: now)
        }
        // A database in service has statistics (autovacuum analyses it); a million rows seeded a moment ago have none yet,
        // and PostgreSQL would plan the upload's lookups as scans of the whole table until its autovacuum caught up.
        try await store.write { s in try await s.db.raw("ANALYZE").run() }
        say("seeded \(n) persons with cards in \(Self.seconds(ContinuousClock.now - seedStart)) s")

        // The limit: raw multi-row inserts of n payment-shaped rows into the same database.
        try await store.write { s in
            try await s.db.raw("CREATE TABLE bench_raw (id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, line BIGINT NOT NULL, person_id TEXT NOT NULL, amount_fen BIGINT NOT NULL, state TEXT NOT NULL, attempt BIGINT NOT NULL, batch_account_fp TEXT NOT NULL, updated_at BIGINT NOT NULL)").run()
        }
        let rawStart = ContinuousClock.now
        for start in stride(from: 0, to: n, by: 5000) {
            try await store.write { s in
                for part in stride(from: start, to: min(start + 5000, n), by: 500) {
                    var insert = s.db.insert(into: "bench_raw").columns("id", "batch_id", "line", "person_id", "amount_fen", "state", "attempt",
                                                                        "batch_account_fp", "updated_at")
                    for i in part..<min(part + 500, n) {
                        insert = insert.values([SQLBind(services.random.uuid7(at: Date())), SQLBind("raw"), SQLBind(Int64(i + 1)), SQLBind("bp\(i)"), SQLBind(Int64(100)),
                                                SQLBind("pending"), SQLBind(Int64(1)), SQLBind(cipher.blindIndex("BENCH:\(i)", field: "payment_account")), SQLBind(now)])
                    }
                    try await insert.run()
                }
            }
        }
        let raw = ContinuousClock.now - rawStart
        try await store.write { s in try await s.db.raw("DROP TABLE bench_raw").run() }
        say("raw inserts: \(n) rows in \(Self.seconds(raw)) s (\(Self.rate(n, raw))/s)")

        // The platform in this process, on a free port, with its executor.
        _ = try await services.createStaffUser(username: "bench1", password: "bench-password-1", role: .department)
        _ = try await services.createStaffUser(username: "bench2", password: "bench-password-2", role: .department)
        let running = try await OneCardApp.start(services)
        let base = "http://127.0.0.1:\(running.port)"
        let http = HTTPClient1(timeout: .seconds(1800))
        func token(_ u: String, _ p: String) async throws -> String {
            let r = try await http.send("POST", base + "/api/v1/auth/token", headers: [("Content-Type", "application/json")],
                                        body: try JSONSerialization.data(withJSONObject: ["username": u, "password": p]))
            return (try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["accessToken"] as? String ?? ""
        }
        let t1 = try await token("bench1", "bench-password-1"), t2 = try await token("bench2", "bench-password-2")
        let programme = try await http.send("POST", base + "/api/v1/programmes", headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(t1)")],
                                            body: Data(#"{"name":"bench","kind":"subsidy","department":"bench","legalBasis":"GD art. 8"}"#.utf8))
        let programmeId = (try JSONSerialization.jsonObject(with: programme.body) as? [String: Any])?["programmeId"] as? String ?? ""
        var csv = Data("idNumber,name,amountFen\n".utf8)
        csv.reserveCapacity(n * 36)
        for i in 0..<n { csv.append(contentsOf: "\(ids[i]),王秀梅,\(100 + i % 1000)\n".utf8) }
        let requestedFen = (0..<n).reduce(Int64(0)) { $0 + Int64(100 + $1 % 1000) }
        // The seeding's heap is returned and the high-water mark started over: the peak below is the measured work's.
        let seedingPeak = ProcessMemory.peakMB()
        ProcessMemory.startPeakOver()
        let rssBefore = ProcessMemory.currentMB()

        let e2eStart = ContinuousClock.now
        let uploaded = try await http.send("POST", base + "/api/v1/programmes/\(programmeId)/batches",
                                           headers: [("Content-Type", "text/csv"), ("Authorization", "Bearer \(t1)")], body: csv)
        csv = Data()
        let up = try JSONSerialization.jsonObject(with: uploaded.body) as? [String: Any] ?? [:]
        let batch = up["batchId"] as? String ?? ""
        let uploadTime = ContinuousClock.now - e2eStart
        say("upload: \(up["accepted"] ?? "?") accepted, \((up["rejected"] as? [Any])?.count ?? -1) rejected in \(Self.seconds(uploadTime)) s (\(Self.rate(n, uploadTime))/s)")
        _ = try await http.send("POST", base + "/api/v1/batches/\(batch)/approve", headers: [("Authorization", "Bearer \(t2)")])
        _ = try await http.send("POST", base + "/api/v1/batches/\(batch)/execute", headers: [("Authorization", "Bearer \(t1)")])
        let execStart = ContinuousClock.now
        var status = ""
        var last: [String: Any] = [:]
        while status != "completed" {
            try await Task.sleep(for: .milliseconds(500))
            let r = try await http.send("GET", base + "/api/v1/batches/\(batch)", headers: [("Authorization", "Bearer \(t1)")])
            last = try JSONSerialization.jsonObject(with: r.body) as? [String: Any] ?? [:]
            status = last["status"] as? String ?? ""
        }
        let execTime = ContinuousClock.now - execStart
        let total = ContinuousClock.now - e2eStart
        say("execute: \(Self.seconds(execTime)) s (\(Self.rate(n, execTime))/s); counts \(last["counts"] ?? "")")
        say("end to end: \(n) payments in \(Self.seconds(total)) s (\(Self.rate(n, total))/s); ratio raw/e2e = \(String(format: "%.3f", Self.seconds(raw) / Self.seconds(total)))")
        say("peak RSS of this process (platform + bench client) from the upload on: \(ProcessMemory.peakMB()) MB (resident before the upload: \(rssBefore) MB; seeding peaked at \(seedingPeak) MB)")

        // The bank's statement is the witness.
        var credited = 0, fen: Int64 = 0, after: Int64 = 0
        var seen = Set<String>()
        while true {
            let r = try await http.send("GET", bankURL + "/statement?after=\(after)&limit=100000")
            let page = try JSONSerialization.jsonObject(with: r.body) as? [String: Any] ?? [:]
            for c in page["credits"] as? [[String: Any]] ?? [] {
                credited += 1; fen += Int64(c["amountFen"] as? Int ?? 0); seen.insert(c["paymentId"] as? String ?? "")
            }
            guard let next = page["next"] as? Int else { break }
            after = Int64(next)
        }
        say("bank statement: \(credited) credits, \(seen.count) distinct, \(fen) fen (requested \(requestedFen))")
        await running.stop()
        await store.close()
        if credited != n || seen.count != n || fen != requestedFen { throw fail("the statement does not match the batch") }
    }

    static func idNumber(_ i: Int) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let day = cal.date(byAdding: .day, value: i / 1000, to: Date(timeIntervalSince1970: -631_152_000))!  // from 1950-01-01
        let c = cal.dateComponents([.year, .month, .day], from: day)
        let first17 = "110101" + String(format: "%04d%02d%02d%03d", c.year!, c.month!, c.day!, i % 1000)
        return first17 + String(IdentityNumber.checkCharacter(for: Array(first17))!)
    }

    static func account(_ i: Int) -> String { "621" + String(format: "%016d", i) }
    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    static func rate(_ n: Int, _ d: Duration) -> Int { Int(Double(n) / max(seconds(d), 0.001)) }

}
