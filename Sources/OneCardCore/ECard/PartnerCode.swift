import Crypto
import Foundation

/// Another platform's code accepted like the card (多码融合、一码通用: 京津冀 arts. 17 and 19 ask the three places to
/// make their codes work as one; 浙江 art. 3 and 重庆 art. 7 join other codes to the card's service system). A city's
/// government-service code or a transit app's code is registered with its public keys and the catalogue items it may
/// be used for; a holder links their account there to their card once; a venue then decides on that code exactly as on
/// the holder's own card.
public struct CodeIssuer: Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case active, suspended }

    /// The issuer's code, its tokens' `iss`, e.g. `BJ-JINGTONG`.
    public var code: String
    public var name: String
    /// Its Ed25519 public keys (RFC 8037 OKP).
    public var keys: [PartnerKey]
    /// The catalogue items its code may be used for.
    public var itemCodes: [String]
    public var status: Status
    public var registeredAt: Date
    public var changedAt: Date

    public init(code: String, name: String, keys: [PartnerKey], itemCodes: [String], status: Status = .active, registeredAt: Date, changedAt: Date) {
        self.code = code; self.name = name; self.keys = keys; self.itemCodes = itemCodes; self.status = status
        self.registeredAt = registeredAt; self.changedAt = changedAt
    }

    /// A code: 2 to 40 letters, digits, '-', '_' or '.' (it is a token's `iss` and part of URLs).
    public static func validCode(_ code: String) -> Bool {
        (2...40).contains(code.utf8.count) && code.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    /// Checks what an administrator registers; the keys were checked when parsed.
    public func validate() throws(DomainError) {
        guard Self.validCode(code) else { throw .invalidField("code", "2 to 40 letters, digits, '-', '_' or '.'") }
        try TextRule.check(name, "name", max: 100, notBlank: true, oneLine: true)
        guard (1...50).contains(itemCodes.count), Set(itemCodes).count == itemCodes.count else {
            throw .invalidField("itemCodes", "1 to 50 distinct catalogue item codes")
        }
    }
}

/// One public key of a partner's JWKS: only Ed25519 signing keys are taken (the algorithms OneCard's own tokens use).
public struct PartnerKey: Codable, Sendable, Equatable {
    /// The key id a token's header names; optional when the issuer has one key.
    public var kid: String?
    /// The raw 32-byte public key, base64url.
    public var x: String

    public init(kid: String?, x: String) { self.kid = kid; self.x = x }

    var publicKey: Curve25519.Signing.PublicKey? {
        Base64URL.decode(x).flatMap { $0.count == 32 ? try? Curve25519.Signing.PublicKey(rawRepresentation: $0) : nil }
    }

    /// A JWKS entry as sent; only what an Ed25519 key has is read.
    public struct Entry: Codable, Sendable {
        public var kty: String?, crv: String?, x: String?, kid: String?, use: String?
        public init(kty: String? = "OKP", crv: String? = "Ed25519", x: String?, kid: String? = nil, use: String? = "sig") {
            self.kty = kty; self.crv = crv; self.x = x; self.kid = kid; self.use = use
        }
    }
    /// A JWKS document `{"keys":[...]}`.
    public struct Document: Codable, Sendable {
        public var keys: [Entry]
        public init(keys: [Entry]) { self.keys = keys }
    }

