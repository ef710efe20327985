import Foundation

/// Base64url without padding (RFC 4648 §5, RFC 7515 §2), the only encoding a JWS uses.
/// Hand-written so that the verifier can decode straight into a caller's buffer without allocating.
public enum Base64URL {
    @usableFromInline static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// 0...63 for an alphabet character, 0xFF for anything else (including `=` and the `+/` of plain base64).
    @usableFromInline static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// The number of characters `count` bytes encode to.
    @inlinable public static func encodedLength(_ count: Int) -> Int { (count * 4 + 2) / 3 }

    /// The number of bytes `count` characters decode to, or nil for a length no encoder produces.
    @inlinable public static func decodedLength(_ count: Int) -> Int? {
        count % 4 == 1 ? nil : count * 3 / 4
    }

    /// Appends the encoding of `bytes` to `out`.
    public static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + encodedLength(bytes.count))
        alphabet.withUnsafeBufferPointer { a in
            var i = 0
            let n = bytes.count
            while i + 3 <= n {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                out.append(a[Int(v >> 18)]); out.append(a[Int(v >> 12 & 63)])
                out.append(a[Int(v >> 6 & 63)]); out.append(a[Int(v & 63)])
                i += 3
            }
            switch n - i {
            case 1:
                let v = UInt32(bytes[i]) << 16
                out.append(a[Int(v >> 18)]); out.append(a[Int(v >> 12 & 63)])
            case 2:
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
                out.append(a[Int(v >> 18)]); out.append(a[Int(v >> 12 & 63)]); out.append(a[Int(v >> 6 & 63)])
            default: break
            }
        }
    }

    /// Appends the encoding of `bytes` to `out`.
    public static func append<C: ContiguousBytes>(_ bytes: C, to out: inout [UInt8]) {
        bytes.withUnsafeBytes { append($0, to: &out) }
    }

    /// The encoding of `bytes` as a string.
    public static func encode<C: ContiguousBytes>(_ bytes: C) -> String {
        var out: [UInt8] = []
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `text` into `out` (which must hold `decodedLength(text.count)` bytes) and returns
    /// the number of bytes written, or nil if `text` is not canonical base64url.
    /// Non-canonical trailing bits are refused so that each byte string has exactly one encoding:
    /// otherwise a "tampered" signature segment could still verify.
    public static func decode(_ text: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard let length = decodedLength(text.count), out.count >= length else { return nil }
        return reverse.withUnsafeBufferPointer { r -> Int? in
            var i = 0, o = 0
            let n = text.count
            while i + 4 <= n {
                let a = r[Int(text[i])], b = r[Int(text[i + 1])], c = r[Int(text[i + 2])], d = r[Int(text[i + 3])]
                guard (a | b | c | d) & 0xC0 == 0 else { return nil }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                out[o] = UInt8(truncatingIfNeeded: v >> 16); out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                out[o + 2] = UInt8(truncatingIfNeeded: v)
                i += 4; o += 3
            }
            switch n - i {
            case 2:
                let a = r[Int(text[i])], b = r[Int(text[i + 1])]
                guard (a | b) & 0xC0 == 0, b & 0x0F == 0 else { return nil }
                out[o] = a << 2 | b >> 4
                o += 1
            case 3:
                let a = r[Int(text[i])], b = r[Int(text[i + 1])], c = r[Int(text[i + 2])]
                guard (a | b | c) & 0xC0 == 0, c & 0x03 == 0 else { return nil }
                out[o] = a << 2 | b >> 4
                out[o + 1] = b << 4 | c >> 2
                o += 2
            default: break
            }
            return o
        }
    }

    /// Decodes `text`, or nil if it is not canonical base64url.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var s = String(text)
        return s.withUTF8 { utf8 -> [UInt8]? in
            guard let length = decodedLength(utf8.count) else { return nil }
            var failed = false
            let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialised in
                if let n = decode(UnsafeRawBufferPointer(utf8), into: UnsafeMutableRawBufferPointer(buffer)) {
                    initialised = n
                } else {
                    initialised = 0
                    failed = true
                }
            }
            return failed ? nil : bytes
        }
    }
}
