import Foundation
import OneCardCore
import OneCardStore

/// Codes of other platforms (多码融合、一码通用: 京津冀 arts. 17, 19; 浙江 art. 3; 重庆 art. 7). An administrator registers a
/// partner's code with its public keys and the items it opens; a holder proves an account there once, with a token of
/// that partner, and links it to their card; a venue then presents the partner's token and gets the decision the
/// holder's own card would get (its status, the catalogue, replays, entitlements), recorded as a use the holder sees.
struct PartnerCodeService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    /// What "in the published catalogue" means, as for a venue's items.
    let catalogue: CatalogueService

    struct Registration: Sendable { var code: String; var name: String; var keys: [PartnerKey]; var itemCodes: [String] }

    func register(_ r: Registration, by identity: Identity) async throws -> CodeIssuer {
        let now = clock.now()
        let issuer = CodeIssuer(code: r.code, name: r.name, keys: r.keys, itemCodes: r.itemCodes, registeredAt: now, changedAt: now)
        try issuer.validate()
        do {
            return try await store.write { s in
                try await checkItems(issuer.itemCodes, in: s)
                guard try await s.partnerCodes.issuer(issuer.code) == nil else {
                    throw DomainError(.codeIssuerExists, "\(issuer.code) is registered; change it with PATCH")
                }
                try await s.partnerCodes.insert(issuer)
                try await s.audit.append(at: now, actor: identity.actor, action: "code_issuer_registered", subject: "code_issuer:\(issuer.code)",
                                         purpose: issuer.itemCodes.joined(separator: ","))
                return issuer
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.codeIssuerExists, "\(issuer.code) is registered; change it with PATCH")
        }
    }

    struct Change: Sendable { var name: String?; var keys: [PartnerKey]?; var itemCodes: [String]?; var status: CodeIssuer.Status? }

    /// New keys (a partner's rotation), items, name or status (`suspended` stops its codes everywhere at once).
    func change(_ code: String, _ c: Change, by identity: Identity) async throws -> CodeIssuer {
        let now = clock.now()
        return try await store.write { s in
            guard var issuer = try await s.partnerCodes.issuer(code) else { throw DomainError(.codeIssuerNotFound, "no partner code \(code)") }
            if let name = c.name { issuer.name = name }
            if let keys = c.keys { issuer.keys = keys }
            if let items = c.itemCodes { issuer.itemCodes = items }
            if let status = c.status { issuer.status = status }
            issuer.changedAt = now
            try issuer.validate()
            if let items = c.itemCodes { try await checkItems(items, in: s) }
            try await s.partnerCodes.update(issuer)
            try await s.audit.append(at: now, actor: identity.actor, action: "code_issuer_changed", subject: "code_issuer:\(code)",
                                     purpose: [c.name.map { _ in "name" }, c.keys.map { _ in "keys" }, c.itemCodes.map { _ in "itemCodes" },
                                               c.status.map { "status=\($0.rawValue)" }].compactMap { $0 }.joined(separator: ","))
            return issuer
        }
    }

    func issuers() async throws -> [CodeIssuer] { try await store.read { try await $0.partnerCodes.issuers() } }

    /// Every item must be in the published catalogue (as for a venue).
    func checkItems(_ codes: [String], in s: StoreSession) async throws {
        for code in codes where try await catalogue.publishedItem(code, in: s) == nil {
            throw DomainError(.itemNotInCatalogue, "\(code) is not in the published catalogue")
        }
    }

    /// Links the account a partner's `token` proves to the holder. Linking the same account again answers the same
    /// link (`created` false); an account linked to someone else, or a second account at the same partner, is refused.
    func link(personId: Person.ID, issuer code: String, token: String, actor: String) async throws -> (link: PartnerCodeRepository.Link, created: Bool) {
        let now = clock.now()
        let issuer = try await store.read { try await $0.partnerCodes.issuer(code) }
        guard let issuer, issuer.status == .active else { throw DomainError(.codeIssuerNotFound, "no active partner code \(code)") }
        let claims: PartnerToken.Claims
        switch PartnerToken.verify(token, issuer: issuer, at: now) {
        case .valid(let c): claims = c
        case .denied(let reason):
            throw DomainError(.partnerTokenInvalid, "the token does not prove an account at \(code) (\(reason.rawValue)): show a fresh code of that platform")
        }
        let link = PartnerCodeRepository.Link(id: random.uuid(), issuer: code, account: claims.sub, personId: personId, linkedAt: now)
        do {
            return try await store.write { s in
                if let existing = try await s.partnerCodes.link(issuer: code, account: claims.sub) {
                    guard existing.personId == personId else {
                        throw DomainError(.codeAlreadyLinked, "this account at \(code) is linked to another card")
                    }
                    return (existing, false)
                }
                if try await s.partnerCodes.links(personId: personId).contains(where: { $0.issuer == code && $0.unlinkedAt == nil }) {
                    throw DomainError(.codeAlreadyLinked, "another account at \(code) is linked to your card: unlink it first")
                }
                try await s.partnerCodes.insert(link)
                try await s.audit.append(at: now, actor: actor, action: "code_linked", subject: "person:\(personId)", purpose: code)
                return (link, true)
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.codeAlreadyLinked, "this account at \(code) was linked meanwhile")
        }
    }

    func links(personId: Person.ID) async throws -> [PartnerCodeRepository.Link] {
        try await store.read { try await $0.partnerCodes.links(personId: personId) }
    }

    /// Ends one of the holder's links: that partner's codes no longer open anything for this card.
    func unlink(personId: Person.ID, linkId: String, actor: String) async throws -> PartnerCodeRepository.Link {
        let now = clock.now()
        return try await store.write { s in
            guard var link = try await s.partnerCodes.link(id: linkId), link.personId == personId, link.unlinkedAt == nil,
                  try await s.partnerCodes.unlink(id: linkId, at: now)
            else { throw DomainError(.linkedCodeNotFound, "no live link \(linkId) of yours") }
            link.unlinkedAt = now
            try await s.audit.append(at: now, actor: actor, action: "code_unlinked", subject: "person:\(personId)", purpose: link.issuer)
            return link
        }
    }

    /// A partner's token presented at a venue, as the holder's card: the token verified with the issuer's keys, the
    /// account's link found, and the holder's card (the live one, else the latest, so a cancelled card is refused as
    /// such). The replay key is the issuer's and the token's own id, so one code opens an item once, like the card's.
    func verify(issuer code: String, token: String, at now: Date) async throws -> VerifiedCredential {
        let issuer = try await store.read { try await $0.partnerCodes.issuer(code) }
        var v: VerifiedCredential
        switch PartnerToken.verify(token, issuer: issuer, at: now) {
        case .denied(let reason): v = .failed(reason, form: .electronic)
        case .valid(let claims):
            let (linked, card) = try await store.read { s -> (Bool, Card?) in
                guard let link = try await s.partnerCodes.link(issuer: code, account: claims.sub) else { return (false, nil) }
                if let live = try await s.cards.live(personId: link.personId) { return (true, live) }
                return (true, try await s.cards.list(personId: link.personId).first)
            }
            if let card {
                v = VerifiedCredential(form: .electronic, cardNumber: card.number, jti: "partner:\(code):\(claims.id)")
            } else {
                // Linked to a person who holds no card (yet): refused as a card not active would be.
                v = .failed(linked ? .cardNotActive : .codeNotLinked, form: .electronic)
            }
        }
        v.partnerIssuer = code
        v.partnerItems = issuer?.itemCodes ?? []
        return v
    }
}
