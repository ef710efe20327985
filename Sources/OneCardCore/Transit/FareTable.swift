import Foundation

/// How a transit operator carries riders (API.md "Transit": `mode`).
public enum TransitMode: String, Codable, Sendable, CaseIterable {
    case bus, metro, ferry, rail
}

/// How an amount that a percentage leaves with a fraction of a fen is rounded to whole fen.
///
/// No stored source says how Beijing or Shanghai round (their fares are whole yuan, and every worked example in
/// wave2-facts §2.2 divides exactly). The presets use `halfUp` (四舍五入, the ordinary retail rule) as a **preset**;
/// an operator's table may say otherwise. What is rounded is the amount the rider pays after the percentage, never
/// the discount, so `full − discounts − concession = charged` holds to the fen.
public enum FenRounding: String, Codable, Sendable, CaseIterable {
    /// Fractions of a fen are dropped: the rider never pays a part of a fen more.
    case down
    /// Half a fen or more counts as a whole fen (四舍五入).
    case halfUp = "half_up"
    /// Any fraction counts as a whole fen.
    case up

    /// `amountFen × percent / 100`, rounded to the fen this way.
    public func percent(_ percent: Int, of amountFen: Int) -> Int {
        let scaled = amountFen * percent
        let (q, r) = scaled.quotientAndRemainder(dividingBy: 100)
        switch self {
        case .down: return q
        case .halfUp: return r * 2 >= 100 ? q + 1 : q
        case .up: return r > 0 ? q + 1 : q
        }
    }
}

/// How a fare is worked out from the distance ridden (API.md "Transit": `model`).
public enum FareModel: Sendable, Equatable {
    /// One fare whatever the distance (e.g. a ¥2 city bus).
    case flat(fareFen: Int)
    /// Fares by distance band, each band inclusive of its upper bound; beyond the last band, `beyondStepFen` for every
    /// started `beyondStepKm` (Beijing metro: ≤ 6 km ¥3, ≤ 12 ¥4, ≤ 22 ¥5, ≤ 32 ¥6, then +¥1 per started 20 km).
    /// Without a step, the last band's fare is the ceiling.
    case distanceBands(bands: [FareBand], beyondStepKm: Double?, beyondStepFen: Int?)
    /// `baseFen` up to `baseKm`, then `stepFen` for every started `stepKm` (Beijing bus: ¥2 to 10 km, +¥1 per started 5 km).
    case basePlusStep(baseKm: Double, baseFen: Int, stepKm: Double, stepFen: Int)

    public var name: String {
        switch self {
        case .flat: "flat"
        case .distanceBands: "distance_bands"
        case .basePlusStep: "base_plus_step"
        }
    }

    /// Whether the fare depends on where the rider got off.
    public var dependsOnDistance: Bool { if case .flat = self { false } else { true } }

    /// The fare for a ride of `metres`; a started step counts whole (`⌈excess / step⌉`).
    public func fareFen(metres: Int) -> Int {
        switch self {
        case .flat(let fare):
            return fare
        case .distanceBands(let bands, let stepKm, let stepFen):
            if let band = bands.first(where: { metres <= $0.upToMetres }) { return band.fareFen }
            let last = bands[bands.count - 1]
            guard let stepKm, let stepFen else { return last.fareFen }
            return last.fareFen + FareModel.startedSteps(metres - last.upToMetres, step: Distance.metres(km: stepKm)) * stepFen
        case .basePlusStep(let baseKm, let baseFen, let stepKm, let stepFen):
            let base = Distance.metres(km: baseKm)
            guard metres > base else { return baseFen }
            return baseFen + FareModel.startedSteps(metres - base, step: Distance.metres(km: stepKm)) * stepFen
        }
    }

    /// ⌈excess / step⌉ in whole metres: 40 km over a 20 km step is 2 steps, 40.001 km is 3.
    static func startedSteps(_ excess: Int, step: Int) -> Int { excess <= 0 ? 0 : (excess + step - 1) / step }
}

