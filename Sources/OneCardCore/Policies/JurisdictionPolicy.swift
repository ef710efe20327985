import Foundation

/// A jurisdiction's rules as data (`Policies/*.json`). Behaviour differs by these values, never by
/// comparing region codes in code.
public struct JurisdictionPolicy: Codable, Sendable, Equatable {
    public var regionCode: String
    public var name: String
    public var nameEn: String
    public var alliances: [String]
    /// Published time limit for producing a card after an application, in days (BJ art. 7, CQ art. 15).
    public var applicationTimeLimitDays: Int
    /// Days after which a temporary loss report lapses back to active (regions use 5 to 15).
    public var temporaryLossLapseDays: Int
    /// Years a newly issued card is valid.
    public var cardValidityYears: Int
    /// Where the rules come from, for people reading the pack.
    public var legalBasis: [String]
    /// Identity documents whose holders may apply here (e.g. HK/Macau/Taiwan residents in Guangdong, GD art. 10).
    public var eligibleIdTypes: [IDType]
    public var eligibilityNote: String
    /// Entitlements derived from a holder's data (age) or loaded certificates.
    public var entitlements: [EntitlementRule]
    /// The fine range for card offences, where the jurisdiction's regulation sets one (GD art. 19: 1,000–10,000 yuan).
    public var fineRangeYuan: FineRange?
    /// Consultation and complaint hotlines (ZJ: 12345, 12333).
    public var hotlines: [Hotline]
    /// Real catalogue items from the regulations, published as version 1 by `--demo`.
    public var seedCatalogue: [CatalogueItem]
    /// Believable acceptance venues for `--demo`.
    public var demoVenues: [DemoVenue]
    /// Transit fare concessions for rides in this region (issue 13: they follow the region where the ride happens);
    /// absent from packs that have none.
    public var transitConcessions: [TransitConcession]?
    /// Working days to answer a consultation, suggestion or complaint, where the region publishes its own;
    /// nil uses `ComplaintDeadlines.preset` (see `complaintDeadlines`).
    public var complaintDeadlineWorkingDays: ComplaintDeadlines? = nil
    /// Risk-monitoring thresholds (issue 17); absent members, or an absent section, take `RiskThresholds.preset`.
    public var risk: RiskThresholds? = nil
    public var riskThresholds: RiskThresholds { risk ?? .preset }
    /// Deadlines of the holder's correction and deletion requests and retention per record type (issue 17, PIPL);
    /// absent: `PrivacyPolicy.preset`.
    public var privacy: PrivacyPolicy? = nil
    /// Concessions at acceptance venues (parks, museums, …) for entitlement codes, applied where the venue is (issue 15);
    /// absent: none beyond what an item's price already is.
    public var venueConcessions: [VenueConcession]? = nil
    /// Products sold on the card here (北京市民生卡 art. 2: 公园年票), each a pass `pass:<code>` for a calendar year;
    /// absent from packs that sell none.
    public var products: [Product]? = nil
    /// How many relatives a holder may add for family service (pending and active links); nil: `FamilyRules.defaultLimit`.
    public var relativesLimit: Int? = nil
    public var maxRelatives: Int { relativesLimit ?? FamilyRules.defaultLimit }
    /// Caps per kind of relative within that limit, where the region sets them; nil: only the total counts.
    public var relativeCaps: RelativeCaps? = nil
    /// The yearly pension qualification check (interval, reminders, back-pay limit); nil: `PensionQualificationPolicy.preset`.
    public var pensionQualification: PensionQualificationPolicy? = nil
    public var pensionCheck: PensionQualificationPolicy { pensionQualification ?? .preset }

    public struct EntitlementRule: Codable, Sendable, Equatable {
        public var code: String; public var minAge: Int?; public var basis: String
        public init(code: String, minAge: Int?, basis: String) { self.code = code; self.minAge = minAge; self.basis = basis }
    }
    public struct FineRange: Codable, Sendable, Equatable {
        public var min: Int; public var max: Int; public var basis: String
        /// The case types (`CaseType` raw values) the range applies to; nil or empty: none is fineable.
        public var caseTypes: [String]? = nil
        /// Whether a fine needs the case to be serious (GD art. 19 "情节严重"); nil means it does.
        public var seriousOnly: Bool? = nil
        /// The amount from which a fine gives the right to a hearing (行政处罚法 art. 63 "较大数额罚款"), set by the
        /// province; nil where it was not found (Guangdong's: wave2-facts "Not found"), and then no hearing is enforced.
        public var hearingThresholdYuan: Int? = nil
    }
    public struct Hotline: Codable, Sendable, Equatable { public var number: String; public var name: String }
    public struct DemoVenue: Codable, Sendable, Equatable {
        public var name: String, operatorUscc: String, type: VenueType, regionCode: String, address: String
        public var accessibility: [String], unifiedLogo: Bool, itemCodes: [String]
    }

