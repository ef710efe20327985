import Crypto
import Foundation
import Logging
import OneCardCore
import OneCardStore

/// The national hub (API.md "Federation"): admits members, publishes the national trust list and revocation list it
/// signs as the trust anchor, keeps one claim per person (一人一卡) under the members' pseudonymous key, and routes
/// requests about a card to the member that issued it. It stores no ID number, no name and no card number.
struct HubService: Sendable {
    let store: Store
    let clock: Clock
    let key: FederationKey
    let logger: Logger
    /// How long a trust list is good for before a verifier should fetch a newer one.
    static let trustListLifetime: TimeInterval = 24 * 3600

    var signer: FederationSigner { FederationSigner(keyID: "hub", key: key.privateKey, clock: clock) }

    // MARK: members

    /// The key of an active member by region (`keyid`); nil for an unknown or suspended one.
    func memberKey(_ region: String) async throws -> Curve25519.Signing.PublicKey? {
        guard let m = try await store.read({ try await $0.hub.member(region) }), m.status == .active else { return nil }
        return (try? JSONDecoder().decode(FederationPublicKey.self, from: Data(m.publicKey.utf8)))?.key
    }

    func member(_ region: String) async throws -> HubMember {
        guard let m = try await store.read({ try await $0.hub.member(region) }) else {
            throw DomainError(.memberNotFound, "no member \(region)")
        }
        return m
    }

    func members() async throws -> [HubMember] { try await store.read { try await $0.hub.members() } }

    /// Admits a member (or updates its URL, key and kind, re-admitting it if suspended).
    func admit(region: String, url: String, key: FederationPublicKey, kind: HubMember.Kind) async throws -> HubMember {
        guard RegionCode.isProvinceCode(region) else { throw DomainError(.invalidRegionCode, "--region: a province-level code such as 110000 or 810000") }
        guard let u = URL(string: url), u.scheme == "http" || u.scheme == "https", u.host != nil else {
            throw DomainError(.invalidValue, "--url: the member's base URL, e.g. http://127.0.0.1:8081")
        }
        let at = clock.now()
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        return try await store.write { s in
            let existing = try await s.hub.member(region)
            let m = HubMember(region: region, url: base, publicKey: key.json, kind: kind, status: .active, addedAt: existing?.addedAt ?? at, updatedAt: at)
            try await s.hub.upsert(m)
            if existing?.status != .active { try await s.hub.bumpTrustList() }
            return m
        }
    }

    func suspend(region: String) async throws {
        let at = clock.now()
        try await store.write { s in
            guard try await s.hub.setStatus(region, .suspended, at: at) else { throw DomainError(.memberNotFound, "no member \(region)") }
            try await s.hub.bumpTrustList()
        }
    }

    // MARK: trust list and revocations

    func publishKeys(from region: String, _ keys: [JWK]) async throws -> Int64 {
        let m = try await member(region)
        guard m.kind == .province else { throw DomainError(.memberNotPermitted, "a cross-border partner signs no QR codes") }
        // A member publishes keys for its own region only.
        guard keys.count <= 16, keys.allSatisfy({ $0.iss == region && $0.kty == "OKP" && $0.crv == "Ed25519" && Base64URL.decode($0.x)?.count == 32 }) else {
            throw DomainError(.invalidMessage, "keys: at most 16 Ed25519 keys (OKP), each with iss \(region)")
        }
        let normalised = keys.map { k -> JWK in var k = k; k.alg = "Ed25519"; k.use = "sig"; return k }
        return try await store.write { try await $0.hub.publishKeys(region: region, keys: normalised) }
    }

    /// The national trust list, signed by the hub.
    func signedTrustList() async throws -> String {
        let (version, keys) = try await store.read { try await $0.hub.trustList() }
        let now = clock.now()
        return TrustListDocument(version: version, issuedAt: now, expiresAt: now.addingTimeInterval(Self.trustListLifetime), keys: keys).signed(with: key)
    }

    func pushRevocations(from region: String, _ lines: [Federation.PushedRevocations.Line]) async throws -> Federation.PushAnswer {
        let m = try await member(region)
        guard m.kind == .province else { throw DomainError(.memberNotPermitted, "a cross-border partner issues no cards") }
        guard lines.count <= 5000, lines.allSatisfy({ $0.seq > 0 && ($0.entry.iss == nil || $0.entry.iss == region) }) else {
            throw DomainError(.invalidMessage, "entries: at most 5000, each with a positive seq and no other region's iss")
        }
        return try await store.write { s in
            let added = try await s.hub.appendRevocations(region: region, entries: lines.map { ($0.seq, $0.entry) })
            return Federation.PushAnswer(added: added, lastSeq: try await s.hub.lastRegionSeq(region))
        }
    }

