import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import OneCardTestSupport
import Testing

/// A national hub and three provincial nodes (Beijing, Tianjin, Hebei), each a real `onecard` process on
/// 127.0.0.1 with its own data folder and database, the nodes admitted to the hub as an administrator
/// would: `keys show` on each side, `hub members add` with the node's URL and key.
final class FederationHarness: @unchecked Sendable {
    typealias Server = EndToEndTests.Server

    static let beijing = "110000", tianjin = "120000", hebei = "130000"
    static let regions = [beijing, tianjin, hebei]
    /// Seconds between a node's exchanges with the hub.
    static let interval = "0.2"

    struct Node {
        let region: String
        let dir: String
        let database: String?
        var server: Server
        var url: String
        var http: FederationClient { FederationClient(base: url) }
        var admin = "", agent = "", auditor = ""
        /// A demo holder's ID number (1…4), as the demo prints it.
        func holderID(_ n: Int) -> String? {
            server.text.split(separator: "\n").first { $0.contains("holder") && $0.contains("holder-demo-\(n)") }?
                .split(separator: " ").first { $0.count == 18 }.map(String.init)
        }
        /// A demo terminal's API key, by a part of its venue's name.
        func terminalKey(venue: String) -> String? {
            server.text.split(separator: "\n").first { $0.contains("terminal") && $0.contains(venue) }?
                .split(separator: " ").first { $0.hasPrefix("oct_") }.map(String.init)
        }
    }

    let engine: Engine
    let dir: URL
    var hub: Server
    let hubDir: String
    let hubURL: String
    var hubPort: String { String(hubURL.split(separator: ":").last!) }
    let hubKeyFile: String
    let personKeyFile: String
    var nodes: [String: Node] = [:]
    private var databases: [TestDatabase] = []
    /// Other processes a story starts (gates, peers), stopped with the rest.
    var others: [Server] = []

    subscript(region: String) -> Node { nodes[region]! }

    private init(engine: Engine, dir: URL, hub: Server, hubDir: String, hubURL: String, hubKeyFile: String, personKeyFile: String) {
        self.engine = engine; self.dir = dir; self.hub = hub; self.hubDir = hubDir; self.hubURL = hubURL
        self.hubKeyFile = hubKeyFile; self.personKeyFile = personKeyFile
    }

    /// Starts everything, runs `body`, and stops every process and removes every database and folder, also when
    /// `body` throws.
    static func with(_ engine: Engine, _ body: (FederationHarness) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-fed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // setup: the hub, its key as `keys show` prints it, and the members' shared person key
        let hubDir = dir.appendingPathComponent("hub").path
        let hub = try Server(["hub", "--port", "0", "--data-dir", hubDir])
        let hubURL: String
        do { hubURL = try await hub.baseURL() } catch { _ = try? await hub.terminate(); throw error }
        let fed = FederationHarness(engine: engine, dir: dir, hub: hub, hubDir: hubDir, hubURL: hubURL,
                                    hubKeyFile: dir.appendingPathComponent("hub-key.json").path,
                                    personKeyFile: dir.appendingPathComponent("person.key").path)
        do {
            try await fed.start()
            try await body(fed)
        } catch {
            await fed.stop()
            throw error
        }
        await fed.stop()
    }

    private func start() async throws {
        let hubKey = try await EndToEndTests.run(["keys", "show", "--data-dir", hubDir])
        #expect(hubKey.status == 0 && hubKey.output.contains(#""hub":true"#), "\(hubKey.output)")
        try hubKey.output.write(toFile: hubKeyFile, atomically: true, encoding: .utf8)
        var seed = [UInt8](repeating: 0, count: 32)
        for i in seed.indices { seed[i] = UInt8.random(in: 0...255) }
        try Data(seed).base64EncodedString().write(toFile: personKeyFile, atomically: true, encoding: .utf8)

        // Each node's key is handed to the hub before the node starts: a node seeding its demo while joined to a hub
        // claims its demo holders there at once, so it must already be a member (`serve --demo` refuses to start
        // otherwise). Its URL is known once it listens (port 0); until then the hub holds a placeholder, and a second
        // `members add` sets the real one.
        for region in Self.regions {
            let nodeDir = dir.appendingPathComponent("node-\(region)").path
            let shown = try await EndToEndTests.run(["keys", "show", "--data-dir", nodeDir])
            #expect(shown.status == 0 && shown.output.contains("federationKey"), "\(shown.output)")
            try shown.output.write(toFile: keyFile(region), atomically: true, encoding: .utf8)
            try await admit(region, url: "http://127.0.0.1:9")
        }
        // The three nodes start together (each seeds its demo).
        for region in Self.regions {
            let nodeDir = dir.appendingPathComponent("node-\(region)").path
            var database: String?
            if engine == .postgres {
                let (url, db) = try await EndToEndTests.databaseArgument(.postgres)
                if let db { databases.append(db) }
                database = url
                let migrated = try await EndToEndTests.run(["migrate", "--data-dir", nodeDir] + (url.map { ["--database", $0] } ?? []))
                #expect(migrated.status == 0, "\(migrated.output)")
            }
            let server = try Server(["serve", "--region", region, "--port", "0", "--data-dir", nodeDir, "--demo",
                                     "--hub", hubURL, "--hub-key", "@" + hubKeyFile, "--person-key", "@" + personKeyFile,
                                     "--federation-interval", Self.interval] + (database.map { ["--database", $0] } ?? []))
            nodes[region] = Node(region: region, dir: nodeDir, database: database, server: server, url: "")
        }
        for region in Self.regions {
            nodes[region]!.url = try await self[region].server.baseURL(timeout: 120)
            try await admit(region, url: self[region].url)
            let shown = try await EndToEndTests.run(["keys", "show", "--data-dir", self[region].dir])
            #expect(shown.output.contains(#""region":"\#(region)""#), "\(shown.output)")
        }
        let listed = try await EndToEndTests.run(["hub", "members", "list", "--data-dir", hubDir])
        #expect(Self.regions.allSatisfy { listed.output.contains($0) }, "\(listed.output)")

        for region in Self.regions {
            let http = self[region].http
            func login(_ user: String) async throws -> String {
                try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": user, "password": "\(user)-demo-2026"])["accessToken"] as? String)
            }
            nodes[region]!.admin = try await login("admin")
            nodes[region]!.agent = try await login("agent")
            nodes[region]!.auditor = try await login("auditor")
        }
        try await waitUntilSettled()
    }

