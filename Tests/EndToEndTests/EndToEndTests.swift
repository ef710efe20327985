import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing

/// The real `onecard` binary, run as a newcomer would: bootstrap an admin, serve, and walk a person
/// from application to cancellation over HTTP; then stop it with SIGTERM.
@Suite("End to end: the onecard binary", .serialized)
struct EndToEndTests {
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["ONECARD_BIN"] { return URL(fileURLWithPath: path) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/onecard")
    }

    /// Runs a command to completion, feeding `input` on standard input.
    static func run(_ arguments: [String], input: String? = nil) async throws -> (status: Int32, output: String) {
        let r = try await ChildProcess.collect(binary, arguments, input: Data((input ?? "").utf8))
        return (r.status, String(decoding: r.output, as: UTF8.self))
    }

    /// A running `onecard serve`, its output collected as it comes.
    final class Server: @unchecked Sendable {
        let process = ChildProcess()
        private let lock = NSLock()
        private var output = ""
        var text: String { lock.lock(); defer { lock.unlock() }; return output }

        /// Runs `onecard` with `arguments` (or another program: `executable`), its output collected as it comes.
        init(_ arguments: [String], standardInput: Pipe? = nil, executable: URL = EndToEndTests.binary) throws {
            process.executableURL = executable
            process.arguments = arguments
            if let standardInput { process.standardInput = standardInput }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            pipe.fileHandleForReading.readabilityHandler = { [weak self] h in
                let d = h.availableData
                guard let self, !d.isEmpty else { return }
                self.lock.lock(); self.output += String(decoding: d, as: UTF8.self); self.lock.unlock()
            }
            try process.run()
        }

        /// Waits for the "listening on" line and returns the base URL.
        func baseURL(timeout: TimeInterval = 60) async throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let range = text.range(of: #"listening on (https?://[0-9.]+:[0-9]+)"#, options: .regularExpression) {
                    return String(text[range].dropFirst("listening on ".count))
                }
                guard process.isRunning else { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ServerDidNotStart(output: text)
        }

        /// Waits for the process to end by itself (SIGTERM after `timeout`); returns its exit status.
        func waitForExit(timeout: TimeInterval = 20) async throws -> Int32 {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            return process.isRunning ? try await terminate() : process.terminationStatus
        }

