import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// Complaints end to end over HTTP: lodged from a use, deadlines in working days, assigned, answered, rated,
/// reopened once, every step an event and an audit record; a deadline in a year the calendar lacks is provisional
/// until an administrator loads the year.
@Suite("Complaints over HTTP: deadlines, assignment, answers, ratings, reopening, the holiday calendar")
struct ComplaintsAPITests {
    @Test(arguments: Engine.available)
    func aHolderComplainsAboutAUseAndTheComplaintIsReopenedOnceThenClosed(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a holder whose card was used at a Tianjin library, and a department user
            try await h.seedCatalogue()
            try await h.createBank()
            let (venueId, library) = try await h.createVenue(type: "library", region: "120101", items: ["JJJ-LIB-001"], name: "天津图书馆")
            let (holder, _, _) = try await h.holderWithECard()
            let use = try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": try await h.qrToken(holder)])
            let useId = try #require(use.string("useId"), "\(use)")
            _ = try await h.services.createStaffUser(username: "tj-culture", password: "department-password", role: .department)
            let department = try await h.services.accounts.staffToken(username: "tj-culture", password: "department-password").accessToken

            // action: the holder lodges a complaint about that use (received Wed 2026-11-18 19:06 CST)
            let lodged = try await h.call(.post, "/api/v1/me/complaints", token: holder, json: [
                "kind": "complaint", "topic": "card_refused", "channel": "online", "summary": "工作人员要求出示身份证", "useId": useId,
            ])
            // validate: 15 working days after the day of receipt: Thu 2026-12-09 24:00 CST
            #expect(lodged.status == 201, "\(lodged)")
            #expect(lodged.string("status") == "open" && lodged.string("dueAt") == "2026-12-09T16:00:00Z", "\(lodged)")
            let id = try #require(lodged.string("complaintId"))
            let mine = try await h.call(.get, "/api/v1/me/complaints", token: holder)
            let first = try #require((mine["complaints"] as? [[String: Any]])?.first)
            #expect(first["venueId"] as? String == venueId && first["useId"] as? String == useId && first["overdue"] as? Bool == false)

            // assign → answer → unsatisfied (reopened, same assignee) → answer again → unsatisfied again (closed)
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/assign", token: h.agent, json: ["to": "nobody"]).code == "assignee_not_found")
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/assign", token: h.agent, json: ["to": "tj-culture"]).string("status") == "assigned")
            #expect(try await h.call(.post, "/api/v1/me/complaints/\(id)/rate", token: holder, json: ["satisfied": true]).code == "invalid_transition")
            h.clock.advance(by: 86_400)
            let answered = try await h.call(.post, "/api/v1/complaints/\(id)/answer", token: department, json: ["text": "已责令改正，向您致歉"])
            #expect(answered.string("status") == "answered", "\(answered)")
            let reopened = try await h.call(.post, "/api/v1/me/complaints/\(id)/rate", token: holder, json: ["satisfied": false])
            #expect(reopened.string("status") == "reopened" && reopened.string("assignee") == "tj-culture", "\(reopened)")
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/answer", token: department, json: ["text": "已当面致歉并培训"]).string("status") == "answered")
            let closed = try await h.call(.post, "/api/v1/me/complaints/\(id)/rate", token: holder, json: ["satisfied": false])
            #expect(closed.string("status") == "closed" && closed["satisfied"] as? Bool == false, "\(closed)")

            // validate: every step is an event, in order, and audited
            let detail = try await h.call(.get, "/api/v1/complaints/\(id)", token: h.agent)
            let types = (detail["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(types == ["lodged", "assigned", "answered", "rated", "reopened", "answered", "rated", "closed"], "\(types)")
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "complaint:\(id)") }.map(\.action)
            #expect(audited.count == 6 && audited.first == "complaint_closed" && audited.last == "complaint_lodged", "\(audited)")
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/answer", token: h.agent, json: ["text": "再答"]).code == "invalid_transition")
        }
    }

    @Test(arguments: Engine.available)
    func refusalsChangeNothing(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: two holders; one's use
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, library) = try await h.createVenue(type: "library", region: "120101", items: ["JJJ-LIB-001"])
            let (alice, _, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "771"))
            let (bob, _, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "772"))
            let use = try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": try await h.qrToken(alice)])
            let useId = try #require(use.string("useId"))
            let body: [String: Any] = ["kind": "complaint", "topic": "card_refused", "channel": "online", "summary": "被拒"]

            // action and validate
            #expect(try await h.call(.post, "/api/v1/me/complaints", token: bob, json: body.merging(["useId": useId]) { _, b in b }).code == "use_not_found")
            #expect(try await h.call(.post, "/api/v1/me/complaints", token: bob, json: body.merging(["kind": "gripe"]) { _, b in b }).code == "invalid_field")
            #expect(try await h.call(.post, "/api/v1/me/complaints", token: bob, json: body.merging(["venueId": "nope"]) { _, b in b }).code == "venue_not_found")
            #expect(try await h.call(.post, "/api/v1/complaints", token: h.agent,
                                     json: body.merging(["channel": "12345", "receivedAt": "2027-01-01T00:00:00Z"]) { _, b in b }).code == "invalid_received_at")
            #expect(try await h.call(.post, "/api/v1/complaints", token: alice, json: body).status == 403)
            #expect(try await h.count("complaints") == 0)
            let aliceOwn = try await h.call(.post, "/api/v1/me/complaints", token: alice, json: body.merging(["useId": useId]) { _, b in b })
            let id = try #require(aliceOwn.string("complaintId"))
            #expect(try await h.call(.get, "/api/v1/me/complaints/\(id)", token: bob).code == "complaint_not_found")
            #expect(try await h.call(.post, "/api/v1/me/complaints/\(id)/rate", token: bob, json: ["satisfied": true]).code == "complaint_not_found")
            let bobs = try await h.call(.get, "/api/v1/me/complaints", token: bob)
            #expect((bobs["complaints"] as? [Any])?.isEmpty == true, "\(bobs)")
        }
    }

    @Test(arguments: Engine.available)
    func overdueItemsAreListedAndAnAgentAnswersAtOnce(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a consultation taken on 12333 (3 working days: Mon 2026-11-23 24:00 CST) and a complaint
            let consultation = try await h.call(.post, "/api/v1/complaints", token: h.agent, json: [
                "kind": "consultation", "topic": "card", "channel": "12333", "summary": "异地如何补卡",
            ])
            #expect(consultation.string("dueAt") == "2026-11-23T16:00:00Z", "\(consultation)")
            let complaint = try await h.call(.post, "/api/v1/complaints", token: h.agent, json: [
                "kind": "complaint", "topic": "service_quality", "channel": "12345", "summary": "窗口排队过长",
            ])
            let (cid, kid) = (try #require(consultation.string("complaintId")), try #require(complaint.string("complaintId")))

            // action: six days pass (Tue 2026-11-24 CST)
            h.clock.advance(by: 6 * 86_400)
            // validate: only the consultation is overdue; answering late keeps it overdue
            let overdue = try await h.call(.get, "/api/v1/complaints?overdue=true", token: h.agent)
            #expect((overdue["complaints"] as? [[String: Any]])?.compactMap { $0["complaintId"] as? String } == [cid], "\(overdue)")
            #expect(try await h.call(.post, "/api/v1/complaints/\(cid)/answer", token: h.agent, json: ["text": "请到任一网点"]).string("status") == "answered")
            #expect(try await h.call(.post, "/api/v1/complaints/\(cid)/rate", token: h.agent, json: ["satisfied": true]).string("status") == "closed")
            let stillLate = try await h.call(.get, "/api/v1/complaints?overdue=true", token: h.agent)
            #expect((stillLate["complaints"] as? [[String: Any]])?.first?["overdue"] as? Bool == true)
            let open = try await h.call(.get, "/api/v1/complaints?status=open", token: h.agent)
            #expect((open["complaints"] as? [[String: Any]])?.compactMap { $0["complaintId"] as? String } == [kid])
            #expect(try await h.call(.get, "/api/v1/complaints?status=lost", token: h.agent).code == "invalid_value")
        }
    }

    @Test(arguments: Engine.available)
    func aDeadlineInAnUncoveredYearIsProvisionalUntilTheYearIsLoaded(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a call on Tue 2026-12-15 10:00 CST; 15 working days run into 2027, which the shipped calendar lacks
            h.clock.advance(by: 28 * 86_400)
            let lodged = try await h.call(.post, "/api/v1/complaints", token: h.agent, json: [
                "kind": "complaint", "topic": "payment", "channel": "12333", "summary": "补贴未到账", "receivedAt": "2026-12-15T02:00:00Z",
            ])
            // validate: counted Monday–Friday in 2027 (Jan 1, 4, 5), marked provisional, not refused
            #expect(lodged.status == 201 && lodged.string("dueAt") == "2027-01-05T16:00:00Z" && lodged["dueAtProvisional"] as? Bool == true, "\(lodged)")
            let id = try #require(lodged.string("complaintId"))

            // action: the administrator loads 2027's notice (New Year's Day 1–3 January off)
            let year: [String: Any] = ["source": "国务院办公厅关于2027年部分节假日安排的通知", "holidays": [["name": "元旦", "from": "2027-01-01", "to": "2027-01-03"]],
                                       "makeUpWorkingDays": [String]()]
            #expect(try await h.call(.put, "/api/v1/holiday-calendar/2027", token: h.agent, json: year).status == 403)
            #expect(try await h.call(.put, "/api/v1/holiday-calendar/2027", token: h.admin,
                                     json: year.merging(["makeUpWorkingDays": ["2027-01-04"]]) { _, b in b }).code == "invalid_holiday_calendar")
            let loaded = try await h.call(.put, "/api/v1/holiday-calendar/2027", token: h.admin, json: year)
            #expect(loaded["recomputed"] as? Int == 1 && loaded["stillProvisional"] as? Int == 0, "\(loaded)")

            // validate: the deadline moves past the holiday and is final; the load is audited and listed
            let detail = try await h.call(.get, "/api/v1/complaints/\(id)", token: h.agent)
            #expect(detail.string("dueAt") == "2027-01-06T16:00:00Z" && detail["dueAtProvisional"] as? Bool == false, "\(detail)")
            let years = try await h.call(.get, "/api/v1/holiday-calendar", token: h.admin)
            #expect((years["years"] as? [[String: Any]])?.last?["origin"] as? String == "loaded")
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "holiday_calendar:2027") }
            #expect(audited.first?.action == "holiday_calendar_loaded" && audited.first?.actor == "admin:admin")
        }
    }
}
