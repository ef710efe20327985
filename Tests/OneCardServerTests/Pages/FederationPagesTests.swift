import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import NIOCore
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Federation on the pages: the administrator's status, the agent's forwarded card, the holder's uses in other provinces")
struct FederationPagesTests {
    /// A hub link to a port where nothing answers.
    static func silentHub() throws -> HubLink {
        try HubLink(url: "http://127.0.0.1:9", key: FederationPublicKey(Curve25519.Signing.PrivateKey().publicKey),
                    personKeys: PersonKeyHasher(key: SymmetricKey(size: .bits256)))
    }

    @Test(arguments: Engine.available)
    func aNodeAloneSaysItWorksAloneAndHowToJoin(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            let admin = try await PageBrowser.signedIn(h, staff: "admin")
            // the administrator's home links the page
            #expect(try await admin.get("/admin").urls.contains("/admin/federation"))
            let page = try await admin.get("/admin/federation")
            // validate: alone, in one sentence with the options to join; no hub facts
            #expect(page.status == 200, "\(page)")
            #expect(page.html.contains(#"id="fed-alone""#) && page.html.contains("独立运行") && page.html.contains("--hub"), "\(page)")
            #expect(page.html.contains("北京市（110000）"))
            #expect(!page.html.contains(#"id="fed-status""#))
            // Administrators only.
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            #expect(try await agent.get("/admin/federation").status == 403)
        }
    }

    @Test(arguments: Engine.available)
    func aFederatedNodeShowsItsHubMembersAndWaitingOutbox(_ engine: Engine) async throws {
        try await Harness.run(engine, hub: try Self.silentHub()) { h in
            // setup: the member list as last fetched, the national revocation number reached, one message owed to the hub
            let members = [Federation.Member(region: "110000", url: "http://bj.example", kind: "province", status: "active"),
                           Federation.Member(region: "120000", url: "http://tj.example", kind: "province", status: "suspended"),
                           Federation.Member(region: "810000", url: "http://hk.example", kind: "partner", status: "active")]
            let at = h.clock.read()
            try await h.services.store.write { s in
                try await s.federation.setState(FederationService.State.members, String(decoding: try JSONEncoder().encode(members), as: UTF8.self), at: at)
                try await s.federation.setState(FederationService.State.nationalRevocations, "7", at: at)
                try await h.services.federation.enqueue(.release, payload: .init(personKey: "pk-1"), at: at, in: s)
            }
            let admin = try await PageBrowser.signedIn(h, staff: "admin")
            let page = try await admin.get("/admin/federation")
            // validate: the hub and that it has not answered
            #expect(page.status == 200, "\(page)")
            #expect(!page.html.contains(#"id="fed-alone""#))
            #expect(page.html.contains("http://127.0.0.1:9") && page.html.contains(#"data-reachable="false""#), "\(page)")
            // every member with its region's name, kind and status
            #expect(page.html.contains("<code>120000</code> 天津市") && page.html.contains("http://tj.example"))
            #expect(page.html.contains(#"data-member-status="suspended">已暂停"#) && page.html.contains("跨境合作方"))
            #expect(page.html.contains("<code>110000</code> 北京市（本节点）"))
            // the waiting message, highlighted, with the time it has waited since
            #expect(page.html.contains(#"class="badge bad" id="fed-pending" data-pending="1""#), "\(page)")
            #expect(page.html.contains(#"<strong id="fed-oldest">\#(PageTime.dateTime(at))</strong>"#) && page.html.contains(#"id="fed-waiting""#))
            // the versions: no trust list fetched yet, national revocations up to 7
            #expect(page.html.contains(#"<dd id="fed-trust">尚未获取</dd>"#) && page.html.contains(#"<dd id="fed-revocations">7</dd>"#))
            // In English too.
            #expect(try await admin.get("/admin/federation?lang=en").html.contains("Messages waiting to be sent"))
        }
    }

    @Test(arguments: Engine.available)
    func anAgentSeesAnotherProvincesCardAsItsIssuerAnswersAndReportsItLostThere(_ engine: Engine) async throws {
        let hubKey = Curve25519.Signing.PrivateKey()
        let issuer = FakeIssuer(key: hubKey)
        let app = Application(router: issuer.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let link = try HubLink(url: "http://127.0.0.1:\(port)", key: FederationPublicKey(hubKey.publicKey),
                                   personKeys: PersonKeyHasher(key: SymmetricKey(size: .bits256)))
            try await Harness.run(engine, hub: link) { h in
                // setup: a card this node does not hold, issued in Tianjin
                let agent = try await PageBrowser.signedIn(h, staff: "agent")
                _ = try await agent.get("/agent")
                // the agent looks it up by number
                let found = try await agent.post("/agent/find", [("by", "card"), ("value", FakeIssuer.number)])
                // validate: the issuer's answer, said to be one
                #expect(found.status == 200, "\(found)")
                #expect(found.html.contains("此卡由天津市（120000）发行，本次业务已转至该省平台办理"), "\(found)")
                #expect(found.html.contains(#"data-status="active""#) && found.html.contains("card_issued"))
                // Reads only (a read whose reply was slow under load is asked once more, never a change).
                let asked = issuer.asked.withLockedValue { $0 }
                #expect(Array(Set(asked)).sorted() == ["events", "view"] && asked.count <= 4, "\(asked)")
                // Only the actions forwarded are offered: no activation, replacement, cancellation or full record here.
                #expect(found.html.contains(#"value="report_loss""#) && !found.html.contains(#"value="cancel""#) && !found.html.contains("/agent/person"))
                // A loss report goes to the issuer, named as the agent at the counter.
                let lost = try await agent.post("/agent/card", [("cardNumber", FakeIssuer.number), ("action", "report_loss"), ("kind", "temporary")])
                #expect(lost.html.contains(#"data-status="temporarily_lost""#) && lost.html.contains("此卡由天津市"), "\(lost)")
                #expect(lost.html.contains(#"value="unlock""#) && !lost.html.contains(#"role="alert""#))
                #expect(issuer.lastAction.withLockedValue { $0 }.map { [$0.action.rawValue, $0.body["kind"] ?? "", $0.actor, $0.channel] }
                    == ["report-loss", "temporary", "agent:agent", "counter"])
                // The issuer's refusal is shown, with the card as it stands.
                let refused = try await agent.post("/agent/card", [("cardNumber", FakeIssuer.number), ("action", "report_loss"), ("kind", "formal")])
                #expect(refused.html.contains(#"role="alert""#) && refused.html.contains("<code>invalid_transition</code>"), "\(refused)")
                #expect(refused.html.contains(#"data-status="temporarily_lost""#) && refused.html.contains("此卡由天津市"))
            }
        }
    }

    @Test(arguments: Engine.available)
    func anUnknownCardIsNotFoundAloneAndTheHubBeingDownIsSaid(_ engine: Engine) async throws {
        // setup: a node alone
        try await Harness.run(engine) { h in
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            _ = try await agent.get("/agent")
            let page = try await agent.post("/agent/find", [("by", "card"), ("value", FakeIssuer.number)])
            // validate: not found here, and nothing else to ask
            #expect(page.status == 404 && page.html.contains("card_not_found"), "\(page)")
        }
        // A node whose hub does not answer says so.
        try await Harness.run(engine, hub: try Self.silentHub()) { h in
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            _ = try await agent.get("/agent")
            let page = try await agent.post("/agent/find", [("by", "card"), ("value", FakeIssuer.number)])
            #expect(page.html.contains("federation_unavailable") && page.html.contains(Messages.reason("federation_unavailable", .zh)), "\(page)")
        }
    }

    @Test(arguments: Engine.available)
    func theHolderSeesAUseInAnotherProvinceWithTheProvincesName(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a holder whose card was checked in Tianjin, as Tianjin's platform reports it through the hub
            try await h.createBank()
            let idNumber = TestIDs.resident(sequence: "321")
            let (_, _, number) = try await h.holderWithCard(idNumber: idNumber)
            let jti = "jti-tj-1"
            let use = Federation.ReportedUse(useId: "tj-use-1", at: Timestamp.format(h.clock.read()), region: "120000", venueName: "天津市图书馆",
                                             venueType: "library", itemCode: "12-LIB-001", kind: "qr", decision: "accepted",
                                             sub: h.services.federation.pseudonyms.seal(try CardNumber(number), jti: jti), jti: jti)
            _ = try await h.services.federation.receive(.init(id: "use-tj-use-1", kind: .use, to: "110000", payload: .init(use: use)))
            // the holder opens "who checked my card"
            let b = PageBrowser(h)
            try await b.signIn(holder: idNumber)
            let page = try await b.get("/me/uses")
            // validate: the province named before the venue, marked as another province
            #expect(page.html.contains("天津市 · 天津市图书馆"), "\(page)")
            #expect(page.html.contains(#"data-cross-province="true">跨省"#))
            #expect(try await b.get("/me/uses?lang=en").html.contains(#"data-cross-province="true">Another province"#))
        }
    }
}

