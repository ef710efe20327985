import Foundation
import OneCardCore
import OneCardStore

/// Certificates on the card (GD art. 7 last para.) and the entitlements they give: the issuing department (by scope) loads
/// and revokes them; any department reads a person's entitlements with a stated purpose (Beijing Minsheng art. 10: shared
/// data instead of paper), audited.
struct CertificateService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let policy: JurisdictionPolicy
    /// The key ring, read when a revocation lists outstanding tokens (its clock skew), never at start-up: `migrate` and
    /// other commands build the services without a node's keys.
    let signingKeys: SigningKeyStore

    struct Input: Sendable {
        var type: Certificate.Kind
        var number: String?
        var category: Int?
        var grade: Int?
        var validFrom: CalendarDay
        var validTo: CalendarDay?
    }

    /// Loads a certificate; the answer is the person's entitlements now.
    func load(personId: Person.ID, _ i: Input, by identity: Identity) async throws -> (Certificate, [String]) {
        try Self.requireScope(for: i.type, identity)
        let at = clock.now()
        let c = Certificate(id: random.uuid(), personId: personId, type: i.type, number: i.number, category: i.category, grade: i.grade,
                            validFrom: i.validFrom, validTo: i.validTo, loadedBy: identity.actor, loadedAt: at)
        let tiers = policy.ageTiers
        return try await store.write { s in
            guard let person = try await s.persons.find(personId) else { throw DomainError(.personNotFound, "no person \(personId)") }
            try Certificate.check(type: i.type, number: i.number, category: i.category, grade: i.grade, validFrom: i.validFrom, validTo: i.validTo,
                                  idNumber: person.idNumber.value)
            try await s.certificates.insert(c)
            try await s.audit.append(at: at, actor: identity.actor, action: "certificate_loaded", subject: "person:\(personId)",
                                     purpose: "\(i.type.rawValue) \(c.id)")
            return (c, try await Self.entitlements(of: [personId], at: at, tiers: tiers, in: s)[personId] ?? [])
        }
    }

    /// Revokes a certificate (kept, with `revokedAt`). Online its entitlements stop at once (acceptance derives a known card's
    /// entitlements from the certificates in force). Offline gates only see a QR token's `ent`, so every token of the
    /// person's cards that a gate could still accept is listed by `jti` in the revocation feed (status `entitlements_changed`:
    /// the holder shows a fresh code, whose `ent` no longer has the code); a physical card's concession is decided by the node
    /// when its taps arrive, as of each tap's time. 残疾人证管理办法 and the provincial rules grant concessions only
    /// "凭有效证件" (wave2-facts §5.1: Beijing art. 41, Chongqing art. 28): a revoked certificate is no valid certificate.
    func revoke(personId: Person.ID, certificateId: Certificate.ID, by identity: Identity) async throws -> Certificate {
        let at = clock.now()
        let skew = signingKeys.ring.skew
        return try await store.write { s in
            guard var c = try await s.certificates.find(certificateId), c.personId == personId else {
                throw DomainError(.certificateNotFound, "no certificate \(certificateId) on person \(personId)")
            }
            try Self.requireScope(for: c.type, identity)
            guard c.revokedAt == nil, try await s.certificates.revoke(c.id, at: at, by: identity.actor) else {
                throw DomainError(.certificateRevoked, "the certificate was revoked already")
            }
            c.revokedAt = at
            c.revokedBy = identity.actor
            for card in try await s.cards.list(personId: personId) {
                for jti in try await s.trust.outstandingTokens(cardNumber: card.number, now: at, skew: skew) {
                    try await s.trust.appendRevocation(.token(jti: jti, status: .entitlementsChanged, at: at))
                }
            }
            try await s.audit.append(at: at, actor: identity.actor, action: "certificate_revoked", subject: "person:\(personId)",
                                     purpose: "\(c.type.rawValue) \(c.id)")
            return c
        }
    }

    /// A person's certificates (revoked too, newest first) for the issuing department's page; masked: no number.
    func certificates(personId: Person.ID) async throws -> [Certificate] {
        try await store.read { s in
            guard try await s.persons.find(personId) != nil else { throw DomainError(.personNotFound, "no person \(personId)") }
            return try await s.certificates.list(personId: personId)
        }
    }

    struct Shared: Sendable {
        var certificates: [Certificate]
        var entitlements: [String]
        /// Paid passes in force today (Beijing Minsheng art. 10 lists them among the shared entitlement data).
        var passes: [Pass]
    }

    /// A person's certificates in force and entitlements now, read by a department for `purpose` (audited as an unmasked read).
    func sharedEntitlements(personId: Person.ID, purpose: String, by identity: Identity) async throws -> Shared {
        let at = clock.now()
        let tiers = policy.ageTiers
        return try await store.write { s in
            guard try await s.persons.find(personId) != nil else { throw DomainError(.personNotFound, "no person \(personId)") }
            try await IncidentService.checkUnmaskingAllowed(in: s)
            try await s.audit.append(at: at, actor: identity.actor, action: "entitlements_read", subject: "person:\(personId)", purpose: purpose)
            let certificates = try await s.certificates.list(personId: personId).filter { $0.inForce(at: at) }
            return Shared(certificates: certificates, entitlements: try await Self.entitlements(of: [personId], at: at, tiers: tiers, in: s)[personId] ?? [],
                          passes: try await s.products.activePasses(personId: personId, on: ChinaStandardTime.day(of: at)))
        }
    }

    /// The holder's own entitlements now (their page).
    func entitlements(personId: Person.ID) async throws -> [String] {
        let at = clock.now()
        let tiers = policy.ageTiers
        return try await store.read { s in try await Self.entitlements(of: [personId], at: at, tiers: tiers, in: s)[personId] ?? [] }
    }

    /// Each person's entitlements at `at` (see `EntitlementSources`).
    static func entitlements(of personIds: [Person.ID], at: Date, tiers: [Entitlement.AgeTier], in s: StoreSession) async throws -> [Person.ID: [String]] {
        let sources = try await EntitlementSources.load(personIds, now: at, in: s)
        return Dictionary(uniqueKeysWithValues: Set(personIds).map { ($0, sources.codes($0, at: at, tiers: tiers)) })
    }

    /// Each certificate kind is the business of one department scope (API.md): 403 for any other.
    static func requireScope(for type: Certificate.Kind, _ identity: Identity) throws(DomainError) {
        guard identity.role == .department, identity.scope == type.issuingScope else {
            throw DomainError(.forbidden, "a \(type.rawValue) certificate is loaded and revoked by a department user with the \(type.issuingScope.rawValue) scope")
        }
    }
}

