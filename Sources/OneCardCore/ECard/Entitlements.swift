import Foundation

/// Entitlement codes carried in a QR token's `ent` claim and applied by venues.
public enum Entitlement {
    /// Senior citizen (老年人). Law on the Protection of the Rights and Interests of the Elderly, art. 2:
    /// 老年人是指六十周岁以上的公民 — 60 full years and over, nationally; a region may grant more but not less.
    public static let elderly = "elderly"
    /// 65 and over: the age from which most regions carry the elderly free on buses (wave2-facts §2.3, §5.2: Beijing,
    /// Tianjin, Chongqing's local residents, Chengdu).
    public static let elderly65 = "elderly_65"
    /// 70 and over (高龄, 北京市老年人权益保障条例 art. 37; Chongqing's non-local residents, Chengdu's metro).
    public static let elderly70 = "elderly_70"
    /// Holder of a disability certificate of any grade (loaded by the disabled persons' federation).
    public static let disability = "disability"
    /// A disability certificate of grade 1 or 2 (Chongqing's free rides and companion: 重庆市残疾人保障条例 arts. 28, 35).
    public static let disabilitySevere = "disability_severe"
    /// A visual disability (category 1): blind people ride free (残疾人保障法 art. 50), the one category a venue learns.
    public static let disabilityVisual = "disability_visual"
    /// Veteran or other person entitled to preferential treatment (loaded by the veterans department).
    public static let veteran = "veteran"

    /// The age from which `elderly` applies.
    public static let elderlyAge = 60

    /// A code that follows from age alone, from `minAge` full years (API.md "Entitlements and records": `elderly`,
    /// `elderly_65`, `elderly_70`, "from age by default, per the region's tiers").
    public struct AgeTier: Sendable, Equatable {
        public var code: String
        public var minAge: Int
        public init(code: String, minAge: Int) { self.code = code; self.minAge = minAge }
    }

    /// The tiers every region has unless its pack says otherwise: the ages 60, 65 and 70 all occur in the sources
    /// (wave2-facts §5.2: "Model entitlements as (minAge, …)").
    public static let defaultAgeTiers = [AgeTier(code: elderly, minAge: 60), AgeTier(code: elderly65, minAge: 65), AgeTier(code: elderly70, minAge: 70)]

    /// Every code a certificate or age can grant; with `pass:<product>` (park passes and other products, API.md), the
    /// codes a catalogue item may require.
    public static let known = [elderly, elderly65, elderly70, disability, disabilitySevere, disabilityVisual, veteran]

    /// Whether a catalogue item may name `code` in `requires`: a known code or a product's pass (`pass:park_annual`).
    public static func isRequirable(_ code: String) -> Bool {
        if known.contains(code) { return true }
        guard code.hasPrefix("pass:") else { return false }
        let product = code.dropFirst(5)
        return (1...40).contains(product.count) && product.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
    }

    /// The pattern of a requirable code, as the API document states it (the same rule as `isRequirable`).
    public static let requirablePattern = "^(elderly|elderly_65|elderly_70|disability|disability_severe|disability_visual|veteran|pass:[a-z0-9_]{1,40})$"

    /// THE entitlements of a person at `instant`, wherever they are derived (a QR token's `ent`, a physical card at a venue,
    /// a transit tap judged as of its time, another province's question about our card, a department's read): age tiers
    /// first (in the tiers' order) from the birth date on the instant's day in Beijing time, then the codes of the
    /// certificates in force at that instant, then `extra` codes (passes: `pass:<product>`, wired in by their owner),
    /// no duplicates. The age counts the birthday itself (full years on the calendar date, CalendarDay.years(until:));
    /// someone born on 29 February turns a year older on 1 March in common years.
    public static func codes(birthDate: CalendarDay?, at instant: Date, certificates: [Certificate] = [], extra: [String] = [],
                             tiers: [AgeTier] = defaultAgeTiers) -> [String] {
        var result: [String] = []
        if let birthDate {
            let age = birthDate.years(until: CalendarDay(instant))
            for tier in tiers where age >= tier.minAge && !result.contains(tier.code) { result.append(tier.code) }
        }
        for c in certificates where c.inForce(at: instant) {
            for code in c.entitlements where !result.contains(code) { result.append(code) }
        }
        for code in extra where !result.contains(code) { result.append(code) }
        return result
    }
}
