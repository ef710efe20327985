import Foundation
import OneCardCore
import OneCardStore

/// Holders' consents (PIPL arts. 13–15): given, listed and withdrawn by the holder, each step audited; the processing
/// that needs one asks `allows` at the moment it happens.
struct ConsentService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource

    func grant(personId: Person.ID, purpose: Consent.Purpose, grantee: String?, actor: String) async throws -> Consent {
        let c = Consent(id: random.uuid(), personId: personId, purpose: purpose, grantee: grantee, grantedAt: clock.now())
        try await store.write { s in
            try await s.consents.insert(c)
            try await s.audit.append(at: c.grantedAt, actor: actor, action: "consent_granted", subject: "person:\(personId)", purpose: purpose.rawValue)
        }
        return c
    }

    func list(personId: Person.ID) async throws -> [Consent] {
        try await store.read { try await $0.consents.list(personId: personId) }
    }

    /// Withdraws one of the holder's consents (kept, with when); another person's or an unknown id is `consent_not_found`.
    func withdraw(_ id: String, personId: Person.ID, actor: String) async throws -> Consent {
        let now = clock.now()
        return try await store.write { s in
            guard let c = try await s.consents.find(id), c.personId == personId else { throw DomainError(.consentNotFound, "no consent \(id) of yours") }
            guard try await s.consents.withdraw(id, personId: personId, at: now) else {
                throw DomainError(.consentWithdrawn, "the consent was withdrawn \(c.withdrawnAt.map(Timestamp.format) ?? "before")")
            }
            try await s.audit.append(at: now, actor: actor, action: "consent_withdrawn", subject: "person:\(personId)", purpose: c.purpose.rawValue)
            var out = c
            out.withdrawnAt = now
            return out
        }
    }

    /// Whether the person's consent allows `purpose` now, read in the caller's transaction.
    static func allows(_ personId: Person.ID, _ purpose: Consent.Purpose, grantee: String? = nil, at now: Date, in s: StoreSession) async throws -> Bool {
        Consent.allows(try await s.consents.list(personId: personId), purpose, grantee: grantee, at: now)
    }
}
