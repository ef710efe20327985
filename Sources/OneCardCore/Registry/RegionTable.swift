import Foundation

/// GB/T 2260 administrative division codes, every code from 1980-12 to 2019-04 with the revisions it
/// appeared in. Identity numbers keep the code of the place and year they were issued, so historical
/// codes are valid too.
public struct RegionTable: Sendable {
    public struct Entry: Sendable, Equatable {
        public let code: String
        public let name: String
        public let firstRevision: Int
        public let lastRevision: Int
    }

    private let entries: [String: Entry]

    public init(tsv: String) {
        var map: [String: Entry] = [:]
        for line in tsv.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 4, let first = Int(f[2]), let last = Int(f[3]) else { continue }
            let e = Entry(code: String(f[0]), name: String(f[1]), firstRevision: first, lastRevision: last)
            map[e.code] = e
        }
        entries = map
    }

    /// The table shipped with OneCard (`Resources/gb2260-codes.tsv`).
    public static let shared: RegionTable = {
        guard let url = Bundle.module.url(forResource: "gb2260-codes", withExtension: "tsv"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("gb2260-codes.tsv resource is missing from the OneCardCore bundle") }
        return RegionTable(tsv: text)
    }()

    public var count: Int { entries.count }
    public func contains(_ code: String) -> Bool { entries[code] != nil }
    public func entry(_ code: String) -> Entry? { entries[code] }

    /// County-level codes of a province still in use in the latest revision, in code order.
    public func currentCounties(of province: String) -> [Entry] {
        let prefix = province.prefix(2)
        let latest = entries.values.map(\.lastRevision).max() ?? 0
        return entries.values.filter { $0.code.hasPrefix(prefix) && !$0.code.hasSuffix("00") && $0.lastRevision == latest }
            .sorted { $0.code < $1.code }
    }

    /// The province (first two digits + `0000`) a code belongs to.
    public static func province(of code: String) -> String { String(code.prefix(2)) + "0000" }
}

/// A six-digit GB/T 2260 code, validated against the shipped table when made.
public struct RegionCode: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(_ raw: String, table: RegionTable = .shared) throws(DomainError) {
        guard raw.count == 6, raw.allSatisfy(\.isASCIIDigit) else {
            throw DomainError(.invalidRegionCode, "a region code is six digits (GB/T 2260)")
        }
        guard table.contains(raw) else {
            throw DomainError(.invalidRegionCode, "\(raw) is not a GB/T 2260 code")
        }
        rawValue = raw
    }

    public var province: String { RegionTable.province(of: rawValue) }

    /// Whether `raw` is a province-level code (a node's or a member's region), e.g. 110000, 440000, 810000.
    public static func isProvinceCode(_ raw: String) -> Bool { (try? RegionCode(raw))?.province == raw }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(raw) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.detail)) }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
