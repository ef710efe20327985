import Crypto
import Foundation

/// A member's (or the hub's) Ed25519 key for signed federation exchange, kept in the data directory as
/// `federation.key` (base64 of the 32-byte seed, mode 0600) and made on first use. It is not a QR signing key:
/// it signs HTTP messages (RFC 9421) and, on the hub, the national lists.
public struct FederationKey: Sendable {
    public static let fileName = "federation.key"
    public let privateKey: Curve25519.Signing.PrivateKey
    public var publicKey: Curve25519.Signing.PublicKey { privateKey.publicKey }
    /// The key id the hub's JWS headers carry (as `SigningKey.kid`).
    public var kid: String { SigningKey.kid(for: publicKey) }

    public init(privateKey: Curve25519.Signing.PrivateKey) { self.privateKey = privateKey }

    /// Loads the key from `directory`, making it on first use.
    public static func loadOrCreate(in directory: URL, random: RandomSource = .system) throws -> FederationKey {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = directory.appendingPathComponent(fileName)
        if fm.fileExists(atPath: file.path) {
            let text = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let data = Data(base64Encoded: text), data.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data) else {
                throw KeyFileError(path: file.path)
            }
            return FederationKey(privateKey: key)
        }
        let seed = Data(random.bytes(32))
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        guard fm.createFile(atPath: file.path, contents: Data(seed.base64EncodedString().utf8), attributes: [.posixPermissions: 0o600]) else {
            throw KeyFileError(path: file.path)
        }
        return FederationKey(privateKey: key)
    }

    /// The public half as a JWK `{kty,crv,x,kid,alg}`.
    public var publicJWK: FederationPublicKey { FederationPublicKey(publicKey) }
}

/// A federation public key as exchanged between administrators (`onecard keys show`, `--hub-key`, `members add --key`).
public struct FederationPublicKey: Codable, Hashable, Sendable {
    public var kty: String
    public var crv: String
    public var x: String
    public var kid: String?
    public var alg: String?

    public init(_ key: Curve25519.Signing.PublicKey) {
        kty = "OKP"; crv = "Ed25519"; x = Base64URL.encode(key.rawRepresentation); kid = SigningKey.kid(for: key); alg = "Ed25519"
    }

    /// The usable key, or nil when this is not an Ed25519 public key.
    public var key: Curve25519.Signing.PublicKey? {
        guard kty == "OKP", crv == "Ed25519", let raw = Base64URL.decode(x), raw.count == 32 else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }

    /// Reads a key given as a JWK, or as `onecard keys show` prints it (`{"federationKey":JWK,…}`), or `@FILE` holding either.
    public static func parse(_ argument: String) throws(ConfigurationError) -> FederationPublicKey {
        var text = argument
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else { throw ConfigurationError("cannot read the key file \(path)") }
            text = String(decoding: data, as: UTF8.self)
        }
        struct Shown: Decodable { var federationKey: FederationPublicKey }
        let data = Data(text.utf8)
        let jwk = (try? JSONDecoder().decode(Shown.self, from: data))?.federationKey ?? (try? JSONDecoder().decode(FederationPublicKey.self, from: data))
        guard let jwk, jwk.key != nil else {
            throw ConfigurationError("not an Ed25519 public key (a JWK {\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":…} or the output of `onecard keys show`)")
        }
        return jwk
    }

    /// The JWK as compact JSON, keys sorted.
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! e.encode(self), as: UTF8.self)
    }
}

/// The hub's national trust list: every member region's QR signing keys, each with its `iss` and `alg` `Ed25519`,
/// signed by the hub as a compact JWS (`typ` `onecard-trust-list+jwt`). A gate holding the hub's key verifies any
/// province's QR code offline with it.
public struct TrustListDocument: Codable, Hashable, Sendable {
    /// Grows by one whenever a member's keys change.
    public var version: Int64
    public var issuedAt: Date
    /// After this a verifier should fetch a newer list (it may keep using this one while offline).
    public var expiresAt: Date
    public var keys: [JWK]

    public init(version: Int64, issuedAt: Date, expiresAt: Date, keys: [JWK]) {
        self.version = version; self.issuedAt = issuedAt; self.expiresAt = expiresAt; self.keys = keys
    }

