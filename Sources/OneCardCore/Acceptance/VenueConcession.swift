import Foundation

/// A concession at acceptance venues, as data in the policy pack of the region where the venue is (like transit
/// concessions: 老年人权益保障法 art. 58 gives outside residents the same treatment as locals; 残疾人保障法 art. 50 and the
/// provincial rules set what each entitlement gets): an entitlement × venue type → free, a percentage off, or a companion
/// admitted free with the holder (重庆市残疾人保障条例 art. 28).
public struct VenueConcession: Codable, Sendable, Equatable {
    /// A stable code shown on the use (e.g. `cq_disability_museum_free`).
    public var code: String
    /// Holding any of these entitlement codes qualifies.
    public var entitlements: [String]
    public var venueTypes: [VenueType]
    /// Off the holder's own price: 100 is free, 50 half price, 0 only with a companion admitted free.
    public var percentOff: Int
    /// Companions admitted free with the holder (Chongqing: one, for visual, intellectual or grade 1–2 disability).
    public var companions: Int?
    /// The law or source, shown on the use.
    public var basis: String
    public var source: String?
    /// A configurable preset from a weak source (wave2-facts [U]/[S2]), not sourced law.
    public var preset: Bool

    public init(code: String, entitlements: [String], venueTypes: [VenueType], percentOff: Int, companions: Int? = nil, basis: String,
                source: String? = nil, preset: Bool) {
        self.code = code; self.entitlements = entitlements; self.venueTypes = venueTypes; self.percentOff = percentOff
        self.companions = companions; self.basis = basis; self.source = source; self.preset = preset
    }

    public func validate() throws(DomainError) {
        guard !code.isEmpty, !entitlements.isEmpty, !venueTypes.isEmpty else { throw .invalidField("venueConcessions", "code, entitlements and venueTypes") }
        guard entitlements.allSatisfy(Entitlement.isRequirable) else { throw .invalidField("venueConcessions.\(code).entitlements", "known entitlement codes") }
        guard (0...100).contains(percentOff), percentOff > 0 || (companions ?? 0) > 0 else {
            throw .invalidField("venueConcessions.\(code).percentOff", "0 to 100, and more than 0 unless a companion is admitted free")
        }
        guard (0...5).contains(companions ?? 0) else { throw .invalidField("venueConcessions.\(code).companions", "0 to 5") }
        guard !basis.isEmpty else { throw .invalidField("venueConcessions.\(code).basis", "required") }
    }
}

/// The concession a use got: shown to the venue (what to charge, companions to admit) and to the holder with its basis.
public struct AppliedVenueConcession: Codable, Sendable, Equatable {
    public var code: String
    public var basis: String
    /// Taken off the holder's price (`amountFen − amountFen = chargedFen`).
    public var amountFen: Int64
    /// Companions admitted free with the holder.
    public var companions: Int
    public init(code: String, basis: String, amountFen: Int64, companions: Int) {
        self.code = code; self.basis = basis; self.amountFen = amountFen; self.companions = companions
    }
}

/// Deciding which concession a use at a venue gets: one rule for the node and the offline gate.
public enum VenueConcessions {
    /// The best concession for a holder with `entitlements` at a venue of `type` asked to pay `amountFen`: the one taking
    /// most off (then the higher percentage, then more companions, then the first listed). Concessions do not stack:
    /// a use shows one concession with its basis (as a trip does). Fen taken off round down (the holder never pays more
    /// than the rule's share of the price, and the amounts always add up).
    public static func best(rules: [VenueConcession], entitlements: [String], venueType: VenueType, amountFen: Int64) -> AppliedVenueConcession? {
        var best: (off: Int64, percent: Int, companions: Int, rule: VenueConcession)?
        for rule in rules where rule.venueTypes.contains(venueType) && rule.entitlements.contains(where: entitlements.contains) {
            let off = max(0, amountFen) * Int64(rule.percentOff) / 100
            let candidate = (off: off, percent: rule.percentOff, companions: rule.companions ?? 0, rule: rule)
            if let b = best, (b.off, b.percent, b.companions) >= (candidate.off, candidate.percent, candidate.companions) { continue }
            best = candidate
        }
        return best.map { AppliedVenueConcession(code: $0.rule.code, basis: $0.rule.basis, amountFen: $0.off, companions: $0.companions) }
    }
}
