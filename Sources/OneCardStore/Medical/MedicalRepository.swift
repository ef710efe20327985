import Foundation
import OneCardCore
import SQLKit

/// A published version of the treatment place's medical catalogue.
public struct MedicalCatalogueVersion: Sendable, Equatable {
    public var version: Int64
    public var publishedAt: Date
    public var publishedBy: String
    public init(version: Int64, publishedAt: Date, publishedBy: String) { self.version = version; self.publishedAt = publishedAt; self.publishedBy = publishedBy }
}

/// A filing as stored, with its id and how it was made.
public struct StoredMedicalFiling: Sendable, Equatable {
    public var id: String
    public var personId: Person.ID
    public var filing: MedicalFiling
    /// `online` (the holder) or `counter` (an agent).
    public var channel: String
    public var createdAt: Date
    public init(id: String, personId: Person.ID, filing: MedicalFiling, channel: String, createdAt: Date) {
        self.id = id; self.personId = personId; self.filing = filing; self.channel = channel; self.createdAt = createdAt
    }
}

/// A settlement or reversal as stored: the record (never edited) and where and when it was made.
public struct StoredMedicalSettlement: Sendable, Equatable {
    public var record: MedicalSettlementRecord
    public var terminalId: Terminal.ID
    public var idempotencyKey: String
    public var venueId: Venue.ID
    public var settlementYear: Int
    public var at: Date
    public init(record: MedicalSettlementRecord, terminalId: Terminal.ID, idempotencyKey: String, venueId: Venue.ID, settlementYear: Int, at: Date) {
        self.record = record; self.terminalId = terminalId; self.idempotencyKey = idempotencyKey; self.venueId = venueId
        self.settlementYear = settlementYear; self.at = at
    }
}

