import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// Manual claims (社会保险经办条例 art. 20): a stay paid in full is claimed back at the insured place, decided within 30
/// working days under its own rules, and the fund's share is credited to the card's account once (the bank-sim's
/// statement is the witness).
@Suite("Manual medical claims over HTTP")
struct MedicalClaimAPITests {
    @Test(arguments: Engine.available)
    func aClaimIsDecidedAndPaidOnce(_ engine: Engine) async throws {
        try await withBank("ICBC") { icbc in
            try await Harness.run(engine) { h in
                // setup: the catalogue, a medical security user, a holder with a card at ICBC who is an insured employee
                for item: [String: Any] in [["code": "MED-A", "name": "甲类药品", "category": "A"],
                                            ["code": "MED-B", "name": "乙类药品", "category": "B", "preselfpayPercent": 10],
                                            ["code": "MED-C", "name": "丙类药品", "category": "C"]] {
                    #expect(try await h.call(.post, "/api/v1/medical/catalogue/items", token: h.admin, json: item).status == 201)
                }
                #expect(try await h.call(.post, "/api/v1/medical/catalogue/publish", token: h.admin).status == 200)
                try await h.createBank("ICBC", endpoint: icbc.url)
                let outlet = try await h.createOutlet()
                _ = try await h.services.createStaffUser(username: "medsec", password: "medsec-password", role: .department, scope: .medicalSecurity)
                let medsec = try await h.services.accounts.staffToken(username: "medsec", password: "medsec-password").accessToken
                let payee = try await h.payee(1, bank: "ICBC", outlet: outlet)
                let person = try #require(try await h.call(.get, "/api/v1/me/card", token: payee.token).string("personId"))
                let bill: [[String: Any]] = [["code": "MED-A", "amountFen": 1_200_000, "quantity": 1], ["code": "MED-B", "amountFen": 600_000, "quantity": 1],
                                             ["code": "MED-C", "amountFen": 200_000, "quantity": 1]]
                let stay: [String: Any] = ["treatmentRegion": "310104", "hospitalLevel": 3, "care": "inpatient", "admittedOn": "2026-11-02",
                                           "dischargedOn": "2026-11-09", "items": bill]

                // Not insured: refused. Dates out of order or in the future, an unknown region: refused, nothing lodged.
                #expect(try await h.call(.post, "/api/v1/me/medical/claims", token: payee.token, json: stay).code == "not_insured")
                #expect(try await h.call(.put, "/api/v1/medical/insureds/\(person)", token: medsec,
                                         json: ["scheme": "employee", "insuredRegion": "110000", "retired": false, "accountBalanceFen": 100_000]).status == 200)
                var bad = stay; bad["dischargedOn"] = "2026-10-30"
                #expect(try await h.call(.post, "/api/v1/me/medical/claims", token: payee.token, json: bad).code == "invalid_time_range")
                bad = stay; bad["dischargedOn"] = "2027-01-05"
                #expect(try await h.call(.post, "/api/v1/me/medical/claims", token: payee.token, json: bad).code == "invalid_time_range")
                bad = stay; bad["treatmentRegion"] = "999999"
                #expect(try await h.call(.post, "/api/v1/me/medical/claims", token: payee.token, json: bad).code == "invalid_region_code")

                // the action: the holder lodges online; the deadline is the end of the 30th working day
                let lodged = try await h.call(.post, "/api/v1/me/medical/claims", token: payee.token, json: stay)
                #expect(lodged.status == 201 && lodged.string("status") == "lodged" && lodged["medfeeSumamt"] as? Int == 2_000_000, "\(lodged)")
                let claim = try #require(lodged.string("claimId"))
                let receivedText = try #require(lodged.string("receivedAt"))
                let received = try #require(Timestamp.parse(receivedText))
                let expectedDue = try WorkingDays.deadline(30, after: received, calendar: try HolidayCalendar.shipped()).dueAt
                #expect(lodged.string("dueAt") == Timestamp.format(expectedDue), "\(lodged)")
                let queue = try await h.call(.get, "/api/v1/medical/claims", token: h.agent)["claims"] as? [[String: Any]] ?? []
                #expect(queue.contains { $0["claimId"] as? String == claim })
                #expect(try await h.call(.post, "/api/v1/medical/claims/\(claim)/decide", token: payee.token).status == 403)

                // An agent decides: the split under Beijing's employee inpatient policy, the unfiled stay as other temporary,
                // the account not drawn; the fund's share credited once to the card's account.
                let decided = try await h.call(.post, "/api/v1/medical/claims/\(claim)/decide", token: h.agent)
                #expect(decided.status == 200 && decided.string("status") == "paid" && decided.string("filing") == "temporary", "\(decided)")
                let fund = try #require(decided["fundPaySumamt"] as? Int)
                #expect(fund > 0 && fund < 2_000_000)
                #expect(try await h.call(.post, "/api/v1/medical/claims/\(claim)/decide", token: h.agent).code == "claim_decided")
                _ = try await h.services.medicalClaims.pay()
                let credits = try await BankSimulator.credits(icbc.store)
                #expect(credits.count == 1 && credits[0].paymentId == "claim-\(claim)" && credits[0].amountFen == Int64(fund), "\(credits)")
                #expect(credits.first?.account == (try await h.account(payee.card)))
                // The year's counters moved as for a settlement; the personal account was not drawn.
                let insured = try #require(try await h.services.store.read { try await $0.medical.insured(Person.ID(person)) })
                #expect(insured.accountBalanceFen == 100_000)
                let ytd = try await h.services.store.read { try await $0.medical.yearToDate(Person.ID(person), care: .inpatient, year: 2026) }
                #expect(ytd.stays == 1 && ytd.fundFen == Int64(fund), "\(ytd)")

                // validate: the holder sees it paid; it is off the queue; the steps are audited
                let mine = try await h.call(.get, "/api/v1/me/medical/claims", token: payee.token)["claims"] as? [[String: Any]] ?? []
                #expect(mine.count == 1 && mine[0]["status"] as? String == "paid" && mine[0]["paidAt"] is String, "\(mine)")
                #expect(!((try await h.call(.get, "/api/v1/medical/claims", token: h.agent)["claims"] as? [[String: Any]] ?? []).contains { $0["claimId"] as? String == claim }))
                let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }.map(\.action)
                #expect(audit.contains("medical_claim_lodged") && audit.contains("medical_claim_decided"), "\(audit)")
                #expect(try await h.call(.post, "/api/v1/medical/claims/no-such/decide", token: h.agent).code == "claim_not_found")

                // The holder's page lists the claim and lodges another from typed bill lines (code, yuan).
                let browser = PageBrowser(h)
                _ = try await browser.signIn(holder: payee.idNumber, password: "holder-password-1")
                #expect(try await browser.get("/me/medical").html.contains("data-claim=\"\(claim)\""))
                let posted = try await browser.post("/me/medical/claims", [("treatmentRegion", "310000"), ("hospitalLevel", "2"), ("care", "outpatient"),
                                                                           ("admittedOn", "2026-11-10"), ("dischargedOn", "2026-11-10"),
                                                                           ("items", "MED-A, 120.50\nMED-B，30")])
                #expect(posted.status == 303 && posted.location == "/me/medical?notice=claimed", "\(posted)")
                let second = try await h.call(.get, "/api/v1/me/medical/claims", token: payee.token)["claims"] as? [[String: Any]] ?? []
                #expect(second.count == 2 && second.first { $0["status"] as? String == "lodged" }?["medfeeSumamt"] as? Int == 15_050, "\(second)")
                #expect(MedicalPages.fen("12.5") == 1250 && MedicalPages.fen("12.555") == nil && MedicalPages.fen("-1") == nil)
            }
        }
    }
}
