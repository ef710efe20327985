import Foundation
import Testing
@testable import OneCardCore

@Suite("Transit taps: pairing into trips, the card as of the tap, the tap rules, the clearing")
struct TransitPairingTests {
    static let t0 = cst("2025-03-03 08:00")
    static let bjMetro = TransitPresets.fare("BJ-METRO")!.fareTable

    func tap(_ id: String, _ minutes: Double, _ direction: TapDirection) -> TripPairing.Tap {
        TripPairing.Tap(id: id, at: Self.t0.addingTimeInterval(minutes * 60), direction: direction)
    }

    func pair(_ taps: [TripPairing.Tap], nowMinutes: Double = 60 * 24, limit: Int? = 240) -> (trips: [TripPairing.Trip], waiting: [TripPairing.Tap]) {
        TripPairing.pair(taps, now: Self.t0.addingTimeInterval(nowMinutes * 60), limitMinutes: { _ in limit })
    }

    @Test func tapsArrivingOutOfOrderPairByTime() {
        // setup: in 08:00, out 08:30, in 09:00, out 09:20, uploaded in any order
        let taps = [tap("o2", 80, .out), tap("i1", 0, .in), tap("i2", 60, .in), tap("o1", 30, .out)]
        let (trips, waiting) = pair(taps)
        #expect(waiting.isEmpty)
        #expect(trips.map { [$0.entry?.id, $0.exit?.id] } == [["i1", "o1"], ["i2", "o2"]])
        #expect(trips.allSatisfy { $0.kind == .complete })
    }

    @Test func anExitAndAnEntryAtTheSameInstantCloseAndOpen() {
        // out at 08:30 and in at 08:30 (a second's resolution): the exit closes the first trip
        let (trips, waiting) = pair([tap("i1", 0, .in), tap("i2", 30, .in), tap("o1", 30, .out)], nowMinutes: 60)
        #expect(trips.map { [$0.entry?.id, $0.exit?.id] } == [["i1", "o1"]] && waiting.map(\.id) == ["i2"])
    }

    @Test func aMissingTapOutClosesAtTheNextEntryOrWhenTheLimitHasPassedWhicheverIsFirst() {
        // the next entry two hours later closes it then
        let early = pair([tap("i1", 0, .in), tap("i2", 120, .in), tap("o2", 150, .out)])
        #expect(early.trips.first?.kind == .missingTapOut && early.trips.first?.endedAt == Self.t0.addingTimeInterval(7200))
        // the next entry six hours later: the limit (4 h) came first
        let late = pair([tap("i1", 0, .in), tap("i2", 360, .in), tap("o2", 380, .out)])
        #expect(late.trips.first?.endedAt == Self.t0.addingTimeInterval(4 * 3600))
        // no next entry: open until the limit has passed on the node's clock, then closed
        #expect(pair([tap("i1", 0, .in)], nowMinutes: 239).waiting.map(\.id) == ["i1"])
        let closed = pair([tap("i1", 0, .in)], nowMinutes: 240)
        #expect(closed.trips.map(\.kind) == [.missingTapOut] && closed.waiting.isEmpty)
        // a table without a limit: a day
        #expect(pair([tap("i1", 0, .in)], nowMinutes: 23 * 60, limit: nil).waiting.count == 1)
        #expect(pair([tap("i1", 0, .in)], nowMinutes: 24 * 60, limit: nil).trips.count == 1)
    }

    @Test func anOverstayIsStillOneTripAndAnExitWithoutEntryWaits() {
        // out six hours after in, no entry between: one trip (FareRules prices the overstay)
        let over = pair([tap("i1", 0, .in), tap("o1", 360, .out)])
        #expect(over.trips.map(\.kind) == [.complete])
        // an exit first: it waits for its entry (a gate offline), then pairs when the entry comes
        let alone = pair([tap("o1", 30, .out)], nowMinutes: 60)
        #expect(alone.trips.isEmpty && alone.waiting.map(\.id) == ["o1"])
        #expect(pair([tap("o1", 30, .out), tap("i1", 0, .in)], nowMinutes: 60).trips.map(\.kind) == [.complete])
        // after a week it is closed without an entry
        let week = pair([tap("o1", 30, .out)], nowMinutes: 30 + 7 * 24 * 60)
        #expect(week.trips.map(\.kind) == [.missingTapIn] && week.trips[0].entry == nil)
        // a boarding tap is a trip by itself and closes an open entry
        let board = pair([tap("i1", 0, .in), tap("b1", 10, .board)])
        #expect(board.trips.map(\.kind) == [.missingTapOut, .singleTap])
    }

