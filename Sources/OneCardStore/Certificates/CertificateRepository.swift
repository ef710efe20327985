import Foundation
import OneCardCore
import SQLKit

/// Certificates loaded on persons; the number sealed like other personal data, revoked ones kept.
public struct CertificateRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    public func insert(_ c: Certificate) async throws {
        try await db.raw("""
            INSERT INTO certificates (id, person_id, type, number_enc, category, grade, valid_from, valid_to, loaded_by, loaded_at, revoked_at, revoked_by)
            VALUES (\(bind: c.id), \(bind: c.personId), \(bind: c.type.rawValue), \(bind: try c.number.map { try cipher.seal($0, field: "certificate_number") }),
                    \(bind: c.category), \(bind: c.grade), \(bind: c.validFrom.description), \(bind: c.validTo?.description),
                    \(bind: c.loadedBy), \(bind: c.loadedAt.millis), \(bind: c.revokedAt?.millis), \(bind: c.revokedBy))
            """).run()
    }

    public func find(_ id: Certificate.ID) async throws -> Certificate? {
        try await db.raw("SELECT * FROM certificates WHERE id = \(bind: id)").first().map(decode)
    }

    /// Marks a certificate revoked; false if it was revoked already (a concurrent revocation won).
    public func revoke(_ id: Certificate.ID, at: Date, by: String) async throws -> Bool {
        let rows = try await db.raw("""
            UPDATE certificates SET revoked_at = \(bind: at.millis), revoked_by = \(bind: by) WHERE id = \(bind: id) AND revoked_at IS NULL RETURNING id
            """).all()
        return !rows.isEmpty
    }

    /// A person's certificates, revoked ones too, the latest loaded first.
    public func list(personId: Person.ID) async throws -> [Certificate] {
        try await db.raw("SELECT * FROM certificates WHERE person_id = \(bind: personId) ORDER BY loaded_at DESC, id").all().map(decode)
    }

    /// The certificates of several persons (revoked ones too: callers judge them as of an instant), by person.
    public func list(personIds: [Person.ID]) async throws -> [Person.ID: [Certificate]] {
        guard !personIds.isEmpty else { return [:] }
        var result: [Person.ID: [Certificate]] = [:]
        for part in stride(from: 0, to: personIds.count, by: 500) {
            let ids = Array(personIds[part..<min(part + 500, personIds.count)])
            for c in try await db.raw("SELECT * FROM certificates WHERE person_id IN (\(binds: ids))").all().map(decode) {
                result[c.personId, default: []].append(c)
            }
        }
        return result
    }

    func decode(_ r: any SQLRow) throws -> Certificate {
        let category = try r.optionalInt("category"), grade = try r.optionalInt("grade")
        return Certificate(
            id: try r.string("id"), personId: try r.id("person_id"), type: Certificate.Kind(rawValue: try r.string("type")) ?? .elderly,
            number: try r.optionalString("number_enc").map { try cipher.open($0, field: "certificate_number") },
            category: category.map { Int($0) }, grade: grade.map { Int($0) },
            validFrom: CalendarDay(try r.string("valid_from")) ?? CalendarDay(year: 1970, month: 1, day: 1)!,
            validTo: try r.optionalString("valid_to").flatMap { CalendarDay($0) },
            loadedBy: try r.string("loaded_by"), loadedAt: try r.date("loaded_at"),
            revokedAt: try r.optionalDate("revoked_at"), revokedBy: try r.optionalString("revoked_by"))
    }
}
