import Foundation
@testable import OneCardCore

/// The data of wave2-facts §1.5, in fen.
enum WE {
    static let day = CalendarDay(year: 2025, month: 3, day: 14)!
    static let beijing = "110000", shanghai = "310000", hebei = "130000"

    /// Policy P-BJ-EMP: Beijing employee inpatient, tertiary 85 %, 1,300 / 650, cap 500,000, points −10 / −20.
    static func pBJEmp(temporary: TemporaryReduction = .points(referral: 10, other: 20), filingFree: [String] = []) -> MedicalPolicy {
        MedicalPolicy(regionCode: beijing, scheme: .employee, care: .inpatient, deductibleFirstFen: 130_000, deductibleLaterFen: 65_000,
                      ratioPercentByLevel: ByLevel(90, 87, 85), retireeUpliftPercent: 5, annualCapFen: 50_000_000, temporary: temporary,
                      filingFreeRegions: filingFree)
    }

    /// Beijing resident inpatient as WE-M6 uses it: tertiary 1,300, 75 %, cap 250,000.
    static let pBJRes = MedicalPolicy(regionCode: beijing, scheme: .resident, care: .inpatient, deductibleFirstFen: 130_000, deductibleLaterFen: 65_000,
                                      ratioPercentByLevel: ByLevel(80, 78, 75), annualCapFen: 25_000_000, temporary: .points(referral: 10, other: 20))

    /// The treatment place's catalogue: 乙类 with the 10 % pay-first share [U].
    static func catalogue(_ region: String = shanghai, extra: [MedicalCatalogueItem] = []) -> MedicalCatalogue {
        MedicalCatalogue(treatmentRegion: region, version: 1, items: [
            MedicalCatalogueItem(code: "A-001", name: "甲类 头孢呋辛钠注射剂", category: .a),
            MedicalCatalogueItem(code: "B-001", name: "乙类 注射用奥美拉唑", category: .b, preselfpayPercent: 10),
            MedicalCatalogueItem(code: "C-001", name: "丙类 特需病房床位", category: .c),
        ] + extra)
    }

    /// Bill B1: 甲 12,000 + 乙 6,000 + 丙 2,000 = 20,000.
    static let b1 = [MedicalBillLine(code: "A-001", amountFen: 1_200_000), MedicalBillLine(code: "B-001", amountFen: 600_000),
                     MedicalBillLine(code: "C-001", amountFen: 200_000)]

    static func employee(balance: Int64 = 100_000, retired: Bool = false, region: String = beijing) -> MedicalInsured {
        MedicalInsured(personId: "p-bj-1", scheme: .employee, insuredRegion: region, retired: retired, accountBalanceFen: balance)
    }

    static let resident = MedicalInsured(personId: "p-bj-2", scheme: .resident, insuredRegion: beijing, retired: false, accountBalanceFen: nil)

    static func filing(_ kind: FilingKind, _ region: String = shanghai, from: CalendarDay = CalendarDay(year: 2025, month: 1, day: 2)!,
                       to: CalendarDay? = nil) -> MedicalFiling {
        MedicalFiling(kind: kind, treatmentRegion: region, from: from, to: to)
    }

    /// Settles at a tertiary hospital in the catalogue's region on `day`.
    static func settle(_ lines: [MedicalBillLine] = WE.b1, policy: MedicalPolicy = WE.pBJEmp(), insured: MedicalInsured = WE.employee(),
                       filings: [MedicalFiling] = [], emergency: Bool = false, level: HospitalLevel = .three,
                       yearToDate: MedicalYearToDate = .zero, catalogue: MedicalCatalogue = WE.catalogue(), on day: CalendarDay = WE.day) throws -> MedicalSplit {
        try MedicalSettlementRules.settle(lines: lines, catalogue: catalogue, policy: policy, insured: insured, filings: filings,
                                          hospitalLevel: level, emergency: emergency, on: day, yearToDate: yearToDate)
    }

    static func record(_ split: MedicalSplit, id: String = "s-1", insured: String = beijing, treatment: String = shanghai) -> MedicalSettlementRecord {
        MedicalSettlementRecord(settlementId: id, personId: "p-bj-1", insuredRegion: insured, treatmentRegion: treatment, care: .inpatient,
                                hospitalLevel: .three, policyVersion: 1, split: split)
    }
}

/// The figures a worked example's table row gives, in fen.
struct Row: Equatable, CustomStringConvertible {
    var inscp: Int64, dedc: Int64, ratio: Percent, hifp: Int64, psnPart: Int64, acct: Int64, cash: Int64

    init(inscp: Int64, dedc: Int64, ratio: Percent, hifp: Int64, psnPart: Int64, acct: Int64, cash: Int64) {
        self.inscp = inscp; self.dedc = dedc; self.ratio = ratio; self.hifp = hifp; self.psnPart = psnPart; self.acct = acct; self.cash = cash
    }

    init(_ s: MedicalSplit) {
        self.init(inscp: s.inscpScpAmt, dedc: s.actPayDedc, ratio: s.poolPropSelfpay, hifp: s.hifpPay, psnPart: s.psnPartAmt, acct: s.acctPay, cash: s.psnCashPay)
    }

    var description: String { "inscp \(inscp) dedc \(dedc) ratio \(ratio) hifp \(hifp) psnPart \(psnPart) acct \(acct) cash \(cash)" }
}
