import Crypto
import Foundation

/// A JWS in compact serialisation signed with Ed25519 (`"alg":"EdDSA"`, RFC 8037), written by hand
/// so that issuing a QR token costs little more than the signature itself (see Benchmarks/RESULTS.md).
/// Every JOSE library reads the result: the header and payload are plain JSON, base64url without padding.
public enum CompactJWS {
    /// The media type of a OneCard QR token (`typ`).
    public static let qrTokenType = "onecard-qr+jwt"
    /// The media type of a signed revocation document (`typ`).
    public static let revocationsType = "onecard-revocations+jwt"
    /// The media type of the hub's national trust list (`typ`).
    public static let trustListType = "onecard-trust-list+jwt"
    /// The media type of the hub's national revocation list (`typ`).
    public static let nationalRevocationsType = "onecard-national-revocations+jwt"
    /// The media type of the signed header of a revocation snapshot (`GET /api/v1/trust/revocations/snapshot`).
    public static let revocationSnapshotType = "onecard-revocations-snapshot+jwt"
    /// Header `alg` values a verifier accepts for Ed25519: `EdDSA` (RFC 8037) and `Ed25519` (RFC 9864, which deprecates
    /// the polymorphic `EdDSA`). Issuance keeps `EdDSA` until every gate accepts both.
    public static let acceptedAlgorithms: Set<String> = ["EdDSA", "Ed25519"]

    /// The protected header exactly as API.md fixes it: `{"alg":"EdDSA","kid":KID,"typ":TYP}` (`alg` `Ed25519` once a
    /// node issues under RFC 9864's name).
    public static func headerJSON(kid: String, typ: String, alg: QRAlgorithm = .edDSA) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"alg\":")
        w.string(alg.rawValue)
        w.raw(",\"kid\":")
        w.string(kid)
        w.raw(",\"typ\":")
        w.string(typ)
        w.raw("}")
        return w.bytes
    }

    /// The base64url form of `headerJSON(kid:typ:)`, the first segment of every token that key signs.
    public static func encodedHeader(kid: String, typ: String, alg: QRAlgorithm = .edDSA) -> [UInt8] {
        var out: [UInt8] = []
        Base64URL.append(headerJSON(kid: kid, typ: typ, alg: alg), to: &out)
        return out
    }

    /// Signs `payloadJSON` under an already encoded header and returns the compact serialisation.
    public static func sign(encodedHeader: [UInt8], payloadJSON: [UInt8], key: Curve25519.Signing.PrivateKey) throws -> String {
        var token: [UInt8] = []
        token.reserveCapacity(encodedHeader.count + 2 + Base64URL.encodedLength(payloadJSON.count) + 86)
        token.append(contentsOf: encodedHeader)
        token.append(UInt8(ascii: "."))
        Base64URL.append(payloadJSON, to: &token)
        let signature = try token.withUnsafeBytes { try key.signature(for: $0) }
        token.append(UInt8(ascii: "."))
        Base64URL.append(signature, to: &token)
        return String(decoding: token, as: UTF8.self)
    }

    /// Why `open` refused a JWS.
    public enum Failure: Error, Equatable, Sendable {
        /// Not three base64url segments, a header that is not JSON, or the wrong `alg`/`typ`.
        case malformed
        /// The `kid` names no key the caller trusts.
        case unknownKey(String)
        /// The signature does not verify.
        case badSignature
    }

    private struct Header: Decodable { var alg: String; var kid: String; var typ: String?; var crit: [String]? }

    /// Checks a compact JWS of media type `type` against the key `lookup` returns for its `kid`, and
    /// returns that `kid` and the payload bytes. For documents (revocation lists), not the QR hot path.
    public static func open(
        _ token: String, type: String, lookup: (String) -> Curve25519.Signing.PublicKey?
    ) throws(Failure) -> (kid: String, payload: [UInt8]) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2]),
              let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)),
              acceptedAlgorithms.contains(header.alg), header.typ == type, header.crit == nil
        else { throw .malformed }
        guard let key = lookup(header.kid) else { throw .unknownKey(header.kid) }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(signature, for: signingInput) else { throw .badSignature }
        return (header.kid, payload)
    }
}

/// The JWS `alg` a node issues QR tokens under. Verifiers accept both; issuance keeps `EdDSA` (RFC 8037) until every
/// gate runs a release that accepts `Ed25519` (RFC 9864), then a node switches with `onecard serve --qr-alg Ed25519`.
public enum QRAlgorithm: String, Sendable, CaseIterable {
    case edDSA = "EdDSA"
    case ed25519 = "Ed25519"
}

/// Appends JSON to a byte buffer; enough for the flat objects tokens carry.
package struct JSONWriter {
    package var bytes: [UInt8] = []

    package init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    package mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// An integer in decimal, written without an intermediate `String`.
    package mutating func int(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var rest = value.magnitude, count = 0
        // The digits from the last, then turned round in place.
        repeat { bytes.append(UInt8(ascii: "0") + UInt8(rest % 10)); rest /= 10; count += 1 } while rest > 0
        bytes[(bytes.count - count)...].reverse()
    }

    /// A JSON string literal with the escapes RFC 8259 §7 requires, in the short forms where there is one (as
    /// `JSONEncoder` writes them).
    package mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "f"))
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(b >> 4)]); bytes.append(hex[Int(b & 15)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
