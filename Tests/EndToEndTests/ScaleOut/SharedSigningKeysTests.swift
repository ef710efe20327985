import Foundation
import OneCardCore
import OneCardTestSupport
import Testing

/// The QR signing key ring lives in the database (issue 18): several `onecard serve` processes of one node, each with its
/// own data folder and the same node key, publish and sign with the same keys, and a rotation on one host reaches the
/// others within seconds (`KeyWatcher`, every 5 s).
@Suite("Several processes of one node share the QR signing key ring through the database", .serialized)
struct SharedSigningKeysTests {
    static func kids(_ base: String) async throws -> [String] {
        let (_, json) = try await EndToEndTests.HTTP(base: base).call("GET", "/api/v1/trust/jwks")
        return (json["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
    }

    @Test(arguments: Engine.available.filter { $0 == .postgres })
    func twoHostsSignWithOneRingAndARotationReachesBoth(_ engine: Engine) async throws {
        let (database, db) = try await EndToEndTests.databaseArgument(engine)
        let url = try #require(database)
        let dirs = (0..<2).map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("onecard-ring-\(UUID().uuidString)").path }
        defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) }; Task { await db?.remove() } }
        #expect(try await EndToEndTests.run(["migrate", "--data-dir", dirs[0], "--database", url]).status == 0)
        // The second host gets the same node key (kept apart from the data folder in production: --node-key).
        let nodeKey = dirs[0] + "/node.key"

        var servers: [EndToEndTests.Server] = []
        do {
            var bases: [String] = []
            for d in dirs {
                let s = try EndToEndTests.Server(["serve", "--port", "0", "--data-dir", d, "--database", url, "--node-key", nodeKey])
                servers.append(s)
                bases.append(try await s.baseURL())
            }
            try await check(bases, dirs: dirs, url: url, nodeKey: nodeKey)
        } catch {
            for s in servers { _ = try? await s.terminate() }
            throw error
        }
        for s in servers { #expect(try await s.terminate() == 0) }
    }

    func check(_ bases: [String], dirs: [String], url: String, nodeKey: String) async throws {
        // The first host stored its ring; the second took it instead of the one it made for its own folder.
        let first = try await Self.kids(bases[0])
        #expect(first.count == 1)
        #expect(try await Self.kids(bases[1]) == first)

        // A rotation on the second host (the command line, against the database) reaches both running processes.
        let rotated = try await EndToEndTests.run(["keys", "rotate", "--data-dir", dirs[1], "--database", url, "--node-key", nodeKey])
        #expect(rotated.status == 0 && rotated.output.contains("rotated"), "\(rotated.output)")
        let deadline = Date().addingTimeInterval(12)
        var seen: [[String]] = []
        repeat {
            try await Task.sleep(for: .milliseconds(500))
            seen = [try await Self.kids(bases[0]), try await Self.kids(bases[1])]
        } while (seen[0].count < 2 || seen[0] != seen[1]) && Date() < deadline
        // Both publish the old key beside the new one, and both sign with the new one (the current key comes first).
        #expect(seen[0].count == 2 && seen[0] == seen[1] && seen[0].last == first[0] && seen[0].first != first[0], "\(seen)")
    }
}
