import Foundation

/// The part of Structured Field Values for HTTP (RFC 8941) that HTTP Message Signatures and
/// Content-Digest are written in: dictionaries whose members are items or inner lists, with parameters.
/// Parsing follows RFC 8941 §4.2 strictly, so a field another implementation serialised reads back the
/// same, and anything malformed is refused rather than guessed at.
public enum StructuredField {
    /// A bare item (RFC 8941 §3.3). Decimals are read (another implementation may send one) and kept as text.
    public enum BareItem: Equatable, Sendable {
        case integer(Int64)
        case decimal(String)
        case string(String)
        case token(String)
        case byteSequence([UInt8])
        case boolean(Bool)
    }

    /// Parameters in the order they were written; the order is part of a signature base.
    public typealias Parameters = [(key: String, value: BareItem)]

    public struct Item: Sendable {
        public var value: BareItem
        public var parameters: Parameters
        public init(_ value: BareItem, parameters: Parameters = []) {
            self.value = value
            self.parameters = parameters
        }
    }

    public struct InnerList: Sendable {
        public var items: [Item]
        public var parameters: Parameters
        public init(_ items: [Item], parameters: Parameters = []) {
            self.items = items
            self.parameters = parameters
        }
    }

    public enum Member: Sendable {
        case item(Item)
        case innerList(InnerList)
    }

    /// Dictionary members in order; a key written twice keeps its last value in the first one's place (§4.2.2).
    public typealias Dictionary = [(key: String, value: Member)]

    /// A field value that is not a valid structured field of the expected type.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    // MARK: - Parsing (RFC 8941 §4.2)

    /// Parses a Dictionary field value (field lines already combined with ", ").
    public static func parseDictionary(_ text: String) throws -> Dictionary {
        var p = Parser(text)
        p.skipSP()
        let d = try p.dictionary()
        p.skipSP()
        guard p.atEnd else { throw ParseError(description: "trailing characters in dictionary") }
        return d
    }

