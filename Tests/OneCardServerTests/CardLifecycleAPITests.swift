import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Card applications and the card lifecycle over HTTP")
struct CardLifecycleAPITests {
    @Test(arguments: Engine.available)
    func aCardGoesFromApplicationToCancellationWithEveryEvent(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            let outlet = try await h.createOutlet()
            let pickup = try await h.createOutlet(region: "110108", name: "海淀区人社服务站")
            try await h.createBank()
            let person = try await h.createPerson()

            // apply at one outlet, pick up at another (申请、收受分离)
            let app = try await h.call(.post, "/api/v1/card-applications", token: h.agent, json: [
                "personId": person, "channel": "counter", "applyOutletId": outlet, "pickupOutletId": pickup, "bankCode": "ICBC",
            ])
            #expect(app.status == 201, "\(app)")
            #expect(app.string("status") == "submitted")
            #expect(app["remote"] as? Bool == false)
            // Beijing's pack publishes a 15-day time limit.
            #expect(app.string("dueAt") == Timestamp.format(Harness.start.addingTimeInterval(15 * 86_400)))
            let id = try #require(app.string("applicationId"))

            #expect(try await h.step(id, "approve").string("status") == "approved")
            let produced = try await h.step(id, "produce")
            let number = try #require(produced.string("cardNumber"))
            #expect(number.count == 9)
            // The chip key is the card number diversified under the node's master key.
            #expect(produced.string("chipKey") == h.services.chipKeys.base64Key(for: try CardNumber(number)))
            #expect(try await h.step(id, "ready").string("status") == "ready")
            #expect(try await h.call(.get, "/api/v1/cards/\(number)", token: h.agent).code == "card_not_found")  // not issued before collection
            #expect(try await h.step(id, "collect").string("status") == "collected")

            let card = try await h.call(.get, "/api/v1/cards/\(number)", token: h.agent)
            #expect(card.string("status") == "issued")
            #expect(card.string("issuerRegion") == "110000")
            #expect(card.string("bankCode") == "ICBC")
            #expect((card.string("accountMasked") ?? "").hasPrefix("****"))
            #expect(card.string("identificationCode")?.hasPrefix("110000D156000005") == true)
            #expect((card["functions"] as? [String: Bool]) == ["transit": true, "financial": true])

            let steps: [(String, [String: Any]?, String)] = [
                ("activate", ["pin": "135790"], "active"),
                ("report-loss", ["kind": "temporary"], "temporarily_lost"),
                ("unlock", nil, "active"),
                ("report-loss", ["kind": "formal"], "lost"),
            ]
            for (action, body, expected) in steps {
                let r = body == nil ? try await h.call(.post, "/api/v1/cards/\(number)/\(action)", token: h.agent)
                    : try await h.call(.post, "/api/v1/cards/\(number)/\(action)", token: h.agent, json: body!)
                #expect(r.status == 200 && r.string("status") == expected, "\(action): \(r)")
            }
            let replaced = try await h.call(.post, "/api/v1/cards/\(number)/replace", token: h.agent, json: ["reason": "lost"])
            #expect(replaced.status == 201, "\(replaced)")
            #expect(replaced.string("status") == "issued")
            let newNumber = try #require(replaced.string("cardNumber"))
            #expect(replaced.string("chipKey") == h.services.chipKeys.base64Key(for: try CardNumber(newNumber)))
            #expect(try await h.call(.get, "/api/v1/cards/\(number)", token: h.agent).string("status") == "replaced")
            let cancelled = try await h.call(.post, "/api/v1/cards/\(newNumber)/cancel", token: h.agent, json: ["reason": "emigration"])
            #expect(cancelled.string("status") == "cancelled", "\(cancelled)")

            // validate: every change is an event, in order, with actor and channel
            let events = try await h.call(.get, "/api/v1/cards/\(number)/events", token: h.agent)["events"] as? [[String: Any]] ?? []
            #expect(events.compactMap { $0["type"] as? String } == [
                "application_submitted", "application_approved", "application_produced", "application_ready", "application_collected",
                "card_issued", "card_activated", "loss_reported_temporary", "card_unlocked", "loss_reported_formal", "card_replaced",
            ])
            #expect(events.allSatisfy { $0["actor"] as? String == "agent:agent" && $0["channel"] as? String == "counter" && $0["at"] is String })
            #expect(events.last?["reason"] as? String == "lost")
            #expect(try await h.eventTypes(newNumber) == ["card_issued", "card_cancelled"])
        }
    }

    @Test(arguments: Engine.available)
    func aLifecycleStepRetriedWithItsIdempotencyKeyAnswersAsTheFirstTime(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank()
            let (_, number) = try await h.issuedCard()
            func step(_ action: String, _ json: [String: Any]?, key: String?) async throws -> Reply {
                let body = json.map { String(decoding: try! JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
                return try await h.call(.post, "/api/v1/cards/\(number)/\(action)", token: h.agent, body: body,
                                        headers: key.map { ["Idempotency-Key": $0] } ?? [:])
            }

            // a step and its retry under one key: one step, the same answer
            let first = try await step("activate", ["pin": "135790"], key: "act-1")
            let retry = try await step("activate", ["pin": "135790"], key: "act-1")
            #expect(first.status == 200 && first.string("status") == "active", "\(first)")
            #expect(retry.status == 200 && retry.body == first.body, "\(retry)")
            // the same step again without a key: 409 naming the current status
            let again = try await step("activate", ["pin": "135790"], key: nil)
            #expect(again.status == 409 && again.code == "invalid_transition" && (again.string("detail") ?? "").contains("active"), "\(again)")
            // a later step moved the card on: the retry of the first still answers as the first time
            #expect(try await step("report-loss", ["kind": "formal"], key: "loss-1").string("status") == "lost")
            #expect(try await step("activate", ["pin": "135790"], key: "act-1").string("status") == "active")
            // the key used for another step: 422, nothing changes
            let reused = try await step("unlock", nil, key: "act-1")
            #expect(reused.status == 422 && reused.code == "idempotency_key_reused", "\(reused)")
            // a replacement retried: the same new card and chip key, one replacement
            let replaced = try await step("replace", ["reason": "lost"], key: "rep-1")
            let replayed = try await step("replace", ["reason": "lost"], key: "rep-1")
            #expect(replaced.status == 201 && replayed.status == 201, "\(replaced) \(replayed)")
            #expect(replayed.string("cardNumber") == replaced.string("cardNumber") && replayed.string("chipKey") == replaced.string("chipKey"))
            #expect(replayed.string("status") == "issued")

            // validate: one event per step taken, none for the retries or the refusals
            #expect(try await h.eventTypes(number).suffix(3) == ["card_activated", "loss_reported_formal", "card_replaced"])
            #expect(try await h.count("cards") == 2)
            #expect(try await h.count("lifecycle_requests") == 3)
        }
    }

    @Test(arguments: Engine.available)
    func onePersonOneCard(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let (person, number) = try await h.activeCard(outlet: outlet)
            let second = try await h.apply(person: person, outlet: outlet)
            #expect(second.status == 409 && second.code == "active_card_exists", "\(second)")
            // A lost card is still the person's card: replacement, not a new application.
            _ = try await h.call(.post, "/api/v1/cards/\(number)/report-loss", token: h.agent, json: ["kind": "formal"])
            #expect(try await h.apply(person: person, outlet: outlet).code == "active_card_exists")
            _ = try await h.call(.post, "/api/v1/cards/\(number)/cancel", token: h.agent, json: ["reason": "other"])
            let third = try await h.apply(person: person, outlet: outlet)
            #expect(third.status == 201, "\(third)")
            // ... and one application at a time.
            #expect(try await h.apply(person: person, outlet: outlet).code == "application_in_progress")
        }
    }

    @Test(arguments: Engine.available)
    func aTemporaryLossLapsesAfterTheJurisdictionsPeriod(_ engine: Engine) async throws {
        // Guangdong's pack says 15 days, Beijing's 5: the same code, different data.
        for (region, outletRegion, days) in [("110000", "110105", 5), ("440000", "440305", 15)] {
            try await Harness.run(engine, region: region) { h in
                try await h.createBank()
                let outlet = try await h.createOutlet(region: outletRegion)
                let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(region: outletRegion), outlet: outlet)
                _ = try await h.call(.post, "/api/v1/cards/\(number)/report-loss", token: h.agent, json: ["kind": "temporary"])
                h.clock.advance(by: TimeInterval(days) * 86_400 - 60)
                let before = try await h.call(.get, "/api/v1/cards/\(number)", token: h.agent)
                #expect(before.string("status") == "temporarily_lost", "\(region): \(before)")
                h.clock.advance(by: 61)
                #expect(try await h.call(.get, "/api/v1/cards/\(number)", token: h.agent).string("status") == "active")
                let events = try await h.call(.get, "/api/v1/cards/\(number)/events", token: h.agent)["events"] as? [[String: Any]] ?? []
                let lapse = try #require(events.last)
                #expect(lapse["type"] as? String == "temporary_loss_lapsed")
                #expect(lapse["actor"] as? String == "system")
                #expect(lapse["reason"] as? String == "\(days) days")
            }
        }
    }

    @Test(arguments: Engine.available)
    func theSweeperLapsesDueReports(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (_, number) = try await h.activeCard()
            _ = try await h.call(.post, "/api/v1/cards/\(number)/report-loss", token: h.agent, json: ["kind": "temporary"])
            #expect(try await h.services.cards.lapseDue() == 0)
            h.clock.advance(by: 5 * 86_400)
            #expect(try await h.services.cards.lapseDue() == 1)
            #expect(try await h.services.store.read { try await $0.cards.find(try CardNumber(number)) }?.status == .active)
            #expect(try await h.services.cards.lapseDue() == 0)
        }
    }

    @Test(arguments: Engine.available)
    func replacementKeepsTheBankAccount(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (_, old) = try await h.activeCard()
            let before = try #require(try await h.services.store.read { try await $0.cards.find(try CardNumber(old)) }?.accountNumber)
            let r = try await h.call(.post, "/api/v1/cards/\(old)/replace", token: h.agent, json: ["reason": "damaged"])
            let new = try #require(r.string("cardNumber"))
            let newCard = try #require(try await h.services.store.read { try await $0.cards.find(try CardNumber(new)) })
            let oldCard = try #require(try await h.services.store.read { try await $0.cards.find(try CardNumber(old)) })
            #expect(newCard.accountNumber == before && newCard.bankCode == "ICBC" && newCard.financial)
            #expect(oldCard.accountNumber == nil && !oldCard.financial && oldCard.replacedBy?.rawValue == new)
            #expect(newCard.replaces?.rawValue == old && newCard.status == .issued)
            // A replaced card cannot be unlocked or replaced again.
            #expect(try await h.call(.post, "/api/v1/cards/\(old)/unlock", token: h.agent).code == "invalid_transition")
            #expect(try await h.call(.post, "/api/v1/cards/\(old)/replace", token: h.agent, json: ["reason": "lost"]).code == "invalid_transition")
        }
    }

    @Test(arguments: Engine.available)
    func outOfOrderStepsAreRefusedAndChangeNothing(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let person = try await h.createPerson()
            let id = try #require(try await h.apply(person: person, outlet: outlet).string("applicationId"))
            for s in ["produce", "ready", "collect"] {
                let r = try await h.step(id, s)
                #expect(r.status == 409 && r.code == "invalid_transition", "\(s): \(r)")
            }
            #expect(try await h.step(id, "reject", json: [:]).code == "invalid_field")  // a reason is required
            #expect(try await h.step(id, "reject", json: ["reason": "材料不全"]).string("status") == "rejected")
            #expect(try await h.step(id, "approve").code == "invalid_transition")
            #expect(try await h.call(.get, "/api/v1/card-applications/\(id)", token: h.agent).string("reason") == "材料不全")
            // After a rejection the person may apply again.
            #expect(try await h.apply(person: person, outlet: outlet).status == 201)

            let (_, number) = try await h.issuedCard(idNumber: TestIDs.resident(sequence: "456"))
            for (action, body) in [("unlock", nil), ("report-loss", ["kind": "temporary"])] as [(String, [String: Any]?)] {
                let r = body == nil ? try await h.call(.post, "/api/v1/cards/\(number)/\(action)", token: h.agent)
                    : try await h.call(.post, "/api/v1/cards/\(number)/\(action)", token: h.agent, json: body!)
                #expect(r.status == 409 && r.code == "invalid_transition", "\(action): \(r)")
            }
            #expect(try await h.eventTypes(number).last == "card_issued")
            #expect(try await h.call(.post, "/api/v1/cards/\(number)/activate", token: h.agent, json: ["pin": "12345"]).code == "invalid_pin")
            #expect(try await h.call(.post, "/api/v1/cards/Z99999999/activate", token: h.agent, json: ["pin": "123456"]).code == "card_not_found")
        }
    }

    @Test(arguments: Engine.available)
    func aRemoteApplicationIsMarked(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let outlet = try await h.createOutlet(region: "110105")
            let person = try await h.createPerson(idNumber: TestIDs.resident(region: "440305"))
            let r = try await h.apply(person: person, outlet: outlet)
            #expect(r.status == 201 && r["remote"] as? Bool == true, "\(r)")
        }
    }

    @Test(arguments: Engine.available)
    func applicationsNeedAKnownOutletAndAnActiveBank(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank("OLD", to: "2025-12-31")
            let outlet = try await h.createOutlet()
            let person = try await h.createPerson()
            #expect(try await h.apply(person: person, outlet: outlet, bank: "OLD").code == "bank_not_accepting")
            #expect(try await h.apply(person: person, outlet: outlet, bank: "NOPE").code == "unknown_bank")
            #expect(try await h.apply(person: person, outlet: "no-such-outlet", bank: "OLD").code == "unknown_outlet")
            #expect(try await h.apply(person: "no-such-person", outlet: outlet, bank: "OLD").code == "person_not_found")
            #expect(try await h.count("card_applications") == 0)
        }
    }

    @Test(arguments: Engine.available)
    func aCardOfAnotherIssuingRegionIsNotChangedHere(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (person, number) = try await h.activeCard()
            _ = person
            try await h.services.store.write { try await $0.db.raw("UPDATE cards SET issuer_region = '310000' WHERE card_number = \(bind: number)").run() }
            let r = try await h.call(.post, "/api/v1/cards/\(number)/report-loss", token: h.agent, json: ["kind": "formal"])
            #expect(r.status == 409 && r.code == "not_issuer", "\(r)")
            #expect(try await h.services.store.read { try await $0.cards.find(try CardNumber(number)) }?.status == .active)
        }
    }

    @Test(arguments: Engine.available)
    func concurrentApplicationsForOnePersonYieldOne(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let person = try await h.createPerson()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await h.apply(person: person, outlet: outlet).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 409 }.count == 7, "\(statuses)")
            #expect(try await h.count("card_applications") == 1)
        }
    }

    @Test(arguments: Engine.available)
    func thePINIsStoredOnlyAsASaltedHash(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (_, number) = try await h.activeCard()
            let hash = try #require(try await h.services.store.read { try await $0.cards.find(try CardNumber(number)) }?.pinHash)
            #expect(!hash.contains("246810") && hash.hasPrefix("$2"))
        }
    }
}
