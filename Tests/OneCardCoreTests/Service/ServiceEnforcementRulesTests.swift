import Foundation
import Testing
@testable import OneCardCore

@Suite("Service: fines, their procedure, the late-payment surcharge")
struct ServiceEnforcementRulesTests {
    let guangdong = FineRule(pack: PolicyBook.shipped.policy(for: "440100"))!
    func cst(_ t: String) -> Date { ServiceFixtures.cst(t) }
    func utc(_ t: String) -> Date { ServiceFixtures.utc(t) }
    func day(_ t: String) -> CalendarDay { ServiceFixtures.day(t) }
    func decide(_ type: CaseType = .cardSelling, ordered: Bool = true, serious: Bool = true, yuan: Double?, rule: FineRule?) -> String? {
        let fen = yuan.map { Int64(($0 * 100).rounded()) }
        return ServiceFixtures.code { try EnforcementRules.checkDecision(.init(type: type, ordered: ordered, serious: serious, fineFen: fen), rule: rule) }
    }

    /// wave2-facts 3.2 WE-E1: a 5,000-yuan fine due 2026-05-15; 10 days late + 1,500 (6,500); 40 days late 6,000 capped at 5,000 (10,000).
    @Test func WE_E1_lateSurcharge() {
        // setup: decided 2026-04-30 → due 24:00 CST on 2026-05-15 (the 15th day after the decision)
        let due = EnforcementRules.paymentDueAt(decidedAt: cst("2026-04-30T10:00"))
        #expect(due == utc("2026-05-15T16:00:00Z"))
        let fine: Int64 = 5_000_00
        // action: paid 10 days late, then 40 days late
        let late10 = EnforcementRules.daysLate(paymentDueAt: due, paidAt: cst("2026-05-25T09:30"))
        let late40 = EnforcementRules.daysLate(paymentDueAt: due, paidAt: cst("2026-06-24T17:00"))
        // validate
        #expect(late10 == 10)
        #expect(EnforcementRules.surchargeFen(fineFen: fine, daysLate: late10) == 1_500_00)
        #expect(fine + EnforcementRules.surchargeFen(fineFen: fine, daysLate: late10) == 6_500_00)
        #expect(late40 == 40)
        #expect(EnforcementRules.surchargeFen(fineFen: fine, daysLate: late40) == 5_000_00)
        #expect(fine + EnforcementRules.surchargeFen(fineFen: fine, daysLate: late40) == 10_000_00)
    }

    /// WE-E2: Guangdong art. 19 rejects 800 and 12,000, accepts 1,000 and 10,000 (bounds inclusive), and rejects any fine when not serious.
    @Test func WE_E2_fineValidation() {
        #expect(decide(yuan: 800, rule: guangdong) == "fine_out_of_range")
        #expect(decide(yuan: 12_000, rule: guangdong) == "fine_out_of_range")
        #expect(decide(yuan: 1_000, rule: guangdong) == nil)
        #expect(decide(yuan: 10_000, rule: guangdong) == nil)
        #expect(decide(serious: false, yuan: 1_000, rule: guangdong) == "fine_not_allowed")
        #expect(decide(serious: false, yuan: 5_000, rule: guangdong) == "fine_not_allowed")
    }

    /// WE-E3: 8,000 yuan defrauded → a fine in [16,000, 40,000], and settlement suspended 3–12 months.
    @Test func WE_E3_medicalFraudFineRange() {
        #expect(MedicalFraudPenalty.fineRangeFen(defraudedFen: 8_000_00) == 16_000_00...40_000_00)
        #expect(MedicalFraudPenalty.settlementSuspensionMonths == 3...12)
        func check(_ fine: Int64, _ months: Int) -> String? {
            ServiceFixtures.code { try MedicalFraudPenalty.check(fineFen: fine, defraudedFen: 8_000_00, suspensionMonths: months) }
        }
        #expect(check(16_000_00, 3) == nil)
        #expect(check(40_000_00, 12) == nil)
        #expect(check(15_999_99, 6) == "fine_out_of_range")
        #expect(check(40_000_01, 6) == "fine_out_of_range")
        #expect(check(20_000_00, 2) == "invalid_field")
        #expect(check(20_000_00, 13) == "invalid_field")
    }

    @Test func finesAtAndJustOutsideTheBoundsInFen() {
        #expect(decide(yuan: 999.99, rule: guangdong) == "fine_out_of_range")
        #expect(decide(yuan: 10_000.01, rule: guangdong) == "fine_out_of_range")
        #expect(guangdong.minFen == 1_000_00 && guangdong.maxFen == 10_000_00)
        #expect(guangdong.caseTypes == [.cardLending, .cardSelling, .impersonation, .forgery])
    }

