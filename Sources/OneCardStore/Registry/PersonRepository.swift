import Foundation
import OneCardCore
import SQLKit

/// Persons, with ID number, name, phone and address encrypted at rest (AES-GCM) and the ID number
/// findable through a keyed blind index.
public struct PersonRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    /// A person's row, sealed ahead of its transaction: AES-GCM and the blind index are CPU work, so a bulk load
    /// (`onecard bench populate`) seals on every core and then writes many rows per statement with `insert(sealed:)`.
    public struct Sealed: Sendable {
        let id: String, idType: String, idNumber: String, name: String, phone: String, address: String?
        let birthDate: String, sex: String, regionCode: String, createdAt: Int64
        /// The blind index of the ID number (what `find(idNumber:)` looks up).
        public let idIndex: String
    }

    /// Seals a person's personal fields with `cipher` (the store's: `Store.cipher`).
    public static func seal(_ p: Person, cipher: FieldCipher) -> Sealed {
        Sealed(id: p.id.rawValue, idType: p.idNumber.type.rawValue, idNumber: cipher.seal(p.idNumber.value, field: "id_number"),
               name: cipher.seal(p.name, field: "name"), phone: cipher.seal(p.phone, field: "phone"),
               address: p.address.map { cipher.seal($0, field: "address") }, birthDate: p.idNumber.birthDate.description,
               sex: p.idNumber.sex.rawValue, regionCode: p.idNumber.regionCode, createdAt: p.createdAt.millis,
               idIndex: cipher.blindIndex(p.idNumber.value, field: "id_number"))
    }

    public func insert(_ p: Person) async throws {
        try await insert(sealed: [Self.seal(p, cipher: cipher)])
    }

    /// Inserts sealed persons, many rows per statement.
    public func insert(sealed rows: [Sealed]) async throws {
        for part in stride(from: 0, to: rows.count, by: 1000) {
            var insert = db.insert(into: "persons").columns("id", "id_type", "id_index", "id_number_enc", "name_enc", "phone_enc", "address_enc",
                                                            "birth_date", "sex", "region_code", "created_at")
            for r in rows[part..<min(part + 1000, rows.count)] {
                insert = insert.values([SQLBind(r.id), SQLBind(r.idType), SQLBind(r.idIndex), SQLBind(r.idNumber), SQLBind(r.name), SQLBind(r.phone),
                                        SQLBind(r.address), SQLBind(r.birthDate), SQLBind(r.sex), SQLBind(r.regionCode), SQLBind(r.createdAt)])
            }
            try await insert.run()
        }
    }

    /// Which of these blind indexes are already registered (a bulk load skips those numbers instead of failing).
    public func existing(indexes: [String]) async throws -> Set<String> {
        guard !indexes.isEmpty else { return [] }
        // Joined to a VALUES list, not `IN (…)`: PostgreSQL plans a long IN list as a scan of every person (PaymentRepository.payees).
        var keys = SQLQueryString("")
        for (i, k) in indexes.enumerated() { keys += i == 0 ? "(\(bind: k))" : ", (\(bind: k))" }
        return Set(try await db.raw("SELECT p.id_index FROM (VALUES \(keys)) AS k JOIN persons p ON p.id_index = k.column1").all()
            .map { try $0.string("id_index") })
    }

    /// Re-seals the name, phone and address (a granted correction or deletion request); the ID number never changes here.
    public func updateContact(_ p: Person) async throws {
        try await db.raw("""
            UPDATE persons SET name_enc = \(bind: cipher.seal(p.name, field: "name")), phone_enc = \(bind: cipher.seal(p.phone, field: "phone")),
                address_enc = \(bind: p.address.map { cipher.seal($0, field: "address") })
            WHERE id = \(bind: p.id)
            """).run()
    }

    public func find(_ id: Person.ID) async throws -> Person? {
        try await db.raw("SELECT * FROM persons WHERE id = \(bind: id)").first().map(decode)
    }

    /// Finds a person by the exact ID number, through the blind index.
    public func find(idNumber: String) async throws -> Person? {
        let index = cipher.blindIndex(idNumber, field: "id_number")
        return try await db.raw("SELECT * FROM persons WHERE id_index = \(bind: index)").first().map(decode)
    }

    /// Birth dates by person id, read from the clear `birth_date` column without opening any encrypted field.
    public func birthDates(ids: [Person.ID]) async throws -> [Person.ID: CalendarDay] {
        guard !ids.isEmpty else { return [:] }
        var result: [Person.ID: CalendarDay] = [:]
        for r in try await db.raw("SELECT id, birth_date FROM persons WHERE id IN (\(binds: ids))").all() {
            result[try r.id("id")] = CalendarDay(try r.string("birth_date"))
        }
        return result
    }

    public func count() async throws -> Int {
        Int(try await db.raw("SELECT COUNT(*) AS n FROM persons").first()?.int("n") ?? 0)
    }

    func decode(_ r: any SQLRow) throws -> Person {
        let idValue = try cipher.open(try r.string("id_number_enc"), field: "id_number")
        guard let type = IDType(rawValue: try r.string("id_type")) else {
            throw FieldCipher.CipherError.corrupt
        }
        // The number was validated when stored; rebuild it without re-checking against today.
        let number = try IdentityNumber(idValue, type: type, today: CalendarDay(year: 9999, month: 12, day: 31)!)
        return Person(
            id: try r.id("id"), idNumber: number,
            name: try cipher.open(try r.string("name_enc"), field: "name"),
            phone: try cipher.open(try r.string("phone_enc"), field: "phone"),
            address: try r.optionalString("address_enc").map { try cipher.open($0, field: "address") },
            createdAt: try r.date("created_at"))
    }
}
