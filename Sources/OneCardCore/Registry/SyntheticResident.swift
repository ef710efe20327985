import Foundation

/// Synthetic residents for load tests (`onecard bench populate`): the `k`-th resident of a province is always the same
/// person, with a valid GB 11643 resident ID number over the shipped region table (a county of the province still in
/// use), a birth date between 1930 and 2012, and a card number; distinct `k` give distinct ID numbers and card numbers.
///
/// `k` is spread as county (fastest), then birth day, then the three-digit sequence, so consecutive residents differ in
/// county and birth date like a real register does.
public struct SyntheticResidents: Sendable {
    /// The counties residents are registered in, in code order.
    public let counties: [String]
    /// Birth days are `firstBirthDay + 0 ..< birthDays`, counted in days from 1970-01-01 (1930-01-01 onwards).
    static let firstBirthDay = -14_610
    static let birthDays = 30_000
    /// Card numbers of synthetic residents start with this letter (8 digits follow); random production numbers may too,
    /// which is why a bulk load checks for numbers already taken.
    static let cardLetters = Array("ZYXWVU")

    /// How many distinct residents a province can have (the sequence has three digits; card numbers run out first).
    public var capacity: Int { min(counties.count * Self.birthDays * 1000, Self.cardLetters.count * 100_000_000) }

    /// The residents of a province (`440000`), or of the whole table if the province has no county in use.
    public init(province: String, table: RegionTable = .shared) {
        var counties = table.currentCounties(of: province).map(\.code)
        if counties.isEmpty { counties = table.currentCounties(of: "").map(\.code).filter { !["81", "82", "83"].contains(String($0.prefix(2))) } }
        self.counties = counties
    }

    public struct Resident: Sendable, Equatable {
        public let idNumber: String
        public let name: String
        public let phone: String
        public let address: String
        public let cardNumber: CardNumber
    }

    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
    static let given = Array("秀梅建国晓燕志强丽华伟明玉兰海涛春生红霞文博子涵")

    /// The `k`-th resident (`0 ≤ k < capacity`).
    public func resident(_ k: Int) -> Resident {
        precondition(k >= 0 && k < capacity, "synthetic resident \(k) is outside 0..<\(capacity)")
        let county = counties[k % counties.count]
        let q = k / counties.count
        let (y, m, d) = CalendarDay.civil(days: Self.firstBirthDay + q % Self.birthDays)
        let sequence = q / Self.birthDays
        let first17 = county + Self.digits(y, 4) + Self.digits(m, 2) + Self.digits(d, 2) + Self.digits(sequence, 3)
        let idNumber = first17 + String(IdentityNumber.checkCharacter(for: Array(first17))!)
        let name = String(Self.surnames[k % Self.surnames.count]) + String(Self.given[(k / 7) % Self.given.count])
            + String(Self.given[(k / 131) % Self.given.count])
        let card = try! CardNumber(String(Self.cardLetters[k / 100_000_000]) + Self.digits(k % 100_000_000, 8))
        return Resident(idNumber: idNumber, name: name, phone: "139" + Self.digits(k % 100_000_000, 8),
                        address: "幸福里 \(k % 1000 + 1) 号", cardNumber: card)
    }

    /// The synthetic resident whose card number this is, if it has the synthetic form.
    public func index(of card: CardNumber) -> Int? {
        let c = Array(card.rawValue)
        guard let letter = Self.cardLetters.firstIndex(of: c[0]), let n = Int(String(c[1...])) else { return nil }
        let k = letter * 100_000_000 + n
        return k < capacity ? k : nil
    }

    /// The first letters card numbers of synthetic residents have, in the order residents take them.
    public static var cardNumberLetters: [String] { cardLetters.map(String.init) }

    static func digits(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
