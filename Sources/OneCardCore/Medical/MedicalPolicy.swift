import Foundation

/// A percentage kept exactly to a hundredth of a percent (89.5 % is 8950), written in JSON as a
/// plain number (`89.5`) so the policy and settlement bodies read as API.md shows them.
public struct Percent: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// Hundredths of a percent: 10000 is 100 %.
    public let hundredths: Int

    public init(hundredths: Int) { self.hundredths = hundredths }
    public init(_ whole: Int) { hundredths = whole * 100 }
    public init(integerLiteral value: Int) { self.init(value) }

    public static let zero = Percent(hundredths: 0)
    public static let hundred = Percent(100)

    public static func < (a: Percent, b: Percent) -> Bool { a.hundredths < b.hundredths }

    /// `amount × self`, rounded half up to the fen (API.md: each step of the split rounds half up).
    public func of(_ fen: Int64) -> Int64 { Fen.roundHalfUp(fen * Int64(hundredths), dividedBy: 10_000) }

    /// `self × m` (a multiplier such as Suzhou's 80 % of the normal ratio), rounded half up to a hundredth of a percent.
    public func scaled(by m: Percent) -> Percent {
        Percent(hundredths: Int(Fen.roundHalfUp(Int64(hundredths) * Int64(m.hundredths), dividedBy: 10_000)))
    }

    public var description: String {
        hundredths % 100 == 0 ? "\(hundredths / 100)%" : String(format: "%.2f%%", Double(hundredths) / 100)
    }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Double.self)
        guard value.isFinite, abs(value) < 1_000_000 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected a percentage"))
        }
        hundredths = Int((value * 100).rounded())
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if hundredths % 100 == 0 { try c.encode(hundredths / 100) } else { try c.encode(Double(hundredths) / 100) }
    }
}

/// Integer-fen arithmetic shared by the split.
public enum Fen {
    /// `n / d` rounded half away from zero (half up for the non-negative amounts of a split); `d > 0`.
    public static func roundHalfUp(_ n: Int64, dividedBy d: Int64) -> Int64 {
        n >= 0 ? (n + d / 2) / d : -((-n + d / 2) / d)
    }
}

/// Basic medical insurance scheme (职工 / 城乡居民).
public enum MedicalScheme: String, Codable, Sendable, CaseIterable { case employee, resident }

/// Inpatient or outpatient care; each has its own policy.
public enum MedicalCare: String, Codable, Sendable, CaseIterable { case inpatient, outpatient }

/// Hospital level as the policies grade it (一级 / 二级 / 三级; community clinics count as level 1).
public enum HospitalLevel: Int, Codable, Sendable, CaseIterable, Comparable {
    case one = 1, two = 2, three = 3
    public static func < (a: HospitalLevel, b: HospitalLevel) -> Bool { a.rawValue < b.rawValue }
}

/// One value per hospital level, written `{"1":..,"2":..,"3":..}` as in API.md `ratioPercentByLevel`.
public struct ByLevel<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var one: Value, two: Value, three: Value

    public init(_ one: Value, _ two: Value, _ three: Value) { self.one = one; self.two = two; self.three = three }
    public init(all value: Value) { self.init(value, value, value) }

    public subscript(level: HospitalLevel) -> Value {
        switch level { case .one: one; case .two: two; case .three: three }
    }

    public var values: [Value] { [one, two, three] }

    enum CodingKeys: String, CodingKey { case one = "1", two = "2", three = "3" }
}

/// A deductible (起付标准) for the first stay of the settlement year and for every later one.
public struct Deductible: Codable, Sendable, Equatable {
    public var firstFen: Int64
    public var laterFen: Int64
    public init(firstFen: Int64, laterFen: Int64) { self.firstFen = firstFen; self.laterFen = laterFen }
}

/// How the deductible is counted in the settlement year.
public enum DeductibleBasis: String, Codable, Sendable {
    /// Every stay pays its own deductible: the first stay of the year `first`, every later one `later` (inpatient; API.md).
    case stay
    /// One deductible per settlement year, used up across visits (ZJ 医疗保障条例 art. 58: 起付标准 is "per settlement year"; outpatient).
    case year
}

