import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Transit: the card's function, operators, taps, trips, charges and clearing (API.md \"Transit\")")
struct TransitAPITests {
    // MARK: the demo

    @Test func everyPresetOperatorGetsAValidDemoSettlementAccount() throws {
        // every province's demo seeds its presets: each operator's account is digits only, 10 to 30 of them, and its own
        // (formatted with `%d` it was a 32-bit value with a minus sign for SH-METRO, SH-BUS and TJ-BUS)
        let accounts = TransitPresets.fares.map { TransitDemo.accountNumber($0.operatorCode) }
        for account in accounts { try AccountNumber.validate(account) }
        #expect(Set(accounts).count == accounts.count)
        #expect(TransitDemo.accountNumber("TJ-BUS").allSatisfy { $0.isNumber })
        #expect(TransitPresets.fares.contains { $0.operatorCode == "TJ-BUS" && $0.regionCode == "120000" && $0.fareTable.preset == true })
    }

    // MARK: the transit function

    @Test(arguments: Engine.available)
    func theTransitFunctionIsLoadedAndRemovedWithAnEventAndAGateRefusesACardWithoutIt(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            // setup: a holder with an active card and an e-card
            let (holder, _, card) = try await h.holderWithECard()
            // action: the agent removes the function
            let removed = try await h.call(.post, "/api/v1/cards/\(card)/functions", token: h.agent, json: ["transit": false])
            // validate: the card view, and an event
            #expect(removed.status == 200, "\(removed)")
            #expect((removed["functions"] as? [String: Any])?["transit"] as? Bool == false)
            #expect(try await h.eventTypes(card).last == "transit_function_removed")
            // a gate refuses a tap after that; the acceptance rule refuses the transit item too
            let tap = try await w.upload([TransitWorld.tap("t-1", at: h.clock.read(), station: "A", direction: "in", credential: try await w.qr(holder))])
            #expect(tap["accepted"] as? Int == 0)
            #expect((tap["rejected"] as? [[String: Any]])?.first?["reason"] as? String == "function_not_loaded", "\(tap)")
            let accept = try await h.accept(key: w.gate, item: "JJJ-TRN-001", credential: try await w.qr(holder))
            #expect(accept.string("reason") == "function_not_loaded", "\(accept)")
            // the holder loads it again: the card view, one more event; the same again changes nothing
            let loaded = try await h.call(.post, "/api/v1/me/card/functions", token: holder, json: ["transit": true])
            #expect((loaded["functions"] as? [String: Any])?["transit"] as? Bool == true, "\(loaded)")
            let events = try await h.eventTypes(card)
            #expect(events.suffix(2) == ["transit_function_removed", "transit_function_loaded"])
            _ = try await h.call(.post, "/api/v1/me/card/functions", token: holder, json: ["transit": true])
            #expect(try await h.eventTypes(card).count == events.count)
            // the tap made while the function was off stays refused when uploaded again later (as of its time): a duplicate
            #expect(try await w.upload([TransitWorld.tap("t-1", at: h.clock.read(), station: "A", direction: "in", credential: try await w.qr(holder))])["duplicates"] as? Int == 1)
            // errors: an unknown card, a bad body, a holder on someone else's path, a cancelled card
            #expect(try await h.call(.post, "/api/v1/cards/11010500000000000/functions", token: h.agent, json: ["transit": true]).code == "card_not_found")
            #expect(try await h.call(.post, "/api/v1/cards/\(card)/functions", token: h.agent, json: ["transit": "yes"]).code == "invalid_field")
            #expect(try await h.call(.post, "/api/v1/cards/\(card)/functions", token: holder, json: ["transit": true]).status == 403)
            _ = try await h.call(.post, "/api/v1/cards/\(card)/cancel", token: h.agent, json: ["reason": "other"])
            #expect(try await h.call(.post, "/api/v1/cards/\(card)/functions", token: h.agent, json: ["transit": false]).code == "invalid_transition")
        }
    }

    // MARK: operators

    @Test(arguments: Engine.available)
    func operatorsHaveVersionedFareTablesAndAMaskedAccount(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            // a second one with the same code, an unknown bank, a model the API does not know, a table that cannot price
            #expect(try await h.createOperator(code: "BJ-METRO", name: "x", mode: "metro", table: TransitWorld.metroTable).code == "operator_exists")
            #expect(try await h.createOperator(code: "X1", name: "x", mode: "metro", table: TransitWorld.metroTable, bank: "NOPE").code == "unknown_bank")
            #expect(try await h.createOperator(code: "X2", name: "x", mode: "metro", region: "990000", table: TransitWorld.metroTable).code == "invalid_region_code")
            var bad = TransitWorld.busTable; bad["model"] = "zones"
            #expect(try await h.createOperator(code: "X3", name: "x", mode: "bus", table: bad).code == "invalid_fare_table")
            bad = TransitWorld.metroTable; bad["bands"] = [["upToKm": 12, "fareFen": 400], ["upToKm": 6, "fareFen": 300]]
            #expect(try await h.createOperator(code: "X4", name: "x", mode: "metro", table: bad).code == "invalid_fare_table")
            bad = TransitWorld.busTable; bad.removeValue(forKey: "stepKm")
            #expect(try await h.createOperator(code: "X5", name: "x", mode: "bus", table: bad).code == "invalid_fare_table")
            // action: a new version of the bus fares from 2027
            var v2 = TransitWorld.busTable; v2["effectiveFrom"] = "2027-01-01"; v2["baseFen"] = 300
            let put = try await h.call(.put, "/api/v1/transit/operators/BJ-BUS/fare-table", token: h.admin, json: v2)
            #expect(put.status == 200, "\(put)")
            #expect((put["fareTables"] as? [[String: Any]])?.map { $0["version"] as? Int } == [1, 2])
            // a table naming a version that does not follow is refused; an unknown operator is 404
            v2["version"] = 7
            #expect(try await h.call(.put, "/api/v1/transit/operators/BJ-BUS/fare-table", token: h.admin, json: v2).code == "invalid_fare_table")
            #expect(try await h.call(.put, "/api/v1/transit/operators/NOPE/fare-table", token: h.admin, json: TransitWorld.busTable).code == "operator_not_found")
            // validate: the list (admin and auditor), the account masked, the audit trail
            let auditor = try await h.signedInStaff("aud", .auditor)
            let list = try await h.call(.get, "/api/v1/transit/operators", token: auditor)
            let ops = list["operators"] as? [[String: Any]] ?? []
            #expect(ops.map { $0["code"] as? String } == ["BJ-BUS", "BJ-METRO"], "\(list)")
            let account = (ops.first?["account"] as? [String: Any])?["accountMasked"] as? String ?? ""
            #expect(!account.contains("0011112222") && account.hasSuffix("2333"), "\(account)")
            #expect(try await h.call(.get, "/api/v1/transit/operators", token: h.agent).status == 403)
            let audit = try await h.call(.get, "/api/v1/audit?subject=operator:BJ-BUS:v2", token: auditor)
            #expect((audit["entries"] as? [[String: Any]])?.first?["action"] as? String == "transit_fare_table_added", "\(audit)")
            #expect((try await h.call(.get, "/api/v1/audit?subject=operator:BJ-METRO", token: auditor)["entries"] as? [Any])?.count == 1)
        }
    }

    // MARK: taps, trips and charges

    @Test(arguments: Engine.available)
    func aBatchIsCheckedWholeRecordedOnceAndEachTripChargedOnce(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            let (holder, _, card) = try await h.holderWithECard()
            try await w.fund(card, 10_000)
            let start = h.clock.read()
            let inTap = TransitWorld.tap("g1-0001", at: start, station: "A", direction: "in", credential: try await w.qr(holder))
            h.clock.advance(by: 1800)
            let outTap = TransitWorld.tap("g2-0001", at: h.clock.read(), station: "E", direction: "out", credential: try await w.qr(holder))
            // a malformed batch is refused whole: nothing recorded
            var broken = outTap; broken["direction"] = "sideways"
            #expect(try await w.upload([inTap, broken]).code == "invalid_value")
            var badId = outTap; badId["tapId"] = "has space"
            #expect(try await w.upload([inTap, badId]).code == "invalid_field")
            var unknown = outTap; unknown["operator"] = "NOPE"
            #expect(try await w.upload([inTap, unknown]).code == "unknown_operator")
            #expect(try await h.count("transit_taps") == 0)
            // action: the batch, then the same batch again (a lost reply), and one tap repeated inside a batch
            let first = try await w.upload([inTap, outTap])
            #expect(first["accepted"] as? Int == 2 && first["duplicates"] as? Int == 0, "\(first)")
            let again = try await w.upload([outTap, inTap, inTap])
            #expect(again["accepted"] as? Int == 0 && again["duplicates"] as? Int == 3, "\(again)")
            // validate: one trip of 72 km at ¥8 (WE-T1), priced, then charged once
            var trips = try await w.trips(holder)
            #expect(trips.count == 1)
            let trip = try #require(trips.first)
            #expect(trip["entry"] as? String == "A" && trip["exit"] as? String == "E" && trip["distanceKm"] as? Double == 72)
            #expect(trip["fullFareFen"] as? Int == 800 && trip["chargedFen"] as? Int == 800 && trip["status"] as? String == "priced", "\(trip)")
            #expect(trip["concession"] is NSNull)
            try await h.services.transit.chargeDue()
            try await h.services.transit.chargeDue()
            trips = try await w.trips(holder)
            #expect(trips.first?["status"] as? String == "charged")
            // the holder's data export has the trip too
            let export = try await h.call(.get, "/api/v1/me/export", token: holder)
            #expect((export["trips"] as? [[String: Any]])?.map { $0["tripId"] as? String } == [trip["tripId"] as? String], "\(export)")
            let debits = try await w.debits()
            #expect(debits.count == 1 && debits.first?.amountFen == 800 && debits.first?.debitId == "trip-\(trip["tripId"] as! String)")
            #expect(try await w.balance(card) == 9_200)
            // a repeated upload after charging still changes nothing
            #expect(try await w.upload([inTap, outTap])["duplicates"] as? Int == 2)
            #expect(try await h.services.transit.settle() == 0)
            #expect(try await w.debits().count == 1)
            // a tap dated an hour after it arrives is refused alone, the rest of its batch recorded
            var future = TransitWorld.tap("future", at: h.clock.read().addingTimeInterval(3600), station: "A", direction: "in", credential: try await w.qr(holder))
            future["tapId"] = "future"
            let ahead = try await w.upload([future])
            #expect((ahead["rejected"] as? [[String: Any]])?.first?["reason"] as? String == "clock_ahead", "\(ahead)")
            // a terminal of a venue that is not a transit venue may not upload taps
            let (_, library) = try await h.createVenue(type: "library", region: "110105", items: ["JJJ-LIB-001"])
            #expect(try await h.call(.post, "/api/v1/transit/taps", token: library, json: ["taps": [inTap]]).code == "venue_not_permitted")
        }
    }

    @Test(arguments: Engine.available)
    func credentialsAreJudgedAsOfTheTapAndALostCardsTripIsDisputed(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            let (holder, _, card) = try await h.holderWithECard()
            try await w.fund(card, 10_000)
            // setup: taps made while the card was fine, uploaded a day later (a gate offline), after the card was reported lost
            let t0 = h.clock.read()
            let goodIn = TransitWorld.tap("ok-in", at: t0, station: "A", direction: "in", credential: try await w.qr(holder))
            h.clock.advance(by: 600)
            let goodOut = TransitWorld.tap("ok-out", at: h.clock.read(), station: "B", direction: "out", credential: try await w.qr(holder))
            h.clock.advance(by: 3600)
            let token = try await w.qr(holder)
            _ = try await h.call(.post, "/api/v1/me/report-loss", token: holder, json: ["kind": "temporary"])
            h.clock.advance(by: 30)
            // a ride with the card (chip) after the loss report: the gate let it through offline
            let lostIn = TransitWorld.tap("lost-in", at: h.clock.read(), station: "A", direction: "in", credential: try w.chip(card))
            h.clock.advance(by: 600)
            let lostOut = TransitWorld.tap("lost-out", at: h.clock.read(), station: "C", direction: "out", credential: try w.chip(card))
            h.clock.advance(by: 86_400)
            // a QR token presented long after it expired, and a token whose signature is broken
            let late = TransitWorld.tap("expired", at: h.clock.read(), station: "A", direction: "in", credential: token)
            var chars = Array(token["token"] as! String)
            chars[chars.count - 10] = chars[chars.count - 10] == "A" ? "B" : "A"  // a signature byte changed
            let forged = TransitWorld.tap("forged", at: h.clock.read(), station: "A", direction: "in", credential: ["kind": "qr", "token": String(chars)])
            // action: the whole day's upload
            let r = try await w.upload([goodIn, goodOut, lostIn, lostOut, late, forged])
            // validate: taps before the loss are good; the lost card's taps are taken but the trip is disputed; the rest refused
            #expect(r["accepted"] as? Int == 4, "\(r)")
            let reasons = Dictionary(uniqueKeysWithValues: (r["rejected"] as? [[String: Any]] ?? []).map { ($0["tapId"] as! String, $0["reason"] as! String) })
            #expect(reasons == ["expired": "token_expired", "forged": "token_invalid"])
            let trips = try await w.trips(holder)
            #expect(trips.map { $0["status"] as? String } == ["disputed", "priced"], "\(trips)")
            #expect(trips.first?["reason"] as? String == "card_lost_before_tap")
            try await h.services.transit.chargeDue()
            #expect(try await w.debits().map(\.amountFen) == [300])
            // the chip's challenges are spent: the same answer in another tap is a replay
            var replay = lostIn; replay["tapId"] = "replay"
            #expect(((try await w.upload([replay]))["rejected"] as? [[String: Any]])?.first?["reason"] as? String == "token_replayed")
        }
    }

    @Test(arguments: Engine.available)
    func aMissingTapOutIsClosedAtTheNextEntryOrWhenTheTimeLimitHasPassed(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            let (holder, _, card) = try await h.holderWithECard()
            try await w.fund(card, 10_000)
            // setup: in at B with no tap-out; 2 hours later in at A and out at C
            let t0 = h.clock.read()
            let first = TransitWorld.tap("m-1", at: t0, station: "B", direction: "in", credential: try await w.qr(holder))
            #expect(try await w.upload([first])["accepted"] as? Int == 1)
            #expect(try await w.trips(holder).isEmpty)  // still open
            h.clock.advance(by: 7200)
            try await w.ride(holder, from: "A", to: "C")
            // validate: the first trip closed at the next entry at the highest fare from B (B→E 67 km: 6 + ⌈35/20⌉ = ¥8)
            var trips = try await w.trips(holder)
            #expect(trips.count == 2, "\(trips)")
            let missing = try #require(trips.last)
            #expect(missing["basis"] as? String == "missing_tap_out" && missing["fullFareFen"] as? Int == 800, "\(missing)")
            #expect(missing["endedAt"] as? String == Timestamp.format(t0.addingTimeInterval(7200)))
            #expect(trips.first?["fullFareFen"] as? Int == 400)  // A→C 12 km
            // an entry left open: closed when 4 hours have passed (the table's maxMinutesInside), by the worker's sweep
            let open = h.clock.read()
            #expect(try await w.upload([TransitWorld.tap("m-9", at: open, station: "E", direction: "in", credential: try await w.qr(holder))])["accepted"] as? Int == 1)
            h.clock.advance(by: 239 * 60)
            #expect(try await h.services.transit.settle() == 0)
            h.clock.advance(by: 60)
            #expect(try await h.services.transit.settle() == 1)
            trips = try await w.trips(holder)
            #expect(trips.first?["basis"] as? String == "missing_tap_out" && trips.first?["endedAt"] as? String == Timestamp.format(open.addingTimeInterval(14_400)))
            #expect(trips.first?["fullFareFen"] as? Int == 800)  // E→A 72 km
        }
    }

    /// Two uploads, or an upload and the worker, pairing the same cards at once on PostgreSQL once each recorded (and
    /// charged) their own trip of the same taps: 62 doubled trips in a million taps (`Benchmarks/transit.sh`).
    @Test(arguments: Engine.available)
    func pairingsRunningAtOnceMakeOneTripOfATap(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            // setup: three holders each leave an entry open; the table's four hours pass
            var holders: [String] = []
            for n in 0..<3 {
                let (holder, _, card) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "77\(n)"))
                try await w.fund(card, 10_000)
                #expect(try await w.upload([TransitWorld.tap("open-\(n)", at: h.clock.read(), station: "E", direction: "in",
                                                             credential: try await w.qr(holder))])["accepted"] as? Int == 1)
                holders.append(holder)
            }
            h.clock.advance(by: 4 * 3600 + 60)

            // the action: six sweeps at once, each finding the same open entries
            let transit = h.services.transit
            let made = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 { group.addTask { try await transit.settle() } }
                return try await group.reduce(0, +)
            }

            // validate: one trip per entry, whoever made it
            #expect(made == 3)
            for holder in holders { #expect(try await w.trips(holder).count == 1) }
        }
    }

    @Test(arguments: Engine.available)
    func aTapOutUploadedLateCompletesItsTripBeforeItIsCharged(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            let (holder, _, card) = try await h.holderWithECard()
            try await w.fund(card, 10_000)
            // setup: the entry gate uploads an entry at B and, an hour later, a ride A → C; the exit gate at C is offline
            let t0 = h.clock.read()
            let entry = TransitWorld.tap("in-B", at: t0, station: "B", direction: "in", credential: try await w.qr(holder))
            h.clock.advance(by: 25 * 60)
            let lateExit = TransitWorld.tap("out-C", at: h.clock.read(), station: "C", direction: "out", credential: try w.chip(card))
            h.clock.advance(by: 35 * 60)
            #expect(try await w.upload([entry])["accepted"] as? Int == 1)
            try await w.ride(holder, from: "A", to: "C")
            // the first trip is closed at the next entry without its tap-out, and is not charged while a late tap may come
            var trips = try await w.trips(holder)
            #expect(trips.map { $0["basis"] as? String } == ["ridden", "missing_tap_out"], "\(trips)")
            try await h.services.transit.chargeDue()
            #expect(try await w.debits().map(\.amountFen) == [400])
            // action: the exit gate comes back and uploads its tap
            #expect(try await w.upload([lateExit])["accepted"] as? Int == 1)
            // validate: the trip is paired again, B → C 7 km at ¥4, not the highest fare; charged once
            trips = try await w.trips(holder)
            #expect(trips.count == 2 && trips.last?["exit"] as? String == "C" && trips.last?["fullFareFen"] as? Int == 400, "\(trips)")
            #expect(trips.last?["basis"] as? String == "ridden")
            try await h.services.transit.chargeDue()
            #expect(try await w.debits().map(\.amountFen) == [400, 400])
            // an entry that never gets its tap-out is charged once its grace (a day) has passed
            let open = h.clock.read()
            #expect(try await w.upload([TransitWorld.tap("in-E", at: open, station: "E", direction: "in", credential: try await w.qr(holder))])["accepted"] as? Int == 1)
            h.clock.advance(by: 5 * 3600)
            #expect(try await h.services.transit.settle() == 1)
            #expect(try await h.services.transit.chargeDue().sent == 0)
            h.clock.advance(by: 86_400)
            #expect(try await h.services.transit.chargeDue().sent == 1)
            #expect(try await w.debits().map(\.amountFen) == [400, 400, 800])
        }
    }

    @Test(arguments: Engine.available)
    func concessionsFollowTheRideRegionAndTheBusCardDiscountAppliesFirst(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            // setup: a 66-year-old and a 40-year-old, both Beijing cards
            let (old, _, oldCard) = try await h.holderWithECard(idNumber: TestIDs.resident(birth: "19600101", sequence: "611"))
            let (young, _, youngCard) = try await h.holderWithECard(idNumber: TestIDs.resident(birth: "19860101", sequence: "612"))
            try await w.fund(oldCard, 10_000); try await w.fund(youngCard, 10_000)
            // action: each rides the bus 12 km and the metro 12 km
            for holder in [old, young] {
                try await w.ride(holder, from: "S0", to: "S12", minutes: 40, operator: "BJ-BUS")
                h.clock.advance(by: 600)
                try await w.ride(holder, from: "A", to: "C")
            }
            // validate: the bus ¥3 full, ¥1.50 with the card; free for the 65-year-old with the basis shown; the metro ¥4 for both
            let oldTrips = try await w.trips(old), youngTrips = try await w.trips(young)
            let oldBus = try #require(oldTrips.first { $0["operator"] as? String == "BJ-BUS" })
            #expect(oldBus["fullFareFen"] as? Int == 300 && oldBus["cardDiscountFen"] as? Int == 150 && oldBus["chargedFen"] as? Int == 0, "\(oldBus)")
            let concession = try #require(oldBus["concession"] as? [String: Any])
            #expect(concession["code"] as? String == "bj_elderly_65_bus" && concession["amountFen"] as? Int == 150)
            #expect((concession["basis"] as? String)?.isEmpty == false)
            #expect(oldBus["status"] as? String == "charged")  // a free ride is charged 0, never sent to the bank
            let youngBus = try #require(youngTrips.first { $0["operator"] as? String == "BJ-BUS" })
            #expect(youngBus["chargedFen"] as? Int == 150 && youngBus["concession"] is NSNull)
            for trips in [oldTrips, youngTrips] {
                let metro = try #require(trips.first { $0["operator"] as? String == "BJ-METRO" })
                #expect(metro["chargedFen"] as? Int == 400 && metro["concession"] is NSNull, "\(metro)")
            }
            try await h.services.transit.chargeDue()
            #expect(try await w.debits().map(\.amountFen).sorted() == [150, 400, 400])
        }
    }

    @Test(arguments: Engine.available)
    func anUnpaidTripIsRetriedAndChargedOnceTheMoneyIsThere(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            let (holder, _, card) = try await h.holderWithECard()
            try await w.fund(card, 100)
            try await w.ride(holder, from: "A", to: "C")
            // action: charged with ¥1 in the account
            try await h.services.transit.chargeDue()
            // validate: unpaid, nothing taken; not asked again before its time
            #expect(try await w.trips(holder).first?["status"] as? String == "unpaid")
            #expect(try await w.debits().isEmpty)
            #expect(try await w.balance(card) == 100)
            #expect(try await h.services.transit.chargeDue().sent == 0)
            // the holder tops up; the next attempt (a minute later) charges it once
            try await w.fund(card, 1_000)
            h.clock.advance(by: 61)
            #expect(try await h.services.transit.chargeDue().sent == 1)
            #expect(try await w.trips(holder).first?["status"] as? String == "charged")
            #expect(try await w.debits().map(\.amountFen) == [400])
            #expect(try await w.balance(card) == 600)
            #expect(try await h.services.transit.chargeDue().sent == 0)
        }
    }

    @Test(arguments: Engine.available)
    func aCardUnpaidForMoreThanThreeDaysIsRefusedAtTheGatesUntilItIsPaid(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            // setup: a ride the account cannot pay for
            let (holder, _, card) = try await h.holderWithECard()
            try await w.ride(holder, from: "A", to: "C")
            try await h.services.transit.chargeDue()
            #expect(try await w.trips(holder).first?["status"] as? String == "unpaid")
            // within three days the card still rides
            h.clock.advance(by: 2 * 86_400)
            try await w.ride(holder, from: "A", to: "B")
            // action: past three days unpaid, a tap is refused
            h.clock.advance(by: 86_400 + 3600)
            let refused = try await w.upload([TransitWorld.tap("late-1", at: h.clock.read(), station: "A", direction: "in", credential: try await w.qr(holder))])
            #expect((refused["rejected"] as? [[String: Any]])?.first?["reason"] as? String == "insufficient_funds", "\(refused)")
            // once the money is there and the trips are charged, the card rides again
            try await w.fund(card, 2_000)
            try await h.services.transit.chargeDue()
            #expect(try await w.trips(holder).allSatisfy { $0["status"] as? String == "charged" })
            #expect(try await w.debits().map(\.amountFen).sorted() == [300, 400])
            let again = try await w.upload([TransitWorld.tap("late-2", at: h.clock.read(), station: "A", direction: "in", credential: try await w.qr(holder))])
            #expect(again["accepted"] as? Int == 1, "\(again)")
        }
    }

    @Test(arguments: Engine.available)
    func theDailyClearingHasEveryTripOnceAndAddsUpToTheFen(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            let (holder, _, card) = try await h.holderWithECard(idNumber: TestIDs.resident(birth: "19600101", sequence: "621"))
            try await w.fund(card, 100_000)
            // setup: the clock at 23:40 China Standard Time; a bus ride, then a metro ride that starts before midnight and
            // one that starts after it
            let now = h.clock.read()
            let cst = CalendarDay(now)
            let midnight = Self.cstMidnight(after: now)
            h.clock.advance(by: midnight.timeIntervalSince(now) - 20 * 60)
            try await w.ride(holder, from: "S0", to: "S12", minutes: 5, operator: "BJ-BUS")
            try await w.ride(holder, from: "A", to: "D", minutes: 10)  // starts 23:45, ends 23:55
            h.clock.advance(by: 600)
            try await w.ride(holder, from: "B", to: "C", minutes: 10)  // starts 00:05 the next day
            try await h.services.transit.chargeDue()
            // validate: the day's clearing per operator; each trip on the day it started
            let auditor = try await h.signedInStaff("aud", .auditor)
            let day = cst.description
            let metro = try await h.call(.get, "/api/v1/transit/clearing?operator=BJ-METRO&date=\(day)", token: auditor)
            #expect(metro.status == 200, "\(metro)")
            #expect(metro["trips"] as? Int == 1 && metro["fullFareFen"] as? Int == 700 && metro["collectedFen"] as? Int == 700, "\(metro)")
            #expect(metro["owedToOperatorFen"] as? Int == 700)
            let next = try await h.call(.get, "/api/v1/transit/clearing?operator=BJ-METRO&date=\(CalendarDay(midnight))", token: h.admin)
            #expect(next["trips"] as? Int == 1 && next["chargedFen"] as? Int == 400, "\(next)")
            let bus = try await h.call(.get, "/api/v1/transit/clearing?operator=BJ-BUS&date=\(day)", token: auditor)
            // the concession is reported for subsidy, not owed: full − discount − concession = charged, to the fen
            #expect(bus["trips"] as? Int == 1 && bus["fullFareFen"] as? Int == 300 && bus["cardDiscountFen"] as? Int == 150
                    && bus["concessionFen"] as? Int == 150 && bus["chargedFen"] as? Int == 0 && bus["owedToOperatorFen"] as? Int == 0, "\(bus)")
            for c in [metro, next, bus] {
                let full = c["fullFareFen"] as! Int, discount = c["cardDiscountFen"] as! Int, concession = c["concessionFen"] as! Int
                #expect(full - discount - concession == c["chargedFen"] as! Int)
            }
            let trips = try await w.trips(holder)
            #expect(trips.count == 3 && Set(trips.compactMap { $0["serviceDay"] as? String }) == [day, CalendarDay(midnight).description])
            // who may ask, and what is refused
            #expect(try await h.call(.get, "/api/v1/transit/clearing?operator=BJ-METRO&date=\(day)", token: h.agent).status == 403)
            #expect(try await h.call(.get, "/api/v1/transit/clearing?operator=NOPE&date=\(day)", token: auditor).code == "operator_not_found")
            #expect(try await h.call(.get, "/api/v1/transit/clearing?operator=BJ-METRO&date=2026-02-30", token: auditor).code == "invalid_time_range")
            #expect(try await h.call(.get, "/api/v1/transit/clearing?operator=BJ-METRO", token: auditor).code == "invalid_value")
        }
    }

    /// The next midnight in China Standard Time after `date`.
    static func cstMidnight(after date: Date) -> Date {
        let shifted = date.timeIntervalSince1970 + 8 * 3600
        return Date(timeIntervalSince1970: (shifted / 86_400).rounded(.down) * 86_400 + 86_400 - 8 * 3600)
    }
}
