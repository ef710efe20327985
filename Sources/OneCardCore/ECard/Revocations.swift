import Foundation

/// A card status as revocation lists carry it. Every status but `active` revokes; `active` un-revokes
/// (after an unlock, or when a temporary loss report lapses).
public enum RevocationStatus: String, Codable, Hashable, Sendable, CaseIterable {
    case lost
    case temporarilyLost = "temporarily_lost"
    case cancelled
    case replaced
    case active
    /// Not revoked, but to be checked online only (a risk alert's action, issue 17): an offline gate refuses the card
    /// or token and sends the holder to an online check; the node itself decides as for any active card.
    case onlineOnly = "online_only"
    /// A QR token whose `ent` is out of date: a certificate behind it was revoked (issue 15). The card is fine; an offline
    /// gate refuses the token (`token_revoked`) and the holder shows a fresh code. Tokens only.
    case entitlementsChanged = "entitlements_changed"

    /// Whether an offline terminal must refuse a card or token with this status.
    public var revokes: Bool { self != .active }

    /// The revocation status of a card lifecycle status; nil for `issued`, which was never usable.
    public init?(_ status: CardStatus) {
        switch status {
        case .issued: return nil
        case .active: self = .active
        case .temporarilyLost: self = .temporarilyLost
        case .lost: self = .lost
        case .replaced: self = .replaced
        case .cancelled: self = .cancelled
        }
    }
}

/// One line of a revocation list. It names either a card or a single QR token:
///
/// - `{"cardHash":…,"status":…,"at":…}` — `cardHash` is hex SHA-256 of the card number (`CardNumber.hash`).
///   A terminal that reads the card number (a physical card) checks it; the entry stays until a later
///   entry for the same card says otherwise.
/// - `{"jti":…,"status":…,"at":…}` — a QR token carries no card number, so when a card is revoked its
///   issuer also lists the `jti` of every token it issued to that card that has not yet expired (those of
///   the last token lifetime). An offline terminal can then refuse them too; once `at` plus the longest
///   token lifetime has passed such an entry is moot and may be forgotten.
///
/// Exactly one of `cardHash` and `jti` is present; anything else does not decode.
public struct RevocationEntry: Codable, Hashable, Sendable {
    /// What the entry is about.
    public enum Subject: Hashable, Sendable {
        case card(hash: String)
        case token(jti: String)
    }

    /// The card or token the entry is about.
    public var subject: Subject
    /// The status it took.
    public var status: RevocationStatus
    /// When it took that status (RFC 3339 on the wire).
    public var at: Date
    /// The issuing region the entry is about, in lists that carry several regions' entries (a federated node's);
    /// absent in a node's own entries.
    public var iss: String?

    /// An entry for `subject`.
    public init(_ subject: Subject, status: RevocationStatus, at: Date, iss: String? = nil) {
        self.subject = subject; self.status = status; self.at = at; self.iss = iss
    }

    /// An entry for a card, naming it by `CardNumber.hash`.
    public static func card(_ card: CardNumber, status: RevocationStatus, at: Date) -> RevocationEntry {
        RevocationEntry(.card(hash: card.hash), status: status, at: at)
    }

    /// An entry for one outstanding QR token.
    public static func token(jti: String, status: RevocationStatus, at: Date) -> RevocationEntry {
        RevocationEntry(.token(jti: jti), status: status, at: at)
    }

    private enum CodingKeys: String, CodingKey { case cardHash, jti, status, at, iss }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let hash = try c.decodeIfPresent(String.self, forKey: .cardHash)
        let jti = try c.decodeIfPresent(String.self, forKey: .jti)
        switch (hash, jti) {
        case let (hash?, nil):
            guard hash.utf8.count == 64, hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw DecodingError.dataCorruptedError(forKey: .cardHash, in: c, debugDescription: "cardHash is 64 lower-case hex characters")
            }
            subject = .card(hash: hash)
        case let (nil, jti?):
            subject = .token(jti: jti)
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an entry has either cardHash or jti"))
        }
        status = try c.decode(RevocationStatus.self, forKey: .status)
        let text = try c.decode(String.self, forKey: .at)
        guard let at = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: .at, in: c, debugDescription: "at is an RFC 3339 time")
        }
        self.at = at
        iss = try c.decodeIfPresent(String.self, forKey: .iss)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch subject {
        case .card(let hash): try c.encode(hash, forKey: .cardHash)
        case .token(let jti): try c.encode(jti, forKey: .jti)
        }
        try c.encode(status, forKey: .status)
        try c.encode(Timestamp.format(at), forKey: .at)
        try c.encodeIfPresent(iss, forKey: .iss)
    }
}

/// A revocation delta as served at `GET /api/v1/trust/revocations?since=N`: the entries that changed
/// after `since`, and `seq`, the number to ask `since` next time. `iss`, the region whose node numbered
/// it, is an optional extension: terminals that take lists from several issuers keep one `seq` per issuer.
public struct RevocationDocument: Codable, Hashable, Sendable {
    /// The sequence number of the last change included.
    public var seq: Int64
    /// The issuing region whose node numbered the changes, when it says so.
    public var iss: String?
    /// The changes, oldest first.
    public var entries: [RevocationEntry]
    /// True while the issuing node is in incident mode (issue 17): every venue must verify online, so an offline gate
    /// following this list refuses everything with `online_check_required`. Absent otherwise; every document carries
    /// the node's state at the time it was served, whatever its `since`.
    public var incident: Bool?

    /// A document of `entries` up to `seq`.
    public init(seq: Int64, iss: String? = nil, entries: [RevocationEntry], incident: Bool? = nil) {
        self.seq = seq; self.iss = iss; self.entries = entries; self.incident = incident
    }

    /// Parses the plain JSON form.
    public init(json: Data) throws { self = try JSONDecoder().decode(RevocationDocument.self, from: json) }

    /// The plain JSON form, keys sorted.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(self)
    }

    /// The same JSON as a JWS (`typ` `onecard-revocations+jwt`) signed by a key of the trust list, so a
    /// terminal can fetch it from any mirror and still know it is the issuer's.
    public func signed(with key: SigningKey) -> String {
        try! CompactJWS.sign(encodedHeader: CompactJWS.encodedHeader(kid: key.kid, typ: CompactJWS.revocationsType),
                             payloadJSON: [UInt8](json()), key: key.privateKey)
    }

    /// Why a signed revocation document was refused.
    public enum Failure: Error, Equatable, Sendable {
        case malformed, unknownKey, badSignature
        /// The document names an `iss` other than the region of the key that signed it.
        case wrongIssuer
    }

    /// Checks a signed document against the trust list and returns it with `iss` set to the signer's region.
    public static func open(signed token: String, trust: JWKS) throws(Failure) -> RevocationDocument {
        let byKid = Dictionary(trust.keys.map { ($0.kid, $0) }, uniquingKeysWith: { first, _ in first })
        let opened: (kid: String, payload: [UInt8])
        do {
            opened = try CompactJWS.open(token, type: CompactJWS.revocationsType) { kid in
                byKid[kid].flatMap { Base64URL.decode($0.x) }.flatMap { try? .init(rawRepresentation: $0) }
            }
        } catch .malformed { throw .malformed } catch .unknownKey { throw .unknownKey } catch { throw .badSignature }
        guard var document = try? RevocationDocument(json: Data(opened.payload)) else { throw .malformed }
        let region = byKid[opened.kid]!.iss
        guard document.iss == nil || document.iss == region else { throw .wrongIssuer }
        document.iss = region
        return document
    }
}
