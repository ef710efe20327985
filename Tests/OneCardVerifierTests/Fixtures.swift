import Crypto
import Foundation
import OneCardCore
@testable import OneCardVerifier

/// 2025-01-01T00:00:00Z, the instant every test starts from.
let t0 = Date(timeIntervalSince1970: 1_735_689_600)

/// Random bytes that differ from call to call but are the same in every run: SHA-256 of a seed and a counter.
final class SeededRandom: @unchecked Sendable {
    private let lock = NSLock()
    private var counter: UInt64 = 0
    private let seed: String
    init(_ seed: String) { self.seed = seed }
    var source: RandomSource {
        RandomSource { [self] count in
            var out: [UInt8] = []
            while out.count < count {
                lock.lock(); counter += 1; let c = counter; lock.unlock()
                out += SHA256.hash(data: Data("\(seed):\(c)".utf8))
            }
            return Array(out.prefix(count))
        }
    }
}

/// One issuing node (region, key ring, pseudonym key, clock) and helpers to issue and verify its tokens.
struct Node {
    let region: String
    var ring: SigningKeyRing
    let clock: ManualClock
    let issuer: QRTokenIssuer
    let pseudonyms: PseudonymCipher

    init(region: String = "110000", seed: String = "node", at start: Date = t0) {
        self.region = region
        let random = SeededRandom(seed).source
        clock = ManualClock(start)
        ring = SigningKeyRing(region: region, createdAt: start, random: random)
        pseudonyms = PseudonymCipher(key: SymmetricKey(data: random.bytes(32)))
        issuer = QRTokenIssuer(region: region, pseudonyms: pseudonyms, clock: clock.clock, random: random)
    }

    func issue(_ card: CardNumber = .sample, entitlements: [String] = ["elderly"]) -> IssuedQRToken {
        issuer.issue(for: card, entitlements: entitlements, key: ring.current)
    }

    func verifier(configuration: QRVerifier.Configuration = .init()) -> QRVerifier {
        QRVerifier(trustList: ring.jwks(at: clock.read()), configuration: configuration)
    }
}

extension CardNumber {
    static let sample: CardNumber = "A12345678"
    static let other: CardNumber = "B87654321"
}

/// Signs arbitrary header and payload JSON with `key`, to build tokens an honest issuer never makes.
func forge(header: String, payload: String, key: SigningKey) -> String {
    var encoded: [UInt8] = []
    Base64URL.append(Array(header.utf8), to: &encoded)
    return try! CompactJWS.sign(encodedHeader: encoded, payloadJSON: Array(payload.utf8), key: key.privateKey)
}

/// The claims JSON of an honest token with some members replaced.
func claimsJSON(iss: String = "110000", iat: Int64 = 1_735_689_600, exp: Int64 = 1_735_689_660, jti: String = "j1", extra: String = "") -> String {
    #"{"iss":"\#(iss)","sub":"s","iat":\#(iat),"exp":\#(exp),"jti":"\#(jti)","ent":[]\#(extra)}"#
}

/// `token` with the character at `offset` replaced by another base64url character.
func replacingCharacter(of token: String, at offset: Int) -> String {
    var bytes = Array(token.utf8)
    bytes[offset] = bytes[offset] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
    return String(decoding: bytes, as: UTF8.self)
}

func segments(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
