import Foundation

/// One line of a hospital bill (API.md `items:[{code,amountFen,quantity}]`; `amountFen` is the line total).
public struct MedicalBillLine: Codable, Sendable, Equatable {
    public var code: String
    public var amountFen: Int64
    public var quantity: Int

    public init(code: String, amountFen: Int64, quantity: Int = 1) { self.code = code; self.amountFen = amountFen; self.quantity = quantity }
    /// A line from its unit price: the line total is `unitPriceFen × quantity`.
    public init(code: String, quantity: Int, unitPriceFen: Int64) { self.init(code: code, amountFen: unitPriceFen * Int64(quantity), quantity: quantity) }
}

/// The insured place's counters for one person in one settlement year (API.md: they belong to the insured place).
public struct MedicalYearToDate: Codable, Sendable, Equatable {
    /// Stays settled so far (a reversed stay no longer counts).
    public var stays: Int
    /// Deductible applied so far.
    public var deductibleFen: Int64
    /// Pooled fund paid so far, against the annual cap.
    public var fundFen: Int64

    public init(stays: Int = 0, deductibleFen: Int64 = 0, fundFen: Int64 = 0) { self.stays = stays; self.deductibleFen = deductibleFen; self.fundFen = fundFen }

    public static let zero = MedicalYearToDate()

    /// The counters after a settlement (or its reversal, whose change is negative).
    public func applying(_ change: MedicalYearToDate) -> MedicalYearToDate {
        MedicalYearToDate(stays: stays + change.stays, deductibleFen: deductibleFen + change.deductibleFen, fundFen: fundFen + change.fundFen)
    }

    public var negated: MedicalYearToDate { MedicalYearToDate(stays: -stays, deductibleFen: -deductibleFen, fundFen: -fundFen) }
}

/// How one bill line was split (the national interface's item fields, camelCased).
public struct MedicalLineSplit: Codable, Sendable, Equatable {
    public var code: String
    /// nil: not in the treatment place's catalogue (fully self-paid, API.md).
    public var chrgitmLv: MedicalCategory?
    public var detItemFeeSumamt: Int64
    public var fulamtOwnpayAmt: Int64
    public var overlmtAmt: Int64
    public var preselfpayAmt: Int64
    public var inscpScpAmt: Int64

    var negated: MedicalLineSplit {
        MedicalLineSplit(code: code, chrgitmLv: chrgitmLv, detItemFeeSumamt: -detItemFeeSumamt, fulamtOwnpayAmt: -fulamtOwnpayAmt,
                         overlmtAmt: -overlmtAmt, preselfpayAmt: -preselfpayAmt, inscpScpAmt: -inscpScpAmt)
    }
}

/// A bill split into the national medical insurance platform's settlement terms (wave2-facts §1.4), in fen.
/// `psnPartAmt = medfeeSumamt − fundPaySumamt`, `psnCashPay = psnPartAmt − acctPay`.
public struct MedicalSplit: Codable, Sendable, Equatable {
    public var filing: SettlementFiling
    /// 医疗费总额.
    public var medfeeSumamt: Int64
    /// 全自费: 丙类 and items outside the treatment place's catalogue.
    public var fulamtOwnpayAmt: Int64
    /// 超限价自费: the part of a line above its price cap.
    public var overlmtSelfpay: Int64
    /// 先行自付: the 乙类 pay-first share.
    public var preselfpayAmt: Int64
    /// 符合政策范围金额.
    public var inscpScpAmt: Int64
    /// 实际支付起付线.
    public var actPayDedc: Int64
    /// 统筹基金支出.
    public var hifpPay: Int64
    /// 统筹基金支付比例 used, in percent.
    public var poolPropSelfpay: Percent
    /// 基金支付总额 (the pooled fund only: no other fund is modelled).
    public var fundPaySumamt: Int64
    /// 个人负担总金额.
    public var psnPartAmt: Int64
    /// 个人账户支出.
    public var acctPay: Int64
    /// 个人现金支出.
    public var psnCashPay: Int64
    /// Account balance after settlement; nil for residents, who have no account.
    public var balc: Int64?
    /// What the fund would have paid above the annual cap (not a national field; explains a capped `hifpPay`).
    public var overAnnualCapAmt: Int64
    public var lines: [MedicalLineSplit]
    /// The change to the insured place's year-to-date counters.
    public var yearToDateChange: MedicalYearToDate
}

