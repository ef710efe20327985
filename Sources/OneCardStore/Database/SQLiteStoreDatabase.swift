import Foundation
import Logging
import NIOCore
import OneCardCore
import SQLiteKit
import SQLiteNIO
import SQLKit

/// SQLKit over one SQLite connection (`SQLiteStoreConnection`), binding and reading the column types the repositories
/// use (text, integers, booleans, floating point, optionals of them) directly as `SQLiteData`; anything else goes through
/// SQLiteKit's own encoder and decoder, so the values stored and read are the same as through SQLiteKit's `SQLDatabase`.
///
/// SQLiteKit's `SQLDatabase` finds each bind's and each column's conversion through a dynamic cast to
/// `SQLiteDataConvertible` and, for an optional, a `Decoder` allocated for the column: a profile of a payment batch's
/// execution on SQLite put 5 % of the CPU in generic metadata and conformance look-ups, and `Decodable` row decoding
/// at 7 % of the pending-lines query (the same cost `PostgresSQLDatabase` removed on PostgreSQL).
struct SQLiteStoreDatabase: SQLDatabase {
    let connection: SQLiteStoreConnection
    let logger: Logger

    init(connection: SQLiteStoreConnection, logger: Logger) {
        self.connection = connection; self.logger = logger
    }

    /// SQLKit's futures need an event loop; no statement runs on it (see `SQLiteStoreConnection`).
    var eventLoop: any EventLoop { NIOSingletons.posixEventLoopGroup.any() }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { SQLiteDialect() }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = serialize(query)
        try await connection.run(sql, try binds.map(Self.data)) { onRow(Row(cells: $0)) }
    }

    /// A bind as SQLite stores it: the common types directly, typed ids and card numbers as their text, `nil` as NULL,
    /// anything else as SQLiteKit's encoder would.
    static func data(_ bind: any Encodable & Sendable) throws -> SQLiteData {
        switch bind {
        case let v as String: return .text(v)
        case let v as Int64: return .integer(Int(v))
        case let v as Int: return .integer(v)
        case let v as Int32: return .integer(Int(v))
        case let v as Bool: return .integer(v ? 1 : 0)
        case let v as Double: return .float(v)
        case let v as any StringIdentifier: return .text(v.rawValue)
        default:
            if let optional = bind as? any OptionalBind, optional.isNone { return .null }
            return try SQLiteDataEncoder().encode(bind)
        }
    }

    /// A result row: columns found by name through the statement's shared lookup table.
    struct Row: SQLRow {
        let cells: SQLiteStoreRow

        var allColumns: [String] { cells.columns.names }
        func contains(column: String) -> Bool { cells.column(column) != nil }
        func decodeNil(column: String) throws -> Bool { (cells.column(column) ?? .null) == .null }

        func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
            guard let cell = cells.column(column) else { throw MissingColumn(column: column) }
            if D.self == String.self { return try Self.convert(String.self, cell, column) as! D }
            if D.self == Int64.self { return try Self.convert(Int64.self, cell, column) as! D }
            if D.self == String?.self { return (cell == .null ? nil : try Self.convert(String.self, cell, column)) as! D }
            if D.self == Int64?.self { return (cell == .null ? nil : try Self.convert(Int64.self, cell, column)) as! D }
            if D.self == Int.self { return try Self.convert(Int.self, cell, column) as! D }
            if D.self == Bool.self { return try Self.convert(Bool.self, cell, column) as! D }
            if D.self == Double.self { return try Self.convert(Double.self, cell, column) as! D }
            return try SQLiteDataDecoder().decode(D.self, from: cell)
        }

        /// The conversion SQLiteKit's decoder makes for these types (`SQLiteDataConvertible`), without its look-ups.
        private static func convert<T: SQLiteDataConvertible>(_: T.Type, _ cell: SQLiteData, _ column: String) throws -> T {
            guard let value = T(sqliteData: cell) else {
                throw DecodingError.typeMismatch(T.self, .init(codingPath: [], debugDescription: "column \(column): could not convert SQLite data to \(T.self): \(cell)"))
            }
            return value
        }
    }
}
