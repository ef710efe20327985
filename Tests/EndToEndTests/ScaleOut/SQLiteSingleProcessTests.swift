import Foundation
import OneCardTestSupport
import Testing

/// SQLite is embedded: one `onecard serve` per file. A second one stops at once naming the file, while short commands
/// (`users create`, `keys show`) keep working beside the running server.
@Suite("SQLite stays single-process", .serialized)
struct SQLiteSingleProcessTests {
    @Test func aSecondServeOnTheSameFileStopsNamingItWhileShortCommandsWork() async throws {
        // setup: a node with its first administrator, serving
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-single-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let database = URL(fileURLWithPath: dataDir).standardizedFileURL.appendingPathComponent("onecard.sqlite").path
        let created = try await EndToEndTests.run(["users", "create", "--username", "root", "--role", "admin", "--data-dir", dataDir], input: "root-password-1\n")
        #expect(created.status == 0, "\(created.output)")
        let first = try EndToEndTests.Server(["serve", "--port", "0", "--data-dir", dataDir])
        let base: String
        do { base = try await first.baseURL() } catch { _ = try? await first.terminate(); throw error }

        do {
            // a second serve on the same file exits non-zero, naming the file (and does not serve)
            let second = try EndToEndTests.Server(["serve", "--port", "0", "--data-dir", dataDir])
            let status = try await second.waitForExit(timeout: 30)
            #expect(status != 0, "\(second.text)")
            #expect(second.text.contains(database), "\(second.text)")
            #expect(!second.text.contains("listening on"), "\(second.text)")

            // short commands work while serve runs, and what they write is seen by it
            let clerk = try await EndToEndTests.run(["users", "create", "--username", "clerk", "--role", "agent", "--data-dir", dataDir], input: "clerk-password-1\n")
            #expect(clerk.status == 0, "\(clerk.output)")
            let keys = try await EndToEndTests.run(["keys", "show", "--data-dir", dataDir])
            #expect(keys.status == 0 && keys.output.contains("federationKey"), "\(keys.output)")
            let signIn = try await EndToEndTests.HTTP(base: base).call("POST", "/api/v1/auth/token", json: ["username": "clerk", "password": "clerk-password-1"])
            #expect(signIn.0 == 200 && signIn.1["role"] as? String == "agent", "\(signIn)")
        } catch {
            _ = try? await first.terminate()
            throw error
        }
        #expect(try await first.terminate() == 0, "\(first.text)")

        // validate: the lock goes with the process; the next serve starts
        let next = try EndToEndTests.Server(["serve", "--port", "0", "--data-dir", dataDir])
        do { _ = try await next.baseURL() } catch { _ = try? await next.terminate(); throw error }
        #expect(try await next.terminate() == 0, "\(next.text)")
    }

    /// `--db-pool` (or `ONECARD_DB_POOL`) out of 1 to 1,000 stops the process at start with a message naming it.
    @Test func aPoolOutOfRangeStopsTheProcessNamingTheOption() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-pool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let zero = try await EndToEndTests.run(["users", "create", "--username", "root", "--role", "admin", "--data-dir", dataDir, "--db-pool", "0"],
                                              input: "root-password-1\n")
        #expect(zero.status != 0 && zero.output.contains("--db-pool must be 1 to 1000"), "\(zero.output)")
        let fine = try await EndToEndTests.run(["users", "create", "--username", "root", "--role", "admin", "--data-dir", dataDir, "--db-pool", "4"],
                                              input: "root-password-1\n")
        #expect(fine.status == 0, "\(fine.output)")
    }
}
