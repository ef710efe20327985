import Foundation

/// A concession on transit fares, as data in the policy pack of the region where the ride happens (issue 13:
/// "Concessions follow the region where the ride happens"; 交通一卡通运营服务质量管理办法: a card used elsewhere
/// "应享受当地有关优惠政策"). National rules (`Transit/national-concessions.json`) apply everywhere besides.
public struct TransitConcession: Codable, Sendable, Equatable {
    /// A stable code shown on the trip (e.g. `bj_elderly_65_bus`).
    public var code: String
    /// Holding any of these entitlement codes qualifies (API.md "Entitlements": `elderly`, `elderly_65`, `elderly_70`,
    /// `disability`, `disability_severe`, `disability_visual`, `veteran`).
    public var entitlements: [String]
    public var modes: [TransitMode]
    /// 100 is a free ride, 50 half fare.
    public var percentOff: Int
    /// Only rides in these regions (a city's code, e.g. `440300` Shenzhen, covers its districts); nil: the whole pack's region.
    public var regions: [String]?
    /// Only holders of cards issued in these regions (local residents; a same-city zone lists all its members); nil: everyone.
    public var cardIssuers: [String]?
    public var validFrom: CalendarDay?
    /// The last day it applies.
    public var validTo: CalendarDay?
    /// Hours when the concession gives less (by the trip's start, China Standard Time).
    public var peak: PeakRule?
    /// A monthly number of free rides.
    public var monthlyQuota: QuotaRule?
    /// The law or source, shown on the trip.
    public var basis: String
    public var source: String?
    /// A configurable preset from a weak source (wave2-facts [U]), not sourced law.
    public var preset: Bool

    public struct PeakRule: Codable, Sendable, Equatable {
        public var windows: [TimeWindow]
        /// Only on working days (Monday to Friday unless the caller's calendar says otherwise).
        public var workdaysOnly: Bool
        /// The concession in a peak window: 0 pays in full, 10 pays 90 % (Chengdu). It uses no quota.
        public var percentOff: Int
    }

    /// `from` inclusive to `to` exclusive, as `HH:mm`.
    public struct TimeWindow: Codable, Sendable, Equatable {
        public var from: String
        public var to: String
        func contains(minuteOfDay m: Int) -> Bool {
            guard let a = TimeWindow.minutes(from), let b = TimeWindow.minutes(to) else { return false }
            return a <= m && m < b
        }
        static func minutes(_ text: String) -> Int? {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0..<60).contains(m) else { return nil }
            return h * 60 + m
        }
    }

    public struct QuotaRule: Codable, Sendable, Equatable {
        /// Rules sharing a pool share its rides (Chengdu's bus and metro rides for the elderly).
        public var pool: String
        public var unitsPerMonth: Int
        /// Units a ride uses; the first entry matching the mode and service class, else 1.
        public var unitsPerRide: [RideUnits]
    }

    public struct RideUnits: Codable, Sendable, Equatable {
        public var mode: TransitMode
        public var serviceClass: String?
        public var units: Int
    }

    public func validate() throws(DomainError) {
        guard !code.isEmpty, !entitlements.isEmpty, !modes.isEmpty else { throw .invalidField("transitConcessions", "code, entitlements and modes") }
        guard (1...100).contains(percentOff) else { throw .invalidField("transitConcessions.\(code).percentOff", "1 to 100") }
        guard !basis.isEmpty else { throw .invalidField("transitConcessions.\(code).basis", "required") }
        if let p = peak {
            guard (0...100).contains(p.percentOff), !p.windows.isEmpty,
                  p.windows.allSatisfy({ TimeWindow.minutes($0.from) != nil && TimeWindow.minutes($0.to) != nil }) else {
                throw .invalidField("transitConcessions.\(code).peak", "windows HH:mm and a percentage 0 to 100")
            }
        }
        if let q = monthlyQuota, !(q.unitsPerMonth > 0 && q.unitsPerRide.allSatisfy { $0.units > 0 }) {
            throw .invalidField("transitConcessions.\(code).monthlyQuota", "positive units")
        }
        if let a = validFrom, let b = validTo, b < a { throw .invalidField("transitConcessions.\(code).validTo", "not before validFrom") }
    }
}

/// The rider and the ride, as far as a concession depends on them.
public struct ConcessionFacts: Sendable, Equatable {
    public var entitlements: [String]
    /// The card's issuing region.
    public var cardIssuer: String
    /// The operator's region, where the ride happens.
    public var rideRegion: String
    public var mode: TransitMode
    public var serviceClass: String?
    public var startedAt: Date
    /// Whether the service day is a working day; nil: Monday to Friday (public holidays and swapped working weekends
    /// are a calendar the caller knows, not this rule).
    public var workday: Bool?
    /// Units already used this calendar month, per quota pool.
    public var quotaUsed: [String: Int]

