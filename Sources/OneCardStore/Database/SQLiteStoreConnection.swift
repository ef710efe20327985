import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SQLiteNIO
import VaporCSQLite

/// One SQLite connection, run by us over the SQLite library SQLiteNIO builds (`VaporCSQLite`: the same version and
/// compile options, no other package).
///
/// SQLiteNIO sends every statement to a thread pool, hands every row back to an event loop as a task of its own,
/// resumes the caller from there and prepares every statement anew. A statement here runs on the calling thread and
/// stays prepared: a profile of SQLite `/health`, acceptances and payment batches put most of the time per statement
/// in those hops, not in SQLite. Two things keep the calling thread honest:
/// - `run` yields to other tasks after every ~2 ms of statement work on a connection, so a long run of statements
///   (migrations, a node's demo data, a batch) shares the process's few cooperative threads with timers and other
///   requests instead of holding one for seconds;
/// - exclusion between tasks is the store's (`AsyncLock` for the writer, `ResourcePool` for readers): the lock here is
///   held only for one statement and is uncontended in service, so no task blocks a thread waiting for another's.
///
/// Prepared statements are kept per connection (at most `cacheCapacity`, least recently used dropped) and reset after
/// every run, so a reader never keeps an old snapshot open and no statement keeps a lock.
final class SQLiteStoreConnection: @unchecked Sendable {
    /// In memory (one connection's own database) or a file.
    enum Storage: Sendable { case memory, file(String) }

    static let cacheCapacity = 96
    /// Statement work on one connection after which `run` lets other tasks run.
    static let yieldAfterNanoseconds: UInt64 = 2_000_000

    private let lock = NIOLock()
    private var handle: OpaquePointer?
    private var cache: [String: Prepared] = [:]
    private var tick: UInt64 = 0
    private var workSinceYield: UInt64 = 0
    /// How often `run` let other tasks go first (tests).
    var yieldCount: Int { lock.withLock { yields } }
    private var yields = 0

    /// A prepared statement and the names of its result columns (read once, again only if the schema changed them).
    private final class Prepared {
        let statement: OpaquePointer
        var columns: SQLiteStoreRow.Columns?
        var lastUse: UInt64 = 0
        init(_ statement: OpaquePointer) { self.statement = statement }
    }

    private static let initialized: Void = { _ = sqlite_nio_sqlite3_initialize() }()

    init(_ storage: Storage) throws {
        _ = Self.initialized
        let path: String
        switch storage {
        case .memory: path = ":memory:"
        case .file(let p): path = p
        }
        // NOMUTEX: this class serializes its own use of the handle (SQLiteNIO asks for FULLMUTEX and pays SQLite's
        // mutex on every call); extended result codes tell a unique violation from other constraints.
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        var h: OpaquePointer?
        let rc = sqlite_nio_sqlite3_open_v2(path, &h, flags, nil)
        guard rc == SQLITE_OK, let h else {
            let message = h.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory"
            if let h { sqlite_nio_sqlite3_close_v2(h) }
            throw SQLiteStoreError(code: rc, message: "cannot open \(path): \(message)")
        }
        handle = h
    }

    deinit { closeLocked() }