/// The cut of the ratio for patients who are not long-term residents of the treatment place
/// (医保发〔2022〕22号 [U]: referral and emergency at most 10 points lower, other temporary at most 20).
public enum TemporaryReduction: Codable, Sendable, Equatable {
    /// Percentage points down (Shangluo, Ankang [S2]). Emergency uses the referral points.
    case points(referral: Percent, other: Percent)
    /// A share of the normal ratio (Suzhou: 80 % of the normal ratio for other temporary patients).
    /// A referral or emergency without its own multiplier is paid at the normal ratio (API.md).
    case multiplier(other: Percent, referral: Percent?)

    /// The national maxima of the cut in points.
    public static let maxReferralPoints: Percent = 10
    public static let maxOtherPoints: Percent = 20

    enum CodingKeys: String, CodingKey { case mode, referralPoints, otherPoints, otherMultiplierPercent, referralMultiplierPercent }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .mode) {
        case "points":
            self = .points(referral: try c.decode(Percent.self, forKey: .referralPoints), other: try c.decode(Percent.self, forKey: .otherPoints))
        case "multiplier":
            self = .multiplier(other: try c.decode(Percent.self, forKey: .otherMultiplierPercent),
                               referral: try c.decodeIfPresent(Percent.self, forKey: .referralMultiplierPercent))
        default:
            throw DecodingError.dataCorruptedError(forKey: .mode, in: c, debugDescription: "mode is points or multiplier")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .points(referral, other):
            try c.encode("points", forKey: .mode); try c.encode(referral, forKey: .referralPoints); try c.encode(other, forKey: .otherPoints)
        case let .multiplier(other, referral):
            try c.encode("multiplier", forKey: .mode); try c.encode(other, forKey: .otherMultiplierPercent)
            try c.encodeIfPresent(referral, forKey: .referralMultiplierPercent)
        }
    }

    /// The ratio for a patient settled under `filing`, starting from the normal ratio `ratio`.
    ///
    /// The national ceiling bounds the cut in either mode: a multiplier that would cut more than
    /// 10 (referral, emergency) or 20 (other temporary) points is held at that ceiling. The sources
    /// give the ceiling without saying it is for points mode only (wave2-facts §1.2), so it binds both.
    public func ratio(_ ratio: Percent, for filing: SettlementFiling) -> Percent {
        let ceiling: Percent
        let reduced: Percent
        switch filing {
        case .longTerm, .filingFree: return ratio
        case .none: return .zero
        case .referral, .emergency:
            ceiling = Self.maxReferralPoints
            switch self {
            case let .points(referral, _): reduced = Percent(hundredths: ratio.hundredths - referral.hundredths)
            case let .multiplier(_, referral): reduced = referral.map { ratio.scaled(by: $0) } ?? ratio
            }
        case .temporary:
            ceiling = Self.maxOtherPoints
            switch self {
            case let .points(_, other): reduced = Percent(hundredths: ratio.hundredths - other.hundredths)
            case let .multiplier(other, _): reduced = ratio.scaled(by: other)
            }
        }
        let floor = Percent(hundredths: max(0, ratio.hundredths - ceiling.hundredths))
        return min(ratio, max(reduced, floor))
    }
}

