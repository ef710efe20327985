import Foundation

/// The source of "now". Injected everywhere a rule depends on time, so tests pin and advance it.
public struct Clock: Sendable {
    public var now: @Sendable () -> Date
    public init(now: @escaping @Sendable () -> Date) { self.now = now }
    public static let system = Clock { Date() }
}

/// A clock a test can move forward.
public final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    public init(_ start: Date) { current = start }
    public var clock: Clock { Clock { [self] in self.read() } }
    public func read() -> Date { lock.lock(); defer { lock.unlock() }; return current }
    public func advance(by seconds: TimeInterval) { lock.lock(); current += seconds; lock.unlock() }
}

/// Where random bytes come from; the system's secure generator unless a test injects another.
public struct RandomSource: Sendable {
    public var bytes: @Sendable (Int) -> [UInt8]
    public init(bytes: @escaping @Sendable (Int) -> [UInt8]) { self.bytes = bytes }
    public static let system = RandomSource { count in
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 8) {
            let word = generator.next()
            for j in i..<min(i + 8, count) { out[j] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(j - i))) }
        }
        return out
    }
    /// A random RFC 4122 version 4 identifier, lower-case.
    public func uuid() -> String {
        var b = bytes(16)
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return Self.format(b)
    }

    /// An RFC 9562 version 7 identifier: the Unix time in milliseconds, then 74 random bits. Identifiers made one
    /// after another sort one after another, so a million rows keyed by them are appended to the end of the
    /// primary-key index instead of scattered over it (random keys made a million-row insert four times slower
    /// per row than a hundred-thousand-row one once the index outgrew the page cache).
    public func uuid7(at date: Date) -> String {
        var b = bytes(16)
        let ms = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: ms >> (8 * UInt64(5 - i))) }
        b[6] = (b[6] & 0x0F) | 0x70
        b[8] = (b[8] & 0x3F) | 0x80
        return Self.format(b)
    }

    private static func format(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, c) in Hex.encode(b).utf8.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append(UInt8(ascii: "-")) }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// RFC 3339 UTC formatting and parsing used for every time on the wire.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
    public static func parse(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }
    /// Milliseconds since 1970, the form stored in the database on both engines.
    public static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    public static func date(millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}

/// A calendar day (YYYY-MM-DD) in the proleptic Gregorian calendar, as on identity documents.
public struct CalendarDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int, month: Int, day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        self.year = year; self.month = month; self.day = day
    }

    /// Parses `YYYY-MM-DD` or the compact `YYYYMMDD`.
    public init?(_ text: String) {
        // Plain Swift, not Foundation's `replacingOccurrences`: this runs for every date on every request.
        let digits = String(text.filter { $0 != "-" })
        guard digits.count == 8, digits.allSatisfy(\.isASCIIDigit),
              text.count == 8 || (text.count == 10 && Array(text)[4] == "-" && Array(text)[7] == "-"),
              let y = Int(digits.prefix(4)), let m = Int(digits.dropFirst(4).prefix(2)), let d = Int(digits.suffix(2))
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// The UTC+8 (Beijing time) calendar day of an instant: the day a person in China sees.
    public init(_ date: Date, utcOffsetHours: Int = 8) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(secondsFromGMT: utcOffsetHours * 3600)!
        let c = cal.dateComponents([.year, .month, .day], from: date)
        self.year = c.year!; self.month = c.month!; self.day = c.day!
    }

    public var description: String { String(format: "%04d-%02d-%02d", year, month, day) }
    public static func < (a: CalendarDay, b: CalendarDay) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    /// Whole years from this day to `other` (an age on `other`).
    public func years(until other: CalendarDay) -> Int {
        var age = other.year - year
        if (other.month, other.day) < (month, day) { age -= 1 }
        return age
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
