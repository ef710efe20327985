import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("The auditor's page: the chain verified, entries found by actor, subject and day")
struct AuditPagesTests {
    @Test(arguments: Engine.available)
    func theAuditorSeesTheChainIntactThenBrokenAndFindsEntries(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: an auditor (a staff change, audited) and an unmasked read
            _ = try await h.services.createStaffUser(username: "auditor", password: "auditor-password", role: .auditor)
            let personId = try await h.createPerson()
            _ = try await h.call(.get, "/api/v1/persons/\(personId)?unmask=true", token: h.agent, headers: ["X-Purpose": "counter check"])
            let auditor = try await PageBrowser.signedIn(h, staff: "auditor")

            // validate: signing in lands on the page; the chain is intact; entries found by subject
            let page = try await auditor.get("/audit?subject=person:\(personId)")
            #expect(page.status == 200 && page.html.contains(#"id="audit-intact""#), "\(page)")
            #expect(page.html.contains("person_unmasked_read") && page.html.contains("counter check"), "\(page)")
            #expect(!page.html.contains("staff_user_created"))
            // a day with nothing; a backwards window is said in words, not a failure
            #expect(try await auditor.get("/audit?to=2000-01-01").html.contains(#"id="audit-none""#))
            #expect(try await auditor.get("/audit?from=2030-01-02&to=2030-01-01").html.contains("invalid_time_range"))

            // an entry edited behind the application's back is named
            try await h.services.store.write { try await $0.db.raw("UPDATE audit_log SET purpose = 'x' WHERE seq = 1").run() }
            let broken = try await auditor.get("/audit")
            #expect(broken.html.contains(#"id="audit-broken" data-first-bad="1""#), "\(broken)")

            // auditors only
            let admin = try await PageBrowser.signedIn(h, staff: "admin")
            #expect(try await admin.get("/audit").status == 403)
        }
    }
}