/// The insured place's policy for one (region, scheme, care): deductible, ratio, cap and the cut
/// for temporary patients ("参保地政策"). API.md `PUT /api/v1/medical/policies/{regionCode}`; the
/// optional members beyond API.md carry what the published tables vary by (level, retirement).
public struct MedicalPolicy: Codable, Sendable, Equatable {
    /// The insured region it governs: a province, a prefecture (a pooling region) or a county code.
    public var regionCode: String
    public var scheme: MedicalScheme
    public var care: MedicalCare
    /// Set by the store on each PUT; presets are version 1.
    public var policyVersion: Int
    /// The day from which this version applies (a ratio change mid-year is a new version).
    public var effectiveFrom: CalendarDay?
    public var deductibleFirstFen: Int64
    public var deductibleLaterFen: Int64
    /// Per-level deductibles where the policy grades them (Tianjin, Chongqing, …); overrides the two above.
    public var deductibleByLevel: ByLevel<Deductible>?
    /// Deductibles for retirees where they differ (Shanghai 1,200; Hebei 100 less, floor 100).
    public var retiredDeductibleByLevel: ByLevel<Deductible>?
    /// `stay` when absent for inpatient care, `year` for outpatient.
    public var deductibleBasis: DeductibleBasis?
    public var ratioPercentByLevel: ByLevel<Percent>
    /// Points added for retirees (Beijing +5, Hebei +3).
    public var retireeUpliftPercent: Percent
    /// Retirees' ratios where they are published per level instead of as an uplift (Guangzhou 93 / 89.5 / 86).
    public var retiredRatioPercentByLevel: ByLevel<Percent>?
    /// Maximum the fund pays in a settlement year; nil: no cap.
    public var annualCapFen: Int64?
    public var temporary: TemporaryReduction
    /// Treatment regions reached without filing (长三角示范区, 京津冀 视同备案, 川渝 免备案); a province or prefecture code covers what lies under it.
    public var filingFreeRegions: [String]
    /// First month of the settlement year (1; Shanghai's insurance year starts in July).
    public var settlementYearStartMonth: Int?
    /// Where the figures come from; a preset says so ("[S2] preset").
    public var source: String?
    public var notes: [String]?

    public init(regionCode: String, scheme: MedicalScheme, care: MedicalCare, policyVersion: Int = 1, effectiveFrom: CalendarDay? = nil,
                deductibleFirstFen: Int64, deductibleLaterFen: Int64, deductibleByLevel: ByLevel<Deductible>? = nil,
                retiredDeductibleByLevel: ByLevel<Deductible>? = nil, deductibleBasis: DeductibleBasis? = nil,
                ratioPercentByLevel: ByLevel<Percent>, retireeUpliftPercent: Percent = .zero, retiredRatioPercentByLevel: ByLevel<Percent>? = nil,
                annualCapFen: Int64?, temporary: TemporaryReduction, filingFreeRegions: [String] = [], settlementYearStartMonth: Int? = nil,
                source: String? = nil, notes: [String]? = nil) {
        self.regionCode = regionCode; self.scheme = scheme; self.care = care; self.policyVersion = policyVersion
        self.effectiveFrom = effectiveFrom; self.deductibleFirstFen = deductibleFirstFen; self.deductibleLaterFen = deductibleLaterFen
        self.deductibleByLevel = deductibleByLevel; self.retiredDeductibleByLevel = retiredDeductibleByLevel
        self.deductibleBasis = deductibleBasis; self.ratioPercentByLevel = ratioPercentByLevel
        self.retireeUpliftPercent = retireeUpliftPercent; self.retiredRatioPercentByLevel = retiredRatioPercentByLevel
        self.annualCapFen = annualCapFen; self.temporary = temporary; self.filingFreeRegions = filingFreeRegions
        self.settlementYearStartMonth = settlementYearStartMonth; self.source = source; self.notes = notes
    }

    public var basis: DeductibleBasis { deductibleBasis ?? (care == .inpatient ? .stay : .year) }

    /// The deductible for a person at a level (retirees' own figures first, then the level's, then the flat pair).
    public func deductible(level: HospitalLevel, retired: Bool) -> Deductible {
        if retired, let r = retiredDeductibleByLevel { return r[level] }
        return deductibleByLevel?[level] ?? Deductible(firstFen: deductibleFirstFen, laterFen: deductibleLaterFen)
    }

    /// The normal ratio before any cut for temporary patients, never above 100 %.
    public func ratio(level: HospitalLevel, retired: Bool) -> Percent {
        let base = ratioPercentByLevel[level]
        guard retired else { return base }
        let r = retiredRatioPercentByLevel?[level] ?? Percent(hundredths: base.hundredths + retireeUpliftPercent.hundredths)
        return min(r, .hundred)
    }

    /// The settlement year a day falls in, named by the calendar year it starts in.
    public func settlementYear(of day: CalendarDay) -> Int {
        day.month >= (settlementYearStartMonth ?? 1) ? day.year : day.year - 1
    }

