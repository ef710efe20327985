import Crypto
import Foundation

/// The signed header of a revocation snapshot (`GET /api/v1/trust/revocations/snapshot`): the whole card list as a
/// compact binary table (the gate's own store format, `OneCardVerifier`), complete up to `seq`, so that a gate starting
/// from empty loads ten million cards in one download and then follows deltas `since=seq`.
///
/// The table is not JSON and is not signed by itself: this header, a JWS signed by a key of the trust list exactly as
/// revocation documents are, carries its SHA-256. The body on the wire is the compact JWS, one line feed, then the table.
/// Token (`jti`) entries are few and short-lived: those that may still matter travel in the header as `tokens`.
public struct RevocationSnapshot: Codable, Hashable, Sendable {
    /// The sequence number the table is complete up to (ask `since=seq` next).
    public var seq: Int64
    /// The issuing region whose node numbered the list (set from the signing key when opened).
    public var iss: String?
    /// Cards in the table.
    public var cards: Int
    /// SHA-256 of the table bytes, base64url without padding.
    public var sha256: String
    /// Token entries still within a token's lifetime at `seq`.
    public var tokens: [RevocationEntry]
    /// The node's incident mode when the snapshot was made, as in revocation documents.
    public var incident: Bool?

    /// A header for `table`.
    public init(seq: Int64, iss: String?, cards: Int, table: some DataProtocol, tokens: [RevocationEntry], incident: Bool? = nil) {
        self.seq = seq; self.iss = iss; self.cards = cards
        sha256 = Base64URL.encode(Array(SHA256.hash(data: table)))
        self.tokens = tokens; self.incident = incident
    }

    /// The media type a node serves a snapshot as.
    public static let mediaType = "application/vnd.onecard.revocation-snapshot"

    /// Why a snapshot was refused.
    public enum Failure: Error, Equatable, Sendable {
        /// Not a JWS line followed by a table, or a header that does not decode.
        case malformed
        /// Signed by a key the trust list does not hold.
        case unknownKey
        /// The header's signature does not verify, or the table's SHA-256 is not the one signed.
        case badSignature
        /// The header names an `iss` other than the region of the key that signed it.
        case wrongIssuer
    }

    /// The body a node serves: the header signed with `key`, a line feed, the table.
    public static func body(table: [UInt8], seq: Int64, iss: String?, cards: Int, tokens: [RevocationEntry], incident: Bool?, key: SigningKey) -> [UInt8] {
        let header = RevocationSnapshot(seq: seq, iss: iss, cards: cards, table: table, tokens: tokens, incident: incident)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let jws = try! CompactJWS.sign(encodedHeader: CompactJWS.encodedHeader(kid: key.kid, typ: CompactJWS.revocationSnapshotType),
                                       payloadJSON: [UInt8](try! encoder.encode(header)), key: key.privateKey)
        var out = [UInt8](jws.utf8)
        out.reserveCapacity(out.count + 1 + table.count)
        out.append(0x0A)
        out.append(contentsOf: table)
        return out
    }

    /// Checks a snapshot body against the trust list: the header's signature, its issuer, and the table's SHA-256.
    /// Returns the header (with `iss` set to the signer's region) and the range of the table in `body`.
    public static func open(_ body: [UInt8], trust: JWKS) throws(Failure) -> (header: RevocationSnapshot, table: Range<Int>) {
        guard let newline = body.prefix(maxHeaderBytes).firstIndex(of: 0x0A) else { throw .malformed }
        let header = try openHeader(body[..<newline], trust: trust)
        let table = (newline + 1)..<body.count
        guard Base64URL.encode(Array(SHA256.hash(data: body[table]))) == header.sha256 else { throw .badSignature }
        return (header, table)
    }

    /// The longest header line a body may start with.
    public static let maxHeaderBytes = 4096

    /// Checks the header line (the compact JWS before the line feed) against the trust list: its signature and its
    /// issuer. The table's SHA-256 is the caller's to compare with `sha256` (`open`, or a download hashing as it writes).
    public static func openHeader(_ line: some Collection<UInt8>, trust: JWKS) throws(Failure) -> RevocationSnapshot {
        let jws = String(decoding: line, as: UTF8.self)
        let byKid = Dictionary(trust.keys.map { ($0.kid, $0) }, uniquingKeysWith: { first, _ in first })
        let opened: (kid: String, payload: [UInt8])
        do {
            opened = try CompactJWS.open(jws, type: CompactJWS.revocationSnapshotType) { kid in
                byKid[kid].flatMap { Base64URL.decode($0.x) }.flatMap { try? .init(rawRepresentation: $0) }
            }
        } catch .malformed { throw .malformed } catch .unknownKey { throw .unknownKey } catch { throw .badSignature }
        guard var header = try? JSONDecoder().decode(RevocationSnapshot.self, from: Data(opened.payload)) else { throw .malformed }
        let region = byKid[opened.kid]!.iss
        guard header.iss == nil || header.iss == region else { throw .wrongIssuer }
        header.iss = region
        return header
    }
}