/// The settlement split: "就医地目录、参保地政策" — the treatment place's catalogue decides each line's
/// category and cap, the insured place's policy the deductible, ratio and cap, the filing the cut.
public enum MedicalSettlementRules {
    /// Splits a bill (wave2-facts §1.4 algorithm). Rounding (API.md): half up to the fen at each step —
    /// the 乙类 share once per line, the fund payment once, before the annual cap is applied.
    /// Everything else is a sum or difference of fen and needs none.
    public static func split(lines: [MedicalBillLine], catalogue: MedicalCatalogue, policy: MedicalPolicy, insured: MedicalInsured,
                             hospitalLevel: HospitalLevel, filing: SettlementFiling, yearToDate: MedicalYearToDate,
                             useAccount: Bool = true) throws(DomainError) -> MedicalSplit {
        guard policy.scheme == insured.scheme else {
            throw .invalidField("policy", "a \(policy.scheme.rawValue) policy cannot settle a \(insured.scheme.rawValue) insured person")
        }
        try validate(lines)

        // 1. Each line under the treatment place's catalogue.
        let lineSplits = lines.map { line -> MedicalLineSplit in
            guard let item = catalogue[line.code], item.category != .c else {
                return MedicalLineSplit(code: line.code, chrgitmLv: catalogue[line.code]?.category, detItemFeeSumamt: line.amountFen,
                                        fulamtOwnpayAmt: line.amountFen, overlmtAmt: 0, preselfpayAmt: 0, inscpScpAmt: 0)
            }
            let overlmt = item.priceCapFen.map { max(0, line.amountFen - $0 * Int64(line.quantity)) } ?? 0
            let preselfpay = item.category == .b ? (item.preselfpayPercent ?? .zero).of(line.amountFen - overlmt) : 0
            return MedicalLineSplit(code: line.code, chrgitmLv: item.category, detItemFeeSumamt: line.amountFen, fulamtOwnpayAmt: 0,
                                    overlmtAmt: overlmt, preselfpayAmt: preselfpay, inscpScpAmt: line.amountFen - overlmt - preselfpay)
        }
        let medfee = lineSplits.reduce(0) { $0 + $1.detItemFeeSumamt }
        let fulamt = lineSplits.reduce(0) { $0 + $1.fulamtOwnpayAmt }
        let overlmt = lineSplits.reduce(0) { $0 + $1.overlmtAmt }
        let preselfpay = lineSplits.reduce(0) { $0 + $1.preselfpayAmt }
        // 2. The in-scope amount.
        let inscp = medfee - fulamt - overlmt - preselfpay
        let balance = insured.scheme == .employee ? (insured.accountBalanceFen ?? 0) : nil

        // Unfiled and not an emergency: no direct settlement, everything in cash, not a stay (API.md; WE-M7).
        guard filing != .none else {
            return MedicalSplit(filing: .none, medfeeSumamt: medfee, fulamtOwnpayAmt: fulamt, overlmtSelfpay: overlmt, preselfpayAmt: preselfpay,
                                inscpScpAmt: inscp, actPayDedc: 0, hifpPay: 0, poolPropSelfpay: .zero, fundPaySumamt: 0, psnPartAmt: medfee,
                                acctPay: 0, psnCashPay: medfee, balc: balance, overAnnualCapAmt: 0, lines: lineSplits, yearToDateChange: .zero)
        }

        // 3. The deductible still to meet, by the policy's basis.
        let deductible = policy.deductible(level: hospitalLevel, retired: insured.retired)
        let remainingDeductible = switch policy.basis {
        case .stay: yearToDate.stays == 0 ? deductible.firstFen : deductible.laterFen
        case .year: max(0, deductible.firstFen - yearToDate.deductibleFen)
        }
        let dedc = min(remainingDeductible, inscp)
        // 4. The ratio for scheme, level, retirement and filing.
        let ratio = policy.temporary.ratio(policy.ratio(level: hospitalLevel, retired: insured.retired), for: filing)
        // 5. The fund payment, rounded once, then held to what is left of the annual cap.
        let uncapped = ratio.of(inscp - dedc)
        let hifp = policy.annualCapFen.map { min(uncapped, max(0, $0 - yearToDate.fundFen)) } ?? uncapped
        // 6–7. The personal share: the employee's account first, cash for the rest.
        let psnPart = medfee - hifp
        let acct = useAccount ? min(balance ?? 0, psnPart) : 0
        return MedicalSplit(filing: filing, medfeeSumamt: medfee, fulamtOwnpayAmt: fulamt, overlmtSelfpay: overlmt, preselfpayAmt: preselfpay,
                            inscpScpAmt: inscp, actPayDedc: dedc, hifpPay: hifp, poolPropSelfpay: ratio, fundPaySumamt: hifp,
                            psnPartAmt: psnPart, acctPay: acct, psnCashPay: psnPart - acct, balc: balance.map { $0 - acct },
                            overAnnualCapAmt: uncapped - hifp, lines: lineSplits,
                            // 8. What the next settlement of the year starts from.
                            yearToDateChange: MedicalYearToDate(stays: 1, deductibleFen: dedc, fundFen: hifp))
    }

