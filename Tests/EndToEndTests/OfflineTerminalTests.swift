import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import Testing

/// A gate keeps deciding while its node is down and hands every decision over once when it returns.
@Suite("End to end: the offline terminal", .serialized)
struct OfflineTerminalTests {
    /// `onecard terminal` with a pipe on standard input and its output collected.
    final class Gate: @unchecked Sendable {
        let server: EndToEndTests.Server
        let input = Pipe()
        init(_ arguments: [String]) throws {
            server = try EndToEndTests.Server(arguments, standardInput: input)
        }
        func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }
        /// Waits for the n-th decision line (a minute: the gate syncs before its first decision, slow on a loaded CI machine).
        func decision(_ n: Int, timeout: TimeInterval = 60) async throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let lines = server.text.split(separator: "\n").filter { $0.hasPrefix("{\"decisionId\"") }
                if lines.count >= n { return String(lines[n - 1]) }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("no decision \(n): \(server.text)")
            return ""
        }
    }

    @Test func aGateWorksWithTheNodeDownAndUploadsEverythingOnce() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataDir = dir.appendingPathComponent("node").path

        // setup: a node with the demo; its library terminal key and a holder with an e-card
        var node = try EndToEndTests.Server(["serve", "--port", "0", "--demo", "--data-dir", dataDir])
        let base = try await node.baseURL()
        let port = String(base.split(separator: ":").last!)
        let http = EndToEndTests.HTTP(base: base)
        let libraryLine = try #require(node.text.split(separator: "\n").first { $0.contains("terminal") && $0.contains("图书馆") })
        let key = try #require(libraryLine.split(separator: " ").first { $0.hasPrefix("oct_") }).description
        let idNumber = try #require(EndToEndTests.DemoIDs.first(in: node.text))
        let holder = try #require(try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": idNumber, "password": "holder-demo-1"]).1["accessToken"] as? String)
        _ = try await http.call("POST", "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone"])
        let t1 = try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: holder).1["token"] as? String)
        let t2 = try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: holder).1["token"] as? String)

        let store = dir.appendingPathComponent("gate.sqlite").path
        let gate = try Gate(["terminal", "--node", base, "--key", key, "--item", "JJJ-LIB-001", "--store", store, "--interval", "1"])
        try await Task.sleep(for: .milliseconds(500))
        gate.send(t1)
        #expect(try await gate.decision(1).contains(#""decision":"accepted""#))

        // The node stops; the gate goes on deciding from what it synced.
        #expect(try await node.terminate() == 0)
        gate.send(t2)
        #expect(try await gate.decision(2).contains(#""decision":"accepted""#))
        gate.send(t1)
        #expect(try await gate.decision(3).contains("token_replayed"))
        gate.send("garbage")
        #expect(try await gate.decision(4).contains("token_invalid"))

        // The node returns on the same address; the gate uploads everything once.
        node = try EndToEndTests.Server(["serve", "--port", port, "--data-dir", dataDir])
        _ = try await node.baseURL()
        var uses: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            uses = try await http.call("GET", "/api/v1/me/uses", token: holder).1["uses"] as? [[String: Any]] ?? []
            if uses.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        try gate.input.fileHandleForWriting.close()
        #expect(try await gate.server.waitForExit() == 0)
        #expect(gate.server.text.contains("0 decision(s) still to upload"), "\(gate.server.text)")
        // On the way out the gate reports its own decision times (Benchmarks/load.sh reads this line).
        #expect(gate.server.text.contains("4 decisions, decision time p50 "), "\(gate.server.text)")
        // Three decisions name the holder's card (the garbage line names none); none is counted twice.
        #expect(uses.count == 3, "\(uses)")
        #expect(uses.filter { $0["decision"] as? String == "accepted" }.count == 2)

        // A second run of the gate on the same store uploads nothing again, and still knows the tokens it
        // accepted before the restart: presenting one again is a replay.
        let again = try Gate(["terminal", "--node", base, "--key", key, "--item", "JJJ-LIB-001", "--store", store, "--interval", "1"])
        again.send(t2)
        #expect(try await again.decision(1).contains("token_replayed"))
        try again.input.fileHandleForWriting.close()
        #expect(try await again.server.waitForExit() == 0)
        let after = try await http.call("GET", "/api/v1/me/uses", token: holder).1["uses"] as? [[String: Any]] ?? []
        #expect(after.count == 4 && after.filter { $0["decision"] as? String == "accepted" }.count == 2, "\(after)")
        #expect(try await node.terminate() == 0)
    }

    /// A gate started with no store loads the node's whole list as one signed snapshot (issue 18), keeps it as its store,
    /// follows the deltas after its `seq`, and after a restart reads its store instead of downloading the list again.
    @Test func aGateFromEmptyLoadsTheSnapshotThenFollowsDeltas() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // setup: a node with the demo, two holders with e-cards and a token each
        let node = try EndToEndTests.Server(["serve", "--port", "0", "--demo", "--data-dir", dir.appendingPathComponent("node").path])
        let base = try await node.baseURL()
        let http = EndToEndTests.HTTP(base: base)
        let libraryLine = try #require(node.text.split(separator: "\n").first { $0.contains("terminal") && $0.contains("图书馆") })
        let key = try #require(libraryLine.split(separator: " ").first { $0.hasPrefix("oct_") }).description
        var holders: [String] = []
        for password in ["holder-demo-1", "holder-demo-2"] {
            let line = try #require(node.text.split(separator: "\n").first { $0.contains("holder") && $0.hasSuffix(password) })
            let idNumber = String(try #require(line.split(separator: " ").first { $0.count == 18 }))
            let signIn = try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": idNumber, "password": password])
            let token = try #require(signIn.1["accessToken"] as? String, "\(signIn)")
            _ = try await http.call("POST", "/api/v1/me/ecard", token: token, json: ["deviceId": "phone"])
            holders.append(token)
        }
        let lostBefore = try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: holders[0]).1["token"] as? String)
        let lostAfter = try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: holders[1]).1["token"] as? String)
        // the first holder's card is reported lost before the gate exists
        #expect(try await http.call("POST", "/api/v1/me/report-loss", token: holders[0], json: ["kind": "temporary"]).0 == 200)
        let store = dir.appendingPathComponent("gate.sqlite").path
        let arguments = ["terminal", "--node", base, "--key", key, "--item", "JJJ-LIB-001", "--store", store, "--interval", "0.5"]

        // action: a gate from empty
        let gate = try Gate(arguments)
        let deadline = Date().addingTimeInterval(20)
        while !gate.server.text.contains("revocation snapshot loaded"), Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }

        // validate: the list came as a snapshot and is the gate's store (0600); the token of the lost card is refused
        #expect(gate.server.text.contains("revocation snapshot loaded: "), "\(gate.server.text)")
        gate.send(lostBefore)
        #expect(try await gate.decision(1).contains("card_lost"), "\(gate.server.text)")
        let attributes = try FileManager.default.attributesOfItem(atPath: store + ".revocations")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // a loss after the snapshot reaches the gate as a delta after its seq
        #expect(try await http.call("POST", "/api/v1/me/report-loss", token: holders[1], json: ["kind": "temporary"]).0 == 200)
        try await Task.sleep(for: .seconds(2))
        gate.send(lostAfter)
        #expect(try await gate.decision(2).contains("card_lost"), "\(gate.server.text)")
        try gate.input.fileHandleForWriting.close()
        #expect(try await gate.server.waitForExit() == 0)
        // restarted, the gate reads its store: no second download, the same answers
        let again = try Gate(arguments)
        again.send(lostAfter)
        #expect(try await again.decision(1).contains("card_lost"), "\(again.server.text)")
        try again.input.fileHandleForWriting.close()
        #expect(try await again.server.waitForExit() == 0)
        #expect(!again.server.text.contains("revocation snapshot"), "\(again.server.text)")
        #expect(try await node.terminate() == 0)
    }

    /// Incident mode reaches an offline gate through the signed revocation list: it refuses every code with
    /// `online_check_required` (also after a restart while the node is down), and decides offline again once it ends.
    @Test func incidentModeSendsAnOfflineGateOnline() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataDir = dir.appendingPathComponent("node").path
        var node = try EndToEndTests.Server(["serve", "--port", "0", "--demo", "--data-dir", dataDir])
        let base = try await node.baseURL()
        let port = String(base.split(separator: ":").last!)
        let http = EndToEndTests.HTTP(base: base)
        let libraryLine = try #require(node.text.split(separator: "\n").first { $0.contains("terminal") && $0.contains("图书馆") })
        let key = try #require(libraryLine.split(separator: " ").first { $0.hasPrefix("oct_") }).description
        let idNumber = try #require(EndToEndTests.DemoIDs.first(in: node.text))
        let holder = try #require(try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": idNumber, "password": "holder-demo-1"]).1["accessToken"] as? String)
        _ = try await http.call("POST", "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone"])
        func qr() async throws -> String { try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: holder).1["token"] as? String) }
        let admin = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "admin", "password": "admin-demo-2026"]).1["accessToken"] as? String)
        let store = dir.appendingPathComponent("gate.sqlite").path
        let arguments = ["terminal", "--node", base, "--key", key, "--item", "JJJ-LIB-001", "--store", store, "--interval", "0.5"]

        // the action: incident mode on while the gate runs
        let gate = try Gate(arguments)
        try await Task.sleep(for: .milliseconds(500))
        gate.send(try await qr())
        #expect(try await gate.decision(1).contains(#""decision":"accepted""#))
        let on = try await http.call("PUT", "/api/v1/incident", token: admin, json: ["active": true, "reason": "应急演练"])
        #expect(on.0 == 200, "\(on)")
        try await Task.sleep(for: .seconds(2))
        let during = try await qr()
        gate.send(during)
        #expect(try await gate.decision(2).contains("online_check_required"), "\(gate.server.text)")
        try gate.input.fileHandleForWriting.close()
        #expect(try await gate.server.waitForExit() == 0)

        // A gate restarted with the node down remembers it.
        #expect(try await node.terminate() == 0)
        let restarted = try Gate(arguments)
        restarted.send(during)
        #expect(try await restarted.decision(1).contains("online_check_required"), "\(restarted.server.text)")
        try restarted.input.fileHandleForWriting.close()
        #expect(try await restarted.server.waitForExit() == 0)

        // Ended: the gate decides offline again.
        node = try EndToEndTests.Server(["serve", "--port", port, "--data-dir", dataDir])
        _ = try await node.baseURL()
        let admin2 = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "admin", "password": "admin-demo-2026"]).1["accessToken"] as? String)
        #expect(try await http.call("PUT", "/api/v1/incident", token: admin2, json: ["active": false, "reason": "演练结束"]).0 == 200)
        let after = try Gate(arguments)
        try await Task.sleep(for: .seconds(1.5))
        after.send(try await qr())
        #expect(try await after.decision(1).contains(#""decision":"accepted""#), "\(after.server.text)")
        try after.input.fileHandleForWriting.close()
        #expect(try await after.server.waitForExit() == 0)
        #expect(try await node.terminate() == 0)
    }
}