    @Test func aLateTapJoinsTheClosedTripItFallsIn() {
        let span = TripPairing.Span(tripId: "t1", from: Self.t0, through: Self.t0.addingTimeInterval(1800))
        // a late tap-out inside (or at the end of) a trip closed without one; a double read at its start
        #expect(TripPairing.closedTrip(containing: tap("o", 20, .out), among: [span]) == "t1")
        #expect(TripPairing.closedTrip(containing: tap("o", 30, .out), among: [span]) == "t1")
        #expect(TripPairing.closedTrip(containing: tap("i", 0, .in), among: [span]) == "t1")
        // an entry at the instant the trip ended starts the next trip; a tap after it is not the trip's
        #expect(TripPairing.closedTrip(containing: tap("i", 30, .in), among: [span]) == nil)
        #expect(TripPairing.closedTrip(containing: tap("o", 31, .out), among: [span]) == nil)
    }

    @Test func aLateTapOutReopensATripClosedWithoutOneUntilItIsCharged() {
        let closed = TripPairing.Span(tripId: "t1", from: Self.t0, through: Self.t0.addingTimeInterval(7200), reopenable: true)
        let charged = TripPairing.Span(tripId: "t2", from: Self.t0, through: Self.t0.addingTimeInterval(7200), reopenable: false)
        #expect(TripPairing.reopened(by: tap("o", 30, .out), among: [closed]) == "t1")
        #expect(TripPairing.reopened(by: tap("o", 120, .out), among: [closed]) == "t1")  // at the next entry's instant
        #expect(TripPairing.reopened(by: tap("o", 30, .out), among: [charged]) == nil)
        #expect(TripPairing.reopened(by: tap("i", 30, .in), among: [closed]) == nil)
        #expect(TripPairing.reopened(by: tap("o", 0, .out), among: [closed]) == nil)
        #expect(TripPairing.reopened(by: tap("o", 121, .out), among: [closed]) == nil)
    }

