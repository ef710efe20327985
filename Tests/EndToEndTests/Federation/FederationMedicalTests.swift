import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import OneCardTestSupport
import Testing

/// Issue 14's "Done when", with real processes (hub, Beijing, Hebei): a Hebei hospital settles a Beijing employee's
/// stay with the card (Beijing's policy, account and year-to-date counters, through the hub), the patient pays only the
/// cash share shown, a second stay uses the later-stay deductible, a reversal restores the account, and the month's
/// clearing between Beijing and Hebei shows the same pair on both nodes and reconciles on both.
@Suite("Federation: a Beijing employee's stay settled directly in Hebei", .serialized)
struct FederationMedicalTests {
    static let beijing = FederationHarness.beijing, hebei = FederationHarness.hebei

    @Test(arguments: Engine.available)
    func aHebeiHospitalSettlesABeijingEmployeesStaysAndBothNodesReconcile(_ engine: Engine) async throws {
        try await FederationHarness.with(engine) { fed in
            let beijing = fed[Self.beijing], hebei = fed[Self.hebei]
            // setup: a Beijing resident with a card, insured in Beijing as an employee (account 1,000.00), filed for Hebei
            let card = try await FederationAcceptanceTests.newBeijingCard(beijing)
            let personId = try #require(try await beijing.http.call("GET", "/api/v1/cards/\(card.number)", token: beijing.agent)["personId"] as? String)
            let medsec = try #require(try await beijing.http.call("POST", "/api/v1/auth/token",
                                                                 json: ["username": "medsec", "password": "medsec-demo-2026"])["accessToken"] as? String)
            let insured = try await beijing.http.call("PUT", "/api/v1/medical/insureds/\(personId)", token: medsec, json: [
                "scheme": "employee", "insuredRegion": Self.beijing, "retired": false, "accountBalanceFen": 100_000,
            ])
            #expect(insured.status == 200, "\(insured)")
            let today = String(Timestamp.format(Date()).prefix(10))
            let filed = try await beijing.http.call("POST", "/api/v1/me/medical/filings", token: card.holderToken, json: [
                "kind": "long_term", "treatmentRegion": Self.hebei, "from": today,
            ])
            #expect(filed.status == 201, "\(filed)")
            // the Hebei demo hospital gets a terminal
            let venues = try #require(try await hebei.http.call("GET", "/api/v1/venues")["venues"] as? [[String: Any]])
            let hospital = try #require(venues.first { $0["type"] as? String == "hospital" }?["venueId"] as? String)
            let terminal = try await hebei.http.call("POST", "/api/v1/venues/\(hospital)/terminals", token: hebei.admin)
            let hospitalKey = try #require(terminal["apiKey"] as? String, "\(terminal)")