    private func keyFile(_ region: String) -> String { dir.appendingPathComponent("key-\(region).json").path }

    /// `onecard hub members add` with the node's key as `keys show` printed it.
    private func admit(_ region: String, url: String) async throws {
        let added = try await EndToEndTests.run(["hub", "members", "add", "--data-dir", hubDir, "--region", region, "--url", url, "--key", "@" + keyFile(region)])
        #expect(added.status == 0, "\(added.output)")
    }

    /// Waits until every node reaches the hub, has delivered its outbox (its demo cards are known to the hub), sees the
    /// three members and holds every region's QR keys.
    func waitUntilSettled(timeout: TimeInterval = 60) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: String] = [:]
        while Date() < deadline {
            var settled = true
            for region in Self.regions {
                let node = self[region]
                let status = try await node.http.call("GET", "/api/v1/federation/status", token: node.admin)
                let jwks = try await node.http.call("GET", "/api/v1/trust/jwks")
                let issuers = Set((jwks["keys"] as? [[String: Any]] ?? []).compactMap { $0["iss"] as? String })
                let ok = (status["hub"] as? [String: Any])?["reachable"] as? Bool == true
                    && (status["outbox"] as? [String: Any])?["pending"] as? Int == 0
                    && (status["members"] as? [Any])?.count == 3
                    && status["trustListVersion"] as? Int != nil
                    && issuers.isSuperset(of: Self.regions)
                last[region] = "status \(status.text) issuers \(issuers.sorted())"
                settled = settled && ok
            }
            if settled { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("the federation did not settle in \(Int(timeout)) s: \(last)\nhub: \(hub.text.suffix(2000))")
        throw Unsettled()
    }

    struct Unsettled: Error {}

    /// Kills the hub at once (no graceful shutdown).
    func killHub() async throws {
        kill(hub.process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while hub.process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    /// Starts the hub again on the same port and data folder.
    func restartHub() async throws {
        hub = try Server(["hub", "--port", hubPort, "--data-dir", hubDir])
        let url = try await hub.baseURL()
        #expect(url == hubURL)
    }

    func stop() async {
        for p in others where p.process.isRunning { _ = try? await p.terminate(timeout: 5) }
        for node in nodes.values where node.server.process.isRunning { _ = try? await node.server.terminate(timeout: 10) }
        if hub.process.isRunning { _ = try? await hub.terminate(timeout: 10) }
        // ONECARD_TEST_LOGS=DIR keeps every process's output for a look afterwards.
        if let logs = ProcessInfo.processInfo.environment["ONECARD_TEST_LOGS"] {
            try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            let outputs = [("hub", hub.text)] + nodes.values.map { ("node-\($0.region)", $0.server.text) }
                + others.enumerated().map { ("other-\($0.offset)", $0.element.text) }
            for (name, text) in outputs { try? text.write(toFile: "\(logs)/federation-\(engine.rawValue)-\(name).log", atomically: true, encoding: .utf8) }
        }
        for db in databases { await db.remove() }
        databases = []
    }
}

/// HTTP for these tests: any method, headers both ways, the raw body and its JSON.
struct FederationClient {
    let base: String

    struct Reply: CustomStringConvertible {
        let status: Int
        let body: Data
        let headers: [String: String]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        subscript(key: String) -> Any? { json[key] }
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
        var description: String { "\(status) \(text)" }
    }

    func call(_ method: String, _ path: String, token: String? = nil, json: Any? = nil,
              headers: [(name: String, value: String)] = []) async throws -> Reply {
        var request = URLRequest(url: URL(string: path.hasPrefix("http") ? path : base + path)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for h in headers { request.setValue(h.value, forHTTPHeaderField: h.name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields["\(k)"] = "\(v)" }
        return Reply(status: http.statusCode, body: data, headers: fields)
    }
}

extension Dictionary where Key == String, Value == Any {
    /// The dictionary as JSON text, for messages.
    var text: String {
        (try? JSONSerialization.data(withJSONObject: self, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "\(self)"
    }
}

/// `onecard terminal` against a node, driven one token at a time.
final class GateDriver: @unchecked Sendable {
    let gate: OfflineTerminalTests.Gate
    private(set) var decisions = 0

    init(node: String, key: String, item: String, store: String, interval: String) throws {
        gate = try OfflineTerminalTests.Gate(["terminal", "--node", node, "--key", key, "--item", item, "--store", store, "--interval", interval])
    }

    /// Presents a token and returns the gate's decision line.
    func present(_ token: String) async throws -> String {
        decisions += 1
        gate.send(token)
        return try await gate.decision(decisions, timeout: 10)
    }
}
