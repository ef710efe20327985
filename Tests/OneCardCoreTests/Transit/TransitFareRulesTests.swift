import Foundation
import Testing
@testable import OneCardCore

/// An instant in China Standard Time, e.g. `cst("2025-03-03 08:00")` (a Monday).
func cst(_ text: String) -> Date { Timestamp.parse(text.replacingOccurrences(of: " ", with: "T") + ":00+08:00")! }

@Suite("Transit fares: the worked examples of wave2-facts §2.2 and the edge rules")
struct TransitFareRulesTests {
    static let bjMetro = TransitPresets.fare("BJ-METRO")!.fareTable
    static let bjBus = TransitPresets.fare("BJ-BUS")!.fareTable
    static let shMetro = TransitPresets.fare("SH-METRO")!.fareTable
    static let monday = cst("2025-03-03 10:00")

    func metro(_ km: Double, table: FareTable = TransitFareRulesTests.bjMetro, monthToDateFen: Int = 0) throws -> FareBreakdown {
        try FareRules.charge(table: table, trip: TripFacts(mode: .metro, distanceKm: km, tapInAt: Self.monday, tapOutAt: Self.monday + 1800),
                             monthToDateFen: monthToDateFen)
    }

    /// The Beijing metro with kilometre posts on one line and a listed pair, for trips priced from stations.
    static var bjMetroWithStations: FareTable {
        var t = bjMetro
        t.stations = ["A": 0, "B": 5, "C": 12, "D": 40]
        t.distances = [StationDistance(from: "B", to: "X", km: 72)]
        return t
    }

    // MARK: worked examples

    @Test func weT1_beijingMetroFaresByDistance() throws {
        // setup: the Beijing metro preset; validate: WE-T1, 5 km ¥3, 12 km ¥4, 22.4 km ¥6, 45 km ¥7, 72 km ¥8
        for (km, fen) in [(5.0, 300), (12.0, 400), (22.4, 600), (45.0, 700), (72.0, 800)] {
            let priced = try metro(km)
            #expect(priced.chargedFen == fen, "\(km) km")
            #expect(priced.fullFareFen == fen && priced.discounts.isEmpty && priced.basis == .ridden)
        }
        #expect(try metro(72).distanceMetres == 72_000)
    }

