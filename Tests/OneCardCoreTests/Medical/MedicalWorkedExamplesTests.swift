import Foundation
import Testing
@testable import OneCardCore

/// Every worked example of wave2-facts §1.5 (WE-M1 … WE-M9), to the fen.
@Suite("Medical settlement: worked examples WE-M")
struct MedicalWorkedExamplesTests {
    @Test func weM1LongTermFiledFirstStay() throws {
        // setup: living in Shanghai, filed long-term; first stay; account 1,000
        let s = try WE.settle(filings: [WE.filing(.longTerm)])
        // validate
        #expect(s.filing == .longTerm)
        #expect(s.medfeeSumamt == 2_000_000 && s.fulamtOwnpayAmt == 200_000 && s.preselfpayAmt == 60_000 && s.overlmtSelfpay == 0)
        #expect(Row(s) == Row(inscp: 1_740_000, dedc: 130_000, ratio: 85, hifp: 1_368_500, psnPart: 631_500, acct: 100_000, cash: 531_500))
        // the check line: 6,315 = 2,000 (丙) + 600 (乙 share) + 1,300 (deductible) + 16,100 × 15 %
        #expect(s.psnPartAmt == 200_000 + 60_000 + 130_000 + 241_500)
        #expect(s.fundPaySumamt == s.hifpPay && s.balc == 0)
        #expect(s.yearToDateChange == MedicalYearToDate(stays: 1, deductibleFen: 130_000, fundFen: 1_368_500))
    }

    @Test func weM2ReferralOrEmergency() throws {
        let row = Row(inscp: 1_740_000, dedc: 130_000, ratio: 75, hifp: 1_207_500, psnPart: 792_500, acct: 100_000, cash: 692_500)
        // filed as 转诊
        let referral = try WE.settle(filings: [WE.filing(.referral)])
        #expect(referral.filing == .referral && Row(referral) == row)
        // unfiled but 急诊抢救: counts as filed, with the same cut
        let emergency = try WE.settle(emergency: true)
        #expect(emergency.filing == .emergency && Row(emergency) == row)
    }

    @Test func weM3OtherTemporary() throws {
        let s = try WE.settle(filings: [WE.filing(.temporary)])
        #expect(s.filing == .temporary)
        #expect(Row(s) == Row(inscp: 1_740_000, dedc: 130_000, ratio: 65, hifp: 1_046_500, psnPart: 953_500, acct: 100_000, cash: 853_500))
    }

    @Test func weM4MultiplierMode() throws {
        // Suzhou-style: 80 % of the normal 85 %
        let s = try WE.settle(policy: WE.pBJEmp(temporary: .multiplier(other: 80, referral: nil)), filings: [WE.filing(.temporary)])
        #expect(Row(s) == Row(inscp: 1_740_000, dedc: 130_000, ratio: 68, hifp: 1_094_800, psnPart: 905_200, acct: 100_000, cash: 805_200))
    }

    @Test func weM5LaterStayWithCapReached() throws {
        // setup: second stay of the year, fund already paid 495,000, account empty
        let ytd = MedicalYearToDate(stays: 1, deductibleFen: 130_000, fundFen: 49_500_000)
        let s = try WE.settle(insured: WE.employee(balance: 0), filings: [WE.filing(.longTerm)], yearToDate: ytd)
        // validate: 16,750 × 0.85 = 14,237.50, capped at the 5,000 left
        #expect(Row(s) == Row(inscp: 1_740_000, dedc: 65_000, ratio: 85, hifp: 500_000, psnPart: 1_500_000, acct: 0, cash: 1_500_000))
        #expect(s.overAnnualCapAmt == 1_423_750 - 500_000)
        #expect(ytd.applying(s.yearToDateChange).fundFen == 50_000_000)
    }