            // Bill B1 by Hebei's catalogue: 甲 12,000 + 乙 6,000 (10 % pay-first) + 丙 2,000, tertiary inpatient.
            func settle(_ key: String) async throws -> FederationClient.Reply {
                let challenge = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
                let response = Data(HMAC<SHA256>.authenticationCode(for: challenge, using: SymmetricKey(data: try #require(Data(base64Encoded: card.chipKey)))))
                return try await hebei.http.call("POST", "/api/v1/medical/settlements", token: hospitalKey, json: [
                    "credential": ["kind": "card", "cardNumber": card.number, "challenge": challenge.base64EncodedString(),
                                   "response": response.base64EncodedString()],
                    "care": "inpatient", "hospitalLevel": 3, "emergency": false,
                    "items": [["code": "MED-A-001", "amountFen": 1_200_000, "quantity": 1], ["code": "MED-B-001", "amountFen": 600_000, "quantity": 1],
                              ["code": "MED-C-001", "amountFen": 200_000, "quantity": 1]],
                ], headers: [("Idempotency-Key", key)])
            }

            // 1. The first stay: Beijing's first-stay deductible 1,300, 85 %, the account first (WE-M1): the patient pays 5,315.00.
            let first = try await settle("stay-1")
            #expect(first.status == 201, "\(first)")
            #expect(["long_term", "filing_free"].contains(first["filing"] as? String), "\(first)")
            #expect(first["insuredRegion"] as? String == Self.beijing && (first["treatmentRegion"] as? String)?.hasPrefix("13") == true)
            #expect(first["inscpScpAmt"] as? Int == 1_740_000 && first["actPayDedc"] as? Int == 130_000 && first["hifpPay"] as? Int == 1_368_500)
            #expect(first["acctPay"] as? Int == 100_000 && first["psnCashPay"] as? Int == 531_500 && first["balc"] as? Int == 0, "\(first)")
            let firstId = try #require(first["settlementId"] as? String)
            // the hospital's retry with the same key answers the same settlement, and Beijing counts the stay once
            let again = try await settle("stay-1")
            #expect(again.status == 201 && again["settlementId"] as? String == firstId && again["psnCashPay"] as? Int == 531_500, "\(again)")

            // 2. The second stay: the later-stay deductible 650, the account empty: 16,750 × 85 % = 14,237.50 from the fund.
            let second = try await settle("stay-2")
            #expect(second.status == 201, "\(second)")
            #expect(second["actPayDedc"] as? Int == 65_000 && second["hifpPay"] as? Int == 1_423_750, "\(second)")
            #expect(second["acctPay"] as? Int == 0 && second["psnCashPay"] as? Int == 576_250 && second["balc"] as? Int == 0, "\(second)")
            let secondId = try #require(second["settlementId"] as? String)
            // the holder sees both at Beijing, with the same ids
            let mine = try await beijing.http.call("GET", "/api/v1/me/medical", token: card.holderToken)
            let ids = (mine["settlements"] as? [[String: Any]] ?? []).compactMap { $0["settlementId"] as? String }
            #expect(Set(ids) == [firstId, secondId], "\(mine)")
            #expect((mine["insured"] as? [String: Any])?["accountBalanceFen"] as? Int == 0)

            // 3. The first stay reversed at the Hebei hospital: a negating record, Beijing refunds the account; once only.
            let reversed = try await hebei.http.call("POST", "/api/v1/medical/settlements/\(firstId)/reverse", token: hospitalKey)
            #expect(reversed.status == 201 && reversed["reverses"] as? String == firstId, "\(reversed)")
            #expect(reversed["hifpPay"] as? Int == -1_368_500 && reversed["acctPay"] as? Int == -100_000 && reversed["psnCashPay"] as? Int == -531_500)
            let twice = try await hebei.http.call("POST", "/api/v1/medical/settlements/\(firstId)/reverse", token: hospitalKey)
            #expect(twice.status == 409 && twice["code"] as? String == "already_reversed", "\(twice)")
            let after = try await beijing.http.call("GET", "/api/v1/me/medical", token: card.holderToken)
            #expect((after["insured"] as? [String: Any])?["accountBalanceFen"] as? Int == 100_000, "\(after)")
            #expect((after["settlements"] as? [[String: Any]])?.count == 3)

            // 4. The month's clearing: the same Beijing → Hebei pair on both nodes (2 stays − 1 reversal, the second's fund share).
            var month = ""
            for node in [beijing, hebei] {
                let clearing = try await node.http.call("GET", "/api/v1/medical/clearing", token: node.admin)
                month = try #require(clearing["month"] as? String)
                let pair = (clearing["pairs"] as? [[String: Any]] ?? []).first { $0["insuredRegion"] as? String == Self.beijing && $0["treatmentRegion"] as? String == Self.hebei }
                #expect(pair?["settlements"] as? Int == 1 && pair?["fundFen"] as? Int == 1_423_750, "\(node.region): \(clearing)")
            }
            // 5. Each node sends its statement through the hub; each reconciles the other's with its own: matched on both.
            let sentByHebei = try await hebei.http.call("POST", "/api/v1/medical/clearing/statements", token: hebei.admin, json: ["month": month])
            #expect(sentByHebei.status == 202 && sentByHebei["sentTo"] as? [String] == [Self.beijing], "\(sentByHebei)")
            let sentByBeijing = try await beijing.http.call("POST", "/api/v1/medical/clearing/statements", token: beijing.admin, json: ["month": month])
            #expect(sentByBeijing.status == 202 && sentByBeijing["sentTo"] as? [String] == [Self.hebei], "\(sentByBeijing)")
            for (node, other) in [(beijing, Self.hebei), (hebei, Self.beijing)] {
                var last = ""
                let deadline = Date().addingTimeInterval(20)
                var matched = false
                while Date() < deadline, !matched {
                    let r = try await node.http.call("GET", "/api/v1/medical/clearing/reconciliations?month=\(month)", token: node.auditor)
                    last = r.text
                    matched = (r["reconciliations"] as? [[String: Any]] ?? []).contains { $0["counterpart"] as? String == other && $0["status"] as? String == "matched" }
                    if !matched { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(matched, "\(node.region) reconciles \(other)'s statement: \(last)")
            }

            // Measured, not asserted: sequential settlements routed Hebei → hub → Beijing on loopback (debug build).
            var took: [Double] = []
            for i in 0..<20 {
                let started = Date()
                let r = try await settle("timed-\(i)")
                took.append(Date().timeIntervalSince(started) * 1000)
                #expect(r.status == 201, "\(r)")
            }
            took.sort()
            print("routed medical settlement (\(engine.rawValue)): p50 \(Int(took[10])) ms, max \(Int(took[19])) ms over 20")

            // 6. Without the hub the stay cannot be settled from Hebei's data: 503 federation_unavailable, nothing recorded.
            try await fed.killHub()
            let unreachable = try await settle("stay-3")
            #expect(unreachable.status == 503 && unreachable["code"] as? String == "federation_unavailable", "\(unreachable)")
            let unchanged = try await hebei.http.call("GET", "/api/v1/medical/clearing?month=\(month)", token: hebei.admin)
            let pair = (unchanged["pairs"] as? [[String: Any]] ?? []).first { $0["insuredRegion"] as? String == Self.beijing }
            #expect(pair?["settlements"] as? Int == 21, "\(unchanged)")
        }
    }
}