    public func validate() throws(DomainError) {
        _ = try RegionCode(regionCode)
        guard (1...90).contains(applicationTimeLimitDays) else { throw .invalidField("applicationTimeLimitDays", "1 to 90") }
        guard (5...15).contains(temporaryLossLapseDays) else { throw .invalidField("temporaryLossLapseDays", "5 to 15") }
        guard (1...30).contains(cardValidityYears) else { throw .invalidField("cardValidityYears", "1 to 30") }
        guard !eligibleIdTypes.isEmpty else { throw .invalidField("eligibleIdTypes", "at least one") }
        guard !hotlines.isEmpty else { throw .invalidField("hotlines", "at least one") }
        if let f = fineRangeYuan, !(0 < f.min && f.min <= f.max) { throw .invalidField("fineRangeYuan", "0 < min <= max") }
        for t in fineRangeYuan?.caseTypes ?? [] where CaseType(rawValue: t) == nil {
            throw .invalidField("fineRangeYuan.caseTypes", "\(t) is not a case type")
        }
        if let h = fineRangeYuan?.hearingThresholdYuan, h <= 0 { throw .invalidField("fineRangeYuan.hearingThresholdYuan", "positive") }
        try complaintDeadlineWorkingDays?.validate()
        try privacy?.validate()
        if let n = relativesLimit, !(1...20).contains(n) { throw .invalidField("relativesLimit", "1 to 20") }
        try pensionQualification?.validate()
        try relativeCaps?.validate()
        for item in seedCatalogue { try item.validate() }
        for c in transitConcessions ?? [] { try c.validate() }
        for c in venueConcessions ?? [] { try c.validate() }
        guard Set((venueConcessions ?? []).map(\.code)).count == (venueConcessions ?? []).count else {
            throw .invalidField("venueConcessions", "codes must be unique")
        }
        guard Set((transitConcessions ?? []).map(\.code)).count == (transitConcessions ?? []).count else {
            throw .invalidField("transitConcessions", "codes must be unique")
        }
        guard Set(seedCatalogue.map(\.code)).count == seedCatalogue.count else { throw .invalidField("seedCatalogue", "codes must be unique") }
        for p in products ?? [] {
            guard Biller.validCode(p.code), (1...1_000_000).contains(p.priceFen), !p.itemCodes.isEmpty, !p.basis.isEmpty else {
                throw .invalidField("products", "\(p.code): a code of 2 to 40 letters, digits, '-' or '_', a price of 1 to 1,000,000 fen, items and a basis")
            }
        }
        guard Set((products ?? []).map(\.code)).count == (products ?? []).count else { throw .invalidField("products", "codes must be unique") }
        let codes = Set(seedCatalogue.map(\.code))
        for v in demoVenues {
            _ = try UnifiedSocialCreditCode(v.operatorUscc)
            _ = try RegionCode(v.regionCode)
            for code in v.itemCodes {
                guard codes.contains(code), let item = seedCatalogue.first(where: { $0.code == code }), item.venueTypes.contains(v.type) else {
                    throw .invalidField("demoVenues", "\(v.name): \(code) is not a seed item for a \(v.type.rawValue)")
                }
            }
        }
    }

    /// The age from which the `elderly` entitlement applies here.
    public var elderlyAge: Int { entitlements.first { $0.code == "elderly" }?.minAge ?? 60 }

    /// The age tiers here: the pack's rules with a `minAge`, and the national defaults for codes it does not name.
    public var ageTiers: [Entitlement.AgeTier] {
        let own = entitlements.compactMap { r in r.minAge.map { Entitlement.AgeTier(code: r.code, minAge: $0) } }
        return (own + Entitlement.defaultAgeTiers.filter { d in !own.contains { $0.code == d.code } }).sorted { ($0.minAge, $0.code) < ($1.minAge, $1.code) }
    }
}

/// Every jurisdiction pack shipped with OneCard.
public struct PolicyBook: Sendable {
    public let policies: [String: JurisdictionPolicy]

    public init(policies: [JurisdictionPolicy]) {
        self.policies = Dictionary(policies.map { ($0.regionCode, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The packs in `Resources/Policies` (the repository's `Policies/` folder).
    public static let shipped: PolicyBook = {
        let dir = Bundle.module.resourceURL!.appendingPathComponent("Policies")
        let urls = ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "json" }
        let decoder = JSONDecoder()
        let packs = urls.compactMap { try? decoder.decode(JurisdictionPolicy.self, from: Data(contentsOf: $0)) }
        return PolicyBook(policies: packs)
    }()

    /// The pack for a province; a region without a pack of its own uses the national defaults.
    public func policy(for region: String) -> JurisdictionPolicy {
        policies[RegionTable.province(of: region)] ?? JurisdictionPolicy(
            regionCode: RegionTable.province(of: region), name: RegionTable.shared.entry(RegionTable.province(of: region))?.name ?? region,
            nameEn: region, alliances: [], applicationTimeLimitDays: 20, temporaryLossLapseDays: 5,
            cardValidityYears: 10, legalBasis: ["national defaults"], eligibleIdTypes: [.resident, .foreignPermanent],
            eligibilityNote: "", entitlements: [.init(code: "elderly", minAge: 60, basis: "《中华人民共和国老年人权益保障法》第二条")],
            fineRangeYuan: nil, hotlines: [.init(number: "12333", name: "人力资源社会保障服务热线")], seedCatalogue: [], demoVenues: [])
    }

    /// The regional alliances that keep joint lists (`Resources/alliances.json`).
    public static let alliances: [Alliance] = {
        guard let url = Bundle.module.url(forResource: "alliances", withExtension: "json"),
              let data = try? Data(contentsOf: url), let list = try? JSONDecoder().decode([Alliance].self, from: data)
        else { return [] }
        return list
    }()
}