    private enum CodingKeys: String, CodingKey { case version, issuedAt, expiresAt, keys }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Int64.self, forKey: .version)
        keys = try c.decode([JWK].self, forKey: .keys)
        guard let i = Timestamp.parse(try c.decode(String.self, forKey: .issuedAt)), let e = Timestamp.parse(try c.decode(String.self, forKey: .expiresAt))
        else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "issuedAt and expiresAt are RFC 3339 times")) }
        issuedAt = i; expiresAt = e
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(Timestamp.format(issuedAt), forKey: .issuedAt)
        try c.encode(Timestamp.format(expiresAt), forKey: .expiresAt)
        try c.encode(keys, forKey: .keys)
    }

    /// The keys as a JWKS a `QRVerifier` takes.
    public var jwks: JWKS { JWKS(keys: keys) }

    public func signed(with key: FederationKey) -> String {
        FederationJWS.sign(self, type: CompactJWS.trustListType, key: key)
    }

    public static func open(signed token: String, hubKey: Curve25519.Signing.PublicKey) throws -> TrustListDocument {
        try FederationJWS.open(token, type: CompactJWS.trustListType, key: hubKey)
    }
}

/// One line of the national revocation list: a member's revocation entry numbered in the hub's one sequence.
public struct NationalRevocation: Codable, Hashable, Sendable {
    public var seq: Int64
    public var entry: RevocationEntry

    public init(seq: Int64, entry: RevocationEntry) { self.seq = seq; self.entry = entry }

    private enum CodingKeys: String, CodingKey { case seq }

    public init(from decoder: any Decoder) throws {
        seq = try decoder.container(keyedBy: CodingKeys.self).decode(Int64.self, forKey: .seq)
        entry = try RevocationEntry(from: decoder)
        guard let iss = entry.iss, RegionCode.isProvinceCode(iss) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a national entry names its iss"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seq, forKey: .seq)
        try entry.encode(to: encoder)
    }
}

/// `GET /federation/v1/revocations?since=N`: `{seq,entries:[{seq,iss,cardHash|jti,status,at}]}`, signed by the hub.
public struct NationalRevocationList: Codable, Hashable, Sendable {
    public var seq: Int64
    public var entries: [NationalRevocation]

    public init(seq: Int64, entries: [NationalRevocation]) { self.seq = seq; self.entries = entries }

    public func signed(with key: FederationKey) -> String {
        FederationJWS.sign(self, type: CompactJWS.nationalRevocationsType, key: key)
    }

    public static func open(signed token: String, hubKey: Curve25519.Signing.PublicKey) throws -> NationalRevocationList {
        try FederationJWS.open(token, type: CompactJWS.nationalRevocationsType, key: hubKey)
    }
}

/// Compact JWS of the hub's documents, header `{"alg":"EdDSA","kid":…,"typ":…}`.
public enum FederationJWS {
    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    static func sign<T: Encodable>(_ value: T, type: String, key: FederationKey) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = try! encoder.encode(value)
        return try! CompactJWS.sign(encodedHeader: CompactJWS.encodedHeader(kid: key.kid, typ: type), payloadJSON: [UInt8](payload), key: key.privateKey)
    }

    static func open<T: Decodable>(_ token: String, type: String, key: Curve25519.Signing.PublicKey) throws -> T {
        let opened: (kid: String, payload: [UInt8])
        do {
            opened = try CompactJWS.open(token.trimmingCharacters(in: .whitespacesAndNewlines), type: type) { kid in
                kid == SigningKey.kid(for: key) ? key : nil
            }
        } catch {
            throw Refused(description: "not a \(type) signed by the hub's key (\(error))")
        }
        do { return try JSONDecoder().decode(T.self, from: Data(opened.payload)) } catch {
            throw Refused(description: "the \(type) payload is not as documented (\(error))")
        }
    }
}

/// The pseudonymous key a person is claimed under at the hub (一人一卡 nationwide): HMAC-SHA256 of the ID type and
/// number under a key every member holds and the hub does not, so the hub stores no ID number and cannot compute one.
public struct PersonKeyHasher: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// Reads the shared key given as base64 of 32 bytes, or `@FILE` holding that.
    public static func parse(_ argument: String) throws(ConfigurationError) -> PersonKeyHasher {
        var text = argument
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else { throw ConfigurationError("cannot read the person key file \(path)") }
            text = String(decoding: data, as: UTF8.self)
        }
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else {
            throw ConfigurationError("--person-key: base64 of 32 random bytes (the same on every member), or @FILE holding it")
        }
        return PersonKeyHasher(key: SymmetricKey(data: raw))
    }

    /// Hex of the keyed hash of `idType:IDNUMBER`.
    public func key(for id: IdentityNumber) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("onecard-person-v1:\(id.type.rawValue):\(id.value.uppercased())".utf8), using: key)
        return Hex.encode(Array(mac))
    }
}
