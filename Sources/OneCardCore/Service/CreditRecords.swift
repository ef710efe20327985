import Foundation

/// The class a public-credit record is given (NDRC 信用修复管理办法, in force 2026-04-01; wave2-facts 3.3).
public enum CreditClass: String, Codable, Sendable, CaseIterable {
    /// 轻微: in principle not published; at most 3 months if published; repair once obligations are met.
    case minor
    /// 一般: 3 months to 1 year.
    case general
    /// 严重: 1 to 3 years.
    case serious
}

/// Publicity periods by class, as data (`Resources/Service/credit-publicity.json`), by the date each scheme took effect.
public struct CreditPublicitySchemes: Codable, Sendable, Equatable {
    public var note: String?
    public var schemes: [Scheme]

    public struct Scheme: Codable, Sendable, Equatable {
        public var name: String
        public var effectiveFrom: String
        public var basis: String
        public var classes: [String: Period]
    }

    /// How long a class stays published: repair may be asked for after `minimumMonths`; publication stops by
    /// itself after `maximumMonths`.
    public struct Period: Codable, Sendable, Equatable {
        public var minimumMonths: Int
        public var maximumMonths: Int
        public var publishedByDefault: Bool
    }

    public init(note: String? = nil, schemes: [Scheme]) { self.note = note; self.schemes = schemes }

    public func validate() throws(DomainError) {
        for s in schemes {
            guard CalendarDay(s.effectiveFrom) != nil else { throw .invalidField("effectiveFrom", "\(s.effectiveFrom) is not a day") }
            for c in CreditClass.allCases {
                guard let p = s.classes[c.rawValue] else { throw .invalidField("classes", "\(s.name) has no \(c.rawValue) class") }
                guard 0 <= p.minimumMonths, p.minimumMonths <= p.maximumMonths, p.maximumMonths > 0 else {
                    throw .invalidField("classes.\(c.rawValue)", "0 <= minimumMonths <= maximumMonths")
                }
            }
        }
    }

    /// The schemes shipped with OneCard.
    public static func shipped() throws -> CreditPublicitySchemes {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Service/credit-publicity.json") else {
            throw ConfigurationError("credit-publicity.json is missing from the OneCardCore resources")
        }
        let schemes: CreditPublicitySchemes
        do { schemes = try JSONDecoder().decode(CreditPublicitySchemes.self, from: Data(contentsOf: url)) } catch {
            throw ConfigurationError("credit-publicity.json: \(error)")
        }
        do { try schemes.validate() } catch { throw ConfigurationError("credit-publicity.json: \(error)") }
        return schemes
    }

    /// The scheme in force on a day; a day before the earliest is `credit_scheme_not_covered`.
    public func scheme(on day: CalendarDay) throws(DomainError) -> Scheme {
        let inForce = schemes.filter { CalendarDay($0.effectiveFrom)! <= day }.max { CalendarDay($0.effectiveFrom)! < CalendarDay($1.effectiveFrom)! }
        guard let inForce else {
            throw DomainError(.creditSchemeNotCovered, "no credit publicity scheme in force on \(day) in credit-publicity.json")
        }
        return inForce
    }

    /// A record's dates under the scheme in force on the day of the decision.
    public func period(for recordClass: CreditClass, decidedOn day: CalendarDay) throws(DomainError) -> CreditRecordPeriod {
        let s = try scheme(on: day)
        let p = s.classes[recordClass.rawValue]!
        return CreditRecordPeriod(recordClass: recordClass, publishedFrom: day, repairEligibleFrom: day.addingMonths(p.minimumMonths),
                                  publishedUntil: day.addingMonths(p.maximumMonths), publishedByDefault: p.publishedByDefault,
                                  scheme: s.name)
    }
}

/// When a record is published, when its repair may be asked for, and when publication stops by itself.
/// Days are CST calendar days; publication stops at 00:00 CST of `publishedUntil` (API.md `publishedUntil`).
public struct CreditRecordPeriod: Sendable, Equatable {
    public var recordClass: CreditClass
    public var publishedFrom: CalendarDay
    /// The first day a repair request may be made (after the minimum publicity period).
    public var repairEligibleFrom: CalendarDay
    /// Publication stops automatically on this day (the maximum period).
    public var publishedUntil: CalendarDay
    /// A minor record is in principle not published at all.
    public var publishedByDefault: Bool
    public var scheme: String

    /// Whether the record is published on a day, given a repair granted on `repairedOn` (if any).
    public func isPublished(on day: CalendarDay, repairedOn: CalendarDay? = nil) -> Bool {
        publishedByDefault && publishedFrom <= day && day < endOfPublication(repairedOn: repairedOn)
    }

    /// The day publication (and sharing) ends: the repair day when repaired earlier, else `publishedUntil`.
    public func endOfPublication(repairedOn: CalendarDay?) -> CalendarDay {
        guard let repairedOn else { return publishedUntil }
        return min(repairedOn, publishedUntil)
    }

    /// Refuses a repair granted before the minimum period ended (`repair_not_yet_eligible`); the other conditions
    /// (corrected, obligations met, a credit commitment) are the deciding authority's (谁认定谁修复).
    public func checkRepair(on day: CalendarDay) throws(DomainError) {
        guard day >= repairEligibleFrom else {
            throw DomainError(.repairNotYetEligible, "repair may be asked for from \(repairEligibleFrom)",
                              extensions: ["repairEligibleFrom": repairEligibleFrom.description])
        }
    }
}
