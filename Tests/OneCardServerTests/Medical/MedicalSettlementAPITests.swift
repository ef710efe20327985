import Crypto
import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// The worked examples of wave2-facts §1.5 end to end over HTTP: a hospital's terminal settles with the card, the
/// account and counters move, a reversal restores them, and the month clears between provinces.
@Suite("Medical settlement over HTTP")
struct MedicalSettlementAPITests {
    /// Bill B1 of the worked examples: 甲 12,000 + 乙 6,000 + 丙 2,000 yuan (in fen).
    static var b1: [[String: Any]] { [["code": "MED-A", "amountFen": 1_200_000, "quantity": 1], ["code": "MED-B", "amountFen": 600_000, "quantity": 1],
                                      ["code": "MED-C", "amountFen": 200_000, "quantity": 1]] }

    /// A node with the treatment place's catalogue published, a medical security user, and hospitals in Shanghai and Hebei.
    struct Fixture: Sendable {
        let h: Harness
        let medsec: String
        let outlet: String
        /// Terminal keys of a level-3 hospital in Shanghai and one in Shijiazhuang (Hebei).
        let shanghai: String
        let hebei: String

        static func make(_ h: Harness) async throws -> Fixture {
            let u = try await h.call(.post, "/api/v1/users", token: h.admin, json: ["username": "medsec", "password": "medsec-password", "role": "department",
                                                                                 "scope": "medical_security"])
            #expect(u.status == 201 && u.string("scope") == "medical_security", "\(u)")
            let medsec = try #require(try await h.call(.post, "/api/v1/auth/token", json: ["username": "medsec", "password": "medsec-password"]).string("accessToken"))
            for item: [String: Any] in [["code": "MED-A", "name": "甲类药品", "category": "A"],
                                        ["code": "MED-B", "name": "乙类药品", "category": "B", "preselfpayPercent": 10],
                                        ["code": "MED-C", "name": "丙类药品", "category": "C"]] {
                let d = try await h.call(.post, "/api/v1/medical/catalogue/items", token: h.admin, json: item)
                #expect(d.status == 201, "\(d)")
            }
            let v = try await h.call(.post, "/api/v1/medical/catalogue/publish", token: h.admin)
            #expect(v.status == 200 && v["version"] as? Int == 1, "\(v)")
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, shanghai) = try await h.createVenue(type: "hospital", region: "310104", items: ["JJJ-MED-001"], name: "上海某三级医院")
            let (_, hebei) = try await h.createVenue(type: "hospital", region: "130102", items: ["JJJ-MED-001"], name: "石家庄某三级医院")
            return Fixture(h: h, medsec: medsec, outlet: try await h.createOutlet(), shanghai: shanghai, hebei: hebei)
        }

        /// A person with an active card, insured as given: (personId, cardNumber).
        func insured(_ sequence: String, scheme: String = "employee", region: String = "110000", retired: Bool = false,
                     balance: Int? = 100_000) async throws -> (String, String) {
            let (person, card) = try await h.activeCard(idNumber: TestIDs.resident(sequence: sequence), outlet: outlet)
            var body: [String: Any] = ["scheme": scheme, "insuredRegion": region, "retired": retired]
            if let balance { body["accountBalanceFen"] = balance }
            let r = try await h.call(.put, "/api/v1/medical/insureds/\(person)", token: medsec, json: body)
            #expect(r.status == 200, "\(r)")
            return (person, card)
        }

        /// Another hospital in Shijiazhuang and its terminal, for requests handed to the group commit directly.
        func hospital(_ name: String) async throws -> (venueId: String, terminal: Terminal.ID) {
            let (venueId, _) = try await h.createVenue(type: "hospital", region: "130102", items: ["JJJ-MED-001"], name: name)
            let terminal = try #require(try await h.services.store.read { try await $0.venues.terminals(venueId: Venue.ID(venueId)) }.first)
            return (venueId, terminal.id)
        }

        /// A chip card's answer to a fresh challenge, as a hospital's reader would send it.
        func chip(_ card: String) throws -> AcceptanceService.Credential {
            let challenge = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
            let mac = HMAC<SHA256>.authenticationCode(for: challenge, using: try h.services.chipKeys.key(for: CardNumber(card)))
            return .card(number: card, challenge: challenge, response: Data(mac))
        }

        /// A settlement request as the controller hands it to the group commit: an inpatient stay at a level-2 hospital
        /// billing one 丙类 line of `amountFen` (the account pays it first), under `key`, verified now.
        func pending(_ credential: AcceptanceService.Credential, terminal: Terminal.ID, venueId: String, key: String,
                     amountFen: Int64) -> MedicalService.PendingSettlement {
            let now = h.services.clock.now()
            return .init(terminalId: terminal, venueId: Venue.ID(venueId), actor: "terminal:\(terminal)", key: key,
                         verified: h.services.acceptance.verify(credential, at: now),
                         input: .init(credential: credential, care: .inpatient, hospitalLevel: .two, emergency: false,
                                      lines: [MedicalBillLine(code: "MED-C", amountFen: amountFen)]),
                         id: h.services.random.uuid(), at: now)
        }

