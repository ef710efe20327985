import Foundation
import OneCardCore
import SQLKit

/// Where personal data is sealed: every column `FieldCipher` writes, with the field name bound into its values and the
/// column that finds its row. The re-encryption after a rotation of the personal-data key walks this list; a new sealed
/// column is added here (a store test fails when a `_enc` column of the schema is missing).
public struct SealedColumn: Sendable, Equatable {
    public var table: String
    public var key: String
    public var column: String
    public var field: String

    public static let all: [SealedColumn] = [
        .init(table: "persons", key: "id", column: "id_number_enc", field: "id_number"),
        .init(table: "persons", key: "id", column: "name_enc", field: "name"),
        .init(table: "persons", key: "id", column: "phone_enc", field: "phone"),
        .init(table: "persons", key: "id", column: "address_enc", field: "address"),
        .init(table: "cards", key: "card_number", column: "account_enc", field: "account"),
        .init(table: "programmes", key: "id", column: "funding_account_enc", field: "account"),
        .init(table: "payments", key: "id", column: "account_enc", field: "account"),
        .init(table: "transit_operators", key: "code", column: "account_enc", field: "operator_account"),
        .init(table: "transit_trips", key: "trip_id", column: "account_enc", field: "account"),
        .init(table: "transit_remote_trips", key: "trip_id", column: "account_enc", field: "account"),
        .init(table: "licences", key: "id", column: "number_enc", field: "licence_number"),
        .init(table: "hr_records", key: "id", column: "details_enc", field: "record_details"),
        .init(table: "linked_codes", key: "id", column: "account_enc", field: "partner_account"),
        .init(table: "medical_claims", key: "id", column: "account_enc", field: "claim_account"),
        .init(table: "data_requests", key: "id", column: "value_enc", field: "data_request_value"),
        .init(table: "data_requests", key: "id", column: "reason_enc", field: "data_request_reason"),
        .init(table: "certificates", key: "id", column: "number_enc", field: "certificate_number"),
        .init(table: "bill_payments", key: "id", column: "customer_ref_enc", field: "bill_customer_ref"),
        .init(table: "bill_payments", key: "id", column: "account_enc", field: "account"),
        .init(table: "passes", key: "id", column: "account_enc", field: "account"),
        .init(table: "qr_signing_keys", key: "kid", column: "private_enc", field: "qr_signing_key"),
    ]
}

/// Key generations (in `node_settings`) and the re-sealing of values under an older personal-data key.
public struct KeyRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    public enum Purpose: String, Sendable, CaseIterable {
        case sessions
        case personalData = "personal_data"
        var setting: String { "key_generation.\(rawValue)" }
    }

    /// The generation in force (1 before any rotation).
    public func generation(_ purpose: Purpose) async throws -> Int {
        try await db.raw("SELECT value FROM node_settings WHERE name = \(bind: purpose.setting)").first()
            .flatMap { Int(try $0.decode(column: "value", as: String.self)) } ?? 1
    }

    public func setGeneration(_ purpose: Purpose, _ generation: Int, by: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO node_settings (name, value, updated_by, updated_at) VALUES (\(bind: purpose.setting), \(bind: String(generation)), \(bind: by), \(bind: at.millis))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at
            """).run()
    }

    /// How many values of `column` are sealed under another generation than `generation`.
    public func stale(_ c: SealedColumn, generation: Int) async throws -> Int {
        Int(try await db.raw(SQLQueryString("SELECT COUNT(*) AS n FROM \(unsafeRaw: c.table) WHERE \(unsafeRaw: c.column) IS NOT NULL AND ") + Self.notUnder(c, generation))
            .first()?.decode(column: "n", as: Int64.self) ?? 0)
    }

    /// Re-seals up to `limit` values of `column` under the current generation; each row is written only if its value is
    /// still the one read (a concurrent change wins and is already sealed under the current key). The number re-sealed.
    public func reseal(_ c: SealedColumn, generation: Int, limit: Int) async throws -> Int {
        let rows = try await db.raw(SQLQueryString("SELECT \(unsafeRaw: c.key) AS k, \(unsafeRaw: c.column) AS v FROM \(unsafeRaw: c.table) WHERE \(unsafeRaw: c.column) IS NOT NULL AND ")
                                    + Self.notUnder(c, generation) + " LIMIT \(bind: limit)").all()
        var n = 0
        for r in rows {
            let key = try r.decode(column: "k", as: String.self), old = try r.decode(column: "v", as: String.self)
            let fresh = cipher.seal(try cipher.open(old, field: c.field), field: c.field)
            try await db.raw(SQLQueryString("UPDATE \(unsafeRaw: c.table) SET \(unsafeRaw: c.column) = \(bind: fresh) WHERE \(unsafeRaw: c.key) = \(bind: key) AND \(unsafeRaw: c.column) = \(bind: old)")).run()
            n += 1
        }
        return n
    }

    static func notUnder(_ c: SealedColumn, _ generation: Int) -> SQLQueryString {
        // Generation 1 values carry no prefix; a later generation's carry `k<n>.` (base64 has no dot).
        generation == 1 ? SQLQueryString("\(unsafeRaw: c.column) LIKE 'k%.%'")
                        : SQLQueryString("\(unsafeRaw: c.column) NOT LIKE \(bind: DataKeyGenerations.prefix(generation) + "%")")
    }
}
