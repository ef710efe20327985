import Foundation

/// Enforcement case types from the regulations (API.md `type`).
public enum CaseType: String, Codable, Sendable, CaseIterable {
    /// 出租、出借 (GD art. 19)
    case cardLending = "card_lending"
    /// 买卖 (GD art. 19)
    case cardSelling = "card_selling"
    /// 冒领、冒用、盗用、骗取、截留、非法扣押 (GD art. 19)
    case impersonation
    /// 伪造、变造或使用伪造、变造的社会保障卡 (GD art. 19)
    case forgery
    /// A venue refusing the card (JJJ art. 24, CQ art. 22, ZJ art. 21: order to correct, no fine amount).
    case venueRefusal = "venue_refusal"
    case duplicateCardIssued = "duplicate_card_issued"
    case noDataDocking = "no_data_docking"
    case noQueryService = "no_query_service"
    /// A cooperating bank's breach (GD art. 20: suspension or termination, through the bank flows).
    case bankBreach = "bank_breach"
}

/// Whom a case is against: 行政处罚法 sets different limits for individuals and organisations.
public enum PartyKind: String, Codable, Sendable {
    case person, organisation
}

/// A region's fine rule, read from its pack (`fineRangeYuan`); amounts in fen.
public struct FineRule: Sendable, Equatable {
    public var minFen: Int64
    public var maxFen: Int64
    public var caseTypes: Set<CaseType>
    public var seriousOnly: Bool
    public var hearingThresholdFen: Int64?
    public var basis: String

    public init(minFen: Int64, maxFen: Int64, caseTypes: Set<CaseType>, seriousOnly: Bool = true, hearingThresholdFen: Int64? = nil, basis: String) {
        self.minFen = minFen; self.maxFen = maxFen; self.caseTypes = caseTypes; self.seriousOnly = seriousOnly
        self.hearingThresholdFen = hearingThresholdFen; self.basis = basis
    }

    /// The pack's rule; nil when the region's regulation sets no fine (CQ art. 21, JJJ art. 24: "依法追究", "责令改正").
    public init?(pack: JurisdictionPolicy) {
        guard let f = pack.fineRangeYuan else { return nil }
        self.init(minFen: Int64(f.min) * 100, maxFen: Int64(f.max) * 100,
                  caseTypes: Set((f.caseTypes ?? []).compactMap(CaseType.init(rawValue:))), seriousOnly: f.seriousOnly ?? true,
                  hearingThresholdFen: f.hearingThresholdYuan.map { Int64($0) * 100 }, basis: f.basis)
    }
}

/// What a supervisor proposes when deciding a case.
public struct CaseDecisionProposal: Sendable, Equatable {
    public var type: CaseType
    /// An order to correct within a time limit (责令限期改正) was issued before.
    public var ordered: Bool
    public var serious: Bool
    public var fineFen: Int64?

    public init(type: CaseType, ordered: Bool, serious: Bool, fineFen: Int64?) {
        self.type = type; self.ordered = ordered; self.serious = serious; self.fineFen = fineFen
    }
}

/// The pure rules that bound a case and its fine (GD art. 19; 行政处罚法 2021, wave2-facts 3.2).
public enum EnforcementRules {
    /// Checks a decision in the order API.md gives: no prior order → `order_required`; a fine for a type the pack
    /// does not make fineable, or when not serious → `fine_not_allowed`; outside the range (bounds inclusive,
    /// "以上/以下") → `fine_out_of_range`. `rule` is nil where the region sets no fine. A decision without a fine
    /// (the case closed at the order) passes once the order was given.
    public static func checkDecision(_ p: CaseDecisionProposal, rule: FineRule?) throws(DomainError) {
        // GD art. 19: 责令限期改正 first; a decision is taken only after it.
        guard p.ordered else { throw DomainError(.orderRequired, "a case is decided only after an order to correct (GD art. 19)") }
        guard let fine = p.fineFen else { return }
        guard let rule, rule.caseTypes.contains(p.type) else {
            throw DomainError(.fineNotAllowed, "the region's rules set no fine for \(p.type.rawValue)")
        }
        guard p.serious || !rule.seriousOnly else {
            throw DomainError(.fineNotAllowed, "a fine is allowed only when the case is serious (情节严重, \(rule.basis))")
        }
        guard (rule.minFen...rule.maxFen).contains(fine) else {
            throw DomainError(.fineOutOfRange, "a fine must be from \(rule.minFen / 100) to \(rule.maxFen / 100) yuan (\(rule.basis))",
                              extensions: ["minFen": String(rule.minFen), "maxFen": String(rule.maxFen)])
        }
    }

    /// 行政处罚法 arts. 63–64: a fine at or above the province's threshold ("较大数额") gives a right to a hearing,
    /// asked for within 5 days of the notice. Where the threshold is set, such a fine is decided only after the
    /// notice, and after the 5 days unless the hearing was held or waived. Unset (Guangdong's was not found) → no check.
    public static func checkHearing(fineFen: Int64, rule: FineRule, noticeAt: Date?, hearingHeldOrWaived: Bool,
                                    decidedAt: Date) throws(DomainError) {
        guard let threshold = rule.hearingThresholdFen, fineFen >= threshold else { return }
        guard let noticeAt else {
            throw DomainError(.hearingRequired, "a fine of \(threshold / 100) yuan or more needs a notice of the right to a hearing first")
        }
        if hearingHeldOrWaived { return }
        let ends = ChinaStandardTime.endOfDay(ChinaStandardTime.day(of: noticeAt).addingDays(hearingRequestDays))
        guard decidedAt >= ends else {
            throw DomainError(.hearingRequired, "the party may ask for a hearing until \(Timestamp.format(ends))")
        }
    }