    /// Refuses what API.md answers 422 for: points beyond the national maxima, ratios outside 0–100 %, negative amounts.
    public func validate() throws(DomainError) {
        _ = try RegionCode(regionCode)
        let fens = [deductibleFirstFen, deductibleLaterFen]
            + (deductibleByLevel?.values ?? []).flatMap { [$0.firstFen, $0.laterFen] }
            + (retiredDeductibleByLevel?.values ?? []).flatMap { [$0.firstFen, $0.laterFen] }
        guard fens.allSatisfy({ (0...Self.maximumFen).contains($0) }) else { throw .invalidField("deductible", "0 to \(Self.maximumFen) fen") }
        let ratios = ratioPercentByLevel.values + (retiredRatioPercentByLevel?.values ?? [])
        guard ratios.allSatisfy({ (Percent.zero...Percent.hundred).contains($0) }) else { throw .invalidField("ratioPercentByLevel", "0 to 100") }
        guard (Percent.zero...Percent.hundred).contains(retireeUpliftPercent) else { throw .invalidField("retireeUpliftPercent", "0 to 100") }
        if let cap = annualCapFen, !(0...Self.maximumFen).contains(cap) { throw .invalidField("annualCapFen", "0 to \(Self.maximumFen) fen, or null for none") }
        switch temporary {
        case let .points(referral, other):
            guard (Percent.zero...TemporaryReduction.maxReferralPoints).contains(referral) else {
                throw DomainError(.reductionBeyondMaximum, "temporary.referralPoints: 0 to 10 (医保发〔2022〕22号: referral and emergency at most 10 points lower)")
            }
            guard (Percent.zero...TemporaryReduction.maxOtherPoints).contains(other) else {
                throw DomainError(.reductionBeyondMaximum, "temporary.otherPoints: 0 to 20 (医保发〔2022〕22号: other temporary patients at most 20 points lower)")
            }
        case let .multiplier(other, referral):
            for m in [other] + (referral.map { [$0] } ?? []) where !(Percent.zero...Percent.hundred).contains(m) {
                throw .invalidField("temporary", "a multiplier is 0 to 100 percent of the normal ratio")
            }
        }
        for code in filingFreeRegions { _ = try RegionCode(code) }
        if let m = settlementYearStartMonth, !(1...12).contains(m) { throw .invalidField("settlementYearStartMonth", "1 to 12") }
    }

    /// Largest amount a policy or a bill line may carry: 100 million yuan.
    public static let maximumFen: Int64 = 10_000_000_000
}

/// An insured person as the medical security bureau records them (`department`; API.md `PUT /medical/insureds/{personId}`).
public struct MedicalInsured: Codable, Sendable, Equatable {
    public var personId: Person.ID
    public var scheme: MedicalScheme
    /// The pooling region whose policy applies (参保地).
    public var insuredRegion: String
    public var retired: Bool
    /// The employee personal account (个人账户); nil for residents, who have none.
    public var accountBalanceFen: Int64?

    public init(personId: Person.ID, scheme: MedicalScheme, insuredRegion: String, retired: Bool, accountBalanceFen: Int64?) {
        self.personId = personId; self.scheme = scheme; self.insuredRegion = insuredRegion; self.retired = retired
        self.accountBalanceFen = accountBalanceFen
    }

    public func validate() throws(DomainError) {
        _ = try RegionCode(insuredRegion)
        switch scheme {
        case .employee:
            guard let b = accountBalanceFen, b >= 0 else {
                throw DomainError(.accountNotForScheme, "accountBalanceFen: an employee has a personal account, 0 or more fen")
            }
        case .resident:
            guard accountBalanceFen == nil else { throw DomainError(.accountNotForScheme, "accountBalanceFen: residents have no personal account") }
        }
    }
}

/// A policy with its versions: the one in force on a day is used (a ratio change mid-year).
public enum MedicalPolicyVersions {
    /// The newest version effective on `day` (a version without `effectiveFrom` is effective from the start).
    public static func inForce(_ versions: [MedicalPolicy], on day: CalendarDay) -> MedicalPolicy? {
        let start = CalendarDay(year: 1, month: 1, day: 1)!
        return versions.filter { ($0.effectiveFrom ?? start) <= day }.max { a, b in
            let da = a.effectiveFrom ?? start, db = b.effectiveFrom ?? start
            return da != db ? da < db : a.policyVersion < b.policyVersion
        }
    }
}