        /// Sends SIGTERM and waits for the process to end; returns its exit status.
        func terminate(timeout: TimeInterval = 20) async throws -> Int32 {
            process.terminate()
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); return -1 }
            return process.terminationStatus
        }
    }

    struct ServerDidNotStart: Error, CustomStringConvertible { let output: String; var description: String { "server did not start:\n\(output)" } }

    struct HTTP {
        let base: String
        func call(_ method: String, _ path: String, token: String? = nil, json: [String: Any]? = nil) async throws -> (Int, [String: Any]) {
            var request = URLRequest(url: URL(string: base + path)!)
            request.httpMethod = method
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            if let json {
                request.httpBody = try JSONSerialization.data(withJSONObject: json)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            return ((response as! HTTPURLResponse).statusCode, object)
        }
    }

    static func databaseArgument(_ engine: Engine) async throws -> (String?, TestDatabase?) {
        guard engine == .postgres else { return (nil, nil) }
        let db = try await TestDatabase.make(.postgres)
        guard case let .postgres(host, port, user, password, name) = db.url else { return (nil, db) }
        let auth = password.map { "\(user):\($0)" } ?? user
        return ("postgres://\(auth)@\(host):\(port)/\(name)", db)
    }

    @Test(arguments: Engine.available)
    func aPersonFromApplicationToCancellation(_ engine: Engine) async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let (database, db) = try await Self.databaseArgument(engine)
        let dbArgs = database.map { ["--database", $0] } ?? []
        let common = ["--data-dir", dataDir] + dbArgs

        if engine == .postgres {
            // Against PostgreSQL, serve refuses to start with pending migrations and says what to run.
            let refused = try await Self.run(["serve", "--port", "0"] + common)
            #expect(refused.status != 0)
            #expect(refused.output.contains("onecard migrate"), "\(refused.output)")
            let migrated = try await Self.run(["migrate"] + common)
            #expect(migrated.status == 0 && migrated.output.contains("applied"), "\(migrated.output)")
        }

        // setup: bootstrap the first administrator, password on standard input
        let created = try await Self.run(["users", "create", "--username", "root", "--role", "admin"] + common, input: "root-password-1\n")
        #expect(created.status == 0, "\(created.output)")
        #expect(try await Self.run(["users", "create", "--username", "x", "--role", "wizard"] + common, input: "password-x\n").status != 0)
        let keyFile = try FileManager.default.attributesOfItem(atPath: dataDir + "/node.key")
        #expect((keyFile[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let server = try Server(["serve", "--port", "0", "--region", "110000"] + common)
        let base: String
        do { base = try await server.baseURL() } catch { _ = try? await server.terminate(); throw error }
        let http = HTTP(base: base)
        do {
            #expect(try await http.call("GET", "/health").1["status"] as? String == "ok")
            #expect(try await http.call("GET", "/openapi.json").1["openapi"] as? String == "3.1.0")
            let admin = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "root", "password": "root-password-1"]).1["accessToken"] as? String)
            #expect(try await http.call("POST", "/api/v1/users", token: admin, json: ["username": "clerk", "password": "clerk-password-1", "role": "agent"]).0 == 201)
            let agent = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "clerk", "password": "clerk-password-1"]).1["accessToken"] as? String)
            let outlet = try #require(try await http.call("POST", "/api/v1/outlets", token: admin, json: [
                "name": "东城区社保卡服务中心", "regionCode": "110101", "address": "东直门 1 号", "services": ["apply", "pickup"],
                "hours": "09:00-17:00", "accessibility": ["无障碍通道"],
            ]).1["outletId"] as? String)
            #expect(try await http.call("POST", "/api/v1/banks", token: admin, json: ["code": "BOC", "name": "中国银行", "agreementFrom": "2024-01-01", "agreementTo": "2034-12-31"]).0 == 201)
            let person = try #require(try await http.call("POST", "/api/v1/persons", token: agent, json: [
                "idType": "resident", "idNumber": TestIDs.resident(region: "110101", birth: "19760502", sequence: "031"), "name": "赵立新", "phone": "13900002222",
            ]).1["personId"] as? String)
            let application = try await http.call("POST", "/api/v1/card-applications", token: agent, json: [
                "personId": person, "channel": "counter", "applyOutletId": outlet, "bankCode": "BOC",
            ])
            #expect(application.0 == 201, "\(application)")
            let id = try #require(application.1["applicationId"] as? String)
            var number = ""
            for step in ["approve", "produce", "ready", "collect"] {
                let r = try await http.call("POST", "/api/v1/card-applications/\(id)/\(step)", token: agent)
                #expect(r.0 == 200, "\(step) \(r)")
                if step == "produce" { number = try #require(r.1["cardNumber"] as? String); #expect(r.1["chipKey"] is String) }
            }
            let moves: [(String, [String: Any]?, String)] = [
                ("activate", ["pin": "314159"], "active"), ("report-loss", ["kind": "temporary"], "temporarily_lost"),
                ("unlock", nil, "active"), ("report-loss", ["kind": "formal"], "lost"),
            ]
            for (action, body, status) in moves {
                let r = try await http.call("POST", "/api/v1/cards/\(number)/\(action)", token: agent, json: body)
                #expect(r.0 == 200 && r.1["status"] as? String == status, "\(action) \(r)")
            }
            let replaced = try await http.call("POST", "/api/v1/cards/\(number)/replace", token: agent, json: ["reason": "lost"])
            #expect(replaced.0 == 201)
            let newNumber = try #require(replaced.1["cardNumber"] as? String)
            let cancelled = try await http.call("POST", "/api/v1/cards/\(newNumber)/cancel", token: agent, json: ["reason": "death"])
            #expect(cancelled.1["status"] as? String == "cancelled")
            let events = try await http.call("GET", "/api/v1/cards/\(number)/events", token: agent).1["events"] as? [[String: Any]] ?? []
            #expect(events.count == 11, "\(events)")
            #expect(events.last?["type"] as? String == "card_replaced")
            let newEvents = try await http.call("GET", "/api/v1/cards/\(newNumber)/events", token: agent).1["events"] as? [[String: Any]] ?? []
            #expect(newEvents.compactMap { $0["type"] as? String } == ["card_issued", "card_cancelled"])
        } catch {
            _ = try? await server.terminate()
            await db?.remove()
            throw error
        }
        // SIGTERM stops it gracefully.
        #expect(try await server.terminate() == 0, "\(server.text)")
        await db?.remove()
    }

    @Test func badConfigurationStopsStartUpWithAMessage() async throws {
        let r = try await Self.run(["serve", "--database", "mysql://nowhere", "--data-dir", FileManager.default.temporaryDirectory.path + "/onecard-bad-\(UUID().uuidString)"])
        #expect(r.status != 0 && r.output.contains("--database"), "\(r.output)")
        let region = try await Self.run(["serve", "--region", "110105", "--database", "sqlite::memory:", "--data-dir", FileManager.default.temporaryDirectory.path + "/onecard-bad-\(UUID().uuidString)"])
        #expect(region.status != 0 && region.output.contains("--region"), "\(region.output)")
    }

    @Test func theDemoIsSeededOnceAndItsLoginsWork() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let server = try Server(["serve", "--port", "0", "--demo", "--region", "440000", "--data-dir", dataDir])
        let base = try await server.baseURL()
        let http = HTTP(base: base)
        #expect(server.text.contains("holder"), "\(server.text)")
        let admin = try await http.call("POST", "/api/v1/auth/token", json: ["username": "admin", "password": "admin-demo-2026"])
        #expect(admin.0 == 200)
        let outlets = try await http.call("GET", "/api/v1/outlets").1["outlets"] as? [[String: Any]] ?? []
        #expect(outlets.count == 3 && outlets.allSatisfy { ($0["regionCode"] as? String)?.hasPrefix("44") == true })
        let holder = try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": DemoIDs.first(in: server.text) ?? "", "password": "holder-demo-1"])
        #expect(holder.0 == 200, "\(holder)")
        let card = try await http.call("GET", "/api/v1/me/card", token: holder.1["accessToken"] as? String)
        #expect(card.1["status"] as? String == "active" && card.1["issuerRegion"] as? String == "440000", "\(card)")
        #expect(try await server.terminate() == 0)
        // A second start with --demo leaves the data alone.
        let again = try Server(["serve", "--port", "0", "--demo", "--region", "440000", "--data-dir", dataDir])
        _ = try await again.baseURL()
        #expect(again.text.contains("not empty"))
        #expect(try await again.terminate() == 0)
    }

    enum DemoIDs {
        static func first(in output: String) -> String? {
            output.split(separator: "\n").first { $0.contains("holder") && $0.contains("holder-demo-1") }?
                .split(separator: " ").first { $0.count == 18 }.map(String.init)
        }
    }
}
