import Foundation

/// Category of a drug or service in the treatment place's catalogue (API.md `"A"|"B"|"C"`).
public enum MedicalCategory: String, Codable, Sendable, CaseIterable {
    /// 甲类: fully inside the fund's scope.
    case a = "A"
    /// 乙类: the patient first pays a share set by the province (先行自付), the rest is in scope.
    case b = "B"
    /// 丙类: fully self-paid.
    case c = "C"

    /// The name on a receipt (`chrgitm_lv`).
    public var label: String {
        switch self { case .a: "甲类"; case .b: "乙类"; case .c: "丙类" }
    }
}

/// One item of the treatment place's catalogue ("就医地目录": the place of treatment decides the category).
public struct MedicalCatalogueItem: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var category: MedicalCategory
    /// The 乙类 pay-first share (`selfpay_prop`); nil is none.
    public var preselfpayPercent: Percent?
    /// Price cap per unit (`pric_uplmt_amt`); the excess over cap × quantity is self-paid. nil: no cap.
    public var priceCapFen: Int64?

    public init(code: String, name: String, category: MedicalCategory, preselfpayPercent: Percent? = nil, priceCapFen: Int64? = nil) {
        self.code = code; self.name = name; self.category = category; self.preselfpayPercent = preselfpayPercent; self.priceCapFen = priceCapFen
    }

    public func validate() throws(DomainError) {
        guard !code.isEmpty, code.count <= 64 else { throw .invalidField("code", "1 to 64 characters") }
        guard !name.isEmpty else { throw .invalidField("name", "required") }
        if let p = preselfpayPercent {
            guard category == .b else { throw DomainError(.preselfpayOnlyForCategoryB, "preselfpayPercent: only a category B (乙类) item has a pay-first share") }
            guard (Percent.zero...Percent.hundred).contains(p) else { throw .invalidField("preselfpayPercent", "0 to 100") }
        }
        if let cap = priceCapFen, !(0...MedicalPolicy.maximumFen).contains(cap) { throw .invalidField("priceCapFen", "0 or more fen per unit") }
    }
}

/// A published version of a treatment region's catalogue.
public struct MedicalCatalogue: Sendable, Equatable {
    public var treatmentRegion: String
    public var version: Int
    public var items: [String: MedicalCatalogueItem]

    public init(treatmentRegion: String, version: Int, items: [MedicalCatalogueItem]) {
        self.treatmentRegion = treatmentRegion; self.version = version
        self.items = Dictionary(items.map { ($0.code, $0) }, uniquingKeysWith: { _, last in last })
    }

    public subscript(code: String) -> MedicalCatalogueItem? { items[code] }
}

/// A filing (备案) for treatment in another province (API.md `kind`).
public enum FilingKind: String, Codable, Sendable, CaseIterable {
    /// 异地长期居住 (residence, work): no cut.
    case longTerm = "long_term"
    /// 转诊转院.
    case referral
    /// 其他临时外出就医: valid at least 6 months.
    case temporary
}

/// A person's filing for a treatment province.
public struct MedicalFiling: Codable, Sendable, Equatable {
    public var kind: FilingKind
    /// A province code; it covers the whole province (API.md).
    public var treatmentRegion: String
    public var from: CalendarDay
    public var to: CalendarDay?

    public init(kind: FilingKind, treatmentRegion: String, from: CalendarDay, to: CalendarDay? = nil) {
        self.kind = kind; self.treatmentRegion = treatmentRegion; self.from = from; self.to = to
    }

    /// The last day it covers. A temporary filing is valid at least 6 months (wave1-facts §4), so one
    /// without an end, or with an earlier end, runs to the day before the same date 6 months on.
    public var lastDay: CalendarDay? {
        guard kind == .temporary else { return to }
        let minimum = from.addingMonths(6).addingDays(-1)
        return max(to ?? minimum, minimum)
    }

    /// Whether it covers treatment in `region` on `day`. The day is the day of settlement: a filing
    /// made before discharge counts for the whole stay (wave1-facts §4).
    public func covers(region: String, on day: CalendarDay) -> Bool {
        RegionTable.province(of: treatmentRegion) == RegionTable.province(of: region) && from <= day && lastDay.map { day <= $0 } ?? true
    }

    public func validate() throws(DomainError) {
        let code = try RegionCode(treatmentRegion)
        guard code.rawValue == code.province else { throw DomainError(.invalidRegionCode, "treatmentRegion: a province code") }
        if let to, to < from { throw DomainError(.invalidTimeRange, "to: on or after from") }
    }
}

/// What a settlement was made under (API.md `filing`).
public enum SettlementFiling: String, Codable, Sendable, CaseIterable {
    case longTerm = "long_term", referral, temporary, emergency
    /// No filing needed: a filing-free zone of the insured place's policy, or the insured province itself.
    case filingFree = "filing_free"
    /// Unfiled and not an emergency: no direct settlement, the patient pays in full.
    case none
}

/// Which filing a settlement is made under.
public enum MedicalFilingCheck {
    /// The most favourable ground the patient has, in this order: treatment in the insured province
    /// or a long-term filing, a filing-free zone, referral, emergency, temporary, none.
    ///
    /// Treatment inside the insured province needs no cross-province filing (the rules in
    /// wave2-facts §1.2 are for 跨省 treatment; intra-province 异地 rules are outside the sources), so it is
    /// `filing_free` with no cut. An emergency counts as filed (wave1-facts §4) with the referral cut
    /// (医保发〔2022〕22号 groups 急诊抢救 with 转诊). A long-term filing beats the zone because it names the person.
    public static func resolve(filings: [MedicalFiling], insuredRegion: String, treatmentRegion: String, emergency: Bool,
                               on day: CalendarDay, filingFreeRegions: [String]) -> SettlementFiling {
        let valid = filings.filter { $0.covers(region: treatmentRegion, on: day) }.map(\.kind)
        if valid.contains(.longTerm) { return .longTerm }
        if RegionTable.province(of: insuredRegion) == RegionTable.province(of: treatmentRegion) { return .filingFree }
        if filingFreeRegions.contains(where: { covers($0, treatmentRegion) }) { return .filingFree }
        if valid.contains(.referral) { return .referral }
        if emergency { return .emergency }
        if valid.contains(.temporary) { return .temporary }
        return .none
    }

    /// Whether a listed code covers a region: a province code its province, a prefecture code (XXYY00) its counties.
    static func covers(_ listed: String, _ region: String) -> Bool {
        if listed == region { return true }
        if listed.hasSuffix("0000") { return region.prefix(2) == listed.prefix(2) }
        if listed.hasSuffix("00") { return region.prefix(4) == listed.prefix(4) }
        return false
    }
}

// CalendarDay.addingMonths / addingDays (the same rules) live in Service/ChinaStandardTime.swift, shared by Service.
