import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("The holder's rights (PIPL): correction and deletion requests decided by an agent by a deadline; retention")
struct PrivacyAPITests {
    @Test(arguments: Engine.available)
    func aCorrectionIsDecidedByAnAgentAndChangesThePersonRecord(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (holder, person, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "661"))
            let (other, _, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "662"))

            let asked = try await h.call(.post, "/api/v1/me/data-requests", token: holder,
                                         json: ["kind": "correction", "field": "phone", "value": "13912345678", "reason": "我换了号码"])
            #expect(asked.status == 201 && asked.string("status") == "open" && asked.string("value") == "13912345678", "\(asked)")
            let id = try #require(asked.string("requestId"))
            // Received 2026-11-18 (a Wednesday): 15 working days later is 2026-12-09, 24:00 China Standard Time.
            #expect(asked.string("dueAt") == "2026-12-09T16:00:00Z", "\(asked)")

            // Bad requests change nothing.
            #expect(try await h.call(.post, "/api/v1/me/data-requests", token: holder, json: ["kind": "deletion", "field": "name", "reason": "x"]).code == "not_deletable")
            #expect(try await h.call(.post, "/api/v1/me/data-requests", token: holder, json: ["kind": "correction", "field": "phone", "reason": "x"]).code == "value_required")
            #expect(try await h.call(.post, "/api/v1/me/data-requests", token: holder, json: ["kind": "correction", "field": "phone", "value": "abc", "reason": "x"]).code == "value_invalid")
            #expect(try await h.call(.post, "/api/v1/me/data-requests", token: holder, json: ["kind": "erase", "field": "phone", "reason": "x"]).code == "invalid_value")
            #expect(try await h.call(.post, "/api/v1/me/data-requests", token: holder,
                                     json: ["kind": "deletion", "field": "other", "value": String(repeating: "x", count: 201), "reason": "x"]).code == "invalid_field")
            #expect(try await h.call(.post, "/api/v1/me/data-requests", token: h.agent, json: ["kind": "deletion", "field": "address", "reason": "x"]).status == 403)
            #expect((try await h.call(.get, "/api/v1/me/data-requests", token: holder)["requests"] as? [Any])?.count == 1)
            #expect((try await h.call(.get, "/api/v1/me/data-requests", token: other)["requests"] as? [Any])?.isEmpty == true)

            // The queue shows no personal data; reading one is audited.
            let queue = try await h.call(.get, "/api/v1/data-requests?status=open", token: h.agent)["requests"] as? [[String: Any]] ?? []
            #expect(queue.count == 1 && queue[0]["value"] == nil && queue[0]["reason"] == nil, "\(queue)")
            let read = try await h.call(.get, "/api/v1/data-requests/\(id)", token: h.agent)
            #expect(read.string("reason") == "我换了号码")
            #expect(try await h.call(.get, "/api/v1/data-requests/nope", token: h.agent).code == "data_request_not_found")
            #expect(try await h.call(.get, "/api/v1/data-requests/\(id)", token: holder).status == 403)

            // A refusal needs its reasons; a grant changes the record at once, once.
            #expect(try await h.call(.post, "/api/v1/data-requests/\(id)/decide", token: h.agent, json: ["outcome": "refused"]).code == "note_required")
            let done = try await h.call(.post, "/api/v1/data-requests/\(id)/decide", token: h.agent, json: ["outcome": "done", "note": "已核对"])
            #expect(done.status == 200 && done.string("status") == "done", "\(done)")
            #expect(try await h.call(.post, "/api/v1/data-requests/\(id)/decide", token: h.agent, json: ["outcome": "refused", "note": "x"]).code == "request_decided")
            let stored = try await h.services.store.read { try await $0.persons.find(Person.ID(person)) }
            #expect(stored?.phone == "13912345678")
            let actions = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }.map(\.action)
            for a in ["data_request_submitted", "data_request_read", "person_corrected", "data_request_decided"] { #expect(actions.contains(a), "\(a): \(actions)") }
        }
    }

    @Test(arguments: Engine.available)
    func aDeletionOfTheAddressIsGrantedAndARefusalSaysWhy(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (holder, person, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "663"))
            let deletion = try await h.call(.post, "/api/v1/me/data-requests", token: holder, json: ["kind": "deletion", "field": "address", "reason": "不再需要"])
            let other = try await h.call(.post, "/api/v1/me/data-requests", token: holder, json: ["kind": "deletion", "field": "other", "reason": "删除我的用卡记录"])
            _ = try await h.call(.post, "/api/v1/data-requests/\(try #require(deletion.string("requestId")))/decide", token: h.agent, json: ["outcome": "done"])
            let refused = try await h.call(.post, "/api/v1/data-requests/\(try #require(other.string("requestId")))/decide", token: h.agent,
                                           json: ["outcome": "refused", "note": "用卡记录依法保存五年"])
            #expect(refused.string("status") == "refused" && refused.string("note") == "用卡记录依法保存五年", "\(refused)")
            #expect(try await h.services.store.read { try await $0.persons.find(Person.ID(person)) }?.address == nil)
            let mine = try await h.call(.get, "/api/v1/me/data-requests", token: holder)["requests"] as? [[String: Any]] ?? []
            #expect(Set(mine.compactMap { $0["status"] as? String }) == ["done", "refused"], "\(mine)")
            // Overdue: open past the deadline only.
            _ = try await h.call(.post, "/api/v1/me/data-requests", token: holder, json: ["kind": "correction", "field": "name", "value": "张三", "reason": "错字"])
            h.clock.advance(by: 40 * 86_400)
            let overdue = try await h.call(.get, "/api/v1/data-requests?overdue=true", token: h.agent)["requests"] as? [[String: Any]] ?? []
            #expect(overdue.count == 1 && overdue[0]["overdue"] as? Bool == true, "\(overdue)")
        }
    }

    @Test(arguments: Engine.available)
    func retentionDeletesAndAnonymisesOnlyWhatExpiredAndAuditsIt(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (holder, person, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "664"))
            let consent = try await h.call(.post, "/api/v1/me/consents", token: holder, json: ["purpose": "elicence_check"])
            _ = try await h.call(.delete, "/api/v1/me/consents/\(try #require(consent.string("consentId")))", token: holder)
            _ = try await h.call(.post, "/api/v1/me/consents", token: holder, json: ["purpose": "family_service"])
            let now = h.clock.read()
            // A use four years old and one six years old (the preset keeps uses five years).
            for (id, age) in [("u-recent", 4.0), ("u-old", 6.0)] {
                try await h.services.store.write { s in
                    try await s.db.raw("""
                        INSERT INTO uses (id, terminal_id, idempotency_key, venue_id, item_code, kind, decision, card_number, person_id, cross_region,
                                          charged_fen, disclosed, at, response, recorded_at)
                        VALUES (\(bind: id), 't', \(bind: id), 'v', 'i', 'acceptance', 'accepted', '1', \(bind: person), 0, 0, '{}',
                                \(bind: Timestamp.millis(now.addingTimeInterval(-age * 365 * 86_400))), '{"x":1}', \(bind: Timestamp.millis(now)))
                        """).run()
                }
            }
            #expect(try await h.call(.post, "/api/v1/retention/run", token: h.agent).status == 403)
            var rules = try await h.call(.post, "/api/v1/retention/run", token: h.admin)["rules"] as? [[String: Any]] ?? []
            #expect(rules.first { $0["record"] as? String == "uses" }?["affected"] as? Int == 1, "\(rules)")
            #expect(rules.first { $0["record"] as? String == "withdrawn_consents" }?["affected"] as? Int == 0, "\(rules)")
            let uses = try await h.services.store.read { s in
                try await s.db.raw("SELECT id, person_id FROM uses WHERE id IN ('u-recent', 'u-old') ORDER BY id").all()
                    .map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "person_id", as: String?.self)) }
            }
            #expect(uses.map(\.0) == ["u-old", "u-recent"] && uses[0].1 == nil && uses[1].1 == person, "\(uses)")

            // Three years and a day after the withdrawal the withdrawn consent goes; the one in force stays.
            h.clock.advance(by: (3 * 365 + 1) * 86_400)
            let admin = try await h.signedInStaff("admin2", .admin)  // the first session has long expired
            rules = try await h.call(.post, "/api/v1/retention/run", token: admin)["rules"] as? [[String: Any]] ?? []
            #expect(rules.first { $0["record"] as? String == "withdrawn_consents" }?["affected"] as? Int == 1, "\(rules)")
            #expect(rules.first { $0["record"] as? String == "uses" }?["totalAffected"] as? Int == 2, "\(rules)")
            let left = try await h.services.store.read { try await $0.consents.list(personId: Person.ID(person)) }
            #expect(left.map(\.purpose) == [.familyService], "\(left)")
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "retention:withdrawn_consents") }
            #expect(audited.count == 1 && audited[0].action == "retention_applied")
            let listed = try await h.call(.get, "/api/v1/retention", token: try await h.signedInStaff("auditor2", .auditor))
            #expect((listed["rules"] as? [Any])?.count == PrivacyPolicy.preset.retention.count, "\(listed)")
        }
    }
}

