import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import OneCardTestSupport
import Testing

/// The real binaries: two `onecard bank-sim` processes and `onecard serve`, killed with SIGKILL at random moments
/// while it executes a batch, with one bank terminated and migrated midway. The banks' statements prove every
/// payment was credited exactly once, to the holder's account at that time.
@Suite("End to end: disbursement survives SIGKILL", .serialized)
struct PaymentCrashTests {
    typealias Server = EndToEndTests.Server
    typealias HTTP = EndToEndTests.HTTP

    /// 300 by default; `ONECARD_E2E_PAYEES=10000` runs the issue's full-size scenario (slower: every card is made over HTTP).
    static let payees = Int(ProcessInfo.processInfo.environment["ONECARD_E2E_PAYEES"] ?? "") ?? 300

    /// Distinct valid ID numbers: a thousand sequence numbers per birth day from 1970-01-01.
    static func idNumber(_ i: Int) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day], from: cal.date(byAdding: .day, value: i / 1000, to: Date(timeIntervalSince1970: 0))!)
        return TestIDs.resident(region: "110101", birth: String(format: "%04d%02d%02d", c.year!, c.month!, c.day!), sequence: String(format: "%03d", i % 1000))
    }

    @Test(arguments: Engine.available)
    func everyPaymentIsCreditedExactlyOnceAcrossKillsAndAMigration(_ engine: Engine) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-pay-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (database, db) = try await EndToEndTests.databaseArgument(engine)
        let common = ["--data-dir", dir] + (database.map { ["--database", $0] } ?? [])
        if engine == .postgres { #expect(try await EndToEndTests.run(["migrate"] + common).status == 0) }

        // setup: two banks as their own processes, the platform, an admin. ICBC is flaky and quick, so the first
        // kill may come before, while or after it answers; CCB answers each request after 6 s, longer than the
        // longest wait before a kill (0.6 s) and the status read before it, so every kill comes while payments are in
        // flight, however fast the machine (after the migration every payment goes to CCB), and under the platform's
        // 10 s deadline for a bank's answer. (1.5 s, then 3 s, were once too short on a loaded CI machine: the batch had
        // completed before the read that precedes the first kill came back.)
        let icbc = try Server(["bank-sim", "--bank", "ICBC", "--port", "0", "--store", dir + "/icbc.sqlite", "--fail-rate", "0.2", "--latency-ms", "200"])
        let ccb = try Server(["bank-sim", "--bank", "CCB", "--port", "0", "--store", dir + "/ccb.sqlite", "--latency-ms", "6000"])
        var server: Server?
        defer {
            for p in [icbc.process, ccb.process, server?.process].compactMap({ $0 }) where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        let icbcURL = try await icbc.baseURL(), ccbURL = try await ccb.baseURL()
        #expect(try await EndToEndTests.run(["users", "create", "--username", "root", "--role", "admin"] + common, input: "root-password-1\n").status == 0)
        server = try Server(["serve", "--port", "0"] + common)
        var http = HTTP(base: try await server!.baseURL())

        let admin = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "root", "password": "root-password-1"]).1["accessToken"] as? String)
        for (user, role) in [("clerk", "agent"), ("dept1", "department"), ("dept2", "department")] {
            #expect(try await http.call("POST", "/api/v1/users", token: admin, json: ["username": user, "password": "\(user)-password-1", "role": role]).0 == 201)
        }
        func token(_ user: String) async throws -> String {
            try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": user, "password": "\(user)-password-1"]).1["accessToken"] as? String)
        }
        let agent = try await token("clerk"), dept1 = try await token("dept1"), dept2 = try await token("dept2")
        for (code, url) in [("ICBC", icbcURL), ("CCB", ccbURL)] {
            #expect(try await http.call("POST", "/api/v1/banks", token: admin, json: ["code": code, "name": code, "agreementFrom": "2024-01-01", "agreementTo": "2034-12-31", "endpoint": url]).0 == 201)
        }
        let outlet = try #require(try await http.call("POST", "/api/v1/outlets", token: admin, json: [
            "name": "东城区社保卡服务中心", "regionCode": "110101", "address": "东直门 1 号", "services": ["apply", "pickup"], "hours": "09:00-17:00",
        ]).1["outletId"] as? String)
        // Holders: every other one at ICBC, with an issued card.
        let ids = (0..<Self.payees).map(Self.idNumber)
        let base = http.base
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<6 {
                group.addTask {
                    let http = HTTP(base: base)
                    for i in stride(from: worker, to: ids.count, by: 6) {
                        let person = try #require(try await http.call("POST", "/api/v1/persons", token: agent, json: [
                            "idType": "resident", "idNumber": ids[i], "name": "王秀梅", "phone": "13900002222"]).1["personId"] as? String)
                        let app = try #require(try await http.call("POST", "/api/v1/card-applications", token: agent, json: [
                            "personId": person, "channel": "counter", "applyOutletId": outlet, "bankCode": i % 2 == 0 ? "ICBC" : "CCB"]).1["applicationId"] as? String)
                        for step in ["approve", "produce", "ready", "collect"] {
                            #expect(try await http.call("POST", "/api/v1/card-applications/\(app)/\(step)", token: agent).0 == 200)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let programme = try #require(try await http.call("POST", "/api/v1/programmes", token: dept1, json: [
            "name": "2026 年度耕地地力保护补贴", "kind": "subsidy", "department": "农业农村局", "legalBasis": "广东省社会保障卡一卡通条例第八条"]).1["programmeId"] as? String)
        let csv = "idNumber,name,amountFen\n" + ids.enumerated().map { "\($1),王秀梅,\(10_000 + $0)" }.joined(separator: "\n") + "\n"
        var request = URLRequest(url: URL(string: base + "/api/v1/programmes/\(programme)/batches")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(dept1)", forHTTPHeaderField: "Authorization")
        request.setValue("text/csv", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(csv.utf8)
        let (uploaded, _) = try await URLSession.shared.data(for: request)
        let upload = try #require(try JSONSerialization.jsonObject(with: uploaded) as? [String: Any])
        #expect(upload["accepted"] as? Int == Self.payees, "\(upload)")
        let batch = try #require(upload["batchId"] as? String)
        #expect(try await http.call("POST", "/api/v1/batches/\(batch)/approve", token: dept2).0 == 200)
        let requestedFen = (0..<Self.payees).reduce(0) { $0 + 10_000 + $1 }

        // the action: execute, then SIGKILL the server at random moments, restarting it each time; after the
        // first restart ICBC is terminated and its holders moved to CCB at once (choiceDays 0)
        #expect(try await http.call("POST", "/api/v1/batches/\(batch)/execute", token: dept1).0 == 202)
        var kills = 0
        var killedMidway: [String] = [], notExecuting: [String] = []
        for round in 0..<3 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...600)))
            let before = try await http.call("GET", "/api/v1/batches/\(batch)", token: dept1).1
            let executing = before["status"] as? String == "executing"
            // A later kill is only worth making while the batch is still under way (a loaded machine may have finished it).
            if round > 0, !executing { break }
            if executing { killedMidway.append("\(before["counts"] ?? "")") } else { notExecuting.append("\(before)") }
            kill(server!.process.processIdentifier, SIGKILL)
            _ = await server!.process.exit()
            kills += 1
            server = try Server(["serve", "--port", "0"] + common)
            http = HTTP(base: try await server!.baseURL())
            if round == 0 {
                let t = try await http.call("PATCH", "/api/v1/banks/ICBC", token: admin, json: ["status": "terminated", "successorBankCode": "CCB", "choiceDays": 0])
                #expect(t.0 == 200, "\(t)")
            }
        }
        var status = ""
        var last: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(180)
        while status != "completed", Date() < deadline {
            try await Task.sleep(for: .milliseconds(300))
            last = try await http.call("GET", "/api/v1/batches/\(batch)", token: dept1).1
            status = last["status"] as? String ?? ""
        }

        // validate: the batch completed, totals add up, and both banks' statements hold each payment exactly once
        // The first kill always comes mid-batch, before the migration; later ones only while the batch is still under way
        // (under a loaded test run the successor bank may take the rest in one request before a second kill).
        #expect(kills >= 1)
        // The kills came while the batch was under way (counts just before each kill are in the test log).
        #expect(killedMidway.count == kills, "\(killedMidway) \(notExecuting)")
        print("payment crash test: killed while executing at counts \(killedMidway)")
        #expect(status == "completed", "\(last)\n\(server!.text.suffix(2000))")
        #expect(last["counts"] as? [String: Int] == ["pending": 0, "held": 0, "sent": 0, "paid": Self.payees, "failed": 0, "returned": 0], "\(last)")
        #expect((last["totals"] as? [String: Int])?["paidFen"] == requestedFen)
        var credited: [String: (bank: String, account: String, amount: Int)] = [:]
        var duplicates = 0
        for (code, url) in [("ICBC", icbcURL), ("CCB", ccbURL)] {
            let statement = try await HTTP(base: url).call("GET", "/statement").1["credits"] as? [[String: Any]] ?? []
            for c in statement {
                let id = c["paymentId"] as? String ?? ""
                if credited[id] != nil { duplicates += 1 }
                credited[id] = (code, c["account"] as? String ?? "", c["amountFen"] as? Int ?? 0)
            }
        }
        #expect(duplicates == 0)
        #expect(credited.count == Self.payees)
        #expect(credited.values.reduce(0) { $0 + $1.amount } == requestedFen)
        // Each payment went to the bank and account the platform recorded for it.
        var after = 0
        var checked = 0
        while true {
            let page = try await http.call("GET", "/api/v1/batches/\(batch)/payments?limit=1000&after=\(after)", token: dept1).1
            let payments = page["payments"] as? [[String: Any]] ?? []
            for p in payments {
                let witness = credited[p["paymentId"] as? String ?? ""]
                #expect(witness?.bank == p["bankCode"] as? String)
                #expect(witness.map { String($0.account.suffix(4)) } == (p["accountMasked"] as? String).map { String($0.suffix(4)) })
                checked += 1
            }
            guard let next = page["next"] as? Int else { break }
            after = next
        }
        #expect(checked == Self.payees)
        let plan = try await http.call("GET", "/api/v1/banks/ICBC/migration", token: admin).1
        #expect((plan["counts"] as? [String: Int])?["pending"] == 0, "\(plan)")

        // The CLI follows a batch to its end (plain lines when not on a terminal).
        let cli = try await EndToEndTests.run(["batches", "execute", batch, "--server", http.base, "--token", dept1])
        #expect(cli.status == 0 && cli.output.contains("completed"), "\(cli.output)")

        #expect(try await server!.terminate() == 0)
        _ = try await icbc.terminate(); _ = try await ccb.terminate()
        await db?.remove()
    }
}
