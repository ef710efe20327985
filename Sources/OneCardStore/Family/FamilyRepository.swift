import Foundation
import OneCardCore
import SQLKit

/// Family links and the acts of family service.
public struct FamilyRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect

    public func insert(_ l: RelativeLink) async throws {
        try await db.raw("""
            INSERT INTO relative_links (id, holder_id, relative_id, relationship, status, confirmed_by, basis, created_at, changed_at)
            VALUES (\(bind: l.id), \(bind: l.holderId), \(bind: l.relativeId), \(bind: l.relationship.rawValue), \(bind: l.status.rawValue),
                    \(bind: l.confirmedBy), \(bind: l.basis?.rawValue), \(bind: l.createdAt.millis), \(bind: l.changedAt.millis))
            """).run()
    }

    /// One link, locked for the change that follows on PostgreSQL.
    public func find(_ id: String, lock: Bool = false) async throws -> RelativeLink? {
        try await db.raw("SELECT * FROM relative_links WHERE id = \(bind: id)\(unsafeRaw: lock ? dialect.forUpdate : "")").first().map(Self.decode)
    }

    public func update(_ l: RelativeLink) async throws {
        try await db.raw("""
            UPDATE relative_links SET status = \(bind: l.status.rawValue), confirmed_by = \(bind: l.confirmedBy), basis = \(bind: l.basis?.rawValue),
                changed_at = \(bind: l.changedAt.millis) WHERE id = \(bind: l.id)
            """).run()
    }

    /// Links the holder asked for, and links to them (as the relative), the latest first.
    public func links(holder: Person.ID) async throws -> [RelativeLink] {
        try await db.raw("SELECT * FROM relative_links WHERE holder_id = \(bind: holder) ORDER BY created_at DESC, id").all().map(Self.decode)
    }
    public func links(relative: Person.ID) async throws -> [RelativeLink] {
        try await db.raw("SELECT * FROM relative_links WHERE relative_id = \(bind: relative) ORDER BY created_at DESC, id").all().map(Self.decode)
    }

    /// The relationships of the holder's pending and active links (the limit and the caps count them).
    public func liveRelationships(holder: Person.ID) async throws -> [RelativeLink.Relationship] {
        try await db.raw("SELECT relationship FROM relative_links WHERE holder_id = \(bind: holder) AND status IN ('pending', 'active')").all()
            .compactMap { RelativeLink.Relationship(rawValue: try $0.string("relationship")) }
    }

    /// The active link by which `holder` acts for `relative`, if any.
    public func active(holder: Person.ID, relative: Person.ID) async throws -> RelativeLink? {
        try await db.raw("""
            SELECT * FROM relative_links WHERE holder_id = \(bind: holder) AND relative_id = \(bind: relative) AND status = 'active'
            """).first().map(Self.decode)
    }

    public func live(holder: Person.ID, relative: Person.ID) async throws -> RelativeLink? {
        try await db.raw("""
            SELECT * FROM relative_links WHERE holder_id = \(bind: holder) AND relative_id = \(bind: relative) AND status IN ('pending', 'active')
            """).first().map(Self.decode)
    }

    /// Pending links, the oldest first (an agent's queue of in-person confirmations).
    public func pending(limit: Int = 200) async throws -> [RelativeLink] {
        try await db.raw("SELECT * FROM relative_links WHERE status = 'pending' ORDER BY created_at, id LIMIT \(bind: limit)").all().map(Self.decode)
    }

    public func append(_ e: FamilyEvent) async throws {
        try await db.raw("""
            INSERT INTO family_events (id, link_id, holder_id, relative_id, action, actor, at)
            VALUES (\(bind: e.id), \(bind: e.linkId), \(bind: e.holderId), \(bind: e.relativeId), \(bind: e.action), \(bind: e.actor), \(bind: e.at.millis))
            """).run()
    }

    /// Every act on either side of the person's links, the latest first.
    public func events(person: Person.ID) async throws -> [FamilyEvent] {
        try await db.raw("""
            SELECT * FROM family_events WHERE holder_id = \(bind: person) OR relative_id = \(bind: person) ORDER BY at DESC, id
            """).all().map { r in
            FamilyEvent(id: try r.string("id"), linkId: try r.string("link_id"), holderId: try r.id("holder_id"), relativeId: try r.id("relative_id"),
                        action: try r.string("action"), actor: try r.string("actor"), at: try r.date("at"))
        }
    }

    static func decode(_ r: any SQLRow) throws -> RelativeLink {
        RelativeLink(id: try r.string("id"), holderId: try r.id("holder_id"), relativeId: try r.id("relative_id"),
                     relationship: RelativeLink.Relationship(rawValue: try r.string("relationship")) ?? .sibling,
                     status: RelativeLink.Status(rawValue: try r.string("status")) ?? .removed, confirmedBy: try r.optionalString("confirmed_by"),
                     basis: try r.optionalString("basis").flatMap(RelativeLink.Basis.init), createdAt: try r.date("created_at"),
                     changedAt: try r.date("changed_at"))
    }
}
