// QR token issuance and offline verification against their limits: one Ed25519 operation.
// Run on one core (see RESULTS.md): `taskset -c 1 swift package ... benchmark`.
import Benchmark
import Crypto
import Foundation
import JWTKit
import OneCardCore
import OneCardVerifier

/// Everything the benchmarks share, built once.
final class Fixture: @unchecked Sendable {
    static let shared = Fixture()

    let ring = SigningKeyRing(region: "110000", createdAt: Date())
    /// The issuer as the server should build it (`RandomSource.systemBuffered`).
    let issuer: QRTokenIssuer
    /// The same with `RandomSource.system` as it is today: one `getrandom` call per byte.
    let issuerWithByteRandom: QRTokenIssuer
    let card = try! CardNumber("A12345678")
    let now = Date()
    /// Tokens with distinct `jti`s, so the replay cache accepts every one.
    private(set) var tokens: [String] = []
    /// For each token: its signing input and signature, for the raw Ed25519 check.
    private(set) var raw: [(input: [UInt8], signature: [UInt8])] = []
    private var next = 0
    private var verifier: QRVerifier

    private init() {
        issuer = QRTokenIssuer(region: "110000", pseudonyms: PseudonymCipher(key: SymmetricKey(size: .bits256)), random: .systemBuffered)
        issuerWithByteRandom = QRTokenIssuer(region: "110000", pseudonyms: PseudonymCipher(key: SymmetricKey(size: .bits256)), random: .system)
        verifier = QRVerifier(trustList: ring.jwks(at: now))
        refill(count: 24_000)
    }

    private func refill(count: Int) {
        tokens = (0..<count).map { _ in issuer.issue(for: card, entitlements: ["elderly"], key: ring.current).token }
        raw = tokens.map { token in
            let lastDot = token.utf8.lastIndex(of: UInt8(ascii: "."))!
            let offset = token.utf8.distance(from: token.utf8.startIndex, to: lastDot)
            return (Array(token.utf8.prefix(offset)), Base64URL.decode(token[token.index(after: lastDot)...])!)
        }
    }

    /// The next unused token and the verifier to present it to; a fresh verifier once every token was used.
    func nextToken() -> (String, QRVerifier) {
        if next == tokens.count {
            next = 0
            verifier = QRVerifier(trustList: ring.jwks(at: now))
        }
        defer { next += 1 }
        return (tokens[next], verifier)
    }

    func rawCheck(_ i: Int) -> Bool {
        let r = raw[i % raw.count]
        return ring.current.publicKey.isValidSignature(r.signature, for: r.input)
    }
}

/// The JWTKit way of issuing the same token, for comparison only.
struct JWTKitClaims: JWTPayload {
    var iss: String, sub: String, iat: Int64, exp: Int64, jti: String, ent: [String]
    func verify(using algorithm: some JWTAlgorithm) throws {}
}

/// Runs `a` and `b` alternately `rounds` times, `count` operations each, and returns the median of
/// time(a) / time(b) — the throughput of b relative to a — so that load from other processes hits both alike.
func interleavedRatio(rounds: Int = 9, count: Int, _ a: (Int) -> Void, _ b: (Int) -> Void) -> Double {
    var ratios: [Double] = []
    let clock = ContinuousClock()
    var base = 0
    for _ in 0..<rounds {
        let ta = clock.measure { for i in 0..<count { a(base + i) } }
        let tb = clock.measure { for i in 0..<count { b(base + i) } }
        base += count
        ratios.append(ta / tb)
    }
    return ratios.sorted()[rounds / 2]
}