    @Test func weT2_beijingMonthlyTiersFromNinetySixYuanPaid() throws {
        // setup: ¥4 trips with ¥96 already paid this month
        var paid = 9600
        var charged: [Int] = []
        // action: 18 trips, each counting what it paid toward the month
        for _ in 1...18 {
            let fare = try metro(10, monthToDateFen: paid).chargedFen
            charged.append(fare)
            paid += fare
        }
        // validate: trip 1 full (crosses ¥100), trips 2–17 20 % off (trip 17 crosses ¥150), trip 18 50 % off
        #expect(charged[0] == 400)
        #expect(charged[1...16].allSatisfy { $0 == 320 })
        #expect(charged[17] == 200)
        #expect(paid == 15320)
        var after = 10000
        for k in 2...17 { after += charged[k - 1]; #expect(after == 10000 + 320 * (k - 1)) }
        let trip2 = try metro(10, monthToDateFen: 10000)
        #expect(trip2.discounts == [AppliedDiscount(kind: .monthlyTier, percent: 20, amountFen: 80, basis: "paid ¥100.00 this month (from ¥100.00): 20 % off")])
    }

    @Test func weT3_beijingBusTwelveKilometres() throws {
        // setup: the Beijing bus fare, paid in cash (no card discount), with the card, and with a student card (75 % off)
        var cash = Self.bjBus; cash.cardDiscountPercent = nil
        var student = Self.bjBus; student.cardDiscountPercent = 75
        let trip = TripFacts(mode: .bus, distanceKm: 12, tapInAt: Self.monday, tapOutAt: Self.monday + 1200)
        // validate: ¥3 cash, ¥1.50 card, ¥0.75 student
        #expect(try FareRules.charge(table: cash, trip: trip).chargedFen == 300)
        let card = try FareRules.charge(table: Self.bjBus, trip: trip)
        #expect(card.fullFareFen == 300 && card.operatorDiscountFen == 150 && card.chargedFen == 150)
        #expect(card.discounts.map(\.kind) == [.card])
        #expect(try FareRules.charge(table: student, trip: trip).chargedFen == 75)
    }

    @Test func weT4_shanghaiBusToMetroTransfer() throws {
        // setup: a ¥2 bus tapped at 08:00, then 13 km on the metro
        let bus = PreviousTrip(mode: .bus, lastTapAt: cst("2025-03-03 08:00"))
        func enter(_ at: String) throws -> FareBreakdown {
            try FareRules.charge(table: Self.shMetro, trip: TripFacts(mode: .metro, distanceKm: 13, tapInAt: cst(at), tapOutAt: cst(at) + 1500),
                                 previous: bus)
        }
        // validate: entering at 09:30, 4 − 1 = ¥3; at 10:05, ¥4
        let inWindow = try enter("2025-03-03 09:30")
        #expect(inWindow.fullFareFen == 400 && inWindow.chargedFen == 300)
        #expect(inWindow.discounts.map(\.kind) == [.transfer] && inWindow.discounts[0].amountFen == 100)
        #expect(try enter("2025-03-03 10:05").chargedFen == 400)
    }

    // MARK: band boundaries and steps

    @Test func bandBoundariesAreInclusiveOfTheUpperBound() throws {
        // 6.0 km is still ¥3 and 12.0 km still ¥4; a metre more is the next band.
        #expect(try metro(6.0).chargedFen == 300)
        #expect(try metro(6.001).chargedFen == 400)
        #expect(try metro(12.0).chargedFen == 400)
        #expect(try metro(12.001).chargedFen == 500)
        #expect(try metro(22.0).chargedFen == 500)  // [U] in the sources; the bands are inclusive throughout
        #expect(try metro(32.0).chargedFen == 600)
        #expect(try metro(32.001).chargedFen == 700)
        #expect(try metro(52.0).chargedFen == 700)  // one whole step of 20 km
        #expect(try metro(52.001).chargedFen == 800)  // a started step counts whole
        #expect(try metro(0).chargedFen == 300)
    }

    @Test func busBasePlusStartedSteps() throws {
        var cash = Self.bjBus; cash.cardDiscountPercent = nil
        for (km, fen) in [(3.0, 200), (10.0, 200), (10.001, 300), (15.0, 300), (15.5, 400), (20.0, 400)] {
            let trip = TripFacts(mode: .bus, distanceKm: km, tapInAt: Self.monday, tapOutAt: Self.monday + 600)
            #expect(try FareRules.charge(table: cash, trip: trip).chargedFen == fen, "\(km) km")
        }
    }

    @Test func stationDistancesFromKilometrePostsAndListedPairs() throws {
        let t = Self.bjMetroWithStations
        #expect(try FareRules.distanceMetres(table: t, from: "C", to: "A") == 12_000)
        #expect(try FareRules.distanceMetres(table: t, from: "X", to: "B") == 72_000)  // a listed pair counts both ways
        let trip = TripFacts(mode: .metro, entryStation: "B", exitStation: "X", tapInAt: Self.monday, tapOutAt: Self.monday + 3600)
        #expect(try FareRules.charge(table: t, trip: trip).chargedFen == 800)
        #expect(throws: DomainError.self) {
            try FareRules.charge(table: t, trip: TripFacts(mode: .metro, entryStation: "A", exitStation: "Z", tapInAt: Self.monday, tapOutAt: Self.monday))
        }
    }

    // MARK: monthly tiers

