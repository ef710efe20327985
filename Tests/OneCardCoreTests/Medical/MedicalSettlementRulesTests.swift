import Foundation
import Testing
@testable import OneCardCore

@Suite("Medical settlement: the split's edge rules")
struct MedicalSettlementRulesTests {
    let filed = [WE.filing(.longTerm)]

    @Test func categoryCAndItemsOutsideTheCatalogueAreFullySelfPaid() throws {
        let s = try WE.settle([MedicalBillLine(code: "C-001", amountFen: 50_000), MedicalBillLine(code: "X-404", amountFen: 7_000)], filings: filed)
        #expect(s.fulamtOwnpayAmt == 57_000 && s.inscpScpAmt == 0 && s.hifpPay == 0 && s.psnPartAmt == 57_000)
        #expect(s.lines.map(\.chrgitmLv) == [.c, nil])
        // nothing in scope: the deductible is not touched, but it is still a stay
        #expect(s.actPayDedc == 0 && s.yearToDateChange == MedicalYearToDate(stays: 1, deductibleFen: 0, fundFen: 0))
    }

    @Test func categoryBPayFirstShareRoundsHalfUpPerLine() throws {
        // setup: 123.45 yuan at 10 % is 12.345 → 12.35; two lines are rounded one by one
        let cat = WE.catalogue(extra: [MedicalCatalogueItem(code: "B-055", name: "乙类 5.5 %", category: .b, preselfpayPercent: Percent(hundredths: 550))])
        let s = try WE.settle([MedicalBillLine(code: "B-001", amountFen: 12_345), MedicalBillLine(code: "B-001", amountFen: 12_345),
                               MedicalBillLine(code: "B-055", amountFen: 1_000)], filings: filed, catalogue: cat)
        // validate: 1,235 + 1,235 + 55 (5.5 % of 10.00 yuan)
        #expect(s.lines.map(\.preselfpayAmt) == [1_235, 1_235, 55])
        #expect(s.preselfpayAmt == 2_525 && s.inscpScpAmt == 25_690 - 2_525)
    }

    @Test func priceAboveTheCapIsSelfPaidAndTheShareIsOnTheCappedPart() throws {
        // setup: 甲 capped at 50 yuan a unit, 3 units billed 180; 乙 capped at 100, 2 units billed 260
        let cat = WE.catalogue(extra: [MedicalCatalogueItem(code: "A-CAP", name: "甲类 限价", category: .a, priceCapFen: 5_000),
                                       MedicalCatalogueItem(code: "B-CAP", name: "乙类 限价", category: .b, preselfpayPercent: 10, priceCapFen: 10_000)])
        let s = try WE.settle([MedicalBillLine(code: "A-CAP", quantity: 3, unitPriceFen: 6_000), MedicalBillLine(code: "B-CAP", amountFen: 26_000, quantity: 2)],
                              filings: filed, catalogue: cat)
        // validate
        #expect(s.lines.map(\.overlmtAmt) == [3_000, 6_000])
        #expect(s.lines.map(\.preselfpayAmt) == [0, 2_000])
        #expect(s.overlmtSelfpay == 9_000 && s.inscpScpAmt == 15_000 + 18_000)
        // under the cap: nothing over
        let under = try WE.settle([MedicalBillLine(code: "A-CAP", amountFen: 9_000, quantity: 2)], filings: filed, catalogue: cat)
        #expect(under.overlmtSelfpay == 0)
    }

    @Test func laterStayUsesTheLaterDeductible() throws {
        let s = try WE.settle(filings: filed, yearToDate: MedicalYearToDate(stays: 2, deductibleFen: 195_000, fundFen: 3_000_000))
        #expect(s.actPayDedc == 65_000 && s.hifpPay == 1_423_750)
    }

