import Foundation
import OneCardCore
import SQLKit

/// What the department's pages list: programmes, newest first, and each programme's batches. Kept apart
/// from `PaymentRepository`'s hot paths; each row is read through that repository's own decoders.
extension PaymentRepository {
    public func programmes(limit: Int = 200) async throws -> [Programme] {
        var out: [Programme] = []
        for r in try await db.raw("SELECT id FROM programmes ORDER BY created_at DESC, id LIMIT \(bind: Int64(limit))").all() {
            if let p = try await programme(try r.id("id")) { out.append(p) }
        }
        return out
    }

    /// A programme's batches, newest first.
    public func batches(programmeId: Programme.ID, limit: Int = 200) async throws -> [PaymentBatch] {
        var out: [PaymentBatch] = []
        for r in try await db.raw("""
            SELECT id FROM payment_batches WHERE programme_id = \(bind: programmeId) ORDER BY created_at DESC, id LIMIT \(bind: Int64(limit))
            """).all() {
            if let b = try await batch(try r.id("id")) { out.append(b) }
        }
        return out
    }
}
