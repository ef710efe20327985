import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import OneCardCore
import OneCardStore
import OneCardVerifier
import ServiceLifecycle

/// The national trust a federated node holds: the hub's last signed trust list, and a verifier of the QR tokens of
/// every other member region it names (this node's own tokens are verified with its own ring).
final class NationalTrust: Sendable {
    struct Snapshot: Sendable {
        var document: TrustListDocument
        /// The hub's JWS exactly as fetched: gates verify it with the hub's key.
        var jws: String
        /// Verifies other regions' tokens; replays are checked per venue item in the database, as for own tokens.
        var verifier: QRVerifier
        /// Other regions' keys.
        var foreignKeys: [JWK]
    }

    private let state = NIOLockedValueBox<Snapshot?>(nil)
    let region: String

    init(region: String) { self.region = region }

    var snapshot: Snapshot? { state.withLockedValue { $0 } }

    /// Takes a newer list (by version); returns whether it changed anything.
    @discardableResult
    func update(jws: String, document: TrustListDocument, skew: TimeInterval) -> Bool {
        state.withLockedValue { current in
            if let c = current, c.document.version > document.version { return false }
            if let c = current, c.document.version == document.version { current?.jws = jws; current?.document = document; return false }
            let foreign = document.keys.filter { $0.iss != region }
            var configuration = QRVerifier.Configuration()
            configuration.checksReplay = false
            configuration.skew = skew
            current = Snapshot(document: document, jws: jws, verifier: QRVerifier(trustList: JWKS(keys: foreign), configuration: configuration),
                               foreignKeys: foreign)
            return true
        }
    }
}

/// Whether the hub answered lately.
final class HubReachability: Sendable {
    private let state = NIOLockedValueBox<(lastSuccess: Date?, lastFailure: Date?, error: String?)>((nil, nil, nil))
    func succeeded(at: Date) { state.withLockedValue { $0.lastSuccess = at; $0.error = nil } }
    func failed(at: Date, _ error: String) { state.withLockedValue { $0.lastFailure = at; $0.error = error } }
    /// Reachable when the last exchange succeeded.
    var reachable: Bool { state.withLockedValue { s in s.lastSuccess != nil && (s.lastFailure == nil || s.lastSuccess! >= s.lastFailure!) } }
    var lastError: String? { state.withLockedValue { $0.error } }
}

