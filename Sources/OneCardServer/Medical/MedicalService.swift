import Crypto
import Foundation
import OneCardCore
import OneCardStore

/// Cross-province direct medical settlement (JJJ art. 11, ZJ art. 14, CQ art. 10, GD art. 7(3); API.md "Medical
/// settlement"): "就医地目录、参保地政策" — the treatment place's catalogue (published here in versions), the insured
/// place's policy (presets, then an admin's versions), insured persons, filings, settlement at a hospital's terminal,
/// reversal and monthly clearing. The split itself is Core's (`MedicalSettlementRules`); this service loads what it
/// needs, stores what it decided, and moves the personal account and the year-to-date counters in the same transaction.
struct MedicalService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    /// The shipped presets (version 1 of each policy).
    let presets: MedicalPolicyBook
    /// Reads cards and QR codes as acceptances do.
    let acceptance: AcceptanceService
    /// Settlements arriving while one is being written wait for the next transaction and are written together (as
    /// acceptances are): one commit for many bills at the hospitals' counters.
    let groups: GroupCommit<PendingSettlement, MedicalSettlementRecord>

    /// One settlement waiting for the transaction that writes it with others.
    struct PendingSettlement: Sendable {
        let terminalId: Terminal.ID, venueId: Venue.ID, actor: String, key: String
        let verified: VerifiedCredential
        let input: SettlementInput
        let id: String
        let at: Date
    }

    /// The catalogue's item code a settlement's QR token is spent for (one token, one bill).
    static let settlementItemCode = "medical_settlement"

    // MARK: Treatment-place catalogue

    /// Drafts an item (added or changed in the next version).
    func draft(_ item: MedicalCatalogueItem, by actor: String) async throws -> MedicalCatalogueItem {
        try item.validate()
        try TextRule.check(item.name, "name", max: 100, notBlank: true)
        try await store.write { s in try await s.medical.saveDraft(item, by: actor, at: clock.now()) }
        return item
    }

    func drafts() async throws -> [MedicalCatalogueItem] { try await store.read { try await $0.medical.drafts() } }

    /// Applies every draft to the latest version and publishes the result as the next version.
    func publish(by actor: String) async throws -> MedicalCatalogueVersion {
        let at = clock.now()
        return try await store.write { s in
            let drafts = try await s.medical.drafts()
            guard !drafts.isEmpty else { throw DomainError(.nothingToPublish, "there are no draft medical catalogue items") }
            let latest = try await s.medical.latestVersion()
            var items: [String: MedicalCatalogueItem] = [:]
            if let latest { for i in try await s.medical.items(version: latest.version) { items[i.code] = i } }
            for d in drafts { items[d.code] = d }
            let v = MedicalCatalogueVersion(version: (latest?.version ?? 0) + 1, publishedAt: at, publishedBy: actor)
            try await s.medical.publish(version: v.version, items: items.values.sorted { $0.code < $1.code }, at: at, by: actor)
            try await s.medical.clearDrafts()
            try await s.audit.append(at: at, actor: actor, action: "medical_catalogue_published", subject: "medical_catalogue:\(v.version)", purpose: nil)
            return v
        }
    }

    /// The published catalogue (empty before the first publication).
    func catalogue() async throws -> (version: MedicalCatalogueVersion?, items: [MedicalCatalogueItem]) {
        try await store.read { s in
            guard let v = try await s.medical.latestVersion() else { return (nil, []) }
            return (v, try await s.medical.items(version: v.version))
        }
    }

    // MARK: Insured-place policies

    /// Stores a new version of the policy for (region, scheme, care): one more than the newest stored, or than the preset.
    func putPolicy(_ given: MedicalPolicy, region: String, by actor: String) async throws -> Int {
        var p = given
        p.regionCode = region
        try p.validate()
        let presetVersion = presets.policies.filter { $0.regionCode == region && $0.scheme == p.scheme && $0.care == p.care }.map(\.policyVersion).max() ?? 0
        let at = clock.now()
        let validated = p
        return try await store.write { s in
            var p = validated
            let stored = try await s.medical.latestPolicyVersion(region: region, scheme: p.scheme, care: p.care)
            p.policyVersion = Int(max(stored, Int64(presetVersion))) + 1
            try await s.medical.insertPolicy(p, by: actor, at: at)
            try await s.audit.append(at: at, actor: actor, action: "medical_policy_put", subject: "medical_policy:\(region):\(p.scheme.rawValue):\(p.care.rawValue)",
                                     purpose: "version \(p.policyVersion)")
            return p.policyVersion
        }
    }

    /// The policy in force for an insured region on a day: its own, its prefecture's or its province's, stored or preset.
    static func policy(insuredRegion: String, scheme: MedicalScheme, care: MedicalCare, on day: CalendarDay, presets: MedicalPolicyBook,
                       in s: StoreSession) async throws -> MedicalPolicy? {
        let regions = [insuredRegion, String(insuredRegion.prefix(4)) + "00", RegionTable.province(of: insuredRegion)]
        let stored = try await s.medical.policies(regions: Array(Set(regions)), scheme: scheme, care: care)
        return MedicalPolicyBook(policies: presets.policies + stored).policy(insuredRegion: insuredRegion, scheme: scheme, care: care, on: day)
    }

    /// The policies in force today for a region, one per scheme and care that has one.
    func policies(region: String) async throws -> [MedicalPolicy] {
        _ = try RegionCode(region)
        let today = CalendarDay(clock.now())
        return try await store.read { s in
            var out: [MedicalPolicy] = []
            for scheme in MedicalScheme.allCases {
                for care in MedicalCare.allCases {
                    if let p = try await Self.policy(insuredRegion: region, scheme: scheme, care: care, on: today, presets: presets, in: s) { out.append(p) }
                }
            }
            return out
        }
    }

    // MARK: Insured persons

    /// The medical security bureau records a person's insurance (a `department` user of scope `medical_security`).
    func putInsured(_ i: MedicalInsured, by user: Identity) async throws -> MedicalInsured {
        guard user.scope == .medicalSecurity else {
            throw DomainError(.forbidden, "insured persons are recorded by the medical security department (scope medical_security)")
        }
        try i.validate()
        let at = clock.now()
        try await store.write { s in
            guard try await s.persons.find(i.personId) != nil else { throw DomainError(.personNotFound, "no person \(i.personId)") }
            try await s.medical.saveInsured(i, by: user.actor, at: at)
            try await s.audit.append(at: at, actor: user.actor, action: "medical_insured_recorded", subject: "person:\(i.personId)", purpose: i.insuredRegion)
        }
        return i
    }

    /// What a holder sees of their own insurance: the record, filings and settlements.
    struct Overview: Sendable {
        var insured: MedicalInsured?
        var filings: [StoredMedicalFiling]
        var settlements: [StoredMedicalSettlement]
    }

    func overview(personId: Person.ID) async throws -> Overview {
        try await store.read { s in
            Overview(insured: try await s.medical.insured(personId), filings: try await s.medical.filings(personId: personId),
                     settlements: try await s.medical.settlements(personId: personId))
        }
    }

    // MARK: Filings

    /// Records a filing (备案) made online by the holder or at a counter by an agent.
    func file(_ f: MedicalFiling, personId: Person.ID, channel: String, by actor: String) async throws -> StoredMedicalFiling {
        try f.validate()
        // A temporary filing runs at least 6 months on: its days must stay within the calendar.
        guard f.from.year <= 9000, (f.to?.year ?? 0) <= 9000 else { throw DomainError(.invalidTimeRange, "from and to: up to the year 9000") }
        let stored = StoredMedicalFiling(id: random.uuid(), personId: personId, filing: f, channel: channel, createdAt: clock.now())
        try await store.write { s in
            guard try await s.persons.find(personId) != nil else { throw DomainError(.personNotFound, "no person \(personId)") }
            try await s.medical.insertFiling(stored, by: actor)
            try await s.audit.append(at: stored.createdAt, actor: actor, action: "medical_filed", subject: "person:\(personId)",
                                     purpose: "\(f.kind.rawValue) \(f.treatmentRegion)")
        }
        return stored
    }

    // MARK: Settlement

    struct SettlementInput: Sendable {
        var credential: AcceptanceService.Credential
        var care: MedicalCare
        var hospitalLevel: HospitalLevel
        var emergency: Bool
        var lines: [MedicalBillLine]
    }

    /// Settles a bill at a hospital's terminal, once per Idempotency-Key: the same key answers the same record.
    /// The account, the counters and the record change together; the insured person's row is locked first, so two
    /// bills of one person are split one after the other, each from the other's counters and balance.
    /// Another province's card or QR code is settled by its insured place through the hub (`settleElsewhere`).
    func settle(terminal: Identity, idempotencyKey: String, _ input: SettlementInput) async throws -> MedicalSettlementRecord {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        let now = clock.now()
        // The signature or chip check outside the transaction, as for acceptances.
        let verified = acceptance.verify(input.credential, at: now)
        let terminalId = Terminal.ID(terminal.subject)
        if let earlier = try await store.read({ try await $0.medical.settlement(terminalId: terminalId, idempotencyKey: idempotencyKey) }) {
            return earlier.record
        }
        if let insurer = try await foreignInsurer(input.credential, verified) {
            return try await settleElsewhere(terminal: terminal, terminalId: terminalId, venueId: venueId, key: idempotencyKey, insurer: insurer, input, at: now)
        }
        do {
            return try await settleOnce(terminalId: terminalId, venueId: venueId, actor: terminal.actor, key: idempotencyKey, verified: verified, input, at: now)
        } catch where Store.isUniqueViolation(error) {
            // A request with the same key committed first: its answer is this one's.
            if let earlier = try await store.read({ try await $0.medical.settlement(terminalId: terminalId, idempotencyKey: idempotencyKey) }) {
                return earlier.record
            }
            throw error
        }
    }

    private func settleOnce(terminalId: Terminal.ID, venueId: Venue.ID, actor: String, key: String, verified: VerifiedCredential,
                            _ input: SettlementInput, at now: Date) async throws -> MedicalSettlementRecord {
        let pending = PendingSettlement(terminalId: terminalId, venueId: venueId, actor: actor, key: key, verified: verified, input: input,
                                        id: random.uuid(), at: now)
        let service = self
        return try await groups.submit(pending) { group in await service.settle(group) }
    }

    /// Writes a group of settlements in one transaction, one after another in arrival order (two bills of one person see
    /// each other's counters, as they would one transaction apart). A refusal undoes that bill's savepoint and answers its
    /// own request only. When the transaction fails as a whole — a racing request with the
    /// same key, a deadlock between two groups locking the same insured persons — each bill is written again on its own;
    /// with the database gone every request gets the same 503 at once.
    func settle(_ group: [PendingSettlement]) async -> [Result<MedicalSettlementRecord, any Error>] {
        let presets = presets
        do {
            return try await store.write { s in
                var results: [Result<MedicalSettlementRecord, any Error>] = []
                for p in group {
                    // Each bill in its own savepoint: a refused one leaves nothing (its QR token or chip challenge unspent).
                    do { results.append(.success(try await s.savepoint { try await Self.settle(p, presets: presets, in: s) })) } catch let e as DomainError {
                        results.append(.failure(e))
                    }
                }
                return results
            }
        } catch {
            if let unavailable = Store.unavailable(error) { return group.map { _ in .failure(unavailable) } }
            guard group.count > 1 else { return [.failure(error)] }
            var results: [Result<MedicalSettlementRecord, any Error>] = []
            for p in group { results += await settle([p]) }
            return results
        }
    }

    /// One settlement in the group's transaction: an earlier answer under its key, or the bill settled now.
    private static func settle(_ p: PendingSettlement, presets: MedicalPolicyBook, in s: StoreSession) async throws -> MedicalSettlementRecord {
        if let earlier = try await s.medical.settlement(terminalId: p.terminalId, idempotencyKey: p.key) { return earlier.record }
        guard let venue = try await s.venues.find(p.venueId) else { throw DomainError(.venueNotFound, "the terminal's venue is gone") }
        guard venue.type == .hospital else { throw DomainError(.venueNotPermitted, "medical settlement is for a hospital's terminal") }
        let (card, denial) = try await AcceptanceService.presented(p.verified, tokenUse: (venue.id, Self.settlementItemCode), at: p.at, in: s)
        let catalogue = try await Self.catalogue(for: p.input.lines, treatmentRegion: venue.regionCode, in: s)
        return try await Self.settleInsured(card: card, denial: denial, catalogue: catalogue, p.input, id: p.id, terminalId: p.terminalId, key: p.key,
                                            venueId: venue.id, venueName: venue.name, actor: p.actor, at: p.at, presets: presets, in: s)
    }

    /// The treatment place's catalogue: the published items this bill names (a line not listed is self-paid).
    static func catalogue(for lines: [MedicalBillLine], treatmentRegion: String, in s: StoreSession) async throws -> MedicalCatalogue {
        var items: [MedicalCatalogueItem] = []
        var version = 0
        if let v = try await s.medical.latestVersion() {
            version = Int(v.version)
            items = try await s.medical.items(version: v.version, codes: Array(Set(lines.map(\.code))).filter { !$0.isEmpty })
        }
        return MedicalCatalogue(treatmentRegion: treatmentRegion, version: version, items: items)
    }

    /// The insured place's part of a settlement, in the caller's transaction: the person behind the card, their policy,
    /// filings and year-to-date counters, the split (Core), the record, the account and the counters. Shared by a
    /// hospital of this node and one of another province asking through the hub.
    static func settleInsured(card: Card?, denial: DenialCode?, catalogue: MedicalCatalogue, _ input: SettlementInput, id: String, terminalId: Terminal.ID,
                              key: String, venueId: Venue.ID, venueName: String, actor: String, at now: Date, presets: MedicalPolicyBook,
                              in s: StoreSession) async throws -> MedicalSettlementRecord {
        guard let card, denial == nil else {
            let reason = (denial ?? .tokenInvalid).rawValue
            throw DomainError(.credentialRefused, "the card or QR code is refused: \(reason)", extensions: ["reason": reason])
        }
        guard let insured = try await s.medical.insured(card.personId, lock: true) else {
            throw DomainError(.notInsured, "the cardholder has no basic medical insurance recorded here")
        }
        let day = CalendarDay(now)
        guard let policy = try await Self.policy(insuredRegion: insured.insuredRegion, scheme: insured.scheme, care: input.care, on: day,
                                                 presets: presets, in: s) else {
            throw DomainError(.medicalPolicyNotFound, "no \(insured.scheme.rawValue) \(input.care.rawValue) policy for \(insured.insuredRegion)")
        }
        let filings = try await s.medical.filings(personId: insured.personId).map(\.filing)
        let year = policy.settlementYear(of: day)
        let yearToDate = try await s.medical.yearToDate(insured.personId, care: input.care, year: year)
        let split = try MedicalSettlementRules.settle(lines: input.lines, catalogue: catalogue, policy: policy, insured: insured, filings: filings,
                                                      hospitalLevel: input.hospitalLevel, emergency: input.emergency, on: day, yearToDate: yearToDate)
        let record = MedicalSettlementRecord(settlementId: id, personId: insured.personId, insuredRegion: insured.insuredRegion,
                                             treatmentRegion: catalogue.treatmentRegion, care: input.care, hospitalLevel: input.hospitalLevel,
                                             policyVersion: policy.policyVersion, split: split)
        try await s.medical.insertSettlement(StoredMedicalSettlement(record: record, terminalId: terminalId, idempotencyKey: key, venueId: venueId,
                                                                     settlementYear: year, at: now))
        if split.acctPay != 0 { try await s.medical.changeAccount(insured.personId, by: -split.acctPay) }
        if split.yearToDateChange != .zero {
            try await s.medical.applyYearToDate(insured.personId, care: input.care, year: year, change: split.yearToDateChange)
        }
        try await s.audit.append(at: now, actor: actor, action: "medical_settled", subject: "person:\(insured.personId)",
                                 purpose: "settlement \(id) at \(venueName): \(split.filing.rawValue)")
        return record
    }

    /// Reverses a settlement made at this terminal's hospital (红冲): a negating record, the account refunded and the
    /// counters restored in one transaction; at most once (the `reverses` column is unique, so a racing second
    /// request fails as `already_reversed` too). A settlement the insured place made through the hub is reversed there
    /// first (`reverseElsewhere`).
    func reverse(terminal: Identity, settlementId: String) async throws -> MedicalSettlementRecord {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        let now = clock.now()
        let reversalId = random.uuid()
        let original = try await store.read { try await $0.medical.settlement(settlementId) }
        guard let original, original.venueId == venueId else { throw DomainError(.settlementNotFound, "no settlement \(settlementId) at this hospital") }
        if Self.isSettledElsewhere(original.record) {
            return try await reverseElsewhere(terminal: terminal, original: original, at: now)
        }
        do {
            return try await store.write { s in
                try await Self.reverseRecord(settlementId, reversalId: reversalId, terminalId: Terminal.ID(terminal.subject), venueId: venueId,
                                             actor: terminal.actor, at: now, in: s)
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.alreadyReversed, "settlement \(settlementId) is already reversed")
        }
    }

    /// The insured place's part of a reversal, in the caller's transaction: the negating record, the account and the counters.
    static func reverseRecord(_ settlementId: String, reversalId: String, terminalId: Terminal.ID, venueId: Venue.ID, actor: String, at now: Date,
                              in s: StoreSession) async throws -> MedicalSettlementRecord {
        guard let original = try await s.medical.settlement(settlementId) else { throw DomainError(.settlementNotFound, "no settlement \(settlementId)") }
        let insured = try await s.medical.insured(original.record.personId, lock: true)
        let reversed = try await s.medical.reversal(of: settlementId) != nil
        let record = try MedicalReversal.reverse(original.record, reversalId: reversalId, alreadyReversed: reversed,
                                                 accountBalanceFen: insured?.accountBalanceFen)
        try await s.medical.insertSettlement(StoredMedicalSettlement(record: record, terminalId: terminalId, idempotencyKey: Self.reversalKey(settlementId),
                                                                     venueId: venueId, settlementYear: original.settlementYear, at: now))
        if record.split.acctPay != 0 { try await s.medical.changeAccount(record.personId, by: -record.split.acctPay) }
        if record.split.yearToDateChange != .zero {
            try await s.medical.applyYearToDate(record.personId, care: record.care, year: original.settlementYear, change: record.split.yearToDateChange)
        }
        try await s.audit.append(at: now, actor: actor, action: "medical_settlement_reversed", subject: "person:\(record.personId)",
                                 purpose: "settlement \(settlementId) reversed by \(reversalId)")
        return record
    }

    /// Where a reversal is kept among the terminal's Idempotency-Keys: a header cannot carry the unit separator, so no
    /// settlement's key can take it.
    static func reversalKey(_ settlementId: String) -> String { "\u{1F}reverse:" + settlementId }

    // MARK: Clearing

    /// This month (`YYYY-MM`, China Standard Time).
    var currentMonth: String { MedicalRepository.month(clock.now()) }

    /// The month's clearing between insured and treatment provinces (China Standard Time months).
    func clearing(month: String) async throws -> MedicalClearing {
        do { _ = try MedicalClearing.clear(month: month, records: []) } catch { throw DomainError(.invalidValue, "month: YYYY-MM from 2000-01") }
        let records = try await store.read { try await $0.medical.crossProvinceRecords(month: month) }
        return try MedicalClearing.clear(month: month, records: records)
    }
}
