import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Agent pages: registering a person, the counter application and its steps to collection")
struct AgentPagesTests {
    @Test(arguments: Engine.available)
    func anAgentTakesAnApplicationFromSubmittedToCollected(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a submitted application and the agent signed in
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let idNumber = TestIDs.resident(sequence: "555")
            let person = try await h.createPerson(idNumber: idNumber)
            let app = try #require(try await h.apply(person: person, outlet: outlet).string("applicationId"))
            let b = PageBrowser(h)
            try await b.signIn(staff: "agent")
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
    func anAgentRegistersAPersonAndAppliesAtTheCounterOnTheirBehalf(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let b = try await PageBrowser.signedIn(h, staff: "agent")
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
}
