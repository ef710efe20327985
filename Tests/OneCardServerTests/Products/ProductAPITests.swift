import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Products and bills on the card: paid once from the card's account through the bank (Beijing Minsheng art. 2)")
struct ProductAPITests {
    /// The platform with a bank-sim connected as ICBC and a holder with a card whose account holds `balance` fen.
    struct World: Sendable {
        let h: Harness
        let bank: BankSimulator.Running
        let holder: String
        let person: String
        let card: String

        func fund(_ fen: Int) async throws {
            let account = try await h.account(card)
            let r = try await HTTPClient1.toSimulator.send("POST", bank.url + "/accounts/\(account)/balance", headers: [("Content-Type", "application/json")],
                                                 body: Data(#"{"balanceFen":\#(fen)}"#.utf8))
            #expect(r.status == 200)
        }

        func balance() async throws -> Int {
            let r = try await HTTPClient1.toSimulator.send("GET", bank.url + "/accounts/\(try await h.account(card))")
            return (try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["balanceFen"] as? Int ?? -1
        }

        /// The bank's statement of debits: the witness of what was taken.
        func debits() async throws -> [(debitId: String, account: String, amountFen: Int64)] { try await BankSimulator.debits(bank.store) }

        func pay(_ biller: String = "BJ-WATER", ref: String = "0102030405", fen: Int, key: String?) async throws -> Reply {
            try await h.call(.post, "/api/v1/me/bills", token: holder, body: String(decoding: try JSONSerialization.data(withJSONObject: [
                "biller": biller, "customerRef": ref, "amountFen": fen]), as: UTF8.self), headers: key.map { ["Idempotency-Key": $0] } ?? [:])
        }

        func registerWater() async throws {
            let r = try await h.call(.post, "/api/v1/billers", token: h.admin, json: [
                "code": "BJ-WATER", "name": "北京市自来水集团", "kind": "water", "account": ["bankCode": "ICBC", "accountNumber": "6222000099998888777"]])
            #expect(r.status == 201, "\(r)")
        }
    }

    /// A bank-sim that takes the money and loses every answer: it, its books and its port (to start it again there).
    static func lossyBank() async throws -> (BankSimulator.Running, books: String, port: Int) {
        let books = FileManager.default.temporaryDirectory.appendingPathComponent("bank-\(UUID().uuidString).sqlite").path
        let lossy = try await BankSimulator.start(.init(bank: "ICBC", port: 0, storePath: books, failRate: 0, loseReplyRate: 1), logger: TestDatabase.logger)
        return (lossy, books, Int(lossy.url.split(separator: ":").last?.filter(\.isNumber) ?? "") ?? 0)
    }

    /// The same bank (its books, its port) answering again.
    static func bankAnsweringAgain(books: String, port: Int) async throws -> BankSimulator.Running {
        try await BankSimulator.start(.init(bank: "ICBC", port: port, storePath: books, failRate: 0, loseReplyRate: 0), logger: TestDatabase.logger)
    }

    static func run(_ engine: Engine, bank: BankSimulator.Running? = nil, _ body: @Sendable (World) async throws -> Void) async throws {
        @Sendable func go(_ bank: BankSimulator.Running) async throws {
            try await Harness.run(engine) { h in
                try await h.createBank("ICBC", endpoint: bank.url)
                let (holder, person, card) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "881"))
                try await body(World(h: h, bank: bank, holder: holder, person: person, card: card))
            }
        }
        if let bank { try await go(bank) } else { try await withBank("ICBC") { try await go($0) } }
    }

