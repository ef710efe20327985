import Crypto
import Foundation

/// A nine-character social security card number: one letter and eight digits.
public struct CardNumber: StringIdentifier, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String
    static let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")

    public init(_ raw: String) throws(DomainError) {
        let c = Array(raw)
        guard c.count == 9, Self.letters.contains(c[0]), c[1...].allSatisfy(\.isASCIIDigit) else {
            throw DomainError(.invalidCardNumber, "a card number is one letter and eight digits")
        }
        rawValue = raw
    }

    /// A new random card number; uniqueness is enforced by the store.
    public static func random(_ random: RandomSource) -> CardNumber {
        let b = random.bytes(9)
        var s = String(letters[Int(b[0]) % letters.count])
        for i in 1..<9 { s.append(Character(String(Int(b[i]) % 10))) }
        return try! CardNumber(s)
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Hex SHA-256 of the card number: how revocation lists name a card without disclosing it.
    public var hash: String { Hex.encode(SHA256.hash(data: Data(rawValue.utf8))) }
}

/// A literal must be a valid number: `"A12345678"` in a test or a fixture; a wrong one stops the program.
extension CardNumber: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        guard let number = try? CardNumber(value) else { preconditionFailure("\(value) is not a card number") }
        self = number
    }
}

/// Encoded as the bare string; decoding validates like `init(_:)`.
extension CardNumber: Codable {
    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The card identification code (卡识别码): issuer region (6) + `D156000005` + 16 hex characters.
public enum CardIdentificationCode {
    public static let middle = "D156000005"

    public static func make(issuerRegion: String, random: RandomSource) -> String {
        issuerRegion + middle + Hex.encode(random.bytes(8), uppercase: true)
    }

    public static func isValid(_ code: String) -> Bool {
        let c = Array(code)
        return c.count == 32 && c[0..<6].allSatisfy(\.isASCIIDigit) && String(c[6..<16]) == middle
            && c[16...].allSatisfy(\.isHexDigit)
    }
}

/// Chip keys are diversified from the node's master key: HMAC-SHA256(master, card number).
/// No per-card secret is stored; the issuer can always recompute it (as card issuers do).
public struct ChipKeyDeriver: Sendable {
    private let master: SymmetricKey
    public init(master: SymmetricKey) { self.master = master }

    public func key(for card: CardNumber) -> SymmetricKey {
        SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(card.rawValue.utf8), using: master)))
    }

    public func base64Key(for card: CardNumber) -> String {
        key(for: card).withUnsafeBytes { Data($0).base64EncodedString() }
    }
}
