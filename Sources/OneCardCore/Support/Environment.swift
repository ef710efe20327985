import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
    /// The kernel's generator in one call for the whole buffer (glibc's `arc4random_buf` reads `getrandom`, as
    /// `SystemRandomNumberGenerator` does on Linux, but not once per 8 bytes): an upload makes an id per line, and the
    /// calls were 3 % of its CPU.
    public static let system = RandomSource { count in
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        #if canImport(Glibc)
        if count > 0 { out.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, count) }; filled = count }
        #endif
        var generator = SystemRandomNumberGenerator()
        for i in stride(from: filled, to: count, by: 8) {
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
///
/// By arithmetic, with no Foundation formatter: the ISO 8601 formatter class on Linux (swift-corelibs-foundation 6.3) frees memory
/// it does not own when it makes its CFDateFormatter (swiftlang/swift-corelibs-foundation#5533), which corrupted the heap and
/// crashed the test process at random; a formatter made per call was also the hot spot of taking a gate's batch of taps.
public enum Timestamp {
    /// `YYYY-MM-DDTHH:MM:SSZ` in UTC, seconds rounded down.
    public static func format(_ date: Date) -> String { write(date, millis: false) }
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`: taps a second apart or less keep their order.
    public static func formatMillis(_ date: Date) -> String { write(date, millis: true) }

    /// The wall-clock fields of an instant at a fixed offset from UTC (China Standard Time is +8, with no summer time since 1991).
    public static func fields(_ date: Date, utcOffsetSeconds: Int = 0) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) + Int64(utcOffsetSeconds) * 1000
        let seconds = Int(totalMillis >= 0 ? totalMillis / 1000 : (totalMillis - 999) / 1000)
        let millisecond = Int(totalMillis - Int64(seconds) * 1000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (y, m, d) = CalendarDay.civil(days: days)
        let s = seconds - days * 86_400
        return (y, m, d, s / 3600, s % 3600 / 60, s % 60, millisecond)
    }

    /// `n` in decimal with at least `width` digits (zeros in front).
    public static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(abs(n))
        return (n < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func write(_ date: Date, millis: Bool) -> String {
        let f = fields(date)
        var out = padded(f.year, 4) + "-" + padded(f.month, 2) + "-" + padded(f.day, 2) + "T" + padded(f.hour, 2) + ":" + padded(f.minute, 2)
            + ":" + padded(f.second, 2)
        if millis { out += "." + padded(f.millisecond, 3) }
        return out + "Z"
    }

    /// An RFC 3339 `date-time` (§5.6): `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `T` and `Z` in either case, every field
    /// in its range (no leap second: nothing on this platform writes one); nil for anything else.
    public static func parse(_ text: String) -> Date? { rfc3339(text) }

    static func rfc3339(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { b -> Date? in
            guard b.count >= 20, b.count <= 40 else { return nil }
            func digits(_ at: Int, _ n: Int) -> Int? {
                var v = 0
                for i in at..<(at + n) {
                    let c = b[i]
                    guard c >= 0x30, c <= 0x39 else { return nil }
                    v = v * 10 + Int(c - 0x30)
                }
                return v
            }
            guard b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54 || b[10] == 0x74, b[13] == 0x3A, b[16] == 0x3A,
                  let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
                  let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
                  hour <= 23, minute <= 59, second <= 59,
                  let valid = CalendarDay(year: year, month: month, day: day) else { return nil }
            var i = 19
            var fraction = 0.0
            if b[i] == 0x2E {
                var scale = 0.1
                i += 1
                let start = i
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { fraction += Double(b[i] - 0x30) * scale; scale /= 10; i += 1 }
                guard i > start, i - start <= 9 else { return nil }
            }
            var offset = 0
            if i == b.count - 1, b[i] == 0x5A || b[i] == 0x7A {
                offset = 0
            } else if i == b.count - 6, b[i] == 0x2B || b[i] == 0x2D, b[i + 3] == 0x3A, let oh = digits(i + 1, 2), let om = digits(i + 4, 2),
                      oh <= 23, om <= 59 {
                offset = (oh * 3600 + om * 60) * (b[i] == 0x2D ? -1 : 1)
            } else {
                return nil
            }
            let days = valid.daysSinceEpoch
            let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
            return Date(timeIntervalSince1970: Double(seconds) + fraction)
        }
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
        // By arithmetic from 1600 to 9999 (a Calendar per call was the hot spot of pricing a day of taps); the same days
        // as the Gregorian Calendar there, which switches to the Julian calendar before 1582.
        let seconds = date.timeIntervalSince1970 + Double(utcOffsetHours * 3600)
        if seconds > -11_676_096_000, seconds < 253_402_300_800 {
            (year, month, day) = Self.civil(days: Int((seconds / 86_400).rounded(.down)))
            return
        }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(secondsFromGMT: utcOffsetHours * 3600)!
        let c = cal.dateComponents([.year, .month, .day], from: date)
        self.year = c.year!; self.month = c.month!; self.day = c.day!
    }

    /// The proleptic Gregorian date `days` days after 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
    public static func civil(days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public var description: String { yearMonth + (day < 10 ? "-0" : "-") + String(day) }
    /// `YYYY-MM` (without `String(format:)`, which costs microseconds on hot paths such as a settlement's month).
    public var yearMonth: String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + (month < 10 ? "-0" : "-") + String(month)
    }
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
