import Foundation

/// The domains a catalogue item belongs to (API.md).
public enum Domain: String, Codable, Sendable, CaseIterable {
    case hr, socialInsurance = "social_insurance", medical, transit, culture, tourism, sports, finance, identity, benefits, other
}

public enum CardForm: String, Codable, Sendable, CaseIterable { case physical, electronic }

public enum CatalogueLevel: String, Codable, Sendable, CaseIterable { case national, provincial, municipal, alliance }

/// The kinds of acceptance venue (API.md `type`).
public enum VenueType: String, Codable, Sendable, CaseIterable {
    case hospital, pharmacy, transit, library, museum, park, scenic, sports, hotel, government, bank, other
}

/// One item of the application catalogue (应用目录): where and how the card is used.
public struct CatalogueItem: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var domain: Domain
    public var scenario: String
    public var cardForms: [CardForm]
    public var level: CatalogueLevel
    /// Where it is offered: 6-digit codes, a province code covering its whole province.
    public var regions: [String]
    /// Issuing regions whose cards are recognised there; `*` is every region.
    public var issuers: [String]
    public var venueTypes: [VenueType]
    public var legalBasis: String
    public var effectiveFrom: CalendarDay
    /// Entitlement codes the holder must hold, every one (API.md: e.g. `pass:park_annual`); absent: none. Denied
    /// `concession_not_held` otherwise.
    public var requires: [String]? = nil

    public init(code: String, name: String, domain: Domain, scenario: String, cardForms: [CardForm], level: CatalogueLevel,
                regions: [String], issuers: [String], venueTypes: [VenueType], legalBasis: String, effectiveFrom: CalendarDay) {
        self.code = code; self.name = name; self.domain = domain; self.scenario = scenario; self.cardForms = cardForms
        self.level = level; self.regions = regions; self.issuers = issuers; self.venueTypes = venueTypes
        self.legalBasis = legalBasis; self.effectiveFrom = effectiveFrom
    }

    public func validate(regions table: RegionTable = .shared) throws(DomainError) {
        guard (2...40).contains(code.count), code.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || "-_.".contains($0)) }) else {
            throw .invalidField("code", "2 to 40 upper-case letters, digits, '-', '_' or '.'")
        }
        try TextRule.check(name, "name", max: 100)
        try TextRule.check(scenario, "scenario", max: 500)
        guard !cardForms.isEmpty else { throw .invalidField("cardForms", "at least one of physical, electronic") }
        guard !self.regions.isEmpty, self.regions.allSatisfy(table.contains) else {
            throw DomainError(.invalidRegionCode, "regions: one or more GB/T 2260 codes")
        }
        guard !issuers.isEmpty, issuers.allSatisfy({ $0 == "*" || table.contains($0) }) else {
            throw DomainError(.invalidRegionCode, "issuers: GB/T 2260 codes or *")
        }
        guard !venueTypes.isEmpty else { throw .invalidField("venueTypes", "at least one venue type") }
        try TextRule.check(legalBasis, "legalBasis", max: 300)
        if let requires {
            guard requires.count <= 10, requires.allSatisfy(Entitlement.isRequirable) else {
                throw .invalidField("requires", "up to 10 entitlement codes (elderly, elderly_65, elderly_70, disability, disability_severe, "
                                    + "disability_visual, veteran) or pass:<product>")
            }
        }
    }

    /// Whether the item is offered at a venue in `region` (a listed province covers its cities and counties).
    public func isOffered(in region: String) -> Bool { regions.contains { RegionCoverage.covers($0, region) } }

    /// Whether cards issued by `issuerRegion` are recognised for this item.
    public func recognises(issuer issuerRegion: String) -> Bool {
        issuers.contains { $0 == "*" || RegionCoverage.covers($0, issuerRegion) }
    }
}

/// How GB/T 2260 codes nest: `110000` (province) ⊇ `110100` (city) ⊇ `110105` (county).
public enum RegionCoverage {
    public static func covers(_ outer: String, _ inner: String) -> Bool {
        guard outer.count == 6, inner.count == 6 else { return false }
        if outer == inner { return true }
        if outer.hasSuffix("0000") { return inner.hasPrefix(outer.prefix(2)) }
        if outer.hasSuffix("00") { return inner.hasPrefix(outer.prefix(4)) }
        return false
    }

    /// Whether two codes overlap (either covers the other).
    public static func overlaps(_ a: String, _ b: String) -> Bool { covers(a, b) || covers(b, a) }
}

/// A regional alliance that keeps a joint list (京津冀, 长三角, 川渝, 粤港澳大湾区).
public struct Alliance: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var nameEn: String
    public var regions: [String]

    public func contains(_ region: String) -> Bool { regions.contains { RegionCoverage.covers($0, region) } }
}

/// The difference between two published versions of the catalogue.
public struct CatalogueDiff: Sendable, Equatable {
    public var added: [CatalogueItem] = []
    public var changed: [(before: CatalogueItem, after: CatalogueItem)] = []
    public var withdrawn: [CatalogueItem] = []

    public init(from old: [CatalogueItem], to new: [CatalogueItem]) {
        let before = Dictionary(old.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        for item in new.sorted(by: { $0.code < $1.code }) {
            if let b = before[item.code] { if b != item { changed.append((b, item)) } } else { added.append(item) }
        }
        withdrawn = old.filter { after[$0.code] == nil }.sorted { $0.code < $1.code }
    }

    public static func == (a: CatalogueDiff, b: CatalogueDiff) -> Bool {
        a.added == b.added && a.withdrawn == b.withdrawn && a.changed.map(\.after) == b.changed.map(\.after)
    }
}

/// A department's own card, certificate or QR code, checked against the catalogue before it is issued
/// (BJ art. 17, CQ art. 7: no new card or code where the social security card already serves).
public struct CredentialRegistration: Codable, Sendable, Equatable {
    public var name: String
    public var domain: Domain
    public var regions: [String]
    public var nationalMandate: Bool

    public init(name: String, domain: Domain, regions: [String], nationalMandate: Bool) {
        self.name = name; self.domain = domain; self.regions = regions; self.nationalMandate = nationalMandate
    }

    /// Catalogue items whose function this credential would duplicate: same domain, overlapping regions.
    public func duplicates(in items: [CatalogueItem]) -> [CatalogueItem] {
        items.filter { item in
            item.domain == domain && item.regions.contains { r in regions.contains { RegionCoverage.overlaps(r, $0) } }
        }
    }
}
