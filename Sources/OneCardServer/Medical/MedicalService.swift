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
        let stored = try await s.medical.policies(regions: Array(Set(MedicalPolicyBook.regions(insuredRegion))), scheme: scheme, care: care)
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
    /// The account, the counters and the record change together; the insured persons' rows are locked first, so two
    /// bills of one person are split one after the other, each from the other's counters and balance.
    /// Another province's card or QR code is settled by its insured place through the hub (`settleElsewhere`).
    func settle(terminal: Identity, idempotencyKey: String, _ input: SettlementInput) async throws -> MedicalSettlementRecord {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        let now = clock.now()
        // The signature or chip check outside the transaction, as for acceptances.
        let verified = acceptance.verify(input.credential, at: now)
        let terminalId = Terminal.ID(terminal.subject)
        if let insurer = try await foreignInsurer(input.credential, verified) {
            if let earlier = try await store.read({ try await $0.medical.settlement(terminalId: terminalId, idempotencyKey: idempotencyKey) }) {
                return earlier.record
            }
            return try await settleElsewhere(terminal: terminal, terminalId: terminalId, venueId: venueId, key: idempotencyKey, insurer: insurer, input, at: now)
        }
        // This node's own card: the group's transaction answers an earlier request with the same key.
        let pending = PendingSettlement(terminalId: terminalId, venueId: venueId, actor: terminal.actor, key: idempotencyKey, verified: verified,
                                        input: input, id: random.uuid(), at: now)
        let service = self
        return try await groups.submit(pending) { group in await service.settle(group) }
    }

    /// Writes a group of settlements in one transaction, in arrival order (two bills of one person see each other's
    /// counters, as they would one transaction apart): what the bills refer to is read before it (`known`), a handful of
    /// statements in it load what every bill needs, Core splits each, and a handful write the records, accounts,
    /// counters, spent codes and audit entries. A refused bill writes
    /// nothing (its QR token or chip challenge stays unspent) and answers its own request only. A bill presenting a code
    /// an earlier bill of the group presents waits for the group's commit and is settled after it, so it sees whether
    /// the code was spent. When the transaction fails as a whole — a racing request with the same key on another
    /// process, a deadlock — each bill is written again on its own; with the database gone every request gets the same
    /// 503 at once.
    func settle(_ group: [PendingSettlement], retries: Int = 0) async -> [Result<MedicalSettlementRecord, any Error>] {
        let presets = presets
        var outcomes: [GroupOutcome]
        do {
            let known = try await store.read { s in try await Self.known(group, in: s) }
            outcomes = try await store.write { s in try await Self.settle(group, known: known, presets: presets, in: s) }
        } catch {
            if let unavailable = Store.unavailable(error) { return group.map { _ in .failure(unavailable) } }
            guard group.count > 1 else {
                // Another process committed first with the same key (its answer is this one's) or the same code (spent now).
                guard Store.isUniqueViolation(error), retries < 3 else { return [.failure(error)] }
                return await settle(group, retries: retries + 1)
            }
            var results: [Result<MedicalSettlementRecord, any Error>] = []
            for p in group { results += await settle([p]) }
            return results
        }
        for i in outcomes.indices {
            if case .later = outcomes[i] { outcomes[i] = .done(await settle([group[i]])[0]) }
        }
        return outcomes.map { if case .done(let r) = $0 { r } else { .failure(GroupCommitError.unanswered) } }
    }

    /// A group member's answer, or settled after the group (it presents a code an earlier member presents).
    enum GroupOutcome: Sendable {
        case done(Result<MedicalSettlementRecord, any Error>)
        case later
    }

    /// What a group's bills refer to that no settlement changes: the hospitals, the cards presented and the catalogue's
    /// items billed. Read on a reader before the group's transaction, so that the group before it can still be writing
    /// (two lanes on PostgreSQL): the transaction holds only what must be decided in it — the answers earlier requests
    /// with the same keys had, the codes spent, the persons' accounts and counters. A card's status read here is the one
    /// the card had when it was presented, as for an acceptance answered a moment earlier.
    struct Known: Sendable {
        var venues: [Venue.ID: Venue] = [:]
        var cards: [CardNumber: Card] = [:]
        var catalogueVersion = 0
        var catalogueItems: [String: MedicalCatalogueItem] = [:]
    }

    private static func known(_ group: [PendingSettlement], in s: StoreSession) async throws -> Known {
        func unique<T: Hashable>(_ values: [T]) -> [T] { Array(Set(values)) }
        var k = Known()
        for v in try await s.venues.find(ids: unique(group.map(\.venueId))) { k.venues[v.id] = v }
        for c in try await s.cards.find(numbers: unique(group.compactMap(\.verified.cardNumber))) { k.cards[c.number] = c }
        let published = try await s.medical.publishedItems(codes: unique(group.flatMap { $0.input.lines.map(\.code) }).filter { !$0.isEmpty })
        k.catalogueVersion = published.version
        for i in published.items { k.catalogueItems[i.code] = i }
        return k
    }

    /// One group's transaction at a hospital of this node: earlier answers and spent codes, then the insured place's part
    /// (`settleInsured`), then the codes of the bills settled marked spent.
    private static func settle(_ group: [PendingSettlement], known: Known, presets: MedicalPolicyBook, in s: StoreSession) async throws -> [GroupOutcome] {
        var earlier: [String: MedicalSettlementRecord] = [:]
        for e in try await s.medical.settlements(requests: group.map { ($0.terminalId, $0.key) }) { earlier[e.terminalId.rawValue + "\u{1F}" + e.idempotencyKey] = e.record }
        // The codes each bill would spend: a QR token at this hospital's settlement item, or a chip challenge.
        func tokenUse(_ p: PendingSettlement) -> UseRecord.TokenUse? {
            guard let jti = p.verified.jti, p.verified.form == .electronic, p.verified.cardNumber.flatMap({ known.cards[$0] }) != nil else { return nil }
            return UseRecord.TokenUse(jti: jti, venueId: p.venueId, itemCode: settlementItemCode)
        }
        func challengeUse(_ p: PendingSettlement) -> UseRecord.ChallengeUse? {
            guard let hash = p.verified.challengeHash, let card = p.verified.cardNumber.flatMap({ known.cards[$0] }) else { return nil }
            return UseRecord.ChallengeUse(cardNumber: card.number, challengeHash: hash)
        }
        let spentTokens = try await s.uses.acceptedTokens(among: group.compactMap(tokenUse))
        let spentChallenges = try await s.uses.usedChallenges(among: group.compactMap(challengeUse))

        // Plan: each request answered as before, settled after the group, refused here, or settled now.
        var outcomes: [GroupOutcome?] = Array(repeating: nil, count: group.count)
        var bills: [(index: Int, bill: InsuredBill)] = []
        var firstOfKey: [String: Int] = [:]
        var presented = Set<String>()
        for (i, p) in group.enumerated() {
            let key = p.terminalId.rawValue + "\u{1F}" + p.key
            if let e = earlier[key] { outcomes[i] = .done(.success(e)); continue }
            let token = tokenUse(p), challenge = challengeUse(p)
            let codes = [token.map { "t\u{1F}" + $0.jti }, challenge.map { "c\u{1F}\($0.cardNumber.rawValue)\u{1F}" + $0.challengeHash }].compactMap { $0 }
            if firstOfKey[key] != nil || codes.contains(where: presented.contains) { outcomes[i] = .later; continue }
            firstOfKey[key] = i
            presented.formUnion(codes)
            guard let venue = known.venues[p.venueId] else { outcomes[i] = .done(.failure(DomainError(.venueNotFound, "the terminal's venue is gone"))); continue }
            guard venue.type == .hospital else {
                outcomes[i] = .done(.failure(DomainError(.venueNotPermitted, "medical settlement is for a hospital's terminal"))); continue
            }
            let card = p.verified.cardNumber.flatMap { known.cards[$0] }
            let replayed = token.map(spentTokens.contains) ?? challenge.map(spentChallenges.contains) ?? false
            let catalogue = MedicalCatalogue(treatmentRegion: venue.regionCode, version: known.catalogueVersion,
                                             items: Set(p.input.lines.map(\.code)).compactMap { known.catalogueItems[$0] })
            bills.append((i, InsuredBill(card: card, denial: AcceptanceRules.presentationDenial(credential: p.verified, card: card, replayed: replayed),
                                         catalogue: catalogue, input: p.input, id: p.id, terminalId: p.terminalId, key: p.key, venueId: venue.id,
                                         venueName: venue.name, actor: p.actor, at: p.at)))
        }

        let settled = try await settleInsured(bills.map(\.bill), presets: presets, in: s)
        var tokens: [(UseRecord.TokenUse, at: Date)] = [], challenges: [(UseRecord.ChallengeUse, at: Date)] = []
        for ((i, _), result) in zip(bills, settled) {
            outcomes[i] = .done(result.mapError { $0 as any Error })
            guard case .success = result else { continue }
            if let t = tokenUse(group[i]) { tokens.append((t, group[i].at)) }
            if let c = challengeUse(group[i]) { challenges.append((c, group[i].at)) }
        }
        try await s.uses.insertTokenUses(tokens)
        try await s.uses.insertChallengeUses(challenges)
        // A key repeated within the group answers as its first request did (after the commit, with the same record).
        return outcomes.map { $0 ?? .later }
    }

    /// The treatment place's catalogue: the published items this bill names (a line not listed is self-paid).
    static func catalogue(for lines: [MedicalBillLine], treatmentRegion: String, in s: StoreSession) async throws -> MedicalCatalogue {
        let published = try await s.medical.publishedItems(codes: Array(Set(lines.map(\.code))).filter { !$0.isEmpty })
        return MedicalCatalogue(treatmentRegion: treatmentRegion, version: published.version, items: published.items)
    }

    /// A bill at the insured place: the card that presented it (or why it is refused), the treatment place's
    /// classification, and where it was settled.
    struct InsuredBill: Sendable {
        var card: Card?, denial: DenialCode?
        var catalogue: MedicalCatalogue
        var input: SettlementInput
        var id: String, terminalId: Terminal.ID, key: String, venueId: Venue.ID, venueName: String, actor: String, at: Date
    }

    /// The insured place's part of one settlement, in the caller's transaction (a hospital of another province asking
    /// through the hub): `settleInsured` of one bill.
    static func settleInsured(_ bill: InsuredBill, presets: MedicalPolicyBook, in s: StoreSession) async throws -> MedicalSettlementRecord {
        try await settleInsured([bill], presets: presets, in: s)[0].get()
    }

    /// The insured place's part of settlements, in the caller's transaction, in order: the persons behind the cards
    /// (their rows locked), their policies, filings and year-to-date counters loaded once; the split (Core) of each bill
    /// from the counters and balance the bills before it left; then the records, accounts, counters and audit entries
    /// written together. A refused bill (an error of its own) changes nothing.
    static func settleInsured(_ bills: [InsuredBill], presets: MedicalPolicyBook, in s: StoreSession) async throws -> [Result<MedicalSettlementRecord, DomainError>] {
        guard !bills.isEmpty else { return [] }
        let persons = Array(Set(bills.compactMap { $0.denial == nil ? $0.card?.personId : nil }))
        var insured: [Person.ID: MedicalInsured] = [:]
        for i in try await s.medical.insureds(persons, lock: true) { insured[i.personId] = i }
        var filings: [Person.ID: [MedicalFiling]] = [:]
        for f in try await s.medical.filings(personIds: Array(insured.keys)) { filings[f.personId, default: []].append(f.filing) }
        var yearToDate = try await s.medical.yearsToDate(personIds: Array(insured.keys))
        // Every policy the group's persons may need, stored or preset, in one query.
        let book = MedicalPolicyBook(policies: presets.policies
            + (try await s.medical.policies(regions: Array(Set(insured.values.flatMap { MedicalPolicyBook.regions($0.insuredRegion) })))))

        var results: [Result<MedicalSettlementRecord, DomainError>] = []
        var records: [StoredMedicalSettlement] = []
        var accounts: [Person.ID: Int64] = [:]
        var counters: [MedicalRepository.YearToDateKey: MedicalYearToDate] = [:]
        var audit: [AuditRepository.NewEntry] = []
        for b in bills {
            guard let card = b.card, b.denial == nil else {
                let reason = (b.denial ?? .tokenInvalid).rawValue
                results.append(.failure(DomainError(.credentialRefused, "the card or QR code is refused: \(reason)", extensions: ["reason": reason])))
                continue
            }
            guard var person = insured[card.personId] else {
                results.append(.failure(DomainError(.notInsured, "the cardholder has no basic medical insurance recorded here"))); continue
            }
            let day = CalendarDay(b.at)
            guard let policy = book.policy(insuredRegion: person.insuredRegion, scheme: person.scheme, care: b.input.care, on: day) else {
                results.append(.failure(DomainError(.medicalPolicyNotFound, "no \(person.scheme.rawValue) \(b.input.care.rawValue) policy for \(person.insuredRegion)")))
                continue
            }
            let year = policy.settlementYear(of: day)
            let counterKey = MedicalRepository.YearToDateKey(person.personId, b.input.care, year)
            let split: MedicalSplit
            do {
                split = try MedicalSettlementRules.settle(lines: b.input.lines, catalogue: b.catalogue, policy: policy, insured: person,
                                                          filings: filings[person.personId] ?? [], hospitalLevel: b.input.hospitalLevel,
                                                          emergency: b.input.emergency, on: day, yearToDate: yearToDate[counterKey] ?? .zero)
            } catch {
                results.append(.failure(error)); continue
            }
            let record = MedicalSettlementRecord(settlementId: b.id, personId: person.personId, insuredRegion: person.insuredRegion,
                                                 treatmentRegion: b.catalogue.treatmentRegion, care: b.input.care, hospitalLevel: b.input.hospitalLevel,
                                                 policyVersion: policy.policyVersion, split: split)
            records.append(StoredMedicalSettlement(record: record, terminalId: b.terminalId, idempotencyKey: b.key, venueId: b.venueId,
                                                   settlementYear: year, at: b.at))
            if split.acctPay != 0 {
                person.accountBalanceFen = person.accountBalanceFen.map { $0 - split.acctPay }
                insured[person.personId] = person
                accounts[person.personId, default: 0] -= split.acctPay
            }
            if split.yearToDateChange != .zero {
                yearToDate[counterKey] = (yearToDate[counterKey] ?? .zero).applying(split.yearToDateChange)
                counters[counterKey] = (counters[counterKey] ?? .zero).applying(split.yearToDateChange)
            }
            audit.append(.init(at: b.at, actor: b.actor, action: "medical_settled", subject: "person:\(person.personId)",
                               purpose: "settlement \(b.id) at \(b.venueName): \(split.filing.rawValue)"))
            results.append(.success(record))
        }
        try await s.medical.insertSettlements(records)
        try await s.medical.changeAccounts(accounts.filter { $0.value != 0 }.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key, $0.value) })
        try await s.medical.applyYearsToDate(counters.filter { $0.value != .zero }.map { ($0.key, $0.value) })
        try await s.audit.append(audit)
        return results
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
