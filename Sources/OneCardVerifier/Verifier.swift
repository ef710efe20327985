import Crypto
import Foundation
import OneCardCore

/// What a terminal does with a presented QR token.
public enum Decision: Hashable, Sendable {
    /// Signed by a trusted issuer, in date, not revoked and not seen before: these are its claims.
    case valid(QRClaims)
    /// Refused, with the API reason code.
    case denied(DenialReason)

    /// Whether the token was accepted.
    public var isValid: Bool { if case .valid = self { true } else { false } }
}

/// Why a QR token was refused; raw values are the API's reason codes.
public enum DenialReason: String, Hashable, Sendable, CaseIterable {
    /// Malformed, bad base64url, wrong `alg` or `typ`, bad signature, bad or inconsistent claims,
    /// or issued in the future (`iat - skew > now`).
    case tokenInvalid = "token_invalid"
    /// The `kid` is not in the trust list, or `iss` is not the region the key signs for.
    case unknownIssuer = "unknown_issuer"
    /// `exp + skew < now`.
    case tokenExpired = "token_expired"
    /// Listed by `jti` in a revocation document (its card was revoked while the token was out).
    case tokenRevoked = "token_revoked"
    /// Accepted before by this verifier.
    case tokenReplayed = "token_replayed"
    /// The issuer wants this token, or while its node is in incident mode every token, checked online (issue 17):
    /// the gate refuses it offline and sends the holder to an online check.
    case onlineCheckRequired = "online_check_required"
}

/// The offline verifier a venue terminal embeds: a trust list (JWKS), revocation deltas, a replay cache.
/// Safe to share between any number of tasks; verifications take no lock longer than a table look-up,
/// and the signature check, the expensive part, takes none.
public final class QRVerifier: Sendable {
    /// Tolerances and bounds.
    public struct Configuration: Sendable {
        /// Clock difference tolerated between issuer and terminal, both ways.
        public var skew: TimeInterval = 30
        /// Longest `exp - iat` accepted; longer-lived tokens are not OneCard tokens (`token_invalid`).
        /// Also how long a `jti` revocation matters after its `at`.
        public var maxTokenLifetime: TimeInterval = 300
        /// Tokens remembered at once by the replay cache; beyond it new tokens are refused (fail closed).
        public var replayCapacity: Int = 1 << 17
        /// Independent locks of the replay cache.
        public var replayShards: Int = 16
        /// Longest token accepted, in bytes.
        public var maxTokenLength: Int = 2048
        /// Whether this verifier remembers tokens and refuses a second presentation. A node that keeps
        /// its own per-venue record of accepted tokens (in its database) turns it off.
        public var checksReplay = true

        /// The defaults above.
        public init() {}
    }

    struct Revocations {
        /// Revoked cards by a 57-bit key of their hash: 5.4 bytes a card (`CardRevocationTable`).
        var cards = CardRevocationTable()
        /// The table's `version` and file digest when it was last saved (the file is rewritten only when they differ).
        var saved: (version: Int, digest: String)?
        var tokens: [String: (status: RevocationStatus, at: Date)] = [:]
        /// The last `seq` applied per issuer region ("" for documents that name none).
        var seq: [String: Int64] = [:]
        /// Issuers whose latest document says their node is in incident mode: nothing is decided offline.
        var incident: Set<String> = []
    }

    /// The tolerances this verifier was made with.
    public let configuration: Configuration
    let trust: Locked<TrustIndex>
    let revocations = Locked(Revocations())
    private let replay: ReplayCache

    /// A verifier trusting the keys of `trustList`.
    public init(trustList: JWKS, configuration: Configuration = .init()) {
        self.configuration = configuration
        trust = Locked(TrustIndex(trustList))
        replay = ReplayCache(capacity: configuration.replayCapacity, shards: configuration.replayShards)
    }

    /// A verifier trusting the keys of a JWKS document (as fetched from `GET /api/v1/trust/jwks`).
    public convenience init(trustListJSON: Data, configuration: Configuration = .init()) throws {
        self.init(trustList: try JWKS(json: trustListJSON), configuration: configuration)
    }