    @Test func aTripCrossingATierIsChargedAtTheTierReachedBeforeIt() throws {
        // ¥98 paid: a ¥4 trip takes the month to ¥102 but is charged in full; the tier counts from the next trip.
        #expect(try metro(10, monthToDateFen: 9800).chargedFen == 400)
        #expect(try metro(10, monthToDateFen: 10200).chargedFen == 320)
        // Just below and at ¥150
        #expect(try metro(10, monthToDateFen: 14999).chargedFen == 320)
        #expect(try metro(10, monthToDateFen: 15000).chargedFen == 200)
        // Back to full fare from ¥400 paid
        #expect(try metro(10, monthToDateFen: 39900).chargedFen == 200)
        #expect(try metro(10, monthToDateFen: 40000).chargedFen == 400)
        #expect(try metro(10, monthToDateFen: 40000).discounts.isEmpty)
    }

    // MARK: transfer

    @Test func transferOutsideTheWindowOrFromAnotherModeGetsNoDiscount() throws {
        func enter(_ at: Date, after previous: PreviousTrip) throws -> Int {
            try FareRules.charge(table: Self.shMetro, trip: TripFacts(mode: .metro, distanceKm: 13, tapInAt: at, tapOutAt: at + 1500),
                                 previous: previous).chargedFen
        }
        let eight = cst("2025-03-03 08:00")
        #expect(try enter(eight + 119 * 60 + 59, after: PreviousTrip(mode: .bus, lastTapAt: eight)) == 300)
        // "under 2 hours" (shmetro.com): exactly 120 minutes is outside
        #expect(try enter(eight + 120 * 60, after: PreviousTrip(mode: .bus, lastTapAt: eight)) == 400)
        // metro → metro is no transfer of this rule
        #expect(try enter(eight + 600, after: PreviousTrip(mode: .metro, lastTapAt: eight)) == 400)
        // a previous trip later than this one (taps uploaded out of order) is no transfer
        #expect(try enter(eight - 600, after: PreviousTrip(mode: .bus, lastTapAt: eight)) == 400)
    }

    // MARK: missing tap-out and the 4-hour limit

