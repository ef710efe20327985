import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import Testing

/// `onecard terminal` as transit gates: an entry gate and an exit gate of the metro keep letting riders through while
/// the node is down, journal every tap before the gate opens, and upload the taps once the node is back; the node
/// pairs them into a trip and prices it.
@Suite("End to end: offline transit gates", .serialized)
struct TransitGateTests {
    typealias Gate = OfflineTerminalTests.Gate

    /// The n-th tap line a gate printed.
    static func tap(_ gate: Gate, _ n: Int, timeout: TimeInterval = 20) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let lines = gate.server.text.split(separator: "\n").filter { $0.hasPrefix("{\"tapId\"") }
            if lines.count >= n { return String(lines[n - 1]) }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no tap \(n): \(gate.server.text)")
        return ""
    }

    @Test func entryAndExitGatesWorkWithTheNodeDownAndTheTripIsPricedOnceTheyUpload() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-transit-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataDir = dir.appendingPathComponent("node").path

        // setup: a node with the demo (its metro operator and the metro venue's terminal), a holder with an e-card
        var node = try EndToEndTests.Server(["serve", "--port", "0", "--demo", "--data-dir", dataDir])
        let base = try await node.baseURL()
        let port = String(base.split(separator: ":").last!)
        let http = EndToEndTests.HTTP(base: base)
        let key = try #require(TransitEndToEndTests.terminalKey(node.text, venue: "北京市地铁"))
        let idNumber = try #require(TransitEndToEndTests.holderID(node.text, password: "holder-demo-2"))
        let holder = try #require(try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": idNumber, "password": "holder-demo-2"]).1["accessToken"] as? String)
        _ = try await http.call("POST", "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone"])
        let card = try #require(try await http.call("GET", "/api/v1/me/card", token: holder).1["cardNumber"] as? String)
        let chips = try await TransitEndToEndTests.challenges(dataDir: dataDir, card: card, count: 4).map { c in
            "card:\(card):\(c["challenge"] as! String):\(c["response"] as! String)"
        }
        let t1 = try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: holder).1["token"] as? String)
        let gateIn = try Gate(["terminal", "--node", base, "--key", key, "--operator", "BJ-METRO", "--station", "苹果园", "--direction", "in",
                               "--store", dir.appendingPathComponent("in.sqlite").path, "--interval", "1"])
        let gateOut = try Gate(["terminal", "--node", base, "--key", key, "--operator", "BJ-METRO", "--station", "国贸", "--direction", "out",
                                "--store", dir.appendingPathComponent("out.sqlite").path, "--interval", "1"])
        // and a bus's validators at its two doors (Beijing buses: tap when boarding and when leaving)
        let busIn = try Gate(["terminal", "--node", base, "--key", key, "--operator", "BJ-BUS", "--station", "北京站", "--direction", "in",
                              "--store", dir.appendingPathComponent("bus-in.sqlite").path, "--interval", "1"])
        let busOut = try Gate(["terminal", "--node", base, "--key", key, "--operator", "BJ-BUS", "--station", "公主坟", "--direction", "out",
                               "--store", dir.appendingPathComponent("bus-out.sqlite").path, "--interval", "1"])
        let gates = [gateIn, gateOut, busIn, busOut]
        // every gate holds the node's trust list before it goes away
        let synced = Date().addingTimeInterval(30)
        while Date() < synced, !gates.allSatisfy({ $0.server.text.contains("trust list synced") }) { try await Task.sleep(for: .milliseconds(100)) }
        try await Task.sleep(for: .milliseconds(300))  // and its revocation list

        // action: the node stops; the holder rides in with the QR code and out with the card, then rides with the card again
        #expect(try await node.terminate() == 0)
        gateIn.send(t1)
        #expect(try await Self.tap(gateIn, 1).contains(#""decision":"accepted""#))
        gateIn.send(t1)  // the same code again at this gate: a replay
        #expect(try await Self.tap(gateIn, 2).contains("token_replayed"))
        try await Task.sleep(for: .seconds(1))
        gateOut.send(chips[0])
        #expect(try await Self.tap(gateOut, 1).contains(#""decision":"accepted""#))
        gateIn.send(chips[1])
        #expect(try await Self.tap(gateIn, 3).contains(#""decision":"accepted""#))
        // a bus ride with the card
        busIn.send(chips[2])
        #expect(try await Self.tap(busIn, 1).contains(#""decision":"accepted""#))
        try await Task.sleep(for: .seconds(1))
        busOut.send(chips[3])
        #expect(try await Self.tap(busOut, 1).contains(#""decision":"accepted""#))

        // the node returns on the same address; both gates upload their taps once
        node = try EndToEndTests.Server(["serve", "--port", port, "--data-dir", dataDir])
        _ = try await node.baseURL()
        var trips: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            trips = try await http.call("GET", "/api/v1/me/trips", token: holder).1["trips"] as? [[String: Any]] ?? []
            // Each gate uploads on its own: until the exit gate's tap arrives, the entry is closed as a missing tap-out,
            // which the late tap-out then completes (before any charge).
            if trips.contains(where: { $0["exit"] as? String == "国贸" }), trips.contains(where: { $0["exit"] as? String == "公主坟" }) { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        for gate in gates {
            try gate.input.fileHandleForWriting.close()
            #expect(try await gate.server.waitForExit() == 0)
            #expect(gate.server.text.contains("0 tap(s) still to upload"), "\(gate.server.text)")
        }
        #expect(gateIn.server.text.contains("3 decisions, decision time p50 "), "\(gateIn.server.text)")
        // validate: one trip 苹果园 → 国贸 (25.7 km: ¥6), entered with the QR code, left with the card; the second entry
        // is still open (its exit not yet made); one bus trip 北京站 → 公主坟 at the card's 50 % bus discount
        #expect(trips.count == 2, "\(trips)")
        let trip = try #require(trips.first { $0["operator"] as? String == "BJ-METRO" })
        #expect(trip["entry"] as? String == "苹果园" && trip["exit"] as? String == "国贸" && trip["fullFareFen"] as? Int == 600, "\(trip)")
        let bus = try #require(trips.first { $0["operator"] as? String == "BJ-BUS" }, "\(trips)")
        let busFare = bus["fullFareFen"] as? Int ?? 0
        #expect(bus["entry"] as? String == "北京站" && bus["exit"] as? String == "公主坟" && busFare >= 200, "\(bus)")
        #expect(bus["cardDiscountFen"] as? Int == busFare / 2, "\(bus)")
        #expect(try await node.terminate() == 0)
    }
}
