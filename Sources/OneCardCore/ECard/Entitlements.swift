import Foundation

/// Entitlement codes carried in a QR token's `ent` claim and applied by venues.
public enum Entitlement {
    /// Senior citizen (老年人). Law on the Protection of the Rights and Interests of the Elderly, art. 2:
    /// 老年人是指六十周岁以上的公民 — 60 full years and over, nationally; a region may grant more but not less.
    public static let elderly = "elderly"
    /// Holder of a disability certificate (loaded by the department that issues it).
    public static let disabled = "disabled"
    /// Veteran or other person entitled to preferential treatment (loaded by the veterans department).
    public static let veteran = "veteran"

    /// The age from which `elderly` applies.
    public static let elderlyAge = 60

    /// The entitlements to put on a token issued on `today` (Beijing time) to a holder born on `birthDate`
    /// with the certificates `loaded` by departments: derived codes first, then loaded ones, no duplicates.
    /// The age counts the birthday itself (full years on the calendar date, CalendarDay.years(until:));
    /// someone born on 29 February turns a year older on 1 March in common years.
    public static func codes(birthDate: CalendarDay, today: CalendarDay, loaded: [String] = []) -> [String] {
        var result: [String] = []
        if birthDate.years(until: today) >= elderlyAge { result.append(elderly) }
        for code in loaded where !result.contains(code) { result.append(code) }
        return result
    }
}