        func file(_ person: String, kind: String, region: String = "310000", from: String = "2026-01-01") async throws {
            let r = try await h.call(.post, "/api/v1/medical/filings", token: h.agent, json: ["personId": person, "kind": kind, "treatmentRegion": region, "from": from])
            #expect(r.status == 201 && r.string("filingId") != nil, "\(r)")
        }

        func settle(_ terminal: String, card: String, items: [[String: Any]] = MedicalSettlementAPITests.b1, level: Int = 3, emergency: Bool = false,
                    key: String = UUID().uuidString) async throws -> Reply {
            let body: [String: Any] = ["credential": try CatalogueAndAcceptanceAPITests.chipCredential(h, card: card), "care": "inpatient",
                                       "hospitalLevel": level, "emergency": emergency, "items": items]
            let data = try JSONSerialization.data(withJSONObject: body)
            return try await h.call(.post, "/api/v1/medical/settlements", token: terminal, body: String(decoding: data, as: UTF8.self),
                                    headers: ["Idempotency-Key": key])
        }

        func balance(_ person: String) async throws -> Int64? {
            try await h.services.store.read { try await $0.medical.insured(Person.ID(person))?.accountBalanceFen }
        }
    }

    static func amounts(_ r: Reply, _ keys: [String]) -> [Int] { keys.map { r[$0] as? Int ?? -1 } }
    static let split = ["inscpScpAmt", "actPayDedc", "hifpPay", "psnPartAmt", "acctPay", "psnCashPay"]

    @Test(arguments: Engine.available)
    func workedExamplesM1ToM3AndM7(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            // WE-M1: long-term filed in Shanghai, first stay, account 1,000 yuan.
            let (p1, c1) = try await f.insured("301")
            try await f.file(p1, kind: "long_term")
            let m1 = try await f.settle(f.shanghai, card: c1)
            #expect(m1.status == 201, "\(m1)")
            #expect(m1.string("filing") == "long_term" && m1["medfeeSumamt"] as? Int == 2_000_000 && m1["fulamtOwnpayAmt"] as? Int == 200_000
                    && m1["preselfpayAmt"] as? Int == 60_000 && m1["poolPropSelfpay"] as? Int == 85 && m1["balc"] as? Int == 0
                    && m1["fundPaySumamt"] as? Int == 1_368_500 && m1["policyVersion"] as? Int == 1, "\(m1)")
            #expect(Self.amounts(m1, Self.split) == [1_740_000, 130_000, 1_368_500, 631_500, 100_000, 531_500])
            #expect(try await f.balance(p1) == 0)

            // WE-M2: referral, 75 %.
            let (p2, c2) = try await f.insured("302")
            try await f.file(p2, kind: "referral")
            let m2 = try await f.settle(f.shanghai, card: c2)
            #expect(m2.string("filing") == "referral" && m2["poolPropSelfpay"] as? Int == 75, "\(m2)")
            #expect(Self.amounts(m2, Self.split) == [1_740_000, 130_000, 1_207_500, 792_500, 100_000, 692_500])
            // An emergency without a filing is paid like a referral.
            let (pe, ce) = try await f.insured("306")
            let me = try await f.settle(f.shanghai, card: ce, emergency: true)
            #expect(me.string("filing") == "emergency" && me["hifpPay"] as? Int == 1_207_500, "\(me)")
            _ = pe

            // WE-M3: other temporary, 65 %.
            let (p3, c3) = try await f.insured("303")
            // A temporary filing runs at least 6 months from its first day.
            try await f.file(p3, kind: "temporary", from: "2026-11-01")
            let m3 = try await f.settle(f.shanghai, card: c3)
            #expect(m3.string("filing") == "temporary" && m3["hifpPay"] as? Int == 1_046_500 && m3["psnCashPay"] as? Int == 853_500, "\(m3)")

            // WE-M7: unfiled and not an emergency: everything in cash, the account untouched, not a stay.
            let (p7, c7) = try await f.insured("307")
            let m7 = try await f.settle(f.shanghai, card: c7)
            #expect(m7.string("filing") == "none" && m7["hifpPay"] as? Int == 0 && m7["acctPay"] as? Int == 0 && m7["psnCashPay"] as? Int == 2_000_000, "\(m7)")
            #expect(try await f.balance(p7) == 100_000)
            let ytd = try await h.services.store.read { try await $0.medical.yearToDate(Person.ID(p7), care: .inpatient, year: 2026) }
            #expect(ytd == .zero)

            // The holder sees their insurance, filings and settlements, and files online.
            let holder = try await h.signUpHolder(idNumber: TestIDs.resident(sequence: "301"))
            let mine = try await h.call(.get, "/api/v1/me/medical", token: holder)
            #expect((mine["insured"] as? [String: Any])?["accountBalanceFen"] as? Int == 0, "\(mine)")
            #expect((mine["filings"] as? [Any])?.count == 1 && (mine["settlements"] as? [[String: Any]])?.first?["hifpPay"] as? Int == 1_368_500)
            let online = try await h.call(.post, "/api/v1/me/medical/filings", token: holder, json: ["kind": "temporary", "treatmentRegion": "320000", "from": "2026-11-01"])
            #expect(online.status == 201, "\(online)")
            let filings = try await h.call(.get, "/api/v1/me/medical/filings", token: holder)["filings"] as? [[String: Any]] ?? []
            #expect(filings.count == 2 && filings.contains { $0["channel"] as? String == "online" && $0["lastDay"] as? String == "2027-04-30" }, "\(filings)")
        }
    }

    @Test(arguments: Engine.available)
    func laterStayCapResidentAndMultiplier(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            // WE-M5: a first stay leaves the fund at 495,000 yuan paid; the second uses the later deductible and is capped.
            let (p5, c5) = try await f.insured("305", balance: 1_000)
            try await f.file(p5, kind: "long_term")
            let first = try await f.settle(f.shanghai, card: c5, items: [["code": "MED-A", "amountFen": 58_365_294, "quantity": 1]])
            #expect(first["hifpPay"] as? Int == 49_500_000 && first["acctPay"] as? Int == 1_000 && first["balc"] as? Int == 0, "\(first)")
            let m5 = try await f.settle(f.shanghai, card: c5)
            #expect(Self.amounts(m5, Self.split) == [1_740_000, 65_000, 500_000, 1_500_000, 0, 1_500_000], "\(m5)")

            // WE-M6: a Beijing resident, tertiary: 8,000 甲 + 2,000 乙 (200 pay-first); no account.
            let (_, c6) = try await f.insured("306", scheme: "resident", balance: nil)
            let m6 = try await f.settle(f.hebei, card: c6, items: [["code": "MED-A", "amountFen": 800_000, "quantity": 1],
                                                                    ["code": "MED-B", "amountFen": 200_000, "quantity": 1]])
            #expect(m6.string("filing") == "filing_free" && m6["inscpScpAmt"] as? Int == 980_000 && m6["hifpPay"] as? Int == 637_500
                    && m6["psnCashPay"] as? Int == 362_500 && m6["balc"] is NSNull, "\(m6)")

            // A resident has no account: recording one is refused and changes nothing.
            let bad = try await h.call(.put, "/api/v1/medical/insureds/\(p5)", token: f.medsec,
                                       json: ["scheme": "resident", "insuredRegion": "110000", "retired": false, "accountBalanceFen": 5])
            #expect(bad.status == 422 && bad.code == "account_not_for_scheme", "\(bad)")
            #expect(try await f.balance(p5) == 0)

            // WE-M4: the admin switches Beijing to the multiplier mode (80 % of the ratio): version 2, a temporary patient at 68 %.
            let put = try await h.call(.put, "/api/v1/medical/policies/110000", token: h.admin, json: [
                "scheme": "employee", "care": "inpatient", "deductibleFirstFen": 130_000, "deductibleLaterFen": 65_000,
                "ratioPercentByLevel": ["1": 90, "2": 87, "3": 85], "retireeUpliftPercent": 5, "annualCapFen": 50_000_000,
                "temporary": ["mode": "multiplier", "otherMultiplierPercent": 80], "filingFreeRegions": ["120000", "130000"],
            ])
            #expect(put.status == 200 && put["policyVersion"] as? Int == 2, "\(put)")
            let (p4, c4) = try await f.insured("304")
            try await f.file(p4, kind: "temporary", from: "2026-11-01")
            let m4 = try await f.settle(f.shanghai, card: c4)
            #expect(m4["poolPropSelfpay"] as? Int == 68 && m4["hifpPay"] as? Int == 1_094_800 && m4["psnCashPay"] as? Int == 805_200
                    && m4["policyVersion"] as? Int == 2, "\(m4)")
            // Points beyond the national maxima are refused.
            let tooMuch = try await h.call(.put, "/api/v1/medical/policies/110000", token: h.admin, json: [
                "scheme": "employee", "care": "inpatient", "deductibleFirstFen": 130_000, "deductibleLaterFen": 65_000,
                "ratioPercentByLevel": ["1": 90, "2": 87, "3": 85], "retireeUpliftPercent": 5, "annualCapFen": 50_000_000,
                "temporary": ["mode": "points", "referralPoints": 12, "otherPoints": 20], "filingFreeRegions": [],
            ])
            #expect(tooMuch.status == 422 && tooMuch.code == "reduction_beyond_national_maximum", "\(tooMuch)")
            let policies = try await h.call(.get, "/api/v1/medical/policies/110105", token: h.admin)["policies"] as? [[String: Any]] ?? []
            #expect(policies.first { $0["scheme"] as? String == "employee" && $0["care"] as? String == "inpatient" }?["policyVersion"] as? Int == 2)
        }
    }

    /// The issue's "done when": a Hebei hospital settles a Beijing employee's stay; a second stay uses the later deductible;
    /// the reversal restores everything; the same key answers the same; the month clears between Beijing and Hebei.
    @Test(arguments: Engine.available)
    func hebeiHospitalSettlesReversesAndClears(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            let (person, card) = try await f.insured("401")
            let first = try await f.settle(f.hebei, card: card, key: "bill-1")
            #expect(first.string("filing") == "filing_free" && first["actPayDedc"] as? Int == 130_000 && first["hifpPay"] as? Int == 1_368_500, "\(first)")
            // The same key answers the same, and nothing moves twice.
            let again = try await f.settle(f.hebei, card: card, key: "bill-1")
            #expect(again.status == 201 && again.string("settlementId") == first.string("settlementId"), "\(again)")
            #expect(try await h.count("medical_settlements") == 1)
            #expect(try await f.balance(person) == 0)
            // A second stay: the later deductible.
            let second = try await f.settle(f.hebei, card: card, key: "bill-2")
            #expect(second["actPayDedc"] as? Int == 65_000 && second["hifpPay"] as? Int == 1_423_750 && second["acctPay"] as? Int == 0, "\(second)")

            // WE-M8: reverse the first: the account and counters come back. Once the second is reversed too, no stay counts
            // and the next is a first stay again.
            let firstId = try #require(first.string("settlementId"))
            let r1 = try await h.call(.post, "/api/v1/medical/settlements/\(firstId)/reverse", token: f.hebei)
            #expect(r1.status == 201 && r1.string("reverses") == firstId && r1["hifpPay"] as? Int == -1_368_500 && r1["acctPay"] as? Int == -100_000
                    && r1["psnCashPay"] as? Int == -531_500 && r1["balc"] as? Int == 100_000, "\(r1)")
            #expect(try await f.balance(person) == 100_000)
            let twice = try await h.call(.post, "/api/v1/medical/settlements/\(firstId)/reverse", token: f.hebei)
            #expect(twice.status == 409 && twice.code == "already_reversed", "\(twice)")
            // Another hospital cannot reverse it; a reversal is not reversed.
            #expect(try await h.call(.post, "/api/v1/medical/settlements/\(firstId)/reverse", token: f.shanghai).code == "settlement_not_found")
            #expect(try await h.call(.post, "/api/v1/medical/settlements/\(try #require(r1.string("settlementId")))/reverse", token: f.hebei).code == "invalid_transition")
            let r2 = try await h.call(.post, "/api/v1/medical/settlements/\(try #require(second.string("settlementId")))/reverse", token: f.hebei)
            #expect(r2.status == 201)
            let ytd = try await h.services.store.read { try await $0.medical.yearToDate(Person.ID(person), care: .inpatient, year: 2026) }
            #expect(ytd == .zero)
            let again2 = try await f.settle(f.hebei, card: card, key: "bill-3")
            #expect(again2["actPayDedc"] as? Int == 130_000 && again2["hifpPay"] as? Int == 1_368_500 && again2["acctPay"] as? Int == 100_000, "\(again2)")

            // A Hebei insured person treated in Shanghai, a Beijing one in Shanghai: three pairs; reversals net out; net sums to zero.
            let (hp, hc) = try await f.insured("402", region: "130100")
            try await f.file(hp, kind: "long_term")
            let hebeiInShanghai = try await f.settle(f.shanghai, card: hc)
            #expect(hebeiInShanghai.status == 201, "\(hebeiInShanghai)")
            let clearing = try await h.call(.get, "/api/v1/medical/clearing?month=2026-11", token: h.admin)
            #expect(clearing.status == 200, "\(clearing)")
            let pairs = clearing["pairs"] as? [[String: Any]] ?? []
            let bjHebei = pairs.first { $0["insuredRegion"] as? String == "110000" && $0["treatmentRegion"] as? String == "130000" }
            #expect(bjHebei?["settlements"] as? Int == 1 && bjHebei?["fundFen"] as? Int == 1_368_500, "\(pairs)")
            let net = clearing["net"] as? [String: Int] ?? [:]
            #expect(net.values.reduce(0, +) == 0 && net["110000"] == -1_368_500 && net["130000"] == 1_368_500 - (hebeiInShanghai["hifpPay"] as? Int ?? 0), "\(net)")
            let auditor = try await h.call(.get, "/api/v1/medical/clearing?month=2026-10", token: h.agent)
            #expect(auditor.status == 403)
            #expect((try await h.call(.get, "/api/v1/medical/clearing?month=2026-10", token: h.admin)["pairs"] as? [Any])?.isEmpty == true)
            #expect(try await h.call(.get, "/api/v1/medical/clearing?month=2026-13", token: h.admin).code == "invalid_value")
            // Without a month: this month so far.
            _ = try await h.services.createStaffUser(username: "audit1", password: "auditor-password", role: .auditor)
            let auditorToken = try await h.services.accounts.staffToken(username: "audit1", password: "auditor-password").accessToken
            let current = try await h.call(.get, "/api/v1/medical/clearing", token: auditorToken)
            #expect(current["month"] as? String == "2026-11" && (current["net"] as? [String: Int])?.values.reduce(0, +) == 0, "\(current)")
        }
    }

    /// Reconciliation with other provinces on a node: a lone node has no hub to send statements through; a statement
    /// received (as the hub would relay it) is compared with this node's record and shown, naming the ids that differ.
    @Test(arguments: Engine.available)
    func aReceivedStatementIsReconciledWithThisNodesRecord(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a Beijing employee's stay settled at the Hebei hospital of this node, in November 2026
            let f = try await Fixture.make(h)
            let (person, card) = try await f.insured("701")
            try await f.file(person, kind: "long_term", region: "130000")
            let stay = try await f.settle(f.hebei, card: card, key: "rec-1")
            let id = try #require(stay.string("settlementId"), "\(stay)")
            // a lone node sends nothing; only an admin may ask
            let lone = try await h.call(.post, "/api/v1/medical/clearing/statements", token: h.admin, json: ["month": "2026-11"])
            #expect(lone.status == 404 && lone.code == "not_federated", "\(lone)")
            #expect(try await h.call(.post, "/api/v1/medical/clearing/statements", token: h.agent, json: ["month": "2026-11"]).status == 403)
            #expect((try await h.call(.get, "/api/v1/medical/clearing/reconciliations?month=2026-11", token: h.admin)["reconciliations"] as? [Any])?.isEmpty == true)
            #expect(try await h.call(.get, "/api/v1/medical/clearing/reconciliations?month=2026-13", token: h.admin).code == "invalid_value")
            // Hebei's statement (this node being Beijing's) names this stay and one this node never recorded
            let theirs = MedicalStatement(month: "2026-11", region: "130000", pairs: [
                .init(insuredRegion: "110000", treatmentRegion: "130000", settlements: 2, fundFen: 2_737_000, records: [id: 1_368_500, "s-unknown": 1_368_500]),
            ])
            try await h.services.store.write { try await MedicalService.reconcile(theirs, region: "110000", at: Date(), in: $0) }
            // validate
            let r = try await h.call(.get, "/api/v1/medical/clearing/reconciliations?month=2026-11", token: h.admin)
            let line = try #require((r["reconciliations"] as? [[String: Any]])?.first, "\(r)")
            #expect(line["counterpart"] as? String == "130000" && line["status"] as? String == "differs", "\(line)")
            #expect(line["onlyThere"] as? [String] == ["s-unknown"] && (line["onlyHere"] as? [String])?.isEmpty == true, "\(line)")
            // the administrator's medical page says so, with the id
            let admin = PageBrowser(h)
            try await admin.signIn(staff: "admin")
            let page = try await admin.get("/admin/medical?month=2026-11").html
            #expect(page.contains("id=\"reconciliations\"") && page.contains("不一致") && page.contains("s-unknown"), "\(page)")
        }
    }

    /// Bills of one person settled at the same time are split one after the other: the account pays each from what the
    /// previous left, the counters count every stay once, and the same key sent twice at once settles once.
    @Test(arguments: Engine.available)
    func concurrentBillsOfOnePersonAndRepeatedKeys(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            let (person, card) = try await f.insured("601", balance: 250_000)
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for i in 0..<6 {
                    group.addTask {
                        // Fully self-paid (丙类): the account pays first.
                        try await f.settle(f.hebei, card: card, items: [["code": "MED-C", "amountFen": 100_000, "quantity": 1]], key: "k-\(i % 3)")
                    }
                }
                var out: [Reply] = []
                for try await r in group { out.append(r) }
                return out
            }
            #expect(replies.allSatisfy { $0.status == 201 }, "\(replies)")
            #expect(Set(replies.compactMap { $0.string("settlementId") }).count == 3)
            #expect(try await h.count("medical_settlements") == 3)
            let paid = Set(replies.compactMap { r in r.string("settlementId").map { "\($0):\(r["acctPay"] as? Int ?? -1)" } }).map { Int($0.split(separator: ":")[1])! }
            #expect(paid.sorted() == [50_000, 100_000, 100_000], "\(paid)")
            #expect(try await f.balance(person) == 0)
            let ytd = try await h.services.store.read { try await $0.medical.yearToDate(Person.ID(person), care: .inpatient, year: 2026) }
            #expect(ytd.stays == 3)
        }
    }

    /// Bills arriving together are written in one transaction (group commit), each decided on its own: the others
    /// settle, and a refused one leaves nothing behind — its QR code is not spent and settles once the cause is gone.
    @Test(arguments: Engine.available)
    func billsSettledTogetherDoNotShareARefusal(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            var cards: [String] = []
            for n in 0..<4 { cards.append(try await f.insured("61\(n)", balance: 0).1) }
            let (holder, person, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "619"))
            let token = try await h.qrToken(holder)
            func qrBill(_ key: String) async throws -> Reply {
                let data = try JSONSerialization.data(withJSONObject: ["credential": ["kind": "qr", "token": token], "care": "inpatient", "hospitalLevel": 3,
                                                                       "emergency": false, "items": Self.b1])
                return try await h.call(.post, "/api/v1/medical/settlements", token: f.hebei, body: String(decoding: data, as: UTF8.self),
                                        headers: ["Idempotency-Key": key])
            }
            let replies = try await withThrowingTaskGroup(of: (Int, Reply).self) { group in
                for (i, card) in cards.enumerated() { group.addTask { (i, try await f.settle(f.hebei, card: card, key: "g-\(i)")) } }
                group.addTask { (9, try await qrBill("g-qr")) }  // not insured yet: refused
                var out: [Int: Reply] = [:]
                for try await (i, r) in group { out[i] = r }
                return out.sorted { $0.key < $1.key }.map(\.value)
            }
            // Four persons alike, four equal splits (each on its own counters), whatever group carried them.
            #expect(replies.prefix(4).allSatisfy { $0.status == 201 } && Set(replies.prefix(4).map { $0["hifpPay"] as? Int ?? -1 }).count == 1, "\(replies)")
            #expect(replies.last?.code == "not_insured", "\(replies)")
            #expect(try await h.count("medical_settlements") == 4)
            // Insured now: the same QR code settles (the refusal spent nothing), once.
            let put = try await h.call(.put, "/api/v1/medical/insureds/\(person)", token: f.medsec,
                                       json: ["scheme": "employee", "insuredRegion": "110000", "retired": false, "accountBalanceFen": 0])
            #expect(put.status == 200, "\(put)")
            #expect(try await qrBill("g-qr-2").status == 201)
            #expect(try await qrBill("g-qr-3").string("reason") == "token_replayed")
            #expect(try await h.count("medical_settlements") == 5)
        }
    }

    /// One group's transaction (group commit) settles many bills with a handful of statements: two bills of one person
    /// in arrival order (the second from what the first left in the account), a key repeated in the group answered with
    /// the first's record, a refused bill spending nothing, one QR code presented twice settling once, and the audit
    /// chain, appended for the whole group at once, intact.
    @Test(arguments: Engine.available)
    func aGroupOfBillsIsSettledTogether(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            let (venueId, terminal) = try await f.hospital("石家庄某二级医院")
            let (a, cardA) = try await f.insured("631", balance: 150_000)
            let (b, cardB) = try await f.insured("632", balance: 100_000)
            let (uninsured, cardU) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "633"), outlet: f.outlet)
            let (holder, q, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "634"))
            #expect(try await h.call(.put, "/api/v1/medical/insureds/\(q)", token: f.medsec,
                                     json: ["scheme": "employee", "insuredRegion": "110000", "retired": false, "accountBalanceFen": 0]).status == 200)
            let token = try await h.qrToken(holder)
            let chip = f.chip
            func pending(_ credential: AcceptanceService.Credential, key: String) -> MedicalService.PendingSettlement {
                f.pending(credential, terminal: terminal, venueId: venueId, key: key, amountFen: 100_000)
            }
            let refused = try chip(cardU)
            let results = await h.services.medical.settle([
                pending(try chip(cardA), key: "a1"), pending(try chip(cardA), key: "a2"), pending(try chip(cardB), key: "b1"),
                pending(try chip(cardA), key: "a1"), pending(refused, key: "u1"), pending(.qr(token: token), key: "q1"), pending(.qr(token: token), key: "q2"),
            ])
            let records = results.map { try? $0.get() }
            func refusal(_ r: Result<MedicalSettlementRecord, any Error>) -> DomainError? { if case .failure(let e) = r { e as? DomainError } else { nil } }
            #expect(records[0]?.split.acctPay == 100_000 && records[1]?.split.acctPay == 50_000 && records[2]?.split.acctPay == 100_000, "\(results)")
            #expect(records[3]?.settlementId == records[0]?.settlementId, "a key repeated in the group: the first's record")
            #expect(refusal(results[4])?.code == .notInsured, "\(results[4])")
            #expect(records[5]?.split.psnCashPay == 100_000, "\(results[5])")
            #expect(refusal(results[6])?.extensions["reason"] == "token_replayed", "\(results[6])")
            #expect(try await f.balance(a) == 0)
            #expect(try await f.balance(b) == 0)
            #expect(try await h.count("medical_settlements") == 4)
            let ytd = try await h.services.store.read { try await $0.medical.yearToDate(Person.ID(a), care: .inpatient, year: 2026) }
            #expect(ytd.stays == 2, "\(ytd)")
            // The refusal spent nothing: the same chip answer settles once the person is insured.
            #expect(try await h.call(.put, "/api/v1/medical/insureds/\(uninsured)", token: f.medsec,
                                     json: ["scheme": "employee", "insuredRegion": "110000", "retired": false, "accountBalanceFen": 0]).status == 200)
            #expect((try? await h.services.medical.settle([pending(refused, key: "u2")])[0].get()) != nil)
            _ = try await h.services.createStaffUser(username: "audit1", password: "auditor-password", role: .auditor)
            let auditor = try await h.services.accounts.staffToken(username: "audit1", password: "auditor-password").accessToken
            let chain = try await h.call(.get, "/api/v1/audit/verification", token: auditor)
            #expect(chain["intact"] as? Bool == true, "\(chain)")
        }
    }

    /// Two groups in flight at once (PostgreSQL's two lanes) with the same persons in opposite orders and one request in
    /// both: neither deadlocks, every stay is counted once, and the request in both is settled once, both answered with it.
    @Test(arguments: Engine.available)
    func twoGroupsInFlightOnTheSamePersonsSettleEachBillOnce(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            let (venueId, terminal) = try await f.hospital("石家庄某三级医院")
            let (a, cardA) = try await f.insured("641", balance: 1_000_000)
            let (b, cardB) = try await f.insured("642", balance: 1_000_000)
            func pending(_ card: String, key: String) throws -> MedicalService.PendingSettlement {
                f.pending(try f.chip(card), terminal: terminal, venueId: venueId, key: key, amountFen: 10_000)  // the account pays it all
            }
            let shared = try pending(cardA, key: "both")
            let first = try (0..<6).map { try pending($0 % 2 == 0 ? cardA : cardB, key: "x\($0)") } + [shared]
            let second = try [shared] + (0..<6).map { try pending($0 % 2 == 0 ? cardB : cardA, key: "y\($0)") }
            async let one = h.services.medical.settle(first)
            async let two = h.services.medical.settle(second)
            let (r1, r2) = await (one, two)
            let ids = try (r1 + r2).map { try $0.get().settlementId }
            #expect(ids.count == 14 && Set(ids).count == 13, "\(ids)")
            #expect(try r1[6].get().settlementId == r2[0].get().settlementId, "the request in both groups: one record")
            #expect(try await h.count("medical_settlements") == 13)
            #expect(try await f.balance(a) == 1_000_000 - 7 * 10_000)
            #expect(try await f.balance(b) == 1_000_000 - 6 * 10_000)
            let stays = try await h.services.store.read { s in
                (try await s.medical.yearToDate(Person.ID(a), care: .inpatient, year: 2026).stays, try await s.medical.yearToDate(Person.ID(b), care: .inpatient, year: 2026).stays)
            }
            #expect(stays == (7, 6), "\(stays)")
        }
    }

    /// The e-card's QR code settles like the card, and one code settles one bill.
    @Test(arguments: Engine.available)
    func aQRCodeSettlesOneBill(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            let (holder, person, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "701"))
            let put = try await h.call(.put, "/api/v1/medical/insureds/\(person)", token: f.medsec,
                                       json: ["scheme": "employee", "insuredRegion": "110000", "retired": true, "accountBalanceFen": 0])
            #expect(put.status == 200, "\(put)")
            let token = try await h.qrToken(holder)
            func settle(_ key: String) async throws -> Reply {
                let data = try JSONSerialization.data(withJSONObject: ["credential": ["kind": "qr", "token": token], "care": "inpatient", "hospitalLevel": 3,
                                                                       "emergency": false, "items": Self.b1])
                return try await h.call(.post, "/api/v1/medical/settlements", token: f.hebei, body: String(decoding: data, as: UTF8.self),
                                        headers: ["Idempotency-Key": key])
            }
            // A retired Beijing employee: 85 % + 5 points.
            let first = try await settle("qr-1")
            #expect(first.status == 201 && first["poolPropSelfpay"] as? Int == 90 && first["hifpPay"] as? Int == 1_449_000, "\(first)")
            let replayed = try await settle("qr-2")
            #expect(replayed.code == "credential_refused" && replayed.string("reason") == "token_replayed", "\(replayed)")
            #expect(try await h.count("medical_settlements") == 1)
        }
    }

    @Test(arguments: Engine.available)
    func badInputChangesNothing(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let f = try await Fixture.make(h)
            let (person, card) = try await f.insured("501")
            // No Idempotency-Key; a level 4 hospital; no lines; a card no one insured.
            let body = try String(decoding: JSONSerialization.data(withJSONObject: ["credential": try CatalogueAndAcceptanceAPITests.chipCredential(h, card: card),
                "care": "inpatient", "hospitalLevel": 3, "emergency": false, "items": Self.b1]), as: UTF8.self)
            #expect(try await h.call(.post, "/api/v1/medical/settlements", token: f.hebei, body: body).code == "idempotency_key_required")
            #expect(try await f.settle(f.hebei, card: card, level: 4).status == 422)
            #expect(try await f.settle(f.hebei, card: card, items: []).status == 422)
            let (_, stranger) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "502"), outlet: f.outlet)
            #expect(try await f.settle(f.hebei, card: stranger).code == "not_insured")
            // A forged chip answer is refused with the acceptance reason.
            var forged = try CatalogueAndAcceptanceAPITests.chipCredential(h, card: card)
            forged["response"] = Data(repeating: 7, count: 32).base64EncodedString()
            let data = try JSONSerialization.data(withJSONObject: ["credential": forged, "care": "inpatient", "hospitalLevel": 3, "emergency": false, "items": Self.b1])
            let refused = try await h.call(.post, "/api/v1/medical/settlements", token: f.hebei, body: String(decoding: data, as: UTF8.self),
                                           headers: ["Idempotency-Key": "forged"])
            #expect(refused.status == 422 && refused.code == "credential_refused" && refused.string("reason") == "chip_auth_failed", "\(refused)")
            // A terminal of a venue that is not a hospital may not settle.
            let (_, library) = try await h.createVenue(type: "library", region: "110105", items: ["JJJ-LIB-001"])
            #expect(try await f.settle(library, card: card).code == "venue_not_permitted")
            #expect(try await h.count("medical_settlements") == 0)
            #expect(try await f.balance(person) == 100_000)

            // Scopes: a department user without medical_security may not record insured persons; only department users have a scope.
            _ = try await h.call(.post, "/api/v1/users", token: h.admin, json: ["username": "hrss", "password": "hrss-password", "role": "department", "scope": "hrss"])
            let hrss = try #require(try await h.call(.post, "/api/v1/auth/token", json: ["username": "hrss", "password": "hrss-password"]).string("accessToken"))
            let denied = try await h.call(.put, "/api/v1/medical/insureds/\(person)", token: hrss, json: ["scheme": "employee", "insuredRegion": "110000", "retired": false,
                                                                                                      "accountBalanceFen": 1])
            #expect(denied.status == 403 && denied.code == "forbidden")
            let scoped = try await h.call(.post, "/api/v1/users", token: h.admin, json: ["username": "scoped-admin", "password": "admin-password2", "role": "admin",
                                                                                        "scope": "hrss"])
            #expect(scoped.code == "scope_not_allowed")
            #expect(try await h.call(.put, "/api/v1/medical/insureds/nobody", token: f.medsec, json: ["scheme": "resident", "insuredRegion": "110000",
                                                                                                  "retired": false]).code == "person_not_found")
            #expect(try await h.call(.post, "/api/v1/medical/catalogue/publish", token: h.admin).code == "nothing_to_publish")
            #expect(try await h.call(.post, "/api/v1/medical/catalogue/items", token: h.admin, json: ["code": "X", "name": "甲", "category": "A",
                                                                                                      "preselfpayPercent": 10]).code == "preselfpay_only_for_category_b")
            #expect(try await h.call(.post, "/api/v1/medical/filings", token: h.agent, json: ["personId": person, "kind": "long_term", "treatmentRegion": "310100",
                                                                                              "from": "2026-01-01"]).code == "invalid_region_code")
            #expect(try await h.call(.post, "/api/v1/medical/filings", token: h.agent, json: ["personId": person, "kind": "referral", "treatmentRegion": "310000",
                                                                                              "from": "2026-03-01", "to": "2026-02-01"]).code == "invalid_time_range")
            #expect((try await h.call(.get, "/api/v1/medical/catalogue")["items"] as? [Any])?.count == 3)
        }
    }
}
