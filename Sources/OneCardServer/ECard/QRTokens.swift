import Foundation
import OneCardCore
import OneCardStore
import OneCardVerifier

/// This node's QR tokens: issued under its current signing key with a fresh pseudonym, verified against its
/// own trust list, and traced back to their card through the pseudonym.
struct QRTokens: Sendable {
    let keys: SigningKeyStore
    let region: String
    let pseudonyms: PseudonymCipher
    let clock: Clock
    /// The `alg` new tokens carry (`onecard serve --qr-alg`).
    var algorithm: QRAlgorithm = .edDSA

    /// Issues tokens under the current ring. `jti`s come from a buffered system generator: one system call per
    /// token instead of per byte keeps issuance within its benchmark goal (Benchmarks/RESULTS.md).
    func issuer(ring: SigningKeyRing) -> QRTokenIssuer {
        QRTokenIssuer(region: region, pseudonyms: pseudonyms, clock: clock, random: .systemBuffered, lifetime: ring.tokenLifetime, algorithm: algorithm)
    }

    /// The card a verified token was issued for.
    func card(of claims: QRClaims) throws -> CardNumber {
        try issuer(ring: keys.ring).card(of: claims)
    }
}