/// What a person's entitlements follow from, loaded for several persons at once; `codes` derives them with
/// `Entitlement.codes` (the one rule) as of any instant: e-card tokens, physical cards at venues, transit taps as of their
/// time, answers to other provinces, departments' reads all come here.
struct EntitlementSources: Sendable {
    var births: [Person.ID: CalendarDay] = [:]
    var certificates: [Person.ID: [Certificate]] = [:]
    /// Paid passes (北京市民生卡 art. 2: 公园年票) not yet ended: each is the code `pass:<product>` within its days.
    var passes: [Person.ID: [Pass]] = [:]

    /// What decides the entitlements of `personIds`. Passes are loaded from a year back (a transit tap or an offline use
    /// is judged at its own time, which may be days old); `codes` keeps those of the day.
    /// `now` is the services' clock (not the machine's), so a test's days and the passes it sells agree.
    static func load(_ personIds: [Person.ID], now: Date, in s: StoreSession) async throws -> EntitlementSources {
        let ids = Array(Set(personIds))
        guard !ids.isEmpty else { return EntitlementSources() }
        let yearAgo = CalendarDay(daysSinceEpoch: ChinaStandardTime.day(of: now).daysSinceEpoch - 400)
        return EntitlementSources(births: try await s.persons.birthDates(ids: ids), certificates: try await s.certificates.list(personIds: ids),
                                  passes: try await s.products.activePasses(personIds: ids, around: yearAgo))
    }

    /// Age, the certificates in force and the passes valid on the day (China Standard Time) of `at`.
    func codes(_ personId: Person.ID, at: Date, tiers: [Entitlement.AgeTier]) -> [String] {
        let day = ChinaStandardTime.day(of: at)
        let passCodes = (passes[personId] ?? []).filter { $0.validFrom <= day && day <= $0.validTo }.map { Pass.entitlement(product: $0.product) }
        return Entitlement.codes(birthDate: births[personId], at: at, certificates: certificates[personId] ?? [], extra: Array(Set(passCodes)).sorted(),
                                 tiers: tiers)
    }
}