    @Test func missingTapsArePricedAtTheHighestFare() throws {
        var table = Self.bjMetro
        table.stations = ["A": 0, "B": 5, "E": 72]
        let missingIn = TripPairing.Trip(entry: nil, exit: tap("o", 0, .out), startedAt: Self.t0, endedAt: Self.t0, kind: .missingTapIn)
        let b = try TripPricing.price(missingIn, mode: .metro, entryStation: nil, exitStation: "B", measuredKm: nil, table: table, monthToDateFen: 0,
                                      previous: nil, concession: nil)
        // B's farthest station is E, 67 km: ¥6 + ⌈35/20⌉ = ¥8
        #expect(b.basis == .missingTapIn && b.chargedFen == 800)
        let missingOut = TripPairing.Trip(entry: tap("i", 0, .in), exit: nil, startedAt: Self.t0, endedAt: Self.t0 + 3600, kind: .missingTapOut)
        #expect(try TripPricing.price(missingOut, mode: .metro, entryStation: "A", exitStation: nil, measuredKm: nil, table: table, monthToDateFen: 0,
                                      previous: nil, concession: nil).chargedFen == 800)
        // a flat fare does not care
        let flat = FareTable(effectiveFrom: CalendarDay("2024-01-01")!, model: .flat(fareFen: 200))
        let single = TripPairing.Trip(entry: tap("b", 0, .board), exit: nil, startedAt: Self.t0, endedAt: nil, kind: .singleTap)
        let priced = try TripPricing.price(single, mode: .bus, entryStation: nil, exitStation: nil, measuredKm: nil, table: flat, monthToDateFen: 0,
                                           previous: nil, concession: nil)
        #expect(priced.basis == .ridden && priced.chargedFen == 200)
    }

    // MARK: the card as of the tap

    static let number = CardNumber.random(.system)

    static func card(status: CardStatus = .active, transit: Bool = true) -> Card {
        Card(number: number, identificationCode: "x", personId: "p", applicationId: nil, issuerRegion: "110000",
             status: status, transit: transit, financial: true, bankCode: "ICBC", accountNumber: nil, pinHash: nil, issuedAt: t0 - 86_400 * 30,
             expiresAt: t0 + 86_400 * 3650)
    }

    func event(_ type: String, _ minutes: Double, card: Card = TransitPairingTests.card()) -> CardEvent {
        CardEvent(at: Self.t0.addingTimeInterval(minutes * 60), type: type, actor: "agent:a", channel: "counter", reason: nil, cardNumber: card.number,
                  applicationId: nil)
    }

    @Test func aCardIsReadBackAsItStoodAtTheTap() throws {
        // setup: activated, reported lost at +60 min, unlocked at +120, transit removed at +180
        let card = Self.card()
        let events = [event("card_issued", -10_000), event("card_activated", -9_000), event("loss_reported_temporary", 60), event("card_unlocked", 120),
                      event(CardHistory.transitRemoved, 180)]
        let h = CardHistory(card: card, events: events, lapseDays: 5)
        #expect(h.state(at: Self.t0).status == .active && h.state(at: Self.t0).transit)
        #expect(h.state(at: Self.t0 + 90 * 60).status == .temporarilyLost)
        #expect(h.state(at: Self.t0 + 150 * 60).status == .active)
        #expect(h.state(at: Self.t0 + 200 * 60).transit == false)
        // before it was issued: no status at all
        #expect(h.state(at: card.issuedAt - 1).status == nil)
        // a temporary loss whose period had run counts as lapsed even before the lapse is written
        let lost = CardHistory(card: card, events: [event("card_activated", -9_000), event("loss_reported_temporary", 0)], lapseDays: 5)
        #expect(lost.state(at: Self.t0 + 4 * 86_400).status == .temporarilyLost)
        #expect(lost.state(at: Self.t0 + 5 * 86_400).status == .active)
        // a card with no status events (brought in from elsewhere) is as it is now; one whose first change is not its
        // activation was active before it
        #expect(CardHistory(card: card, events: [], lapseDays: 5).state(at: Self.t0).status == .active)
        #expect(CardHistory(card: Self.card(status: .lost), events: [event("loss_reported_formal", 60)], lapseDays: 5).state(at: Self.t0).status == .active)
        // a function loaded later was off before
        let loaded = CardHistory(card: Self.card(transit: true), events: [event(CardHistory.transitLoaded, 60)], lapseDays: 5)
        #expect(loaded.state(at: Self.t0).transit == false && loaded.state(at: Self.t0 + 3600).transit)
    }

    @Test func tapRulesJudgeInOrder() {
        let card = Self.card()
        let ok = VerifiedCredential(form: .electronic, cardNumber: card.number, jti: "j")
        func judge(_ credential: VerifiedCredential = ok, card: Card? = TransitPairingTests.card(), state: CardHistory.State? = .init(status: .active, transit: true),
                   replayed: Bool = false, station: String? = "A", direction: TapDirection = .in, table: FareTable? = TransitPairingTests.withStations,
                   unpaid: Date? = nil) -> TapJudgement {
            TapRules.judge(TapFacts(direction: direction, at: Self.t0, station: station, distanceKm: nil, credential: credential, card: card, stateAtTap: state,
                                    replayed: replayed, table: table, unpaidSince: unpaid, receivedAt: Self.t0))
        }
        #expect(judge() == TapJudgement(rejection: nil, lostAtTime: false))
        #expect(judge(.failed(.tokenExpired, form: .electronic)).rejection == "token_expired")
        var foreign = ok; foreign.foreignIssuer = "120000"
        // Another province's credential is taken only as its issuer described the card (issue 13: cross-province rides).
        #expect(judge(foreign, card: nil, state: nil).rejection == "region_not_recognised")
        #expect(judge(foreign).rejection == nil)
        #expect(judge(card: nil, state: nil).rejection == "token_invalid")
        #expect(judge(replayed: true).rejection == "token_replayed")
        #expect(judge(state: .init(status: .issued, transit: true)).rejection == "card_not_active")
        #expect(judge(state: .init(status: .replaced, transit: true)).rejection == "card_cancelled")
        // lost at the time: taken, the trip disputed
        #expect(judge(state: .init(status: .lost, transit: true)) == TapJudgement(rejection: nil, lostAtTime: true))
        #expect(judge(state: .init(status: .active, transit: false)).rejection == "function_not_loaded")
        #expect(judge(table: nil).rejection == "no_fare_table")
        #expect(judge(station: "Z").rejection == "unknown_station")
        #expect(judge(station: nil).rejection == "unknown_station")
        // an exit measured by a bus validator needs no station
        #expect(TapRules.judge(TapFacts(direction: .out, at: Self.t0, station: nil, distanceKm: 3, credential: ok, card: card,
                                        stateAtTap: .init(status: .active, transit: true), replayed: false, table: Self.withStations, unpaidSince: nil,
                                        receivedAt: Self.t0)).rejection == nil)
        // a tap dated well after it arrived: no gate made it then
        #expect(TapRules.judge(TapFacts(direction: .in, at: Self.t0 + 600, station: "A", distanceKm: nil, credential: ok, card: card,
                                        stateAtTap: .init(status: .active, transit: true), replayed: false, table: Self.withStations, unpaidSince: nil,
                                        receivedAt: Self.t0)).rejection == "clock_ahead")
        // a flat fare needs no station
        #expect(judge(station: nil, table: FareTable(effectiveFrom: CalendarDay("2024-01-01")!, model: .flat(fareFen: 200))).rejection == nil)
        // unpaid for longer than the limit before the tap: refused
        #expect(judge(unpaid: Self.t0 - TransitCharging.blockAfterUnpaid + 60).rejection == nil)
        #expect(judge(unpaid: Self.t0 - TransitCharging.blockAfterUnpaid - 60).rejection == "insufficient_funds")
    }

    static var withStations: FareTable {
        var t = bjMetro
        t.stations = ["A": 0, "C": 12]
        return t
    }

    // MARK: the clearing

    @Test func theClearingAddsUpAndCountsOnlyChargedTripsAsCollected() {
        let totals: [TripStatus: TripTotals] = [
            .charged: TripTotals(trips: 3, fullFareFen: 1100, cardDiscountFen: 150, concessionFen: 150, chargedFen: 800),
            .charging: TripTotals(trips: 1, fullFareFen: 400, chargedFen: 400),
            .priced: TripTotals(trips: 1, fullFareFen: 300, chargedFen: 300),
            .unpaid: TripTotals(trips: 1, fullFareFen: 500, chargedFen: 500),
            .disputed: TripTotals(trips: 1, fullFareFen: 600, chargedFen: 600),
        ]
        let c = TransitClearing(operatorCode: "BJ-METRO", day: CalendarDay("2025-03-03")!, totals: totals)
        #expect(c.total.trips == 7 && c.total.fullFareFen == 2900 && c.total.chargedFen == 2600)
        #expect(c.total.fullFareFen - c.total.cardDiscountFen - c.total.concessionFen == c.total.chargedFen)
        #expect(c.collectedFen == 800 && c.owedToOperatorFen == 800)
        // a debit at the bank shows as priced
        #expect(c.byStatus[.priced]?.trips == 2 && c.byStatus[.charging] == nil)
    }

    @Test func unpaidTripsAreAskedAgainLessAndLessOften() {
        #expect([1, 2, 3, 4, 5, 9].map(TransitCharging.retryDelay) == [60, 300, 1800, 7200, 21600, 21600])
    }
}

