import Crypto
import Foundation

/// One Ed25519 key that signs QR tokens and revocation documents for an issuing region.
public struct SigningKey: Sendable {
    /// Key id: base64url of the first 8 bytes of SHA-256 of the raw public key.
    public let kid: String
    /// The secret half; never leaves the node (saved only by `SigningKeyRing.save(in:)`).
    public let privateKey: Curve25519.Signing.PrivateKey
    /// The half published in the JWKS.
    public let publicKey: Curve25519.Signing.PublicKey
    /// When the key was made.
    public let createdAt: Date
    /// When a newer key took over; nil for the current key.
    public var retiredAt: Date?
    /// The JWS header `{"alg":"EdDSA","kid":…,"typ":"onecard-qr+jwt"}` this key puts on tokens, encoded once.
    public let encodedQRHeader: [UInt8]
    /// The same header with RFC 9864's `"alg":"Ed25519"`, for a node that issues under that name.
    public let encodedQRHeaderEd25519: [UInt8]

    /// A key from its secret half; the `kid` and the QR header are derived here, once.
    public init(privateKey: Curve25519.Signing.PrivateKey, createdAt: Date, retiredAt: Date? = nil) {
        self.privateKey = privateKey
        publicKey = privateKey.publicKey
        kid = Self.kid(for: publicKey)
        self.createdAt = createdAt
        self.retiredAt = retiredAt
        encodedQRHeader = CompactJWS.encodedHeader(kid: kid, typ: CompactJWS.qrTokenType)
        encodedQRHeaderEd25519 = CompactJWS.encodedHeader(kid: kid, typ: CompactJWS.qrTokenType, alg: .ed25519)
    }

    /// A key from its stored secret half (32 bytes); nil when they are not an Ed25519 seed.
    public init?(rawPrivateKey: [UInt8], createdAt: Date, retiredAt: Date?) {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: rawPrivateKey) else { return nil }
        self.init(privateKey: key, createdAt: createdAt, retiredAt: retiredAt)
    }

    /// The secret half as stored (32 bytes).
    public var rawPrivateKey: [UInt8] { Array(privateKey.rawRepresentation) }

    /// The key id of a public key, as every OneCard node computes it.
    public static func kid(for publicKey: Curve25519.Signing.PublicKey) -> String {
        Base64URL.encode(Array(SHA256.hash(data: publicKey.rawRepresentation).prefix(8)))
    }

    /// This key as a JWKS entry for the region `iss`.
    public func jwk(issuer iss: String) -> JWK {
        JWK(x: Base64URL.encode(publicKey.rawRepresentation), kid: kid, iss: iss)
    }
}

/// The signing keys of one issuing region: the current key, and retired keys kept while tokens they
/// signed can still be presented (`retiredAt + tokenLifetime + skew`), so rotation rejects nothing in flight.
public struct SigningKeyRing: Sendable {
    /// The issuing region code (6 digits) every key signs for; the `iss` of its tokens and JWKS entries.
    public let region: String
    /// Every key still published, the current one first.
    public private(set) var keys: [SigningKey]
    /// How long a QR token lives (`exp - iat`).
    public let tokenLifetime: TimeInterval
    /// The clock difference terminals tolerate.
    public let skew: TimeInterval

    /// The key that signs new tokens.
    public var current: SigningKey { keys[0] }

    /// A ring with one new key made from `random`.
    public init(region: String, createdAt: Date, random: RandomSource = .system, tokenLifetime: TimeInterval = 60, skew: TimeInterval = 30) {
        self.region = region
        self.tokenLifetime = tokenLifetime
        self.skew = skew
        keys = [Self.newKey(at: createdAt, random: random)]
    }

    private init(region: String, keys: [SigningKey], tokenLifetime: TimeInterval, skew: TimeInterval) {
        self.region = region; self.keys = keys; self.tokenLifetime = tokenLifetime; self.skew = skew
    }

    /// A ring as kept elsewhere (the database): the current key (the one not retired, the newest) first. Nil without one.
    public init?(region: String, stored: [SigningKey], tokenLifetime: TimeInterval = 60, skew: TimeInterval = 30) {
        let current = stored.filter { $0.retiredAt == nil }.max { $0.createdAt < $1.createdAt }
        guard let current else { return nil }
        let retired = stored.filter { $0.kid != current.kid }.sorted { ($0.retiredAt ?? $0.createdAt) > ($1.retiredAt ?? $1.createdAt) }
        self.init(region: region, keys: [current] + retired, tokenLifetime: tokenLifetime, skew: skew)
    }

