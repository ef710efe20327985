import Foundation

/// The kinds of identity document a person is registered with (API `idType`).
public enum IDType: String, Codable, Sendable, CaseIterable {
    case resident
    case hkMacauResident = "hk_macau_resident"
    case taiwanResident = "taiwan_resident"
    case foreignPermanent = "foreign_permanent"
}

public enum Sex: String, Codable, Sendable { case male, female }

/// A validated identity number with the facts derived from it. Birth date, sex and household region
/// are read from the number, never typed in.
public struct IdentityNumber: Hashable, Sendable {
    public let type: IDType
    public let value: String
    public let birthDate: CalendarDay
    public let sex: Sex
    /// The household (or, for permits and foreigners' IDs, the issuing) region code.
    public let regionCode: String

    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters = Array("10X98765432")

    /// ISO 7064 MOD 11-2 check character over the first 17 digits (GB 11643-1999).
    public static func checkCharacter(for first17: some Collection<Character>) -> Character? {
        guard first17.count == 17 else { return nil }
        var sum = 0
        for (c, w) in zip(first17, weights) {
            guard let d = c.wholeNumberValue, c.isASCIIDigit else { return nil }
            sum += d * w
        }
        return checkCharacters[sum % 11]
    }

    /// Validates `raw` as a number of `type`, as of the calendar day `today`.
    public init(_ raw: String, type: IDType, today: CalendarDay, regions: RegionTable = .shared) throws(DomainError) {
        let v = raw.uppercased()
        // Checked on UTF-8 bytes (a valid number is ASCII): Characters made a batch upload's syntax check slow.
        let chars = Array(v.utf8)
        let digit = { (b: UInt8) in b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        guard chars.count == 18 else {
            guard v.count == 18 else { throw .invalidIDNumber("an identity number has 18 characters") }
            throw .invalidIDNumber("17 digits followed by a digit or X")
        }
        guard chars[0..<17].allSatisfy(digit), digit(chars[17]) || chars[17] == UInt8(ascii: "X") else {
            throw .invalidIDNumber("17 digits followed by a digit or X")
        }
        var sum = 0
        for (c, w) in zip(chars[0..<17], Self.weights) { sum += Int(c - UInt8(ascii: "0")) * w }
        guard Self.checkCharacters[sum % 11] == Character(Unicode.Scalar(chars[17])) else {
            throw .invalidIDNumber("the check character does not match (GB 11643 MOD 11-2)")
        }
        let text = { (r: Range<Int>) in String(decoding: chars[r], as: UTF8.self) }
        let prefix = text(0..<6)
        let region: String
        let birthDigits: String
        switch type {
        case .resident:
            // Hong Kong, Macau and Taiwan permits use 81/82/83 prefixes and have their own idType.
            guard !["81", "82", "83"].contains(String(prefix.prefix(2))), regions.contains(prefix) else {
                throw .invalidIDNumber("\(prefix) is not a GB/T 2260 address code")
            }
            region = prefix
            birthDigits = text(6..<14)
        case .hkMacauResident:
            guard prefix == "810000" || prefix == "820000" else {
                throw .invalidIDNumber("a Hong Kong or Macau residence permit starts with 810000 or 820000")
            }
            region = prefix
            birthDigits = text(6..<14)
        case .taiwanResident:
            guard prefix == "830000" else { throw .invalidIDNumber("a Taiwan residence permit starts with 830000") }
            region = prefix
            birthDigits = text(6..<14)
        case .foreignPermanent:
            // 2023 form: 9, two-digit province of acceptance, three-digit nationality (ISO 3166-1 numeric),
            // birth date, three-digit sequence, check character.
            guard chars[0] == UInt8(ascii: "9") else { throw .invalidIDNumber("a foreigner's permanent residence ID starts with 9") }
            let province = text(1..<3) + "0000"
            guard regions.contains(province) else { throw .invalidIDNumber("\(province) is not a province code") }
            region = province
            birthDigits = text(6..<14)
        }
        guard let birth = CalendarDay(birthDigits), birth.year >= 1880 else {
            throw .invalidIDNumber("\(birthDigits) is not a real birth date")
        }
        guard birth <= today else { throw .invalidIDNumber("the birth date \(birth) is in the future") }
        self.type = type
        self.value = v
        self.birthDate = birth
        self.sex = (chars[16] - UInt8(ascii: "0")) % 2 == 1 ? .male : .female
        self.regionCode = region
    }
}
