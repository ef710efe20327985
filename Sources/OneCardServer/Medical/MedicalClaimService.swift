import Foundation
import Logging
import OneCardCore
import OneCardStore
import ServiceLifecycle

/// Manual medical claims at the insured place (社会保险经办条例 art. 20): the holder (online) or an agent (at the counter)
/// lodges a stay paid in full; an agent decides it within 30 working days under this node's policy and catalogue, the
/// counters move as for a settlement, and the fund's share is paid to the card's bank account — once, under the claim's
/// payment id: a credit sent again after a crash is the bank's `repeat`, never a second payment.
struct MedicalClaimService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let presets: MedicalPolicyBook
    let shippedCalendar: HolidayCalendar
    let gateway: BankGateway
    let logger: Logger

    struct Input: Sendable {
        var treatmentRegion: String
        var hospitalLevel: HospitalLevel
        var care: MedicalCare
        var admittedOn: CalendarDay
        var dischargedOn: CalendarDay
        var items: [MedicalBillLine]
    }

    func lodge(personId: Person.ID, _ i: Input, actor: String) async throws -> MedicalClaim {
        let now = clock.now()
        try MedicalClaimRules.validate(treatmentRegion: i.treatmentRegion, admittedOn: i.admittedOn, dischargedOn: i.dischargedOn, items: i.items,
                                       today: ChinaStandardTime.day(of: now))
        let id = random.uuid()
        let shipped = shippedCalendar
        return try await store.write { s in
            guard try await s.medical.insured(personId) != nil else {
                throw DomainError(.notInsured, "the person has no basic medical insurance recorded here")
            }
            let due = try WorkingDays.deadline(MedicalClaimRules.workingDays, after: now, calendar: try await ComplaintService.calendar(shipped, in: s))
            let claim = MedicalClaim(id: id, personId: personId, treatmentRegion: i.treatmentRegion, hospitalLevel: i.hospitalLevel, care: i.care,
                                     admittedOn: i.admittedOn, dischargedOn: i.dischargedOn, items: i.items, receivedAt: now, dueAt: due.dueAt,
                                     dueProvisional: due.provisional, lodgedBy: actor)
            try await s.medicalClaims.insert(claim)
            try await s.audit.append(at: now, actor: actor, action: "medical_claim_lodged", subject: "person:\(personId)", purpose: "claim \(id)")
            return claim
        }
    }

    func claims(personId: Person.ID) async throws -> [MedicalClaim] { try await store.read { try await $0.medicalClaims.list(personId: personId) } }

    /// The agents' worklist: claims waiting for a decision or for the bank, the earliest deadline first.
    func worklist() async throws -> [MedicalClaim] { try await store.read { try await $0.medicalClaims.open() } }

    /// Decides a lodged claim: the split under the insured place's policy in force at discharge and this node's catalogue
    /// (its own rules), the filing the person had (unfiled: other temporary), the year's counters; the account is not
    /// drawn (the stay was paid). The fund's share is then paid to the card's account.
    func decide(_ id: String, actor: String) async throws -> MedicalClaim {
        let now = clock.now()
        let presets = presets
        try await store.write { s in
            guard var claim = try await s.medicalClaims.find(id, lock: true) else { throw DomainError(.claimNotFound, "no claim \(id)") }
            guard claim.status == .lodged else { throw DomainError(.claimDecided, "claim \(id) was decided (\(claim.status.rawValue))") }
            guard let insured = try await s.medical.insured(claim.personId, lock: true) else {
                throw DomainError(.notInsured, "the person has no basic medical insurance recorded here")
            }
            guard let policy = try await MedicalService.policy(insuredRegion: insured.insuredRegion, scheme: insured.scheme, care: claim.care,
                                                               on: claim.dischargedOn, presets: presets, in: s) else {
                throw DomainError(.medicalPolicyNotFound, "no \(insured.scheme.rawValue) \(claim.care.rawValue) policy for \(insured.insuredRegion)")
            }
            let catalogue = try await MedicalService.catalogue(for: claim.items, treatmentRegion: claim.treatmentRegion, in: s)
            let filing = MedicalClaimRules.filing(filings: try await s.medical.filings(personId: claim.personId).map(\.filing),
                                                  insuredRegion: insured.insuredRegion, treatmentRegion: claim.treatmentRegion,
                                                  admittedOn: claim.admittedOn, policy: policy)
            let year = policy.settlementYear(of: claim.dischargedOn)
            let split = try MedicalSettlementRules.split(lines: claim.items, catalogue: catalogue, policy: policy, insured: insured,
                                                         hospitalLevel: claim.hospitalLevel, filing: filing,
                                                         yearToDate: try await s.medical.yearToDate(claim.personId, care: claim.care, year: year),
                                                         useAccount: false)
            claim.split = split; claim.policyVersion = policy.policyVersion; claim.decidedAt = now; claim.decidedBy = actor
            if split.hifpPay > 0 {
                guard let card = try await s.cards.live(personId: claim.personId), let bank = card.bankCode, let account = card.accountNumber else {
                    throw DomainError(.noCard, "the claimant has no card with a bank account to pay the fund's share to")
                }
                claim.status = .approved; claim.bankCode = bank; claim.account = account
            } else {
                claim.status = .paid; claim.paidAt = now
            }
            try await s.medicalClaims.update(claim)
            if split.yearToDateChange != .zero {
                try await s.medical.applyYearToDate(claim.personId, care: claim.care, year: year, change: split.yearToDateChange)
            }
            try await s.audit.append(at: now, actor: actor, action: "medical_claim_decided", subject: "person:\(claim.personId)",
                                     purpose: "claim \(id): \(filing.rawValue), fund \(split.hifpPay) fen")
        }
        _ = try? await pay()
        guard let claim = try await store.read({ try await $0.medicalClaims.find(id) }) else { throw DomainError(.claimNotFound, "no claim \(id)") }
        return claim
    }

    /// Sends the approved claims' credits, each under its own payment id, and records what the bank answered; a bank that
    /// does not answer leaves them approved, asked again next time. Returns how many were settled.
    @discardableResult
    func pay(limit: Int = 100) async throws -> Int {
        let (due, banks) = try await store.read { s in (try await s.medicalClaims.approved(limit: limit), try await s.banks.list()) }
        guard !due.isEmpty else { return 0 }
        let endpoints = Dictionary(banks.compactMap { b in b.endpoint.map { (b.code, $0) } }, uniquingKeysWith: { a, _ in a })
        var settled = 0
        for (endpoint, group) in Dictionary(grouping: due, by: { $0.bankCode.flatMap { endpoints[$0] } ?? "" }) where !endpoint.isEmpty {
            let results: [BankGateway.Result]
            do {
                results = try await gateway.credit(endpoint: endpoint, group.map { .init(paymentId: $0.paymentId, account: $0.account ?? "", amountFen: $0.payableFen) })
            } catch {
                logger.warning("bank unavailable for medical claims; they stay approved", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                continue
            }
            let outcomes = Dictionary(results.map { ($0.paymentId, $0.outcome) }, uniquingKeysWith: { a, _ in a })
            let at = clock.now()
            settled += try await store.write { s -> Int in
                var n = 0
                for var claim in group {
                    guard let outcome = outcomes[claim.paymentId], let current = try await s.medicalClaims.find(claim.id, lock: true),
                          current.status == .approved else { continue }
                    switch outcome {
                    case .credited: claim.status = .paid; claim.paidAt = at
                    case .returned, .rejected: claim.status = .paymentFailed; claim.reason = outcome.rawValue
                    }
                    try await s.medicalClaims.update(claim)
                    try await s.audit.append(at: at, actor: "system:medical-claims", action: "medical_claim_\(claim.status.rawValue)",
                                             subject: "person:\(claim.personId)", purpose: "claim \(claim.id)")
                    n += 1
                }
                return n
            }
        }
        return settled
    }
}