    /// Resolves the filing and splits: what a hospital terminal's settlement asks of Core.
    public static func settle(lines: [MedicalBillLine], catalogue: MedicalCatalogue, policy: MedicalPolicy, insured: MedicalInsured,
                              filings: [MedicalFiling], hospitalLevel: HospitalLevel, emergency: Bool, on day: CalendarDay,
                              yearToDate: MedicalYearToDate, useAccount: Bool = true) throws(DomainError) -> MedicalSplit {
        let filing = MedicalFilingCheck.resolve(filings: filings, insuredRegion: insured.insuredRegion, treatmentRegion: catalogue.treatmentRegion,
                                                emergency: emergency, on: day, filingFreeRegions: policy.filingFreeRegions)
        return try split(lines: lines, catalogue: catalogue, policy: policy, insured: insured, hospitalLevel: hospitalLevel,
                         filing: filing, yearToDate: yearToDate, useAccount: useAccount)
    }

    /// Most lines one bill may carry.
    public static let maximumLines = 2_000

    public static func validate(_ lines: [MedicalBillLine]) throws(DomainError) {
        guard !lines.isEmpty else { throw .invalidField("items", "at least one line") }
        guard lines.count <= maximumLines else { throw .invalidField("items", "at most \(maximumLines) lines") }
        var total: Int64 = 0
        for (i, line) in lines.enumerated() {
            guard !line.code.isEmpty else { throw .invalidField("items[\(i)].code", "required") }
            guard (1...1_000_000).contains(line.quantity) else { throw .invalidField("items[\(i)].quantity", "1 to 1000000") }
            guard (0...MedicalPolicy.maximumFen).contains(line.amountFen) else {
                throw .invalidField("items[\(i)].amountFen", "0 to \(MedicalPolicy.maximumFen) fen")
            }
            total += line.amountFen
        }
        guard total <= MedicalPolicy.maximumFen else { throw DomainError(.billTooLarge, "items: the bill is at most \(MedicalPolicy.maximumFen) fen") }
    }
}

/// A stored settlement: the split with what identifies it (API.md `settlementId`, `reverses`, `policyVersion`).
public struct MedicalSettlementRecord: Codable, Sendable, Equatable {
    public var settlementId: String
    /// The settlement this record negates; nil for a settlement.
    public var reverses: String?
    public var personId: Person.ID
    public var insuredRegion: String
    public var treatmentRegion: String
    public var care: MedicalCare
    public var hospitalLevel: HospitalLevel
    public var policyVersion: Int
    public var split: MedicalSplit

    public init(settlementId: String, reverses: String? = nil, personId: Person.ID, insuredRegion: String, treatmentRegion: String,
                care: MedicalCare, hospitalLevel: HospitalLevel, policyVersion: Int, split: MedicalSplit) {
        self.settlementId = settlementId; self.reverses = reverses; self.personId = personId; self.insuredRegion = insuredRegion
        self.treatmentRegion = treatmentRegion; self.care = care; self.hospitalLevel = hospitalLevel; self.policyVersion = policyVersion
        self.split = split
    }
}

/// Reversal (红冲; interfaces 2305 inpatient, 2208 outpatient): a new record negating every amount; the original is never edited.
public enum MedicalReversal {
    /// The negating record. The counters change by the negated change of the original (a reversed
    /// stay no longer counts, WE-M8); the account gets back what it paid, so `balc` is the balance
    /// now plus that. The ratio (`poolPropSelfpay`) and filing are the original's: a record says
    /// under what it was made. A reversal is not itself reversed (settle again instead).
    public static func reverse(_ original: MedicalSettlementRecord, reversalId: String, alreadyReversed: Bool,
                               accountBalanceFen: Int64?) throws(DomainError) -> MedicalSettlementRecord {
        guard original.reverses == nil else { throw .invalidTransition("a reversal is not reversed; settle the bill again") }
        guard !alreadyReversed else { throw DomainError(.alreadyReversed, "settlement \(original.settlementId) is already reversed") }
        let s = original.split
        let negated = MedicalSplit(filing: s.filing, medfeeSumamt: -s.medfeeSumamt, fulamtOwnpayAmt: -s.fulamtOwnpayAmt,
                                   overlmtSelfpay: -s.overlmtSelfpay, preselfpayAmt: -s.preselfpayAmt, inscpScpAmt: -s.inscpScpAmt,
                                   actPayDedc: -s.actPayDedc, hifpPay: -s.hifpPay, poolPropSelfpay: s.poolPropSelfpay,
                                   fundPaySumamt: -s.fundPaySumamt, psnPartAmt: -s.psnPartAmt, acctPay: -s.acctPay, psnCashPay: -s.psnCashPay,
                                   balc: s.balc == nil ? nil : (accountBalanceFen ?? 0) + s.acctPay, overAnnualCapAmt: -s.overAnnualCapAmt,
                                   lines: s.lines.map(\.negated), yearToDateChange: s.yearToDateChange.negated)
        var record = original
        record.settlementId = reversalId
        record.reverses = original.settlementId
        record.split = negated
        return record
    }
}
