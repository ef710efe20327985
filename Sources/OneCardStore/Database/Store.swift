import Foundation
import Logging
import NIOCore
import OneCardCore
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit

/// The one entry point to persistence: a connection pool over SQLite or PostgreSQL and sessions that
/// expose one repository per capability. Repositories are written once in SQLKit for both engines.
public final class Store: Sendable {
    public let url: DatabaseURL
    public let dialect: Dialect
    public let cipher: FieldCipher
    private let backend: Backend
    private let logger: Logger

    enum Backend: Sendable {
        /// One writer (SQLite allows one at a time; writes queue here, not in a busy loop) and, for a file,
        /// a few readers that see the last commit through WAL.
        case sqlite(writer: SQLiteStoreConnection, writeLock: AsyncLock, readers: ResourcePool<SQLiteStoreConnection>?, all: [SQLiteStoreConnection],
                    checkpointer: SQLiteCheckpointer?)
        case postgres(PostgresClient, Task<Void, Never>)
    }

    /// The PostgreSQL connections a process holds at most unless `--db-pool` says otherwise.
    public static let defaultPool = 16

    private init(url: DatabaseURL, dialect: Dialect, cipher: FieldCipher, backend: Backend, logger: Logger) {
        self.url = url; self.dialect = dialect; self.cipher = cipher; self.backend = backend; self.logger = logger
    }

    /// Opens the database. PostgreSQL connections are made lazily by the client's pool, at most `pool` of them
    /// (`--db-pool`; SQLite ignores it: one writer and `readers` readers).
    public static func open(_ url: DatabaseURL, cipher: FieldCipher, logger: Logger, readers: Int = 3, pool: Int = Store.defaultPool) async throws -> Store {
        switch url {
        case .sqliteMemory:
            let writer = try openSQLite(.memory)
            return Store(url: url, dialect: .sqlite, cipher: cipher,
                         backend: .sqlite(writer: writer, writeLock: AsyncLock(), readers: nil, all: [writer], checkpointer: nil), logger: logger)
        case .sqliteFile(let path):
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let writer = try openSQLite(.file(path))
            // Checkpoints copy the WAL back into the database file. Left to the writer they run inside a
            // commit every thousand pages and stall every write queued behind it; here a separate
            // connection does it in the background instead (`SQLiteCheckpointer`), and the writer only as a backstop.
            try writer.query("PRAGMA wal_autocheckpoint=10000")
            var readerConnections: [SQLiteStoreConnection] = []
            for _ in 0..<readers { readerConnections.append(try openSQLite(.file(path))) }
            let checkpointer = SQLiteCheckpointer(try openSQLite(.file(path)))
            return Store(url: url, dialect: .sqlite, cipher: cipher,
                         backend: .sqlite(writer: writer, writeLock: AsyncLock(), readers: ResourcePool(readerConnections),
                                          all: [writer] + readerConnections, checkpointer: checkpointer), logger: logger)
        case let .postgres(host, port, username, password, database):
            var config = PostgresClient.Configuration(host: host, port: port, username: username, password: password,
                                                      database: database, tls: .disable)
            config.options.maximumConnections = max(1, pool)
            config.options.minimumConnections = 0
            let client = PostgresClient(configuration: config, backgroundLogger: logger)
            // The pool serves leases only once `run()` has begun (else it warns on every early lease): wait
            // until the task is about to call it; `run()` marks itself running before its first suspension.
            let (starting, started) = AsyncStream<Void>.makeStream()
            let task = Task { started.finish(); await client.run() }
            for await _ in starting {}
            let store = Store(url: url, dialect: .postgres, cipher: cipher, backend: .postgres(client, task), logger: logger)
            // Fail fast with a clear message when the server is unreachable.
            do { _ = try await store.read { try await $0.db.raw("SELECT 1 AS one").all() } } catch {
                task.cancel()
                throw ConfigurationError("cannot reach PostgreSQL at \(url): \(String(reflecting: error))")
            }
            return store
        }
    }

