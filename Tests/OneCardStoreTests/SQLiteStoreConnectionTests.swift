import Foundation
import NIOCore
@testable import OneCardStore
import OneCardCore
import SQLiteNIO
import Testing

/// Our SQLite connection (`SQLiteStoreConnection`): values round-trip as SQLiteNIO stored them, kept statements are
/// reset so readers see new commits, errors say what happened, and the checkpointer stops at once.
@Suite("Store: the SQLite connection")
struct SQLiteStoreConnectionTests {
    func temporaryFile() throws -> (URL, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (dir, dir.appendingPathComponent("t.sqlite").path)
    }

    func open(_ path: String) throws -> SQLiteStoreConnection {
        let c = try SQLiteStoreConnection(.file(path))
        try c.query("PRAGMA journal_mode=WAL")
        return c
    }

    func count(_ c: SQLiteStoreConnection) async throws -> Int {
        var n = -1
        try await c.run("SELECT count(*) AS n FROM t", []) { if case .integer(let v) = $0.column("n") { n = v } }
        return n
    }

    @Test func everyKindOfValueRoundTripsAndAnEmptyStringIsNotNull() async throws {
        let c = try SQLiteStoreConnection(.memory)
        try c.query("CREATE TABLE v (t TEXT, i INTEGER, f REAL, b BLOB)")
        let blob = ByteBuffer(bytes: [0, 1, 2, 255])
        let rows: [[SQLiteData]] = [
            [.text("社会保障卡 ✓"), .integer(Int(Int64.max)), .float(-1.5), .blob(blob)],
            [.text(""), .integer(Int(Int64.min)), .float(0), .null],
            [.null, .null, .null, .null],
        ]
        for r in rows { try await c.run("INSERT INTO v (t, i, f, b) VALUES (?, ?, ?, ?)", r) { _ in } }
        var read: [[SQLiteData]] = []
        try await c.run("SELECT t, i, f, b FROM v ORDER BY rowid", []) { row in read.append(["t", "i", "f", "b"].map { row.column($0)! }) }
        #expect(read == rows)
        var isNull: [Int] = []
        try await c.run("SELECT t IS NULL AS n FROM v ORDER BY rowid", []) { if case .integer(let v) = $0.column("n") { isNull.append(v) } }
        #expect(isNull == [0, 0, 1])
    }

    @Test func aKeptStatementIsResetSoAReaderSeesTheNextCommitEvenAfterStoppingMidway() async throws {
        let (dir, path) = try temporaryFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try open(path), reader = try open(path)
        try writer.query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        try writer.query("INSERT INTO t (id) VALUES (1), (2)")
        #expect(try await count(reader) == 2)
        // A reader that stops after the first of two rows (its callback throws) must not keep its snapshot.
        struct Stop: Error {}
        await #expect(throws: Stop.self) { try await reader.run("SELECT id FROM t", []) { _ in throw Stop() } }
        try writer.query("INSERT INTO t (id) VALUES (3)")
        #expect(try await count(reader) == 3)
        // The checkpoint can then copy everything back: no reader holds an old snapshot.
        var busy = -1
        try writer.query("PRAGMA wal_checkpoint(TRUNCATE)") { if case .integer(let v) = $0.column("busy") { busy = v } }
        #expect(busy == 0)
        reader.close(); writer.close()
    }

    @Test func aKeptSelectStarSeesAColumnAddedLater() async throws {
        let c = try SQLiteStoreConnection(.memory)
        try c.query("CREATE TABLE t (a INTEGER)")
        try c.query("INSERT INTO t (a) VALUES (1)")
        var names: [String] = []
        try await c.run("SELECT * FROM t", []) { names = $0.columns.names }
        #expect(names == ["a"])
        try c.query("ALTER TABLE t ADD COLUMN b TEXT")
        try await c.run("SELECT * FROM t", []) { names = $0.columns.names }
        #expect(names == ["a", "b"])
    }

