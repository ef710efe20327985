import Crypto
import Foundation

/// The signing profile every node↔hub message follows (API.md "Federation"): label `sig1`,
/// `alg="ed25519"`, `keyid` = the member's region code (`hub` for the hub), `created` and `nonce`;
/// a request covers `"@method" "@target-uri"` and, with a body, `"content-digest"`; a response covers
/// `"@status" "content-digest"`.
public enum FederationSignature {
    public static let label = "sig1"
    public static let algorithm = "ed25519"
    /// How far `created` may be from the receiver's clock, either way.
    public static let maxSkew: TimeInterval = 300

    static func requestComponents(hasBody: Bool) -> [String] {
        hasBody ? ["@method", "@target-uri", "content-digest"] : ["@method", "@target-uri"]
    }

    static let responseComponents = ["@status", "content-digest"]
}

/// Signs outgoing federation requests and responses with this member's Ed25519 key.
public struct FederationSigner: Sendable {
    public let keyID: String
    let key: Curve25519.Signing.PrivateKey
    let clock: Clock
    let random: RandomSource

    public init(keyID: String, key: Curve25519.Signing.PrivateKey, clock: Clock = .system, random: RandomSource = .system) {
        self.keyID = keyID
        self.key = key
        self.clock = clock
        self.random = random
    }

    /// The fields to add to a request: `Content-Digest` when there is a body, `Signature-Input`, `Signature`.
    public func signRequest(method: String, targetURI: String, body: Data? = nil) throws -> [(name: String, value: String)] {
        let hasBody = !(body ?? Data()).isEmpty
        var fields: [(name: String, value: String)] = []
        if let body, hasBody { fields.append(("Content-Digest", ContentDigest.sha256(body))) }
        let message = HTTPMessageParts.request(method: method, targetURI: targetURI, fields: fields)
        return fields + (try sign(message, components: FederationSignature.requestComponents(hasBody: hasBody)))
    }

    /// The fields to add to a response: `Content-Digest` (of the body, even an empty one), `Signature-Input`, `Signature`.
    public func signResponse(status: Int, body: Data) throws -> [(name: String, value: String)] {
        let fields = [(name: "Content-Digest", value: ContentDigest.sha256(body))]
        return fields + (try sign(.response(status: status, fields: fields), components: FederationSignature.responseComponents))
    }

    func sign(_ message: HTTPMessageParts, components: [String]) throws -> [(name: String, value: String)] {
        let created = Int64(clock.now().timeIntervalSince1970.rounded(.down))
        let nonce = Data(random.bytes(16)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let input = SignatureInput(components: components, created: created, nonce: nonce, keyID: keyID)
        let signature = try HTTPMessageSignature.sign(base: try HTTPMessageSignature.base(input, of: message), with: key)
        let (inputField, signatureField) = HTTPMessageSignature.fields(label: FederationSignature.label, input: input, signature: signature)
        return [("Signature-Input", inputField), ("Signature", signatureField)]
    }
}

/// A federation signature that verified: who signed, when, with which nonce.
public struct VerifiedSignature: Sendable, Equatable {
    public let keyID: String
    public let created: Date
    public let nonce: String
    public let components: [String]
}

/// Checks incoming federation messages. Refusals are `DomainError`s: `signature_invalid` (unsigned,
/// malformed, wrong coverage, a signature or digest that does not verify), `unknown_member`,
/// `signature_expired` (`created` more than 300 s from now), `nonce_replayed`.
public struct FederationVerifier: Sendable {
    /// The public key of a member by its `keyid`; nil when the member is unknown or suspended.
    public typealias KeyLookup = @Sendable (_ keyID: String) async throws -> Curve25519.Signing.PublicKey?
    /// Records a nonce and answers whether this is its first use; the caller keeps the memory
    /// (at least as long as `created` stays within the allowed skew).
    public typealias FirstUse = @Sendable (_ keyID: String, _ nonce: String, _ created: Date) async throws -> Bool

    let keys: KeyLookup
    let firstUse: FirstUse
    let clock: Clock

    public init(keys: @escaping KeyLookup, firstUse: @escaping FirstUse, clock: Clock = .system) {
        self.keys = keys
        self.firstUse = firstUse
        self.clock = clock
    }

    /// Verifies a request as received: `targetURI` is the full URI the receiver saw, `body` the raw content.
    public func verifyRequest(method: String, targetURI: String, fields: [(name: String, value: String)], body: Data) async throws -> VerifiedSignature {
        let message = HTTPMessageParts.request(method: method, targetURI: targetURI, fields: fields)
        let needsDigest = !body.isEmpty || message.field("Content-Digest") != nil
        return try await verify(message, body: body, required: FederationSignature.requestComponents(hasBody: needsDigest))
    }

    /// Verifies a response as received.
    public func verifyResponse(status: Int, fields: [(name: String, value: String)], body: Data) async throws -> VerifiedSignature {
        try await verify(.response(status: status, fields: fields), body: body, required: FederationSignature.responseComponents)
    }

    func verify(_ message: HTTPMessageParts, body: Data, required: [String]) async throws -> VerifiedSignature {
        let (input, signature) = try HTTPMessageSignature.read(label: FederationSignature.label, from: message)
        guard input.algorithm == FederationSignature.algorithm else {
            throw HTTPMessageSignature.invalid("alg must be \"\(FederationSignature.algorithm)\"")
        }
        guard let keyID = input.keyID, let created = input.created, let nonce = input.nonce, !nonce.isEmpty else {
            throw HTTPMessageSignature.invalid("keyid, created and nonce are required")
        }
        for component in required where !input.components.contains(component) {
            throw HTTPMessageSignature.invalid("the signature does not cover \(component)")
        }
        guard let publicKey = try await keys(keyID) else { throw DomainError(.unknownMember, "no active member with key \(keyID)") }
        guard try HTTPMessageSignature.verify(signature, input: input, message: message, publicKey: publicKey) else {
            throw HTTPMessageSignature.invalid("the signature does not verify")
        }
        if input.components.contains("content-digest") { try ContentDigest.verify(message.field("Content-Digest"), body: body) }
        let now = clock.now()
        let createdAt = Date(timeIntervalSince1970: TimeInterval(created))
        guard abs(createdAt.timeIntervalSince(now)) <= FederationSignature.maxSkew else {
            throw DomainError(.signatureExpired, "created \(created) is more than \(Int(FederationSignature.maxSkew)) s from now")
        }
        if let expires = input.expires, TimeInterval(expires) < now.timeIntervalSince1970 {
            throw DomainError(.signatureExpired, "the signature expired at \(expires)")
        }
        guard try await firstUse(keyID, nonce, createdAt) else { throw DomainError(.nonceReplayed, "nonce \(nonce) was seen before") }
        return VerifiedSignature(keyID: keyID, created: createdAt, nonce: nonce, components: input.components)
    }
}