@Suite("The calendar day of an instant, by arithmetic")
struct CalendarDayArithmeticTests {
    @Test func itAgreesWithTheGregorianCalendar() {
        var cal = Calendar(identifier: .gregorian)
        for offset in [8, 0, -5] {
            cal.timeZone = TimeZone(secondsFromGMT: offset * 3600)!
            var generator = SystemRandomNumberGenerator()
            var instants: [Double] = [0, -1, 1_795_000_000, 951_782_399, 951_782_400, 4_107_542_400, -8_000_000_000]  // leap days, 2100, 1716
            for _ in 0..<2000 { instants.append(Double(Int64.random(in: -11_000_000_000...7_000_000_000, using: &generator))) }
            for t in instants {
                let date = Date(timeIntervalSince1970: t)
                let c = cal.dateComponents([.year, .month, .day], from: date)
                let d = CalendarDay(date, utcOffsetHours: offset)
                #expect((d.year, d.month, d.day) == (c.year!, c.month!, c.day!), "\(t) at UTC\(offset)")
            }
        }
    }
}

@Suite("RFC 3339 times by arithmetic, with no Foundation formatter")
struct TimestampArithmeticTests {
    /// The Gregorian calendar's fields of an instant in UTC (swift-foundation's own calendar, not a CF formatter).
    static func calendarFields(_ date: Date) -> [Int] {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(secondsFromGMT: 0)!
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return [c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!]
    }

