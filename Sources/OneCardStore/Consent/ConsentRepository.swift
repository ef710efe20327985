import Foundation
import OneCardCore
import SQLKit

/// Holders' consents, withdrawn ones kept.
public struct ConsentRepository: Sendable {
    let db: any SQLDatabase

    public func insert(_ c: Consent) async throws {
        try await db.raw("""
            INSERT INTO consents (id, person_id, purpose, grantee, granted_at, withdrawn_at)
            VALUES (\(bind: c.id), \(bind: c.personId), \(bind: c.purpose.rawValue), \(bind: c.grantee), \(bind: c.grantedAt.millis), \(bind: c.withdrawnAt?.millis))
            """).run()
    }

    /// A person's consents, newest first.
    public func list(personId: Person.ID) async throws -> [Consent] {
        try await db.raw("SELECT * FROM consents WHERE person_id = \(bind: personId) ORDER BY granted_at DESC, id").all().map(Self.decode)
    }

    /// Marks a consent of this person withdrawn at `at`; false when it is not theirs or already withdrawn.
    public func withdraw(_ id: String, personId: Person.ID, at: Date) async throws -> Bool {
        try await db.raw("""
            UPDATE consents SET withdrawn_at = \(bind: at.millis)
            WHERE id = \(bind: id) AND person_id = \(bind: personId) AND withdrawn_at IS NULL RETURNING id
            """).all().isEmpty == false
    }

    public func find(_ id: String) async throws -> Consent? {
        try await db.raw("SELECT * FROM consents WHERE id = \(bind: id)").first().map(Self.decode)
    }

    static func decode(_ r: any SQLRow) throws -> Consent {
        Consent(id: try r.string("id"), personId: try r.id("person_id"),
                purpose: Consent.Purpose(rawValue: try r.string("purpose")) ?? .recordShare, grantee: try r.optionalString("grantee"),
                grantedAt: try r.date("granted_at"), withdrawnAt: try r.optionalDate("withdrawn_at"))
    }
}