    @Test func yearlyDeductibleAlreadyMetByEarlierVisits() throws {
        // setup: Beijing employee outpatient preset — 1,800 a year, community 90 %
        let policy = try #require(MedicalPolicyBook.shipped.policy(insuredRegion: "110105", scheme: .employee, care: .outpatient, on: WE.day))
        #expect(policy.basis == .year)
        let bill = [MedicalBillLine(code: "A-001", amountFen: 100_000)]
        // validate: met in full earlier: no deductible, 90 % of 1,000
        let met = try WE.settle(bill, policy: policy, filings: filed, level: .one, yearToDate: MedicalYearToDate(stays: 3, deductibleFen: 180_000))
        #expect(met.actPayDedc == 0 && met.hifpPay == 90_000)
        // partly met: 1,000 of 1,800 used, 800 left, all of this bill's 1,000 but 200 goes to it
        let part = try WE.settle(bill, policy: policy, filings: filed, level: .one, yearToDate: MedicalYearToDate(stays: 1, deductibleFen: 100_000))
        #expect(part.actPayDedc == 80_000 && part.hifpPay == 18_000)
        // a retiree's yearly deductible is 1,300
        let retired = try WE.settle(bill, policy: policy, insured: WE.employee(retired: true), filings: filed, level: .one,
                                    yearToDate: MedicalYearToDate(deductibleFen: 100_000))
        #expect(retired.actPayDedc == 30_000)
    }

    @Test func deductibleLargerThanTheInScopeAmount() throws {
        let s = try WE.settle([MedicalBillLine(code: "A-001", amountFen: 80_000)], filings: filed)
        #expect(s.actPayDedc == 80_000 && s.hifpPay == 0 && s.psnCashPay == 0 && s.acctPay == 80_000)
        // the stay counts; only what was applied is recorded against the deductible
        #expect(s.yearToDateChange == MedicalYearToDate(stays: 1, deductibleFen: 80_000, fundFen: 0))
    }

    @Test func annualCap() throws {
        // reached inside this bill (WE-M5 too): 12,000 left of the cap
        let inside = try WE.settle(filings: filed, yearToDate: MedicalYearToDate(stays: 1, fundFen: 48_800_000))
        #expect(inside.hifpPay == 1_200_000 && inside.overAnnualCapAmt == 1_423_750 - 1_200_000)
        // already reached: the fund pays nothing more
        let reached = try WE.settle(filings: filed, yearToDate: MedicalYearToDate(stays: 1, fundFen: 50_000_000))
        #expect(reached.hifpPay == 0 && reached.psnPartAmt == 2_000_000)
        // no cap
        var uncapped = WE.pBJEmp(); uncapped.annualCapFen = nil
        let none = try WE.settle(policy: uncapped, filings: filed, yearToDate: MedicalYearToDate(stays: 1, fundFen: 90_000_000))
        #expect(none.hifpPay == 1_423_750 && none.overAnnualCapAmt == 0)
    }

    @Test func fundPaymentRoundsHalfUpOnceBeforeTheCap() throws {
        // 13,001.01 − 13,000 deductible = 1.01 yuan × 85 % = 0.8585 → 0.86
        let s = try WE.settle([MedicalBillLine(code: "A-001", amountFen: 130_101)], filings: filed)
        #expect(s.hifpPay == 86)
        // 3 fen × 85 % = 2.55 → 3
        let t = try WE.settle([MedicalBillLine(code: "A-001", amountFen: 130_003)], filings: filed)
        #expect(t.hifpPay == 3)
        #expect(Fen.roundHalfUp(-25, dividedBy: 10) == -3 && Fen.roundHalfUp(24, dividedBy: 10) == 2)
    }

    @Test func retireeUplift() throws {
        let s = try WE.settle(insured: WE.employee(retired: true), filings: filed)
        #expect(s.poolPropSelfpay == 90 && s.hifpPay == 1_449_000)
        // the cut applies to the retiree's ratio
        let temporary = try WE.settle(insured: WE.employee(retired: true), filings: [WE.filing(.temporary)])
        #expect(temporary.poolPropSelfpay == 70)
        // published per level instead (Guangzhou 89.5 %), and never above 100 %
        var p = WE.pBJEmp(); p.ratioPercentByLevel = ByLevel(98, 90, 85); p.retireeUpliftPercent = 3
        #expect(p.ratio(level: .one, retired: true) == 100)
        p.retiredRatioPercentByLevel = ByLevel(93, Percent(hundredths: 8950), 86)
        #expect(p.ratio(level: .two, retired: true) == Percent(hundredths: 8950) && p.ratio(level: .two, retired: false) == 90)
        let gz = try WE.settle([MedicalBillLine(code: "A-001", amountFen: 1_000_000)], policy: p, insured: WE.employee(retired: true), filings: filed, level: .two)
        // (10,000 − 1,300) × 89.5 % = 7,786.50
        #expect(gz.hifpPay == 778_650)
    }

