import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// The service pages through the real page stack: a holder complains from "who checked my card", the agent's
/// worklist marks overdue items, the supervisor's case and statistics pages.
@Suite("Pages: complaints from a use, the worklist with overdue items, cases and statistics")
struct ServicePagesTests {
    @Test(arguments: Engine.available)
    func aHolderComplainsFromAUseAndTheWorklistMarksItOverdueLater(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a holder's card used at a Tianjin library
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, library) = try await h.createVenue(type: "library", region: "120101", items: ["JJJ-LIB-001"], name: "天津图书馆")
            let idNumber = TestIDs.resident(sequence: "777")
            let (token, _, _) = try await h.holderWithECard(idNumber: idNumber)
            let useId = try #require(try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": try await h.qrToken(token)]).string("useId"))
            let holder = PageBrowser(h)
            try await holder.signIn(holder: idNumber)

            // action: "who checked my card" links each use to a complaint form tied to it
            let uses = try await holder.get("/me/uses")
            #expect(uses.html.contains("/me/complaints?use=\(useId)"), "\(uses)")
            let form = try await holder.get("/me/complaints?use=\(useId)")
            #expect(form.status == 200 && form.html.contains(#"name="useId" value="\#(useId)""#))
            let lodged = try await holder.post("/me/complaints", [("useId", useId), ("kind", "complaint"), ("topic", "card_refused"), ("summary", "要求出示身份证")])
            #expect(lodged.status == 303, "\(lodged)")
            let detail = try await holder.get(try #require(lodged.location))
            #expect(detail.html.contains("2026-12-09 24:00"), "\(detail)")

            // validate: the agent's worklist lists it; 22 days later it is overdue and marked
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            let list = try await agent.get("/complaints")
            #expect(list.status == 200 && list.html.contains("data-complaint=") && !list.html.contains(#"data-overdue="true""#), "\(list)")
            h.clock.advance(by: 22 * 86_400)
            let late = try await agent.get("/complaints?overdue=true")
            #expect(late.html.contains(#"data-overdue="true""#), "\(late)")
            // a holder may not open the staff pages
            #expect(try await holder.get("/complaints").status == 403)
            #expect(try await holder.get("/cases").status == 403)
        }
    }

    @Test(arguments: Engine.available)
    func theSupervisorOpensACaseAndReadsTheStatistics(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            _ = try await h.services.createStaffUser(username: "auditor", password: "auditor-password", role: .auditor)
            let auditor = try await PageBrowser.signedIn(h, staff: "auditor")
            #expect(try await auditor.get("/cases").status == 200)
            let opened = try await auditor.post("/cases", [("type", "venue_refusal"), ("uscc", CatalogueAndAcceptanceAPITests.uscc()), ("name", "某博物馆"),
                                                          ("summary", "拒绝受理社保卡")])
            #expect(opened.status == 303, "\(opened)")
            let page = try #require(opened.location)
            #expect(try await auditor.post(page + "/decide", [("serious", "true")]).html.contains("order_required"))
            #expect(try await auditor.post(page + "/order", [("dueOn", "2026-12-31")]).status == 303)
            #expect(try await auditor.post(page + "/decide", []).status == 303)
            #expect(try await auditor.get(page).html.contains("已决定"))
            let stats = try await auditor.get("/stats?from=2026-11-01&to=2026-11-30&by=day")
            #expect(stats.status == 200 && stats.html.contains(#"<svg role="img""#) && stats.html.contains("/api/v1/stats/report.pdf?from=2026-11-01&amp;to=2026-11-30"), "\(stats)")
            #expect(try await PageBrowser.signedIn(h, staff: "agent").get("/stats").status == 403)
        }
    }
}
