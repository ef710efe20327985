import Foundation
import OneCardCore
import SQLKit

/// E-licences linked to persons; the number sealed like other personal data.
public struct LicenceRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    public func insert(_ l: Licence) async throws {
        try await db.raw("""
            INSERT INTO licences (id, person_id, type, number_enc, licence_class, valid_to, issuer, linked_by, linked_at)
            VALUES (\(bind: l.id), \(bind: l.personId), \(bind: l.type.rawValue), \(bind: cipher.seal(l.number, field: "licence_number")),
                    \(bind: l.licenceClass), \(bind: l.validTo.description), \(bind: l.issuer), \(bind: l.linkedBy), \(bind: l.linkedAt.millis))
            """).run()
    }

    /// A person's licences, the latest linked first.
    public func list(personId: Person.ID) async throws -> [Licence] {
        try await db.raw("SELECT * FROM licences WHERE person_id = \(bind: personId) ORDER BY linked_at DESC, id").all().map(decode)
    }

    func decode(_ r: any SQLRow) throws -> Licence {
        Licence(id: try r.string("id"), personId: try r.id("person_id"), type: Licence.Kind(rawValue: try r.string("type")) ?? .driving,
                number: try cipher.open(try r.string("number_enc"), field: "licence_number"), licenceClass: try r.string("licence_class"),
                validTo: CalendarDay(try r.string("valid_to")) ?? CalendarDay(year: 1970, month: 1, day: 1)!, issuer: try r.string("issuer"),
                linkedBy: try r.string("linked_by"), linkedAt: try r.date("linked_at"))
    }
}
