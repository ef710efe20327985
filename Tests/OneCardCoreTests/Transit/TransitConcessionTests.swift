import Foundation
import Testing
@testable import OneCardCore

@Suite("Transit concessions follow the region where the ride happens (wave2-facts §2.3)")
struct TransitConcessionTests {
    static let monday10 = cst("2025-03-03 10:00")
    static let bjBus = TransitPresets.fare("BJ-BUS")!.fareTable
    static let bjMetro = TransitPresets.fare("BJ-METRO")!.fareTable
    static let cqBus = TransitPresets.fare("CQ-BUS")!.fareTable

    func grant(_ entitlements: [String], in region: String, mode: TransitMode, issuer: String? = nil, at: Date = TransitConcessionTests.monday10,
               serviceClass: String? = nil, quotaUsed: [String: Int] = [:]) -> ConcessionGrant? {
        TransitConcessions.grant(rules: TransitConcessions.rules(forRideIn: region),
                                 for: ConcessionFacts(entitlements: entitlements, cardIssuer: issuer ?? region, rideRegion: region, mode: mode,
                                                      serviceClass: serviceClass, startedAt: at, quotaUsed: quotaUsed))
    }

    func charge(_ table: FareTable, _ trip: TripFacts, _ concession: ConcessionGrant?) throws -> FareBreakdown {
        try FareRules.charge(table: table, trip: trip, concession: concession)
    }

    @Test func packsStillDecodeAndTheirConcessionsValidate() throws {
        // Every shipped pack decodes with the new optional field, and validates.
        #expect(PolicyBook.shipped.policies.count == 10)
        for p in PolicyBook.shipped.policies.values { try p.validate() }
        #expect(PolicyBook.shipped.policy(for: "110000").transitConcessions?.count == 3)
        #expect(PolicyBook.shipped.policy(for: "320000").transitConcessions == nil)  // Jiangsu has none
        #expect(TransitPresets.nationalConcessions.map(\.code) == ["cn_blind_free"])
        // the [U] rules are labelled presets
        let cq = PolicyBook.shipped.policy(for: "500000").transitConcessions ?? []
        #expect(cq.first { $0.code == "cq_elderly_local_65_bus" }?.preset == true)
        #expect(cq.first { $0.code == "cq_disability_half" }?.preset == false)
    }

    @Test func sixtyFiveYearOldRidesABeijingBusFreeButPaysOnTheMetro() throws {
        // setup: a 65-year-old (entitlements elderly, elderly_65) in Beijing
        let ent = ["elderly", "elderly_65"]
        let bus = grant(ent, in: "110105", mode: .bus)
        let metro = grant(ent, in: "110105", mode: .metro)
        // validate: free on the bus with its basis; no concession on the metro
        #expect(bus?.code == "bj_elderly_65_bus" && bus?.percentOff == 100)
        let busTrip = try charge(Self.bjBus, TripFacts(mode: .bus, distanceKm: 12, tapInAt: Self.monday10, tapOutAt: Self.monday10 + 1200), bus)
        #expect(busTrip.chargedFen == 0 && busTrip.concession?.amountFen == 150 && busTrip.concession?.basis.contains("65") == true)
        #expect(metro == nil)
        #expect(try charge(Self.bjMetro, TripFacts(mode: .metro, distanceKm: 12, tapInAt: Self.monday10, tapOutAt: Self.monday10 + 1800), metro).chargedFen == 400)
        // a 60-year-old (elderly only) pays on the bus too
        #expect(grant(["elderly"], in: "110000", mode: .bus) == nil)
    }

    @Test func beijingDisabledRideBusesFreeAndBlindRidersTheMetroToo() throws {
        #expect(grant(["disability"], in: "110000", mode: .bus)?.code == "bj_disability_bus")
        #expect(grant(["disability"], in: "110000", mode: .metro) == nil)
        // a free concession on the metro for a blind rider, even on a missing tap-out's highest fare
        let blind = grant(["disability", "disability_visual"], in: "110000", mode: .metro)
        #expect(blind?.percentOff == 100)
        var t = Self.bjMetro; t.stations = ["A": 0, "D": 40]
        let priced = try charge(t, TripFacts(mode: .metro, entryStation: "A", tapInAt: Self.monday10, tapOutMissing: true), blind)
        #expect(priced.fullFareFen == 700 && priced.concession?.amountFen == 700 && priced.chargedFen == 0)
    }

