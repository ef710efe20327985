import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Pension qualification check: overdue pensions held, paid back once on confirmation, silent confirmation with consent, deaths stop payment")
struct PensionAPITests {
    /// Fresh tokens after a clock jump longer than a session (the harness's last 60 days).
    struct Tokens { var admin: String, agent: String, dept1: String, dept2: String, holders: [String] }
    static func signIn(_ h: Harness, holders: [Payee]) async throws -> Tokens {
        func staff(_ u: String) async throws -> String { try await h.services.accounts.staffToken(username: u, password: "\(u)-password").accessToken }
        var list: [String] = []
        for p in holders {
            list.append(try #require(try await h.call(.post, "/api/v1/auth/holder-token", json: ["idNumber": p.idNumber, "password": "holder-password-1"])
                .string("accessToken")))
        }
        return Tokens(admin: try await staff("admin"), agent: try await staff("agent"), dept1: try await staff("dept1"), dept2: try await staff("dept2"),
                      holders: list)
    }

    static func personId(_ h: Harness, _ p: Payee) async throws -> String {
        try #require(try await h.services.store.read { try await $0.persons.find(idNumber: p.idNumber) }).id.rawValue
    }

    static func pensionProgramme(_ h: Harness, _ token: String) async throws -> String {
        let r = try await h.call(.post, "/api/v1/programmes", token: token, json: [
            "name": "城乡居民基本养老保险待遇", "kind": "pension", "department": "人力资源和社会保障局", "legalBasis": "社会保险法第十六条",
        ])
        return try #require(r.string("programmeId"), "\(r)")
    }

    /// Uploads, approves (by the other person), executes and drains a batch: its id and final view.
    static func pay(_ h: Harness, _ programme: String, _ t: Tokens, _ lines: [(String, String, Int)]) async throws -> (String, [String: Any]) {
        let up = try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: t.dept1,
                                  json: ["lines": lines.map { ["idNumber": $0.0, "name": $0.1, "amountFen": $0.2] }])
        let id = try #require(up.string("batchId"), "\(up)")
        #expect(try await h.call(.post, "/api/v1/batches/\(id)/approve", token: t.dept2).status == 200)
        #expect(try await h.call(.post, "/api/v1/batches/\(id)/execute", token: t.dept1).status == 202)
        #expect(try await h.executor.drain(PaymentBatch.ID(id)) == .completed)
        return (id, try await h.call(.get, "/api/v1/batches/\(id)", token: t.admin).json)
    }

    static func kinds(_ h: Harness, _ token: String) async throws -> [String] {
        (try await h.call(.get, "/api/v1/me/notifications", token: token)["notifications"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
    }

    @Test(arguments: Engine.available)
    func anOverduePensionerIsHeldThenPaidBackOnceAndSilentConfirmationNeedsConsent(_ engine: Engine) async throws {
        try await BanksAndPayees.run(engine, banks: ["ICBC"], payees: 3) { f in
            let h = f.h, icbc = f.sim("ICBC")
            let (a, b, c) = (f.payees[0], f.payees[1], f.payees[2])
            _ = try await h.signedInStaff("dept1", .department); _ = try await h.signedInStaff("dept2", .department)
            var t = try await Self.signIn(h, holders: [a, b, c])
            let programme = try await Self.pensionProgramme(h, t.dept1)
            let (aId, bId) = (try await Self.personId(h, a), try await Self.personId(h, b))

            // Not a pensioner yet: nothing to check.
            #expect(try await h.call(.get, "/api/v1/me/pension", token: t.holders[0]).code == "pension_not_found")

            // The first pension (2026-11-18) makes a and b pensioners: the first cycle starts a year later, so the check is due
            // by 2028-11-18 (wave2-facts WE-R1).
            let (_, first) = try await Self.pay(h, programme, t, [(a.idNumber, "王秀梅", 150_000), (b.idNumber, "王秀梅", 160_000)])
            #expect((first["counts"] as? [String: Int])?["paid"] == 2, "\(first)")
            let fresh = try await h.call(.get, "/api/v1/me/pension", token: t.holders[0])
            #expect(fresh.string("status") == "confirmed" && fresh.string("dueOn") == "2028-11-18" && fresh.string("firstPaidOn") == "2026-11-18", "\(fresh)")
            #expect(fresh.string("dueAt") == "2028-11-18T16:00:00Z")  // the end of the due day in China, in UTC
            try await h.seedCatalogue()
            let library = try await h.createVenue(type: "library", region: "110101", items: ["JJJ-LIB-001"]).1
            // b lets card use confirm them (silent authentication); a does not.
            #expect(try await h.call(.post, "/api/v1/me/consents", token: t.holders[1], json: ["purpose": "pension_passive_confirmation"]).status == 201)

            // 2028-10-19: within 30 days of the due day: due, and reminded once.
            h.clock.advance(by: 701 * 86_400)
            t = try await Self.signIn(h, holders: [a, b, c])
            #expect(try await h.call(.get, "/api/v1/me/pension", token: t.holders[0]).string("status") == "due")
            #expect(try await h.services.pension.remind() == 2)
            #expect(try await h.services.pension.remind() == 0)
            #expect(try await Self.kinds(h, t.holders[0]) == ["pension_check_due"])

            // b uses the card at a library (activated, e-card on a phone).
            #expect(try await h.call(.post, "/api/v1/cards/\(b.card)/activate", token: t.agent, json: ["pin": "246810"]).string("status") == "active")
            #expect(try await h.call(.post, "/api/v1/me/ecard", token: t.holders[1], json: ["deviceId": "phone-b"]).status == 201)
            let use = try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": try await h.qrToken(t.holders[1])])
            #expect(use.string("decision") == "accepted", "\(use)")

            // 2028-11-28: a is overdue and was not confirmed: a's payment is held, not sent and not lost; b's library visit
            // confirmed b; c is a new pensioner. The batch completes with the held line counted.
            h.clock.advance(by: 40 * 86_400)
            t = try await Self.signIn(h, holders: [a, b, c])
            #expect(try await h.call(.get, "/api/v1/me/pension", token: t.holders[0]).string("status") == "overdue")
            let (second, view) = try await Self.pay(h, programme, t, [(a.idNumber, "王秀梅", 150_000), (b.idNumber, "王秀梅", 160_000), (c.idNumber, "王秀梅", 170_000)])
            #expect(view["counts"] as? [String: Int] == ["pending": 0, "held": 1, "sent": 0, "paid": 2, "failed": 0, "returned": 0], "\(view)")
            #expect((view["totals"] as? [String: Int])?["heldFen"] == 150_000)
            let lines = try await h.call(.get, "/api/v1/batches/\(second)/payments", token: t.dept1)["payments"] as? [[String: Any]] ?? []
            #expect(lines.map { $0["state"] as? String } == ["held", "paid", "paid"], "\(lines)")
            #expect(try await Self.kinds(h, t.holders[0]) == ["pension_held", "pension_check_due"])
            let bStanding = try await h.call(.get, "/api/v1/me/pension", token: t.holders[1])
            #expect(bStanding.string("lastMethod") == "passive" && bStanding.string("status") == "confirmed", "\(bStanding)")
            let overdue = try await h.call(.get, "/api/v1/persons/\(aId)/pension", token: t.agent)
            #expect((overdue["held"] as? [String: Int]) == ["count": 1, "amountFen": 150_000], "\(overdue)")
            var credits = try await BankSimulator.credits(icbc.store)
            #expect(credits.map(\.amountFen).sorted() == [150_000, 160_000, 160_000, 170_000])

            // a confirms online: the held payment goes out as back pay, once; confirming again releases nothing.
            let confirmed = try await h.call(.post, "/api/v1/me/pension/confirm", token: t.holders[0])
            #expect(confirmed.string("status") == "confirmed" && confirmed.string("dueOn") == "2029-11-28", "\(confirmed)")
            #expect(confirmed["released"] as? [String: Int] == ["count": 1, "amountFen": 150_000, "closedBeyondLimit": 0], "\(confirmed)")
            #expect(try await h.executor.drain(PaymentBatch.ID(second)) == .completed)
            let again = try await h.call(.post, "/api/v1/me/pension/confirm", token: t.holders[0])
            #expect((again["released"] as? [String: Int])?["count"] == 0, "\(again)")
            _ = try await h.executor.drain(PaymentBatch.ID(second))
            let paid = try await h.call(.get, "/api/v1/batches/\(second)", token: t.admin)
            #expect(paid["counts"] as? [String: Int] == ["pending": 0, "held": 0, "sent": 0, "paid": 3, "failed": 0, "returned": 0], "\(paid)")
            credits = try await BankSimulator.credits(icbc.store)
            #expect(credits.map(\.amountFen).sorted() == [150_000, 150_000, 160_000, 160_000, 170_000], "the bank statement is the witness: a twice in all")
            #expect(try await Self.kinds(h, t.holders[0]).first == "pension_resumed")

            // An agent confirms at a counter too (201, with the confirmation's id); a method that is not seen in person is refused.
            let counter = try await h.call(.post, "/api/v1/pension/confirmations", token: t.agent, json: ["personId": bId, "method": "counter"])
            #expect(counter.status == 201 && counter.string("confirmationId") != nil && counter.string("lastMethod") == "counter", "\(counter)")
            #expect(try await h.call(.post, "/api/v1/pension/confirmations", token: t.agent, json: ["personId": bId, "method": "passive"]).status == 422)
            #expect(try await h.call(.post, "/api/v1/pension/confirmations", token: t.agent, json: ["personId": "nobody", "method": "counter"])
                .code == "pension_not_found")
            // c, a's daughter, links her (a accepts) and confirms for her (亲情代办); recorded on both; without a link: refused.
            let link = try await h.call(.post, "/api/v1/me/relatives", token: t.holders[2], json: ["idNumber": a.idNumber, "name": "王秀梅", "relationship": "parent"])
            #expect(try await h.call(.post, "/api/v1/me/relatives/requests/\(try #require(link.string("linkId"), "\(link)"))/accept", token: t.holders[0]).status == 200)
            #expect(try await h.call(.post, "/api/v1/me/relatives/\(aId)/pension/confirm", token: t.holders[1]).code == "relative_link_not_found")
            h.clock.advance(by: 3600)
            let proxy = try await h.call(.post, "/api/v1/me/relatives/\(aId)/pension/confirm", token: t.holders[2])
            #expect(proxy.status == 200 && proxy.string("lastMethod") == "relative", "\(proxy)")
            let activity = try await h.call(.get, "/api/v1/me/relatives/activity", token: t.holders[0])
            let actions = (activity["events"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            #expect(actions.contains("pension_confirmed"), "\(actions)")
            // The holder's data export carries the standing and every confirmation (online twice, by the relative).
            let export = try await h.call(.get, "/api/v1/me/export", token: t.holders[0])
            let pension = export["pension"] as? [String: Any]
            #expect((pension?["standing"] as? [String: Any])?["lastMethod"] as? String == "relative", "\(export)")
            #expect(((pension?["confirmations"] as? [[String: Any]]) ?? []).compactMap { $0["method"] as? String } == ["relative", "online", "online"], "\(export)")
            // A holder cannot confirm for others, nor read another's standing.
            #expect(try await h.call(.post, "/api/v1/pension/confirmations", token: t.holders[0], json: ["personId": bId, "method": "counter"]).status == 403)
            #expect(try await h.call(.get, "/api/v1/persons/\(bId)/pension", token: t.holders[0]).status == 403)
        }
    }

    @Test(arguments: Engine.available)
    func aReportedDeathCancelsTheCardAndStopsEveryPaymentNotYetSent(_ engine: Engine) async throws {
        try await BanksAndPayees.run(engine, banks: ["ICBC"], payees: 2) { f in
            let h = f.h, icbc = f.sim("ICBC")
            let (a, b) = (f.payees[0], f.payees[1])
            let dept1 = try await h.signedInStaff("dept1", .department), dept2 = try await h.signedInStaff("dept2", .department)
            let t = Tokens(admin: h.admin, agent: h.agent, dept1: dept1, dept2: dept2, holders: [a.token, b.token])
            let programme = try await Self.pensionProgramme(h, dept1)
            let aId = try await Self.personId(h, a)
            // A batch approved but not yet executed when the death is reported.
            let up = try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept1,
                                      json: ["lines": [["idNumber": a.idNumber, "name": "王秀梅", "amountFen": 150_000], ["idNumber": b.idNumber, "name": "王秀梅", "amountFen": 160_000]]])
            let batch = try #require(up.string("batchId"), "\(up)")
            #expect(try await h.call(.post, "/api/v1/batches/\(batch)/approve", token: dept2).status == 200)

            // Bad reports change nothing: a day in the future or before birth, an unknown person, a holder reporting.
            #expect(try await h.call(.post, "/api/v1/persons/\(aId)/death", token: h.agent, json: ["date": "2026-11-19"]).code == "invalid_death_date")
            #expect(try await h.call(.post, "/api/v1/persons/\(aId)/death", token: h.agent, json: ["date": "1900-01-01"]).code == "invalid_death_date")
            #expect(try await h.call(.post, "/api/v1/persons/nobody/death", token: h.agent, json: ["date": "2026-11-10"]).code == "person_not_found")
            #expect(try await h.call(.post, "/api/v1/persons/\(aId)/death", token: h.agent, json: ["date": "10 November"]).status == 422)
            #expect(try await h.call(.post, "/api/v1/persons/\(aId)/death", token: a.token, json: ["date": "2026-11-10"]).status == 403)
            #expect(try await h.call(.get, "/api/v1/cards/\(a.card)", token: h.agent).string("status") == "issued")

            let died = try await h.call(.post, "/api/v1/persons/\(aId)/death", token: h.agent, json: ["date": "2026-11-10"])
            #expect(died.status == 200 && died.string("cardCancelled") == a.card && died["paymentsStopped"] as? Int == 1, "\(died)")
            // The same report again answers the same without doing anything twice; another day is refused.
            let repeated = try await h.call(.post, "/api/v1/persons/\(aId)/death", token: h.agent, json: ["date": "2026-11-10"])
            #expect(repeated.status == 200 && repeated["paymentsStopped"] as? Int == 0, "\(repeated)")
            #expect(try await h.call(.post, "/api/v1/persons/\(aId)/death", token: h.agent, json: ["date": "2026-11-11"]).code == "person_deceased")
            let card = try await h.call(.get, "/api/v1/cards/\(a.card)", token: h.agent)
            #expect(card.string("status") == "cancelled", "\(card)")
            #expect(try await h.eventTypes(a.card).filter { $0 == "card_cancelled" }.count == 1)

            // Executing the batch pays b only; a's line is failed `deceased`; a later batch refuses the line outright.
            #expect(try await h.call(.post, "/api/v1/batches/\(batch)/execute", token: dept1).status == 202)
            #expect(try await h.executor.drain(PaymentBatch.ID(batch)) == .completed)
            let lines = try await h.call(.get, "/api/v1/batches/\(batch)/payments", token: dept1)["payments"] as? [[String: Any]] ?? []
            #expect(lines.map { $0["state"] as? String } == ["failed", "paid"] && lines.first?["reason"] as? String == "deceased", "\(lines)")
            #expect(try await BankSimulator.credits(icbc.store).map(\.amountFen) == [160_000])
            let later = try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept1,
                                         json: ["lines": [["idNumber": a.idNumber, "name": "王秀梅", "amountFen": 150_000]]])
            #expect((later["rejected"] as? [[String: Any]])?.first?["reason"] as? String == "deceased", "\(later)")
            // Nothing confirms a deceased person alive.
            #expect(try await h.call(.post, "/api/v1/pension/confirmations", token: t.agent, json: ["personId": aId, "method": "counter"]).code == "person_deceased")
        }
    }
}