@Suite("The data request pages: the holder asks, the agent decides; the retention page")
struct PrivacyPagesTests {
    @Test(arguments: Engine.available)
    func aHolderAsksAndAnAgentGrantsOnThePages(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let idNumber = TestIDs.resident(sequence: "665")
            let (_, person, _) = try await h.holderWithCard(idNumber: idNumber)
            let b = PageBrowser(h)
            try await b.signIn(holder: idNumber)
            #expect(try await b.get("/me/data-requests").html.contains(#"id="dr-none""#))
            #expect(try await b.post("/me/data-requests", [("kind", "correction"), ("field", "address"), ("value", "北京市东城区1号"), ("reason", "搬家了")]).status == 303)
            let mine = try await b.get("/me/data-requests")
            let id = try #require(PageReply.first(#"data-request="([^"]+)""#, in: mine.html))

            let agent = PageBrowser(h)
            _ = try await agent.signIn(staff: "agent")
            #expect(try await agent.get("/agent/data-requests").html.contains("/agent/data-requests/\(id)"))
            let one = try await agent.get("/agent/data-requests/\(id)")
            #expect(one.status == 200 && one.html.contains("搬家了"), "\(one)")
            #expect(try await agent.post("/agent/data-requests/\(id)/decide", [("outcome", "done"), ("note", "")]).status == 303)
            #expect(try await h.services.store.read { try await $0.persons.find(Person.ID(person)) }?.address == "北京市东城区1号")
            #expect(!(try await agent.get("/agent/data-requests/\(id)").html.contains("/decide")))

            let admin = PageBrowser(h)
            _ = try await admin.signIn(staff: "admin")
            let page = try await admin.get("/admin/retention")
            #expect(page.status == 200 && page.html.contains(#"data-record="withdrawn_consents""#), "\(page)")
            #expect(try await admin.post("/admin/retention/run", []).status == 303)
        }
    }
}
