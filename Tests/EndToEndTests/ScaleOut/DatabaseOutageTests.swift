import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardTestSupport
import Testing

/// A throwaway PostgreSQL of its own, on a free loopback port under /tmp, that a test may stop and start (the shared
/// test server must never be stopped). initdb and pg_ctl refuse root: they run as the postgres user then.
final class ThrowawayPostgres: @unchecked Sendable {
    let root: URL
    let port: Int
    let bin: String
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    static var binaries: String? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        return versions.map { "\(base)/\($0)/bin" }.last { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }

    init() throws {
        guard let bin = Self.binaries else { throw Failure("no PostgreSQL server binaries under /usr/lib/postgresql (Debian package postgresql)") }
        self.bin = bin
        root = URL(fileURLWithPath: "/tmp/onecard-outage-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if getuid() == 0 { try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: root.path) }
        port = try Self.freePort()
        try run("\(bin)/initdb", ["-D", root.path + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        try start()
    }

    func start() throws {
        try run("\(bin)/pg_ctl", ["-D", root.path + "/data", "-l", root.path + "/server.log", "-w", "-o",
                                  "-p \(port) -k \(root.path) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", "start"])
    }

    /// Stops at once, as a crash would: every connection is cut (SQLSTATE 57P01 or a closed socket).
    func stopImmediately() throws { try run("\(bin)/pg_ctl", ["-D", root.path + "/data", "-m", "immediate", "stop"]) }

    func remove() {
        try? run("\(bin)/pg_ctl", ["-D", root.path + "/data", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(at: root)
    }

    /// Runs a PostgreSQL tool to its end. posix_spawn and waitpid rather than Foundation's Process: with pg_ctl, whose
    /// postmaster lives on, Process.waitUntilExit was seen never to return although the child had ended.
    private func run(_ program: String, _ arguments: [String]) throws {
        let argv = (getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] : [program]) + arguments
        let outPath = root.deletingLastPathComponent().appendingPathComponent("\(root.lastPathComponent)-\(UUID().uuidString.prefix(6)).log").path
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard spawned == 0 else { throw Failure("cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
        guard exited else {
            let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
            throw Failure("\(argv.joined(separator: " ")) (status \(status)): \(text)")
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}

/// The database dies under load: every request is answered 2xx or 503 `database_unavailable` with Retry-After within
/// 10 s (never 500, never left hanging); once PostgreSQL is back the same process serves again; SIGTERM stops it at once
/// even while the database is gone. Real processes: `onecard serve` over a PostgreSQL this test starts and stops.
@Suite("Database outage: answered cleanly", .serialized)
struct DatabaseOutageTests {
    struct Answer: Sendable {
        let status: Int
        let code: String?
        let retryAfter: String?
        let seconds: Double
        let at: Date
    }

    static func call(_ base: String, _ method: String, _ path: String, token: String, json: [String: Any]? = nil) async -> Answer {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let json {
            request.httpBody = try? JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let start = Date()
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as! HTTPURLResponse
            let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            return Answer(status: http.statusCode, code: body?["code"] as? String, retryAfter: http.value(forHTTPHeaderField: "Retry-After"),
                          seconds: Date().timeIntervalSince(start), at: Date())
        } catch {
            return Answer(status: -1, code: "\(error)", retryAfter: nil, seconds: Date().timeIntervalSince(start), at: Date())
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func requestsAreAnswered503WhileTheDatabaseIsDownAndServedAgainAfter() async throws {
        // setup: a throwaway PostgreSQL, migrated, an administrator, a node serving on it
        let pg = try ThrowawayPostgres()
        defer { pg.remove() }
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-outage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let common = ["--data-dir", dataDir, "--database", pg.url]
        let migrated = try await EndToEndTests.run(["migrate"] + common)
        #expect(migrated.status == 0, "\(migrated.output)")
        let created = try await EndToEndTests.run(["users", "create", "--username", "root", "--role", "admin"] + common, input: "root-password-1\n")
        #expect(created.status == 0, "\(created.output)")
        let server = try EndToEndTests.Server(["serve", "--port", "0", "--rate-limit-public", "0"] + common)
        let base: String
        do { base = try await server.baseURL() } catch { _ = try? await server.terminate(); throw error }

        do {
            let http = EndToEndTests.HTTP(base: base)
            let token = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "root", "password": "root-password-1"]).1["accessToken"] as? String)

            // load: four clients, reads and writes, until told to stop
            let stop = Flag(), served = Flag()
            let started = Date()
            let load = Task {
                await withTaskGroup(of: [Answer].self) { group in
                    for client in 0..<4 {
                        group.addTask {
                            var answers: [Answer] = []
                            var n = 0
                            while !stop.isSet {
                                n += 1
                                if n % 2 == 0 {
                                    answers.append(await Self.call(base, "POST", "/api/v1/outlets", token: token, json: [
                                        "name": "网点 \(client)-\(n)", "regionCode": "110101", "address": "东直门 \(n) 号", "services": ["apply"],
                                        "hours": "09:00-17:00", "accessibility": [String](),
                                    ]))
                                } else {
                                    answers.append(await Self.call(base, "GET", "/api/v1/users", token: token))
                                }
                                if let last = answers.last, (200..<300).contains(last.status) { served.set() }
                                try? await Task.sleep(for: .milliseconds(20))
                            }
                            return answers
                        }
                    }
                    var all: [Answer] = []
                    for await a in group { all += a }
                    return all
                }
            }

            // the database dies mid-load (once the load has been served: the first answers are slow when the suite runs
            // in parallel), stays down a while, comes back
            let servedDeadline = Date().addingTimeInterval(30)
            while !served.isSet, Date() < servedDeadline { try await Task.sleep(for: .milliseconds(100)) }
            try await Task.sleep(for: .seconds(1))
            try pg.stopImmediately()
            let killedAt = Date()
            try await Task.sleep(for: .seconds(8))
            try pg.start()
            let restartedAt = Date()
            // served again without a restart: wait until the load sees 2xx after the restart (at most 30 s)
            let probeDeadline = Date().addingTimeInterval(30)
            var back = false
            while Date() < probeDeadline, !back {
                back = await Self.call(base, "GET", "/api/v1/users", token: token).status == 200
                if !back { try await Task.sleep(for: .milliseconds(200)) }
            }
            try await Task.sleep(for: .seconds(1))
            stop.set()
            let answers = await load.value

            // validate: only 2xx or 503 database_unavailable with Retry-After, each within 10 s
            let odd = answers.filter { !(200..<300).contains($0.status) && !($0.status == 503 && $0.code == "database_unavailable" && $0.retryAfter != nil) }
            #expect(odd.isEmpty, "answers other than 2xx or 503 database_unavailable: \(odd.prefix(10))\n\(server.text.suffix(3000))")
            let slow = answers.filter { $0.seconds > 10 }
            #expect(slow.isEmpty, "answers slower than 10 s: \(slow.prefix(10))")
            #expect(answers.contains { $0.status == 503 }, "no request met the outage: \(answers.count) answers")
            #expect(answers.contains { (200..<300).contains($0.status) && $0.at < killedAt }, "nothing served before the outage")
            #expect(back, "not served again within 30 s of PostgreSQL's restart")
            #expect(answers.contains { (200..<300).contains($0.status) && $0.at > restartedAt }, "the load saw no 2xx after the restart")
            let before = answers.filter { $0.at < killedAt }.count
            print("outage load: \(answers.count) answers (\(before) before the kill), \(answers.filter { $0.status == 503 }.count) × 503, "
                  + "slowest \(String(format: "%.2f", answers.map(\.seconds).max() ?? 0)) s, served again \(String(format: "%.1f", Date().timeIntervalSince(restartedAt))) s after restart; started \(Date().timeIntervalSince(started)) s ago")

            // SIGTERM while the database is gone and requests wait on it: the process stops within its grace period
            try pg.stopImmediately()
            let waiting = Task { await Self.call(base, "GET", "/api/v1/users", token: token) }
            try await Task.sleep(for: .milliseconds(500))
            let termAt = Date()
            let status = try await server.terminate(timeout: 20)
            let took = Date().timeIntervalSince(termAt)
            #expect(status == 0, "exit \(status) after SIGTERM:\n\(server.text.suffix(2000))")
            #expect(took < 12, "SIGTERM took \(took) s")
            let last = await waiting.value
            #expect(last.status == 503 || last.status == -1, "\(last)")
        } catch {
            _ = try? await server.terminate()
            throw error
        }
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
        func set() { lock.lock(); value = true; lock.unlock() }
    }
}