/// One distance band: up to and including `upToKm`, `fareFen`.
public struct FareBand: Codable, Sendable, Equatable {
    public var upToKm: Double
    public var fareFen: Int
    public init(upToKm: Double, fareFen: Int) { self.upToKm = upToKm; self.fareFen = fareFen }
    var upToMetres: Int { Distance.metres(km: upToKm) }
}

/// Distances are kept in whole metres so that band boundaries compare exactly (12.0 km is 12 000 m, not 11.999…).
public enum Distance {
    public static func metres(km: Double) -> Int { Int((km * 1000).rounded()) }
    public static func km(metres: Int) -> Double { Double(metres) / 1000 }
}

/// A distance between two stations given directly, for networks where kilometre posts on one line do not apply
/// (the shortest path through a metro network). It counts both ways.
public struct StationDistance: Codable, Sendable, Equatable {
    public var from: String
    public var to: String
    public var km: Double
    public init(from: String, to: String, km: Double) { self.from = from; self.to = to; self.km = km }
}

/// What is charged when a rider stays inside the paid area longer than `maxMinutesInside`.
public struct OverstayRule: Codable, Sendable, Equatable {
    public enum Charge: String, Codable, Sendable {
        /// The highest fare from the entry station replaces the ridden fare (issue 13, API.md).
        case highestFareFromEntry = "highest_fare_from_entry"
        /// The ridden fare plus `surchargeFen` (Beijing metro per allchinavisits.com, a secondary source: + ¥3).
        case surcharge
    }
    public var charge: Charge
    public var surchargeFen: Int?
    public init(charge: Charge, surchargeFen: Int? = nil) { self.charge = charge; self.surchargeFen = surchargeFen }
}

/// A fixed amount off a trip that starts soon enough after a trip on one of `fromModes` (Shanghai: bus → metro ¥1 off).
public struct TransferRule: Codable, Sendable, Equatable {
    /// The new trip must start strictly less than this many minutes after the previous trip's last tap
    /// (shmetro.com: "under 2 hours").
    public var withinMinutes: Int
    public var discountFen: Int
    public var fromModes: [TransitMode]
    public init(withinMinutes: Int, discountFen: Int, fromModes: [TransitMode]) {
        self.withinMinutes = withinMinutes; self.discountFen = discountFen; self.fromModes = fromModes
    }
}

/// From `fromFen` paid with this operator in the calendar month, later trips get `discountPercent` off
/// (0 ends an earlier tier: Beijing metro back to full fare from ¥400).
public struct MonthlyTier: Codable, Sendable, Equatable {
    public var fromFen: Int
    public var discountPercent: Int
    public init(fromFen: Int, discountPercent: Int) { self.fromFen = fromFen; self.discountPercent = discountPercent }
}

/// An operator's fares as data, one version of them with the day it takes effect (API.md "Transit": `fareTable`).
public struct FareTable: Codable, Sendable, Equatable {
    /// Increases with each version an operator publishes (`PUT …/fare-table`).
    public var version: Int
    /// The service day (China Standard Time) from which trips starting on it are priced by this version.
    public var effectiveFrom: CalendarDay
    public var model: FareModel
    /// Kilometre posts along a line (or the stops of a bus route): distance = |km(exit) − km(entry)|.
    public var stations: [String: Double]?
    /// Station-to-station distances as a table; a pair listed here wins over kilometre posts.
    public var distances: [StationDistance]?
    /// Percentage off for paying with the card (Beijing bus: 50).
    public var cardDiscountPercent: Int?
    /// The longest stay inside the paid area (Beijing metro: 240 minutes).
    public var maxMinutesInside: Int?
    /// What staying longer costs; when absent, the highest fare from the entry station (issue 13).
    public var overstay: OverstayRule?
    public var transfer: TransferRule?
    /// Ascending by `fromFen`.
    public var monthlyTiers: [MonthlyTier]?
    /// When absent, `halfUp` (a preset: see `FenRounding`).
    public var rounding: FenRounding?
    /// Where the figures come from, for people reading the table.
    public var source: String?
    /// The figures are a configurable preset (wave2-facts [U]/[S2] or no source), not a sourced tariff.
    public var preset: Bool?