    private static func openSQLite(_ storage: SQLiteStoreConnection.Storage) throws -> SQLiteStoreConnection {
        let c = try SQLiteStoreConnection(storage)
        if case .file = storage {
            try c.query("PRAGMA journal_mode=WAL")
            try c.query("PRAGMA synchronous=NORMAL")
            // 32 MB of page cache per connection instead of 2 MB: a large batch's indexes stay in memory rather than
            // being read back from the file for every chunk.
            try c.query("PRAGMA cache_size=-32768")
        }
        // Statement journals (every multi-row statement inside a transaction has one) in memory, not in a
        // temporary file created, written and deleted for each statement.
        try c.query("PRAGMA temp_store=MEMORY")
        // A lock another process holds (a CLI command while `serve` runs) is waited for this long, then answered
        // 503 `database_unavailable`.
        try c.query("PRAGMA busy_timeout=5000")
        try c.query("PRAGMA foreign_keys=ON")
        return c
    }

    /// Runs `body` on a connection without a transaction: reads.
    public func read<T: Sendable>(_ body: @Sendable (StoreSession) async throws -> T) async throws -> T {
        do { return try await readUnchecked(body) } catch { throw Self.unavailable(error) ?? error }
    }

    private func readUnchecked<T: Sendable>(_ body: @Sendable (StoreSession) async throws -> T) async throws -> T {
        switch backend {
        case let .sqlite(writer, lock, readers, _, _):
            if let readers {
                let c = await readers.take()
                do { let r = try await body(session(SQLiteStoreDatabase(connection: c, logger: logger))); await readers.give(c); return r } catch { await readers.give(c); throw error }
            }
            await lock.lock()
            do { let r = try await body(session(SQLiteStoreDatabase(connection: writer, logger: logger))); await lock.unlock(); return r } catch { await lock.unlock(); throw error }
        case let .postgres(client, _):
            return try await withConnection(client) { conn in try await body(self.session(PostgresSQLDatabase(connection: conn, logger: self.logger))) }
        }
    }

    /// Runs `body` in one transaction: everything it writes commits together or not at all.
    public func write<T: Sendable>(_ body: @Sendable (StoreSession) async throws -> T) async throws -> T {
        do { return try await writeUnchecked(body) } catch { throw Self.unavailable(error) ?? error }
    }

    private func writeUnchecked<T: Sendable>(_ body: @Sendable (StoreSession) async throws -> T) async throws -> T {
        switch backend {
        case let .sqlite(writer, lock, _, _, _):
            await lock.lock()
            do {
                let r = try await transaction(SQLiteStoreDatabase(connection: writer, logger: logger), begin: "BEGIN IMMEDIATE", body)
                await lock.unlock()
                return r
            } catch { await lock.unlock(); throw error }
        case let .postgres(client, _):
            return try await withConnection(client) { conn in
                try await self.transaction(PostgresSQLDatabase(connection: conn, logger: self.logger), begin: "BEGIN", body)
            }
        }
    }

    /// How long a request waits for a PostgreSQL connection: while the server is down or a new leader is being elected the
    /// pool retries in the background and a waiting request would wait for ever (holding up graceful shutdown too); after
    /// this it is answered 503 `database_unavailable` instead, and the client retries with the same Idempotency-Key.
    /// `ONECARD_DB_CONNECTION_WAIT` (seconds) changes it: the test command's first pass, hundreds of suites sharing one
    /// PostgreSQL at its connection limit, waits longer than a node in service should.
    public static let connectionWait: Duration = {
        let text: String = ProcessInfo.processInfo.environment["ONECARD_DB_CONNECTION_WAIT"] ?? ""
        let seconds: Double = Double(text).flatMap { (0.1...600).contains($0) ? $0 : nil } ?? 5
        return .milliseconds(Int(seconds * 1000))
    }()
    /// What `Retry-After` advises on `database_unavailable`: about one Patroni failover (ttl 5 s).
    public static let retryAfterSeconds = 5

