import Crypto
import Foundation

/// Makes and opens the `sub` of QR tokens: the card number enciphered under the node's pseudonym key with
/// a one-time pad derived from the token's `jti`: `sub = base64url((card ‖ 0⁷) ⊕ HMAC-SHA256(key, jti))`.
///
/// Why: the issuing node must find the card again (acceptance forwarded to the issuer, risk rules), while
/// a venue must learn nothing that links two visits. Every token has a fresh random `jti`, so every pad is
/// fresh and every `sub` looks unrelated to every other; without the key nothing can be learnt from it.
/// The seven zero bytes are a check: with another `jti` or another node's key they come out wrong (all
/// but 2⁻⁵⁶ of the time) and `open` refuses. Integrity of the `sub` itself comes from the token's signature.
/// HMAC rather than AES-GCM (the first design): it costs a third as much per token, which decides whether
/// issuance reaches 0.7 of a bare Ed25519 signature (Benchmarks/RESULTS.md), and a token carries 22
/// characters of `sub` instead of 34.
public struct PseudonymCipher: Sendable {
    /// HMAC keyed once: its inner and outer states are copied per token instead of re-derived.
    private let keyed: HMAC<SHA256>
    /// Zero bytes after the card number that `open` checks.
    static let checkBytes = 7
    private static let domain = Array("onecard-sub-v1:".utf8)

    /// A cipher under an explicit key (256 bits).
    public init(key: SymmetricKey) {
        var mac = HMAC<SHA256>(key: key)
        // Domain separation from any other use of this key, absorbed once.
        Self.domain.withUnsafeBytes { mac.update(data: $0) }
        keyed = mac
    }

    /// A cipher under the node's pseudonym key (`NodeKeys.pseudonyms`).
    public init(keys: NodeKeys) { self.init(key: keys.pseudonyms) }

    /// The pad for `jti`.
    private func pad(jti: String) -> HashedAuthenticationCode<SHA256> {
        var mac = keyed
        var jti = jti
        jti.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
        return mac.finalize()
    }

    /// The pseudonym of `card` on the token `jti` (22 characters for a 9-character card number).
    public func seal(_ card: CardNumber, jti: String) -> String {
        let pad = pad(jti: jti)
        var number = card.rawValue
        return number.withUTF8 { plain in
            pad.withUnsafeBytes { p in
                let length = plain.count + Self.checkBytes
                precondition(length <= p.count, "a card number longer than the pad")
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { out in
                    for i in 0..<length { out[i] = (i < plain.count ? plain[i] : 0) ^ p[i] }
                    var text: [UInt8] = []
                    Base64URL.append(UnsafeRawBufferPointer(out), to: &text)
                    return String(decoding: text, as: UTF8.self)
                }
            }
        }
    }

    /// Why a pseudonym could not be opened.
    public enum Failure: Error, Equatable, Sendable { case malformed, notOurs }

    /// The card behind `sub` on the token `jti`; fails for another `jti` or another node's key.
    public func open(_ sub: String, jti: String) throws(Failure) -> CardNumber {
        guard let bytes = Base64URL.decode(sub), bytes.count > Self.checkBytes, bytes.count <= 32 else { throw .malformed }
        let plain = pad(jti: jti).withUnsafeBytes { p in (0..<bytes.count).map { bytes[$0] ^ p[$0] } }
        let cardLength = plain.count - Self.checkBytes
        guard plain[cardLength...].allSatisfy({ $0 == 0 }),
              let text = String(validating: plain[..<cardLength], as: UTF8.self), let card = try? CardNumber(text)
        else { throw .notOurs }
        return card
    }
}
