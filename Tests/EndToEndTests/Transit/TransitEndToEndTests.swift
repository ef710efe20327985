import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import OneCardTestSupport
import Testing

/// The real binaries: `onecard bank-sim` and `onecard serve`. Riders tap all day at a gate that cannot reach the node
/// (the node's clock set a day back); the next day the gate uploads its journal, the node is killed with SIGKILL in the
/// middle of the upload and again while the debits are at the bank, and restarted each time. The bank's debit statement
/// is the witness: every trip charged exactly once, for its fare.
@Suite("End to end: transit trips charged once across a day offline and restarts", .serialized)
struct TransitEndToEndTests {
    typealias Server = EndToEndTests.Server
    typealias HTTP = EndToEndTests.HTTP

    @Test(arguments: Engine.available)
    func aGateOfflineForADayHasEveryTripChargedExactlyOnce(_ engine: Engine) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-transit-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (database, db) = try await EndToEndTests.databaseArgument(engine)
        let common = ["--data-dir", dir] + (database.map { ["--database", $0] } ?? [])
        if engine == .postgres { #expect(try await EndToEndTests.run(["migrate"] + common).status == 0) }

        // setup: one bank-sim for both demo banks, every account opening at ¥100, answering debits after 1.5 s (so a kill
        // comes while debits are in flight); the node with its clock a day behind: "yesterday", with the demo
        let bank = try Server(["bank-sim", "--bank", "ICBC", "--port", "0", "--store", dir + "/bank.sqlite", "--latency-ms", "1500",
                               "--opening-balance", "10000"])
        var node = try Server(["serve", "--port", "0", "--demo", "--clock-offset=-86400"] + common)
        defer { for p in [bank.process, node.process] where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let bankURL = try await bank.baseURL()
        var http = HTTP(base: try await node.baseURL())
        let demo = node.text
        let admin = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "admin", "password": "admin-demo-2026"]).1["accessToken"] as? String)
        for code in ["ICBC", "CCB"] {
            let r = try await http.call("PATCH", "/api/v1/banks/\(code)", token: admin, json: ["endpoint": bankURL])
            #expect(r.0 == 200, "\(r)")
        }
        let gateKey = try #require(Self.terminalKey(demo, venue: "北京市地铁"))
        // Two riders: 王秀梅 (born 1952: 65 and over, free on Beijing buses) and 李建国 (born 1985).
        var riders: [(idNumber: String, card: String)] = []
        for n in [1, 2] {
            let id = try #require(Self.holderID(demo, password: "holder-demo-\(n)"))
            let token = try #require(try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": id, "password": "holder-demo-\(n)"]).1["accessToken"] as? String)
            _ = try await http.call("POST", "/api/v1/me/ecard", token: token, json: ["deviceId": "phone-\(n)"])
            riders.append((id, try #require(try await http.call("GET", "/api/v1/me/card", token: token).1["cardNumber"] as? String)))
        }
        let firstToken = try #require(try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": riders[0].idNumber, "password": "holder-demo-1"]).1["accessToken"] as? String)
        let qr = try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: firstToken).1["token"] as? String)
        let yesterday = Date().addingTimeInterval(-86_400)  // the gate's clock, in step with the node's

        // the gate's day: the first entry with the QR code, every other tap with the card (its chip's answer to a fresh
        // challenge); metro rides for both and bus rides, journaled on the gate, none uploaded while the node is away
        var journal: [[String: Any]] = []
        var chips: [String: [[String: Any]]] = [:]
        for r in riders { chips[r.card] = try await Self.challenges(dataDir: dir, card: r.card, count: 40) }
        func chip(_ card: String) -> [String: Any] { chips[card]!.removeFirst() }
        let metro: [(String, String)] = [("苹果园", "国贸"), ("西单", "东单"), ("四惠东", "土桥"), ("公主坟", "王府井"), ("复兴门", "大望路")]
        for i in 0..<10 {
            for (k, r) in riders.enumerated() {
                let start = yesterday.addingTimeInterval(Double(5 + i * 45 * 60 + k * 7 * 60))
                let isBus = i % 3 == 2
                let (from, to) = isBus ? ("北京站", "公主坟") : metro[i % metro.count]
                let code = isBus ? "BJ-BUS" : "BJ-METRO"
                let entry: [String: Any] = i == 0 && k == 0 ? ["kind": "qr", "token": qr] : chip(r.card)
                journal.append(["tapId": "gate7-\(journal.count)", "at": Timestamp.format(start), "operator": code, "station": from, "direction": "in", "credential": entry])
                journal.append(["tapId": "gate7-\(journal.count)", "at": Timestamp.format(start.addingTimeInterval(25 * 60)), "operator": code, "station": to,
                                "direction": "out", "credential": chip(r.card)])
            }
        }
        #expect(try await node.terminate() == 0)

        // the action, the next day: the node back on the machine's clock; the gate uploads its journal in batches of 8,
        // and the node is killed while the second batch is on its way
        node = try Server(["serve", "--port", "0"] + common)
        http = HTTP(base: try await node.baseURL())
        let batches = stride(from: 0, to: journal.count, by: 8).map { Array(journal[$0..<min($0 + 8, journal.count)]) }
        func upload(_ batch: [[String: Any]], via http: HTTP) async throws -> (Int, [String: Any]) {
            try await http.call("POST", "/api/v1/transit/taps", token: gateKey, json: ["taps": batch])
        }
        var accepted = 0, duplicates = 0
        let first = try await upload(batches[0], via: http)
        #expect(first.0 == 200, "\(first)")
        accepted += first.1["accepted"] as? Int ?? 0
        let second = http
        let body = try JSONSerialization.data(withJSONObject: ["taps": batches[1]])
        let inFlight = Task {
            var request = URLRequest(url: URL(string: second.base + "/api/v1/transit/taps")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(gateKey)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = body
            _ = try? await URLSession.shared.data(for: request)
        }
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...40)))
        kill(node.process.processIdentifier, SIGKILL)
        _ = await node.process.exit()
        _ = await inFlight.value  // no answer the gate could rely on: it sends that batch again
        node = try Server(["serve", "--port", "0"] + common)
        http = HTTP(base: try await node.baseURL())
        for batch in batches.dropFirst() {
            let r = try await upload(batch, via: http)
            #expect(r.0 == 200 && (r.1["rejected"] as? [Any])?.isEmpty == true, "\(r)")
            accepted += r.1["accepted"] as? Int ?? 0
            duplicates += r.1["duplicates"] as? Int ?? 0
        }
        // every tap recorded once, whether the killed upload committed or not
        #expect(accepted + duplicates == journal.count && accepted <= journal.count)
        // the node is killed again while debits are at the bank (1.5 s each request), and restarted
        try await Task.sleep(for: .milliseconds(Int.random(in: 300...1200)))
        let before = (try await HTTP(base: bankURL).call("GET", "/debits").1["debits"] as? [Any])?.count ?? 0
        kill(node.process.processIdentifier, SIGKILL)
        _ = await node.process.exit()
        node = try Server(["serve", "--port", "0"] + common)
        http = HTTP(base: try await node.baseURL())

        // validate: every trip ends charged; the bank's statement holds each charged trip once, for its fare
        var trips: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            trips = []
            for (n, r) in riders.enumerated() {
                let token = try #require(try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": r.idNumber, "password": "holder-demo-\(n + 1)"]).1["accessToken"] as? String)
                trips += try await http.call("GET", "/api/v1/me/trips", token: token).1["trips"] as? [[String: Any]] ?? []
            }
            if trips.count == journal.count / 2, trips.allSatisfy({ $0["status"] as? String == "charged" }) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(trips.count == journal.count / 2, "\(trips.count) trips\n\(node.text.suffix(2000))")
        #expect(trips.allSatisfy { $0["status"] as? String == "charged" }, "\(trips.map { $0["status"] ?? "" })")
        let statement = try await HTTP(base: bankURL).call("GET", "/debits").1["debits"] as? [[String: Any]] ?? []
        let ids = statement.compactMap { $0["debitId"] as? String }
        #expect(Set(ids).count == ids.count, "a debit id twice on the statement")
        let owed = Dictionary(uniqueKeysWithValues: trips.filter { ($0["chargedFen"] as? Int ?? 0) > 0 }.map { ("trip-\($0["tripId"] as! String)", $0["chargedFen"] as! Int) })
        let taken = Dictionary(uniqueKeysWithValues: statement.map { ($0["debitId"] as! String, $0["amountFen"] as! Int) })
        #expect(taken == owed)
        // the 65-year-old's bus rides were free and never sent; the other rider's with the card discount
        let freeBus = trips.filter { $0["operator"] as? String == "BJ-BUS" && ($0["concession"] as? [String: Any])?["code"] as? String == "bj_elderly_65_bus" }
        #expect(freeBus.count == 3 && freeBus.allSatisfy { $0["chargedFen"] as? Int == 0 })
        #expect(trips.filter { $0["operator"] as? String == "BJ-BUS" && $0["concession"] is NSNull }.allSatisfy { $0["cardDiscountFen"] as? Int == $0["chargedFen"] as? Int })
        // the day's clearing (China Standard Time) per operator adds up to what the bank took
        let auditorToken = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "auditor", "password": "auditor-demo-2026"]).1["accessToken"] as? String)
        var collected = 0, counted = 0
        for code in ["BJ-METRO", "BJ-BUS"] {
            for day in Set(trips.compactMap { $0["serviceDay"] as? String }) {
                let c = try await http.call("GET", "/api/v1/transit/clearing?operator=\(code)&date=\(day)", token: auditorToken).1
                collected += c["collectedFen"] as? Int ?? 0
                counted += c["trips"] as? Int ?? 0
                #expect((c["fullFareFen"] as? Int ?? 0) - (c["cardDiscountFen"] as? Int ?? 0) - (c["concessionFen"] as? Int ?? 0) == c["chargedFen"] as? Int)
            }
        }
        #expect(counted == trips.count && collected == taken.values.reduce(0, +))
        print("transit e2e: \(journal.count) taps, \(trips.count) trips, \(taken.count) debits (\(before) taken when the node was killed), ¥\(Double(collected) / 100) collected")

        #expect(try await node.terminate() == 0)
        _ = try await bank.terminate()
        await db?.remove()
    }

    /// The API key the demo printed for a venue's terminal.
    static func terminalKey(_ output: String, venue: String) -> String? {
        output.split(separator: "\n").first { $0.contains("terminal") && $0.contains(venue) }?.split(separator: " ").first { $0.hasPrefix("oct_") }.map(String.init)
    }

    /// The ID number of the demo holder with this password.
    static func holderID(_ output: String, password: String) -> String? {
        output.split(separator: "\n").first { $0.contains("holder") && $0.hasSuffix(password) }?.split(separator: " ").first { $0.count == 18 }.map(String.init)
    }

    /// Fresh chip answers of a card (`onecard bench challenges`), as a card reader at a gate would read them.
    static func challenges(dataDir: String, card: String, count: Int) async throws -> [[String: Any]] {
        let r = try await EndToEndTests.run(["bench", "challenges", "--data-dir", dataDir, "--card", card, "--item", "JJJ-TRN-001", "--count", String(count)])
        return r.output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["credential"] as? [String: Any]
        }
    }
}
