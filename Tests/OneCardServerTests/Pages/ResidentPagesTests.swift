import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Resident pages: the card, the QR code, reporting a loss and the data export, no personal data in URLs")
struct ResidentPagesTests {
    @Test(arguments: Engine.available)
    func aResidentSeesTheQRCodeAndReportsTheCardLost(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a holder with an e-card, signed in on the resident pages
            try await h.createBank()
            let idNumber = TestIDs.resident(sequence: "777")
            let (holder, _, number) = try await h.holderWithECard(idNumber: idNumber)
            let b = PageBrowser(h)
            try await b.signIn(holder: idNumber)
            let me = try await b.get("/me")
            #expect(me.html.contains(number) && me.html.contains(#"data-status="active""#), "\(me)")
            let account = try #require(try await h.services.cards.card(try CardNumber(number)).accountNumber)
            #expect(!me.html.contains(account), "the bank account is masked")
            let ecard = try await b.get("/me/ecard")
            #expect(ecard.html.contains(#"<meta http-equiv="refresh" content="50">"#))
            let png = try #require(PageReply.first(#"src="data:image/png;base64,([A-Za-z0-9+/=]+)""#, in: ecard.html))
            #expect(Data(base64Encoded: png)?.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
            // The confirmation step changes nothing.
            _ = try await b.get("/me/report-loss")
            let confirm = try await b.post("/me/report-loss/confirm", [("kind", "temporary")])
            #expect(confirm.status == 200 && confirm.html.contains("确认挂失"))
            #expect(try await h.call(.get, "/api/v1/me/card", token: holder).string("status") == "active")
            let done = try await b.post("/me/report-loss", [("kind", "temporary")])
            #expect(done.location == "/me?notice=loss_done")
            let after = try await b.get(try #require(done.location))
            #expect(after.html.contains(#"data-status="temporarily_lost""#) && after.html.contains("挂失成功"))
            #expect(try await h.eventTypes(number).contains("loss_reported_temporary"))
            // The e-card page now says why there is no code, with the API's code.
            #expect(try await b.get("/me/ecard").html.contains("card_not_active"))
            let uses = try await b.get("/me/uses")
            #expect(uses.status == 200)
            let export = try await b.get("/me/export")
            #expect(export.status == 200 && export.html.contains(idNumber))
            // No personal data in any URL the resident's pages used or offered.
            for url in b.seenURLs { #expect(!url.contains(idNumber) && !url.contains(number), "\(url)") }
        }
    }

    @Test(arguments: Engine.available)
    func theDataExportIsTheSameFromTheApiAndThePageAndIsAudited(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank()
            let idNumber = TestIDs.resident(sequence: "777")
            let (holder, personId, number) = try await h.holderWithECard(idNumber: idNumber)
            // The API
            let api = try await h.call(.get, "/api/v1/me/export", token: holder)
            #expect(api.status == 200, "\(api)")
            let person = try #require(api["person"] as? [String: Any])
            #expect(person["personId"] as? String == personId && person["idNumber"] as? String == idNumber && person["name"] as? String == "王秀梅")
            #expect((api["card"] as? [String: Any])?["cardNumber"] as? String == number)
            #expect((api["ecard"] as? [String: Any])?["status"] as? String == "active")
            #expect((api["events"] as? [[String: Any]])?.contains { $0["type"] as? String == "application_collected" } == true)
            #expect((api["applications"] as? [[String: Any]])?.count == 1)
            for key in ["uses", "payments", "notifications"] { #expect(api[key] is [Any], "\(key)") }
            // The page sends the same document, as a download.
            let b = PageBrowser(h)
            try await b.signIn(holder: idNumber)
            let page = try await b.get("/me/export")
            let pageJSON = try #require(try JSONSerialization.jsonObject(with: Data(page.html.utf8)) as? NSDictionary)
            #expect(pageJSON == api.json as NSDictionary)
            // validate: both reads are audited with their purpose
            let purposes = try await h.services.store.read { s in
                try await s.db.raw("SELECT purpose FROM audit_log WHERE action = 'person_unmasked_read'").all().map { try $0.decode(column: "purpose", as: String.self) }
            }
            #expect(purposes == ["holder data export", "holder data export"])
            // Staff have no "me".
            #expect(try await h.call(.get, "/api/v1/me/export", token: h.agent).status == 403)
            #expect(try await h.call(.get, "/api/v1/me/export").status == 401)
        }
    }
}
