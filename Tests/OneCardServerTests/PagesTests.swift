import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// A page as the browser got it.
struct PageReply: CustomStringConvertible {
    let status: Int
    let html: String
    let location: String?
    let setCookies: [String]
    var description: String { "\(status) \(location ?? "") \(html.prefix(300))" }

    /// The CSRF token of the first form on the page.
    var csrf: String? { PageReply.first(#"name="_csrf" value="([^"]+)""#, in: html) }

    /// Every URL the page links to or posts to.
    var urls: [String] {
        let regex = try! NSRegularExpression(pattern: #"(?:href|action|src)="([^"]*)""#)
        return regex.matches(in: html, range: NSRange(html.startIndex..., in: html)).compactMap { Range($0.range(at: 1), in: html).map { String(html[$0]) } }
    }

    static func first(_ pattern: String, in text: String) -> String? {
        let regex = try! NSRegularExpression(pattern: pattern)
        guard let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), let r = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[r])
    }
}

/// A cookie-keeping browser over the in-process server; it remembers every URL it saw, to check that
/// none carries personal data.
final class PageBrowser: @unchecked Sendable {
    let h: Harness
    var cookies: [String: String] = [:]
    var seenURLs: [String] = []
    var lastCSRF: String?

    init(_ h: Harness) { self.h = h }

    @discardableResult
    func get(_ uri: String) async throws -> PageReply {
        try await send(.get, uri, body: nil)
    }

    /// Posts a form with the CSRF token of the last page (unless `csrf` says otherwise).
    @discardableResult
    func post(_ uri: String, _ fields: [(String, String)], csrf: String?? = nil) async throws -> PageReply {
        var all = fields
        if let token = csrf ?? lastCSRF { all.append(("_csrf", token)) }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = all.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        return try await send(.post, uri, body: body)
    }

    private func send(_ method: HTTPRequest.Method, _ uri: String, body: String?) async throws -> PageReply {
        seenURLs.append(uri)
        var headers = HTTPFields()
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let r = try await h.client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let setCookies = r.headers[values: .setCookie]
        for c in setCookies {
            let first = c.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(first[0]), value = first.count > 1 ? String(first[1]) : ""
            if value.isEmpty || c.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        let reply = PageReply(status: Int(r.status.code), html: String(buffer: r.body), location: r.headers[.location], setCookies: setCookies)
        if let l = reply.location { seenURLs.append(l) }
        seenURLs += reply.urls
        if let token = reply.csrf { lastCSRF = token }
        return reply
    }
}

@Suite("Web pages: languages, CSRF, roles, journeys and no personal data in URLs")
struct PagesTests {
    @Test(arguments: Engine.available)
    func publicPagesInChineseAndEnglish(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.services.catalogue.seedIfEmpty(by: "test")
            _ = try await h.createOutlet()
            let b = PageBrowser(h)
            for path in ["/", "/guide", "/outlets", "/catalogue", "/catalogue/versions/1", "/signin", "/signup", "/staff/signin", "/venue"] {
                let page = try await b.get(path)
                #expect(page.status == 200, "\(path): \(page)")
                #expect(page.html.contains(#"<html lang="zh-CN">"#), "\(path)")
                #expect(page.html.contains(##"href="#main""##) && page.html.contains(#"id="main""#), "\(path): skip link")
            }
            // The guide comes from the jurisdiction's policy pack.
            let guide = try await b.get("/guide")
            #expect(guide.html.contains("自受理之日起 \(h.services.policy.applicationTimeLimitDays) 日内办结"))
            // The catalogue has its version, history and CSV link; a domain filter narrows it.
            let catalogue = try await b.get("/catalogue?domain=transit")
            #expect(catalogue.html.contains("v1") && catalogue.html.contains("/api/v1/catalogue?format=csv&amp;domain=transit"), "\(catalogue)")
            // English by query parameter, then by the switch link's cookie.
            #expect(try await b.get("/guide?lang=en").html.contains(#"<html lang="en">"#))
            let switched = try await b.get("/prefs?lang=en&back=/outlets")
            #expect(switched.status == 303 && switched.location == "/outlets")
            #expect(switched.setCookies.contains { $0.hasPrefix("onecard_lang=en") && $0.contains("HttpOnly") && $0.contains("SameSite=Strict") })
            let english = try await b.get("/outlets")
            #expect(english.html.contains(#"<html lang="en">"#) && english.html.contains("Service outlets"))
            // A return path to another site is refused.
            #expect(try await b.get("/prefs?lang=zh&back=//evil.example").location == "/")
            // Large text and high contrast without JavaScript: a cookie and a class on the body.
            _ = try await b.get("/prefs?display=large&back=/")
            #expect(try await b.get("/").html.contains(#"<body class="large">"#))
        }
    }

    @Test(arguments: Engine.available)
    func errorsAreFriendlyPagesWithTheApiCodeInBothLanguages(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let b = PageBrowser(h)
            let zh = try await b.get("/catalogue/versions/99")
            #expect(zh.status == 404 && zh.html.contains("version_not_found") && zh.html.contains("找不到该目录版本"), "\(zh)")
            let en = try await b.get("/catalogue/versions/99?lang=en")
            #expect(en.status == 404 && en.html.contains("version_not_found") && en.html.contains("That catalogue version does not exist"))
            #expect(try await b.get("/catalogue?domain=nope").html.contains("invalid_value"))
        }
    }