    /// The keys of a JWKS document (`{"keys":[{kty:"OKP",crv:"Ed25519",x,kid?,use?}]}`), or why it cannot be used:
    /// 1 to 10 keys, each an Ed25519 signing key, kids distinct, and a kid on every key when there are several.
    public static func parse(_ doc: Document) throws(DomainError) -> [PartnerKey] {
        guard (1...10).contains(doc.keys.count) else { throw DomainError(.invalidJwks, "jwks: 1 to 10 keys") }
        var keys: [PartnerKey] = []
        for (i, e) in doc.keys.enumerated() {
            // RFC 7517 §4.2: a key meant for encryption must not verify signatures.
            guard e.kty == "OKP", e.crv == "Ed25519", e.use == nil || e.use == "sig", let x = e.x,
                  PartnerKey(kid: e.kid, x: x).publicKey != nil
            else { throw DomainError(.invalidJwks, "jwks.keys[\(i)]: an Ed25519 signing key (kty OKP, crv Ed25519, x: 32 bytes base64url)") }
            if let kid = e.kid, kid.isEmpty || kid.utf8.count > 100 { throw DomainError(.invalidJwks, "jwks.keys[\(i)].kid: 1 to 100 characters") }
            keys.append(PartnerKey(kid: e.kid, x: x))
        }
        if keys.count > 1, keys.contains(where: { $0.kid == nil }) || Set(keys.compactMap(\.kid)).count != keys.count {
            throw DomainError(.invalidJwks, "jwks: several keys need distinct kids")
        }
        return keys
    }

    /// The keys as a JWKS document.
    public static func document(_ keys: [PartnerKey]) -> Document {
        Document(keys: keys.map { Entry(x: $0.x, kid: $0.kid) })
    }
}

/// A partner's token: a compact JWS, `EdDSA` or `Ed25519`, whose payload names `iss` (the issuer's code), `sub` (the
/// account at the partner) and `exp`; `iat`, `nbf` and `jti` are optional.
public enum PartnerToken {
    /// A token's claims, or the reason a venue gets.
    public enum Outcome: Sendable, Equatable {
        case valid(Claims)
        case denied(DenialCode)
    }

    public struct Claims: Sendable, Equatable {
        public var sub: String
        public var exp: Int64
        /// The token's `jti`, or its SHA-256 when it has none: what a replay is recognised by.
        public var id: String
    }

    /// The longest a partner's code may still be valid when presented: a code shown at a gate is short-lived, like the
    /// card's own QR code (API.md: 60 s by default; the verifier's `maxTokenLifetime` 300 s).
    public static let maxRemainingLifetime: TimeInterval = 300
    /// The clock difference tolerated, as for the card's own tokens.
    public static let skew: TimeInterval = 30

    private struct Header: Decodable { var alg: String; var kid: String?; var crit: [String]? }
    private struct Payload: Decodable { var iss: String; var sub: String; var exp: Int64; var iat: Int64?; var nbf: Int64?; var jti: String? }

    /// Verifies `token` as `issuer`'s at `now`: the reason a venue gets when it fails (`token_invalid`,
    /// `token_expired`, `unknown_issuer` for an issuer not registered or suspended).
    public static func verify(_ token: String, issuer: CodeIssuer?, at now: Date) -> Outcome {
        guard let issuer, issuer.status == .active else { return .denied(.unknownIssuer) }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 8192, parts.count == 3,
              let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2]), signature.count == 64,
              let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)),
              CompactJWS.acceptedAlgorithms.contains(header.alg), header.crit == nil
        else { return .denied(.tokenInvalid) }
        let key: PartnerKey? = if let kid = header.kid { issuer.keys.first { $0.kid == kid } }
            else if issuer.keys.count == 1 { issuer.keys.first } else { nil }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard let publicKey = key?.publicKey, publicKey.isValidSignature(signature, for: signingInput),
              let claims = try? JSONDecoder().decode(Payload.self, from: Data(payloadBytes)),
              claims.iss == issuer.code, (1...200).contains(claims.sub.utf8.count)
        else { return .denied(.tokenInvalid) }
        let t = now.timeIntervalSince1970
        if Double(claims.exp) + skew < t { return .denied(.tokenExpired) }
        // A code valid for longer than a shown code ever is, or not valid yet, is not one to accept at a gate.
        guard Double(claims.exp) - t <= maxRemainingLifetime + skew, (claims.nbf ?? claims.iat).map({ Double($0) - skew <= t }) ?? true else {
            return .denied(.tokenInvalid)
        }
        let id = claims.jti.flatMap { (1...200).contains($0.utf8.count) ? $0 : nil } ?? Hex.encode(SHA256.hash(data: Data(token.utf8)))
        return .valid(Claims(sub: claims.sub, exp: claims.exp, id: id))
    }
}
