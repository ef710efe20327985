import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Administrator pages: the catalogue, venues and terminals, banks, outlets")
struct AdminPagesTests {
    @Test(arguments: Engine.available)
    func anAdministratorPublishesACatalogueChangeAndAVenueChecksTokens(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: the seed catalogue, the administrator signed in
            try await h.seedCatalogue()
            try await h.createBank()
            let admin = PageBrowser(h)
            try await admin.signIn(staff: "admin")
            _ = try await admin.get("/admin/catalogue")
            let drafted = try await admin.post("/admin/catalogue/draft", [
                ("code", "11-PAGE-001"), ("name", "页面测试公园"), ("domain", "tourism"), ("scenario", "持卡入园"), ("cardForms", "physical"),
                ("cardForms", "electronic"), ("level", "provincial"), ("regions", "110000"), ("issuers", "*"), ("venueTypes", "park"),
                ("legalBasis", "测试依据"), ("effectiveFrom", "2024-01-01"),
            ])
            #expect(drafted.location == "/admin/catalogue", "\(drafted)")
            _ = try await admin.get("/admin/catalogue")
            let published = try await admin.post("/admin/catalogue/publish", [])
            #expect(published.location == "/catalogue/versions/2")
            #expect(try await PageBrowser(h).get("/catalogue/versions/2").html.contains("页面测试公园"))
            #expect(try await PageBrowser(h).get("/catalogue").html.contains("11-PAGE-001"))
            // A venue and a terminal, whose key is shown once.
            _ = try await admin.get("/admin/venues")
            let venue = try await admin.post("/admin/venues", [
                ("name", "页面测试公园"), ("operatorUscc", CatalogueAndAcceptanceAPITests.uscc()), ("type", "park"), ("regionCode", "110105"),
                ("address", "测试路 1 号"), ("accessibility", "无障碍通道"), ("unifiedLogo", "true"), ("itemCodes", "11-PAGE-001"),
            ])
            #expect(venue.location == "/admin/venues", "\(venue)")
            let venues = try await admin.get("/admin/venues")
            let venueId = try #require(PageReply.first(#"action="/admin/venues/([0-9a-f-]+)/terminals""#, in: venues.html))
            let keyPage = try await admin.post("/admin/venues/\(venueId)/terminals", [])
            let key = try #require(PageReply.first(#"id="api-key">(oct_[^<]+)<"#, in: keyPage.html))
            #expect(!(try await admin.get("/admin/venues")).html.contains(key), "the key is shown once")

            // The venue page accepts a fresh token and denies a replayed one.
            let (holder, _, _) = try await h.holderWithECard()
            let token = try await h.qrToken(holder)
            let gate = PageBrowser(h)
            _ = try await gate.get("/venue")
            #expect(try await gate.post("/venue/signin", [("apiKey", "oct_nope_nope")]).html.contains("invalid_credentials"))
            #expect(try await gate.post("/venue/signin", [("apiKey", key)]).location == "/venue")
            var form = try await gate.get("/venue")
            var idem = try #require(PageReply.first(#"name="idempotencyKey" value="([^"]+)""#, in: form.html))
            let first = try await gate.post("/venue/accept", [("idempotencyKey", idem), ("itemCode", "11-PAGE-001"), ("token", token)])
            #expect(first.html.contains(#"data-decision="accepted""#), "\(first)")
            // Resending the same form answers the same and records nothing new.
            let resent = try await gate.post("/venue/accept", [("idempotencyKey", idem), ("itemCode", "11-PAGE-001"), ("token", token)])
            #expect(resent.html.contains(#"data-decision="accepted""#))
            #expect(try await h.count("uses") == 1)
            form = try await gate.get("/venue")
            idem = try #require(PageReply.first(#"name="idempotencyKey" value="([^"]+)""#, in: form.html))
            let replay = try await gate.post("/venue/accept", [("idempotencyKey", idem), ("itemCode", "11-PAGE-001"), ("token", token)])
            #expect(replay.html.contains(#"data-decision="denied""#) && replay.html.contains("token_replayed") && replay.html.contains("已经使用过"))
            // Revoking the terminal ends its page session at once.
            let terminalId = try #require(PageReply.first(#"/terminals/([0-9a-f-]+)/revoke"#, in: try await admin.get("/admin/venues").html))
            _ = try await admin.post("/admin/venues/\(venueId)/terminals/\(terminalId)/revoke", [])
            #expect(try await gate.get("/venue").html.contains(#"name="apiKey""#))
        }
    }

    @Test(arguments: Engine.available)
    func anAdministratorSuspendsAndTerminatesABankWhoseHoldersMove(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a holder whose card is with ICBC, and a second bank to succeed it
            try await h.createBank("ICBC")
            try await h.createBank("BOC")
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "654"))
            let admin = try await PageBrowser.signedIn(h, staff: "admin")
            func status(_ code: String) async throws -> String? {
                let banks = try await h.call(.get, "/api/v1/banks")["banks"] as? [[String: Any]] ?? []
                return banks.first { $0["code"] as? String == code }?["status"] as? String
            }
            let page = try await admin.get("/admin/banks")
            #expect(page.html.contains(#"action="/admin/banks/ICBC/status""#) && page.html.contains(#"id="suspend-ICBC""#), "\(page)")
            // Suspend, and lift the suspension.
            #expect(try await admin.post("/admin/banks/ICBC/status", [("status", "suspended")]).location == "/admin/banks")
            #expect(try await status("ICBC") == "suspended")
            #expect(try await admin.get("/admin/banks").html.contains(#"id="reactivate-ICBC""#))
            #expect(try await admin.post("/admin/banks/ICBC/status", [("status", "suspended")]).html.contains("invalid_transition"))
            _ = try await admin.post("/admin/banks/ICBC/status", [("status", "active")])
            #expect(try await status("ICBC") == "active")
            // Termination needs a successor; with one, the migration plan opens and the page reports it.
            let noSuccessor = try await admin.post("/admin/banks/ICBC/status", [("status", "terminated")])
            #expect(noSuccessor.status == 422 && noSuccessor.html.contains("successor_required") && noSuccessor.html.contains("终止合作须指定承接银行"))
            #expect(try await admin.post("/admin/banks/ICBC/status", [("status", "terminated"), ("successorBankCode", "BOC"), ("choiceDays", "soon")])
                .html.contains("invalid_field"))
            #expect(try await status("ICBC") == "active")
            let terminated = try await admin.post("/admin/banks/ICBC/status", [("status", "terminated"), ("successorBankCode", "BOC"), ("choiceDays", "30")])
            #expect(terminated.location == "/admin/banks", "\(terminated)")
            #expect(try await status("ICBC") == "terminated")
            let plan = try await admin.get("/admin/banks")
            #expect(plan.html.contains(#"id="migration-ICBC""#) && !plan.html.contains(#"id="suspend-ICBC""#), "\(plan)")
            #expect(try await h.call(.get, "/api/v1/banks/ICBC/migration", token: h.admin)["counts"].flatMap { $0 as? [String: Any] }?["pending"] as? Int == 1)
            // Moving the rest now: the card is with the successor.
            #expect(try await admin.post("/admin/banks/ICBC/migration/apply", []).location == "/admin/banks")
            // validate
            #expect(try await h.call(.get, "/api/v1/cards/\(number)", token: h.agent).string("bankCode") == "BOC")
            #expect(try await h.eventTypes(number).contains("bank_migrated"))
            let audited = try await h.services.store.read { s in
                try await s.db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'bank_terminated' AND actor = 'admin:admin'").first()!.decode(column: "n", as: Int64.self)
            }
            #expect(audited == 1)
            // Agents may not change banks.
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            #expect(try await agent.post("/admin/banks/BOC/status", [("status", "suspended")]).status == 403)
            #expect(try await status("BOC") == "active")
        }
    }

    @Test(arguments: Engine.available)
    func anAdministratorChangesAnOutletsHoursServicesAndAccessibility(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            let outlet = try await h.createOutlet()
            let b = try await PageBrowser.signedIn(h, staff: "admin")
            let list = try await b.get("/admin/outlets")
            #expect(list.html.contains(#"href="/admin/outlets?edit=\#(outlet)#h-outlet-form""#), "\(list)")
            let form = try await b.get("/admin/outlets?edit=\(outlet)")
            #expect(form.html.contains(#"action="/admin/outlets/\#(outlet)""#) && form.html.contains(#"value="09:00-17:00""#)
                && form.html.contains(#"value="pickup" checked"#) && !form.html.contains(#"name="regionCode""#), "\(form)")
            // No service at all is refused with the API's code and changes nothing.
            let refused = try await b.post("/admin/outlets/\(outlet)", [("name", "朝阳区社保卡服务中心"), ("address", "朝阳路 1 号"), ("hours", "08:30-18:00")])
            #expect(refused.status == 422 && refused.html.contains("invalid_field"))
            let changed = try await b.post("/admin/outlets/\(outlet)", [
                ("name", "朝阳区社保卡服务中心"), ("address", "朝阳路 1 号"), ("hours", "周一至周六 08:30-18:00"), ("services", "apply"), ("services", "pickup"),
                ("services", "consult"), ("accessibility", "无障碍通道，轮椅借用、老年人优先窗口"),
            ])
            #expect(changed.location == "/admin/outlets", "\(changed)")
            // validate: the public list and the page show the change; the change is audited
            let outlets = try #require(try await h.call(.get, "/api/v1/outlets")["outlets"] as? [[String: Any]])
            #expect(outlets.count == 1 && outlets[0]["outletId"] as? String == outlet && outlets[0]["regionCode"] as? String == "110105")
            #expect(outlets[0]["hours"] as? String == "周一至周六 08:30-18:00" && outlets[0]["services"] as? [String] == ["apply", "pickup", "consult"])
            #expect(outlets[0]["accessibility"] as? [String] == ["无障碍通道", "轮椅借用", "老年人优先窗口"])
            #expect(try await PageBrowser(h).get("/outlets").html.contains("老年人优先窗口"))
            let audited = try await h.services.store.read { s in
                try await s.db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'outlet_updated' AND subject = \(bind: "outlet:" + outlet)").first()!
                    .decode(column: "n", as: Int64.self)
            }
            #expect(audited == 1)
            #expect(try await b.post("/admin/outlets/nope", [("name", "x"), ("address", "x"), ("hours", "x"), ("services", "apply")]).status == 404)
            // Agents may not.
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            #expect(try await agent.post("/admin/outlets/\(outlet)", [("name", "x"), ("address", "x"), ("hours", "x"), ("services", "apply")]).status == 403)
        }
    }
}