    /// Days to ask for a hearing after the notice (行政处罚法 art. 64).
    public static let hearingRequestDays = 5

    /// 行政处罚法 art. 51: a decision on the spot only for fines up to 200 yuan (a person) or 3,000 (an organisation);
    /// larger fines, such as any GD art. 19 fine (≥ 1,000) on a person, need the ordinary procedure.
    public static func onTheSpotAllowed(fineFen: Int64, party: PartyKind) -> Bool {
        fineFen <= (party == .person ? 200_00 : 3_000_00)
    }

    /// 行政处罚法 art. 36: the last day a case may be opened, 2 years after the act (or its end when continuing), 5 years
    /// when it endangered life, health or financial security with harm. Counted like any period in years: to the
    /// corresponding day (民法典 art. 202).
    public static func lastDayToOpen(actEndedOn: CalendarDay, endangersLifeHealthOrFinance: Bool = false) -> CalendarDay {
        actEndedOn.addingMonths(12 * (endangersLifeHealthOrFinance ? 5 : 2))
    }

    /// Refuses a case about an act older than the limitation period (`limitation_expired`).
    public static func checkLimitation(actEndedOn: CalendarDay, openedAt: Date, endangersLifeHealthOrFinance: Bool = false) throws(DomainError) {
        let last = lastDayToOpen(actEndedOn: actEndedOn, endangersLifeHealthOrFinance: endangersLifeHealthOrFinance)
        guard ChinaStandardTime.day(of: openedAt) <= last else {
            throw DomainError(.limitationExpired, "an act that ended on \(actEndedOn) can be pursued only until \(last) (行政处罚法 art. 36)")
        }
    }

    /// 行政处罚法 art. 60: decided within 90 days of filing; 24:00 CST of the 90th day after the filing day.
    public static func decisionDueAt(filedAt: Date) -> Date {
        ChinaStandardTime.endOfDay(ChinaStandardTime.day(of: filedAt).addingDays(90))
    }

    /// 行政处罚法 art. 67 and API.md `paymentDueAt`: 24:00 CST of the 15th day after the decision.
    public static func paymentDueAt(decidedAt: Date) -> Date {
        ChinaStandardTime.endOfDay(ChinaStandardTime.day(of: decidedAt).addingDays(15))
    }

    /// Whole calendar days (CST) from the due day to the payment day: paid any time on the day after the due day
    /// is 1 day late; the hour does not matter. Never negative.
    public static func daysLate(paymentDueAt: Date, paidAt: Date) -> Int {
        guard paidAt >= paymentDueAt else { return 0 }
        let dueDay = ChinaStandardTime.day(of: paymentDueAt.addingTimeInterval(-1))  // 24:00 belongs to the due day
        return ChinaStandardTime.day(of: paidAt).daysSinceEpoch - dueDay.daysSinceEpoch
    }

    /// 行政处罚法 art. 72: 3 % of the fine per day late, never more than the fine. Fractions of a fen are dropped.
    public static func surchargeFen(fineFen: Int64, daysLate: Int) -> Int64 {
        guard daysLate > 0, fineFen > 0 else { return 0 }
        let accrued = fineFen.multipliedReportingOverflow(by: 3 * Int64(daysLate))
        if accrued.overflow { return fineFen }
        return min(fineFen, accrued.partialValue / 100)
    }
}

/// Misuse of a medical-insurance card or credential (医保基金条例 art. 41; 经办条例 art. 55): with intent to
/// defraud, a fine of 2 to 5 times the amount defrauded, and networked settlement suspended for 3 to 12 months.
public enum MedicalFraudPenalty {
    public static let fineMultiples: ClosedRange<Int64> = 2...5
    public static let settlementSuspensionMonths: ClosedRange<Int> = 3...12

    /// The fine range in fen for an amount defrauded.
    public static func fineRangeFen(defraudedFen: Int64) -> ClosedRange<Int64> {
        (defraudedFen * fineMultiples.lowerBound)...(defraudedFen * fineMultiples.upperBound)
    }

    /// Refuses a fine outside 2–5 × the amount defrauded (`fine_out_of_range`) or a suspension outside 3–12 months.
    public static func check(fineFen: Int64, defraudedFen: Int64, suspensionMonths: Int) throws(DomainError) {
        guard defraudedFen > 0 else { throw .invalidField("defraudedFen", "positive") }
        let range = fineRangeFen(defraudedFen: defraudedFen)
        guard range.contains(fineFen) else {
            throw DomainError(.fineOutOfRange, "a fine must be 2 to 5 times the \(defraudedFen) fen defrauded (医保基金条例 art. 41)")
        }
        guard settlementSuspensionMonths.contains(suspensionMonths) else {
            throw .invalidField("suspensionMonths", "3 to 12 months (医保基金条例 art. 41)")
        }
    }
}
