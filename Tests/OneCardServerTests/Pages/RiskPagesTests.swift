import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("The auditor's risk alerts and the administrator's incident switch, as pages")
struct RiskPagesTests {
    @Test(arguments: Engine.available)
    func theAuditorWorksAnAlertAndTheAdminSwitchesIncidentMode(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: one card at five libraries in eight minutes, seen by the monitor
            try await h.seedCatalogue()
            try await h.createBank()
            _ = try await h.services.createStaffUser(username: "auditor", password: "auditor-password", role: .auditor)
            try await h.services.risk.scan()
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "631"))
            for i in 0..<5 {
                let gate = try await h.createVenue(type: "library", region: "110101", items: ["JJJ-LIB-001"], name: "馆\(i)").1
                _ = try await h.accept(key: gate, item: "JJJ-LIB-001", credential: try CatalogueAndAcceptanceAPITests.chipCredential(h, card: number))
                h.clock.advance(by: 120)
            }
            try await h.services.risk.scan()
            let auditor = try await PageBrowser.signedIn(h, staff: "auditor")

            // the auditor sees it with its evidence, takes it, asks for online checks, resolves it
            let page = try await auditor.get("/risk")
            #expect(page.status == 200 && page.html.contains(#"data-rule="many_venues""#), "\(page)")
            let id = try #require(PageReply.first(#"data-alert="([^"]+)""#, in: page.html))
            #expect(try await auditor.post("/risk/\(id)/act", [("action", "assign")]).status == 303)
            #expect(try await auditor.post("/risk/\(id)/act", [("action", "require_online")]).status == 303)
            let acted = try await auditor.get("/risk")
            #expect(acted.html.contains("auditor:auditor"), "\(acted)")
            #expect(try await auditor.post("/risk/\(id)/resolve", [("resolution", "核实为本人使用")]).status == 303)
            let done = try await auditor.get("/risk")
            #expect(done.html.contains("核实为本人使用") && done.html.contains(#"id="risk-none""#), "\(done)")

            // the admin switches incident mode on: every staff page says so, the holder's pages do not
            let admin = try await PageBrowser.signedIn(h, staff: "admin")
            #expect(try await admin.get("/admin/incident").html.contains(#"name="active" value="true""#))
            let on = try await admin.post("/admin/incident", [("active", "true"), ("reason", "演练")])
            #expect(on.status == 303, "\(on)")
            #expect(try await admin.get("/admin/incident").html.contains(#"id="incident-state""#))
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            #expect(try await agent.get("/agent").html.contains(#"id="incident-banner""#))
            #expect(try await auditor.get("/risk").html.contains("演练"))
            #expect(try await admin.post("/admin/incident", [("active", "false"), ("reason", "演练结束")]).status == 303)
            #expect(!(try await agent.get("/agent").html.contains(#"id="incident-banner""#)))
            // Auditors only; administrators only.
            #expect(try await admin.get("/risk").status == 403)
            #expect(try await auditor.get("/admin/incident").status == 403)
        }
    }
}
