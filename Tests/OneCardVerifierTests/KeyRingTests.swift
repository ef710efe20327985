import Crypto
import Foundation
import OneCardCore
import Testing
@testable import OneCardVerifier

@Suite("Signing keys and trust list")
struct KeyRingTests {
    @Test func anOldKeyVerifiesUntilItLeavesTheTrustList() {
        // setup: a token signed just before rotation
        var node = Node()
        let before = node.issue()
        let oldKid = node.ring.current.kid
        // action
        node.ring.rotate(at: t0 + 10, random: SeededRandom("rotation").source)
        let after = node.issue()
        // validate: both keys published, both tokens verify
        #expect(node.ring.current.kid != oldKid)
        #expect(segments(after.token)[0] != segments(before.token)[0])
        let jwksDuringOverlap = node.ring.jwks(at: t0 + 20)
        #expect(Set(jwksDuringOverlap.keys.map(\.kid)) == [oldKid, node.ring.current.kid])
        let verifier = QRVerifier(trustList: jwksDuringOverlap)
        #expect(verifier.verify(before.token, at: t0 + 20).isValid)
        #expect(verifier.verify(after.token, at: t0 + 20).isValid)

        // the old key stays until retiredAt + lifetime + skew = t0 + 100, then goes
        #expect(node.ring.jwks(at: t0 + 100).keys.count == 2)
        #expect(node.ring.jwks(at: t0 + 101).keys.map(\.kid) == [node.ring.current.kid])
        node.ring.prune(at: t0 + 101)
        #expect(node.ring.keys.count == 1)
        #expect(node.ring.key(kid: oldKid) == nil)
        let later = node.issue()
        verifier.replaceTrustList(node.ring.jwks(at: t0 + 101))
        #expect(verifier.trustedKids == [node.ring.current.kid])
        let stale = QRTokenIssuer(region: "110000", pseudonyms: node.pseudonyms, clock: node.clock.clock)
        let oldKey = SigningKey(privateKey: try! Curve25519.Signing.PrivateKey(rawRepresentation: SeededRandom("node").source.bytes(32)), createdAt: t0)
        #expect(oldKey.kid == oldKid)
        #expect(verifier.verify(stale.issue(for: .sample, entitlements: [], key: oldKey).token, at: t0 + 1) == .denied(.unknownIssuer))
        #expect(verifier.verify(later.token, at: t0 + 1).isValid)
    }

    @Test func theJWKSHasExactlyTheAPIFields() throws {
        // setup
        let node = Node()
        // action
        let json = node.ring.jwks(at: t0).json()
        // validate
        let object = try #require(JSONSerialization.jsonObject(with: json) as? [String: [[String: String]]])
        let key = try #require(object["keys"]?.first)
        #expect(object.keys.sorted() == ["keys"])
        #expect(key.keys.sorted() == ["crv", "iss", "kid", "kty", "use", "x"])
        #expect(key["kty"] == "OKP")
        #expect(key["crv"] == "Ed25519")
        #expect(key["use"] == "sig")
        #expect(key["iss"] == "110000")
        #expect(key["kid"] == node.ring.current.kid)
        #expect(Base64URL.decode(key["x"]!) == Array(node.ring.current.publicKey.rawRepresentation))
    }

    @Test func theJWKSRoundTripsAndFeedsAVerifier() throws {
        let beijing = Node(region: "110000", seed: "bj"), shanghai = Node(region: "310000", seed: "sh")
        let federated = beijing.ring.jwks(at: t0).merging(shanghai.ring.jwks(at: t0)).merging(beijing.ring.jwks(at: t0))
        #expect(federated.keys.count == 2)
        let decoded = try JWKS(json: federated.json())
        #expect(decoded == federated)
        let verifier = try QRVerifier(trustListJSON: federated.json())
        #expect(verifier.verify(beijing.issue().token, at: t0).isValid)
        #expect(verifier.verify(shanghai.issue().token, at: t0).isValid)
    }

    @Test func unusableKeysInTheJWKSAreLeftOut() {
        let node = Node()
        var jwk = node.ring.current.jwk(issuer: "110000")
        var encryption = jwk; encryption.use = "enc"
        var shortX = jwk; shortX.x = "AAAA"; shortX.kid = "short"
        var badRegion = jwk; badRegion.iss = "beijing"; badRegion.kid = "region"
        jwk.kid = "good"
        let verifier = QRVerifier(trustList: JWKS(keys: [encryption, shortX, badRegion]))
        #expect(verifier.trustedKids.isEmpty)
        #expect(verifier.verify(node.issue().token, at: t0) == .denied(.unknownIssuer))
    }

    @Test func theRingIsSavedPrivatelyAndLoadsTheSameKeys() throws {
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var node = Node()
        node.ring.rotate(at: t0 + 5, random: SeededRandom("r2").source)
        // action
        try node.ring.save(in: directory)
        let loaded = try SigningKeyRing.load(from: directory)
        // validate
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(SigningKeyRing.fileName).path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(loaded.region == "110000")
        #expect(loaded.keys.map(\.kid) == node.ring.keys.map(\.kid))
        #expect(loaded.keys.map(\.retiredAt) == [nil, t0 + 5])
        #expect(loaded.jwks(at: t0 + 6) == node.ring.jwks(at: t0 + 6))
        // a token signed by the loaded ring verifies against the original's JWKS
        let token = node.issuer.issue(for: .sample, entitlements: [], key: loaded.current).token
        #expect(QRVerifier(trustList: node.ring.jwks(at: t0)).verify(token, at: t0).isValid)
        // loadOrCreate finds the file instead of making a new key
        #expect(try SigningKeyRing.loadOrCreate(in: directory, region: "110000").current.kid == node.ring.current.kid)
    }

    @Test func loadOrCreateMakesAKeyOnFirstStartAndACorruptFileIsAnError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ring = try SigningKeyRing.loadOrCreate(in: directory, region: "440000", clock: Clock { t0 })
        #expect(ring.keys.count == 1)
        #expect(try SigningKeyRing.load(from: directory).current.kid == ring.current.kid)
        try Data("{}".utf8).write(to: directory.appendingPathComponent(SigningKeyRing.fileName))
        #expect(throws: SigningKeyRing.FileError.self) { try SigningKeyRing.load(from: directory) }
    }
}
