import Crypto
import Foundation

/// Makes and opens the `sub` of QR tokens: the card number sealed with AES-GCM under the node's
/// pseudonym key, with the nonce derived from the token's `jti` and the `jti` bound as authenticated data.
///
/// Why: the issuing node must find the card again (acceptance forwarded to the issuer, risk rules),
/// while a venue must learn nothing that links two visits. Each token has a fresh random `jti`, so each
/// `sub` is an encryption under a fresh nonce and looks unrelated to every other; no nonce is carried,
/// and a `sub` copied onto another token (other `jti`) fails to open.
public struct PseudonymCipher: Sendable {
    private let key: SymmetricKey

    /// A cipher under an explicit 256-bit key.
    public init(key: SymmetricKey) { self.key = key }

    /// A cipher under the node's pseudonym key (`NodeKeys.pseudonyms`).
    public init(keys: NodeKeys) { key = keys.pseudonyms }

    private static func nonce(jti: String) -> AES.GCM.Nonce {
        // Domain-separated so the nonce cannot collide with any other use of SHA-256(jti).
        var hasher = SHA256()
        hasher.update(data: Array("onecard-sub-nonce:".utf8))
        hasher.update(data: Array(jti.utf8))
        return try! AES.GCM.Nonce(data: Array(hasher.finalize().prefix(12)))
    }

    /// The pseudonym of `card` on the token `jti`: base64url of ciphertext ‖ tag (34 characters).
    public func seal(_ card: CardNumber, jti: String) -> String {
        let box = try! AES.GCM.seal(Array(card.rawValue.utf8), using: key, nonce: Self.nonce(jti: jti), authenticating: Array(jti.utf8))
        var combined = [UInt8](box.ciphertext)
        combined.append(contentsOf: box.tag)
        return Base64URL.encode(combined)
    }

    /// Why a pseudonym could not be opened.
    public enum Failure: Error, Equatable, Sendable { case malformed, notOurs }

    /// The card behind `sub` on the token `jti`; fails for another `jti`, another node's key or any change.
    public func open(_ sub: String, jti: String) throws(Failure) -> CardNumber {
        guard let bytes = Base64URL.decode(sub), bytes.count > 16 else { throw .malformed }
        let plain: Data
        do {
            let box = try AES.GCM.SealedBox(nonce: Self.nonce(jti: jti), ciphertext: bytes.dropLast(16), tag: bytes.suffix(16))
            plain = try AES.GCM.open(box, using: key, authenticating: Array(jti.utf8))
        } catch { throw .notOurs }
        guard let text = String(data: plain, encoding: .utf8), let card = try? CardNumber(text) else { throw .notOurs }
        return card
    }
}
