import Foundation

/// An e-licence linked to a person's card (GD art. 9: e-licences such as the driving licence are linked to the card, so
/// departments stop asking for paper copies). The issuing department confirms it; a government venue learns whether it
/// is valid for what it asks, its class and its end date, and nothing more.
public struct Licence: Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case driving }

    public var id: String
    public var personId: Person.ID
    public var type: Kind
    /// The licence number (a driving licence's is its holder's ID number): sealed at rest, shown masked.
    public var number: String
    /// The permitted vehicle classes as printed (准驾车型), e.g. `C1` or `A2D`.
    public var licenceClass: String
    public var validTo: CalendarDay
    public var issuer: String
    public var linkedBy: String
    public var linkedAt: Date

    public init(id: String, personId: Person.ID, type: Kind, number: String, licenceClass: String, validTo: CalendarDay, issuer: String,
                linkedBy: String, linkedAt: Date) {
        self.id = id; self.personId = personId; self.type = type; self.number = number; self.licenceClass = licenceClass
        self.validTo = validTo; self.issuer = issuer; self.linkedBy = linkedBy; self.linkedAt = linkedAt
    }
}

/// Driving licence classes (准驾车型, 机动车驾驶证申领和使用规定, 公安部令第162号, 附件 1): each class and the classes it
/// also permits. A licence holding several classes (`A2D`) permits the union.
public enum DrivingClass {
    static let implied: [String: Set<String>] = [
        "A1": ["A3", "B1", "B2", "C1", "C2", "C3", "C4", "M"],
        "A2": ["B1", "B2", "C1", "C2", "C3", "C4", "M"],
        "A3": ["C1", "C2", "C3", "C4"],
        "B1": ["C1", "C2", "C3", "C4", "M"],
        "B2": ["C1", "C2", "C3", "C4", "M"],
        "C1": ["C2", "C3", "C4"],
        "C2": [], "C3": ["C4"], "C4": [], "C5": [], "C6": [],
        "D": ["E", "F"], "E": ["F"], "F": [], "M": [], "N": [], "P": [],
    ]

    /// The classes printed on a licence, e.g. `A2D` → [A2, D]; nil when the text is not a list of known classes.
    public static func parse(_ text: String) -> [String]? {
        var out: [String] = [], rest = Substring(text.uppercased())
        while !rest.isEmpty {
            if rest.count >= 2, implied[String(rest.prefix(2))] != nil { out.append(String(rest.prefix(2))); rest = rest.dropFirst(2) }
            else if implied[String(rest.prefix(1))] != nil { out.append(String(rest.prefix(1))); rest = rest.dropFirst(1) }
            else { return nil }
        }
        return out.isEmpty ? nil : out
    }

    /// Whether a licence printed `held` permits driving `wanted`.
    public static func permits(_ held: String, _ wanted: String) -> Bool {
        guard let classes = parse(held) else { return false }
        let w = wanted.uppercased()
        return classes.contains { $0 == w || implied[$0]?.contains(w) == true }
    }
}