    @Test func pointsModeAndItsMaxima() throws {
        // within the maxima: referral −10, other −20, long-term none
        let points = TemporaryReduction.points(referral: 10, other: 20)
        #expect(points.ratio(85, for: .referral) == 75 && points.ratio(85, for: .emergency) == 75 && points.ratio(85, for: .temporary) == 65)
        #expect(points.ratio(85, for: .longTerm) == 85 && points.ratio(85, for: .filingFree) == 85 && points.ratio(85, for: .none) == 0)
        // Shangluo-style −10 / −15
        #expect(TemporaryReduction.points(referral: 10, other: 15).ratio(85, for: .temporary) == 70)
        // beyond the national maxima: refused (API.md 422), and held to them if ever met unvalidated
        for bad in [TemporaryReduction.points(referral: 11, other: 20), .points(referral: 10, other: 21)] {
            var p = WE.pBJEmp(temporary: bad)
            #expect(throws: DomainError.self) { try p.validate() }
            p.temporary = .points(referral: 10, other: 20)
            #expect(throws: Never.self) { try p.validate() }
        }
        #expect(TemporaryReduction.points(referral: 15, other: 30).ratio(85, for: .temporary) == 65)
        #expect(TemporaryReduction.points(referral: 15, other: 30).ratio(85, for: .referral) == 75)
        // a ratio below the cut floors at 0
        #expect(points.ratio(15, for: .temporary) == 0)
    }

    @Test func multiplierModeAndItsMaxima() throws {
        // Suzhou: 80 % of the normal ratio for other temporary; referral without its own multiplier at the normal ratio
        let suzhou = TemporaryReduction.multiplier(other: 80, referral: nil)
        #expect(suzhou.ratio(85, for: .temporary) == 68 && suzhou.ratio(87, for: .temporary) == Percent(hundredths: 6960))
        #expect(suzhou.ratio(85, for: .referral) == 85 && suzhou.ratio(85, for: .emergency) == 85 && suzhou.ratio(85, for: .longTerm) == 85)
        // the national ceilings bind this mode too: 70 % of 90 would cut 27 points, held at 20; 80 % of 90 for referral cut 18, held at 10
        let steep = TemporaryReduction.multiplier(other: 70, referral: 80)
        #expect(steep.ratio(90, for: .temporary) == 70 && steep.ratio(90, for: .referral) == 80 && steep.ratio(90, for: .emergency) == 80)
        // a referral multiplier inside the ceiling is used as given: 95 % of 90 = 85.5
        #expect(TemporaryReduction.multiplier(other: 80, referral: 95).ratio(90, for: .referral) == Percent(hundredths: 8550))
        var p = WE.pBJEmp(temporary: .multiplier(other: 120, referral: nil))
        #expect(throws: DomainError.self) { try p.validate() }
        p.temporary = .multiplier(other: 80, referral: nil)
        #expect(throws: Never.self) { try p.validate() }
    }

    @Test func filingFreeZone() throws {
        // setup: Shanghai's list names the demonstration zone outside Shanghai (吴江区, 嘉善县; 上海市医疗保障条例 art. 10)
        var sh = WE.pBJEmp(filingFree: ["320509", "330421"]); sh.regionCode = WE.shanghai
        let insured = WE.employee(region: "310118")
        let wujiang = try WE.settle(policy: sh, insured: insured, catalogue: WE.catalogue("320509"))
        #expect(wujiang.filing == .filingFree && wujiang.poolPropSelfpay == 85)
        // elsewhere in Jiangsu the zone does not reach: unfiled
        let suzhou = try WE.settle(policy: sh, insured: insured, catalogue: WE.catalogue("320505"))
        #expect(suzhou.filing == .none && suzhou.hifpPay == 0)
        // a province code covers the whole province (京津冀 视同备案)
        let bj = try WE.settle(policy: WE.pBJEmp(filingFree: ["130000"]), catalogue: WE.catalogue("130104"))
        #expect(bj.filing == .filingFree)
        // a long-term filing names the person and wins over the zone
        let both = try WE.settle(policy: WE.pBJEmp(filingFree: ["130000"]), filings: [WE.filing(.longTerm, "130000")], catalogue: WE.catalogue("130104"))
        #expect(both.filing == .longTerm)
        // inside the insured province no cross-province filing is needed
        #expect(try WE.settle(catalogue: WE.catalogue("110105")).filing == .filingFree)
    }