    @Test func itWritesTheCalendarsFieldsAndReadsBackWhatItWrote() {
        var generator = SystemRandomNumberGenerator()
        var instants: [Double] = [0, -0.5, 1_795_000_000.999, 951_782_400, 951_782_399, 4_107_542_400, -8_000_000_000]
        for _ in 0..<3000 { instants.append(Double.random(in: -8_000_000_000...7_000_000_000, using: &generator)) }
        for t in instants {
            let d = Date(timeIntervalSince1970: t)
            let text = Timestamp.format(d)
            let c = Self.calendarFields(d)
            #expect(text == String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c[0], c[1], c[2], c[3], c[4], c[5]), "\(t)")
            #expect(Timestamp.parse(text)?.timeIntervalSince1970 == t.rounded(.down), "\(text)")
            let precise = Timestamp.formatMillis(d)
            #expect(precise.hasPrefix(String(text.dropLast())) && precise.count == 24, "\(precise)")
            #expect(abs((Timestamp.parse(precise)?.timeIntervalSince1970 ?? 0) - (t * 1000).rounded(.down) / 1000) < 0.0015, "\(precise)")  // a Date counts from 2001: its millisecond may round the other way
        }
    }

    @Test func itReadsEveryRFC3339ShapeAndNothingElse() {
        let expected: [(String, Double)] = [
            ("2026-11-18T11:06:40Z", 1_795_000_000), ("2026-11-18T19:06:40+08:00", 1_795_000_000), ("2026-11-18t11:06:40z", 1_795_000_000),
            ("2024-02-29T23:59:59+08:00", 1_709_222_399), ("2000-01-01T00:00:00.5Z", 946_684_800.5),
            ("1999-12-31T16:00:00.123-05:30", 946_675_800.123), ("2100-03-01T00:00:00Z", 4_107_542_400),
            ("2026-11-18T11:06:40.000001Z", 1_795_000_000.000001),
        ]
        for (text, t) in expected { #expect(abs((Timestamp.parse(text)?.timeIntervalSince1970 ?? 0) - t) < 0.000_000_5, "\(text)") }
        for text in ["2026-02-30T00:00:00Z", "2026-11-18 11:06:40Z", "2026-11-18T24:00:00Z", "2026-11-18T11:06:40", "2026-11-18T11:06:40+0800",
                     "2026-11-18T11:06:40.Z", "2026-13-01T00:00:00Z", "2026-11-18T11:60:00Z", "２026-11-18T11:06:40Z", "x", ""] {
            #expect(Timestamp.parse(text) == nil, "\(text)")
        }
    }
}