    func signedRevocations(since: Int64) async throws -> String {
        try await store.read { try await $0.hub.nationalRevocations(since: since) }.signed(with: key)
    }

    // MARK: messages

    /// Acts on a member's message once; a redelivery gets the first answer.
    func receive(from region: String, _ m: Federation.Envelope) async throws -> Federation.Receipt {
        guard !m.id.isEmpty, m.id.count <= 128 else { throw DomainError(.invalidMessage, "id: 1 to 128 characters") }
        let member = try await member(region)
        if member.kind == .partner, m.kind != .use, m.kind != .auditCheckpoint {
            throw DomainError(.memberNotPermitted, "a cross-border partner only reports uses (and its audit checkpoints)")
        }
        let at = clock.now()
        return try await store.write { s in
            if let earlier = try await s.federation.received(sender: region, id: m.id) {
                return try FederationJSON.decode(Federation.Receipt.self, Data(earlier.utf8))
            }
            let receipt = try await apply(m, from: region, at: at, in: s)
            try await s.federation.receive(sender: region, id: m.id, kind: m.kind.rawValue, at: at,
                                           answer: String(decoding: FederationJSON.encode(receipt), as: UTF8.self))
            return receipt
        }
    }

    private func apply(_ m: Federation.Envelope, from region: String, at: Date, in s: StoreSession) async throws -> Federation.Receipt {
        func required(_ value: String?, _ name: String) throws -> String {
            guard let value, !value.isEmpty, value.count <= 128 else { throw DomainError(.invalidMessage, "payload.\(name) is required for \(m.kind.rawValue)") }
            return value
        }
        switch m.kind {
        case .claim:
            // 一人一卡: the first claim wins; a member's own claim is granted again (idempotent).
            let key = try required(m.payload.personKey, "personKey")
            if let held = try await s.hub.claim(key, lock: true) {
                return held.region == region ? .init(granted: true, region: region) : .init(granted: false, region: held.region)
            }
            if try await s.hub.insertClaim(HubClaim(personKey: key, region: region, state: .application, cardHash: nil), at: at) {
                return .init(granted: true, region: region)
            }
            let winner = try await s.hub.claim(key)
            return .init(granted: winner?.region == region, region: winner?.region)
        case .card:
            let key = try required(m.payload.personKey, "personKey")
            let hash = try required(m.payload.cardHash, "cardHash")
            try await s.hub.registerCard(hash: hash, region: region, at: at)
            if let held = try await s.hub.claim(key, lock: true) {
                guard held.region == region else { return .init(granted: false, region: held.region) }
                try await s.hub.updateClaim(HubClaim(personKey: key, region: region, state: .card, cardHash: hash), at: at)
            } else {
                // A card issued before the member joined, or after a claim was lost: the card itself claims the person.
                guard try await s.hub.insertClaim(HubClaim(personKey: key, region: region, state: .card, cardHash: hash), at: at) else {
                    return .init(granted: false, region: try await s.hub.claim(key)?.region)
                }
            }
            return .init(granted: true, region: region)
        case .release:
            let key = try required(m.payload.personKey, "personKey")
            _ = try await s.hub.releaseClaim(key, region: region)
            return .init(granted: nil, region: nil)
        case .auditCheckpoint:
            guard let c = m.payload.checkpoint?.checkpoint, let key = try await memberKey(region), c.isSigned(by: key) else {
                throw DomainError(.invalidMessage, "payload.checkpoint: a head signed with the member's federation key")
            }
            try await s.hub.keepAuditCheckpoint(region: region, c)
            return .init(granted: nil, region: nil)
        case .use:
            // Relayed to the issuer through the hub's own outbox: delivered until it acknowledges, never twice acted on.
            guard m.payload.use != nil else { throw DomainError(.invalidMessage, "a use report carries payload.use") }
            return try await relay(m, from: region, at: at, in: s)
        case .medicalStatement:
            // A province's month statement for another: relayed like a use report (issue 14, clearing reconciled by both).
            guard m.payload.medicalStatement != nil else { throw DomainError(.invalidMessage, "a medical statement carries payload.medicalStatement") }
            return try await relay(m, from: region, at: at, in: s)
        case .complaint, .complaintUpdate:
            // A complaint about another province, and the steps on it, go to the province concerned (JJJ art. 23).
            guard m.kind == .complaint ? m.payload.complaint != nil : m.payload.complaintUpdate != nil else {
                throw DomainError(.invalidMessage, "a \(m.kind.rawValue) message carries payload.\(m.kind == .complaint ? "complaint" : "complaintUpdate")")
            }
            return try await relay(m, from: region, at: at, in: s)
        case .transitCharge, .transitResult, .transitStatement:
            // Member to member (issue 13: cross-province transit), relayed like a use report; a partner may not send them.
            let present = switch m.kind {
            case .transitCharge: m.payload.transitTrip != nil
            case .transitResult: m.payload.transitResult != nil
            default: m.payload.transitStatement != nil
            }
            guard present else { throw DomainError(.invalidMessage, "a \(m.kind.rawValue) message carries its payload") }
            return try await relay(m, from: region, at: at, in: s)
        }
    }

