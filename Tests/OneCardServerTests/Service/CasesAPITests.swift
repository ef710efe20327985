import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// Enforcement under the Guangdong pack (GD art. 19: order first, then 1,000–10,000 yuan only when serious), the
/// late surcharge of 行政处罚法 art. 72, the integrity record and the signed credit feed.
@Suite("Enforcement cases over HTTP: order, decision, fine range, surcharge, credit record and feed")
struct CasesAPITests {
    static func auditor(_ h: Harness) async throws -> String {
        _ = try await h.services.createStaffUser(username: "supervisor", password: "auditor-password", role: .auditor)
        return try await h.services.accounts.staffToken(username: "supervisor", password: "auditor-password").accessToken
    }

    @Test(arguments: Engine.available)
    func aCardSellingCaseIsOrderedFinedWithinTheRangeAndPaidLate(_ engine: Engine) async throws {
        try await Harness.run(engine, region: "440000") { h in
            // setup: a supervisor and a person who sold their card
            let auditor = try await Self.auditor(h)
            let person = try await h.createPerson(name: "张三丰")
            let opened = try await h.call(.post, "/api/v1/cases", token: auditor, json: [
                "type": "card_selling", "party": ["personId": person], "summary": "在网上出售本人社保卡", "evidence": ["use:u-1"],
            ])
            #expect(opened.status == 201 && opened.string("status") == "open", "\(opened)")
            let id = try #require(opened.string("caseId"))

            // action and validate: checked in API.md's order
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/decide", token: auditor, json: ["serious": true, "fineFen": 500_000]).code == "order_required")
            let ordered = try await h.call(.post, "/api/v1/cases/\(id)/order", token: auditor, json: ["dueAt": "2026-11-25T16:00:00Z"])
            #expect(ordered.string("status") == "ordered", "\(ordered)")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/decide", token: auditor, json: ["serious": false, "fineFen": 500_000]).code == "fine_not_allowed")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/decide", token: auditor, json: ["serious": true, "fineFen": 80_000]).code == "fine_out_of_range")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/decide", token: auditor, json: ["serious": true, "fineFen": 1_200_000]).code == "fine_out_of_range")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/payments", token: auditor, json: ["amountFen": 100, "paidAt": "2026-11-18T10:00:00Z"]).code == "nothing_to_pay")
            // decided Wed 2026-11-18 CST: pay by 24:00 CST of the 15th day after, 2026-12-03
            let decided = try await h.call(.post, "/api/v1/cases/\(id)/decide", token: auditor, json: ["serious": true, "fineFen": 500_000])
            #expect(decided.string("status") == "decided" && decided["fineFen"] as? Int == 500_000 && decided.string("paymentDueAt") == "2026-12-03T16:00:00Z", "\(decided)")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/decide", token: auditor, json: ["serious": true, "fineFen": 500_000]).code == "invalid_transition")

            // paid in full on 2026-12-13 CST, 10 days late: + 5,000 × 3 % × 10 = 1,500 yuan; a retry records nothing more
            h.clock.advance(by: 30 * 86_400)
            for _ in 0..<2 {
                let r = try await h.call(.post, "/api/v1/cases/\(id)/payments", token: auditor, body: #"{"amountFen":500000,"paidAt":"2026-12-13T02:00:00Z"}"#,
                                         headers: ["Idempotency-Key": "receipt-1"])
                #expect(r["paidFen"] as? Int == 500_000 && r["surchargeFen"] as? Int == 150_000, "\(r)")
            }
            // the integrity record: serious, so published one to three years; repair not before the minimum
            let detail = try await h.call(.get, "/api/v1/cases/\(id)", token: auditor)
            let record = try #require(detail["creditRecord"] as? [String: Any], "\(detail)")
            #expect(record["class"] as? String == "serious" && record["repairEligibleFrom"] as? String == "2027-11-18"
                    && record["publishedUntil"] as? String == "2029-11-18", "\(record)")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/repair", token: auditor).code == "repair_not_yet_eligible")
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "case:\(id)") }.map(\.action)
            #expect(audited == ["case_payment", "case_decided", "case_ordered", "case_opened"], "\(audited)")
        }
    }

    /// GD art. 20: a cooperating bank ordered to correct and not correcting has its new business suspended, then its
    /// agreement ended with a successor: through the bank flows, the migration plan opened, in the case's transaction.
    @Test(arguments: Engine.available)
    func aBankBreachCaseSuspendsAndThenTerminatesTheBankAfterItsOrder(_ engine: Engine) async throws {
        try await Harness.run(engine, region: "440000") { h in
            let auditor = try await Self.auditor(h)
            try await h.createBank("ICBC")
            try await h.createBank("CCB")
            let opened = try await h.call(.post, "/api/v1/cases", token: auditor, json: [
                "type": "bank_breach", "party": ["uscc": "91100000100003962T", "name": "中国工商银行"], "summary": "未按协议提供查询服务",
            ])
            let id = try #require(opened.string("caseId"), "\(opened)")
            let selling = try await h.call(.post, "/api/v1/cases", token: auditor, json: [
                "type": "card_selling", "party": ["personId": try await h.createPerson()], "summary": "出售社保卡",
            ])
            let other = try #require(selling.string("caseId"))

            #expect(try await h.call(.post, "/api/v1/cases/\(id)/bank-action", token: auditor, json: ["action": "suspend", "bankCode": "ICBC"]).code == "order_required")
            _ = try await h.call(.post, "/api/v1/cases/\(id)/order", token: auditor, json: ["dueAt": "2026-11-25T16:00:00Z"])
            _ = try await h.call(.post, "/api/v1/cases/\(other)/order", token: auditor, json: ["dueAt": "2026-11-25T16:00:00Z"])
            #expect(try await h.call(.post, "/api/v1/cases/\(other)/bank-action", token: auditor, json: ["action": "suspend", "bankCode": "ICBC"]).code == "action_not_applicable")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/bank-action", token: auditor, json: ["action": "suspend", "bankCode": "NOPE"]).code == "bank_not_found")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/bank-action", token: auditor, json: ["action": "close", "bankCode": "ICBC"]).code == "invalid_value")
            #expect(try await h.call(.post, "/api/v1/cases/\(id)/bank-action", token: h.admin, json: ["action": "suspend", "bankCode": "ICBC"]).status == 403)

            let suspended = try await h.call(.post, "/api/v1/cases/\(id)/bank-action", token: auditor, json: ["action": "suspend", "bankCode": "ICBC"])
            #expect(suspended.status == 200 && (suspended["bank"] as? [String: Any])?["status"] as? String == "suspended", "\(suspended)")
            let terminated = try await h.call(.post, "/api/v1/cases/\(id)/bank-action", token: auditor,
                                              json: ["action": "terminate", "bankCode": "ICBC", "successorCode": "CCB", "choiceDays": 30])
            #expect((terminated["bank"] as? [String: Any])?["status"] as? String == "terminated", "\(terminated)")
            // the migration plan of the bank flows exists, and both steps are on the case's audit trail and the bank's
            #expect(try await h.call(.get, "/api/v1/banks/ICBC/migration", token: h.admin).status == 200)
            let onCase = try await h.services.store.read { try await $0.audit.list(subject: "case:\(id)") }.map(\.action)
            #expect(onCase.contains("case_bank_suspend") && onCase.contains("case_bank_terminate"), "\(onCase)")
            let onBank = try await h.services.store.read { try await $0.audit.list(subject: "bank:ICBC") }.map(\.action)
            #expect(onBank.contains("bank_suspended") && onBank.contains("bank_terminated"), "\(onBank)")
        }
    }

    @Test(arguments: Engine.available)
    func theSurchargeStopsAtTheFineAndAVenueRefusalIsNotFined(_ engine: Engine) async throws {
        try await Harness.run(engine, region: "440000") { h in
            let auditor = try await Self.auditor(h)
            let person = try await h.createPerson()
            // a lending case fined 5,000 yuan and not paid: 40 days late the surcharge is capped at the fine
            let lending = try #require(try await h.call(.post, "/api/v1/cases", token: auditor, json: [
                "type": "card_lending", "party": ["personId": person], "summary": "出借社保卡给他人就医",
            ]).string("caseId"))
            _ = try await h.call(.post, "/api/v1/cases/\(lending)/order", token: auditor, json: ["dueAt": "2026-11-25T16:00:00Z"])
            _ = try await h.call(.post, "/api/v1/cases/\(lending)/decide", token: auditor, json: ["serious": true, "fineFen": 500_000])
            h.clock.advance(by: 55 * 86_400)  // 2027-01-12 CST: 40 days after 2026-12-03
            #expect(try await h.call(.get, "/api/v1/cases/\(lending)", token: auditor)["surchargeFen"] as? Int == 500_000)

            // a venue refusing the card: ordered to correct; no fine in the pack for it; decided without a fine
            let museum = try #require(try await h.call(.post, "/api/v1/cases", token: auditor, json: [
                "type": "venue_refusal", "party": ["uscc": CatalogueAndAcceptanceAPITests.uscc(), "name": "某博物馆"], "summary": "拒绝受理社保卡",
            ]).string("caseId"))
            _ = try await h.call(.post, "/api/v1/cases/\(museum)/order", token: auditor, json: ["dueAt": "2027-02-01T16:00:00Z"])
            #expect(try await h.call(.post, "/api/v1/cases/\(museum)/decide", token: auditor, json: ["serious": true, "fineFen": 100_000]).code == "fine_not_allowed")
            let closed = try await h.call(.post, "/api/v1/cases/\(museum)/decide", token: auditor, json: ["serious": false])
            #expect(closed.string("status") == "decided" && closed["fineFen"] is NSNull, "\(closed)")

            // refusals that change nothing
            #expect(try await h.call(.post, "/api/v1/cases", token: auditor, json: [
                "type": "forgery", "party": ["personId": person], "summary": "伪造", "actEndedOn": "2024-01-10",
            ]).code == "limitation_expired")
            #expect(try await h.call(.post, "/api/v1/cases", token: auditor, json: [
                "type": "forgery", "party": ["personId": "nobody"], "summary": "伪造",
            ]).code == "person_not_found")
            #expect(try await h.call(.post, "/api/v1/cases", token: h.agent, json: [
                "type": "forgery", "party": ["personId": person], "summary": "伪造",
            ]).status == 403)
            #expect(try await h.count("enforcement_cases") == 2)
        }
    }

    @Test(arguments: Engine.available)
    func theCreditFeedIsSignedVerifiableAndMasksPersons(_ engine: Engine) async throws {
        try await Harness.run(engine, region: "440000") { h in
            // setup: a fined person and an organisation's decided case without a fine
            let auditor = try await Self.auditor(h)
            let idNumber = TestIDs.resident(sequence: "913")
            let person = try await h.createPerson(idNumber: idNumber, name: "张三丰")
            let id = try #require(try await h.call(.post, "/api/v1/cases", token: auditor, json: [
                "type": "card_selling", "party": ["personId": person], "summary": "出售社保卡",
            ]).string("caseId"))
            _ = try await h.call(.post, "/api/v1/cases/\(id)/order", token: auditor, json: ["dueAt": "2026-11-25T16:00:00Z"])
            _ = try await h.call(.post, "/api/v1/cases/\(id)/decide", token: auditor, json: ["serious": true, "fineFen": 200_000])

            // action: anyone fetches the feed
            let feed = try await h.call(.get, "/api/v1/credit/feed")
            #expect(feed.status == 200 && feed.contentType == "application/jose")
            let token = String(decoding: feed.body, as: UTF8.self)
            let jwks = try await h.call(.get, "/api/v1/trust/jwks")

            // validate: an independent JOSE library verifies it against the published JWKS
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json")
            try jwks.body.write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Interop/verify_jws.py").path
            let (status, data, _) = try await ChildProcess.collect(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-W", "ignore", script, file.path, token])
            #expect(status == 0, "\(String(decoding: data, as: UTF8.self))")
            let verified = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect((verified["header"] as? [String: Any])?["typ"] as? String == "onecard-credit+jwt")
            let entries = try #require((verified["claims"] as? [String: Any])?["entries"] as? [[String: Any]])
            #expect(entries.count == 1 && entries[0]["status"] as? String == "published" && entries[0]["fineFen"] as? Int == 200_000, "\(entries)")
            let party = try #require(entries[0]["party"] as? [String: Any])
            #expect(party["nameMasked"] as? String == Mask.name("张三丰") && party["idNumberMasked"] as? String != nil && party["name"] == nil, "\(party)")
            #expect(!String(decoding: data, as: UTF8.self).contains(person))
            // the person sees their own record (Beijing Minsheng art. 13): serious, published 1 to 3 years
            let holder = try await h.signUpHolder(idNumber: idNumber, name: "张三丰")
            let mine = try await h.call(.get, "/api/v1/me/credit-records", token: holder)
            let record = try #require((mine["records"] as? [[String: Any]])?.first, "\(mine)")
            #expect(record["caseId"] as? String == id && record["class"] as? String == "serious" && record["status"] as? String == "published"
                    && record["repairEligibleFrom"] as? String == "2027-11-18" && record["publishedUntil"] as? String == "2029-11-18", "\(record)")
        }
    }
}