    @Test func temporaryPatientWithoutFiling() throws {
        // no filing, not an emergency: no direct settlement
        #expect(try WE.settle().filing == .none)
        // a filing for another province does not count
        #expect(try WE.settle(filings: [WE.filing(.temporary, "440000")]).filing == .none)
        // expired: a temporary filing runs at least 6 months — to 1 Jul 2025 from 2 Jan 2025, even when it says less
        let short = WE.filing(.temporary, from: CalendarDay(year: 2025, month: 1, day: 2)!, to: CalendarDay(year: 2025, month: 2, day: 1)!)
        #expect(short.lastDay == CalendarDay(year: 2025, month: 7, day: 1)!)
        #expect(try WE.settle(filings: [short], on: CalendarDay(year: 2025, month: 7, day: 1)!).filing == .temporary)
        #expect(try WE.settle(filings: [short], on: CalendarDay(year: 2025, month: 7, day: 2)!).filing == .none)
        #expect(WE.filing(.temporary, from: CalendarDay(year: 2025, month: 8, day: 31)!).lastDay == CalendarDay(year: 2026, month: 2, day: 27)!)
        // a filing made before discharge counts: effective on the day of settlement
        #expect(try WE.settle(filings: [WE.filing(.referral, from: WE.day)]).filing == .referral)
        #expect(try WE.settle(filings: [WE.filing(.referral, from: CalendarDay(year: 2025, month: 3, day: 15)!)]).filing == .none)
        // the most favourable ground wins: referral over temporary, emergency over temporary
        #expect(try WE.settle(filings: [WE.filing(.temporary), WE.filing(.referral)]).filing == .referral)
        #expect(try WE.settle(filings: [WE.filing(.temporary)], emergency: true).filing == .emergency)
    }

    @Test func accountSmallerThanThePersonalShareAndAccountNotUsed() throws {
        let s = try WE.settle(insured: WE.employee(balance: 12_345), filings: filed)
        #expect(s.acctPay == 12_345 && s.psnCashPay == 631_500 - 12_345 && s.balc == 0)
        let cash = try MedicalSettlementRules.split(lines: WE.b1, catalogue: WE.catalogue(), policy: WE.pBJEmp(), insured: WE.employee(),
                                                    hospitalLevel: .three, filing: .longTerm, yearToDate: .zero, useAccount: false)
        #expect(cash.acctPay == 0 && cash.psnCashPay == 631_500 && cash.balc == 100_000)
    }