    @Test(arguments: Engine.available)
    func aBillIsPaidOncePerKeyAndNotWithoutMoney(_ engine: Engine) async throws {
        try await Self.run(engine) { w in
            let h = w.h
            // setup: billers are registered by an administrator only, at a cooperating bank
            #expect(try await h.call(.post, "/api/v1/billers", token: w.holder, json: [
                "code": "BJ-WATER", "name": "北京市自来水集团", "kind": "water", "account": ["bankCode": "ICBC", "accountNumber": "6222000099998888777"]]).status == 403)
            #expect(try await h.call(.post, "/api/v1/billers", token: h.admin, json: [
                "code": "BJ-GAS", "name": "北京燃气", "kind": "gas", "account": ["bankCode": "NOBANK", "accountNumber": "6222000099998888777"]]).code == "unknown_bank")
            try await w.registerWater()
            #expect(try await h.call(.post, "/api/v1/billers", token: h.admin, json: [
                "code": "BJ-WATER", "name": "又一个", "kind": "water", "account": ["bankCode": "ICBC", "accountNumber": "6222000099998888777"]]).code == "biller_exists")
            let billers = try await h.call(.get, "/api/v1/billers", token: w.holder)["billers"] as? [[String: Any]] ?? []
            #expect(billers.map { $0["code"] as? String } == ["BJ-WATER"])
            #expect((billers.first?["account"] as? [String: Any])?["accountMasked"] as? String != "6222000099998888777")
            try await w.fund(10_000)

            // A bill needs an Idempotency-Key; an unknown biller is refused with nothing taken.
            #expect(try await w.pay(fen: 8_650, key: nil).code == "idempotency_key_required")
            #expect(try await w.pay("BJ-NONE", fen: 8_650, key: "k0").code == "biller_not_found")

            // The action: pay ¥86.50, then repeat the same request with the same key.
            let paid = try await w.pay(fen: 8_650, key: "water-2026-11")
            #expect(paid.status == 201, "\(paid)")
            #expect(paid.string("status") == "paid")
            let again = try await w.pay(fen: 8_650, key: "water-2026-11")
            #expect(again.status == 201 && again.string("billPaymentId") == paid.string("billPaymentId"), "\(again)")
            // The same key for another bill is refused.
            #expect(try await w.pay(fen: 100, key: "water-2026-11").code == "idempotency_key_reused")

            // Not enough money: 409, nothing taken, and the repeat answers the same.
            let short = try await w.pay(fen: 5_000, key: "water-2026-12")
            #expect(short.status == 409 && short.code == "insufficient_funds", "\(short)")
            #expect(try await w.pay(fen: 5_000, key: "water-2026-12").code == "insufficient_funds")

            // validate: the bank took ¥86.50 once; the holder's receipts show both bills; each step is audited
            let taken = try await w.debits()
            #expect(taken.map(\.amountFen) == [8_650], "\(taken)")
            #expect(taken.first?.account == (try await h.account(w.card)))
            #expect(try await w.balance() == 1_350)
            let bills = try await h.call(.get, "/api/v1/me/bills", token: w.holder)["bills"] as? [[String: Any]] ?? []
            #expect(bills.count == 2)
            #expect(Set(bills.compactMap { $0["status"] as? String }) == ["paid", "failed"], "\(bills)")
            #expect(bills.allSatisfy { $0["customerRef"] as? String == "0102030405" && $0["biller"] as? String == "BJ-WATER" })
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(w.person)") }
            #expect(audit.filter { $0.action == "bill_paid" }.count == 1)
            #expect(audit.contains { $0.action == "bill_refused" })
            #expect(try await h.services.store.read { try await $0.audit.list(subject: "biller:BJ-WATER") }.contains { $0.action == "biller_registered" })
        }
    }

    @Test(arguments: Engine.available)
    func aBankThatDoesNotAnswerLeavesTheBillToBePaidOnceOnRepeat(_ engine: Engine) async throws {
        // setup: a bank that takes the money and loses every answer, then the same bank (its books, its port) answering again
        let (lossy, books, port) = try await Self.lossyBank()
        do {
            try await Self.run(engine, bank: lossy) { w in
                let h = w.h
                try await w.registerWater()
                try await w.fund(10_000)

                // The action: the bank takes it but its answer is lost.
                let lost = try await w.pay(fen: 3_000, key: "heat-1")
                #expect(lost.status == 503 && lost.code == "bank_unavailable", "\(lost)")
                let recorded = try await h.call(.get, "/api/v1/me/bills", token: w.holder)["bills"] as? [[String: Any]] ?? []
                #expect(recorded.map { $0["status"] as? String } == ["paying"], "\(recorded)")
                #expect(try await w.debits().map(\.amountFen) == [3_000])

                // The bank answers again: the repeat is sent under the same debit id, and the bank does not take it twice.
                await lossy.stop()
                let healthy = try await Self.bankAnsweringAgain(books: books, port: port)
                defer { Task { await healthy.stop() } }
                // The gateway's circuit breaker opened on the lost answers: the holder repeats after its cool-down.
                try await Task.sleep(for: .seconds(2.5))
                let repeated = try await w.pay(fen: 3_000, key: "heat-1")
                #expect(repeated.status == 201 && repeated.string("status") == "paid", "\(repeated)")
                #expect(repeated.string("billPaymentId") == recorded.first?["billPaymentId"] as? String)

                // validate: one debit at the bank, one paid bill, the balance down once
                #expect(try await BankSimulator.debits(healthy.store).map(\.amountFen) == [3_000])
                #expect(try await w.balance() == 7_000)
                await healthy.stop()
            }
        } catch { await lossy.stop(); throw error }
        await lossy.stop()
    }

    @Test(arguments: Engine.available)
    func aBillAndAPassWhoseAnswerWasLostAreSettledWithoutTheHolderAsking(_ engine: Engine) async throws {
        // setup: the bank takes the money and loses every answer; the holder never asks again
        let (lossy, books, port) = try await Self.lossyBank()
        do {
            try await Self.run(engine, bank: lossy) { w in
                let h = w.h
                try await w.registerWater()
                try await w.fund(20_000)
                #expect(try await w.pay(fen: 3_000, key: "water-1").code == "bank_unavailable")
                let pass = try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "park_annual", "year": 2026])
                #expect(pass.code == "bank_unavailable", "\(pass)")
                // Too recent to sweep: a holder's own repeat may still be on its way.
                #expect(try await h.services.products.settleUnderWay() == 0)

                await lossy.stop()
                let healthy = try await Self.bankAnsweringAgain(books: books, port: port)
                defer { Task { await healthy.stop() } }
                try await Task.sleep(for: .seconds(2.5))  // the gateway's circuit breaker cools down
                h.clock.advance(by: 31)
                // The action: the sweep asks the bank again under the same debit ids.
                #expect(try await h.services.products.settleUnderWay() == 2)
                #expect(try await h.services.products.settleUnderWay() == 0)

                // validate: each paid once (the bank's statement), both settled, the balance down once each
                let bills = try await h.call(.get, "/api/v1/me/bills", token: w.holder)["bills"] as? [[String: Any]] ?? []
                #expect(bills.map { $0["status"] as? String } == ["paid"], "\(bills)")
                let passes = try await h.call(.get, "/api/v1/me/passes", token: w.holder)["passes"] as? [[String: Any]] ?? []
                #expect(passes.map { $0["status"] as? String } == ["active"], "\(passes)")
                #expect(try await BankSimulator.debits(healthy.store).map(\.amountFen).sorted() == [3_000, 12_000])
                #expect(try await w.balance() == 5_000)
                await healthy.stop()
            }
        } catch { await lossy.stop(); throw error }
        await lossy.stop()
    }

    @Test(arguments: Engine.available)
    func aPassIsBoughtOncePerYearAndBecomesAnEntitlement(_ engine: Engine) async throws {
        try await Self.run(engine) { w in
            let h = w.h
            // setup: Beijing's pack sells the park annual pass; the holder has ¥200
            let listed = try await h.call(.get, "/api/v1/products")["products"] as? [[String: Any]] ?? []
            let park = try #require(listed.first { $0["code"] as? String == "park_annual" })
            let price = try #require(park["priceFen"] as? Int)
            #expect(park["entitlement"] as? String == "pass:park_annual")
            try await w.fund(20_000)

            // The action: buy the 2026 pass (the harness's clock is in November 2026).
            let bought = try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "park_annual", "year": 2026])
            #expect(bought.status == 201, "\(bought)")
            #expect(bought.string("validFrom") == "2026-01-01" && bought.string("validTo") == "2026-12-31")
            #expect(bought["chargedFen"] as? Int == price)

            // A second one for 2026: 409 pass_exists, nothing taken.
            let second = try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "park_annual", "year": 2026])
            #expect(second.status == 409 && second.code == "pass_exists", "\(second)")
            #expect(try await w.debits().map(\.amountFen) == [Int64(price)])
            #expect(try await w.balance() == 20_000 - price)

            // Years not on sale, unknown products, and not enough money are refused with nothing taken.
            #expect(try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "park_annual", "year": 2025]).code == "pass_year_not_offered")
            #expect(try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "zoo_annual", "year": 2026]).code == "product_not_found")
            try await w.fund(price - 1)
            #expect(try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "park_annual", "year": 2027]).code == "insufficient_funds")
            #expect(try await w.debits().count == 1)
            // With money, next year's pass can be bought: the refused attempt does not block it.
            try await w.fund(price)
            #expect(try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "park_annual", "year": 2027]).status == 201)

            // validate: the holder's passes; the pass is the entitlement pass:park_annual on days it is valid only
            let mine = try await h.call(.get, "/api/v1/me/passes", token: w.holder)["passes"] as? [[String: Any]] ?? []
            #expect(mine.map { "\($0["year"] ?? "")/\($0["status"] ?? "")" }.sorted() == ["2026/active", "2027/active", "2027/failed"], "\(mine)")
            let person = Person.ID(w.person)
            #expect(try await h.services.products.activePassCodes(personId: person, on: CalendarDay("2026-11-18")!) == ["pass:park_annual"])
            #expect(try await h.services.products.activePassCodes(personId: person, on: CalendarDay("2028-01-01")!) == [])
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(w.person)") }
            #expect(audit.filter { $0.action == "pass_bought" }.count == 2)
            #expect(audit.contains { $0.action == "pass_refused" })
        }
    }

    /// The single entitlement rule carries passes: an item that requires the park annual pass opens once the pass is bought,
    /// and a department reads the pass among the person's shared entitlement data (Beijing Minsheng art. 10).
    @Test(arguments: Engine.available)
    func aPassOpensTheItemsThatRequireIt(_ engine: Engine) async throws {
        try await Self.run(engine) { w in
            let h = w.h
            try await h.seedCatalogue()
            let item: [String: Any] = ["code": "11-PARKPASS-001", "name": "公园年票入园", "domain": "tourism", "scenario": "凭公园年票刷社保卡入园",
                                       "cardForms": ["physical", "electronic"], "level": "provincial", "regions": ["110000"], "issuers": ["*"],
                                       "venueTypes": ["park"], "legalBasis": "北京市民生卡 第二条（公园年票）", "effectiveFrom": "2026-01-01",
                                       "requires": ["pass:park_annual"]]
            #expect(try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["item": item]).status == 201)
            #expect(try await h.call(.post, "/api/v1/catalogue/publish", token: h.admin).status == 200)
            let gate = try await h.createVenue(type: "park", region: "110105", items: ["11-PARKPASS-001"], name: "朝阳公园").1
            func enter() async throws -> Reply {
                try await h.accept(key: gate, item: "11-PARKPASS-001", credential: try CatalogueAndAcceptanceAPITests.chipCredential(h, card: w.card))
            }
            #expect(try await enter().string("reason") == "concession_not_held")
            try await w.fund(20_000)
            #expect(try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "park_annual", "year": 2026]).status == 201)
            let entered = try await enter()
            #expect(entered.string("decision") == "accepted" && (entered["entitlements"] as? [String])?.contains("pass:park_annual") == true, "\(entered)")
            let clerk = try await h.signedInStaff("minzheng", .department)
            let shared = try await h.call(.get, "/api/v1/persons/\(w.person)/entitlements", token: clerk, headers: ["X-Purpose": "核验公园年票"])
            let passes = shared["passes"] as? [[String: Any]] ?? []
            #expect(passes.count == 1 && passes[0]["product"] as? String == "park_annual" && passes[0]["validTo"] as? String == "2026-12-31", "\(shared)")
            #expect((shared["entitlements"] as? [String])?.contains("pass:park_annual") == true)
            // The pass's days are the platform's clock's, never the machine's: on a clock set back to 2024 (as a replayed
            // day or a test is), a 2024 pass is an entitlement though the machine's own date is years past its end.
            h.clock.advance(by: -2.5 * 365 * 86_400)
            try await w.fund(20_000)
            let bought = try await h.call(.post, "/api/v1/me/passes", token: w.holder, json: ["product": "park_annual", "year": 2024])
            #expect(bought.status == 201, "\(bought)")
            let back = try await h.call(.get, "/api/v1/persons/\(w.person)/entitlements", token: clerk, headers: ["X-Purpose": "核验公园年票"])
            #expect((back["entitlements"] as? [String])?.contains("pass:park_annual") == true, "\(back)")
        }
    }
}