/// Medical settlement: catalogue drafts and versions, policy versions, insured persons, filings, settlements and the
/// insured place's year-to-date counters.
public struct MedicalRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect
    static let encoder: JSONEncoder = { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]; return e }()
    static func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
    static func decode<T: Decodable>(_ t: T.Type, _ s: String) throws -> T { try JSONDecoder().decode(t, from: Data(s.utf8)) }

    // MARK: Catalogue

    public func saveDraft(_ item: MedicalCatalogueItem, by: String, at: Date) async throws {
        try await db.raw("DELETE FROM medical_catalogue_drafts WHERE code = \(bind: item.code)").run()
        try await db.raw("""
            INSERT INTO medical_catalogue_drafts (code, item, drafted_by, drafted_at)
            VALUES (\(bind: item.code), \(bind: try Self.json(item)), \(bind: by), \(bind: at.millis))
            """).run()
    }

    public func drafts() async throws -> [MedicalCatalogueItem] {
        try await db.raw("SELECT item FROM medical_catalogue_drafts ORDER BY code").all().map { try Self.decode(MedicalCatalogueItem.self, try $0.string("item")) }
    }

    public func clearDrafts() async throws { try await db.raw("DELETE FROM medical_catalogue_drafts").run() }

    public func latestVersion() async throws -> MedicalCatalogueVersion? {
        try await db.raw("SELECT * FROM medical_catalogue_versions ORDER BY version DESC LIMIT 1").first().map {
            MedicalCatalogueVersion(version: try $0.int("version"), publishedAt: try $0.date("published_at"), publishedBy: try $0.string("published_by"))
        }
    }

    /// Publishes `items` as version `v` (the caller holds the write transaction).
    public func publish(version v: Int64, items: [MedicalCatalogueItem], at: Date, by: String) async throws {
        try await db.raw("INSERT INTO medical_catalogue_versions (version, published_at, published_by) VALUES (\(bind: v), \(bind: at.millis), \(bind: by))").run()
        for part in stride(from: 0, to: items.count, by: 300) {
            var insert = db.insert(into: "medical_catalogue_items").columns("version", "code", "item")
            for item in items[part..<min(part + 300, items.count)] { insert = insert.values([SQLBind(v), SQLBind(item.code), SQLBind(try Self.json(item))]) }
            try await insert.run()
        }
    }

    public func items(version v: Int64) async throws -> [MedicalCatalogueItem] {
        try await db.raw("SELECT item FROM medical_catalogue_items WHERE version = \(bind: v) ORDER BY code").all().map {
            try Self.decode(MedicalCatalogueItem.self, try $0.string("item"))
        }
    }

    /// The newest published version (0 before the first) and its items with these codes, in one query: a settlement
    /// needs both, and every statement is a round trip at the hospital's counter.
    public func publishedItems(codes: [String]) async throws -> (version: Int, items: [MedicalCatalogueItem]) {
        let rows = try await db.raw("""
            SELECT v.version, i.item FROM (SELECT MAX(version) AS version FROM medical_catalogue_versions) v
            LEFT JOIN medical_catalogue_items i ON i.version = v.version AND i.code IN (\(binds: codes.isEmpty ? [""] : codes))  -- no code is empty; IN () is not SQL
            """).all()
        guard let version = try rows.first?.optionalInt("version") else { return (0, []) }
        return (Int(version), try rows.compactMap { try $0.optionalString("item").map { try Self.decode(MedicalCatalogueItem.self, $0) } })
    }

    // MARK: Policies

    /// The newest stored version number of a policy (0: none stored, the preset is version 1).
    public func latestPolicyVersion(region: String, scheme: MedicalScheme, care: MedicalCare) async throws -> Int64 {
        try await db.raw("""
            SELECT MAX(policy_version) AS v FROM medical_policies
            WHERE region_code = \(bind: region) AND scheme = \(bind: scheme.rawValue) AND care = \(bind: care.rawValue)
            """).first()?.optionalInt("v") ?? 0
    }

    public func insertPolicy(_ p: MedicalPolicy, by: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO medical_policies (region_code, scheme, care, policy_version, policy, created_by, created_at)
            VALUES (\(bind: p.regionCode), \(bind: p.scheme.rawValue), \(bind: p.care.rawValue), \(bind: Int64(p.policyVersion)),
                    \(bind: try Self.json(p)), \(bind: by), \(bind: at.millis))
            """).run()
    }

    /// Every stored version of the policies of these regions for a scheme and care.
    public func policies(regions: [String], scheme: MedicalScheme, care: MedicalCare) async throws -> [MedicalPolicy] {
        guard !regions.isEmpty else { return [] }
        return try await db.raw("""
            SELECT policy FROM medical_policies WHERE region_code IN (\(binds: regions)) AND scheme = \(bind: scheme.rawValue) AND care = \(bind: care.rawValue)
            """).all().map { try Self.decode(MedicalPolicy.self, try $0.string("policy")) }
    }

    /// Every stored version of every policy of these regions (a group of settlements loads its policies at once).
    public func policies(regions: [String]) async throws -> [MedicalPolicy] {
        guard !regions.isEmpty else { return [] }
        return try await db.raw("SELECT policy FROM medical_policies WHERE region_code IN (\(binds: regions))").all().map {
            try Self.decode(MedicalPolicy.self, try $0.string("policy"))
        }
    }

    /// Every stored policy version (the admin page).
    public func allPolicies() async throws -> [MedicalPolicy] {
        try await db.raw("SELECT policy FROM medical_policies ORDER BY region_code, scheme, care, policy_version").all().map {
            try Self.decode(MedicalPolicy.self, try $0.string("policy"))
        }
    }

    // MARK: Insured persons

    public func saveInsured(_ i: MedicalInsured, by: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO medical_insureds (person_id, scheme, insured_region, retired, account_balance_fen, updated_by, updated_at)
            VALUES (\(bind: i.personId), \(bind: i.scheme.rawValue), \(bind: i.insuredRegion), \(bind: i.retired.int), \(bind: i.accountBalanceFen),
                    \(bind: by), \(bind: at.millis))
            ON CONFLICT (person_id) DO UPDATE SET scheme = excluded.scheme, insured_region = excluded.insured_region, retired = excluded.retired,
                account_balance_fen = excluded.account_balance_fen, updated_by = excluded.updated_by, updated_at = excluded.updated_at
            """).run()
    }

    /// The insured person; `lock` takes the row for the rest of the transaction (a settlement's read-modify-write of the account).
    public func insured(_ personId: Person.ID, lock: Bool = false) async throws -> MedicalInsured? {
        try await db.raw("SELECT * FROM medical_insureds WHERE person_id = \(bind: personId)\(unsafeRaw: lock ? dialect.forUpdate : "")").first().map(Self.decodeInsured)
    }

    /// Several insured persons; `lock` takes their rows in person order (two transactions locking overlapping sets never
    /// wait for each other crosswise).
    public func insureds(_ personIds: [Person.ID], lock: Bool = false) async throws -> [MedicalInsured] {
        guard !personIds.isEmpty else { return [] }
        return try await db.raw("""
            SELECT * FROM medical_insureds WHERE person_id IN (\(binds: personIds)) ORDER BY person_id\(unsafeRaw: lock ? dialect.forUpdate : "")
            """).all().map(Self.decodeInsured)
    }

    static func decodeInsured(_ r: any SQLRow) throws -> MedicalInsured {
        MedicalInsured(personId: try r.id("person_id"), scheme: MedicalScheme(rawValue: try r.string("scheme")) ?? .resident,
                       insuredRegion: try r.string("insured_region"), retired: try r.bool("retired"), accountBalanceFen: try r.optionalInt("account_balance_fen"))
    }

    /// Adds each delta (negative: paid out) to its employee's personal account, in one statement.
    public func changeAccounts(_ deltas: [(Person.ID, Int64)]) async throws {
        guard !deltas.isEmpty else { return }
        var cases = SQLQueryString("")
        for (person, delta) in deltas { cases += " WHEN \(bind: person) THEN \(bind: delta)" }
        try await db.raw("""
            UPDATE medical_insureds SET account_balance_fen = account_balance_fen + CASE person_id\(cases) ELSE 0 END
            WHERE person_id IN (\(binds: deltas.map(\.0)))
            """).run()
    }

    /// Adds `delta` (negative: paid out) to the employee's personal account.
    public func changeAccount(_ personId: Person.ID, by delta: Int64) async throws {
        try await db.raw("""
            UPDATE medical_insureds SET account_balance_fen = account_balance_fen + \(bind: delta) WHERE person_id = \(bind: personId)
            """).run()
    }

    // MARK: Filings

    public func insertFiling(_ f: StoredMedicalFiling, by: String) async throws {
        try await db.raw("""
            INSERT INTO medical_filings (id, person_id, kind, treatment_region, from_day, to_day, channel, created_by, created_at)
            VALUES (\(bind: f.id), \(bind: f.personId), \(bind: f.filing.kind.rawValue), \(bind: f.filing.treatmentRegion), \(bind: f.filing.from.description),
                    \(bind: f.filing.to?.description), \(bind: f.channel), \(bind: by), \(bind: f.createdAt.millis))
            """).run()
    }

    public func filings(personId: Person.ID) async throws -> [StoredMedicalFiling] {
        try await db.raw("SELECT * FROM medical_filings WHERE person_id = \(bind: personId) ORDER BY created_at, id").all().map(Self.decodeFiling)
    }

    /// Several persons' filings, each person's in the order `filings(personId:)` gives.
    public func filings(personIds: [Person.ID]) async throws -> [StoredMedicalFiling] {
        guard !personIds.isEmpty else { return [] }
        return try await db.raw("SELECT * FROM medical_filings WHERE person_id IN (\(binds: personIds)) ORDER BY created_at, id").all().map(Self.decodeFiling)
    }

    static func decodeFiling(_ r: any SQLRow) throws -> StoredMedicalFiling {
        StoredMedicalFiling(id: try r.string("id"), personId: try r.id("person_id"),
                            filing: MedicalFiling(kind: FilingKind(rawValue: try r.string("kind")) ?? .temporary, treatmentRegion: try r.string("treatment_region"),
                                                  from: CalendarDay(try r.string("from_day")) ?? CalendarDay(year: 2000, month: 1, day: 1)!,
                                                  to: try r.optionalString("to_day").flatMap { CalendarDay($0) }),
                            channel: try r.string("channel"), createdAt: try r.date("created_at"))
    }

    // MARK: Settlements

    public func insertSettlement(_ s: StoredMedicalSettlement) async throws { try await insertSettlements([s]) }

    /// Inserts settlements and reversals in one statement.
    public func insertSettlements(_ all: [StoredMedicalSettlement]) async throws {
        guard !all.isEmpty else { return }
        var values = SQLQueryString("")
        for (i, s) in all.enumerated() {
            let r = s.record
            if i > 0 { values += ", " }
            values += """
                (\(bind: r.settlementId), \(bind: s.terminalId), \(bind: s.idempotencyKey), \(bind: s.venueId), \(bind: r.personId), \(bind: r.reverses),
                 \(bind: r.insuredRegion), \(bind: r.treatmentRegion), \(bind: r.care.rawValue), \(bind: Int64(s.settlementYear)),
                 \(bind: Self.month(s.at)), \(bind: s.at.millis), \(bind: r.json))
                """
        }
        try await db.raw("""
            INSERT INTO medical_settlements (id, terminal_id, idempotency_key, venue_id, person_id, reverses, insured_region, treatment_region, care,
                settlement_year, month, at, record)
            VALUES \(values)
            """).run()
    }

    /// The month a settlement is cleared in (`YYYY-MM`, China Standard Time).
    public static func month(_ at: Date) -> String {
        CalendarDay(at).yearMonth
    }

    /// The record a terminal's earlier request with this Idempotency-Key made.
    public func settlement(terminalId: Terminal.ID, idempotencyKey: String) async throws -> StoredMedicalSettlement? {
        try await db.raw("SELECT * FROM medical_settlements WHERE terminal_id = \(bind: terminalId) AND idempotency_key = \(bind: idempotencyKey)")
            .first().map(Self.decodeSettlement)
    }

    /// The records earlier requests made under these terminals' Idempotency-Keys.
    public func settlements(requests: [(terminalId: Terminal.ID, idempotencyKey: String)]) async throws -> [StoredMedicalSettlement] {
        guard !requests.isEmpty else { return [] }
        let wanted = Set(requests.map { $0.terminalId.rawValue + "\u{1F}" + $0.idempotencyKey })
        return try await db.raw("""
            SELECT * FROM medical_settlements
            WHERE terminal_id IN (\(binds: Array(Set(requests.map(\.terminalId))))) AND idempotency_key IN (\(binds: Array(Set(requests.map(\.idempotencyKey)))))
            """).all().map(Self.decodeSettlement).filter { wanted.contains($0.terminalId.rawValue + "\u{1F}" + $0.idempotencyKey) }
    }

    public func settlement(_ id: String) async throws -> StoredMedicalSettlement? {
        try await db.raw("SELECT * FROM medical_settlements WHERE id = \(bind: id)").first().map(Self.decodeSettlement)
    }

    /// The reversal of a settlement, if there is one.
    public func reversal(of id: String) async throws -> StoredMedicalSettlement? {
        try await db.raw("SELECT * FROM medical_settlements WHERE reverses = \(bind: id)").first().map(Self.decodeSettlement)
    }

    /// A person's settlements and reversals, newest first.
    public func settlements(personId: Person.ID) async throws -> [StoredMedicalSettlement] {
        try await db.raw("SELECT * FROM medical_settlements WHERE person_id = \(bind: personId) ORDER BY at DESC, id").all().map(Self.decodeSettlement)
    }

    /// Every settlement and reversal of a month (`YYYY-MM`, China Standard Time) whose provinces differ.
    public func crossProvinceRecords(month: String) async throws -> [MedicalSettlementRecord] {
        try await db.raw("""
            SELECT record FROM medical_settlements WHERE month = \(bind: month) AND SUBSTR(insured_region, 1, 2) <> SUBSTR(treatment_region, 1, 2)
            ORDER BY at, id
            """).all().map { try Self.decode(MedicalSettlementRecord.self, try $0.string("record")) }
    }

    static func decodeSettlement(_ r: any SQLRow) throws -> StoredMedicalSettlement {
        StoredMedicalSettlement(record: try decode(MedicalSettlementRecord.self, try r.string("record")), terminalId: try r.id("terminal_id"),
                                idempotencyKey: try r.string("idempotency_key"), venueId: try r.id("venue_id"),
                                settlementYear: Int(try r.int("settlement_year")), at: try r.date("at"))
    }

    // MARK: Year-to-date counters (the insured place's)

    public func yearToDate(_ personId: Person.ID, care: MedicalCare, year: Int) async throws -> MedicalYearToDate {
        try await db.raw("""
            SELECT * FROM medical_year_to_date WHERE person_id = \(bind: personId) AND care = \(bind: care.rawValue) AND settlement_year = \(bind: Int64(year))
            """).first().map { MedicalYearToDate(stays: Int(try $0.int("stays")), deductibleFen: try $0.int("deductible_fen"), fundFen: try $0.int("fund_fen")) } ?? .zero
    }

    /// One person's counters in one care and settlement year.
    public struct YearToDateKey: Hashable, Sendable {
        public var personId: Person.ID, care: MedicalCare, year: Int
        public init(_ personId: Person.ID, _ care: MedicalCare, _ year: Int) { self.personId = personId; self.care = care; self.year = year }
    }

    /// Every counter these persons have, in every care and year.
    public func yearsToDate(personIds: [Person.ID]) async throws -> [YearToDateKey: MedicalYearToDate] {
        guard !personIds.isEmpty else { return [:] }
        var out: [YearToDateKey: MedicalYearToDate] = [:]
        for r in try await db.raw("SELECT * FROM medical_year_to_date WHERE person_id IN (\(binds: personIds))").all() {
            guard let care = MedicalCare(rawValue: try r.string("care")) else { continue }
            out[YearToDateKey(try r.id("person_id"), care, Int(try r.int("settlement_year")))] =
                MedicalYearToDate(stays: Int(try r.int("stays")), deductibleFen: try r.int("deductible_fen"), fundFen: try r.int("fund_fen"))
        }
        return out
    }

    public func applyYearToDate(_ personId: Person.ID, care: MedicalCare, year: Int, change c: MedicalYearToDate) async throws {
        try await applyYearsToDate([(YearToDateKey(personId, care, year), c)])
    }

    /// Adds each change to its counters (created at zero), in one statement; the keys must differ.
    public func applyYearsToDate(_ changes: [(YearToDateKey, MedicalYearToDate)]) async throws {
        guard !changes.isEmpty else { return }
        var values = SQLQueryString("")
        for (i, (k, c)) in changes.enumerated() {
            if i > 0 { values += ", " }
            values += "(\(bind: k.personId), \(bind: k.care.rawValue), \(bind: Int64(k.year)), \(bind: Int64(c.stays)), \(bind: c.deductibleFen), \(bind: c.fundFen))"
        }
        try await db.raw("""
            INSERT INTO medical_year_to_date (person_id, care, settlement_year, stays, deductible_fen, fund_fen)
            VALUES \(values)
            ON CONFLICT (person_id, care, settlement_year) DO UPDATE SET stays = medical_year_to_date.stays + excluded.stays,
                deductible_fen = medical_year_to_date.deductible_fen + excluded.deductible_fen, fund_fen = medical_year_to_date.fund_fen + excluded.fund_fen
            """).run()
    }

    // MARK: Reconciliation with other provinces

    /// Keeps another province's statement of a month and its comparison with this node's record (the latest wins).
    public func saveReconciliation(_ r: MedicalReconciliation, statement: MedicalStatement, at: Date) async throws {
        try await db.raw("""
            INSERT INTO medical_reconciliations (month, counterpart, received_at, statement, result)
            VALUES (\(bind: r.month), \(bind: r.counterpart), \(bind: at.millis), \(bind: try Self.json(statement)), \(bind: try Self.json(r)))
            ON CONFLICT (month, counterpart) DO UPDATE SET received_at = excluded.received_at, statement = excluded.statement, result = excluded.result
            """).run()
    }

    /// The month's reconciliations, one per counterpart province, with when the statement arrived.
    public func reconciliations(month: String) async throws -> [(MedicalReconciliation, Date)] {
        try await db.raw("SELECT result, received_at FROM medical_reconciliations WHERE month = \(bind: month) ORDER BY counterpart").all().map {
            (try Self.decode(MedicalReconciliation.self, try $0.string("result")), try $0.date("received_at"))
        }
    }
}
