import Foundation

/// A manual claim (手工报销 / 零星报销): a stay settled in full by the patient — unfiled and not an emergency, or at a
/// hospital without direct settlement — claimed back at the insured place, which decides it under its own rules within
/// 30 working days (社会保险经办条例 art. 20; wave2-facts §1.1, WE-M7) and pays the fund's share to the card's account.
public struct MedicalClaim: Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Lodged, waiting for the insured place's decision.
        case lodged
        /// Decided with a fund share to pay: being paid to the card's account.
        case approved
        /// The fund share was credited (or there was none to pay).
        case paid
        /// The bank returned or refused the credit.
        case paymentFailed = "payment_failed"
    }

    public var id: String
    public var personId: Person.ID
    public var treatmentRegion: String
    public var hospitalLevel: HospitalLevel
    public var care: MedicalCare
    public var admittedOn: CalendarDay
    public var dischargedOn: CalendarDay
    public var items: [MedicalBillLine]
    public var receivedAt: Date
    public var dueAt: Date
    public var dueProvisional: Bool
    public var lodgedBy: String
    public var status: Status
    public var decidedAt: Date?
    public var decidedBy: String?
    /// The split under the insured place's policy; the fund's share (`hifpPay`) is what is paid.
    public var split: MedicalSplit?
    public var policyVersion: Int?
    /// Where the fund's share is paid: the card's bank account at the decision.
    public var bankCode: String?
    public var account: String?
    public var paidAt: Date?
    /// Why a payment failed (the bank's outcome).
    public var reason: String?

    public init(id: String, personId: Person.ID, treatmentRegion: String, hospitalLevel: HospitalLevel, care: MedicalCare, admittedOn: CalendarDay,
                dischargedOn: CalendarDay, items: [MedicalBillLine], receivedAt: Date, dueAt: Date, dueProvisional: Bool, lodgedBy: String,
                status: Status = .lodged) {
        self.id = id; self.personId = personId; self.treatmentRegion = treatmentRegion; self.hospitalLevel = hospitalLevel; self.care = care
        self.admittedOn = admittedOn; self.dischargedOn = dischargedOn; self.items = items; self.receivedAt = receivedAt; self.dueAt = dueAt
        self.dueProvisional = dueProvisional; self.lodgedBy = lodgedBy; self.status = status
    }

    /// The bank's payment id: one per claim, so a credit sent again after a crash is recognised as the same.
    public var paymentId: String { "claim-" + id }
    /// What the fund pays back.
    public var payableFen: Int64 { split?.hifpPay ?? 0 }
}

/// The rules of a manual claim.
public enum MedicalClaimRules {
    /// The insured place decides within 30 working days of receipt (社会保险经办条例 art. 20).
    public static let workingDays = 30

    /// A claim as lodged: the stay's dates in order and not in the future, the treatment region a real code, the bill
    /// as for a direct settlement.
    public static func validate(treatmentRegion: String, admittedOn: CalendarDay, dischargedOn: CalendarDay, items: [MedicalBillLine],
                                today: CalendarDay, regions: RegionTable = .shared) throws(DomainError) {
        guard regions.contains(treatmentRegion) else { throw DomainError(.invalidRegionCode, "treatmentRegion: a GB/T 2260 code") }
        guard admittedOn <= dischargedOn else { throw DomainError(.invalidTimeRange, "dischargedOn: not before admittedOn") }
        guard dischargedOn <= today else { throw DomainError(.invalidTimeRange, "dischargedOn: a claim is for a stay that has ended") }
        try MedicalSettlementRules.validate(items)
    }

    /// The filing the claim is decided under: the person's filing that covered the treatment region on admission, as at a
    /// hospital (a filing-free zone or the insured province counts as filed); unfiled, the insured place reimburses it as
    /// an "other temporary" stay — its own rules for patients who did not file (wave2-facts §1.2: the reduction for
    /// temporary patients, at most 20 points down), rather than nothing.
    public static func filing(filings: [MedicalFiling], insuredRegion: String, treatmentRegion: String, admittedOn: CalendarDay,
                              policy: MedicalPolicy) -> SettlementFiling {
        let resolved = MedicalFilingCheck.resolve(filings: filings, insuredRegion: insuredRegion, treatmentRegion: treatmentRegion, emergency: false,
                                                  on: admittedOn, filingFreeRegions: policy.filingFreeRegions)
        return resolved == .none ? .temporary : resolved
    }
}
