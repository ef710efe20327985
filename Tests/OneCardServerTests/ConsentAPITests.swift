import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Consents (PIPL): given, listed and withdrawn by the holder, kept after withdrawal")
struct ConsentAPITests {
    @Test(arguments: Engine.available)
    func aHolderGivesListsAndWithdrawsConsents(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (holder, person, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "651"))
            let (other, _, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "652"))

            let given = try await h.call(.post, "/api/v1/me/consents", token: holder, json: ["purpose": "elicence_check"])
            #expect(given.status == 201 && given["inForce"] as? Bool == true, "\(given)")
            let id = try #require(given.string("consentId"))
            let family = try await h.call(.post, "/api/v1/me/consents", token: holder, json: ["purpose": "family_service", "grantee": "王小明"])
            #expect(family.string("grantee") == "王小明")
            #expect(try await h.call(.post, "/api/v1/me/consents", token: holder, json: ["purpose": "marketing"]).code == "invalid_value")
            #expect(try await h.call(.post, "/api/v1/me/consents", token: holder, json: ["purpose": "record_share", "grantee": " "]).code == "invalid_field")
            #expect(try await h.call(.post, "/api/v1/me/consents", token: h.agent, json: ["purpose": "elicence_check"]).status == 403)

            // Another holder cannot withdraw it; the holder can, once; it stays listed with when.
            #expect(try await h.call(.delete, "/api/v1/me/consents/\(id)", token: other).code == "consent_not_found")
            let withdrawn = try await h.call(.delete, "/api/v1/me/consents/\(id)", token: holder)
            #expect(withdrawn.status == 200 && withdrawn["inForce"] as? Bool == false && withdrawn.string("withdrawnAt") != nil, "\(withdrawn)")
            #expect(try await h.call(.delete, "/api/v1/me/consents/\(id)", token: holder).code == "consent_withdrawn")
            let list = try await h.call(.get, "/api/v1/me/consents", token: holder)["consents"] as? [[String: Any]] ?? []
            #expect(list.count == 2 && list.filter { $0["inForce"] as? Bool == true }.count == 1, "\(list)")
            #expect((try await h.call(.get, "/api/v1/me/consents", token: other)["consents"] as? [Any])?.isEmpty == true)

            // The rule the processing asks: in force now, not after withdrawal; every step audited.
            let allows = try await h.services.store.read { s in
                try await ConsentService.allows(Person.ID(person), .elicenceCheck, at: h.clock.read(), in: s)
            }
            #expect(!allows)
            let actions = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }.map(\.action)
            #expect(actions.filter { $0 == "consent_granted" }.count == 2 && actions.contains("consent_withdrawn"))
        }
    }
}

@Suite("The holder's consents page")
struct ConsentPagesTests {
    @Test(arguments: Engine.available)
    func aHolderGivesAndWithdrawsAConsentOnThePage(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let idNumber = TestIDs.resident(sequence: "653")
            _ = try await h.holderWithCard(idNumber: idNumber)
            let b = PageBrowser(h)
            try await b.signIn(holder: idNumber)
            let empty = try await b.get("/me/consents")
            #expect(empty.status == 200 && empty.html.contains(#"id="consents-none""#), "\(empty)")
            #expect(try await b.post("/me/consents", [("purpose", "elicence_check"), ("grantee", "")]).status == 303)
            let given = try await b.get("/me/consents")
            let id = try #require(PageReply.first(#"data-consent="([^"]+)""#, in: given.html))
            #expect(given.html.contains("/me/consents/\(id)/withdraw"))
            #expect(try await b.post("/me/consents/\(id)/withdraw", []).status == 303)
            #expect(!(try await b.get("/me/consents").html.contains("/me/consents/\(id)/withdraw")))
        }
    }
}
