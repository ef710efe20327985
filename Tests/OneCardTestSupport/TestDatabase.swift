import Foundation
import Logging
import OneCardCore
import OneCardStore

/// The engines a store or server test runs on: SQLite always, PostgreSQL when the test command has
/// started one (`ONECARD_TEST_POSTGRES_URL`, set by scripts/test.sh). With `ONECARD_REQUIRE_POSTGRES=1`
/// a missing PostgreSQL fails the run instead of skipping it.
public enum Engine: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    public var description: String { rawValue }

    public static var available: [Engine] {
        let env = ProcessInfo.processInfo.environment
        if env["ONECARD_TEST_POSTGRES_URL"] != nil || env["ONECARD_REQUIRE_POSTGRES"] == "1" { return [.sqlite, .postgres] }
        return [.sqlite]
    }
}

/// A fresh, empty database for one test, removed afterwards.
public struct TestDatabase: Sendable {
    public let url: DatabaseURL
    private let drop: @Sendable () async -> Void

    public static let logger: Logger = {
        var l = Logger(label: "onecard-test")
        l.logLevel = .warning
        return l
    }()

    public static func make(_ engine: Engine) async throws -> TestDatabase {
        switch engine {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return TestDatabase(url: .sqliteFile(dir.appendingPathComponent("test.sqlite").path)) {
                try? FileManager.default.removeItem(at: dir)
            }
        case .postgres:
            guard let admin = ProcessInfo.processInfo.environment["ONECARD_TEST_POSTGRES_URL"] else {
                throw ConfigurationError("ONECARD_REQUIRE_POSTGRES=1 but ONECARD_TEST_POSTGRES_URL is not set: run scripts/test.sh")
            }
            let adminURL = try DatabaseURL(admin)
            guard case let .postgres(host, port, user, password, _) = adminURL else { throw ConfigurationError("not a postgres URL: \(admin)") }
            let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            await postgresSlots.take()
            do {
                let adminStore = try await Store.open(adminURL, cipher: testCipher, logger: logger)
                try await adminStore.read { s in try await s.db.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
                await adminStore.close()
            } catch { await postgresSlots.give(); throw error }
            return TestDatabase(url: .postgres(host: host, port: port, username: user, password: password, database: name)) {
                if let store = try? await Store.open(adminURL, cipher: testCipher, logger: logger) {
                    _ = try? await store.read { s in try await s.db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
                    await store.close()
                }
                await postgresSlots.give()
            }
        }
    }

    init(url: DatabaseURL, drop: @escaping @Sendable () async -> Void) { self.url = url; self.drop = drop }

    /// At most this many PostgreSQL test databases live at once (`ONECARD_TEST_PG_SLOTS`, default 28); a test waits for
    /// a slot before its database is made, and `remove()` frees it. The test command's first pass starts hundreds of
    /// tests at once and each store may open up to 16 connections: past the server's `max_connections` (500) a pool only
    /// waits, until the test fails with `database_unavailable`. 28 stores of 16, and one connection each to create and
    /// drop a database, stay under 500 by construction rather than by luck.
    static let postgresSlots = Slots(Int(ProcessInfo.processInfo.environment["ONECARD_TEST_PG_SLOTS"] ?? "") ?? 28)

    /// A counting semaphore for tasks: `take` waits while none is free; `give` hands one to the longest waiting.
    actor Slots {
        private var free: Int
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(_ count: Int) { free = max(1, count) }

        func take() async {
            if free > 0 { free -= 1; return }
            await withCheckedContinuation { waiting.append($0) }
        }

        func give() {
            if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
        }
    }

    /// Opens and migrates a store on this database. When either fails the database is removed (its PostgreSQL slot
    /// freed) before the error is thrown: the callers open it before their `do`, so none of them would.
    public func store() async throws -> Store {
        let store: Store
        do { store = try await Store.open(url, cipher: Self.testCipher, logger: Self.logger) } catch { await remove(); throw error }
        do { try await store.migrate() } catch { await store.close(); await remove(); throw error }
        return store
    }

    public func remove() async { await drop() }

    public static let testKeys = NodeKeys(master: .init(data: Data(repeating: 7, count: 32)))
    public static let testCipher = FieldCipher(keys: testKeys)
}

/// Valid identity numbers for tests.
public enum TestIDs {
    /// A resident ID for `region` born on `birth` (YYYYMMDD) with a three-digit sequence.
    public static func resident(region: String = "110105", birth: String = "19850312", sequence: String = "123") -> String {
        let first17 = region + birth + sequence
        return first17 + String(IdentityNumber.checkCharacter(for: Array(first17))!)
    }
}