    @Test func reversalGivesBackExactlyWhatWasSplit() throws {
        // setup: a capped, retired, temporary settlement with every kind of amount
        let cat = WE.catalogue(extra: [MedicalCatalogueItem(code: "A-CAP", name: "甲类 限价", category: .a, priceCapFen: 5_000)])
        let ytd = MedicalYearToDate(stays: 1, deductibleFen: 130_000, fundFen: 49_000_000)
        let split = try WE.settle(WE.b1 + [MedicalBillLine(code: "A-CAP", quantity: 2, unitPriceFen: 7_777)], insured: WE.employee(balance: 50_000, retired: true),
                                  filings: [WE.filing(.temporary)], yearToDate: ytd, catalogue: cat)
        let original = WE.record(split)
        let reversal = try MedicalReversal.reverse(original, reversalId: "s-2", alreadyReversed: false, accountBalanceFen: split.balc)
        // validate: every amount sums to zero with the original, line by line; the counters and the account come back
        let r = reversal.split
        let pairs: [(Int64, Int64)] = [(split.medfeeSumamt, r.medfeeSumamt), (split.fulamtOwnpayAmt, r.fulamtOwnpayAmt), (split.overlmtSelfpay, r.overlmtSelfpay),
                                       (split.preselfpayAmt, r.preselfpayAmt), (split.inscpScpAmt, r.inscpScpAmt), (split.actPayDedc, r.actPayDedc),
                                       (split.hifpPay, r.hifpPay), (split.fundPaySumamt, r.fundPaySumamt), (split.psnPartAmt, r.psnPartAmt),
                                       (split.acctPay, r.acctPay), (split.psnCashPay, r.psnCashPay), (split.overAnnualCapAmt, r.overAnnualCapAmt)]
        #expect(pairs.allSatisfy { $0.0 != 0 && $0.0 + $0.1 == 0 })
        #expect(zip(split.lines, r.lines).allSatisfy { $0.detItemFeeSumamt + $1.detItemFeeSumamt == 0 && $0.overlmtAmt + $1.overlmtAmt == 0 && $0.code == $1.code })
        #expect(r.poolPropSelfpay == split.poolPropSelfpay && r.filing == .temporary)
        #expect(ytd.applying(split.yearToDateChange).applying(r.yearToDateChange) == ytd)
        #expect(r.balc == 50_000)
        // at most once; a reversal is not reversed
        #expect(throws: DomainError(.alreadyReversed, "settlement s-1 is already reversed")) {
            try MedicalReversal.reverse(original, reversalId: "s-3", alreadyReversed: true, accountBalanceFen: 0)
        }
        #expect(throws: DomainError.self) { try MedicalReversal.reverse(reversal, reversalId: "s-4", alreadyReversed: false, accountBalanceFen: 0) }
        // a resident's reversal has no balance
        let res = WE.record(try WE.settle(policy: WE.pBJRes, insured: WE.resident, filings: filed))
        #expect(try MedicalReversal.reverse(res, reversalId: "s-5", alreadyReversed: false, accountBalanceFen: nil).split.balc == nil)
    }

    @Test func clearingNetsReversalsAndLeavesOutLocalAndUnfiledBills() throws {
        let s = try WE.settle(filings: filed)
        let settled = WE.record(s, id: "s-1", insured: "110105", treatment: "310104")
        let reversed = try MedicalReversal.reverse(settled, reversalId: "s-2", alreadyReversed: false, accountBalanceFen: 0)
        let kept = WE.record(s, id: "s-3", insured: "110105", treatment: "310104")
        let local = WE.record(s, id: "s-4", insured: "110105", treatment: "110108")
        let unfiled = WE.record(try WE.settle(), id: "s-5")
        let c = try MedicalClearing.clear(month: "2025-03", records: [settled, reversed, kept, local, unfiled])
        #expect(c.pairs.count == 1)
        let pair = try #require(c.pairs.first)
        #expect(pair.insuredRegion == "110000" && pair.treatmentRegion == "310000" && pair.settlements == 1)
        #expect(pair.fundFen == 1_368_500 && pair.medfeeSumamt == 2_000_000 && pair.acctPay == 100_000 && pair.cashPayamt == 531_500)
        #expect(c.net == ["310000": 1_368_500, "110000": -1_368_500])
        #expect(throws: DomainError.self) { try MedicalClearing.clear(month: "2025-3", records: []) }
    }

    @Test func ratioChangeMidYearByPolicyVersion() throws {
        var v1 = WE.pBJEmp(); v1.policyVersion = 1
        var v2 = WE.pBJEmp(); v2.policyVersion = 2; v2.effectiveFrom = CalendarDay(year: 2025, month: 7, day: 1)!; v2.ratioPercentByLevel = ByLevel(90, 88, 86)
        #expect(MedicalPolicyVersions.inForce([v2, v1], on: CalendarDay(year: 2025, month: 6, day: 30)!)?.policyVersion == 1)
        let july = try #require(MedicalPolicyVersions.inForce([v1, v2], on: CalendarDay(year: 2025, month: 7, day: 1)!))
        #expect(july.policyVersion == 2)
        #expect(try WE.settle(policy: july, filings: filed).hifpPay == 1_384_600)
        #expect(MedicalPolicyVersions.inForce([v2], on: WE.day) == nil)
    }

    @Test func refusals() throws {
        #expect(throws: DomainError.self) { try WE.settle([], filings: filed) }
        #expect(throws: DomainError.self) { try WE.settle([MedicalBillLine(code: "A-001", amountFen: -1)], filings: filed) }
        #expect(throws: DomainError.self) { try WE.settle([MedicalBillLine(code: "A-001", amountFen: 100, quantity: 0)], filings: filed) }
        #expect(throws: DomainError.self) { try WE.settle([MedicalBillLine(code: "A-001", amountFen: MedicalPolicy.maximumFen + 1)], filings: filed) }
        // a resident policy cannot settle an employee
        #expect(throws: DomainError.self) { try WE.settle(policy: WE.pBJRes, filings: filed) }
        #expect(throws: DomainError.self) { try MedicalCatalogueItem(code: "A-9", name: "甲", category: .a, preselfpayPercent: 10).validate() }
        #expect(throws: DomainError.self) { try MedicalInsured(personId: "p", scheme: .resident, insuredRegion: "110000", retired: false, accountBalanceFen: 5).validate() }
        #expect(throws: DomainError.self) { try MedicalFiling(kind: .referral, treatmentRegion: "130100", from: WE.day).validate() }
    }
}

