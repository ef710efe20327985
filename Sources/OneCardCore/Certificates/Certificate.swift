import Foundation

/// A preferential certificate a department loads on a person's card (GD art. 7 last para.: the 老年人优待证, 残疾人证 and
/// 退役军人优待证 may be integrated into the card). Only the entitlement codes it grants ever reach a venue; the number is
/// personal data, sealed at rest.
public struct Certificate: Sendable, Equatable {
    public typealias ID = String

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case elderly, disability, veteran

        /// The department scope that issues this kind (API.md "Entitlements and records"): 403 for any other.
        public var issuingScope: DepartmentScope {
            switch self {
            case .elderly: .civilAffairs
            case .disability: .disabledPersonsFederation
            case .veteran: .veteransAffairs
            }
        }
    }

    public var id: ID
    public var personId: Person.ID
    public var type: Kind
    public var number: String?
    /// GB/T 26341-2010 category 1–7 (1 visual, 2 hearing, 3 speech, 4 physical, 5 intellectual, 6 mental, 7 multiple); disability only.
    public var category: Int?
    /// Grade 1 (most severe) to 4; disability only.
    public var grade: Int?
    public var validFrom: CalendarDay
    /// The last day it is valid; nil: no end date.
    public var validTo: CalendarDay?
    public var loadedBy: String
    public var loadedAt: Date
    public var revokedAt: Date?
    public var revokedBy: String?

    public init(id: ID, personId: Person.ID, type: Kind, number: String?, category: Int?, grade: Int?, validFrom: CalendarDay,
                validTo: CalendarDay?, loadedBy: String, loadedAt: Date, revokedAt: Date? = nil, revokedBy: String? = nil) {
        self.id = id; self.personId = personId; self.type = type; self.number = number; self.category = category; self.grade = grade
        self.validFrom = validFrom; self.validTo = validTo; self.loadedBy = loadedBy; self.loadedAt = loadedAt
        self.revokedAt = revokedAt; self.revokedBy = revokedBy
    }

    /// Whether it grants anything at `instant`: not revoked by then, and `instant`'s day (Beijing time) within its validity.
    /// A revocation acts from its instant (a use or tap judged as of an earlier time still had it).
    public func inForce(at instant: Date) -> Bool {
        if let r = revokedAt, r <= instant { return false }
        let day = CalendarDay(instant)
        if day < validFrom { return false }
        if let to = validTo, to < day { return false }
        return true
    }

    /// The codes it grants (API.md): `elderly`; `disability`, with `disability_severe` for grades 1–2 and `disability_visual`
    /// for category 1 — the only detail of a disability a concession needs (blind riders ride free: 残疾人保障法 art. 50);
    /// `veteran`.
    public var entitlements: [String] {
        switch type {
        case .elderly: return [Entitlement.elderly]
        case .veteran: return [Entitlement.veteran]
        case .disability:
            var codes = [Entitlement.disability]
            if let g = grade, g <= 2 { codes.append(Entitlement.disabilitySevere) }
            if category == 1 { codes.append(Entitlement.disabilityVisual) }
            return codes
        }
    }

    /// Checks what a department sends against the rules of its kind and the person's ID number, before anything is stored.
    ///
    /// A disability certificate (残疾人证, 2nd and 3rd generation) has category 1–7 and grade 1–4 (GB/T 26341-2010); its number
    /// is the holder's 18-character ID number, the category digit and the grade digit, optionally `B1`–`B9`
    /// (wave2-facts §5.1), and must agree with the ID number, category and grade sent.
    public static func check(type: Kind, number: String?, category: Int?, grade: Int?, validFrom: CalendarDay, validTo: CalendarDay?,
                             idNumber: String) throws(DomainError) {
        if let to = validTo, to < validFrom { throw DomainError(.certificateValidityInvalid, "validTo is before validFrom") }
        switch type {
        case .disability:
            guard let category, let grade else {
                throw DomainError(.certificateDetailsInvalid, "a disability certificate needs its category (1 to 7) and grade (1 to 4)")
            }
            guard (1...7).contains(category), (1...4).contains(grade) else {
                throw DomainError(.certificateDetailsInvalid, "category 1 to 7, grade 1 to 4")
            }
            if let number, !disabilityNumber(number, agreesWith: idNumber, category: category, grade: grade) {
                throw DomainError(.certificateNumberMismatch,
                                  "a disability certificate number is the holder's ID number, then the category digit and the grade digit (optionally B1-B9)")
            }
        case .elderly, .veteran:
            guard category == nil, grade == nil else {
                throw DomainError(.certificateDetailsInvalid, "category and grade belong to a disability certificate only")
            }
        }
    }

    /// `^<ID18><category><grade>(?:[bB][1-9])?$` with the person's ID number (the ID's `x` in either case).
    static func disabilityNumber(_ number: String, agreesWith idNumber: String, category: Int, grade: Int) -> Bool {
        let n = Array(number.uppercased()), id = Array(idNumber.uppercased())
        guard id.count == 18, n.count == 20 || n.count == 22, Array(n[0..<18]) == id,
              n[18] == Character(String(category)), n[19] == Character(String(grade)) else { return false }
        if n.count == 22 { return n[20] == "B" && ("1"..."9").contains(n[21]) }
        return true
    }
}