    public init(entitlements: [String], cardIssuer: String, rideRegion: String, mode: TransitMode, serviceClass: String? = nil,
                startedAt: Date, workday: Bool? = nil, quotaUsed: [String: Int] = [:]) {
        self.entitlements = entitlements; self.cardIssuer = cardIssuer; self.rideRegion = rideRegion; self.mode = mode
        self.serviceClass = serviceClass; self.startedAt = startedAt; self.workday = workday; self.quotaUsed = quotaUsed
    }
}

/// Deciding which concession a ride gets.
public enum TransitConcessions {
    /// The concession for a ride: of the rules that apply, the one taking most off the fare (then the one using fewer
    /// free rides, then the first listed). Concessions do not stack: a trip shows one concession with its basis
    /// (API.md), and no source adds one to another. A rule whose monthly quota is used up does not apply (the rider
    /// pays like anyone else; WE-T5 only says the quota resets monthly without carry-over).
    public static func grant(rules: [TransitConcession], for f: ConcessionFacts) -> ConcessionGrant? {
        var best: ConcessionGrant?
        for rule in rules {
            guard let g = grant(rule, for: f) else { continue }
            if let b = best, (b.percentOff, -b.quotaUnits) >= (g.percentOff, -g.quotaUnits) { continue }
            best = g
        }
        return best
    }

    static func grant(_ rule: TransitConcession, for f: ConcessionFacts) -> ConcessionGrant? {
        guard rule.modes.contains(f.mode), let entitlement = rule.entitlements.first(where: { f.entitlements.contains($0) }) else { return nil }
        let day = CalendarDay(f.startedAt)
        if let from = rule.validFrom, day < from { return nil }
        if let to = rule.validTo, to < day { return nil }
        if let regions = rule.regions, !regions.contains(where: { within(f.rideRegion, $0) }) { return nil }
        if let issuers = rule.cardIssuers, !issuers.contains(where: { within(f.cardIssuer, $0) }) { return nil }
        if let peak = rule.peak, inPeak(peak, at: f.startedAt, workday: f.workday) {
            guard peak.percentOff > 0 else { return nil }
            return ConcessionGrant(code: rule.code, entitlement: entitlement, percentOff: peak.percentOff, basis: rule.basis + "（高峰时段）",
                                   preset: rule.preset)
        }
        var pool: String?, units = 0
        if let q = rule.monthlyQuota {
            units = q.unitsPerRide.first { $0.mode == f.mode && $0.serviceClass == f.serviceClass }?.units
                ?? q.unitsPerRide.first { $0.mode == f.mode && $0.serviceClass == nil }?.units ?? 1
            guard (f.quotaUsed[q.pool] ?? 0) + units <= q.unitsPerMonth else { return nil }
            pool = q.pool
        }
        return ConcessionGrant(code: rule.code, entitlement: entitlement, percentOff: rule.percentOff, basis: rule.basis,
                               quotaPool: pool, quotaUnits: units, preset: rule.preset)
    }

    /// Whether `region` lies in `area`: equal, or inside the city or province `area` names (trailing `00` pairs dropped).
    static func within(_ region: String, _ area: String) -> Bool {
        var prefix = Substring(area)
        while prefix.count > 2, prefix.hasSuffix("00") { prefix = prefix.dropLast(2) }
        return region.hasPrefix(prefix)
    }

    /// Whether an instant falls in a peak window, in China Standard Time (UTC+8, no daylight saving).
    static func inPeak(_ peak: TransitConcession.PeakRule, at date: Date, workday: Bool?) -> Bool {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + 8 * 3600
        let days = Int((Double(seconds) / 86400).rounded(.down))
        let minute = (seconds - days * 86400) / 60
        // 1970-01-01 was a Thursday: weekday 0 = Monday.
        let weekday = ((days % 7) + 7 + 3) % 7
        if peak.workdaysOnly, !(workday ?? (weekday < 5)) { return false }
        return peak.windows.contains { $0.contains(minuteOfDay: minute) }
    }

    /// The rules for a ride in `region`: the region's pack, then the national ones.
    public static func rules(forRideIn region: String, book: PolicyBook = .shipped, national: [TransitConcession] = TransitPresets.nationalConcessions) -> [TransitConcession] {
        (book.policy(for: region).transitConcessions ?? []) + national
    }

    /// The key of the month a quota counts in (`YYYY-MM`, China Standard Time): a new month starts from zero.
    public static func quotaMonth(of date: Date) -> String {
        let d = CalendarDay(date)
        return String(format: "%04d-%02d", d.year, d.month)
    }
}