    @Test func statementsBeyondTheCacheAreDroppedAndPreparedAgain() async throws {
        let c = try SQLiteStoreConnection(.memory)
        for round in 0..<2 {
            for i in 0..<(SQLiteStoreConnection.cacheCapacity * 2) {
                var v = -1
                try await c.run("SELECT \(i) + ? AS v", [.integer(round)]) { if case .integer(let x) = $0.column("v") { v = x } }
                #expect(v == i + round)
            }
        }
    }

    @Test func errorsSayUniqueViolationOrBusyAndNothingElse() async throws {
        let (dir, path) = try temporaryFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try open(path), b = try open(path)
        try a.query("CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT UNIQUE, name TEXT NOT NULL)")
        try a.query("INSERT INTO t (id, code, name) VALUES (1, 'x', 'n')")
        // setup: each failure once
        func failure(_ c: SQLiteStoreConnection, _ sql: String) async -> SQLiteStoreError? {
            do { try await c.run(sql, []) { _ in }; return nil } catch { return error as? SQLiteStoreError }
        }
        let primary = await failure(a, "INSERT INTO t (id, code, name) VALUES (1, 'y', 'n')")
        let unique = await failure(a, "INSERT INTO t (id, code, name) VALUES (2, 'x', 'n')")
        let notNull = await failure(a, "INSERT INTO t (id, code, name) VALUES (3, 'z', NULL)")
        try a.query("BEGIN IMMEDIATE")
        try b.query("PRAGMA busy_timeout=20")
        let busy = await failure(b, "BEGIN IMMEDIATE")
        try a.query("ROLLBACK")
        // validate
        #expect(primary?.isUniqueViolation == true && unique?.isUniqueViolation == true)
        #expect(notNull != nil && notNull?.isUniqueViolation == false && notNull?.isBusy == false)
        #expect(busy?.isBusy == true && busy?.isUniqueViolation == false)
        #expect(Store.isUniqueViolation(unique!) && !Store.isUniqueViolation(notNull!))
        #expect(Store.unavailable(busy!)?.code == .databaseUnavailable && Store.unavailable(notNull!) == nil)
        // The failed statements left nothing behind and the connection goes on.
        #expect(try await count(a) == 1)
        a.close(); b.close()
        await #expect(throws: SQLiteStoreError.self) { try await a.run("SELECT 1", []) { _ in } }
    }

    @Test func aLongRunOfStatementsLetsOtherTasksGoFirst() async throws {
        let c = try SQLiteStoreConnection(.memory)
        // setup: statements of a few hundred microseconds each (a recursive count), well over 2 ms of work in all
        let slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT count(*) AS c FROM n"
        let started = ContinuousClock.now
        var statements = 0
        while ContinuousClock.now - started < .milliseconds(20) || statements < 5 {
            try await c.run(slow, [.integer(2_000)]) { _ in }
            statements += 1
        }
        // validate: it let other tasks go first along the way (after each 2 ms of work), not after every statement
        #expect(c.yieldCount >= 1)
        #expect(c.yieldCount <= statements)
    }

    @Test func theCheckpointerCopiesTheLogBackIntoTheDatabaseFileAndStops() async throws {
        let (dir, path) = try temporaryFile()
        defer { try? FileManager.default.removeItem(at: dir) }
        func size() throws -> Int { (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let writer = try open(path)
        try writer.query("PRAGMA wal_autocheckpoint=0")
        try writer.query("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)")
        for i in 0..<200 { try writer.query("INSERT INTO t (id, s) VALUES (?, ?)", [.integer(i), .text(String(repeating: "x", count: 500))]) }
        // setup: everything is in the log; the database file holds at most its first pages
        #expect(try size() < 16_384)
        let checkpointer = SQLiteCheckpointer(try open(path))
        // validate: within a few of its 250 ms rounds the file holds the 100 kB written
        for _ in 0..<50 where try size() < 100_000 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try size() >= 100_000)
        checkpointer.stop()
        writer.close()
    }
}
