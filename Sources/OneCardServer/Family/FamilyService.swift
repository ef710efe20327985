import Foundation
import OneCardCore
import OneCardStore

/// Family service (亲情服务; API.md "Entitlements and records"; wave2-facts §6.2): a holder links relatives (the region's
/// limit counts pending and active links), each link active once the relative accepts or an agent confirms guardianship or
/// representation in person; then the holder shows the relative's QR code, applies for their card, reports it lost and
/// sees their uses — through the same card and e-card rules as for the relative themself — and never their records.
/// Every act is a `FamilyEvent` on both persons and audited on both.
struct FamilyService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let limit: Int
    /// Caps per kind of relative, where the region's pack sets them.
    var caps: RelativeCaps? = nil
    let cards: CardService
    let ecards: ECardService
    let acceptance: AcceptanceService

    var now: Date { clock.now() }

    /// A link with the other person's masked name, as either side sees it.
    struct LinkWithName: Sendable { let link: RelativeLink; let nameMasked: String }

    /// The holder asks to link a relative by the relative's ID number and name. The relative must be a registered person
    /// and the name must match; when either fails the answer is the same (`relative_not_matched`), so the endpoint tells
    /// nobody whether an ID number is registered beyond what knowing the person's name as well already tells.
    func add(holder identity: Identity, idNumber: String, name: String, relationship: RelativeLink.Relationship) async throws -> RelativeLink {
        guard let holderId = identity.personId else { throw DomainError.forbidden }
        let now = clock.now()
        let (limit, caps, random) = (limit, caps, random)
        let wanted = name.trimmingCharacters(in: .whitespaces)
        return try await store.write { s in
            guard let relative = try await s.persons.find(idNumber: idNumber.uppercased()), relative.name == wanted, relative.id != holderId else {
                throw DomainError(.relativeNotMatched, "the ID number and name do not match a registered person other than you")
            }
            if try await s.family.live(holder: holderId, relative: relative.id) != nil {
                throw DomainError(.relativeExists, "you have a pending or active link to this relative")
            }
            try FamilyRules.checkLimit(live: try await s.family.liveRelationships(holder: holderId), adding: relationship, limit: limit, caps: caps)
            let link = RelativeLink(id: random.uuid(), holderId: holderId, relativeId: relative.id, relationship: relationship, status: .pending,
                                    createdAt: now, changedAt: now)
            try await s.family.insert(link)
            try await Self.record(link, "link_requested", actor: identity.actor, at: now, random: random, in: s)
            return link
        }
    }

    /// The links the person asked for, and the links to them (incoming requests among them).
    func list(personId: Person.ID) async throws -> (mine: [LinkWithName], toMe: [LinkWithName]) {
        try await store.read { s in
            var mine: [LinkWithName] = [], toMe: [LinkWithName] = []
            for l in try await s.family.links(holder: personId) where l.status != .removed && l.status != .declined {
                mine.append(.init(link: l, nameMasked: try await s.persons.find(l.relativeId).map { Mask.name($0.name) } ?? "*"))
            }
            for l in try await s.family.links(relative: personId) where l.status != .removed && l.status != .declined {
                toMe.append(.init(link: l, nameMasked: try await s.persons.find(l.holderId).map { Mask.name($0.name) } ?? "*"))
            }
            return (mine, toMe)
        }
    }

    /// A pending link as an agent sees it at the counter: both persons masked (the documents are checked in person).
    struct PendingForAgent: Sendable { let link: RelativeLink; let holder: String; let relative: String }

    func pending() async throws -> [PendingForAgent] {
        try await store.read { s in
            var out: [PendingForAgent] = []
            for l in try await s.family.pending() {
                func masked(_ id: Person.ID) async throws -> String {
                    try await s.persons.find(id).map { "\(Mask.name($0.name)) \(Mask.idNumber($0.idNumber.value))" } ?? "*"
                }
                out.append(.init(link: l, holder: try await masked(l.holderId), relative: try await masked(l.relativeId)))
            }
            return out
        }
    }

    /// The relative answers a pending request to them.
    func answer(_ linkId: String, accept: Bool, by identity: Identity) async throws -> RelativeLink {
        guard let personId = identity.personId else { throw DomainError.forbidden }
        return try await change(linkId) { link in
            guard link.relativeId == personId else { throw DomainError(.relativeLinkNotFound, "no request \(linkId) to you") }
            try FamilyRules.activate(link)
            link.status = accept ? .active : .declined
            return (accept ? "link_accepted" : "link_declined", identity.actor)
        }
    }

    /// An agent confirms a pending link in person: guardianship of a minor, or representation of a relative who cannot
    /// use the service themself (documents checked at the counter).
    func confirm(_ linkId: String, basis: RelativeLink.Basis, by identity: Identity) async throws -> RelativeLink {
        try await change(linkId) { link in
            try FamilyRules.activate(link)
            link.status = .active; link.confirmedBy = identity.actor; link.basis = basis
            return ("link_confirmed", identity.actor)
        }
    }

    /// Either side ends a pending or active link.
    func remove(_ linkId: String, by identity: Identity) async throws -> RelativeLink {
        guard let personId = identity.personId else { throw DomainError.forbidden }
        return try await change(linkId) { link in
            guard link.holderId == personId || link.relativeId == personId else { throw DomainError(.relativeLinkNotFound, "no link \(linkId) of yours") }
            guard link.counts else { throw DomainError(.invalidTransition, "the link is \(link.status.rawValue) already") }
            link.status = .removed
            return ("link_removed", identity.actor)
        }
    }

    private func change(_ linkId: String, _ body: @Sendable @escaping (inout RelativeLink) throws -> (String, String)) async throws -> RelativeLink {
        let now = clock.now()
        let random = random
        return try await store.write { s in
            guard var link = try await s.family.find(linkId, lock: true) else { throw DomainError(.relativeLinkNotFound, "no link \(linkId)") }
            let (action, actor) = try body(&link)
            link.changedAt = now
            try await s.family.update(link)
            try await Self.record(link, action, actor: actor, at: now, random: random, in: s)
            return link
        }
    }

    /// The active link by which the holder acts for `relativeId`, or `relative_link_not_found`.
    private func activeLink(_ identity: Identity, _ relativeId: Person.ID) async throws -> RelativeLink {
        guard let holderId = identity.personId else { throw DomainError.forbidden }
        guard let link = try await store.read({ try await $0.family.active(holder: holderId, relative: relativeId) }) else {
            throw DomainError(.relativeLinkNotFound, "no active family link to \(relativeId)")
        }
        return link
    }

    private func done(_ link: RelativeLink, _ action: String, _ identity: Identity) async throws {
        let now = clock.now()
        let random = random
        try await store.write { s in try await Self.record(link, action, actor: identity.actor, at: now, random: random, in: s) }
    }

    /// A QR token for the relative's active card: their e-card is bound for family service (device `family:HOLDER`) when
    /// they have none; an e-card they bound themselves is used as it is, never moved.
    func qrToken(for relativeId: Person.ID, by identity: Identity) async throws -> IssuedQRToken {
        let link = try await activeLink(identity, relativeId)
        if try await store.read({ try await $0.ecards.find(personId: relativeId) }) == nil {
            _ = try await ecards.issue(personId: relativeId, deviceId: "family:\(link.holderId.rawValue)", actor: Actor(name: identity.actor, channel: "family"))
        }
        let token = try await ecards.qrToken(personId: relativeId)
        try await done(link, "qr_issued", identity)
        return token
    }

    /// The relative's uses (who checked their card), read by the holder: audited on both.
    func uses(of relativeId: Person.ID, by identity: Identity) async throws -> [AcceptanceService.UseWithVenue] {
        let link = try await activeLink(identity, relativeId)
        let uses = try await acceptance.uses(personId: relativeId)
        try await done(link, "uses_read", identity)
        return uses
    }

    /// Reports the relative's card lost, under the card lifecycle's rules (and its Idempotency-Key).
    func reportLoss(of relativeId: Person.ID, kind: LossKind, idempotencyKey: String?, by identity: Identity) async throws -> Card {
        let link = try await activeLink(identity, relativeId)
        guard let card = try await cards.liveCard(personId: relativeId) else { throw DomainError(.noCard, "the relative holds no card") }
        let result = try await cards.transition(card.number, .reportLoss(kind), actor: Actor(name: identity.actor, channel: "family"),
                                                idempotencyKey: idempotencyKey.map { "family:\(link.id):\($0)" })
        if !result.replayed { try await done(link, "card_reported_lost", identity) }  // a repeat changes nothing
        return result.card
    }

    /// Applies for the relative's card online, under the application rules.
    func apply(for relativeId: Person.ID, bankCode: String, pickupOutletId: String?, delivery: Delivery, by identity: Identity) async throws -> CardApplication {
        let link = try await activeLink(identity, relativeId)
        let app = try await cards.submit(.init(personId: relativeId, channel: .web, applyOutletId: nil, pickupOutletId: pickupOutletId, bankCode: bankCode,
                                               delivery: delivery), actor: Actor(name: identity.actor, channel: "family"))
        try await done(link, "card_applied", identity)
        return app
    }

    /// Every act of family service on either side of the person's links.
    func activity(personId: Person.ID) async throws -> [FamilyEvent] {
        try await store.read { try await $0.family.events(person: personId) }
    }

    /// Keeps the act on both persons: a family event (shown to both) and an audit entry on each.
    static func record(_ link: RelativeLink, _ action: String, actor: String, at: Date, random: RandomSource, in s: StoreSession) async throws {
        try await s.family.append(FamilyEvent(id: random.uuid(), linkId: link.id, holderId: link.holderId, relativeId: link.relativeId, action: action,
                                              actor: actor, at: at))
        for person in [link.holderId, link.relativeId] {
            try await s.audit.append(at: at, actor: actor, action: "family_\(action)", subject: "person:\(person)", purpose: "link \(link.id)")
        }
    }
}
