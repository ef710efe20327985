import Foundation

/// One public key of the trust list: an Ed25519 key (RFC 8037 OKP) and the region it signs for.
public struct JWK: Codable, Hashable, Sendable {
    /// Always `OKP` (RFC 8037).
    public var kty: String
    /// Always `Ed25519`.
    public var crv: String
    /// The raw 32-byte public key, base64url.
    public var x: String
    /// Key id, as in the JWS header of what it signs.
    public var kid: String
    /// `sig`: the key only verifies signatures.
    public var use: String?
    /// The issuing region code whose tokens this key may sign (a OneCard extension member).
    public var iss: String
    /// `Ed25519` in the hub's national trust list (RFC 9864's fully specified name); absent in a node's own list.
    public var alg: String?

    /// An Ed25519 signing key entry.
    public init(x: String, kid: String, iss: String) {
        kty = "OKP"; crv = "Ed25519"; use = "sig"
        self.x = x; self.kid = kid; self.iss = iss
    }
}

/// The trust list as published at `GET /api/v1/trust/jwks`: `{"keys":[{kty,crv,x,kid,use,iss}]}`.
public struct JWKS: Codable, Hashable, Sendable {
    /// The keys, one per `kid`.
    public var keys: [JWK]

    /// A trust list of `keys`.
    public init(keys: [JWK]) { self.keys = keys }

    /// Parses a JWKS document.
    public init(json: Data) throws { self = try JSONDecoder().decode(JWKS.self, from: json) }

    /// The document as JSON with sorted keys, so equal sets publish equal bytes (cacheable, diffable).
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(self)
    }

    /// This node's keys together with its peers' (federation), one entry per `kid`, first one wins.
    public func merging(_ other: JWKS) -> JWKS {
        var seen = Set(keys.map(\.kid))
        return JWKS(keys: keys + other.keys.filter { seen.insert($0.kid).inserted })
    }
}
