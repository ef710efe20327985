import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Public pages: languages, the guide, outlets, the catalogue and its versions, friendly errors")
struct PublicPagesTests {
    @Test(arguments: Engine.available)
    func publicPagesInChineseAndEnglish(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: the seed catalogue and one outlet
            try await h.seedCatalogue()
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
    func anyTwoCatalogueVersionsCanBeCompared(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: v1 the seed, v2 adds one item, v3 adds another and withdraws the first
            let catalogue = h.services.catalogue
            try await h.seedCatalogue()
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
            #expect(try await PageBrowser.signedIn(h, staff: "admin").get("/admin/catalogue").html.contains(#"action="/catalogue/compare""#))
        }
    }
}
