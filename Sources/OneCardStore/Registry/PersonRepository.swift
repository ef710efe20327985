import Foundation
import OneCardCore
import SQLKit

/// Persons, with ID number, name, phone and address encrypted at rest (AES-GCM) and the ID number
/// findable through a keyed blind index.
public struct PersonRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    public func insert(_ p: Person) async throws {
        try await db.raw("""
            INSERT INTO persons (id, id_type, id_index, id_number_enc, name_enc, phone_enc, address_enc, birth_date, sex, region_code, created_at)
            VALUES (\(bind: p.id), \(bind: p.idNumber.type.rawValue), \(bind: cipher.blindIndex(p.idNumber.value, field: "id_number")),
                    \(bind: cipher.seal(p.idNumber.value, field: "id_number")), \(bind: cipher.seal(p.name, field: "name")),
                    \(bind: cipher.seal(p.phone, field: "phone")), \(bind: p.address.map { cipher.seal($0, field: "address") }),
                    \(bind: p.idNumber.birthDate.description), \(bind: p.idNumber.sex.rawValue), \(bind: p.idNumber.regionCode),
                    \(bind: p.createdAt.millis))
            """).run()
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