    /// GD art. 19: order to correct first; API.md checks in order: order_required, fine_not_allowed, fine_out_of_range.
    @Test func orderToCorrectComesFirstAndChecksRunInOrder() {
        #expect(decide(ordered: false, yuan: nil, rule: guangdong) == "order_required")
        #expect(decide(ordered: false, yuan: 50_000, rule: guangdong) == "order_required")
        #expect(decide(.venueRefusal, yuan: 1_000, rule: guangdong) == "fine_not_allowed")  // not a fineable type
        #expect(decide(.venueRefusal, serious: false, yuan: 50_000, rule: guangdong) == "fine_not_allowed")
        #expect(decide(serious: false, yuan: nil, rule: guangdong) == nil)  // decided at the order, no fine
        // a region whose regulation sets no fine (Beijing–Tianjin–Hebei art. 24: 责令改正)
        #expect(FineRule(pack: PolicyBook.shipped.policy(for: "110000")) == nil)
        #expect(decide(yuan: 1_000, rule: nil) == "fine_not_allowed")
        #expect(decide(yuan: nil, rule: nil) == nil)
    }

    /// 行政处罚法 arts. 63–64: a configurable threshold (Guangdong's was not found, so none is enforced there).
    @Test func hearingRightAboveAConfiguredThreshold() {
        #expect(guangdong.hearingThresholdFen == nil)
        #expect(ServiceFixtures.code {
            try EnforcementRules.checkHearing(fineFen: 10_000_00, rule: guangdong, noticeAt: nil, hearingHeldOrWaived: false, decidedAt: cst("2026-05-15T10:00"))
        } == nil)
        let preset = { var r = guangdong; r.hearingThresholdFen = 5_000_00; return r }()  // a test preset, not a sourced figure
        func check(_ yuan: Int64, notice: Date?, waived: Bool = false, decided: String) -> String? {
            ServiceFixtures.code {
                try EnforcementRules.checkHearing(fineFen: yuan * 100, rule: preset, noticeAt: notice, hearingHeldOrWaived: waived, decidedAt: cst(decided))
            }
        }
        #expect(check(4_999, notice: nil, decided: "2026-05-15T10:00") == nil)
        #expect(check(5_000, notice: nil, decided: "2026-05-15T10:00") == "hearing_required")
        #expect(check(5_000, notice: cst("2026-05-01T10:00"), decided: "2026-05-06T23:59") == "hearing_required")  // within the 5 days
        #expect(check(5_000, notice: cst("2026-05-01T10:00"), decided: "2026-05-07T09:00") == nil)
        #expect(check(5_000, notice: cst("2026-05-01T10:00"), waived: true, decided: "2026-05-02T09:00") == nil)
    }

    /// 行政处罚法 art. 36: 2 years from the act's end (5 when it endangered life, health or financial security).
    @Test func limitationPeriod() {
        #expect(EnforcementRules.lastDayToOpen(actEndedOn: day("2024-06-01")) == day("2026-06-01"))
        #expect(ServiceFixtures.code { try EnforcementRules.checkLimitation(actEndedOn: day("2024-06-01"), openedAt: cst("2026-06-01T23:00")) } == nil)
        #expect(ServiceFixtures.code { try EnforcementRules.checkLimitation(actEndedOn: day("2024-06-01"), openedAt: cst("2026-06-02T08:00")) }
                == "limitation_expired")
        #expect(ServiceFixtures.code {
            try EnforcementRules.checkLimitation(actEndedOn: day("2024-06-01"), openedAt: cst("2026-06-02T08:00"), endangersLifeHealthOrFinance: true)
        } == nil)
    }

    @Test func procedureLimitsAndDeadlines() {
        // art. 51: on the spot only up to 200 yuan (person) or 3,000 (organisation); a GD art. 19 fine on a person never
        #expect(EnforcementRules.onTheSpotAllowed(fineFen: 200_00, party: .person))
        #expect(!EnforcementRules.onTheSpotAllowed(fineFen: 200_01, party: .person))
        #expect(EnforcementRules.onTheSpotAllowed(fineFen: 3_000_00, party: .organisation))
        #expect(!EnforcementRules.onTheSpotAllowed(fineFen: guangdong.minFen, party: .person))
        // art. 60: decided within 90 days of filing
        #expect(EnforcementRules.decisionDueAt(filedAt: cst("2026-05-15T10:00")) == utc("2026-08-13T16:00:00Z"))
        // paid on the due day, or before, is not late; just after 24:00 is one day late
        let due = utc("2026-05-15T16:00:00Z")
        #expect(EnforcementRules.daysLate(paymentDueAt: due, paidAt: cst("2026-05-15T23:59")) == 0)
        #expect(EnforcementRules.daysLate(paymentDueAt: due, paidAt: cst("2026-05-16T00:00")) == 1)
        #expect(EnforcementRules.surchargeFen(fineFen: 1_234_56, daysLate: 1) == 3_703)  // 3,703.68 fen: the fraction is dropped
        #expect(EnforcementRules.surchargeFen(fineFen: 5_000_00, daysLate: 0) == 0)
        #expect(EnforcementRules.surchargeFen(fineFen: 5_000_00, daysLate: 34) == 5_000_00)  // 102 % capped
        #expect(EnforcementRules.surchargeFen(fineFen: 5_000_00, daysLate: 33) == 4_950_00)
    }
}
