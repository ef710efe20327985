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

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = serialize(query)
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds { try Self.append(bind, to: &bindings) }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        for try await row in rows { onRow(Row(cells: row.makeRandomAccess())) }
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

    struct MissingColumn: Error, CustomStringConvertible {
        let column: String
        var description: String { "no column \(column) in the result" }
    }
}

/// An optional bind, to tell `nil` (bound as NULL) from a value.
protocol OptionalBind { var isNone: Bool { get } }
extension Optional: OptionalBind { var isNone: Bool { self == nil } }