    /// Replaces the trust list (a newer JWKS); keys no longer listed stop verifying at once.
    public func replaceTrustList(_ jwks: JWKS) {
        let index = TrustIndex(jwks)
        trust.withLock { $0 = index }
    }

    /// The key ids now trusted.
    public var trustedKids: Set<String> { Set(trust.withLock { $0 }.byKid.keys) }

    // MARK: revocations

    /// Applies a revocation delta unless its `seq` is not newer than the last applied for its issuer
    /// (a duplicate or an older copy from a lagging mirror); returns whether it was applied.
    @discardableResult
    public func apply(_ document: RevocationDocument) -> Bool {
        revocations.withLock { r in
            let issuer = document.iss ?? ""
            // Incident mode is the node's state now, carried by every document, whatever its sequence.
            if document.incident == true { r.incident.insert(issuer) } else { r.incident.remove(issuer) }
            if let last = r.seq[issuer], document.seq <= last { return false }
            for entry in document.entries {
                switch entry.subject {
                case .card(let hash):
                    // `RevocationEntry` decodes only 64 hex digits, so every hash has a key.
                    if let key = CardRevocationTable.key(hash: hash) { r.cards.set(key: key, status: entry.status.revokes ? entry.status : nil) }
                case .token(let jti):
                    if entry.status.revokes { r.tokens[jti] = (entry.status, entry.at) } else { r.tokens.removeValue(forKey: jti) }
                }
            }
            r.seq[issuer] = document.seq
            return true
        }
    }

    /// Applies a revocation delta in its plain JSON form (`GET /api/v1/trust/revocations?since=N`).
    @discardableResult
    public func apply(revocationsJSON json: Data) throws -> Bool {
        apply(try RevocationDocument(json: json))
    }

    /// Applies several deltas in `seq` order.
    public func apply(_ documents: [RevocationDocument]) {
        for document in documents.sorted(by: { $0.seq < $1.seq }) { apply(document) }
    }

    /// Checks a signed revocation document against the trust list and applies it; returns whether it was new.
    @discardableResult
    public func apply(signedRevocations token: String) throws(RevocationDocument.Failure) -> Bool {
        let index = trust.withLock { $0 }
        let document = try RevocationDocument.open(signed: token, trust: index.jwks)
        return apply(document)
    }

    /// The last `seq` applied for `issuer` (nil for documents without `iss`): what to ask `since` next.
    /// Whether a node whose list this verifier follows is in incident mode (every credential is to be checked online).
    public var incidentMode: Bool { revocations.withLock { !$0.incident.isEmpty } }

    public func lastSequence(issuer: String? = nil) -> Int64? {
        revocations.withLock { $0.seq[issuer ?? ""] }
    }

    /// The revocation status of a card read from a chip, or nil when it is not revoked.
    public func revocation(ofCard card: CardNumber) -> RevocationStatus? {
        revocation(ofCardHash: card.hash)
    }

    /// The revocation status of a card named by `CardNumber.hash`, or nil when it is not revoked.
    public func revocation(ofCardHash hash: String) -> RevocationStatus? {
        guard let key = CardRevocationTable.key(hash: hash) else { return nil }
        return revocations.withLock { $0.cards.lookup(key: key) }
    }

    /// Cards now on the list.
    public var revokedCardCount: Int { revocations.withLock { $0.cards.revokedCount } }

    /// Forgets `jti` revocations that can no longer matter: their token expired before `now` whatever its
    /// lifetime (`at + maxTokenLifetime + skew < now`). A terminal calls this now and then.
    public func pruneTokenRevocations(at now: Date) {
        let horizon = configuration.maxTokenLifetime + configuration.skew
        revocations.withLock { r in r.tokens = r.tokens.filter { $0.value.at + horizon >= now } }
    }

    // MARK: verification

    /// Verifies a QR token presented at `now`. Accepting records its `jti`: the same token is then `token_replayed`.
    public func verify(_ token: String, at now: Date) -> Decision {
        var token = token
        return token.withUTF8 { verify(utf8: UnsafeRawBufferPointer($0), at: now) }
    }

