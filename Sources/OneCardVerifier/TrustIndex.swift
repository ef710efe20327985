import Crypto
import Foundation
import OneCardCore

/// A trusted public key and the region it may sign for.
struct TrustedKey: Sendable {
    let kid: String
    let iss: String
    let publicKey: Curve25519.Signing.PublicKey
}

/// The trust list prepared for look-ups, built once per JWKS and then only read.
///
/// Every token a key signs starts with the same header segment, so besides the usual `kid` table the
/// index keeps each key's exact encoded header: the common case is a hash and a `memcmp` over the
/// token's own bytes, with no base64 and no JSON. Headers written differently (another JOSE library)
/// take the slow path: decode, parse, check `alg` and `typ`, look up `kid`.
final class TrustIndex: Sendable {
    private struct HeaderEntry: Sendable { let header: [UInt8]; let key: TrustedKey }

    private let byHeader: [UInt64: [HeaderEntry]]
    let byKid: [String: TrustedKey]
    /// The document the index was built from (to check signed revocation documents against).
    let jwks: JWKS
    /// How many JWKS entries were left out because they are not usable Ed25519 signing keys of a region.
    let skipped: Int

    init(_ jwks: JWKS) {
        self.jwks = jwks
        var byKid: [String: TrustedKey] = [:]
        var byHeader: [UInt64: [HeaderEntry]] = [:]
        var skipped = 0
        for jwk in jwks.keys {
            // RFC 7517 §4.2: a key meant for encryption must not verify signatures.
            guard jwk.kty == "OKP", jwk.crv == "Ed25519", jwk.use == nil || jwk.use == "sig", Self.isRegion(jwk.iss),
                  let x = Base64URL.decode(jwk.x), x.count == 32,
                  let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: x), byKid[jwk.kid] == nil
            else { skipped += 1; continue }
            let key = TrustedKey(kid: jwk.kid, iss: jwk.iss, publicKey: publicKey)
            byKid[jwk.kid] = key
            let header = CompactJWS.encodedHeader(kid: jwk.kid, typ: CompactJWS.qrTokenType)
            let hash = header.withUnsafeBytes { Self.hash($0) }
            byHeader[hash, default: []].append(HeaderEntry(header: header, key: key))
        }
        self.byKid = byKid
        self.byHeader = byHeader
        self.skipped = skipped
    }

    static func isRegion(_ code: String) -> Bool {
        code.utf8.count == 6 && code.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// FNV-1a: cheap, and collisions only cost a `memcmp`.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    enum Lookup { case key(TrustedKey), unknownKid, invalid }

    /// The key for a token's encoded header segment.
    func lookup(encodedHeader segment: UnsafeRawBufferPointer) -> Lookup {
        if let entries = byHeader[Self.hash(segment)] {
            for entry in entries where entry.header.count == segment.count {
                if entry.header.withUnsafeBytes({ memcmp($0.baseAddress!, segment.baseAddress!, segment.count) }) == 0 {
                    return .key(entry.key)
                }
            }
        }
        // A header is tiny; anything long is not one of ours and is refused before decoding.
        guard segment.count <= 1024, let length = Base64URL.decodedLength(segment.count) else { return .invalid }
        return withUnsafeTemporaryAllocation(byteCount: max(length, 1), alignment: 1) { buffer -> Lookup in
            guard let n = Base64URL.decode(segment, into: buffer) else { return .invalid }
            switch ClaimsParser.header(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) {
            case .invalid: return .invalid
            case .kid(let kid): return byKid[kid].map(Lookup.key) ?? .unknownKid
            }
        }
    }
}