    /// Runs one statement, handing each result row to `onRow` as it is read, and yields to other tasks now and then
    /// (see the type's comment).
    func run(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteStoreRow) throws -> Void) async throws {
        if try execute(sql, binds, onRow) { await Task.yield() }
    }

    /// Runs one statement on this thread: for threads of their own (the checkpointer) and set-up.
    func query(_ sql: String, _ binds: [SQLiteData] = [], _ onRow: (SQLiteStoreRow) throws -> Void = { _ in }) throws {
        _ = try execute(sql, binds, onRow)
    }

    /// Runs one statement under the lock and adds its time to the work since the last yield; true when `run` should
    /// yield now.
    private func execute(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteStoreRow) throws -> Void) throws -> Bool {
        try lock.withLock {
            let started = DispatchTime.now().uptimeNanoseconds
            try step(sql, binds, onRow)
            workSinceYield &+= DispatchTime.now().uptimeNanoseconds &- started
            guard workSinceYield >= Self.yieldAfterNanoseconds else { return false }
            workSinceYield = 0
            yields += 1
            return true
        }
    }

    /// Binds and steps one statement to its end; the caller holds the lock.
    private func step(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteStoreRow) throws -> Void) throws {
        guard let handle else { throw SQLiteStoreError(code: SQLITE_MISUSE, message: "the connection is closed") }
        let prepared = try statement(sql, handle)
        let s = prepared.statement
        defer {
            sqlite_nio_sqlite3_reset(s)
            sqlite_nio_sqlite3_clear_bindings(s)
        }
        for (i, bind) in binds.enumerated() {
            let rc = Self.bind(bind, at: Int32(i + 1), to: s)
            guard rc == SQLITE_OK else { throw error(rc, handle, sql) }
        }
        while true {
            let rc = sqlite_nio_sqlite3_step(s)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw error(rc, handle, sql) }
            let count = Int(sqlite_nio_sqlite3_column_count(s))
            let columns: SQLiteStoreRow.Columns
            if let c = prepared.columns, c.names.count == count {
                columns = c
            } else {
                columns = SQLiteStoreRow.Columns((0..<count).map { String(cString: sqlite_nio_sqlite3_column_name(s, Int32($0))) })
                prepared.columns = columns
            }
            var values: [SQLiteData] = []
            values.reserveCapacity(count)
            for i in 0..<Int32(count) { values.append(Self.value(s, i)) }
            try onRow(SQLiteStoreRow(columns: columns, values: values))
        }
    }

    /// Closes the connection and every statement it keeps; further use throws.
    func close() { lock.withLock { closeLocked() } }

    private func closeLocked() {
        for p in cache.values { sqlite_nio_sqlite3_finalize(p.statement) }
        cache = [:]
        if let handle { sqlite_nio_sqlite3_close_v2(handle) }
        handle = nil
    }

    /// The statement for `sql`: kept from an earlier run, or prepared now and kept (dropping the least recently used).
    private func statement(_ sql: String, _ handle: OpaquePointer) throws -> Prepared {
        tick &+= 1
        if let p = cache[sql] { p.lastUse = tick; return p }
        var s: OpaquePointer?
        let rc = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &s, nil)
        guard rc == SQLITE_OK else { throw error(rc, handle, sql) }
        guard let s else { throw SQLiteStoreError(code: SQLITE_MISUSE, message: "no statement in: \(sql)") }
        if cache.count >= Self.cacheCapacity, let oldest = cache.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            sqlite_nio_sqlite3_finalize(oldest.value.statement)
            cache[oldest.key] = nil
        }
        let p = Prepared(s)
        p.lastUse = tick
        cache[sql] = p
        return p
    }

    private static func bind(_ value: SQLiteData, at i: Int32, to s: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let v): return sqlite_nio_sqlite3_bind_int64(s, i, Int64(v))
        case .float(let v): return sqlite_nio_sqlite3_bind_double(s, i, v)
        case .null: return sqlite_nio_sqlite3_bind_null(s, i)
        case .text(let v):
            // An empty string's buffer may have no address, which SQLite would bind as NULL.
            if v.isEmpty { return sqlite_nio_sqlite3_bind_text64(s, i, "", 0, transient, UInt8(SQLITE_UTF8)) }
            var v = v
            return v.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { sqlite_nio_sqlite3_bind_text64(s, i, $0.baseAddress, UInt64($0.count), transient, UInt8(SQLITE_UTF8)) }
            }
        case .blob(let v):
            return v.withUnsafeReadableBytes { sqlite_nio_sqlite3_bind_blob64(s, i, $0.baseAddress, UInt64($0.count), transient) }
        }
    }

    private static func value(_ s: OpaquePointer, _ i: Int32) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(s, i) {
        case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_column_int64(s, i)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(s, i))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(s, i) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(s, i))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(s, i))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let bytes = sqlite_nio_sqlite3_column_blob(s, i) { buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count)) }
            return .blob(buffer)
        default: return .null
        }
    }

    private func error(_ rc: Int32, _ handle: OpaquePointer, _ sql: String) -> SQLiteStoreError {
        let extended = sqlite_nio_sqlite3_extended_errcode(handle)
        return SQLiteStoreError(code: extended & 0xff == rc & 0xff ? extended : rc,
                                message: "\(String(cString: sqlite_nio_sqlite3_errmsg(handle))) (in: \(sql.prefix(200)))")
    }

    /// SQLite copies a bound value it is given this way, so the Swift string need not outlive the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// An error SQLite returned, with its extended result code.
struct SQLiteStoreError: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    var primary: Int32 { code & 0xff }
    /// Another connection holds a lock past the busy timeout (`SQLITE_BUSY`, `SQLITE_LOCKED` and their extended codes).
    var isBusy: Bool { primary == SQLITE_BUSY || primary == SQLITE_LOCKED }
    /// A unique index or the primary key refused the row (not NOT NULL, CHECK or foreign key: PostgreSQL's 23505).
    var isUniqueViolation: Bool { code == Self.constraintUnique || code == Self.constraintPrimaryKey }

    // `SQLITE_CONSTRAINT_UNIQUE` and `SQLITE_CONSTRAINT_PRIMARYKEY` (sqlite3.h): macros Swift does not import.
    static let constraintUnique = SQLITE_CONSTRAINT | (8 << 8)
    static let constraintPrimaryKey = SQLITE_CONSTRAINT | (6 << 8)

    var description: String { "SQLite error \(code): \(message)" }
}

/// One result row: the statement's column names (shared by its rows) and this row's values.
struct SQLiteStoreRow: Sendable {
    final class Columns: Sendable {
        let names: [String]
        let index: [String: Int]
        init(_ names: [String]) {
            self.names = names
            // The first of two columns with one name wins, as SQLiteNIO's look-up did.
            var index: [String: Int] = [:]
            for (i, n) in names.enumerated() where index[n] == nil { index[n] = i }
            self.index = index
        }
    }

    let columns: Columns
    let values: [SQLiteData]

    func column(_ name: String) -> SQLiteData? { columns.index[name].map { values[$0] } }
}

/// Copies the write-ahead log back into the database file every 250 ms on a thread of its own (a passive checkpoint
/// never waits for a reader or the writer), so the writer's commits do not do it (see `Store.open`).
final class SQLiteCheckpointer: @unchecked Sendable {
    private let connection: SQLiteStoreConnection
    private let condition = NSCondition()
    private var stopped = false
    private var finished = false

    init(_ connection: SQLiteStoreConnection) {
        self.connection = connection
        let thread = Thread { [self] in
            condition.lock()
            while !stopped {
                condition.wait(until: Date(timeIntervalSinceNow: 0.25))
                if stopped { break }
                condition.unlock()
                try? connection.query("PRAGMA wal_checkpoint(PASSIVE)")
                condition.lock()
            }
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "sqlite-checkpoint"
        thread.start()
    }

    /// Stops the thread (after a checkpoint under way) and closes its connection.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        connection.close()
    }
}
