import Crypto
import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// The hub's rules, on each engine: one claim per person nationwide, messages acted on once, revocations numbered once
/// in one national sequence, and only members' own keys published.
@Suite("The national hub: claims, messages once, one national revocation sequence")
struct HubRulesTests {
    static func withHub(_ engine: Engine, _ body: @Sendable (HubService) async throws -> Void) async throws {
        let db = try await TestDatabase.make(engine)
        let store = try await db.store()
        let hub = HubService(store: store, clock: .system, key: FederationKey(privateKey: .init()), logger: TestDatabase.logger)
        do {
            for region in ["110000", "120000", "130000"] {
                _ = try await hub.admit(region: region, url: "http://127.0.0.1:1", key: FederationPublicKey(Curve25519.Signing.PrivateKey().publicKey), kind: .province)
            }
            _ = try await hub.admit(region: "810000", url: "http://127.0.0.1:2", key: FederationPublicKey(Curve25519.Signing.PrivateKey().publicKey), kind: .partner)
            try await body(hub)
        } catch {
            await store.close(); await db.remove(); throw error
        }
        await store.close()
        await db.remove()
    }

    static func claim(_ key: String, id: String = UUID().uuidString) -> Federation.Envelope {
        Federation.Envelope(id: id, kind: .claim, to: nil, payload: .init(personKey: key))
    }

    @Test(arguments: Engine.available)
    func twoProvincesClaimingOnePersonAtOnceGetOneSuccess(_ engine: Engine) async throws {
        try await Self.withHub(engine) { hub in
            for round in 0..<5 {
                let person = "person-\(round)"
                async let beijing = hub.receive(from: "110000", Self.claim(person))
                async let tianjin = hub.receive(from: "120000", Self.claim(person))
                let answers = try await [beijing, tianjin]
                #expect(answers.filter { $0.granted == true }.count == 1, "\(answers)")
                // the loser is told who holds the person
                let winner = answers.first { $0.granted == true }!.region!
                #expect(answers.first { $0.granted == false }?.region == winner)
            }
        }
    }

    @Test(arguments: Engine.available)
    func aClaimFollowsTheCardAndIsReleasedOnCancellation(_ engine: Engine) async throws {
        try await Self.withHub(engine) { hub in
            #expect(try await hub.receive(from: "110000", Self.claim("p")).granted == true)
            // the same province asks again (another application later): granted again
            #expect(try await hub.receive(from: "110000", Self.claim("p")).granted == true)
            _ = try await hub.receive(from: "110000", .init(id: "c1", kind: .card, to: nil, payload: .init(personKey: "p", cardHash: String(repeating: "a", count: 64))))
            #expect(try await hub.receive(from: "130000", Self.claim("p")) == .init(granted: false, region: "110000"))
            _ = try await hub.receive(from: "110000", .init(id: "r1", kind: .release, to: nil, payload: .init(personKey: "p")))
            #expect(try await hub.receive(from: "130000", Self.claim("p")).granted == true)
            // a release by a province that holds no claim changes nothing
            _ = try await hub.receive(from: "110000", .init(id: "r2", kind: .release, to: nil, payload: .init(personKey: "p")))
            #expect(try await hub.receive(from: "120000", Self.claim("p")) == .init(granted: false, region: "130000"))
        }
    }

    @Test(arguments: Engine.available)
    func aRedeliveredMessageGetsTheFirstAnswerAndChangesNothing(_ engine: Engine) async throws {
        try await Self.withHub(engine) { hub in
            let first = try await hub.receive(from: "110000", Self.claim("q", id: "m1"))
            _ = try await hub.receive(from: "110000", .init(id: "r", kind: .release, to: nil, payload: .init(personKey: "q")))
            // m1 again, after the release: answered as before, and the claim is not taken again
            #expect(try await hub.receive(from: "110000", Self.claim("q", id: "m1")) == first)
            #expect(try await hub.receive(from: "120000", Self.claim("q")).granted == true)
        }
    }