    /// The kid of each key and whether it is retired: two rings with the same answer sign and publish alike.
    public var fingerprint: [String] { keys.map { "\($0.kid):\($0.retiredAt == nil ? "current" : "retired")" } }

    private static func newKey(at date: Date, random: RandomSource) -> SigningKey {
        // 32 random bytes are an Ed25519 seed; taking them from `random` lets tests make known keys.
        SigningKey(privateKey: try! Curve25519.Signing.PrivateKey(rawRepresentation: random.bytes(32)), createdAt: date)
    }

    /// Makes a new current key at `date`; the old one retires but stays published until its tokens lapse.
    public mutating func rotate(at date: Date, random: RandomSource = .system) {
        keys[0].retiredAt = date
        keys.insert(Self.newKey(at: date, random: random), at: 0)
        prune(at: date)
    }

    /// Drops retired keys no token they signed can outlive.
    public mutating func prune(at date: Date) {
        keys.removeAll { key in
            guard let retired = key.retiredAt else { return false }
            return retired + tokenLifetime + skew < date
        }
    }

    /// The key with this `kid`, if the ring still holds it.
    public func key(kid: String) -> SigningKey? { keys.first { $0.kid == kid } }

    /// The public keys as API.md's JWKS (`GET /api/v1/trust/jwks`); retired keys still in their window included.
    public func jwks(at date: Date) -> JWKS {
        JWKS(keys: keys.filter { $0.retiredAt.map { $0 + tokenLifetime + skew >= date } ?? true }.map { $0.jwk(issuer: region) })
    }

    // MARK: persistence

    /// The file the ring is kept in, inside the directory the caller chooses.
    public static let fileName = "signing-keys.json"

    private struct Stored: Codable {
        struct Key: Codable { var d: String; var createdAt: String; var retiredAt: String? }
        var region: String
        var tokenLifetime: Double
        var skew: Double
        var keys: [Key]
    }

    /// A key file that cannot be read or written; names the file for the operator.
    public struct FileError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "signing key file \(path): \(reason)" }
    }

    /// Writes the ring to `directory/signing-keys.json`, readable by the owner only (mode 0600).
    public func save(in directory: URL) throws {
        let stored = Stored(region: region, tokenLifetime: tokenLifetime, skew: skew, keys: keys.map {
            .init(d: Base64URL.encode($0.privateKey.rawRepresentation), createdAt: Timestamp.format($0.createdAt),
                  retiredAt: $0.retiredAt.map(Timestamp.format))
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(stored)
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = directory.appendingPathComponent(Self.fileName)
        // Write a private temporary file and rename it, so a crash never leaves a half-written key file
        // and the secret is never readable by others, not even for a moment.
        let temporary = directory.appendingPathComponent(".\(Self.fileName).\(UUID().uuidString)")
        guard fm.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw FileError(path: temporary.path, reason: "cannot be written")
        }
        if rename(temporary.path, file.path) != 0 {
            try? fm.removeItem(at: temporary)
            throw FileError(path: file.path, reason: "cannot be replaced (errno \(errno))")
        }
    }

    /// Reads a ring written by `save(in:)`.
    public static func load(from directory: URL) throws -> SigningKeyRing {
        let file = directory.appendingPathComponent(fileName)
        let stored: Stored
        do { stored = try JSONDecoder().decode(Stored.self, from: Data(contentsOf: file)) } catch {
            throw FileError(path: file.path, reason: "unreadable or not a key ring (\(error))")
        }
        var keys: [SigningKey] = []
        for k in stored.keys {
            guard let d = Base64URL.decode(k.d), let created = Timestamp.parse(k.createdAt),
                  let privateKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: d)
            else { throw FileError(path: file.path, reason: "a key entry is corrupt") }
            keys.append(SigningKey(privateKey: privateKey, createdAt: created, retiredAt: k.retiredAt.flatMap(Timestamp.parse)))
        }
        guard let first = keys.first, first.retiredAt == nil else { throw FileError(path: file.path, reason: "no current key") }
        return SigningKeyRing(region: stored.region, keys: keys, tokenLifetime: stored.tokenLifetime, skew: stored.skew)
    }

    /// Loads the ring from `directory`, or makes and saves a new one for `region` on first start.
    public static func loadOrCreate(in directory: URL, region: String, clock: Clock = .system, random: RandomSource = .system) throws -> SigningKeyRing {
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent(fileName).path) {
            return try load(from: directory)
        }
        let ring = SigningKeyRing(region: region, createdAt: clock.now(), random: random)
        try ring.save(in: directory)
        return ring
    }
}