    /// A connection from the pool for `body`, or `Unavailable` when none comes within `connectionWait`. Only the wait is
    /// bounded: once `body` has its connection it runs to the end (a dead connection fails it at once).
    ///
    /// The connection is leased by a task of its own and handed over, so a request that gives up is answered at its
    /// deadline whatever the pool does: a task group would wait for the cancelled lease to end, and nothing promises
    /// that the pool ends one promptly. A connection that comes after the request gave up goes straight back to the pool.
    private func withConnection<T: Sendable>(_ client: PostgresClient, _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let handoff = ConnectionHandoff()
        let lease = Task {
            do {
                try await client.withConnection { conn in
                    guard handoff.offer(conn) else { return }  // the request gave up: back to the pool
                    await handoff.returned()
                }
            } catch {
                handoff.end(error)
            }
        }
        let conn: PostgresConnection
        do {
            conn = try await handoff.take(within: Self.connectionWait)
        } catch {
            lease.cancel()
            throw error
        }
        defer { handoff.giveBack() }
        return try await body(conn)
    }

    /// A leased connection on its way to the request waiting for it: handed over, given up by a deadline or a
    /// cancellation, or failed by the pool, whichever comes first; and back to the pool when the request is done.
    private final class ConnectionHandoff: @unchecked Sendable {
        private enum State {
            /// Nobody waits yet and nothing came.
            case pending
            case waiting(CheckedContinuation<PostgresConnection, any Error>)
            /// The connection came before the request began to wait.
            case arrived(PostgresConnection)
            /// The request is to be told this when it begins to wait (the pool failed, or it gave up first).
            case failed(any Error)
            case handed
            /// The request gave up or was told of a failure: a connection coming now goes back to the pool.
            case over
        }
        private let lock = NSLock()
        private var state = State.pending
        private var done = false
        private var leaseWaiter: CheckedContinuation<Void, Never>?

