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
    /// Holder of a disability certificate (loaded by the department that issues it).
    public static let disabled = "disabled"
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

    /// The entitlements to put on a token issued on `today` (Beijing time) to a holder born on `birthDate`
    /// with the certificates `loaded` by departments: derived codes first (in the tiers' order), then loaded ones,
    /// no duplicates. The age counts the birthday itself (full years on the calendar date, CalendarDay.years(until:));
    /// someone born on 29 February turns a year older on 1 March in common years.
    public static func codes(birthDate: CalendarDay, today: CalendarDay, loaded: [String] = [], tiers: [AgeTier] = defaultAgeTiers) -> [String] {
        var result: [String] = []
        let age = birthDate.years(until: today)
        for tier in tiers where age >= tier.minAge && !result.contains(tier.code) { result.append(tier.code) }
        for code in loaded where !result.contains(code) { result.append(code) }
        return result
    }
}
