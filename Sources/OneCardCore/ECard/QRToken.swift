import Crypto
import Foundation

/// The claims of a QR token (API.md "QR token format"). Times are NumericDate: whole seconds since 1970.
public struct QRClaims: Codable, Hashable, Sendable {
    /// Issuing region code, 6 digits.
    public var iss: String
    /// Pseudonym of the card, different on every token (`PseudonymCipher`); never an ID or card number.
    public var sub: String
    /// Issued at (seconds since 1970).
    public var iat: Int64
    /// Expires at (seconds since 1970): `iat` + the issuer's token lifetime.
    public var exp: Int64
    /// Unique token id: base64url of 16 random bytes. Replay caches and `jti` revocations key on it.
    public var jti: String
    /// Entitlement codes (`Entitlement`).
    public var ent: [String]

    /// Claims as given; `QRTokenIssuer` is what makes them for real tokens.
    public init(iss: String, sub: String, iat: Int64, exp: Int64, jti: String, ent: [String]) {
        self.iss = iss; self.sub = sub; self.iat = iat; self.exp = exp; self.jti = jti; self.ent = ent
    }

    /// `iat` as a date.
    public var issuedAt: Date { Date(timeIntervalSince1970: TimeInterval(iat)) }
    /// `exp` as a date.
    public var expiresAt: Date { Date(timeIntervalSince1970: TimeInterval(exp)) }

    /// The payload JSON in the order the issuer writes it: `{"iss","sub","iat","exp","jti","ent"}`.
    public func json() -> [UInt8] {
        var w = JSONWriter(capacity: 160)
        w.raw("{\"iss\":"); w.string(iss)
        w.raw(",\"sub\":"); w.string(sub)
        w.raw(",\"iat\":"); w.int(iat)
        w.raw(",\"exp\":"); w.int(exp)
        w.raw(",\"jti\":"); w.string(jti)
        w.raw(",\"ent\":[")
        for (i, code) in ent.enumerated() {
            if i > 0 { w.raw(",") }
            w.string(code)
        }
        w.raw("]}")
        return w.bytes
    }
}

/// A freshly issued token with what the holder's app shows next to it.
public struct IssuedQRToken: Sendable, Equatable {
    /// The compact JWS to put in the QR code.
    public let token: String
    /// What the token says, for the caller's records (`jti` for revocation, `exp` for the app).
    public let claims: QRClaims
    /// When the token stops being accepted (before the verifier's skew).
    public var expiresAt: Date { claims.expiresAt }
}

/// Issues QR tokens for the cards of one region: pseudonymous `sub`, random `jti`, `exp = iat + lifetime`,
/// signed with the key the caller passes (normally `SigningKeyRing.current`).
///
/// The JWS is written by hand instead of through JWTKit: JWTKit's async key collection and JSONEncoder
/// cost more than the goal allows next to one Ed25519 signature (Benchmarks/RESULTS.md), and its header
/// member order is not fixed; the output is the same standard JWS, and the tests verify issued tokens
/// with JWTKit. Inject `RandomSource.systemBuffered` (the default) rather than `.system`, whose
/// per-byte system calls alone cost 40 % of a signature.
public struct QRTokenIssuer: Sendable {
    /// The issuing region code, the `iss` of every token.
    public let region: String
    /// `exp - iat`, 60 s by default (API.md).
    public let lifetime: TimeInterval
    private let pseudonyms: PseudonymCipher
    private let clock: Clock
    private let random: RandomSource
    /// The header `alg` it writes (`EdDSA` until every gate accepts `Ed25519`).
    public let algorithm: QRAlgorithm

    /// An issuer for `region`; time from `clock`, `jti`s from `random`.
    public init(region: String, pseudonyms: PseudonymCipher, clock: Clock = .system, random: RandomSource = .systemBuffered, lifetime: TimeInterval = 60,
                algorithm: QRAlgorithm = .edDSA) {
        self.region = region; self.pseudonyms = pseudonyms; self.clock = clock; self.random = random; self.lifetime = lifetime
        self.algorithm = algorithm
    }

    /// A new token for `card` (which the caller has checked is `active`) carrying `entitlements`.
    public func issue(for card: CardNumber, entitlements: [String], key: SigningKey) -> IssuedQRToken {
        let iat = Int64(clock.now().timeIntervalSince1970.rounded(.down))
        let jti = Base64URL.encode(random.bytes(16))
        let claims = QRClaims(iss: region, sub: pseudonyms.seal(card, jti: jti), iat: iat, exp: iat + Int64(lifetime), jti: jti, ent: entitlements)
        // Ed25519 signing only fails on a broken BoringSSL; there is no input that makes it throw.
        let header = algorithm == .edDSA ? key.encodedQRHeader : key.encodedQRHeaderEd25519
        let token = try! CompactJWS.sign(encodedHeader: header, payloadJSON: claims.json(), key: key.privateKey)
        return IssuedQRToken(token: token, claims: claims)
    }

    /// The card behind a token this node issued: `open(claims.sub, jti: claims.jti)`.
    public func card(of claims: QRClaims) throws(PseudonymCipher.Failure) -> CardNumber {
        try pseudonyms.open(claims.sub, jti: claims.jti)
    }
}