/// A node's side of the federation (API.md "Federation"): it claims persons at the hub, forwards requests about
/// other regions' cards, publishes its QR keys, pushes its revocations, merges the national list, and delivers its
/// outbox until every message is acknowledged. A node without a hub has `link == nil` and does none of it.
struct FederationService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let logger: Logger
    let region: String
    let link: HubLink?
    let key: FederationKey
    let trust: NationalTrust
    let signingKeys: SigningKeyStore
    let reachability: HubReachability
    let work: WorkSignal
    let interval: Duration
    /// Opens the pseudonyms of this node's cards in use reports from other regions.
    let pseudonyms: PseudonymCipher
    /// Alliance lists published at the hub become part of this node's catalogue.
    let catalogue: CatalogueService

    /// Services built after this one that act on message kinds relayed to this node (complaints), registered by the
    /// composition root: they need this service to answer, so they cannot be given to it when it is made.
    let handlers = FederationHandlers()

    /// Uses reported by another region are kept under a terminal id of this prefix and the reporting region.
    static let reportedTerminalPrefix = "federation:"

    var isFederated: Bool { link != nil }
    var signer: FederationSigner { FederationSigner(keyID: region, key: key.privateKey, clock: clock, random: random) }
    var records: ExchangeRecordsService { ExchangeRecordsService(store: store) }
    var caller: FederationCaller { FederationCaller(signer: signer, records: records, clock: clock) }

    enum State {
        static let publishedKeys = "published_keys"
        static let pushedRevocations = "pushed_revocations_seq"
        static let nationalRevocations = "national_revocations_seq"
        static let trustList = "trust_list_jws"
        static let members = "members"
        /// The last card number registered by the one-time walk over cards issued before the node joined ("done" at the end).
        static let directoryWalk = "directory_walk"
    }

    private func hub() throws(DomainError) -> (url: String, key: Curve25519.Signing.PublicKey) {
        guard let link, let key = link.key.key else { throw DomainError(.federationUnavailable, "this node has joined no hub") }
        return (link.url, key)
    }

    /// A signed call to the hub; notes whether the hub answered.
    func callHub(_ method: String, _ path: String, body: Data? = nil) async throws -> SignedAnswer {
        let (url, key) = try hub()
        do {
            let answer = try await caller.call(method, url + path, body: body, peer: "hub", peerKey: key)
            // The hub refusing this node's signature (not admitted, suspended, clocks apart) means no federation for now.
            if answer.status == 401 {
                let p = answer.problem
                reachability.failed(at: clock.now(), "\(p.code): \(p.detail)")
                throw DomainError(.federationUnavailable, "the hub refused this node's signed request: \(p.code) (\(p.detail))")
            }
            reachability.succeeded(at: clock.now())
            return answer
        } catch let e as DomainError where e.code == .federationUnavailable {
            reachability.failed(at: clock.now(), e.detail)
            throw e
        }
    }

    // MARK: one person, one card

    /// The key the hub knows a person by.
    func personKey(_ id: IdentityNumber) -> String? { link?.personKeys.key(for: id) }

    /// Claims a person at the hub now. Throws `federation_unavailable` when the hub does not answer.
    func claim(_ id: IdentityNumber, messageId: String) async throws -> Federation.Receipt {
        guard let personKey = personKey(id) else { return .init(granted: true, region: region) }
        let envelope = Federation.Envelope(id: messageId, kind: .claim, to: nil, payload: .init(personKey: personKey))
        let answer = try await callHub("POST", "/federation/v1/messages", body: FederationJSON.encode(envelope))
        // Anything but the hub's answer on the person (e.g. this node not admitted yet) leaves the check to the outbox.
        guard answer.status == 200, let receipt = try? answer.decode(Federation.Receipt.self), receipt.granted != nil else {
            throw DomainError(.federationUnavailable, "the hub did not answer the claim: \(answer.problem.code) \(answer.problem.detail)")
        }
        return receipt
    }

    /// Writes a message for the hub into the outbox, inside the caller's transaction (nothing when not federated).
    func enqueue(_ kind: Federation.Kind, id: String? = nil, to: String? = nil, payload: Federation.Payload, at: Date, in s: StoreSession) async throws {
        guard isFederated else { return }
        let id = id ?? "\(kind.rawValue)-\(random.uuid())"
        let envelope = Federation.Envelope(id: id, kind: kind, to: to, payload: payload)
        try await s.federation.enqueue(OutboxMessage(id: id, target: "hub", kind: kind.rawValue,
                                                     payload: String(decoding: FederationJSON.encode(envelope), as: UTF8.self), createdAt: at))
    }

    /// The outbox id of the claim an application waits on.
    static func claimMessageId(application: CardApplication.ID) -> String { "claim-\(application)" }

    // MARK: forwarding to the issuer

    /// Asks the issuer of a card (through the hub) to do what was asked here; returns its answer as given.
    /// A read (view, events) that got no answer is asked once more: it changes nothing at the issuer, and a counter
    /// should not fail on one lost reply. Changes are never repeated here (their outcome is the issuer's to report).
    func forward(_ request: Federation.Forwarded) async throws -> SignedAnswer {
        let body = FederationJSON.encode(request)
        do {
            return try await callHub("POST", "/federation/v1/forward", body: body)
        } catch let e as DomainError where e.code == .federationUnavailable && (request.action == .view || request.action == .events) {
            return try await callHub("POST", "/federation/v1/forward", body: body)
        }
    }

    // MARK: the exchange loop

    /// One round: publish keys, push revocations, merge the national list and trust list, deliver the outbox.
    /// Each step stands alone: a failure is logged and retried next round.
    func exchange(trustList: Bool) async {
        guard isFederated else { return }
        await step("publishing keys") { try await publishKeys() }
        await step("pushing revocations") { try await pushRevocations() }
        await step("merging national revocations") { try await pullRevocations() }
        if trustList { await step("fetching the trust list") { try await pullTrustList() } }
        await step("registering earlier cards") { try await registerEarlierCards() }
        await step("delivering the outbox") { try await deliverOutbox() }
    }

    /// Cards issued before this node joined the hub claim their holders and enter the hub's directory, like new ones:
    /// a `card` message each, written 500 at a time with the walk's position, so a restart resumes where it stopped.
    func registerEarlierCards() async throws {
        // Done once; every later round only reads that (no write transaction each round).
        if try await store.read({ try await $0.federation.state(State.directoryWalk) }) == "done" { return }
        let at = clock.now()
        while true {
            let done = try await store.write { s -> Bool in
                let position = try await s.federation.state(State.directoryWalk) ?? ""
                if position == "done" { return true }
                let page = try await s.cards.livePage(after: position, limit: 500)
                for (number, personId) in page {
                    guard let person = try await s.persons.find(personId) else { continue }
                    try await enqueue(.card, id: "card-earlier-\(number)", payload: .init(personKey: personKey(person.idNumber), cardHash: number.hash), at: at, in: s)
                }
                try await s.federation.setState(State.directoryWalk, page.count < 500 ? "done" : page.last!.number.rawValue, at: at)
                return page.count < 500
            }
            if done { return }
        }
    }

    private func step(_ what: String, _ body: () async throws -> Void) async {
        do { try await body() } catch {
            logger.debug("federation: \(what) failed: \(error)")
        }
    }

    func publishKeys() async throws {
        let keys = signingKeys.ring.jwks(at: clock.now()).keys
        let json = String(decoding: FederationJSON.encode(Federation.PublishKeys(keys: keys)), as: UTF8.self)
        if try await store.read({ try await $0.federation.state(State.publishedKeys) }) == json { return }
        let answer = try await callHub("PUT", "/federation/v1/keys", body: Data(json.utf8))
        // A cross-border partner signs no QR codes: the hub's refusal is the answer until the keys change.
        guard answer.status == 200 || answer.problem.code == .memberNotPermitted else { throw answer.problem }
        let at = clock.now()
        try await store.write { try await $0.federation.setState(State.publishedKeys, json, at: at) }
    }

    func pushRevocations() async throws {
        while true {
            let cursor = Int64(try await store.read { try await $0.federation.state(State.pushedRevocations) } ?? "0") ?? 0
            let lines = try await store.read { try await $0.trust.ownRevocations(since: cursor, limit: 1000) }
            guard let last = lines.last?.seq else { return }
            let body = FederationJSON.encode(Federation.PushedRevocations(entries: lines.map { .init(seq: $0.seq, entry: $0.entry) }))
            let answer = try await callHub("POST", "/federation/v1/revocations", body: body)
            guard answer.status == 200 else { throw answer.problem }
            let at = clock.now()
            try await store.write { try await $0.federation.setState(State.pushedRevocations, String(last), at: at) }
            if lines.count < 1000 { return }
        }
    }

    func pullRevocations() async throws {
        let (_, hubKey) = try hub()
        while true {
            let cursor = Int64(try await store.read { try await $0.federation.state(State.nationalRevocations) } ?? "0") ?? 0
            let answer = try await callHub("GET", "/federation/v1/revocations?since=\(cursor)")
            guard answer.status == 200 else { throw answer.problem }
            let list = try NationalRevocationList.open(signed: String(decoding: answer.body, as: UTF8.self), hubKey: hubKey)
            guard list.seq > cursor else { return }
            let region = region
            let at = clock.now()
            // The merge and the cursor commit together: each national entry is merged exactly once.
            try await store.write { s in
                for line in list.entries where line.seq > cursor && line.entry.iss != region {
                    try await s.trust.appendRevocation(line.entry)
                }
                try await s.federation.setState(State.nationalRevocations, String(list.seq), at: at)
            }
            if list.entries.count < 5000 { return }
        }
    }

    func pullTrustList() async throws {
        let (url, hubKey) = try hub()
        let response: HTTPClient1.Response
        do { response = try await HTTPClient1(timeout: .seconds(5)).send("GET", url + "/federation/v1/trust-list") } catch {
            reachability.failed(at: clock.now(), "\(error)")
            throw error
        }
        guard response.status == 200 else { throw DomainError(.federationUnavailable, "the hub answered \(response.status) for the trust list") }
        let jws = String(decoding: response.body, as: UTF8.self)
        let document = try TrustListDocument.open(signed: jws, hubKey: hubKey)
        reachability.succeeded(at: clock.now())
        if trust.update(jws: jws, document: document, skew: signingKeys.ring.skew) {
            let at = clock.now()
            try await store.write { try await $0.federation.setState(State.trustList, jws, at: at) }
        }
        try await pullAlliances()
        // The member list, for the status page, signed like every member call.
        let members = try await callHub("GET", "/federation/v1/members")
        if members.status == 200 {
            let at = clock.now()
            try await store.write { try await $0.federation.setState(State.members, String(decoding: members.body, as: UTF8.self), at: at) }
        }
    }

    /// The heads of this node's audit chain the hub keeps; nil on a node alone.
    func hubAuditCheckpoints() async throws -> [AuditChain.Checkpoint]? {
        guard isFederated else { return nil }
        let answer = try await callHub("GET", "/federation/v1/audit-checkpoints")
        guard answer.status == 200 else { throw answer.problem }
        return try FederationJSON.decode([Federation.Checkpoint].self, answer.body).map(\.checkpoint)
    }

    /// Applies every alliance list published at the hub that this node has not applied yet.
    func pullAlliances() async throws {
        for list in try await alliances() {
            guard let alliance = PolicyBook.alliances.first(where: { $0.code == list.code }), list.version > 0 else { continue }
            if let v = try await catalogue.applyAlliance(alliance, version: list.version, items: list.items) {
                logger.info("alliance list applied", metadata: ["alliance": "\(list.code)", "list": "\(list.version)", "catalogue": "\(v.version)"])
            }
        }
    }

    /// The alliances this node belongs to, as the hub keeps them.
    func alliances() async throws -> [Federation.AllianceList] {
        guard isFederated else { throw DomainError(.notFederated, "alliance lists are kept at the national hub; this node has joined none") }
        let answer = try await callHub("GET", "/federation/v1/alliances")
        guard answer.status == 200 else { throw answer.problem }
        return try answer.decode([Federation.AllianceList].self)
    }

    /// Proposes a change to an alliance's list, or approves one, at the hub; returns the hub's answer as given.
    func allianceRequest(_ path: String, body: Data?) async throws -> SignedAnswer {
        guard isFederated else { throw DomainError(.notFederated, "alliance lists are kept at the national hub; this node has joined none") }
        return try await callHub("POST", path, body: body)
    }

    /// Loads the trust list fetched before a restart, so foreign QR codes verify before the hub answers again.
    func restore() async {
        guard let link, let hubKey = link.key.key,
              let jws = try? await store.read({ try await $0.federation.state(State.trustList) }),
              let document = try? TrustListDocument.open(signed: jws, hubKey: hubKey) else { return }
        trust.update(jws: jws, document: document, skew: signingKeys.ring.skew)
    }

    func deliverOutbox(ignoringBackOff: Bool = false) async throws {
        let horizon = ignoringBackOff ? clock.now().addingTimeInterval(3600) : clock.now()
        let due = try await store.read { try await $0.federation.due(now: horizon) }
        for message in due {
            do {
                let answer = try await callHub("POST", "/federation/v1/messages", body: Data(message.payload.utf8))
                guard answer.status == 200 else { throw answer.problem }
                let receipt = try answer.decode(Federation.Receipt.self)
                let at = clock.now()
                try await store.write { s in
                    try await s.federation.delivered(message.id, at: at, answer: String(decoding: answer.body, as: UTF8.self))
                    if message.kind == Federation.Kind.claim.rawValue, message.id.hasPrefix("claim-") {
                        try await Self.settleNationalCheck(application: String(message.id.dropFirst("claim-".count)), receipt: receipt, at: at, in: s)
                    }
                }
            } catch {
                // Retried with back-off (1 s doubling to a minute); never dropped.
                let delay = min(60, pow(2, Double(min(message.attempts, 6))))
                let at = clock.now()
                try await store.write { try await $0.federation.failed(message.id, error: "\(error)", retryAt: at.addingTimeInterval(delay)) }
                throw error
            }
        }
    }

    /// An application that waited for the hub goes on, or is rejected because another province holds the person.
    static func settleNationalCheck(application id: CardApplication.ID, receipt: Federation.Receipt, at: Date, in s: StoreSession) async throws {
        guard var app = try await s.applications.find(id, lock: true), app.status == .pendingNationalCheck else { return }
        let granted = receipt.granted ?? false
        app.status = try ApplicationLifecycle.afterNationalCheck(from: app.status, granted: granted)
        app.updatedAt = at
        if !granted { app.reason = "active_card_elsewhere: \(receipt.region ?? "another province")" }
        try await s.applications.update(app)
        try await s.events.append(CardEvent(at: at, type: granted ? "application_national_check_passed" : "application_rejected",
                                            actor: "hub", channel: "federation", reason: granted ? nil : app.reason, cardNumber: nil, applicationId: app.id))
    }

    // MARK: messages from the hub

    /// A message the hub relays from another member, acted on once per id.
    func receive(_ m: Federation.Envelope) async throws -> Federation.Receipt {
        guard !m.id.isEmpty, m.id.count <= 200 else { throw DomainError(.invalidMessage, "id: 1 to 200 characters") }
        let at = clock.now()
        let pseudonyms = pseudonyms
        return try await store.write { s in
            if let earlier = try await s.federation.received(sender: "hub", id: m.id) {
                return try FederationJSON.decode(Federation.Receipt.self, Data(earlier.utf8))
            }
            switch m.kind {
            case .use:
                guard let use = m.payload.use, (try? RegionCode(use.region)) != nil, let when = Timestamp.parse(use.at),
                      let kind = UseKind(rawValue: use.kind), let decision = UseDecision(rawValue: use.decision) else {
                    throw DomainError(.invalidMessage, "payload.use: region, at, kind and decision as documented")
                }
                // Only this node can open the pseudonym: a card of another node's (or a forged one) is acknowledged and dropped.
                if let sub = use.sub, let jti = use.jti, let number = try? pseudonyms.open(sub, jti: jti), let card = try await s.cards.find(number) {
                    try await s.uses.insert([UseRecord(
                        id: "reported-\(use.region)-\(use.useId)".prefix(120).description,
                        terminalId: Terminal.ID(Self.reportedTerminalPrefix + use.region), idempotencyKey: use.useId,
                        venueId: Venue.ID("\(use.region):\(use.venueName)".prefix(200).description), itemCode: String(use.itemCode.prefix(64)), kind: kind,
                        decision: decision, reason: use.reason, cardNumber: card.number, personId: card.personId, crossRegion: true, chargedFen: 0,
                        disclosed: nil, at: when, response: String(decoding: FederationJSON.encode(use), as: UTF8.self))])
                }
            case .medicalStatement:
                guard let statement = m.payload.medicalStatement, let from = m.from, RegionTable.province(of: statement.region) == RegionTable.province(of: from) else {
                    throw DomainError(.invalidMessage, "payload.medicalStatement: the sending province's statement")
                }
                try await MedicalService.reconcile(statement, region: region, at: at, in: s)
            case .complaint, .complaintUpdate:
                guard let from = m.from, (try? RegionCode(from)) != nil else { throw DomainError(.invalidMessage, "a relayed \(m.kind.rawValue) names its sender in `from`") }
                guard let handler = handlers.handler(for: m.kind) else { throw DomainError(.invalidMessage, "this node takes no \(m.kind.rawValue) messages") }
                try await handler(m, from, at, s)
            case .transitCharge, .transitResult, .transitStatement:
                // Cross-province transit (issue 13): the sender is the member the hub authenticated.
                guard let from = m.from, RegionCode.isProvinceCode(from) else { throw DomainError(.invalidMessage, "a relayed message names its sender") }
                if m.kind == .transitCharge, let trip = m.payload.transitTrip {
                    try await TransitService.receiveCharge(trip, from: from, region: region, federation: self, at: at, in: s)
                } else if m.kind == .transitResult, let result = m.payload.transitResult {
                    try await TransitService.receiveResult(result, from: from, at: at, in: s)
                } else if m.kind == .transitStatement, let side = m.payload.transitStatement {
                    try await TransitService.receiveStatement(side, from: from, region: region, messageId: m.id, at: at, in: s)
                } else {
                    throw DomainError(.invalidMessage, "a \(m.kind.rawValue) message carries its payload")
                }
            case .claim, .card, .release, .auditCheckpoint:
                throw DomainError(.invalidMessage, "a node takes only use reports from the hub")
            }
            let receipt = Federation.Receipt(granted: nil, region: nil)
            try await s.federation.receive(sender: "hub", id: m.id, kind: m.kind.rawValue, at: at, answer: String(decoding: FederationJSON.encode(receipt), as: UTF8.self))
            return receipt
        }
    }

    // MARK: status

    struct Status: Sendable {
        var hubURL: String?
        var reachable: Bool
        var members: [Federation.Member]
        var pending: Int
        var oldestAt: Date?
        var trustListVersion: Int64?
        var revocationSeq: Int64?
    }

    func status() async throws -> Status {
        let (depth, membersJSON, national) = try await store.read { s in
            (try await s.federation.outboxDepth(), try await s.federation.state(State.members), try await s.federation.state(State.nationalRevocations))
        }
        let members = membersJSON.flatMap { try? JSONDecoder().decode([Federation.Member].self, from: Data($0.utf8)) } ?? []
        return Status(hubURL: link?.url, reachable: reachability.reachable, members: members, pending: depth.pending, oldestAt: depth.oldest,
                      trustListVersion: trust.snapshot?.document.version,
                      revocationSeq: isFederated ? national.flatMap { Int64($0) } ?? 0 : nil)
    }

    func evidence(peer: String?, before: Int64?, limit: Int) async throws -> [FederationEvidence] {
        try await records.evidence(peer: peer, before: before, limit: limit)
    }
}