    @Test(arguments: Engine.available)
    func everyPostNeedsTheSessionsCsrfToken(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let b = PageBrowser(h)
            _ = try await b.get("/staff/signin")
            let missing = try await b.post("/staff/signin", [("username", "admin"), ("password", "admin-password")], csrf: .some(nil))
            #expect(missing.status == 403 && missing.html.contains("csrf_failed"), "\(missing)")
            let forged = try await b.post("/staff/signin", [("username", "admin"), ("password", "admin-password")], csrf: "forged")
            #expect(forged.status == 403 && forged.html.contains("csrf_failed"))
            #expect(b.cookies["onecard_session"] == nil)
            // A token from another browser (another nonce) does not work either.
            let other = PageBrowser(h)
            _ = try await other.get("/staff/signin")
            #expect(try await b.post("/staff/signin", [("username", "admin"), ("password", "admin-password")], csrf: other.lastCSRF).status == 403)
            // The right token signs in, with a session cookie the page's script cannot read.
            let wrong = try await b.post("/staff/signin", [("username", "admin"), ("password", "nope")])
            #expect(wrong.status == 401 && wrong.html.contains("invalid_credentials"))
            let ok = try await b.post("/staff/signin", [("username", "admin"), ("password", "admin-password")])
            #expect(ok.status == 303 && ok.location == "/admin")
            let cookie = try #require(ok.setCookies.first { $0.hasPrefix("onecard_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
            // After signing in the token changes with the session: the signed-out page's token is refused.
            let stale = b.lastCSRF
            _ = try await b.get("/admin")
            #expect(b.lastCSRF != stale)
            #expect(try await b.post("/signout", [], csrf: stale).status == 403)
            #expect(try await b.post("/signout", []).status == 303)
            #expect(b.cookies["onecard_session"] == nil)
        }
    }

    @Test(arguments: Engine.available)
    func pagesKeepTheApisRoles(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            _ = try await h.holderWithECard()
            let anonymous = PageBrowser(h)
            #expect(try await anonymous.get("/me").location == "/signin")
            #expect(try await anonymous.get("/agent").location == "/staff/signin")
            #expect(try await anonymous.get("/admin/catalogue").location == "/staff/signin")
            let holder = PageBrowser(h)
            _ = try await holder.get("/signin")
            #expect(try await holder.post("/signin", [("idNumber", TestIDs.resident(sequence: "777")), ("password", "holder-password")]).location == "/me")
            for path in ["/agent", "/admin", "/admin/users"] {
                let r = try await holder.get(path)
                #expect(r.status == 403 && r.html.contains("forbidden"), "\(path): \(r)")
            }
            let agent = PageBrowser(h)
            _ = try await agent.get("/staff/signin")
            #expect(try await agent.post("/staff/signin", [("username", "agent"), ("password", "agent-password")]).location == "/agent")
            #expect(try await agent.get("/agent").status == 200)
            #expect(try await agent.get("/admin/venues").status == 403)
            #expect(try await agent.get("/me").status == 403)
            // A forged session cookie is dropped, not trusted.
            let forged = PageBrowser(h)
            forged.cookies["onecard_session"] = "eyJhbGciOiJIUzI1NiJ9.e30.forged"
            #expect(try await forged.get("/me").location == "/signin")
        }
    }

    @Test(arguments: Engine.available)
    func aResidentSeesTheQRCodeAndReportsTheCardLost(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let idNumber = TestIDs.resident(sequence: "777")
            let (holder, _, number) = try await h.holderWithECard(idNumber: idNumber)
            let b = PageBrowser(h)
            _ = try await b.get("/signin")
            _ = try await b.post("/signin", [("idNumber", idNumber), ("password", "holder-password")])
            let me = try await b.get("/me")
            #expect(me.html.contains(number) && me.html.contains(#"data-status="active""#), "\(me)")
            let account = try #require(try await h.services.cards.card(number).accountNumber)
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
    func anAgentTakesAnApplicationFromSubmittedToCollected(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let idNumber = TestIDs.resident(sequence: "555")
            let person = try await h.createPerson(idNumber: idNumber)
            let app = try #require(try await h.apply(person: person, outlet: outlet).string("applicationId"))
            let b = PageBrowser(h)
            _ = try await b.get("/staff/signin")
            _ = try await b.post("/staff/signin", [("username", "agent"), ("password", "agent-password")])
            let queue = try await b.get("/agent")
            #expect(queue.html.contains(#"data-application="\#(app)""#) && queue.html.contains("期限内"), "\(queue)")
            #expect(!queue.html.contains(idNumber), "the queue shows masked ID numbers")
            // An out-of-order step is refused with the API's code.
            let early = try await b.post("/agent/applications/\(app)/collect", [])
            #expect(early.status == 409 && early.html.contains("invalid_transition"))
            #expect(try await b.post("/agent/applications/\(app)/reject", []).html.contains("invalid_field"))
            #expect(try await b.post("/agent/applications/\(app)/approve", []).location == "/agent")
            let produced = try await b.post("/agent/applications/\(app)/produce", [])
            let number = try #require(PageReply.first(#"id="produced-card">([0-9A-Z]+)<"#, in: produced.html))
            _ = try await b.post("/agent/applications/\(app)/ready", [])
            _ = try await b.post("/agent/applications/\(app)/collect", [])
            #expect(try await h.call(.get, "/api/v1/card-applications/\(app)", token: h.agent).string("status") == "collected")
            // Find the card by ID number (posted), activate it, and see its history.
            let found = try await b.post("/agent/find", [("by", "id"), ("value", idNumber)])
            #expect(found.html.contains(number) && found.html.contains("application_collected"), "\(found)")
            let activated = try await b.post("/agent/card", [("cardNumber", number), ("action", "activate"), ("pin", "246810")])
            #expect(activated.html.contains(#"data-status="active""#), "\(activated)")
            let full = try await b.post("/agent/person", [("cardNumber", number), ("purpose", "核对身份")])
            #expect(full.html.contains(idNumber))
            #expect(try await h.count("audit_log") > 0)
            for url in b.seenURLs { #expect(!url.contains(idNumber) && !url.contains(number), "\(url)") }
            // Overdue is told in words, not only by colour.
            h.clock.advance(by: Double(h.services.policy.applicationTimeLimitDays + 1) * 86_400)
            let p2 = try await h.createPerson(idNumber: TestIDs.resident(sequence: "556"))
            _ = try await h.apply(person: p2, outlet: outlet)
            h.clock.advance(by: Double(h.services.policy.applicationTimeLimitDays + 1) * 86_400)
            #expect(try await b.get("/agent").html.contains("已超期"))
        }
    }

    @Test(arguments: Engine.available)
    func anAdministratorPublishesACatalogueChangeAndAVenueChecksTokens(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.services.catalogue.seedIfEmpty(by: "test")
            try await h.createBank()
            let admin = PageBrowser(h)
            _ = try await admin.get("/staff/signin")
            _ = try await admin.post("/staff/signin", [("username", "admin"), ("password", "admin-password")])
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
    func anAgentRegistersAPersonAndAppliesAtTheCounterOnTheirBehalf(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let b = try await staff(h, "agent")
            #expect(try await b.get("/agent").html.contains(#"href="/agent/persons/new""#))
            _ = try await b.get("/agent/persons/new")
            // A wrong check digit is refused with the registry's code, and the form keeps what was typed.
            let idNumber = TestIDs.resident(sequence: "321")
            let wrong = String(idNumber.dropLast()) + (idNumber.last == "1" ? "2" : "1")
            let refused = try await b.post("/agent/persons", [("idType", "resident"), ("idNumber", wrong), ("name", "赵志刚"), ("phone", "13800001234")])
            #expect(refused.status == 422 && refused.html.contains("invalid_id_number") && refused.html.contains(#"value="赵志刚""#), "\(refused)")
            #expect((try await h.call(.get, "/api/v1/card-applications", token: h.agent)["applications"] as? [[String: Any]])?.isEmpty == true)
            // Registered: straight on to the application form, for that person, shown masked.
            let registered = try await b.post("/agent/persons", [("idType", "resident"), ("idNumber", idNumber), ("name", "赵志刚"), ("phone", "13800001234"),
                                                                 ("address", "朝阳路 2 号")])
            #expect(registered.status == 200 && registered.html.contains("赵*刚") && !registered.html.contains(idNumber), "\(registered)")
            let personId = try #require(PageReply.first(#"name="personId" value="([0-9a-f-]+)""#, in: registered.html))
            #expect(try await b.post("/agent/persons", [("idType", "resident"), ("idNumber", idNumber), ("name", "赵志刚"), ("phone", "13800001234")])
                .html.contains("person_exists"))
            // The counter application, through the same service as POST /api/v1/card-applications.
            let applied = try await b.post("/agent/apply", [("personId", personId), ("applyOutletId", outlet), ("delivery", "mail"), ("bankCode", "ICBC")])
            #expect(applied.location == "/agent?notice=application_submitted", "\(applied)")
            // validate
            let queue = try await b.get(try #require(applied.location))
            #expect(queue.html.contains("申请已提交") && queue.html.contains("窗口 · 邮寄到家"), "\(queue)")
            let apps = try #require(try await h.call(.get, "/api/v1/card-applications", token: h.agent)["applications"] as? [[String: Any]])
            #expect(apps.count == 1)
            #expect(apps.first?["personId"] as? String == personId && apps.first?["channel"] as? String == "counter"
                && apps.first?["applyOutletId"] as? String == outlet && apps.first?["delivery"] as? String == "mail")
            #expect(try await h.count("audit_log") >= 1)
            // A second application for the same person, found by ID number, is refused on the form with the API's code.
            _ = try await b.get("/agent/apply")
            let again = try await b.post("/agent/apply", [("idNumber", idNumber), ("applyOutletId", outlet), ("delivery", "pickup"), ("pickupOutletId", outlet),
                                                          ("bankCode", "ICBC")])
            #expect(again.status == 409 && again.html.contains("application_in_progress") && again.html.contains("赵*刚"), "\(again)")
            let unknown = try await b.post("/agent/apply", [("idNumber", TestIDs.resident(sequence: "322")), ("applyOutletId", outlet), ("bankCode", "ICBC")])
            #expect(unknown.status == 404 && unknown.html.contains("person_not_found"))
            for url in b.seenURLs { #expect(!url.contains(idNumber), "\(url)") }
            // Only agents and administrators, as for the API.
            let holder = PageBrowser(h)
            _ = try await holder.get("/signin")
            #expect(try await holder.get("/agent/persons/new").location == "/staff/signin")
            #expect(try await holder.post("/agent/persons", [("idType", "resident"), ("idNumber", idNumber)]).location == "/staff/signin")
        }
    }

    @Test(arguments: Engine.available)
    func anAdministratorSuspendsAndTerminatesABankWhoseHoldersMove(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a holder whose card is with ICBC, and a second bank to succeed it
            try await h.createBank("ICBC")
            try await h.createBank("BOC")
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "654"))
            let admin = try await staff(h, "admin")
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
            let agent = try await staff(h, "agent")
            #expect(try await agent.post("/admin/banks/BOC/status", [("status", "suspended")]).status == 403)
            #expect(try await status("BOC") == "active")
        }
    }

    @Test(arguments: Engine.available)
    func aVenueChecksAPhysicalCardByChallengeAndResponse(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a metro gate taking physical cards, and an active card
            try await h.services.catalogue.seedIfEmpty(by: "test")
            try await h.createBank()
            let venue = try await h.call(.post, "/api/v1/venues", token: h.admin, json: [
                "name": "北京地铁", "operatorUscc": CatalogueAndAcceptanceAPITests.uscc(), "type": "transit", "regionCode": "110105", "address": "测试路 1 号",
                "accessibility": [], "unifiedLogo": true, "itemCodes": ["JJJ-TRN-001"],
            ])
            let venueId = try #require(venue.string("venueId"))
            let key = try #require(try await h.call(.post, "/api/v1/venues/\(venueId)/terminals", token: h.admin).string("apiKey"))
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "888"))
            let chip = h.services.chipKeys.key(for: try CardNumber(number))
            func response(_ challenge: String, _ key: SymmetricKey) -> String {
                Data(HMAC<SHA256>.authenticationCode(for: Data(base64Encoded: challenge)!, using: key)).base64EncodedString()
            }
            let gate = PageBrowser(h)
            _ = try await gate.get("/venue")
            _ = try await gate.post("/venue/signin", [("apiKey", key)])
            /// The card form of a fresh page: its challenge and its own Idempotency-Key.
            func cardForm() async throws -> (challenge: String, idem: String) {
                let page = try await gate.get("/venue")
                let form = String(page.html[try #require(page.html.range(of: #"id="card-form""#)).lowerBound...])
                return (try #require(PageReply.first(#"name="challenge" value="([A-Za-z0-9+/=]+)""#, in: form)),
                        try #require(PageReply.first(#"name="idempotencyKey" value="([^"]+)""#, in: form)))
            }
            var (challenge, idem) = try await cardForm()
            #expect(Data(base64Encoded: challenge)?.count == 16)
            #expect(try await cardForm().challenge != challenge, "every page has a fresh challenge")
            // The chip's right answer is accepted; resending the form answers the same and records one use.
            let fields = [("idempotencyKey", idem), ("kind", "card"), ("itemCode", "JJJ-TRN-001"), ("challenge", challenge), ("cardNumber", number),
                          ("response", response(challenge, chip))]
            let accepted = try await gate.post("/venue/accept", fields)
            #expect(accepted.html.contains(#"data-decision="accepted""#) && accepted.html.contains("实体卡"), "\(accepted)")
            #expect(try await gate.post("/venue/accept", fields).html.contains(#"data-decision="accepted""#))
            #expect(try await h.count("uses") == 1)
            // The same challenge again: denied, said as a card's reason.
            (_, idem) = try await cardForm()
            let replayed = try await gate.post("/venue/accept", [("idempotencyKey", idem), ("kind", "card"), ("itemCode", "JJJ-TRN-001"),
                                                                 ("challenge", challenge), ("cardNumber", number), ("response", response(challenge, chip))])
            #expect(replayed.html.contains(#"data-decision="denied""#) && replayed.html.contains("token_replayed") && replayed.html.contains("该挑战数已经使用过"),
                    "\(replayed)")
            // A wrong key (a forged card) is denied in plain words, in English too.
            (challenge, idem) = try await cardForm()
            let forged = try await gate.post("/venue/accept?lang=en", [("idempotencyKey", idem), ("kind", "card"), ("itemCode", "JJJ-TRN-001"),
                                                                       ("challenge", challenge), ("cardNumber", number),
                                                                       ("response", response(challenge, SymmetricKey(size: .bits256)))])
            #expect(forged.html.contains(#"data-decision="denied""#) && forged.html.contains("chip_auth_failed")
                && forged.html.contains("The chip could not be authenticated"), "\(forged)")
            // A malformed answer is a form error, not a decision, and records nothing.
            (challenge, idem) = try await cardForm()
            let bad = try await gate.post("/venue/accept", [("idempotencyKey", idem), ("kind", "card"), ("itemCode", "JJJ-TRN-001"),
                                                            ("challenge", challenge), ("cardNumber", number), ("response", "AA==")])
            #expect(bad.status == 422 && bad.html.contains("invalid_field"))
            // validate
            #expect(try await h.count("uses") == 3)
            for url in gate.seenURLs { #expect(!url.contains(number), "\(url)") }
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
            _ = try await b.get("/signin")
            _ = try await b.post("/signin", [("idNumber", idNumber), ("password", "holder-password")])
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

    @Test(arguments: Engine.available)
    func anyTwoCatalogueVersionsCanBeCompared(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: v1 the seed, v2 adds one item, v3 adds another and withdraws the first
            let catalogue = h.services.catalogue
            try await catalogue.seedIfEmpty(by: "test")
            func item(_ code: String, _ name: String) -> CatalogueItem {
                CatalogueItem(code: code, name: name, domain: .tourism, scenario: "持卡入园", cardForms: [.physical, .electronic], level: .provincial,
                              regions: ["110000"], issuers: ["*"], venueTypes: [.park], legalBasis: "测试依据", effectiveFrom: CalendarDay("2024-01-01")!)
            }
            _ = try await catalogue.draft(item("11-CMP-001", "比较测试甲"), by: "admin")
            _ = try await catalogue.publish(by: "admin")
            _ = try await catalogue.draft(item("11-CMP-002", "比较测试乙"), by: "admin")
            _ = try await catalogue.draftWithdrawal(code: "11-CMP-001", by: "admin")
            _ = try await catalogue.publish(by: "admin")
            let b = PageBrowser(h)
            // The form offers every version, the newest two chosen.
            let list = try await b.get("/catalogue")
            #expect(list.html.contains(#"action="/catalogue/compare""#) && list.html.contains(#"<option value="2" selected>v2</option>"#)
                && list.html.contains(#"<option value="3" selected>v3</option>"#), "\(list)")
            // v1 → v3: only the second item is new (the first came and went).
            let oneToThree = try await b.get("/catalogue/compare?from=1&to=3")
            #expect(oneToThree.status == 200 && oneToThree.html.contains("目录第 1 版与第 3 版的差异"), "\(oneToThree)")
            #expect(oneToThree.html.contains("比较测试乙") && !oneToThree.html.contains("比较测试甲"))
            // v3 → v1 reads the other way; v2 → v3 shows the withdrawal.
            let threeToOne = try await b.get("/catalogue/compare?from=3&to=1")
            #expect(threeToOne.html.contains("比较测试乙") && !threeToOne.html.contains("比较测试甲"))
            let twoToThree = try await b.get("/catalogue/compare?from=2&to=3")
            let withdrawn = try #require(twoToThree.html.range(of: "撤销"))
            #expect(twoToThree.html[withdrawn.lowerBound...].contains("比较测试甲"))
            // validate: the version page is the comparison with the version before
            let (_, v3, diff) = try await catalogue.compare(from: 2, to: 3)
            #expect(v3.version == 3 && diff.added.map(\.code) == ["11-CMP-002"] && diff.withdrawn.map(\.code) == ["11-CMP-001"])
            #expect(try await catalogue.changes(version: 3).1 == diff)
            #expect(try await b.get("/catalogue/compare?from=1&to=9").html.contains("version_not_found"))
            #expect(try await b.get("/catalogue/compare?from=x&to=2").html.contains("invalid_value"))
            #expect(try await staff(h, "admin").get("/admin/catalogue").html.contains(#"action="/catalogue/compare""#))
        }
    }

    @Test(arguments: Engine.available)
    func anAdministratorChangesAnOutletsHoursServicesAndAccessibility(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            let outlet = try await h.createOutlet()
            let b = try await staff(h, "admin")
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
            let agent = try await staff(h, "agent")
            #expect(try await agent.post("/admin/outlets/\(outlet)", [("name", "x"), ("address", "x"), ("hours", "x"), ("services", "apply")]).status == 403)
        }
    }

    // MARK: disbursement

    @Test(arguments: Engine.available)
    func departmentPagesKeepTheApisRolesAndNeedTheCsrfToken(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank()
            _ = try await h.holderWithECard()
            _ = try await h.signedInStaff("dept1", .department)
            _ = try await h.signedInStaff("audit1", .auditor)
            let programme = try await h.programme(try await h.signedInStaff("dept2", .department))
            // Not signed in: to the staff sign-in page.
            #expect(try await PageBrowser(h).get("/department").location == "/staff/signin")
            // A holder and an agent are refused every department page and form, as the API refuses them.
            let holder = PageBrowser(h)
            _ = try await holder.get("/signin")
            _ = try await holder.post("/signin", [("idNumber", TestIDs.resident(sequence: "777")), ("password", "holder-password")])
            let agent = try await staff(h, "agent")
            for b in [holder, agent] {
                for path in ["/department", "/department/programmes/\(programme)"] {
                    let r = try await b.get(path)
                    #expect(r.status == 403 && r.html.contains("forbidden"), "\(path): \(r)")
                }
                _ = try await b.get("/")
                let post = try await b.post("/department/programmes", [("name", "x"), ("kind", "other"), ("department", "d"), ("legalBasis", "b")])
                #expect(post.status == 403, "\(post)")
            }
            // A department user signs in on the staff page, lands on /department and has it in the navigation.
            let dept = PageBrowser(h)
            _ = try await dept.get("/staff/signin")
            let signedIn = try await dept.post("/staff/signin", [("username", "dept1"), ("password", "dept1-password")])
            #expect(signedIn.location == "/department", "\(signedIn)")
            let home = try await dept.get("/department")
            #expect(home.status == 200 && home.html.contains(#"<a href="/department">待遇发放</a>"#) && home.html.contains("耕地地力保护补贴"), "\(home)")
            #expect(try await dept.get("/admin").status == 403)
            // Every form needs the session's CSRF token.
            let forged = try await dept.post("/department/programmes", [("name", "x"), ("kind", "other"), ("department", "d"), ("legalBasis", "b")], csrf: "forged")
            #expect(forged.status == 403 && forged.html.contains("csrf_failed"))
            let noToken = try await dept.post("/department/programmes/\(programme)/batches", [("csv", "idNumber,name,amountFen\n")], csrf: .some(nil))
            #expect(noToken.status == 403 && noToken.html.contains("csrf_failed"))
            #expect(try await h.count("programmes") == 1)
            // An auditor reads a programme but is offered no form, and may not post one.
            let auditor = try await staff(h, "audit1")
            let read = try await auditor.get("/department/programmes/\(programme)")
            #expect(read.status == 200 && !read.html.contains(#"id="upload-form""#), "\(read)")
            #expect(try await auditor.post("/department/programmes/\(programme)/batches", [("csv", "idNumber,name,amountFen\n")]).status == 403)
        }
    }

    @Test(arguments: Engine.available)
    func aDepartmentUploadsACSVWhoseBadLinesAreShownAndASecondPersonApproves(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: two holders with financial cards, two department users
            try await h.createBank("ICBC", endpoint: nil)
            let outlet = try await h.createOutlet()
            let (a, cardA, _) = try await h.payee(1, bank: "ICBC", outlet: outlet)
            let (b, _, _) = try await h.payee(2, bank: "ICBC", outlet: outlet)
            _ = try await h.signedInStaff("dept1", .department)
            _ = try await h.signedInStaff("dept2", .department)
            let dept1 = try await staff(h, "dept1"), dept2 = try await staff(h, "dept2")

            // A programme: a missing field is refused on the form with the API's code; then made.
            _ = try await dept1.get("/department")
            let missing = try await dept1.post("/department/programmes", [("name", "耕地地力保护补贴"), ("kind", "subsidy"), ("department", "农业农村局")])
            #expect(missing.status == 422 && missing.html.contains("invalid_field") && missing.html.contains(#"value="耕地地力保护补贴""#), "\(missing)")
            let made = try await dept1.post("/department/programmes", [("name", "耕地地力保护补贴"), ("kind", "subsidy"), ("department", "农业农村局"),
                                                                        ("legalBasis", "广东省社会保障卡一卡通条例第八条")])
            let programmePath = try #require(made.location)
            #expect(made.status == 303 && programmePath.hasPrefix("/department/programmes/"), "\(made)")
            let programme = String(programmePath.dropFirst("/department/programmes/".count))

            // A CSV whose header is wrong is refused, the text kept in the form.
            let form = try await dept1.get(programmePath)
            #expect(form.html.contains(#"id="upload-form""#) && form.html.contains("idNumber,name,amountFen"))
            let badHeader = try await dept1.post("\(programmePath)/batches", [("csv", "id,name,fen\n\(a),王秀梅,100\n")])
            #expect(badHeader.status == 422 && badHeader.html.contains("invalid_csv_header") && badHeader.html.contains("第一行须为表头"), "\(badHeader)")
            #expect(try await h.count("payment_batches") == 0)

            // The action: two good lines, one whose name does not match, one with two columns.
            _ = try await dept1.get(programmePath)
            let key = try #require(PageReply.first(#"name="uploadKey" value="([^"]+)""#, in: form.html))
            let csv = "idNumber,name,amountFen\r\n\(a),王秀梅,12345\r\n\(b),王秀,500\r\n\(b),王秀梅,20000\r\n\(a),王秀梅\r\n"
            let uploaded = try await dept1.post("\(programmePath)/batches", [("csv", csv), ("uploadKey", key)])
            let batchPath = try #require(uploaded.location?.split(separator: "?").first.map(String.init))
            #expect(uploaded.status == 303 && batchPath.hasPrefix("/department/batches/"), "\(uploaded)")
            let batchId = String(batchPath.dropFirst("/department/batches/".count))
            // The same form sent again (a reload, a double click) gives the same batch, not a second one.
            #expect(try await dept1.post("\(programmePath)/batches", [("csv", csv), ("uploadKey", key)]).location == uploaded.location)
            #expect(try await h.count("payment_batches") == 1)

            // validate: accepted count, each rejected line with its reason in words, totals in yuan, masked accounts
            let page = try await dept1.get(try #require(uploaded.location))
            #expect(page.html.contains("通过 2 行，未通过 2 行"), "\(page)")
            #expect(page.html.contains(#"<tr data-line="2"><td>2</td><td>姓名与登记信息不符。</td><td><code>name_mismatch</code></td></tr>"#), "\(page)")
            #expect(page.html.contains("<code>malformed_line</code>") && page.html.contains("这一行不是三列"))
            #expect(page.html.contains(#"data-batch-status="awaiting_approval""#) && page.html.contains("323.45 元"))
            // (the account a payment goes to is fixed, and shown masked, when it is sent: see the next test)
            #expect(!page.html.contains(try await h.account(cardA)))
            #expect(!page.html.contains(a) && !page.html.contains(b), "ID numbers are masked")
            let english = try await dept1.get("\(batchPath)?lang=en")
            #expect(english.html.contains("The name does not match the registry.") && english.html.contains("323.45 yuan"))
            #expect(try await h.batch(batchId)["status"] as? String == "awaiting_approval")

            // Four eyes: the uploader is refused with the API's code and words; executing first is refused too.
            _ = try await dept1.get(batchPath)
            let same = try await dept1.post("\(batchPath)/approve", [])
            #expect(same.status == 409 && same.html.contains("four_eyes_required") && same.html.contains("上传人不能审批自己上传的批次"), "\(same)")
            let early = try await dept1.post("\(batchPath)/execute", [])
            #expect(early.status == 409 && early.html.contains("batch_not_approved"), "\(early)")
            #expect(try await h.batch(batchId)["status"] as? String == "awaiting_approval")
            // A second person approves.
            _ = try await dept2.get(batchPath)
            let approved = try await dept2.post("\(batchPath)/approve", [])
            #expect(approved.location == "\(batchPath)?notice=batch_approved", "\(approved)")
            let approvedBatch = try await h.batch(batchId)
            #expect(approvedBatch["status"] as? String == "approved" && approvedBatch["approvedBy"] as? String == "department:dept2", "\(approvedBatch)")
            let after = try await dept2.get(try #require(approved.location))
            #expect(after.html.contains(#"id="execute-form""#) && !after.html.contains(#"id="approve-form""#))
            // Execute: the API's 202, here a redirect to the batch, which is now executing.
            let executed = try await dept2.post("\(batchPath)/execute", [])
            #expect(executed.location == "\(batchPath)?notice=batch_executing", "\(executed)")
            #expect(try await h.batch(batchId)["status"] as? String == "executing")
            #expect(try await h.call(.get, "/api/v1/batches/nope", token: h.admin).code == "batch_not_found")
            #expect(try await dept2.get("/department/batches/nope").status == 404)
            let audit = try await h.services.store.read { s in
                try await s.db.raw("SELECT action FROM audit_log WHERE subject = \(bind: "batch:\(batchId)") ORDER BY seq").all().map { try $0.decode(column: "action", as: String.self) }
            }
            #expect(audit == ["batch_uploaded", "batch_approved", "batch_executed"])
            // No personal data in any URL the pages used or offered.
            for url in dept1.seenURLs + dept2.seenURLs { #expect(!url.contains(a) && !url.contains(b), "\(url)") }
        }
    }

    @Test(arguments: Engine.available)
    func aBatchPaysThroughTheBankAndTheHolderSeesThePaymentAndTheNotice(_ engine: Engine) async throws {
        try await BanksAndPayees.run(engine) { f in
            // setup: a stays with ICBC, b moves to CCB after the upload, c's account is closed at the bank
            let h = f.h, icbc = f.sim("ICBC")
            let a = f.payees[0], b = f.payees[1], c = f.payees[2]
            let programme = try await h.programme(try await h.signedInStaff("dept1", .department))
            _ = try await h.signedInStaff("dept2", .department)
            let dept1 = try await staff(h, "dept1"), dept2 = try await staff(h, "dept2")
            _ = try await dept1.get("/department/programmes/\(programme)")
            let csv = "idNumber,name,amountFen\n\(a.idNumber),王秀梅,10000\n\(b.idNumber),王秀梅,20000\n\(c.idNumber),王秀梅,30001\n"
            let batchPath = try #require(try await dept1.post("/department/programmes/\(programme)/batches", [("csv", csv)]).location?
                .split(separator: "?").first.map(String.init))
            _ = try await dept2.get(batchPath)
            _ = try await dept2.post("\(batchPath)/approve", [])
            #expect(try await h.call(.post, "/api/v1/cards/\(b.card)/bank", token: b.token, json: ["bankCode": "CCB", "accountNumber": "6227000011112222333"]).status == 200)
            _ = try await HTTPClient1().send("POST", icbc.url + "/accounts/\(try await h.account(c.card))/close")

            // the action: execute on the page; the executor pays through the bank-sims
            _ = try await dept2.get(batchPath)
            #expect(try await dept2.post("\(batchPath)/execute", []).status == 303)
            let batchId = String(batchPath.dropFirst("/department/batches/".count))
            #expect(try await h.executor.drain(batchId) == .completed)

            // validate: the batch page's counts and totals, and the retry it now offers
            let page = try await dept1.get(batchPath)
            #expect(page.html.contains(#"data-batch-status="completed""#), "\(page)")
            #expect(page.html.contains(#"<tr data-total="ps_paid"><th scope="row">已到账</th><td>2</td><td>300.00 元</td></tr>"#), "\(page)")
            #expect(page.html.contains(#"<tr data-total="ps_returned"><th scope="row">已退回</th><td>1</td><td>300.01 元</td></tr>"#))
            #expect(page.html.contains(#"id="retry-form""#) && page.html.contains("银行账户已销户，款项被退回"))
            let aAccount = try await h.account(a.card)
            #expect(!page.html.contains(aAccount) && page.html.contains("ICBC <code>\(Mask.account(aAccount))</code>"), "\(page)")
            // The holder whose account changed sees the payment and the notice in words; the one whose account closed, why.
            for (holder, kind, words) in [(b, "account_changed", "已发放至您变更后的银行账户"), (c, "payment_returned", "款项被退回")] {
                let me = PageBrowser(h)
                _ = try await me.get("/signin")
                _ = try await me.post("/signin", [("idNumber", holder.idNumber), ("password", "holder-password-1")])
                #expect(try await me.get("/me").html.contains(#"href="/me/payments""#))
                let mine = try await me.get("/me/payments")
                #expect(mine.status == 200 && mine.html.contains(#"<li data-kind="\#(kind)"><strong>\#(words)"#), "\(mine)")
                #expect(mine.html.contains("耕地地力保护补贴"))
                for url in me.seenURLs { #expect(!url.contains(holder.idNumber), "\(url)") }
            }
            let bBrowser = PageBrowser(h)
            _ = try await bBrowser.get("/signin")
            _ = try await bBrowser.post("/signin", [("idNumber", b.idNumber), ("password", "holder-password-1")])
            let bPage = try await bBrowser.get("/me/payments?lang=en")
            #expect(bPage.html.contains("200.00 yuan") && bPage.html.contains(#"data-state="paid""#) && bPage.html.contains("CCB <code>***************2333</code>"), "\(bPage)")
            #expect(!bPage.html.contains("6227000011112222333"))
            #expect(bPage.html.contains("200.00 yuan of “耕地地力保护补贴” was paid to your new bank account (CCB ***************2333)."), "\(bPage)")
            // c gets a new account; the department retries on the page and c is paid once, to it.
            #expect(try await h.call(.post, "/api/v1/cards/\(c.card)/bank", token: h.agent, json: ["bankCode": "ICBC", "accountNumber": "6222000099998888777"]).status == 200)
            #expect(try await dept1.post("\(batchPath)/retry", []).location == "\(batchPath)?notice=batch_retried")
            #expect(try await h.executor.drain(batchId) == .completed)
            #expect(try await h.counts(batchId) == ["pending": 0, "sent": 0, "paid": 3, "failed": 0, "returned": 0])
            #expect(try await BankSimulator.credits(icbc.store).map(\.amountFen) == [10_000, 30_001])
            #expect(!(try await dept1.get(batchPath)).html.contains(#"id="retry-form""#))
        }
    }

    @Test func everyDisbursementCodeHasWordsInBothLanguages() {
        let keys = ProgrammeKind.allCases.map { "pk_\($0.rawValue)" } + BatchStatus.allCases.map { "bs_\($0.rawValue)" }
            + PaymentState.allCases.map { "ps_\($0.rawValue)" }
            + ["malformed_line", "invalid_amount", "amount_too_large", "invalid_name", "invalid_id_number", "person_not_found", "name_mismatch",
               "deceased", "no_card", "no_financial_account", "duplicate_line"].map { "line_\($0)" }
            + ["no_card", "no_financial_account", "unknown_bank", "bank_not_connected", "account_closed", "bank_rejected"].map { "payfail_\($0)" }
            + ["account_changed", "payment_failed", "payment_returned", "bank_migrated", "bank_terminated"].flatMap { ["notice_\($0)", "notice_\($0)_text"] }
            + ["four_eyes_required", "batch_not_approved", "batch_not_executed", "batch_not_found", "programme_not_found", "upload_in_progress",
               "invalid_csv_header", "empty_batch"].map { "err_\($0)" }
        let missing = keys.filter { Messages.zh[$0] == nil || Messages.en[$0] == nil }
        #expect(missing.isEmpty, "\(missing)")
    }

    @Test func aNoticeIsPutIntoWordsInTheReadersLanguageWithItsParameters() {
        // setup: a failed payment and a terminated bank, as the executor and the bank service store them
        let failed = ["programme": "耕地地力保护补贴", "amountFen": "30001", "reason": "account_closed"]
        let terminated = ["bankName": "工商银行", "bankCode": "ICBC", "chooseBy": "2026-03-01T04:00:00Z", "successorName": "建设银行", "successorCode": "CCB"]
        // validate: every parameter in its place, the reason and the date in words
        #expect(Messages.notice("payment_failed", failed, .zh) == "「耕地地力保护补贴」300.01元未能发放（\(Messages.zh["payfail_account_closed"]!)），待原因排除后重新发放。")
        #expect(Messages.notice("payment_failed", failed, .en)
            == "300.01 yuan of “耕地地力保护补贴” could not be paid (\(Messages.en["payfail_account_closed"]!)); it will be paid once the cause is removed.")
        let zh = Messages.notice("bank_terminated", terminated, .zh), en = Messages.notice("bank_terminated", terminated, .en)
        #expect(zh.hasPrefix("您的社保卡合作银行工商银行（ICBC）已终止合作。请在2026-03-01 12:00前") && zh.contains("建设银行（CCB）"), "\(zh)")
        #expect(en.hasPrefix("Your card's bank 工商银行 (ICBC) has ended") && en.contains("before 2026-03-01 12:00") && en.contains("建设银行 (CCB)"), "\(en)")
        #expect(!zh.contains("{") && !en.contains("{"))
        // A notice stored as text before notices had parameters is shown as it was written.
        #expect(Messages.notice("payment_returned", ["text": "旧的通知"], .en) == "旧的通知")
        // The API's language: Chinese unless Accept-Language prefers English.
        #expect([nil, "zh-CN,en;q=0.8", "en;q=0.3, zh;q=0.7", "fr", "*"].map { Lang(acceptLanguage: $0) } == [.zh, .zh, .zh, .zh, .zh])
        #expect(["en-GB,en;q=0.9", "fr, en;q=0.5", "en, zh"].map { Lang(acceptLanguage: $0) } == [.en, .en, .en])
    }

    @Test func everyMessageATemplateOrPageNamesExists() throws {
        // setup: the page sources next to this test's package
        let pages = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/OneCardServer/Pages").standardized
        let templates = try FileManager.default.contentsOfDirectory(at: pages.appendingPathComponent("Templates"), includingPropertiesForKeys: nil)
        let swift = try FileManager.default.contentsOfDirectory(at: pages, includingPropertiesForKeys: nil).filter { $0.pathExtension == "swift" }
        #expect(templates.count > 30 && swift.count > 5)
        var missing: [String] = []
        var checked = 0
        for (files, pattern) in [(templates, #"\{\{t\.([a-z0-9_]+)\}\}"#), (swift, #"context\.t\("([a-z0-9_]+)"\)"#)] {
            let regex = try NSRegularExpression(pattern: pattern)
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                for m in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    let key = String(text[Range(m.range(at: 1), in: text)!])
                    checked += 1
                    // validate: in both languages
                    if Messages.zh[key] == nil || Messages.en[key] == nil { missing.append("\(file.lastPathComponent): \(key)") }
                }
            }
        }
        #expect(checked > 300 && missing.isEmpty, "\(checked) checked; missing: \(missing)")
    }

    /// A browser with the harness's `admin` or `agent` signed in.
    func staff(_ h: Harness, _ username: String) async throws -> PageBrowser {
        let b = PageBrowser(h)
        _ = try await b.get("/staff/signin")
        _ = try await b.post("/staff/signin", [("username", username), ("password", "\(username)-password")])
        return b
    }
}