        /// Waits for the connection; `Unavailable` after `wait`, `CancellationError` if the request is cancelled.
        func take(within wait: Duration) async throws -> PostgresConnection {
            let timer = Task { [weak self] in
                try? await Task.sleep(for: wait)
                if !Task.isCancelled { self?.end(Unavailable(detail: "no database connection within \(wait)")) }
            }
            defer { timer.cancel() }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<PostgresConnection, any Error>) in
                    lock.lock()
                    switch state {
                    case .pending:
                        state = .waiting(c)
                        lock.unlock()
                    case .arrived(let conn):
                        state = .handed
                        lock.unlock()
                        c.resume(returning: conn)
                    case .failed(let error):
                        state = .over
                        lock.unlock()
                        c.resume(throwing: error)
                    case .waiting, .handed, .over:
                        lock.unlock()
                        c.resume(throwing: CancellationError())
                    }
                }
            } onCancel: {
                self.end(CancellationError())
            }
        }

        /// The request stops waiting with `error` (its deadline, its cancellation, or the pool's failure to give a
        /// connection), unless it already has its connection.
        func end(_ error: any Error) {
            lock.lock()
            switch state {
            case .waiting(let c):
                state = .over
                lock.unlock()
                c.resume(throwing: error)
            case .pending:
                state = .failed(error)
                lock.unlock()
            case .arrived:
                state = .failed(error)
                lock.unlock()
                giveBack()
            case .failed, .handed, .over:
                lock.unlock()
            }
        }

        /// From the lease: hands the connection over; false when the request no longer waits (release it then).
        func offer(_ conn: PostgresConnection) -> Bool {
            lock.lock()
            switch state {
            case .waiting(let c):
                state = .handed
                lock.unlock()
                c.resume(returning: conn)
                return true
            case .pending:
                state = .arrived(conn)
                lock.unlock()
                return true
            case .arrived, .failed, .handed, .over:
                lock.unlock()
                return false
            }
        }

        /// From the lease: waits until the request is done with the connection.
        func returned() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if done { lock.unlock(); c.resume(); return }
                leaseWaiter = c
                lock.unlock()
            }
        }

        /// From the request: done with the connection (or never took one that came).
        func giveBack() {
            lock.lock()
            done = true
            let waiter = leaseWaiter
            leaseWaiter = nil
            lock.unlock()
            waiter?.resume()
        }
    }

    struct Unavailable: Error, CustomStringConvertible { let detail: String; var description: String { detail } }

    /// `database_unavailable` (503 with Retry-After) for an error that says the database cannot be used right now rather
    /// than that the request is wrong: no connection within the wait, a connection that died (server closed it, refused,
    /// reset), PostgreSQL shutting down or starting (SQLSTATE 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
    /// cannot_connect_now), class 08 connection exceptions, a demoted leader refusing writes (25006
    /// read_only_sql_transaction), too many connections (53300); SQLite busy or locked past its busy timeout. Nil for
    /// any other error. The outcome of a commit cut off this way is unknown to the client: its retry with the same
    /// Idempotency-Key settles it.
    public static func unavailable(_ error: any Error) -> DomainError? {
        if let e = error as? DomainError { return e.code == .databaseUnavailable ? e : nil }
        let detail: String
        switch error {
        case let e as Unavailable:
            detail = e.detail
        case let e as PSQLError:
            if let state = e.serverInfo?[.sqlState] {
                guard ["57P01", "57P02", "57P03", "25006", "53300"].contains(state) || state.hasPrefix("08") else { return nil }
                detail = "the database refused the request (SQLSTATE \(state))"
            } else {
                guard [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed].contains(e.code) else { return nil }
                detail = "the database connection was lost"
            }
        case let e as SQLiteStoreError:
            guard e.isBusy else { return nil }
            detail = "the database is busy"
        default:
            return nil
        }
        return DomainError(.databaseUnavailable, "\(detail); try again (with the same Idempotency-Key)",
                           extensions: ["retryAfter": String(retryAfterSeconds)])
    }

    private func transaction<T>(_ db: any SQLDatabase, begin: String, _ body: @Sendable (StoreSession) async throws -> T) async throws -> T {
        try await db.raw(SQLQueryString(begin)).run()
        do {
            let r = try await body(session(db))
            try await db.raw("COMMIT").run()
            return r
        } catch {
            do { try await db.raw("ROLLBACK").run() } catch { logger.error("rollback failed: \(String(reflecting: error))") }
            throw error
        }
    }

    private func session(_ db: any SQLDatabase) -> StoreSession { StoreSession(db: db, dialect: dialect, cipher: cipher) }

    /// Closes every connection; the store is unusable afterwards.
    public func close() async {
        switch backend {
        case let .sqlite(_, _, _, all, checkpointer):
            checkpointer?.stop()
            for c in all { c.close() }
        case let .postgres(_, task):
            task.cancel()
        }
    }

    /// Whether `error` is a unique-constraint violation on either engine.
    public static func isUniqueViolation(_ error: any Error) -> Bool {
        if let e = error as? SQLiteStoreError { return e.isUniqueViolation }
        if let e = error as? PSQLError { return e.serverInfo?[.sqlState] == "23505" }
        return false
    }
}

/// One connection (inside a transaction for writes) and the repositories that use it.
public struct StoreSession: Sendable {
    public let db: any SQLDatabase
    public let dialect: Dialect
    let cipher: FieldCipher