let benchmarks: @Sendable () -> Void = {
    let fixture = Fixture.shared
    let fast = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 200, maxDuration: .seconds(3), maxIterations: 20_000)

    Benchmark("Ed25519 verify (swift-crypto, the limit)", configuration: fast) { benchmark in
        for i in benchmark.scaledIterations { blackHole(fixture.rawCheck(i)) }
    }

    Benchmark("QRVerifier.verify (parse, signature, trust list, revocation, replay cache)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations {
            let (token, verifier) = fixture.nextToken()
            let decision = verifier.verify(token, at: fixture.now)
            precondition(decision.isValid, "\(decision)")
            blackHole(decision)
        }
    }

    let message = fixture.raw[0].input
    Benchmark("Ed25519 sign (swift-crypto, the limit)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try! fixture.ring.current.privateKey.signature(for: message)) }
    }

    Benchmark("QRTokenIssuer.issue (hand-written JWS, RandomSource.systemBuffered)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(fixture.issuer.issue(for: fixture.card, entitlements: ["elderly"], key: fixture.ring.current))
        }
    }

    Benchmark("QRTokenIssuer.issue (hand-written JWS, RandomSource.system)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(fixture.issuerWithByteRandom.issue(for: fixture.card, entitlements: ["elderly"], key: fixture.ring.current))
        }
    }

    // Where issuance spends its time beyond the signature.
    let pseudonyms = PseudonymCipher(key: SymmetricKey(size: .bits256))
    Benchmark("part: PseudonymCipher.seal", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(pseudonyms.seal(fixture.card, jti: "0123456789abcdefghijkl")) }
    }
    Benchmark("part: 16 random bytes (RandomSource.systemBuffered)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(RandomSource.systemBuffered.bytes(16)) }
    }
    Benchmark("part: 16 random bytes (RandomSource.system)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(RandomSource.system.bytes(16)) }
    }
    let claims = QRClaims(iss: "110000", sub: String(repeating: "s", count: 34), iat: 1_735_689_600, exp: 1_735_689_660,
                          jti: String(repeating: "j", count: 22), ent: ["elderly"])
    Benchmark("part: QRClaims.json", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(claims.json()) }
    }
    let payload = claims.json()
    Benchmark("part: CompactJWS.sign (base64url + signature)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try! CompactJWS.sign(encodedHeader: fixture.ring.current.encodedQRHeader, payloadJSON: payload, key: fixture.ring.current.privateKey))
        }
    }

    Benchmark("JWTKit sign of the same claims (rejected alternative)", configuration: fast) { benchmark in
        let keys = JWTKeyCollection()
        await keys.add(eddsa: EdDSA.PrivateKey(backing: fixture.ring.current.privateKey), kid: JWKIdentifier(string: fixture.ring.current.kid))
        let pseudonyms = PseudonymCipher(key: SymmetricKey(size: .bits256))
        var header = JWTHeader()
        header.typ = CompactJWS.qrTokenType
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            // The same work as QRTokenIssuer.issue: jti, pseudonym, claims, signature.
            let iat = Int64(Date().timeIntervalSince1970)
            let jti = Base64URL.encode(RandomSource.systemBuffered.bytes(16))
            let claims = JWTKitClaims(iss: "110000", sub: pseudonyms.seal(fixture.card, jti: jti), iat: iat, exp: iat + 60, jti: jti, ent: ["elderly"])
            blackHole(try await keys.sign(claims, kid: JWKIdentifier(string: fixture.ring.current.kid), header: header))
        }
    }

    // The goals, measured as ratios in one process with interleaved rounds (median of 9 rounds):
    // verification >= 0.8 of raw Ed25519 verification, issuance >= 0.7 of raw Ed25519 signing.
    let ratio = Benchmark.Configuration(
        metrics: [.custom("ratio x1000", polarity: .prefersLarger, useScalingFactor: false)],
        warmupIterations: 0, maxDuration: .seconds(60), maxIterations: 3)

    Benchmark("Ratio: QRVerifier.verify / Ed25519 verify", configuration: ratio) { benchmark in
        for _ in benchmark.scaledIterations {
            let r = interleavedRatio(count: 1000, { i in blackHole(fixture.rawCheck(i)) }, { _ in
                let (token, verifier) = fixture.nextToken()
                blackHole(verifier.verify(token, at: fixture.now))
            })
            print(String(format: "verify ratio: %.3f (goal >= 0.8)", r))
            benchmark.measurement(.custom("ratio x1000", polarity: .prefersLarger, useScalingFactor: false), Int(r * 1000))
        }
    }

    Benchmark("Ratio: QRTokenIssuer.issue / Ed25519 sign", configuration: ratio) { benchmark in
        for _ in benchmark.scaledIterations {
            let key = fixture.ring.current
            let r = interleavedRatio(count: 1000, { _ in blackHole(try! key.privateKey.signature(for: message)) }, { _ in
                blackHole(fixture.issuer.issue(for: fixture.card, entitlements: ["elderly"], key: key))
            })
            print(String(format: "issuance ratio: %.3f (goal >= 0.7)", r))
            benchmark.measurement(.custom("ratio x1000", polarity: .prefersLarger, useScalingFactor: false), Int(r * 1000))
        }
    }
}