@Suite("Medical settlement: presets and policy documents")
struct MedicalPresetTests {
    @Test func everyPackRegionHasAPresetFileAndEveryFileValidates() throws {
        let presets = try MedicalPolicyBook.loadShipped()
        #expect(Set(presets.map(\.regionCode)) == Set(PolicyBook.shipped.policies.keys))
        #expect(presets.allSatisfy { $0.preset && !$0.notes.isEmpty })
        #expect(presets.flatMap(\.policies).allSatisfy { $0.source?.contains("preset") == true })
        // regions without published figures ship none rather than invented ones
        #expect(presets.filter { $0.policies.isEmpty }.map(\.regionCode).sorted() == ["320000", "330000", "340000", "510000"])
        // the jurisdiction packs still load, all ten
        #expect(PolicyBook.shipped.policies.count == 10)
    }

    @Test func beijingPresetIsPolicyPBJEmpAtTertiaryLevel() throws {
        let p = try #require(MedicalPolicyBook.shipped.policy(insuredRegion: "110105", scheme: .employee, care: .inpatient, on: WE.day))
        #expect(p.deductible(level: .three, retired: false) == Deductible(firstFen: 130_000, laterFen: 65_000))
        #expect(p.ratio(level: .three, retired: false) == 85 && p.annualCapFen == 50_000_000 && p.temporary == .points(referral: 10, other: 20))
        // WE-M1 on the preset
        let s = try WE.settle(policy: p, filings: [WE.filing(.longTerm)])
        #expect(s.hifpPay == 1_368_500)
    }

    @Test func lookupFallsBackFromCountyToPoolingRegionToProvince() throws {
        let book = MedicalPolicyBook.shipped
        #expect(book.policy(insuredRegion: "130102", scheme: .employee, care: .inpatient, on: WE.day)?.regionCode == "130100")
        #expect(book.policy(insuredRegion: "130602", scheme: .employee, care: .inpatient, on: WE.day) == nil)
        let gz = try #require(book.policy(insuredRegion: "440106", scheme: .employee, care: .inpatient, on: WE.day))
        #expect(gz.ratio(level: .two, retired: true) == Percent(hundredths: 8950))
        #expect(book.policy(insuredRegion: "320505", scheme: .employee, care: .inpatient, on: WE.day) == nil)
        // Tianjin: per-level deductibles, later stays lower
        let tj = try #require(book.policy(insuredRegion: "120101", scheme: .employee, care: .inpatient, on: WE.day))
        #expect(tj.deductible(level: .two, retired: false) == Deductible(firstFen: 110_000, laterFen: 35_000))
    }

    @Test func settlementYearFollowsThePolicy() throws {
        let sh = try #require(MedicalPolicyBook.shipped.policy(insuredRegion: "310101", scheme: .employee, care: .inpatient, on: WE.day))
        #expect(sh.settlementYear(of: CalendarDay(year: 2025, month: 6, day: 30)!) == 2024 && sh.settlementYear(of: CalendarDay(year: 2025, month: 7, day: 1)!) == 2025)
        #expect(WE.pBJEmp().settlementYear(of: CalendarDay(year: 2025, month: 1, day: 1)!) == 2025)
    }

    @Test func policyBodyDecodesAsAPIMdWritesIt() throws {
        let json = """
        {"regionCode":"320500","scheme":"employee","care":"inpatient","policyVersion":1,"deductibleFirstFen":100000,"deductibleLaterFen":50000,
         "ratioPercentByLevel":{"1":92,"2":89.5,"3":85},"retireeUpliftPercent":5,"annualCapFen":null,
         "temporary":{"mode":"multiplier","otherMultiplierPercent":80},"filingFreeRegions":["310118"]}
        """
        let p = try JSONDecoder().decode(MedicalPolicy.self, from: Data(json.utf8))
        #expect(p.ratioPercentByLevel.two == Percent(hundredths: 8950) && p.annualCapFen == nil && p.temporary == .multiplier(other: 80, referral: nil))
        try p.validate()
        let again = try JSONDecoder().decode(MedicalPolicy.self, from: JSONEncoder().encode(p))
        #expect(again == p)
        let out = String(decoding: try JSONEncoder().encode(p.ratioPercentByLevel), as: UTF8.self)
        #expect(out.contains("\"2\":89.5") && out.contains("\"1\":92"))
        #expect(throws: (any Error).self) { try JSONDecoder().decode(TemporaryReduction.self, from: Data(#"{"mode":"steps"}"#.utf8)) }
    }
}
