/// The unified social credit code of an organisation (GB 32100-2015): 18 characters from a 31-character
/// alphabet, the last a check character computed mod 31 with fixed weights.
public struct UnifiedSocialCreditCode: Sendable, Hashable, CustomStringConvertible {
    public let value: String
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// The check character for the first 17 characters, or nil if one is outside the alphabet.
    public static func checkCharacter(for first17: [Character]) -> Character? {
        guard first17.count == 17 else { return nil }
        var sum = 0
        for (c, w) in zip(first17, weights) {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            sum += v * w
        }
        return alphabet[(31 - sum % 31) % 31]
    }

    public init(_ raw: String) throws(DomainError) {
        let v = raw.uppercased()
        let c = Array(v)
        guard c.count == 18, let check = Self.checkCharacter(for: Array(c[0..<17])), check == c[17] else {
            throw DomainError(.invalidUscc, "a unified social credit code has 18 characters with a valid check character (GB 32100)")
        }
        value = v
    }

    public var description: String { value }
}
