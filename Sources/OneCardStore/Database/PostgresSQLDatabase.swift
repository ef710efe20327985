import Foundation
import Logging
import NIOCore
import OneCardCore
import PostgresKit
import PostgresNIO
import SQLKit

/// SQLKit over one PostgreSQL connection, binding and reading the column types the repositories use (text, integers,
/// booleans, floating point, bytes, optionals of them) directly through PostgresNIO.
///
/// PostgresKit's own `SQLDatabase` goes through a general translation for every bind and every column read (coding
/// paths, dynamic casts to find the codec, generic metadata): a profile of a million-payment batch on PostgreSQL put
/// a quarter of the platform's CPU in reading columns. The query text and its `$n` placeholders are still SQLKit's.
struct PostgresSQLDatabase: SQLDatabase {
    let connection: PostgresConnection
    let logger: Logger

    var eventLoop: any EventLoop { connection.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { PostgresDialect() }

    /// Sends the statement from the connection's own event loop, and only while its channel is open.
    ///
    /// postgres-nio (1.33) writes a statement to its channel without a promise for the write: on a channel that has
    /// closed and had its handlers removed (NIO does that in a later turn of the loop) the write fails silently and the
    /// statement's answer never comes — the caller waits for ever, and graceful shutdown with it. That is what became of
    /// the requests in flight when a leader died (issue 18): their statement failed as the connection closed, and the
    /// `ROLLBACK` sent after it on the same connection was dropped; so, now and then, was a statement on a connection
    /// leased just as it closed. On the event loop nothing can close the channel between the check and the write, and
    /// the write reaches the handler, which answers it (or fails it) itself.
    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let (sql, binds) = serialize(query)
        var bindings = PostgresBindings(capacity: binds.count)
        do { for bind in binds { try Self.append(bind, to: &bindings) } } catch { return eventLoop.makeFailedFuture(error) }
        let statement = PostgresQuery(unsafeSQL: sql, binds: bindings)
        let (connection, logger) = (self.connection, self.logger)
        return eventLoop.flatSubmit {
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(Store.Unavailable(detail: "the database connection was lost"))
            }
            return connection.query(statement, logger: logger) { row in onRow(Row(cells: row.makeRandomAccess())) }.map { _ in }
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await execute(sql: query, onRow).get()
    }

    struct UnsupportedType: Error, CustomStringConvertible {
        let type: Any.Type
        var description: String { "no PostgreSQL codec for \(type) in PostgresSQLDatabase" }
    }

    static func append(_ bind: any Encodable & Sendable, to bindings: inout PostgresBindings) throws {
        switch bind {
        case let v as String: bindings.append(v)
        case let v as Int64: bindings.append(v)
        case let v as Int: bindings.append(v)
        case let v as Int32: bindings.append(v)
        case let v as Bool: bindings.append(v)
        case let v as Double: bindings.append(v)
        case let v as UUID: bindings.append(v)
        // Typed ids and card numbers (also inside a non-nil optional) are bound as their text.
        case let v as any StringIdentifier: bindings.append(v.rawValue)
        default:
            if let optional = bind as? any OptionalBind, optional.isNone { bindings.appendNull(); return }
            guard let value = bind as? any PostgresThrowingDynamicTypeEncodable else { throw UnsupportedType(type: type(of: bind)) }
            try bindings.append(value)
        }
    }

    /// A result row; columns are found by name through the row's shared lookup table.
    struct Row: SQLRow {
        let cells: PostgresRandomAccessRow

        var allColumns: [String] { cells.map(\.columnName) }
        func contains(column: String) -> Bool { cells.contains(column) }
        func decodeNil(column: String) throws -> Bool { !cells.contains(column) || cells[column].bytes == nil }

        func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
            guard cells.contains(column) else { throw MissingColumn(column: column) }
            let cell = cells[column]
            if D.self == String.self { return try cell.decode(String.self) as! D }
            if D.self == Int64.self { return try cell.decode(Int64.self) as! D }
            if D.self == String?.self { return try cell.decode(String?.self) as! D }
            if D.self == Int64?.self { return try cell.decode(Int64?.self) as! D }
            if D.self == Int.self { return try cell.decode(Int.self) as! D }
            if D.self == Bool.self { return try cell.decode(Bool.self) as! D }
            guard let decodable = D.self as? any PostgresDecodable.Type else { throw UnsupportedType(type: D.self) }
            return try Self.decode(decodable, cell) as! D
        }

        private static func decode<T: PostgresDecodable>(_: T.Type, _ cell: PostgresCell) throws -> T { try cell.decode(T.self) }
    }
}

/// A column a repository asked for is not in the result (both engines' `SQLDatabase`).
struct MissingColumn: Error, CustomStringConvertible {
    let column: String
    var description: String { "no column \(column) in the result" }
}

/// An optional bind, to tell `nil` (bound as NULL) from a value.
protocol OptionalBind { var isNone: Bool { get } }
extension Optional: OptionalBind { var isNone: Bool { self == nil } }