    /// Runs `body` as one part of the transaction that can fail on its own: what it wrote is undone when it throws (and
    /// the transaction goes on, also after an SQL error on PostgreSQL), kept when it returns. For group commits, where
    /// one request's refusal must not touch the others'.
    public func savepoint<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await db.raw("SAVEPOINT request").run()
        do {
            let value = try await body()
            try await db.raw("RELEASE SAVEPOINT request").run()
            return value
        } catch {
            try await db.raw("ROLLBACK TO SAVEPOINT request").run()
            try await db.raw("RELEASE SAVEPOINT request").run()
            throw error
        }
    }

    public var users: UserRepository { .init(db: db) }
    public var signInAttempts: SignInAttemptRepository { .init(db: db, cipher: cipher) }
    public var holders: HolderAccountRepository { .init(db: db) }
    public var persons: PersonRepository { .init(db: db, cipher: cipher) }
    public var outlets: OutletRepository { .init(db: db) }
    public var banks: BankRepository { .init(db: db) }
    public var applications: ApplicationRepository { .init(db: db, dialect: dialect) }
    public var cards: CardRepository { .init(db: db, dialect: dialect, cipher: cipher) }
    public var events: EventRepository { .init(db: db) }
    public var lifecycleRequests: LifecycleRequestRepository { .init(db: db) }
    public var audit: AuditRepository { .init(db: db) }
    public var ecards: ECardRepository { .init(db: db) }
    public var trust: TrustRepository { .init(db: db) }
    public var catalogue: CatalogueRepository { .init(db: db) }
    public var venues: VenueRepository { .init(db: db) }
    public var uses: UseRepository { .init(db: db) }
    public var payments: PaymentRepository { .init(db: db, dialect: dialect, cipher: cipher) }
    public var bankMigrations: BankMigrationRepository { .init(db: db, cipher: cipher) }
    public var federation: FederationRepository { .init(db: db, dialect: dialect) }
    public var hub: HubRepository { .init(db: db, dialect: dialect) }
    public var risk: RiskRepository { .init(db: db, dialect: dialect) }
    public var consents: ConsentRepository { .init(db: db) }
    public var licences: LicenceRepository { .init(db: db, cipher: cipher) }
    public var records: HRRecordRepository { .init(db: db, cipher: cipher) }
    public var family: FamilyRepository { .init(db: db, dialect: dialect) }
    public var pension: PensionRepository { .init(db: db, dialect: dialect) }
    public var partnerCodes: PartnerCodeRepository { .init(db: db, cipher: cipher) }
    public var certificates: CertificateRepository { .init(db: db, cipher: cipher) }
    public var products: ProductRepository { .init(db: db, cipher: cipher) }
    public var complaints: ComplaintRepository { .init(db: db) }
    public var cases: CaseRepository { .init(db: db, dialect: dialect) }
    public var stats: StatsRepository { .init(db: db, dialect: dialect) }
    public var medical: MedicalRepository { .init(db: db, dialect: dialect) }
    public var medicalClaims: MedicalClaimRepository { .init(db: db, dialect: dialect, cipher: cipher) }
    public var transit: TransitRepository { .init(db: db, dialect: dialect, cipher: cipher) }
    public var dataRequests: DataRequestRepository { .init(db: db, cipher: cipher) }
    public var retention: RetentionRepository { .init(db: db) }
    public var keys: KeyRepository { .init(db: db, cipher: cipher) }
    public var signingKeys: SigningKeyRepository { .init(db: db, dialect: dialect, cipher: cipher) }
}

extension SQLRow {
    func string(_ c: String) throws -> String { try decode(column: c, as: String.self) }
    func optionalString(_ c: String) throws -> String? { try decode(column: c, as: String?.self) }
    func int(_ c: String) throws -> Int64 { try decode(column: c, as: Int64.self) }
    func optionalInt(_ c: String) throws -> Int64? { try decode(column: c, as: Int64?.self) }
    /// A typed id (`Person.ID`, `Venue.ID`, …), read as the text it was bound as.
    func id<Tag>(_ c: String) throws -> Identifier<Tag> { Identifier(try string(c)) }
    func optionalId<Tag>(_ c: String) throws -> Identifier<Tag>? { try optionalString(c).map { Identifier($0) } }
    /// A stored card number; it was validated when the card was made.
    func cardNumber(_ c: String) throws -> CardNumber { try CardNumber(try string(c)) }
    func optionalCardNumber(_ c: String) throws -> CardNumber? { try optionalString(c).map { s throws in try CardNumber(s) } }
    func bool(_ c: String) throws -> Bool { try int(c) != 0 }
    func date(_ c: String) throws -> Date { Timestamp.date(millis: try int(c)) }
    func optionalDate(_ c: String) throws -> Date? { try optionalInt(c).map(Timestamp.date(millis:)) }
}

extension Date {
    var millis: Int64 { Timestamp.millis(self) }
}

extension Bool {
    var int: Int64 { self ? 1 : 0 }
}

/// JSON for list-valued columns (services, accessibility), the same on both engines.
enum JSONColumn {
    static func encode(_ v: [String]) -> String { String(data: try! JSONEncoder().encode(v), encoding: .utf8)! }
    static func decode(_ s: String) -> [String] { (try? JSONDecoder().decode([String].self, from: Data(s.utf8))) ?? [] }
}