    public init(version: Int = 1, effectiveFrom: CalendarDay, model: FareModel, stations: [String: Double]? = nil,
                distances: [StationDistance]? = nil, cardDiscountPercent: Int? = nil, maxMinutesInside: Int? = nil,
                overstay: OverstayRule? = nil, transfer: TransferRule? = nil, monthlyTiers: [MonthlyTier]? = nil,
                rounding: FenRounding? = nil, source: String? = nil, preset: Bool? = nil) {
        self.version = version; self.effectiveFrom = effectiveFrom; self.model = model; self.stations = stations
        self.distances = distances; self.cardDiscountPercent = cardDiscountPercent; self.maxMinutesInside = maxMinutesInside
        self.overstay = overstay; self.transfer = transfer; self.monthlyTiers = monthlyTiers; self.rounding = rounding
        self.source = source; self.preset = preset
    }

    enum CodingKeys: String, CodingKey {
        case version, effectiveFrom, model, stations, distances, cardDiscountPercent, maxMinutesInside, overstay, transfer
        case monthlyTiers, rounding, source, preset
        case fareFen, bands, beyondStepKm, beyondStepFen, baseKm, baseFen, stepKm, stepFen
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        effectiveFrom = try c.decode(CalendarDay.self, forKey: .effectiveFrom)
        switch try c.decode(String.self, forKey: .model) {
        case "flat":
            model = .flat(fareFen: try c.decode(Int.self, forKey: .fareFen))
        case "distance_bands":
            model = .distanceBands(bands: try c.decode([FareBand].self, forKey: .bands),
                                   beyondStepKm: try c.decodeIfPresent(Double.self, forKey: .beyondStepKm),
                                   beyondStepFen: try c.decodeIfPresent(Int.self, forKey: .beyondStepFen))
        case "base_plus_step":
            model = .basePlusStep(baseKm: try c.decode(Double.self, forKey: .baseKm), baseFen: try c.decode(Int.self, forKey: .baseFen),
                                  stepKm: try c.decode(Double.self, forKey: .stepKm), stepFen: try c.decode(Int.self, forKey: .stepFen))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .model, in: c, debugDescription: "unknown fare model \(other)")
        }
        stations = try c.decodeIfPresent([String: Double].self, forKey: .stations)
        distances = try c.decodeIfPresent([StationDistance].self, forKey: .distances)
        cardDiscountPercent = try c.decodeIfPresent(Int.self, forKey: .cardDiscountPercent)
        maxMinutesInside = try c.decodeIfPresent(Int.self, forKey: .maxMinutesInside)
        overstay = try c.decodeIfPresent(OverstayRule.self, forKey: .overstay)
        transfer = try c.decodeIfPresent(TransferRule.self, forKey: .transfer)
        monthlyTiers = try c.decodeIfPresent([MonthlyTier].self, forKey: .monthlyTiers)
        rounding = try c.decodeIfPresent(FenRounding.self, forKey: .rounding)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        preset = try c.decodeIfPresent(Bool.self, forKey: .preset)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(effectiveFrom, forKey: .effectiveFrom)
        try c.encode(model.name, forKey: .model)
        switch model {
        case .flat(let fare):
            try c.encode(fare, forKey: .fareFen)
        case .distanceBands(let bands, let stepKm, let stepFen):
            try c.encode(bands, forKey: .bands)
            try c.encodeIfPresent(stepKm, forKey: .beyondStepKm)
            try c.encodeIfPresent(stepFen, forKey: .beyondStepFen)
        case .basePlusStep(let baseKm, let baseFen, let stepKm, let stepFen):
            try c.encode(baseKm, forKey: .baseKm); try c.encode(baseFen, forKey: .baseFen)
            try c.encode(stepKm, forKey: .stepKm); try c.encode(stepFen, forKey: .stepFen)
        }
        try c.encodeIfPresent(stations, forKey: .stations)
        try c.encodeIfPresent(distances, forKey: .distances)
        try c.encodeIfPresent(cardDiscountPercent, forKey: .cardDiscountPercent)
        try c.encodeIfPresent(maxMinutesInside, forKey: .maxMinutesInside)
        try c.encodeIfPresent(overstay, forKey: .overstay)
        try c.encodeIfPresent(transfer, forKey: .transfer)
        try c.encodeIfPresent(monthlyTiers, forKey: .monthlyTiers)
        try c.encodeIfPresent(rounding, forKey: .rounding)
        try c.encodeIfPresent(source, forKey: .source)
        try c.encodeIfPresent(preset, forKey: .preset)
    }

    /// Refuses a table that could not price every trip consistently.
    public func validate() throws(DomainError) {
        guard version >= 1 else { throw .invalidField("fareTable.version", "1 or more") }
        switch model {
        case .flat(let fare):
            guard fare >= 0 else { throw .invalidField("fareTable.fareFen", "0 or more") }
        case .distanceBands(let bands, let stepKm, let stepFen):
            guard !bands.isEmpty else { throw .invalidField("fareTable.bands", "at least one") }
            for (a, b) in zip(bands, bands.dropFirst()) where !(a.upToMetres < b.upToMetres && a.fareFen <= b.fareFen) {
                throw .invalidField("fareTable.bands", "ascending distances with fares that do not fall")
            }
            guard bands.allSatisfy({ $0.upToMetres > 0 && $0.fareFen >= 0 }) else { throw .invalidField("fareTable.bands", "positive distances, fares 0 or more") }
            guard (stepKm == nil) == (stepFen == nil) else { throw .invalidField("fareTable.beyondStepKm", "given together with beyondStepFen") }
            if let stepKm, let stepFen, !(Distance.metres(km: stepKm) > 0 && stepFen >= 0) {
                throw .invalidField("fareTable.beyondStepKm", "a positive step and a fare of 0 or more")
            }
        case .basePlusStep(let baseKm, let baseFen, let stepKm, let stepFen):
            guard baseKm >= 0, baseFen >= 0, Distance.metres(km: stepKm) > 0, stepFen >= 0 else {
                throw .invalidField("fareTable.baseKm", "base 0 or more, a positive step, fares 0 or more")
            }
        }
        if let stations, !stations.values.allSatisfy({ $0 >= 0 && $0.isFinite }) { throw .invalidField("fareTable.stations", "kilometres 0 or more") }
        if let distances, !distances.allSatisfy({ $0.km >= 0 && $0.km.isFinite && $0.from != $0.to }) {
            throw .invalidField("fareTable.distances", "two different stations, kilometres 0 or more")
        }
        if let p = cardDiscountPercent, !(0...100).contains(p) { throw .invalidField("fareTable.cardDiscountPercent", "0 to 100") }
        if let m = maxMinutesInside, m <= 0 { throw .invalidField("fareTable.maxMinutesInside", "positive") }
        if let o = overstay, o.charge == .surcharge, !(o.surchargeFen.map { $0 >= 0 } ?? false) {
            throw .invalidField("fareTable.overstay.surchargeFen", "0 or more with a surcharge")
        }
        if let t = transfer, !(t.withinMinutes > 0 && t.discountFen >= 0 && !t.fromModes.isEmpty) {
            throw .invalidField("fareTable.transfer", "a positive window, a discount of 0 or more, at least one mode")
        }
        if let tiers = monthlyTiers {
            guard tiers.allSatisfy({ $0.fromFen >= 0 && (0...100).contains($0.discountPercent) }),
                  zip(tiers, tiers.dropFirst()).allSatisfy({ $0.fromFen < $1.fromFen })
            else { throw .invalidField("fareTable.monthlyTiers", "ascending thresholds, percentages 0 to 100") }
        }
    }
}

/// An operator's fare tables over time; a trip is priced by the version in force on the day it starts.
public struct FareSchedule: Codable, Sendable, Equatable {
    public var versions: [FareTable]
    public init(versions: [FareTable]) { self.versions = versions }

    /// The version with the latest `effectiveFrom` on or before the trip's service day (China Standard Time);
    /// among versions effective the same day, the highest `version`. Nil before the first one.
    public func table(at start: Date) -> FareTable? {
        let day = CalendarDay(start)
        return versions.filter { $0.effectiveFrom <= day }.max { ($0.effectiveFrom, $0.version) < ($1.effectiveFrom, $1.version) }
    }
}
