import Foundation
import OneCardCore
import SQLKit

/// Where the data lives: `sqlite:PATH`, `sqlite::memory:` or `postgres://user:pass@host:port/db`.
public enum DatabaseURL: Equatable, Sendable, CustomStringConvertible {
    case sqliteFile(String)
    case sqliteMemory
    case postgres(host: String, port: Int, username: String, password: String?, database: String)

    public init(_ text: String) throws(ConfigurationError) {
        if text == "sqlite::memory:" { self = .sqliteMemory; return }
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ConfigurationError("--database sqlite: needs a path, e.g. sqlite:./onecard.sqlite") }
            self = .sqliteFile(path)
            return
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            guard let c = URLComponents(string: text), let host = c.host, !host.isEmpty else {
                throw ConfigurationError("--database \(text) is not a postgres://user:pass@host:port/db URL")
            }
            let db = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
            guard !db.isEmpty, let user = c.user, !user.isEmpty else {
                throw ConfigurationError("--database needs a user and a database name: postgres://user:pass@host:port/db")
            }
            self = .postgres(host: host, port: c.port ?? 5432, username: user.removingPercentEncoding ?? user,
                             password: c.password?.removingPercentEncoding, database: db)
            return
        }
        throw ConfigurationError("--database must be sqlite:PATH, sqlite::memory: or postgres://user:pass@host:port/db (got \(text))")
    }

    public var isEmbedded: Bool { if case .postgres = self { false } else { true } }

    /// A description without the password, for logs.
    public var description: String {
        switch self {
        case .sqliteFile(let p): "sqlite:\(p)"
        case .sqliteMemory: "sqlite::memory:"
        case let .postgres(host, port, user, _, db): "postgres://\(user)@\(host):\(port)/\(db)"
        }
    }
}

/// The few places where the two engines' SQL differs.
public enum Dialect: Sendable {
    case sqlite, postgres

    /// An auto-incrementing 64-bit primary key column.
    public var serialPrimaryKey: String {
        switch self {
        case .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"
        case .postgres: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        }
    }

    /// Row locking for read-modify-write; SQLite serialises writers instead.
    public var forUpdate: String { self == .postgres ? " FOR UPDATE" : "" }
    /// Row claiming by several processes: each takes rows no other transaction holds (SQLite has one writer anyway).
    public var forUpdateSkipLocked: String { self == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }

    /// Marks a migration statement that only PostgreSQL runs (storage parameters SQLite has no notion of).
    public static let postgresOnly = "POSTGRES ONLY: "
    /// Marks a migration statement that only SQLite runs (where the engines' SQL functions differ).
    public static let sqliteOnly = "SQLITE ONLY: "

    /// Rewrites the portable DDL of a migration (`BIGINT`, `TEXT`, `SERIAL_PK`) for this engine; nil for a statement
    /// marked for the other engine (`postgresOnly`, `sqliteOnly`).
    public func ddl(_ sql: String) -> String? {
        var sql = sql
        if sql.hasPrefix(Self.postgresOnly) {
            guard self == .postgres else { return nil }
            sql.removeFirst(Self.postgresOnly.count)
        } else if sql.hasPrefix(Self.sqliteOnly) {
            guard self == .sqlite else { return nil }
            sql.removeFirst(Self.sqliteOnly.count)
        }
        return sql.replacingOccurrences(of: "SERIAL_PK", with: serialPrimaryKey)
    }
}

extension Dialect {
    /// `IN (…)` for a list of text values, after the column: on PostgreSQL one array parameter (`= ANY($1::text[])`), so
    /// a thousand ids are one bind to send and parse rather than a thousand; on SQLite a list of binds.
    public func oneOf(_ values: [String]) -> SQLQueryString {
        switch self {
        case .postgres: "= ANY(\(bind: values)::text[])"
        case .sqlite: "IN (\(binds: values))"
        }
    }
}
