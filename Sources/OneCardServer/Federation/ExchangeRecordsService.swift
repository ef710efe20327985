import Foundation
import OneCardCore
import OneCardStore

/// What a federation party keeps of its signed exchange: the nonces seen (replays are refused) and every message with
/// both signatures as evidence. Shared by the hub and the nodes, and by both directions of a call.
struct ExchangeRecordsService: Sendable {
    let store: Store

    /// Records a signature's nonce; false when that member used it before.
    func firstUse(keyID: String, nonce: String, created: Date) async throws -> Bool {
        try await store.write { try await $0.federation.firstUse(keyID: keyID, nonce: nonce, created: created) }
    }

    /// Forgets nonces older than `cutoff` (their signatures are refused as expired anyway).
    func pruneNonces(before cutoff: Date) async throws {
        try await store.write { try await $0.federation.pruneNonces(before: cutoff) }
    }

    func keep(_ evidence: FederationEvidence) async throws {
        try await store.write { try await $0.federation.keep(evidence) }
    }

    /// The newest messages first, optionally only those with one party.
    func evidence(peer: String?, before: Int64? = nil, limit: Int) async throws -> [FederationEvidence] {
        try await store.read { try await $0.federation.evidence(peer: peer, before: before, limit: limit) }
    }
}