    /// A message from one member for another (`to`, a province): put in the hub's outbox under an id unique to the sender,
    /// delivered until the receiver acknowledges it; the receiver acts on each id once. The hub reads no more than the
    /// envelope: what a member tells another is theirs.
    private func relay(_ m: Federation.Envelope, from region: String, at: Date, in s: StoreSession) async throws -> Federation.Receipt {
        guard let to = m.to, let target = try await s.hub.member(to), target.kind == .province else {
            throw DomainError(.invalidMessage, "a \(m.kind.rawValue) message names a member province in `to`")
        }
        var relayed = m
        relayed.id = "\(region)-\(m.id)"
        // The sender as the hub authenticated it (its signature), not as the message claims.
        relayed.from = region
        try await s.federation.enqueue(OutboxMessage(id: relayed.id, target: target.region, kind: m.kind.rawValue,
                                                     payload: String(decoding: FederationJSON.encode(relayed), as: UTF8.self), createdAt: at))
        return .init(granted: nil, region: nil)
    }

    /// The signed audit heads a member sent, as the hub keeps them (the member checks its own chain against them).
    func auditCheckpoints(region: String) async throws -> [AuditChain.Checkpoint] {
        _ = try await member(region)
        return try await store.read { try await $0.hub.auditCheckpoints(region: region) }
    }

    // MARK: relaying

    /// Delivers what the hub owes its members (relayed messages), each until the member acknowledges it.
    func deliverOutbox(caller: FederationCaller) async throws {
        let due = try await store.read { [clock] in try await $0.federation.due(now: clock.now()) }
        for message in due {
            do {
                let target = try await member(message.target)
                guard target.status == .active, let key = try await memberKey(target.region) else {
                    throw DomainError(.federationUnavailable, "member \(target.region) is suspended")
                }
                let answer = try await caller.call("POST", target.url + "/federation/v1/messages", body: Data(message.payload.utf8), peer: target.region, peerKey: key)
                guard answer.status == 200 else { throw answer.problem }
                let at = clock.now()
                try await store.write { try await $0.federation.delivered(message.id, at: at, answer: String(decoding: answer.body, as: UTF8.self)) }
            } catch {
                let delay = min(60, pow(2, Double(min(message.attempts, 6))))
                let at = clock.now()
                try await store.write { try await $0.federation.failed(message.id, error: "\(error)", retryAt: at.addingTimeInterval(delay)) }
            }
        }
    }

    // MARK: alliance lists

    /// Gives each alliance that has no list yet its first one: the alliance-level items the member regions' policy packs
    /// ship (presets), so joining the hub keeps what every member already accepted.
    func seedAlliances(from book: PolicyBook = .shipped) async throws {
        let at = clock.now()
        for a in PolicyBook.alliances {
            var items: [String: CatalogueItem] = [:]
            for policy in book.policies.values.sorted(by: { $0.regionCode < $1.regionCode }) {
                for item in policy.seedCatalogue where item.level == .alliance && item.regions.allSatisfy(a.contains) && items[item.code] == nil {
                    items[item.code] = item
                }
            }
            guard !items.isEmpty else { continue }
            let list = Array(items.values)
            try await store.write { s in
                guard try await s.hub.allianceList(a.code).version == 0 else { return }
                _ = try await s.hub.publishAlliance(a.code, items: list, at: at)
            }
        }
    }

    /// The member regions of an alliance that are admitted at the hub: each must approve a change to its list.
    func allianceMembers(_ alliance: Alliance) async throws -> [String] {
        let provinces = Set(alliance.regions.map { RegionTable.province(of: $0) })
        return try await members().filter { $0.status == .active && provinces.contains($0.region) }.map(\.region).sorted()
    }

