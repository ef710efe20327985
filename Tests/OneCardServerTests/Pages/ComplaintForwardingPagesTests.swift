import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// The province concerned sees where a forwarded complaint came from and can hand it back with a reason.
@Suite("Pages: a complaint forwarded from another province, and its return")
struct ComplaintForwardingPagesTests {
    @Test(arguments: Engine.available)
    func theAgentSeesTheOriginAndReturnsWhatIsNotThisProvincesMatter(_ engine: Engine) async throws {
        try await Harness.run(engine, region: ComplaintForwardingAPITests.tianjin, hub: try ComplaintForwardingAPITests.silentHub()) { h in
            // setup: a complaint lodged in Beijing arrives through the hub
            _ = try await h.services.federation.receive(ComplaintForwardingAPITests.relayed("complaint-bj-9", from: "110000", to: "120000", .init(complaint: .init(
                complaintId: "bj-9", kind: "complaint", topic: "card_refused", channel: "online", summary: "某景区拒绝社保卡", regionCode: "120000",
                receivedAt: "2026-11-17T02:00:00Z", useId: nil, venueName: "某景区", events: [])), kind: .complaint))
            let id = try await h.services.store.read { try await $0.complaints.list() }.first!.id
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            // action
            let page = try await agent.get("/complaints/\(id)")
            // validate: its origin is named, and it can be handed back
            #expect(page.status == 200 && page.html.contains(#"id="c-origin">北京市"#) && page.html.contains("/complaints/\(id)/return"), "\(page)")
            let returned = try await agent.post("/complaints/\(id)/return", [("reason", "该景区不在本市")])
            #expect(returned.status == 303, "\(returned)")
            let after = try await agent.get("/complaints/\(id)")
            #expect(after.html.contains("该景区不在本市") && !after.html.contains("/complaints/\(id)/return"), "\(after)")
        }
    }
}
