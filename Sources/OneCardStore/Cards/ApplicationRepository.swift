import Foundation
import OneCardCore
import SQLKit

public struct ApplicationRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect

    public func insert(_ a: CardApplication) async throws {
        try await db.raw("""
            INSERT INTO card_applications (id, person_id, channel, apply_outlet_id, pickup_outlet_id, delivery, bank_code, status,
                remote, submitted_at, due_at, updated_at, reason, card_number)
            VALUES (\(bind: a.id), \(bind: a.personId), \(bind: a.channel.rawValue), \(bind: a.applyOutletId), \(bind: a.pickupOutletId),
                \(bind: a.delivery.rawValue), \(bind: a.bankCode), \(bind: a.status.rawValue), \(bind: a.remote.int),
                \(bind: a.submittedAt.millis), \(bind: a.dueAt.millis), \(bind: a.updatedAt.millis), \(bind: a.reason), \(bind: a.cardNumber))
            """).run()
    }

    /// Reads an application; `lock` takes a row lock for a read-modify-write in a transaction.
    public func find(_ id: CardApplication.ID, lock: Bool = false) async throws -> CardApplication? {
        try await db.raw("SELECT * FROM card_applications WHERE id = \(bind: id)\(unsafeRaw: lock ? dialect.forUpdate : "")")
            .first().map(Self.decode)
    }

    public func update(_ a: CardApplication) async throws {
        try await db.raw("""
            UPDATE card_applications SET status = \(bind: a.status.rawValue), updated_at = \(bind: a.updatedAt.millis),
                reason = \(bind: a.reason), card_number = \(bind: a.cardNumber), pickup_outlet_id = \(bind: a.pickupOutletId)
            WHERE id = \(bind: a.id)
            """).run()
    }

    public func list(personId: Person.ID) async throws -> [CardApplication] {
        try await db.raw("SELECT * FROM card_applications WHERE person_id = \(bind: personId) ORDER BY submitted_at DESC, id")
            .all().map(Self.decode)
    }

    /// The queue: applications in `statuses`, soonest deadline first.
    public func list(statuses: [ApplicationStatus], limit: Int = 500) async throws -> [CardApplication] {
        let list = SQLList(statuses.map { SQLBind($0.rawValue) })
        return try await db.raw("SELECT * FROM card_applications WHERE status IN (\(list)) ORDER BY due_at, id LIMIT \(bind: limit)")
            .all().map(Self.decode)
    }

    public func hasOpen(personId: Person.ID) async throws -> Bool {
        try await db.raw("""
            SELECT id FROM card_applications WHERE person_id = \(bind: personId) AND status IN ('submitted', 'approved', 'produced', 'ready')
            """).first() != nil
    }

    static func decode(_ r: any SQLRow) throws -> CardApplication {
        CardApplication(
            id: try r.string("id"), personId: try r.id("person_id"),
            channel: ApplicationChannel(rawValue: try r.string("channel")) ?? .counter,
            applyOutletId: try r.optionalString("apply_outlet_id"), pickupOutletId: try r.optionalString("pickup_outlet_id"),
            delivery: Delivery(rawValue: try r.string("delivery")) ?? .pickup, bankCode: try r.string("bank_code"),
            status: ApplicationStatus(rawValue: try r.string("status")) ?? .submitted, remote: try r.bool("remote"),
            submittedAt: try r.date("submitted_at"), dueAt: try r.date("due_at"), updatedAt: try r.date("updated_at"),
            reason: try r.optionalString("reason"), cardNumber: try r.optionalCardNumber("card_number"))
    }
}