    func alliance(_ code: String, for region: String) async throws -> Alliance {
        guard let a = PolicyBook.alliances.first(where: { $0.code == code }) else { throw DomainError(.notFound, "no alliance \(code)") }
        guard a.regions.contains(where: { RegionTable.province(of: $0) == region }) else {
            throw DomainError(.memberNotPermitted, "\(region) is not a member of \(a.name)")
        }
        return a
    }

    /// The alliances `region` belongs to, with their published lists and open proposals.
    func alliances(for region: String) async throws -> [Federation.AllianceList] {
        var out: [Federation.AllianceList] = []
        for a in PolicyBook.alliances where a.regions.contains(where: { RegionTable.province(of: $0) == region }) {
            let needed = try await allianceMembers(a)
            let (list, proposals) = try await store.read { s in (try await s.hub.allianceList(a.code), try await s.hub.proposals(alliance: a.code)) }
            out.append(.init(code: a.code, name: a.name, version: list.version, items: list.items, members: needed,
                             proposals: proposals.map { Self.view($0, needed: needed) }))
        }
        return out
    }

    static func view(_ p: AllianceProposal, needed: [String]) -> Federation.Proposal {
        .init(proposalId: p.id, alliance: p.alliance, proposedBy: p.region, code: p.code, item: p.item, status: p.status.rawValue, approvals: p.approvals,
              needed: needed)
    }

    /// A member proposes a change to its alliance's list; its own approval is recorded with it.
    func propose(from region: String, alliance code: String, _ change: Federation.AllianceChange) async throws -> Federation.Proposal {
        let a = try await alliance(code, for: region)
        let item: CatalogueItem?
        let itemCode: String
        if change.withdraw == true {
            guard let c = change.code, change.item == nil else { throw DomainError(.invalidMessage, "a withdrawal is {code, withdraw: true}") }
            guard try await store.read({ try await $0.hub.allianceList(a.code) }).items.contains(where: { $0.code == c }) else {
                throw DomainError(.itemNotInCatalogue, "\(c) is not on the \(a.name) list")
            }
            (item, itemCode) = (nil, c)
        } else {
            guard var i = change.item else { throw DomainError(.invalidMessage, "give an item, or {code, withdraw: true}") }
            try i.validate()
            // An alliance item recognises every member's cards.
            for province in Set(a.regions.map { RegionTable.province(of: $0) }).sorted() where !i.recognises(issuer: province) { i.issuers.append(province) }
            // An alliance item is offered within the alliance and recognises every member's cards (issuers cover the members).
            guard i.level == .alliance, i.regions.allSatisfy(a.contains) else {
                throw DomainError.invalidField("item", "level alliance, offered only in \(a.name)'s regions")
            }
            (item, itemCode) = (i, i.code)
        }
        let at = clock.now()
        let id = UUID().uuidString.lowercased()
        let proposal = AllianceProposal(id: id, alliance: a.code, region: region, item: item, code: itemCode, status: .open, approvals: [], createdAt: at)
        try await store.write { try await $0.hub.insertProposal(proposal) }
        return try await approve(from: region, alliance: code, proposal: id)
    }

    /// A member approves a proposal; the last approval needed publishes the alliance's next list.
    func approve(from region: String, alliance code: String, proposal id: String) async throws -> Federation.Proposal {
        let a = try await alliance(code, for: region)
        let needed = try await allianceMembers(a)
        let at = clock.now()
        return try await store.write { s in
            guard var p = try await s.hub.proposal(id, lock: true), p.alliance == a.code else { throw DomainError(.notFound, "no proposal \(id) for \(a.name)") }
            guard p.status == .open else { return Self.view(p, needed: needed) }
            if try await s.hub.approve(proposal: id, region: region, at: at) { p.approvals = (p.approvals + [region]).sorted() }
            if Set(needed).isSubset(of: Set(p.approvals)) {
                var items = try await s.hub.allianceList(a.code).items.filter { $0.code != p.code }
                if let item = p.item { items.append(item) }
                _ = try await s.hub.publishAlliance(a.code, items: items, at: at)
                try await s.hub.markPublished(proposal: id, at: at)
                p.status = .published
            }
            return Self.view(p, needed: needed)
        }
    }

    // MARK: routing to the issuer

    /// The member that issued a card, by the hub's directory.
    func issuer(of cardNumber: String) async throws -> HubMember {
        guard let hash = (try? CardNumber(cardNumber))?.hash else { throw DomainError(.cardNotFound, "no card \(cardNumber)") }
        guard let region = try await store.read({ try await $0.hub.issuer(cardHash: hash) }) else {
            throw DomainError(.cardNotFound, "no member has reported issuing card \(cardNumber)")
        }
        return try await member(region)
    }
}