    /// Parses an Item field value.
    public static func parseItem(_ text: String) throws -> Item {
        var p = Parser(text)
        p.skipSP()
        let item = try p.item()
        p.skipSP()
        guard p.atEnd else { throw ParseError(description: "trailing characters after item") }
        return item
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        init(_ text: String) { bytes = Array(text.utf8) }

        var atEnd: Bool { i >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[i] }

        mutating func skipSP() { while peek == 0x20 { i += 1 } }
        mutating func skipOWS() { while peek == 0x20 || peek == 0x09 { i += 1 } }

        func fail(_ what: String) -> ParseError { ParseError(description: "\(what) at offset \(i)") }

        mutating func dictionary() throws -> Dictionary {
            var members: Dictionary = []
            while !atEnd {
                let key = try self.key()
                let member: Member
                if peek == UInt8(ascii: "=") {
                    i += 1
                    member = try itemOrInnerList()
                } else {
                    member = .item(Item(.boolean(true), parameters: try parameters()))
                }
                if let existing = members.firstIndex(where: { $0.key == key }) {
                    members[existing].value = member
                } else {
                    members.append((key, member))
                }
                skipOWS()
                if atEnd { return members }
                guard peek == UInt8(ascii: ",") else { throw fail("expected ',' between dictionary members") }
                i += 1
                skipOWS()
                if atEnd { throw fail("trailing ',' in dictionary") }
            }
            return members
        }

        mutating func itemOrInnerList() throws -> Member {
            peek == UInt8(ascii: "(") ? .innerList(try innerList()) : .item(try item())
        }

        mutating func innerList() throws -> InnerList {
            guard peek == UInt8(ascii: "(") else { throw fail("expected '('") }
            i += 1
            var items: [Item] = []
            while !atEnd {
                skipSP()
                if peek == UInt8(ascii: ")") {
                    i += 1
                    return InnerList(items, parameters: try parameters())
                }
                items.append(try item())
                guard peek == 0x20 || peek == UInt8(ascii: ")") else { throw fail("expected ' ' or ')' in inner list") }
            }
            throw fail("unterminated inner list")
        }

        mutating func item() throws -> Item {
            let value = try bareItem()
            return Item(value, parameters: try parameters())
        }

        mutating func parameters() throws -> Parameters {
            var params: Parameters = []
            while peek == UInt8(ascii: ";") {
                i += 1
                skipSP()
                let key = try self.key()
                var value = BareItem.boolean(true)
                if peek == UInt8(ascii: "=") {
                    i += 1
                    value = try bareItem()
                }
                if let existing = params.firstIndex(where: { $0.key == key }) {
                    params[existing].value = value
                } else {
                    params.append((key, value))
                }
            }
            return params
        }

        mutating func key() throws -> String {
            guard let c = peek, (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "*") else { throw fail("expected a key") }
            let start = i
            while let c = peek, (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D || c == 0x2E || c == 0x2A {
                i += 1
            }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        mutating func bareItem() throws -> BareItem {
            guard let c = peek else { throw fail("expected an item") }
            switch c {
            case UInt8(ascii: "-"), 0x30...0x39: return try number()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: ":"): return .byteSequence(try byteSequence())
            case UInt8(ascii: "?"): return .boolean(try boolean())
            case UInt8(ascii: "*"), 0x41...0x5A, 0x61...0x7A: return .token(token())
            default: throw fail("unexpected character")
            }
        }

        mutating func number() throws -> BareItem {
            var text = ""
            if peek == UInt8(ascii: "-") { text = "-"; i += 1 }
            guard let first = peek, first >= 0x30 && first <= 0x39 else { throw fail("expected a digit") }
            var digits = 0, isDecimal = false, fraction = 0
            while let c = peek {
                if c >= 0x30 && c <= 0x39 {
                    if isDecimal { fraction += 1 } else { digits += 1 }
                    text.append(Character(UnicodeScalar(c)))
                } else if c == UInt8(ascii: "."), !isDecimal {
                    guard digits <= 12 else { throw fail("decimal integer part too long") }
                    isDecimal = true
                    text.append(".")
                } else {
                    break
                }
                i += 1
                if !isDecimal && digits > 15 { throw fail("integer too long") }
                if isDecimal && fraction > 3 { throw fail("decimal fraction too long") }
            }
            if isDecimal {
                guard fraction > 0 else { throw fail("decimal ends with '.'") }
                return .decimal(text)
            }
            guard let n = Int64(text) else { throw fail("bad integer") }
            return .integer(n)
        }

        mutating func string() throws -> String {
            i += 1
            var out: [UInt8] = []
            while let c = peek {
                i += 1
                if c == UInt8(ascii: "\\") {
                    guard let next = peek, next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") else { throw fail("bad escape in string") }
                    out.append(next)
                    i += 1
                } else if c == UInt8(ascii: "\"") {
                    return String(decoding: out, as: UTF8.self)
                } else if c < 0x20 || c > 0x7E {
                    throw fail("non-printable character in string")
                } else {
                    out.append(c)
                }
            }
            throw fail("unterminated string")
        }

        mutating func token() -> String {
            let start = i
            while let c = peek, isTChar(c) || c == UInt8(ascii: ":") || c == UInt8(ascii: "/") { i += 1 }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        func isTChar(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }

        mutating func byteSequence() throws -> [UInt8] {
            i += 1
            let start = i
            while let c = peek, c != UInt8(ascii: ":") {
                let ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2B || c == 0x2F || c == 0x3D
                guard ok else { throw fail("bad character in byte sequence") }
                i += 1
            }
            guard peek == UInt8(ascii: ":") else { throw fail("unterminated byte sequence") }
            var b64 = String(decoding: bytes[start..<i], as: UTF8.self)
            i += 1
            // RFC 8941 §4.2.7: a parser may accept a missing pad; Foundation insists on it.
            while b64.count % 4 != 0 { b64 += "=" }
            guard let data = Data(base64Encoded: b64) else { throw fail("byte sequence is not base64") }
            return Array(data)
        }

        mutating func boolean() throws -> Bool {
            i += 1
            switch peek {
            case UInt8(ascii: "1"): i += 1; return true
            case UInt8(ascii: "0"): i += 1; return false
            default: throw fail("bad boolean")
            }
        }
    }

    // MARK: - Serialising (RFC 8941 §4.1)

    public static func serialize(_ dictionary: Dictionary) -> String {
        dictionary.map { key, member in
            switch member {
            case .item(let item) where item.value == .boolean(true):
                return key + serialize(item.parameters)
            case .item(let item):
                return key + "=" + serialize(item)
            case .innerList(let list):
                return key + "=" + serialize(list)
            }
        }.joined(separator: ", ")
    }

    public static func serialize(_ list: InnerList) -> String {
        "(" + list.items.map(serialize).joined(separator: " ") + ")" + serialize(list.parameters)
    }

    public static func serialize(_ item: Item) -> String {
        serialize(item.value) + serialize(item.parameters)
    }

    public static func serialize(_ parameters: Parameters) -> String {
        parameters.map { key, value in value == .boolean(true) ? ";" + key : ";" + key + "=" + serialize(value) }.joined()
    }

    public static func serialize(_ value: BareItem) -> String {
        switch value {
        case .integer(let n): return String(n)
        case .decimal(let text): return text
        case .string(let s):
            return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .token(let t): return t
        case .byteSequence(let bytes): return ":" + Data(bytes).base64EncodedString() + ":"
        case .boolean(let b): return b ? "?1" : "?0"
        }
    }
}
