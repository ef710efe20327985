import Foundation
import OneCardCore
import SQLKit

/// A card lifecycle step taken with an Idempotency-Key: which step on which card, and what it left.
public struct LifecycleRequest: Sendable, Equatable {
    public var actor: String
    public var key: String
    public var cardNumber: CardNumber
    /// The step's event type (`card_activated`, `card_replaced`, …).
    public var action: String
    public var status: CardStatus
    public var replacement: CardNumber?
    public var at: Date

    public init(actor: String, key: String, cardNumber: CardNumber, action: String, status: CardStatus, replacement: CardNumber?, at: Date) {
        self.actor = actor; self.key = key; self.cardNumber = cardNumber; self.action = action; self.status = status
        self.replacement = replacement; self.at = at
    }
}

/// Lifecycle steps by (actor, Idempotency-Key), written in the step's own transaction.
public struct LifecycleRequestRepository: Sendable {
    let db: any SQLDatabase

    public func find(actor: String, key: String) async throws -> LifecycleRequest? {
        guard let row = try await db.raw("SELECT * FROM lifecycle_requests WHERE actor = \(bind: actor) AND idempotency_key = \(bind: key)").first() else {
            return nil
        }
        return LifecycleRequest(actor: try row.string("actor"), key: try row.string("idempotency_key"), cardNumber: try row.cardNumber("card_number"),
                                action: try row.string("action"), status: CardStatus(rawValue: try row.string("status")) ?? .issued,
                                replacement: try row.optionalCardNumber("replacement"), at: try row.date("at"))
    }

    public func insert(_ r: LifecycleRequest) async throws {
        try await db.raw("""
            INSERT INTO lifecycle_requests (actor, idempotency_key, card_number, action, status, replacement, at)
            VALUES (\(bind: r.actor), \(bind: r.key), \(bind: r.cardNumber), \(bind: r.action), \(bind: r.status.rawValue), \(bind: r.replacement),
                    \(bind: r.at.millis))
            """).run()
    }
}
