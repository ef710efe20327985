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

    public func validate() throws(DomainError) {
        _ = try RegionCode(regionCode)
        guard (1...90).contains(applicationTimeLimitDays) else { throw .invalidField("applicationTimeLimitDays", "1 to 90") }
        guard (5...15).contains(temporaryLossLapseDays) else { throw .invalidField("temporaryLossLapseDays", "5 to 15") }
        guard (1...30).contains(cardValidityYears) else { throw .invalidField("cardValidityYears", "1 to 30") }
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
            cardValidityYears: 10, legalBasis: ["national defaults"])
    }
}