/// Stands in for the hub and, behind it, Tianjin's node: answers forwarded requests about one card, signed as the hub.
final class FakeIssuer: Sendable {
    static let number = "T12345678"
    let signer: FederationSigner
    let asked = NIOLockedValueBox<[String]>([])
    let lastAction = NIOLockedValueBox<Federation.Forwarded?>(nil)
    private let status = NIOLockedValueBox("active")

    init(key: Curve25519.Signing.PrivateKey) {
        signer = FederationSigner(keyID: "hub", key: key, clock: ManualClock(Harness.start).clock)
    }

    var router: Router<BasicRequestContext> {
        let router = Router()
        router.post("/federation/v1/forward") { request, _ -> Response in
            let f = try JSONDecoder().decode(Federation.Forwarded.self, from: Data(buffer: try await request.body.collect(upTo: 1 << 16)))
            self.asked.withLockedValue { $0.append(f.action.rawValue) }
            let (code, body) = self.answer(f)
            var headers = HTTPFields()
            headers[.contentType] = code >= 400 ? "application/problem+json" : "application/json"
            for field in try self.signer.signResponse(status: code, body: body) { headers[HTTPField.Name(field.name)!] = field.value }
            return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        return router
    }

    private func answer(_ f: Federation.Forwarded) -> (Int, Data) {
        guard f.cardNumber == Self.number else { return problem(404, "card_not_found") }
        switch f.action {
        case .view: break
        case .events:
            return (200, Data(#"{"events":[{"at":"2026-01-05T02:00:00Z","type":"card_issued","actor":"tj-agent","channel":"counter"}]}"#.utf8))
        case .reportLoss:
            lastAction.withLockedValue { $0 = f }
            guard status.withLockedValue({ $0 }) == "active" else { return problem(409, "invalid_transition") }
            status.withLockedValue { $0 = f.body["kind"] == "formal" ? "lost" : "temporarily_lost" }
        default: return problem(409, "invalid_transition")
        }
        let card = #"{"cardNumber":"\#(Self.number)","identificationCode":"120000D156000005","status":"\#(status.withLockedValue { $0 })","#
            + #""issuerRegion":"120000","personId":"p-tj","functions":{"transit":true,"financial":true},"bankCode":"ICBC","#
            + #""accountMasked":"6212****0001","issuedAt":"2026-01-05T02:00:00Z","expiresAt":"2036-01-05T02:00:00Z"}"#
        return (200, Data(card.utf8))
    }

    private func problem(_ status: Int, _ code: String) -> (Int, Data) {
        (status, Data(#"{"type":"about:blank","title":"refused","status":\#(status),"code":"\#(code)","detail":"as the issuer says"}"#.utf8))
    }
}