/// What a node does with a message kind another member sent it through the hub, inside the write transaction that
/// records the message as received (so it is acted on exactly once).
final class FederationHandlers: Sendable {
    typealias Handler = @Sendable (_ message: Federation.Envelope, _ from: String, _ at: Date, _ s: StoreSession) async throws -> Void
    private let handlers = NIOLockedValueBox<[Federation.Kind: Handler]>([:])

    func register(_ kind: Federation.Kind, _ handler: @escaping Handler) { handlers.withLockedValue { $0[kind] = handler } }
    func handler(for kind: Federation.Kind) -> Handler? { handlers.withLockedValue { $0[kind] } }
}

/// Runs the node's exchange with the hub: every `interval` or as soon as something new is owed.
struct FederationExchange: Service {
    let federation: FederationService
    let logger: Logger

    func run() async throws {
        // A service that returns ends the whole application: a node alone just waits for shutdown.
        guard federation.isFederated else { try? await gracefulShutdown(); return }
        await federation.restore()
        await cancelWhenGracefulShutdown {
            var round = 0
            var pruned = Date.distantPast
            while !Task.isCancelled {
                let seen = federation.work.current
                await federation.exchange(trustList: round % 5 == 0)
                round += 1
                if Date().timeIntervalSince(pruned) > 60 {
                    pruned = Date()
                    let cutoff = federation.clock.now().addingTimeInterval(-2 * FederationSignature.maxSkew)
                    try? await federation.records.pruneNonces(before: cutoff)
                }
                await federation.work.wait(after: seen, upTo: federation.interval)
            }
        }
    }
}
