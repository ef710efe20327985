import Foundation
import OneCardCore

/// A strict, allocation-free reader of the small JSON objects in a JWS header and QR claims.
/// Hand-written because JSONDecoder would cost more than the rest of a verification together.
/// Anything unusual (escaped member names, duplicate members, nesting deeper than 16) is refused
/// rather than interpreted, so this reader can never see a different token than another JOSE library.
package struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var i = 0

    package init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    package var atEnd: Bool { i >= bytes.count }

    package mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    /// Consumes `byte` (after white space) or fails.
    package mutating func expect(_ byte: UInt8) -> Bool {
        skipSpace()
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    /// Consumes `byte` if it comes next (after white space).
    package mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        if i < bytes.count, bytes[i] == byte { i += 1; return true }
        return false
    }

    /// A member name: the raw bytes between the quotes; names with escapes are refused.
    package mutating func name() -> UnsafeRawBufferPointer? {
        guard expect(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                defer { i += 1 }
                return UnsafeRawBufferPointer(rebasing: bytes[start..<i])
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    /// A string value, unescaped.
    package mutating func string() -> String? {
        guard expect(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                defer { i += 1 }
                guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self) else { return nil }
                return s
            }
            if b == UInt8(ascii: "\\") { i = start; return escapedString() }
            if b < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    /// The slow path of `string()`, for a value with escapes (issuers never write one).
    private mutating func escapedString() -> String? {
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]; i += 1
            switch b {
            case UInt8(ascii: "\""):
                return String(validating: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { return nil }
                let e = bytes[i]; i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { return nil }
                        i += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: String(Character(u)).utf8)
                default: return nil
                }
            case 0..<0x20: return nil
            default: out.append(b)
            }
        }
        return nil
    }

    /// Four hex digits of a `\u` escape.
    private mutating func hex4() -> UInt32? {
        guard i + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]; i += 1
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// A non-negative integer of at most 15 digits (NumericDate in whole seconds). A leading zero before more digits
    /// is not JSON (RFC 8259 §6) and is refused.
    package mutating func integer() -> Int64? {
        skipSpace()
        var v: Int64 = 0, digits = 0
        let start = i
        while i < bytes.count, (0x30...0x39).contains(bytes[i]) {
            v = v * 10 + Int64(bytes[i] - 0x30)
            digits += 1; i += 1
            if digits > 15 { return nil }
        }
        guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        // A fraction or exponent would be a NumericDate we do not issue; refuse rather than round.
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") { return nil }
        return v
    }

    /// An array of strings.
    package mutating func stringArray() -> [String]? {
        guard expect(UInt8(ascii: "[")) else { return nil }
        var result: [String] = []
        if take(UInt8(ascii: "]")) { return result }
        repeat {
            guard let s = string() else { return nil }
            result.append(s)
        } while take(UInt8(ascii: ","))
        return expect(UInt8(ascii: "]")) ? result : nil
    }

    /// Skips any JSON value (for members a verifier does not use).
    package mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 16 else { return false }
        skipSpace()
        guard i < bytes.count else { return false }
        switch bytes[i] {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"):
            i += 1
            if take(UInt8(ascii: "}")) { return true }
            repeat {
                guard string() != nil, expect(UInt8(ascii: ":")), skipValue(depth: depth + 1) else { return false }
            } while take(UInt8(ascii: ","))
            return expect(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            i += 1
            if take(UInt8(ascii: "]")) { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while take(UInt8(ascii: ","))
            return expect(UInt8(ascii: "]"))
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    /// Skips a number as RFC 8259 §6 writes one: `-`, then `0` or digits without a leading zero, an optional fraction
    /// and an optional exponent (so a reader never accepts `1-2` or `012` that `JSONDecoder` would refuse).
    private mutating func number() -> Bool {
        func digits() -> Int {
            let start = i
            while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
            return i - start
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { return false }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return false }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return true
    }

    /// `true` or `false`.
    package mutating func boolean() -> Bool? {
        skipSpace()
        guard i < bytes.count else { return nil }
        if bytes[i] == UInt8(ascii: "t") { return literal("true") ? true : nil }
        if bytes[i] == UInt8(ascii: "f") { return literal("false") ? false : nil }
        return nil
    }

    /// An object whose members `member` reads one by one, given each name (false: not the shape expected).
    package mutating func object(_ member: (UnsafeRawBufferPointer, inout JSONScanner) -> Bool) -> Bool {
        guard expect(UInt8(ascii: "{")) else { return false }
        if take(UInt8(ascii: "}")) { return true }
        repeat {
            guard let name = name(), expect(UInt8(ascii: ":")), member(name, &self) else { return false }
        } while take(UInt8(ascii: ","))
        return expect(UInt8(ascii: "}"))
    }

    /// An array whose elements `element` reads (nil: not the shape expected).
    package mutating func array<T>(_ element: (inout JSONScanner) -> T?) -> [T]? {
        guard expect(UInt8(ascii: "[")) else { return nil }
        var out: [T] = []
        if take(UInt8(ascii: "]")) { return out }
        repeat {
            guard let e = element(&self) else { return nil }
            out.append(e)
        } while take(UInt8(ascii: ","))
        return expect(UInt8(ascii: "]")) ? out : nil
    }

    /// A member's value, read the first time the member comes: false (not the shape expected) when `slot` already holds
    /// one (a member twice) or `read` cannot read it.
    package mutating func once<T>(_ slot: inout T?, _ read: (inout JSONScanner) -> T?) -> Bool {
        guard slot == nil, let v = read(&self) else { return false }
        slot = v
        return true
    }

    /// `null`, or a value `read` reads (a member `Codable` decodes as optional may be `null`): `.some(nil)` for `null`,
    /// nil when it is neither.
    package mutating func nullable<T>(_ read: (inout JSONScanner) -> T?) -> T?? {
        if takeNull() { return .some(nil) }
        return read(&self).map { .some($0) }
    }

    /// Consumes `null` if it comes next (after white space).
    package mutating func takeNull() -> Bool {
        skipSpace()
        return i < bytes.count && bytes[i] == UInt8(ascii: "n") && literal("null")
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
        i += n
        return true
    }

    /// True at the end of input, trailing white space allowed.
    package mutating func finished() -> Bool {
        skipSpace()
        return atEnd
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes spell `word` (a member name).
    package func equals(_ word: StaticString) -> Bool {
        count == word.utf8CodeUnitCount && memcmp(baseAddress!, word.utf8Start, count) == 0
    }
}

enum ClaimsParser {
    /// The QR claims in `json`, or nil unless it is one object with string `iss`, `sub`, `jti`, integer
    /// `iat`, `exp`, an optional string array `ent`, no member twice; other members are ignored.
    static func parse(_ json: UnsafeRawBufferPointer) -> QRClaims? {
        var s = JSONScanner(json)
        var iss: String?, sub: String?, jti: String?, iat: Int64?, exp: Int64?, ent: [String]?
        guard s.expect(UInt8(ascii: "{")) else { return nil }
        if !s.take(UInt8(ascii: "}")) {
            repeat {
                guard let name = s.name(), s.expect(UInt8(ascii: ":")) else { return nil }
                if name.equals("iss") { guard iss == nil, let v = s.string() else { return nil }; iss = v }
                else if name.equals("sub") { guard sub == nil, let v = s.string() else { return nil }; sub = v }
                else if name.equals("jti") { guard jti == nil, let v = s.string() else { return nil }; jti = v }
                else if name.equals("iat") { guard iat == nil, let v = s.integer() else { return nil }; iat = v }
                else if name.equals("exp") { guard exp == nil, let v = s.integer() else { return nil }; exp = v }
                else if name.equals("ent") { guard ent == nil, let v = s.stringArray() else { return nil }; ent = v }
                else { guard s.skipValue() else { return nil } }
            } while s.take(UInt8(ascii: ","))
            guard s.expect(UInt8(ascii: "}")) else { return nil }
        }
        guard s.finished(), let iss, let sub, let jti, let iat, let exp, !jti.isEmpty else { return nil }
        return QRClaims(iss: iss, sub: sub, iat: iat, exp: exp, jti: jti, ent: ent ?? [])
    }

    /// The `kid` of a QR token header, or why there is none: the slow path for headers not written
    /// byte for byte as OneCard writes them (another JOSE library's member order or spacing).
    enum HeaderResult { case kid(String), invalid }

    static func header(_ json: UnsafeRawBufferPointer) -> HeaderResult {
        var s = JSONScanner(json)
        var alg: String?, kid: String?, typ: String?
        guard s.expect(UInt8(ascii: "{")) else { return .invalid }
        if !s.take(UInt8(ascii: "}")) {
            repeat {
                guard let name = s.name(), s.expect(UInt8(ascii: ":")) else { return .invalid }
                if name.equals("alg") { guard alg == nil, let v = s.string() else { return .invalid }; alg = v }
                else if name.equals("kid") { guard kid == nil, let v = s.string() else { return .invalid }; kid = v }
                else if name.equals("typ") { guard typ == nil, let v = s.string() else { return .invalid }; typ = v }
                // RFC 7515 §4.1.11: extensions a recipient does not understand must be refused.
                else if name.equals("crit") { return .invalid }
                else { guard s.skipValue() else { return .invalid } }
            } while s.take(UInt8(ascii: ","))
            guard s.expect(UInt8(ascii: "}")) else { return .invalid }
        }
        guard s.finished(), let alg, CompactJWS.acceptedAlgorithms.contains(alg), typ == CompactJWS.qrTokenType, let kid else { return .invalid }
        return .kid(kid)
    }
}