    @Test func missingTapOutIsChargedTheHighestFareFromTheEntryStation() throws {
        // setup: entry at A; the farthest station from A is D at 40 km (¥7)
        let t = Self.bjMetroWithStations
        let priced = try FareRules.charge(table: t, trip: TripFacts(mode: .metro, entryStation: "A", tapInAt: Self.monday, tapOutMissing: true))
        // validate
        #expect(priced.basis == .missingTapOut && priced.fullFareFen == 700 && priced.chargedFen == 700 && priced.distanceMetres == nil)
        // from B the listed pair to X (72 km, ¥8) is the farthest
        #expect(try FareRules.charge(table: t, trip: TripFacts(mode: .metro, entryStation: "B", tapInAt: Self.monday, tapOutMissing: true)).chargedFen == 800)
        // without stations the highest fare cannot be known: refused, not guessed
        #expect(throws: DomainError.self) {
            try FareRules.charge(table: Self.bjMetro, trip: TripFacts(mode: .metro, entryStation: "A", tapInAt: Self.monday, tapOutMissing: true))
        }
        // a flat fare does not depend on the tap-out
        let flat = TransitPresets.fare("SH-BUS")!.fareTable
        #expect(try FareRules.charge(table: flat, trip: TripFacts(mode: .bus, tapInAt: Self.monday, tapOutMissing: true)).chargedFen == 200)
    }

    @Test func overFourHoursInsideIsChargedTheHighestFareFromTheEntryStation() throws {
        let t = Self.bjMetroWithStations
        func ride(minutes: Int) throws -> FareBreakdown {
            try FareRules.charge(table: t, trip: TripFacts(mode: .metro, entryStation: "A", exitStation: "B", tapInAt: Self.monday,
                                                            tapOutAt: Self.monday + Double(minutes * 60)))
        }
        // "at most 4 hours": 240 minutes is the ridden fare, 241 the highest from A
        #expect(try ride(minutes: 240).chargedFen == 300)
        let over = try ride(minutes: 241)
        #expect(over.basis == .overstayHighestFare && over.chargedFen == 700)
        // the surcharge variant of the secondary source (+ ¥3)
        var surcharge = t; surcharge.overstay = OverstayRule(charge: .surcharge, surchargeFen: 300)
        let s = try FareRules.charge(table: surcharge, trip: TripFacts(mode: .metro, entryStation: "A", exitStation: "B", tapInAt: Self.monday,
                                                                        tapOutAt: Self.monday + 241 * 60))
        #expect(s.basis == .overstaySurcharge && s.fullFareFen == 600 && s.chargedFen == 600)
    }

    @Test func aPenaltyFareGetsTheMonthlyTierLikeAnyFare() throws {
        let priced = try FareRules.charge(table: Self.bjMetroWithStations, trip: TripFacts(mode: .metro, entryStation: "A", tapInAt: Self.monday, tapOutMissing: true),
                                          monthToDateFen: 15000)
        #expect(priced.fullFareFen == 700 && priced.chargedFen == 350)
    }

    // MARK: stacking and rounding

    @Test func cardDiscountAndMonthlyTierDoNotCompound() throws {
        // setup: a table with both a 50 % card discount and a 20 % tier from ¥100 (no source combines them)
        var t = Self.bjMetro
        t.cardDiscountPercent = 50
        // validate: the larger percentage alone, not 400 × 0.5 × 0.8 = 160
        let both = try metro(10, table: t, monthToDateFen: 10000)
        #expect(both.chargedFen == 200 && both.discounts.map(\.kind) == [.card])
        t.cardDiscountPercent = 10
        let tier = try metro(10, table: t, monthToDateFen: 10000)
        #expect(tier.chargedFen == 320 && tier.discounts.map(\.kind) == [.monthlyTier])
    }

    @Test func transferComesOffBeforeTheMonthlyPercentage() throws {
        // Shanghai: ¥70 paid this month (10 % off) and a bus → metro transfer: (4 − 1) × 0.9 = ¥2.70
        let eight = cst("2025-03-03 08:00")
        let priced = try FareRules.charge(table: Self.shMetro, trip: TripFacts(mode: .metro, distanceKm: 13, tapInAt: eight + 1800, tapOutAt: eight + 3600),
                                          monthToDateFen: 7000, previous: PreviousTrip(mode: .bus, lastTapAt: eight))
        #expect(priced.discounts.map(\.kind) == [.transfer, .monthlyTier])
        #expect(priced.discounts.map(\.amountFen) == [100, 30])
        #expect(priced.chargedFen == 270)
    }

    @Test func concessionAppliesToWhatTheCardDiscountLeaves() throws {
        // API.md: the card discount first, then the concession on what remains; full − discount − concession = charged
        let trip = TripFacts(mode: .bus, distanceKm: 12, tapInAt: Self.monday, tapOutAt: Self.monday + 1200)
        let half = ConcessionGrant(code: "half", entitlement: "disability", percentOff: 50, basis: "test")
        let priced = try FareRules.charge(table: Self.bjBus, trip: trip, concession: half)
        #expect(priced.fullFareFen == 300 && priced.operatorDiscountFen == 150 && priced.concession?.amountFen == 75 && priced.chargedFen == 75)
        #expect(priced.fullFareFen - priced.operatorDiscountFen - (priced.concession?.amountFen ?? 0) == priced.chargedFen)
    }

    @Test func roundingOfAPercentageToTheFen() throws {
        // The presets round half up (a preset: no source states it); the rider's amount is rounded, never the discount.
        #expect(FenRounding.halfUp.percent(50, of: 305) == 153)
        #expect(FenRounding.down.percent(50, of: 305) == 152)
        #expect(FenRounding.up.percent(50, of: 305) == 153)
        #expect(FenRounding.halfUp.percent(80, of: 301) == 241)  // 240.8
        #expect(FenRounding.halfUp.percent(80, of: 302) == 242)  // 241.6
        #expect(FenRounding.down.percent(80, of: 302) == 241)
        // through the fare: a ¥3.05 flat fare, card 50 %
        var t = FareTable(effectiveFrom: CalendarDay("2025-01-01")!, model: .flat(fareFen: 305), cardDiscountPercent: 50)
        let trip = TripFacts(mode: .bus, tapInAt: Self.monday)
        let up = try FareRules.charge(table: t, trip: trip)
        #expect(up.chargedFen == 153 && up.operatorDiscountFen == 152)
        t.rounding = .down
        #expect(try FareRules.charge(table: t, trip: trip).chargedFen == 152)
    }

    // MARK: tables as data

    @Test func presetsLoadValidateAndRoundTrip() throws {
        // validate: every preset decodes, validates and survives JSON unchanged
        #expect(Set(TransitPresets.fares.map(\.operatorCode)) == ["BJ-METRO", "BJ-BUS", "SH-METRO", "SH-BUS", "TJ-BUS", "CQ-BUS"])
        for preset in TransitPresets.fares {
            try preset.fareTable.validate()
            let data = try JSONEncoder().encode(preset.fareTable)
            #expect(try JSONDecoder().decode(FareTable.self, from: data) == preset.fareTable)
            #expect(preset.fareTable.source?.isEmpty == false)
        }
        #expect(TransitPresets.fare("SH-METRO")?.fareTable.preset == true)
        // the API.md shape decodes
        let json = #"{"effectiveFrom":"2025-01-01","model":"base_plus_step","baseKm":10,"baseFen":200,"stepKm":5,"stepFen":100,"cardDiscountPercent":50}"#
        let t = try JSONDecoder().decode(FareTable.self, from: Data(json.utf8))
        #expect(t.version == 1 && t.model == .basePlusStep(baseKm: 10, baseFen: 200, stepKm: 5, stepFen: 100))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FareTable.self, from: Data(#"{"effectiveFrom":"2025-01-01","model":"zone"}"#.utf8)) }
    }

    @Test func invalidTablesAreRefused() {
        let day = CalendarDay("2025-01-01")!
        let bad: [FareTable] = [
            FareTable(effectiveFrom: day, model: .distanceBands(bands: [], beyondStepKm: nil, beyondStepFen: nil)),
            FareTable(effectiveFrom: day, model: .distanceBands(bands: [.init(upToKm: 12, fareFen: 400), .init(upToKm: 6, fareFen: 300)], beyondStepKm: nil, beyondStepFen: nil)),
            FareTable(effectiveFrom: day, model: .distanceBands(bands: [.init(upToKm: 6, fareFen: 300)], beyondStepKm: 20, beyondStepFen: nil)),
            FareTable(effectiveFrom: day, model: .basePlusStep(baseKm: 10, baseFen: 200, stepKm: 0, stepFen: 100)),
            FareTable(effectiveFrom: day, model: .flat(fareFen: -1)),
            FareTable(effectiveFrom: day, model: .flat(fareFen: 200), cardDiscountPercent: 101),
            FareTable(effectiveFrom: day, model: .flat(fareFen: 200), monthlyTiers: [.init(fromFen: 15000, discountPercent: 50), .init(fromFen: 10000, discountPercent: 20)]),
            FareTable(effectiveFrom: day, model: .flat(fareFen: 200), overstay: OverstayRule(charge: .surcharge)),
        ]
        for t in bad { #expect(throws: DomainError.self) { try t.validate() } }
    }

    @Test func theTableInForceAtTheTripsStartPricesIt() throws {
        // setup: ¥2 flat from 2024-01-01, ¥3 from 2025-03-01 (China Standard Time service days)
        let v1 = FareTable(version: 1, effectiveFrom: CalendarDay("2024-01-01")!, model: .flat(fareFen: 200))
        let v2 = FareTable(version: 2, effectiveFrom: CalendarDay("2025-03-01")!, model: .flat(fareFen: 300))
        let schedule = FareSchedule(versions: [v2, v1])
        // validate: 23:59 on 28 February is the old fare, 00:00 on 1 March the new one (UTC+8), nothing before the first
        #expect(schedule.table(at: cst("2025-02-28 23:59")) == v1)
        #expect(schedule.table(at: cst("2025-03-01 00:00")) == v2)
        #expect(schedule.table(at: cst("2023-12-31 23:59")) == nil)
    }
}
