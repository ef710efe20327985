import Foundation
import OneCardCore
import OneCardStore

/// Enforcement cases for the supervisor (GD arts. 19–20; 行政处罚法 2021; API.md "cases"): opened within the
/// limitation period, ordered to correct, decided with a fine only where the region's pack allows it, paid with the
/// late surcharge of art. 72; a decided fine is the integrity record the credit feed publishes for its period.
struct CaseService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    /// The region's fine rule; nil where its regulation sets no fine amount (JJJ art. 24, CQ art. 21).
    let fineRule: FineRule?
    let publicity: CreditPublicitySchemes
    let signingKeys: SigningKeyStore

    struct Opening: Sendable {
        var type: CaseType
        var party: EnforcementCase.Party
        var summary: String
        var evidence: [String]
        var actEndedOn: CalendarDay?
    }

    func open(_ o: Opening, actor: String) async throws -> EnforcementCase {
        let now = clock.now()
        try TextRule.check(o.summary, "summary", max: 2000, notBlank: true)
        if let ended = o.actEndedOn {
            guard ended <= ChinaStandardTime.day(of: now) else { throw DomainError(.invalidTimeRange, "actEndedOn is in the future") }
            try EnforcementRules.checkLimitation(actEndedOn: ended, openedAt: now)
        }
        let c = EnforcementCase(id: random.uuid(), type: o.type, party: o.party, summary: o.summary, evidence: o.evidence, openedAt: now, openedBy: actor)
        return try await store.write { s in
            if case .person(let id) = o.party, try await s.persons.find(id) == nil { throw DomainError(.personNotFound, "no person \(id)") }
            try await s.cases.insert(c)
            try await s.audit.append(at: now, actor: actor, action: "case_opened", subject: "case:\(c.id)", purpose: o.type.rawValue)
            return c
        }
    }

    /// 责令限期改正 (GD art. 19 step 1): the party must correct by `dueAt`.
    func order(_ id: EnforcementCase.ID, dueAt: Date, actor: String) async throws -> EnforcementCase {
        let now = clock.now()
        guard dueAt > now else { throw DomainError(.invalidTimeRange, "dueAt must be later than now") }
        return try await change(id) { c, s in
            guard c.status == .open else { throw DomainError.invalidTransition("a case that is \(c.status.rawValue) cannot be ordered") }
            c.status = .ordered; c.orderedAt = now; c.orderDueAt = dueAt
            try await s.audit.append(at: now, actor: actor, action: "case_ordered", subject: "case:\(c.id)", purpose: Timestamp.format(dueAt))
        }
    }

    /// The decision, checked in the order API.md gives (Core `EnforcementRules.checkDecision`).
    func decide(_ id: EnforcementCase.ID, serious: Bool, fineFen: Int64?, actor: String) async throws -> EnforcementCase {
        let now = clock.now()
        let rule = fineRule
        if let fineFen, !(1...Self.maxAmountFen).contains(fineFen) { throw DomainError.invalidField("fineFen", "1 to \(Self.maxAmountFen)") }
        return try await change(id) { c, s in
            guard c.status != .decided else { throw DomainError.invalidTransition("the case is already decided") }
            try EnforcementRules.checkDecision(CaseDecisionProposal(type: c.type, ordered: c.status == .ordered, serious: serious, fineFen: fineFen), rule: rule)
            c.status = .decided; c.serious = serious; c.fineFen = fineFen; c.decidedAt = now
            if fineFen != nil {
                c.paymentDueAt = EnforcementRules.paymentDueAt(decidedAt: now)
                c.creditClass = EnforcementCase.creditClass(serious: serious)
            }
            try await s.audit.append(at: now, actor: actor, action: "case_decided", subject: "case:\(c.id)", purpose: fineFen.map { "fine \($0) fen" })
        }
    }

    /// Records a payment on the fine; the same `key` (Idempotency-Key) records it once.
    func pay(_ id: EnforcementCase.ID, amountFen: Int64, paidAt: Date, key: String?, actor: String) async throws -> EnforcementCase {
        let now = clock.now()
        guard (1...Self.maxAmountFen).contains(amountFen) else { throw DomainError.invalidField("amountFen", "1 to \(Self.maxAmountFen)") }
        guard paidAt <= now else { throw DomainError(.invalidTimeRange, "paidAt is later than now") }
        let paymentId = key.map { "\(id):\($0)" } ?? random.uuid()
        return try await change(id) { c, s in
            guard c.status == .decided, c.fineFen != nil else { throw DomainError(.nothingToPay, "the case has no fine to pay") }
            if try await s.cases.payments(caseId: c.id).contains(where: { $0.id == paymentId }) { return }
            guard let decidedAt = c.decidedAt, paidAt >= decidedAt else { throw DomainError(.invalidTimeRange, "paidAt is before the decision") }
            try await s.cases.insertPayment(caseId: c.id, CasePayment(id: paymentId, amountFen: amountFen, paidAt: paidAt), at: now, by: actor)
            try await s.audit.append(at: now, actor: actor, action: "case_payment", subject: "case:\(c.id)", purpose: "\(amountFen) fen")
        }
    }

    /// Credit repair (信用修复, 谁认定谁修复): granted by the supervisor once the minimum publicity period has passed.
    func repair(_ id: EnforcementCase.ID, actor: String) async throws -> EnforcementCase {
        let now = clock.now()
        let publicity = publicity
        return try await change(id) { c, s in
            guard let record = try Self.record(c, publicity: publicity) else { throw DomainError.invalidTransition("the case wrote no integrity record") }
            guard c.repairedOn == nil else { throw DomainError.invalidTransition("the record is already repaired") }
            let today = ChinaStandardTime.day(of: now)
            try record.checkRepair(on: today)
            c.repairedOn = today
            try await s.audit.append(at: now, actor: actor, action: "credit_record_repaired", subject: "case:\(c.id)", purpose: nil)
        }
    }

    enum BankAction: String, Sendable, CaseIterable { case suspend, terminate }

    /// A cooperating bank's breach (GD art. 20: 责令限期改正; not corrected, its new business suspended or its agreement
    /// ended): after the order to correct, the case suspends the bank's new business or terminates it with a successor,
    /// which opens the migration plan and tells every holder — the bank flows' own rule, in the case's transaction.
    func bankAction(_ id: EnforcementCase.ID, _ action: BankAction, bankCode: String, successorCode: String?, choiceDays: Int?,
                    actor: String) async throws -> (EnforcementCase, Bank) {
        if let choiceDays, !(0...365).contains(choiceDays) { throw DomainError.invalidField("choiceDays", "0 to 365") }
        let at = clock.now()
        let box = BankBox()
        let c = try await change(id) { c, s in
            guard c.type == .bankBreach else { throw DomainError(.actionNotApplicable, "only a bank_breach case acts on a bank") }
            guard c.orderedAt != nil else { throw DomainError(.orderRequired, "the bank is first ordered to correct (GD art. 20)") }
            let bank = try await BankService.change(bankCode, status: action == .suspend ? .suspended : .terminated, successorCode: successorCode,
                                                    choiceDays: choiceDays, endpoint: nil, actor: actor, at: at, in: s)
            try await s.audit.append(at: at, actor: actor, action: "case_bank_\(action.rawValue)", subject: "case:\(c.id)", purpose: "bank \(bankCode)")
            box.bank = bank
        }
        return (c, box.bank!)
    }

    private final class BankBox: @unchecked Sendable { var bank: Bank? }

    private func change(_ id: EnforcementCase.ID, _ body: @Sendable @escaping (inout EnforcementCase, StoreSession) async throws -> Void) async throws -> EnforcementCase {
        try await store.write { s in
            guard var c = try await s.cases.find(id, forUpdate: true) else { throw DomainError(.caseNotFound, "no case \(id)") }
            try await body(&c, s)
            try await s.cases.update(c)
            return c
        }
    }

    struct Detail: Sendable {
        var c: EnforcementCase
        var paidFen: Int64
        var surchargeFen: Int64
        var record: CreditRecordPeriod?
    }

    func detail(_ id: EnforcementCase.ID) async throws -> Detail {
        let now = clock.now()
        let publicity = publicity
        return try await store.read { s in
            guard let c = try await s.cases.find(id) else { throw DomainError(.caseNotFound, "no case \(id)") }
            let payments = try await s.cases.payments(caseId: id)
            return Detail(c: c, paidFen: payments.reduce(0) { $0 + $1.amountFen }, surchargeFen: c.surchargeFen(payments: payments, now: now),
                          record: try Self.record(c, publicity: publicity))
        }
    }

    /// The holder's own integrity records (Beijing Minsheng art. 13) with their publication dates and whether each is
    /// published today.
    func records(of personId: Person.ID) async throws -> [(EnforcementCase, CreditRecordPeriod, published: Bool)] {
        let today = ChinaStandardTime.day(of: clock.now())
        let publicity = publicity
        return try await store.read { s in
            try await s.cases.fined(personId: personId).compactMap { c in
                guard let r = try Self.record(c, publicity: publicity) else { return nil }
                return (c, r, r.isPublished(on: today, repairedOn: c.repairedOn))
            }
        }
    }

    func list() async throws -> [EnforcementCase] { try await store.read { try await $0.cases.list() } }

    /// The integrity record a decided fine writes, with its dates under the scheme in force on the decision day.
    static func record(_ c: EnforcementCase, publicity: CreditPublicitySchemes) throws -> CreditRecordPeriod? {
        guard let cls = c.creditClass, let decidedAt = c.decidedAt else { return nil }
        return try publicity.period(for: cls, decidedOn: ChinaStandardTime.day(of: decidedAt))
    }

    // MARK: the public credit feed

    struct FeedEntry: Encodable, Sendable {
        struct Party: Encodable, Sendable { let uscc: String?, name: String?, nameMasked: String?, idNumberMasked: String? }
        let caseId: String, type: String, party: Party, fineFen: Int64, decidedAt: String, publishedUntil: String, status: String
    }

    /// Published fines and records in force, and their removals (ended or repaired), signed as a compact JWS
    /// (`typ` `onecard-credit+jwt`) by this node's current key in `/api/v1/trust/jwks`. A person appears only masked
    /// (PIPL: no more than the publication needs); an organisation by its code and name.
    func signedFeed() async throws -> String {
        let now = clock.now()
        let today = ChinaStandardTime.day(of: now)
        let publicity = publicity
        let entries: [FeedEntry] = try await store.read { s in
            var out: [FeedEntry] = []
            for c in try await s.cases.fined() {
                guard let record = try Self.record(c, publicity: publicity), record.publishedByDefault, let fine = c.fineFen, let decidedAt = c.decidedAt else { continue }
                let party: FeedEntry.Party
                switch c.party {
                case .organisation(let uscc, let name): party = .init(uscc: uscc, name: name, nameMasked: nil, idNumberMasked: nil)
                case .person(let id):
                    let p = try await s.persons.find(id)
                    party = .init(uscc: nil, name: nil, nameMasked: p.map { Mask.name($0.name) } ?? "*", idNumberMasked: p.map { Mask.idNumber($0.idNumber.value) } ?? "*")
                }
                let end = record.endOfPublication(repairedOn: c.repairedOn)
                out.append(FeedEntry(caseId: c.id, type: c.type.rawValue, party: party, fineFen: fine, decidedAt: Timestamp.format(decidedAt),
                                     publishedUntil: end.description, status: record.isPublished(on: today, repairedOn: c.repairedOn) ? "published" : "removed"))
            }
            return out
        }
        struct Payload: Encodable { let issuedAt: String; let entries: [FeedEntry] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let key = signingKeys.ring.current
        return try CompactJWS.sign(encodedHeader: CompactJWS.encodedHeader(kid: key.kid, typ: Self.creditFeedType),
                                   payloadJSON: [UInt8](try encoder.encode(Payload(issuedAt: Timestamp.format(now), entries: entries))), key: key.privateKey)
    }

    /// The largest fine or payment taken (one billion yuan): far above any legal fine, and sums of them cannot overflow.
    static let maxAmountFen: Int64 = 100_000_000_000

    /// The media type of the signed credit feed (API.md).
    static let creditFeedType = "onecard-credit+jwt"
}
