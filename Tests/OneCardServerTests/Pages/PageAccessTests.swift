import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Pages: sign-in, the CSRF token and the API's roles")
struct PageAccessTests {
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
            // setup: a holder with an e-card
            try await h.createBank()
            _ = try await h.holderWithECard()
            let anonymous = PageBrowser(h)
            #expect(try await anonymous.get("/me").location == "/signin")
            #expect(try await anonymous.get("/agent").location == "/staff/signin")
            #expect(try await anonymous.get("/admin/catalogue").location == "/staff/signin")
            let holder = PageBrowser(h)
            #expect(try await holder.signIn(holder: TestIDs.resident(sequence: "777")).location == "/me")
            for path in ["/agent", "/admin", "/admin/users"] {
                let r = try await holder.get(path)
                #expect(r.status == 403 && r.html.contains("forbidden"), "\(path): \(r)")
            }
            let agent = PageBrowser(h)
            #expect(try await agent.signIn(staff: "agent").location == "/agent")
            #expect(try await agent.get("/agent").status == 200)
            #expect(try await agent.get("/admin/venues").status == 403)
            #expect(try await agent.get("/me").status == 403)
            // A forged session cookie is dropped, not trusted.
            let forged = PageBrowser(h)
            forged.cookies["onecard_session"] = "eyJhbGciOiJIUzI1NiJ9.e30.forged"
            #expect(try await forged.get("/me").location == "/signin")
        }
    }
}