    @Test func weM6ResidentScheme() throws {
        // 甲 8,000 + 乙 2,000 with 200 pay-first
        let bill = [MedicalBillLine(code: "A-001", amountFen: 800_000), MedicalBillLine(code: "B-001", amountFen: 200_000)]
        let s = try WE.settle(bill, policy: WE.pBJRes, insured: WE.resident, filings: [WE.filing(.longTerm)])
        #expect(s.preselfpayAmt == 20_000 && s.inscpScpAmt == 980_000 && s.actPayDedc == 130_000)
        #expect(s.hifpPay == 637_500 && s.psnCashPay == 362_500)
        // no personal account
        #expect(s.acctPay == 0 && s.balc == nil)
    }

    @Test func weM7UnfiledNotEmergency() throws {
        let ytd = MedicalYearToDate(stays: 0, deductibleFen: 0, fundFen: 0)
        let s = try WE.settle(filings: [], emergency: false, yearToDate: ytd)
        #expect(s.filing == .none)
        #expect(s.hifpPay == 0 && s.fundPaySumamt == 0 && s.actPayDedc == 0)
        #expect(s.psnCashPay == 2_000_000 && s.acctPay == 0 && s.balc == 100_000)
        // not a stay: the counters do not move
        #expect(s.yearToDateChange == .zero)
    }

    @Test func weM8ReversalOfWeM1() throws {
        // setup: WE-M1 settled and counted
        let original = WE.record(try WE.settle(filings: [WE.filing(.longTerm)]))
        let ytd = MedicalYearToDate.zero.applying(original.split.yearToDateChange)
        // the reversal (balance now 0 after WE-M1 took 1,000)
        let reversal = try MedicalReversal.reverse(original, reversalId: "s-2", alreadyReversed: false, accountBalanceFen: 0)
        // validate: a red-flush record negating every amount; the original untouched
        #expect(reversal.settlementId == "s-2" && reversal.reverses == "s-1" && original.reverses == nil)
        let r = reversal.split
        #expect(r.medfeeSumamt == -2_000_000 && r.hifpPay == -1_368_500 && r.acctPay == -100_000 && r.psnCashPay == -531_500)
        #expect(r.balc == 100_000)
        #expect(r.yearToDateChange == MedicalYearToDate(stays: -1, deductibleFen: -130_000, fundFen: -1_368_500))
        let restored = ytd.applying(r.yearToDateChange)
        #expect(restored == .zero)
        // a re-settlement after the reversal is again a first stay
        let again = try WE.settle(filings: [WE.filing(.longTerm)], yearToDate: restored)
        #expect(again.actPayDedc == 130_000 && again == original.split)
    }

    @Test func weM9MonthlyClearing() throws {
        // setup: the month's fund shares, one settlement per flow
        func rec(_ insured: String, _ treatment: String, fund: Int64) -> MedicalSettlementRecord {
            var s = try! WE.settle(filings: [WE.filing(.longTerm, treatment)], catalogue: WE.catalogue(treatment))
            s.hifpPay = fund; s.fundPaySumamt = fund
            return WE.record(s, insured: insured, treatment: treatment)
        }
        let records = [rec("110105", "130100", fund: 300_000_000), rec("130100", "110000", fund: 1_000_000_000),
                       rec("120000", "110000", fund: 200_000_000), rec("110000", "120000", fund: 50_000_000)]
        let c = try MedicalClearing.clear(month: "2025-03", records: records)
        // validate
        #expect(c.setlym == "202503")
        #expect(c.net == ["110000": 850_000_000, "130000": -700_000_000, "120000": -150_000_000])
        #expect(c.net.values.reduce(0, +) == 0)
        #expect(c.pairs.map { "\($0.insuredRegion)>\($0.treatmentRegion):\($0.fundFen)" }
            == ["110000>120000:50000000", "110000>130000:300000000", "120000>110000:200000000", "130000>110000:1000000000"])
        #expect(c.pairs.allSatisfy { $0.settlements == 1 })
    }
}