    @Test(arguments: Engine.available)
    func revocationsAreNumberedOnceInOneNationalSequence(_ engine: Engine) async throws {
        try await Self.withHub(engine) { hub in
            let at = Date(timeIntervalSince1970: 1_800_000_000)
            let bj = try (1...3).map { Federation.PushedRevocations.Line(seq: Int64($0), entry: .card(try CardNumber("A1234567\($0)"), status: .lost, at: at)) }
            #expect(try await hub.pushRevocations(from: "110000", bj).added == 3)
            // a retry after a lost answer, with one new line: only the new one is added
            let again = bj + [.init(seq: 4, entry: .token(jti: "j-4", status: .lost, at: at))]
            #expect(try await hub.pushRevocations(from: "110000", again) == .init(added: 1, lastSeq: 4))
            #expect(try await hub.pushRevocations(from: "120000", [.init(seq: 1, entry: .card("B12345678", status: .cancelled, at: at))]).added == 1)
            let list = try await hub.store.read { try await $0.hub.nationalRevocations(since: 0) }
            #expect(list.entries.map(\.seq) == [1, 2, 3, 4, 5])
            #expect(list.entries.map { $0.entry.iss } == ["110000", "110000", "110000", "110000", "120000"])
            #expect(try await hub.store.read { try await $0.hub.nationalRevocations(since: 4) }.entries.count == 1)
            // a member may not push another region's entries, nor may a partner push any
            await #expect(throws: DomainError.self) {
                try await hub.pushRevocations(from: "120000", [.init(seq: 2, entry: RevocationEntry(.token(jti: "x"), status: .lost, at: at, iss: "110000"))])
            }
            await #expect(throws: DomainError.self) { try await hub.pushRevocations(from: "810000", bj) }
        }
    }

    @Test(arguments: Engine.available)
    func aMemberPublishesOnlyItsOwnKeysAndASuspendedMemberLeavesTheList(_ engine: Engine) async throws {
        try await Self.withHub(engine) { hub in
            let key = SigningKey(privateKey: .init(), createdAt: Date())
            let v1 = try await hub.publishKeys(from: "110000", [key.jwk(issuer: "110000")])
            // the same keys again: the same version
            #expect(try await hub.publishKeys(from: "110000", [key.jwk(issuer: "110000")]) == v1)
            await #expect(throws: DomainError.self) { try await hub.publishKeys(from: "120000", [key.jwk(issuer: "110000")]) }
            let hubKey = hub.key.publicKey
            var list = try TrustListDocument.open(signed: try await hub.signedTrustList(), hubKey: hubKey)
            #expect(list.keys.map(\.kid) == [key.kid] && list.keys.first?.alg == "Ed25519")
            try await hub.suspend(region: "110000")
            list = try TrustListDocument.open(signed: try await hub.signedTrustList(), hubKey: hubKey)
            #expect(list.keys.isEmpty && list.version > v1)
            #expect(try await hub.memberKey("110000") == nil)
            // a list signed by any other key is refused
            #expect(throws: (any Error).self) { try TrustListDocument.open(signed: try TrustListDocument(version: 9, issuedAt: Date(), expiresAt: Date(), keys: []).signed(with: FederationKey(privateKey: .init())), hubKey: hubKey) }
        }
    }

    @Test(arguments: Engine.available)
    func aPartnerOnlyReportsUses(_ engine: Engine) async throws {
        try await Self.withHub(engine) { hub in
            await #expect(throws: DomainError.self) { try await hub.receive(from: "810000", Self.claim("z")) }
            let use = Federation.ReportedUse(useId: "u1", at: "2026-11-30T08:00:00Z", region: "810000", venueName: "香港中央图书馆", venueType: "library",
                                             itemCode: "GBA-LIB-001", kind: "qr", decision: "accepted", reason: nil, sub: "s", jti: "j", cardHash: nil)
            #expect(try await hub.receive(from: "810000", .init(id: "u1", kind: .use, to: "110000", payload: .init(use: use))) == .init(granted: nil, region: nil))
            // relayed to the issuer through the hub's outbox
            let queued = try await hub.store.read { try await $0.federation.due(now: Date().addingTimeInterval(1)) }
            #expect(queued.map(\.target) == ["110000"] && queued.map(\.id) == ["810000-u1"])
        }
    }

    @Test(arguments: Engine.available)
    func anAllianceListIsPublishedWhenEveryMemberRegionHasApproved(_ engine: Engine) async throws {
        try await Self.withHub(engine) { hub in
            // setup: the presets every member already accepts are the first list
            try await hub.seedAlliances()
            let first = try #require(try await hub.alliances(for: "120000").first { $0.code == "jjj" })
            #expect(first.version == 1 && !first.items.isEmpty && first.members == ["110000", "120000", "130000"])
            let item = CatalogueItem(code: "JJJ-PARK-009", name: "京津冀公园年票", domain: .tourism, scenario: "公园入园", cardForms: [.physical, .electronic],
                                     level: .alliance, regions: ["110000", "120000", "130000"], issuers: ["110000"], venueTypes: [.park],
                                     legalBasis: "京津冀协同条例第十二条", effectiveFrom: CalendarDay("2026-01-01")!)
            // action: Beijing proposes, Tianjin and Hebei approve
            let proposed = try await hub.propose(from: "110000", alliance: "jjj", .init(item: item))
            #expect(proposed.status == "open" && proposed.approvals == ["110000"])
            // an alliance item recognises every member's cards
            #expect(proposed.item?.issuers == ["110000", "120000", "130000"])
            #expect(try await hub.approve(from: "120000", alliance: "jjj", proposal: proposed.proposalId).status == "open")
            // approving twice counts once
            #expect(try await hub.approve(from: "120000", alliance: "jjj", proposal: proposed.proposalId).approvals == ["110000", "120000"])
            #expect(try await hub.approve(from: "130000", alliance: "jjj", proposal: proposed.proposalId).status == "published")
            // validate
            let list = try #require(try await hub.alliances(for: "110000").first { $0.code == "jjj" })
            #expect(list.version == 2 && list.items.contains { $0.code == "JJJ-PARK-009" } && list.items.count == first.items.count + 1)
            // a region outside the alliance may neither propose nor approve; an item offered outside it is refused
            await #expect(throws: DomainError.self) { try await hub.propose(from: "810000", alliance: "jjj", .init(item: item)) }
            var outside = item
            outside.code = "JJJ-PARK-010"; outside.regions = ["110000", "310000"]
            await #expect(throws: DomainError.self) { try await hub.propose(from: "110000", alliance: "jjj", .init(item: outside)) }
            // a withdrawal follows the same path
            let withdrawal = try await hub.propose(from: "130000", alliance: "jjj", .init(code: "JJJ-PARK-009", withdraw: true))
            for region in ["110000", "120000"] { _ = try await hub.approve(from: region, alliance: "jjj", proposal: withdrawal.proposalId) }
            #expect(try await hub.alliances(for: "110000").first { $0.code == "jjj" }?.items.contains { $0.code == "JJJ-PARK-009" } == false)
        }
    }

    @Test(arguments: Engine.available)
    func theHubKeepsAMembersSignedAuditCheckpointsAndRefusesForgedOnes(_ engine: Engine) async throws {
        try await Self.withHub(engine) { hub in
            let key = Curve25519.Signing.PrivateKey()
            _ = try await hub.admit(region: "150000", url: "http://127.0.0.1:3", key: FederationPublicKey(key.publicKey), kind: .province)
            let signed = try AuditChain.Checkpoint.sign(seq: 7, hash: String(repeating: "b", count: 64), atMillis: 1, key: key)
            _ = try await hub.receive(from: "150000", .init(id: "a7", kind: .auditCheckpoint, to: nil, payload: .init(checkpoint: .init(signed))))
            // redelivered: kept once
            _ = try await hub.receive(from: "150000", .init(id: "a7", kind: .auditCheckpoint, to: nil, payload: .init(checkpoint: .init(signed))))
            #expect(try await hub.store.read { try await $0.hub.auditCheckpoints(region: "150000") } == [signed])
            // what the member reads back (GET /federation/v1/audit-checkpoints) to hold its chain to
            #expect(try await hub.auditCheckpoints(region: "150000") == [signed])
            let forged = try AuditChain.Checkpoint.sign(seq: 8, hash: signed.hash, atMillis: 2, key: Curve25519.Signing.PrivateKey())
            await #expect(throws: DomainError.self) {
                try await hub.receive(from: "150000", .init(id: "a8", kind: .auditCheckpoint, to: nil, payload: .init(checkpoint: .init(forged))))
            }
        }
    }
}
