/// A value that is written as one string wherever it leaves the process (SQL binds, JSON, paths):
/// the store binds `rawValue` for any of these, so a typed id is stored exactly as its string was.
public protocol StringIdentifier: Sendable {
    var rawValue: String { get }
}

/// A typed identifier: `Person.ID` and `Venue.ID` are both strings on the wire but different types in
/// code, so one cannot be passed where the other is meant (isowords `Tagged<Self, UUID>`).
/// `Tag` is the type the identifier names; it is never instantiated.
public struct Identifier<Tag>: RawRepresentable, StringIdentifier, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ raw: String) { rawValue = raw }
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Encoded and decoded as the bare string, so JSON keeps its shape.
extension Identifier: Codable {
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