    /// Verifies a QR token given as its UTF-8 bytes (as a scanner delivers it).
    public func verify(utf8 token: UnsafeRawBufferPointer, at now: Date) -> Decision {
        guard token.count <= configuration.maxTokenLength, token.count > 0 else { return .denied(.tokenInvalid) }
        // Split into header.payload.signature by hand: no substrings, no copies.
        guard let dot1 = token.firstIndex(of: UInt8(ascii: ".")),
              let dot2 = token[(dot1 + 1)...].firstIndex(of: UInt8(ascii: ".")),
              token[(dot2 + 1)...].firstIndex(of: UInt8(ascii: ".")) == nil
        else { return .denied(.tokenInvalid) }
        let headerSegment = UnsafeRawBufferPointer(rebasing: token[0..<dot1])
        let payloadSegment = UnsafeRawBufferPointer(rebasing: token[(dot1 + 1)..<dot2])
        let signatureSegment = UnsafeRawBufferPointer(rebasing: token[(dot2 + 1)...])
        let signingInput = UnsafeRawBufferPointer(rebasing: token[0..<dot2])

        let index = trust.withLock { $0 }
        let key: TrustedKey
        switch index.lookup(encodedHeader: headerSegment) {
        case .key(let k): key = k
        case .unknownKid: return .denied(.unknownIssuer)
        case .invalid: return .denied(.tokenInvalid)
        }

        // An Ed25519 signature is 64 bytes: exactly 86 characters.
        guard signatureSegment.count == 86 else { return .denied(.tokenInvalid) }
        let signatureValid = withUnsafeTemporaryAllocation(byteCount: 66, alignment: 8) { buffer -> Bool in
            guard Base64URL.decode(signatureSegment, into: buffer) == 64 else { return false }
            return key.publicKey.isValidSignature(UnsafeRawBufferPointer(rebasing: buffer[0..<64]), for: signingInput)
        }
        guard signatureValid else { return .denied(.tokenInvalid) }

        guard let payloadLength = Base64URL.decodedLength(payloadSegment.count) else { return .denied(.tokenInvalid) }
        let parsed = withUnsafeTemporaryAllocation(byteCount: max(payloadLength, 1), alignment: 8) { buffer -> QRClaims? in
            guard let n = Base64URL.decode(payloadSegment, into: buffer) else { return nil }
            return ClaimsParser.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        guard let claims = parsed, TrustIndex.isRegion(claims.iss) else { return .denied(.tokenInvalid) }
        guard claims.iss == key.iss else { return .denied(.unknownIssuer) }

        let t = now.timeIntervalSince1970
        let skew = configuration.skew
        guard claims.exp >= claims.iat, Double(claims.exp - claims.iat) <= configuration.maxTokenLifetime else {
            return .denied(.tokenInvalid)
        }
        if Double(claims.exp) + skew < t { return .denied(.tokenExpired) }
        // Not yet valid: a token "from the future" is forged or from a broken clock; no separate API code.
        if Double(claims.iat) - skew > t { return .denied(.tokenInvalid) }

        let (listed, incident) = revocations.withLock { ($0.tokens[claims.jti]?.status, !$0.incident.isEmpty) }
        if incident || listed == .onlineOnly { return .denied(.onlineCheckRequired) }
        if listed != nil { return .denied(.tokenRevoked) }

        guard configuration.checksReplay else { return .valid(claims) }
        // Last, so that only tokens that pass every other check use a replay slot.
        let forgetAfter = claims.exp + Int64(skew.rounded(.up)) + 1
        switch replay.insert(claims.jti, expiry: forgetAfter, now: Int64(t.rounded(.down))) {
        case .first: return .valid(claims)
        case .seen, .full: return .denied(.tokenReplayed)
        }
    }

    /// Why a token (by its `jti`) is listed, if it is: a card's loss or end, or (`entitlements_changed`) a certificate behind
    /// its `ent` revoked. What a gate tells the holder follows from it.
    public func revocation(ofToken jti: String) -> RevocationStatus? {
        revocations.withLock { $0.tokens[jti]?.status }
    }

    /// Tokens the replay cache remembers now.
    public var replayCacheCount: Int { replay.count }
}

/// A value behind a lock. `NSLock` rather than `Synchronization.Mutex`, which would require macOS 15
/// while the package supports macOS 14; the cost is the same order (tens of nanoseconds).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