    @Test func weT6_chongqingDisabledHoldersOnATwoYuanBus() throws {
        let trip = TripFacts(mode: .bus, tapInAt: Self.monday10)
        // grade 2 (disability, disability_severe) → ¥0; grade 3 (disability) → ¥1.00; blind, any grade → ¥0
        let grade2 = grant(["disability", "disability_severe"], in: "500103", mode: .bus)
        let grade3 = grant(["disability"], in: "500103", mode: .bus)
        let blind4 = grant(["disability", "disability_visual"], in: "500103", mode: .bus)
        #expect(try charge(Self.cqBus, trip, grade2).chargedFen == 0)
        #expect(try charge(Self.cqBus, trip, grade3).chargedFen == 100)
        #expect(try charge(Self.cqBus, trip, blind4).chargedFen == 0)
        // concessions do not stack: grade 2 gets the free rule, not free and half
        #expect(grade2?.code == "cq_disability_severe_free" && grade3?.code == "cq_disability_half")
        #expect(try charge(Self.cqBus, trip, grade3).concession == AppliedConcession(code: "cq_disability_half", basis: grade3!.basis, percentOff: 50, amountFen: 100))
    }

    @Test func weT5_chengduElderlyQuota() throws {
        // setup: a 70-year-old (elderly, elderly_65, elderly_70) in Chengdu, start of the month: quota 100
        let ent = ["elderly", "elderly_65", "elderly_70"]
        var used: [String: Int] = [:]
        func ride(_ mode: TransitMode, _ serviceClass: String? = nil, at: Date = TransitConcessionTests.monday10) -> ConcessionGrant? {
            let g = grant(ent, in: "510104", mode: mode, at: at, serviceClass: serviceClass, quotaUsed: used)
            if let g, let pool = g.quotaPool { used[pool, default: 0] += g.quotaUnits }
            return g
        }
        // action: 30 ordinary bus rides, 20 air-conditioned bus rides, 8 off-peak metro trips
        for _ in 1...30 { #expect(ride(.bus)?.percentOff == 100) }
        #expect(used["cd_elderly"] == 30)
        for _ in 1...20 { #expect(ride(.bus, "air_conditioned")?.quotaUnits == 2) }
        #expect(used["cd_elderly"] == 70)
        for _ in 1...8 { #expect(ride(.metro)?.quotaUnits == 3) }
        // validate: 94 used, 6 left
        #expect(used["cd_elderly"] == 94)
        #expect(100 - used["cd_elderly"]! == 6)
        // a peak metro trip (weekday 08:00 entry) with a ¥4 base fare pays ¥3.60 from the purse, using no quota
        let peak = ride(.metro, at: cst("2025-03-03 08:00"))
        #expect(peak?.percentOff == 10 && peak?.quotaUnits == 0)
        let flat4 = FareTable(effectiveFrom: CalendarDay("2024-01-01")!, model: .flat(fareFen: 400))
        #expect(try charge(flat4, TripFacts(mode: .metro, tapInAt: cst("2025-03-03 08:00")), peak).chargedFen == 360)
        #expect(used["cd_elderly"] == 94)
        // the 6 units left carry two more metro trips; then the quota is used up and the rider pays like anyone
        #expect(ride(.metro) != nil && used["cd_elderly"] == 97)
        #expect(ride(.metro) != nil && used["cd_elderly"] == 100)
        #expect(ride(.metro) == nil && ride(.bus) == nil)
        // next month the quota resets to 100, no carry-over: usage is kept per month key
        #expect(TransitConcessions.quotaMonth(of: cst("2025-03-31 23:59")) == "2025-03")
        #expect(TransitConcessions.quotaMonth(of: cst("2025-04-01 00:00")) == "2025-04")
        used = [:]
        #expect(ride(.metro)?.quotaUnits == 3)
        // a 65-year-old is not carried on the metro, and outside Chengdu the Chengdu rules do not apply
        #expect(grant(["elderly", "elderly_65"], in: "510104", mode: .metro) == nil)
        #expect(grant(ent, in: "510700", mode: .bus) == nil)
    }

    @Test func chongqingElderlyPayInTheWeekdayMorningPeakAndRideFreeAtWeekends() {
        let ent = ["elderly", "elderly_65"]
        #expect(grant(ent, in: "500103", mode: .bus, at: cst("2025-03-03 08:00")) == nil)  // Monday 08:00
        #expect(grant(ent, in: "500103", mode: .bus, at: cst("2025-03-03 09:00"))?.percentOff == 100)  // the window ends at 09:00
        #expect(grant(ent, in: "500103", mode: .bus, at: cst("2025-03-01 08:00"))?.percentOff == 100)  // Saturday
        // a caller's calendar can mark a weekday as a public holiday
        let holiday = TransitConcessions.grant(rules: TransitConcessions.rules(forRideIn: "500000"),
                                               for: ConcessionFacts(entitlements: ent, cardIssuer: "500000", rideRegion: "500103", mode: .bus,
                                                                    startedAt: cst("2025-10-01 08:00"), workday: false))
        #expect(holiday?.percentOff == 100)
        // 65–69 with a card from elsewhere: not local; 70+ from anywhere
        #expect(grant(ent, in: "500103", mode: .bus, issuer: "110000") == nil)
        #expect(grant(ent + ["elderly_70"], in: "500103", mode: .bus, issuer: "110000")?.code == "cq_elderly_70_bus")
    }

    @Test func aBeijingCardInTianjinGetsTianjinsConcessionsAndShenzhenIsCityWide() {
        // the ride region decides: a Beijing card's 65-year-old in Tianjin gets Tianjin's preset, not Beijing's rule
        let tj = grant(["elderly", "elderly_65"], in: "120101", mode: .bus, issuer: "110000")
        #expect(tj?.code == "tj_elderly_65_bus" && tj?.preset == true)
        // Shenzhen's 60+ rule covers Shenzhen's districts only
        #expect(grant(["elderly"], in: "440304", mode: .metro, issuer: "110000")?.code == "sz_elderly_60_free")
        #expect(grant(["elderly"], in: "440106", mode: .metro) == nil)
        // the national blind rule applies where the pack has none (Jiangsu)
        #expect(grant(["disability", "disability_visual"], in: "320102", mode: .ferry)?.code == "cn_blind_free")
        #expect(grant(["disability"], in: "320102", mode: .bus) == nil)
    }

    @Test func aHistoricalRuleAppliesOnlyInItsDates() {
        // Shanghai 70+ off-peak free rides, 2007-10-19 to 2016-06-26
        let ent = ["elderly", "elderly_65", "elderly_70"]
        #expect(grant(ent, in: "310101", mode: .metro, at: cst("2015-06-01 10:00"))?.code == "sh_elderly_70_offpeak_2007")
        #expect(grant(ent, in: "310101", mode: .metro, at: cst("2015-06-01 08:00")) == nil)  // a weekday peak
        #expect(grant(ent, in: "310101", mode: .metro, at: cst("2016-06-26 10:00")) != nil)  // the last day
        #expect(grant(ent, in: "310101", mode: .metro, at: cst("2016-06-27 10:00")) == nil)
    }

    @Test func invalidConcessionsAreRefused() {
        let ok = TransitConcession(code: "x", entitlements: ["elderly"], modes: [.bus], percentOff: 100, basis: "b", preset: true)
        var zero = ok; zero.percentOff = 0
        var noBasis = ok; noBasis.basis = ""
        var badPeak = ok; badPeak.peak = .init(windows: [.init(from: "7:3x", to: "09:00")], workdaysOnly: true, percentOff: 0)
        var dates = ok; dates.validFrom = CalendarDay("2025-01-02"); dates.validTo = CalendarDay("2025-01-01")
        for c in [zero, noBasis, badPeak, dates] { #expect(throws: DomainError.self) { try c.validate() } }
        #expect(throws: Never.self) { try ok.validate() }
    }
}
