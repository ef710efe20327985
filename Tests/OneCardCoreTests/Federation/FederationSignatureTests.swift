import Crypto
import Foundation
import Testing
@testable import OneCardCore

/// The federation profile of RFC 9421: what a node signs, and every rule a receiver refuses by.
@Suite("Federation signatures: signing and the receiver's rules")
struct FederationSignatureTests {
    /// The receiver's nonce memory, as a store would keep it.
    actor Nonces {
        var seen = Set<String>()
        func firstUse(_ keyID: String, _ nonce: String) -> Bool { seen.insert(keyID + " " + nonce).inserted }
    }

    /// A node (Beijing) signing, and a hub that knows it.
    struct Fixture {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_760_000_000))
        let key = Curve25519.Signing.PrivateKey()
        let nonces = Nonces()
        var members: [String: Curve25519.Signing.PublicKey] { ["110000": key.publicKey] }

        var signer: FederationSigner { FederationSigner(keyID: "110000", key: key, clock: clock.clock) }
        var verifier: FederationVerifier {
            let members = self.members, nonces = self.nonces
            return FederationVerifier(keys: { members[$0] }, firstUse: { id, nonce, _ in await nonces.firstUse(id, nonce) }, clock: clock.clock)
        }
    }

    static let uri = "https://hub.example.cn:8443/federation/v1/claims?region=110000"
    static let body = Data(#"{"claimKey":"abc","region":"110000"}"#.utf8)

    func expectRefusal(_ code: DomainError.Code, _ action: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await action()
            Issue.record("expected \(code), but it was accepted", sourceLocation: sourceLocation)
        } catch let error as DomainError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func aSignedRequestVerifiesAndSaysWhoSignedIt() async throws {
        // setup
        let f = Fixture()
        let fields = try f.signer.signRequest(method: "POST", targetURI: Self.uri, body: Self.body)

        // the fields follow API.md: sig1, the three components, created, nonce, keyid, alg
        #expect(fields.map(\.name) == ["Content-Digest", "Signature-Input", "Signature"])
        #expect(fields[0].value == ContentDigest.sha256(Self.body))
        let input = fields[1].value
        #expect(input.hasPrefix(#"sig1=("@method" "@target-uri" "content-digest");created=1760000000;nonce=""#), "\(input)")
        #expect(input.hasSuffix(#"";keyid="110000";alg="ed25519""#), "\(input)")
        #expect(fields[2].value.hasPrefix("sig1=:") && fields[2].value.hasSuffix(":"))

        // validate
        let verified = try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: fields, body: Self.body)
        #expect(verified.keyID == "110000")
        #expect(verified.created == Date(timeIntervalSince1970: 1_760_000_000))
        #expect(verified.components == ["@method", "@target-uri", "content-digest"])
        #expect(await f.nonces.seen == ["110000 \(verified.nonce)"])
    }

    @Test func aRequestWithoutBodyCoversMethodAndURIOnly() async throws {
        let f = Fixture()
        let fields = try f.signer.signRequest(method: "GET", targetURI: Self.uri)
        #expect(fields.map(\.name) == ["Signature-Input", "Signature"])
        #expect(fields[0].value.hasPrefix(#"sig1=("@method" "@target-uri");"#))
        let verified = try await f.verifier.verifyRequest(method: "GET", targetURI: Self.uri, fields: fields, body: Data())
        #expect(verified.components == ["@method", "@target-uri"])
        // a body smuggled onto a request signed without one is refused
        await expectRefusal(.signatureInvalid) {
            _ = try await f.verifier.verifyRequest(method: "GET", targetURI: Self.uri, fields: try f.signer.signRequest(method: "GET", targetURI: Self.uri), body: Self.body)
        }
    }

    @Test func aSignedResponseVerifiesAndItsStatusAndBodyAreBound() async throws {
        // setup: the hub answers
        let f = Fixture()
        let fields = try f.signer.signResponse(status: 201, body: Self.body)
        #expect(fields[1].value.hasPrefix(#"sig1=("@status" "content-digest");created="#))

        // validate
        #expect(try await f.verifier.verifyResponse(status: 201, fields: fields, body: Self.body).keyID == "110000")
        await expectRefusal(.signatureInvalid) { _ = try await f.verifier.verifyResponse(status: 200, fields: fields, body: Self.body) }
        await expectRefusal(.signatureInvalid) { _ = try await f.verifier.verifyResponse(status: 201, fields: fields, body: Data("{}".utf8)) }
        // an empty body is still digested and covered
        let empty = try f.signer.signResponse(status: 204, body: Data())
        #expect(try await f.verifier.verifyResponse(status: 204, fields: empty, body: Data()).components == ["@status", "content-digest"])
    }

    @Test func aTamperedBodyIsRefused() async throws {
        let f = Fixture()
        let fields = try f.signer.signRequest(method: "POST", targetURI: Self.uri, body: Self.body)
        let tampered = Data(#"{"claimKey":"abd","region":"110000"}"#.utf8)
        await expectRefusal(.signatureInvalid) { _ = try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: fields, body: tampered) }
        // nor does a matching digest for the new body help: the digest field is signed
        let rewritten = fields.map { $0.name == "Content-Digest" ? ($0.name, ContentDigest.sha256(tampered)) : $0 }
        await expectRefusal(.signatureInvalid) { _ = try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: rewritten, body: tampered) }
        // the refused attempts did not use up the nonce
        #expect(try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: fields, body: Self.body).keyID == "110000")
    }

    @Test(arguments: [
        ("PUT", uri),
        ("POST", "https://hub.example.cn:8443/federation/v1/claims?region=120000"),
        ("POST", "https://hub.example.cn/federation/v1/claims?region=110000"),
        ("POST", "http://hub.example.cn:8443/federation/v1/claims?region=110000"),
        ("POST", "https://hub.example.cn:8443/federation/v1/claimz?region=110000"),
    ])
    func aTamperedMethodOrURIIsRefused(method: String, uri: String) async throws {
        let f = Fixture()
        let fields = try f.signer.signRequest(method: "POST", targetURI: Self.uri, body: Self.body)
        await expectRefusal(.signatureInvalid) { _ = try await f.verifier.verifyRequest(method: method, targetURI: uri, fields: fields, body: Self.body) }
    }

    @Test func createdMoreThan300SecondsAwayIsExpired() async throws {
        // setup: signed now
        let f = Fixture()
        let old = try f.signer.signRequest(method: "GET", targetURI: Self.uri)
        f.clock.advance(by: 300)
        let atLimit = try f.signer.signRequest(method: "GET", targetURI: Self.uri)

        // 300 s later it still verifies; 301 s later it has expired
        let verifier = f.verifier
        #expect(try await verifier.verifyRequest(method: "GET", targetURI: Self.uri, fields: old, body: Data()).keyID == "110000")
        f.clock.advance(by: 301)
        await expectRefusal(.signatureExpired) { _ = try await verifier.verifyRequest(method: "GET", targetURI: Self.uri, fields: atLimit, body: Data()) }

        // a signer whose clock runs 301 s ahead is refused too
        let ahead = ManualClock(f.clock.read().addingTimeInterval(301))
        let early = try FederationSigner(keyID: "110000", key: f.key, clock: ahead.clock).signRequest(method: "GET", targetURI: Self.uri)
        await expectRefusal(.signatureExpired) { _ = try await verifier.verifyRequest(method: "GET", targetURI: Self.uri, fields: early, body: Data()) }
    }

    @Test func aNonceSeenBeforeIsReplayed() async throws {
        let f = Fixture()
        let fields = try f.signer.signRequest(method: "POST", targetURI: Self.uri, body: Self.body)
        _ = try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: fields, body: Self.body)
        await expectRefusal(.nonceReplayed) { _ = try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: fields, body: Self.body) }
        // each signature gets a fresh nonce
        let again = try f.signer.signRequest(method: "POST", targetURI: Self.uri, body: Self.body)
        #expect(again[1].value != fields[1].value)
        #expect(try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: again, body: Self.body).keyID == "110000")
    }

    @Test func anUnknownOrSuspendedKeyIDIsAnUnknownMember() async throws {
        let f = Fixture()
        let stranger = FederationSigner(keyID: "120000", key: Curve25519.Signing.PrivateKey(), clock: f.clock.clock)
        let fields = try stranger.signRequest(method: "GET", targetURI: Self.uri)
        await expectRefusal(.unknownMember) { _ = try await f.verifier.verifyRequest(method: "GET", targetURI: Self.uri, fields: fields, body: Data()) }
        // a known keyid with another member's key is a bad signature, not an unknown member
        let impostor = FederationSigner(keyID: "110000", key: Curve25519.Signing.PrivateKey(), clock: f.clock.clock)
        let forged = try impostor.signRequest(method: "GET", targetURI: Self.uri)
        await expectRefusal(.signatureInvalid) { _ = try await f.verifier.verifyRequest(method: "GET", targetURI: Self.uri, fields: forged, body: Data()) }
    }

    @Test func headerNamesAreCaseInsensitive() async throws {
        let f = Fixture()
        let fields = try f.signer.signRequest(method: "POST", targetURI: Self.uri, body: Self.body)
        let lower = fields.map { ($0.name.lowercased(), $0.value) }
        #expect(try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: lower, body: Self.body).keyID == "110000")
    }

    /// Signs with the low-level API, to make messages the profile would never produce.
    func handMade(_ f: Fixture, components: [String], parameters: StructuredField.Parameters, fields: [(name: String, value: String)] = []) throws -> [(name: String, value: String)] {
        let input = SignatureInput(components: components, parameters: parameters)
        let message = HTTPMessageParts.request(method: "POST", targetURI: Self.uri, fields: fields)
        let signature = try HTTPMessageSignature.sign(base: try HTTPMessageSignature.base(input, of: message), with: f.key)
        let (i, s) = HTTPMessageSignature.fields(label: "sig1", input: input, signature: signature)
        return fields + [("Signature-Input", i), ("Signature", s)]
    }

    @Test func malformedOrIncompleteSignaturesAreInvalid() async throws {
        let f = Fixture()
        let now = Int64(f.clock.read().timeIntervalSince1970)
        let good = try f.signer.signRequest(method: "POST", targetURI: Self.uri, body: Self.body)
        let digest = ("Content-Digest", ContentDigest.sha256(Self.body))
        func params(_ drop: String? = nil, alg: String = "ed25519") -> StructuredField.Parameters {
            [("created", .integer(now)), ("nonce", .string("n-\(drop ?? "x")-\(alg)")), ("keyid", .string("110000")), ("alg", .string(alg))]
                .filter { $0.0 != drop }
        }
        let cases: [(String, [(name: String, value: String)])] = [
            ("unsigned", [digest]),
            ("no Signature", good.filter { $0.name != "Signature" }),
            ("no Signature-Input", good.filter { $0.name != "Signature-Input" }),
            ("garbage input", good.map { $0.name == "Signature-Input" ? ($0.name, "sig1=(\"@method\"") : $0 }),
            ("garbage signature", good.map { $0.name == "Signature" ? ($0.name, "sig1=:not base64!:") : $0 }),
            ("signature a string", good.map { $0.name == "Signature" ? ($0.name, "sig1=\"abc\"") : $0 }),
            ("another label", good.map { ($0.name, $0.value.replacingOccurrences(of: "sig1=", with: "sig2=")) }),
            ("truncated signature", good.map { $0.name == "Signature" ? ($0.name, "sig1=:" + Data(repeating: 7, count: 64).base64EncodedString() + ":") : $0 }),
            ("digest not covered", try handMade(f, components: ["@method", "@target-uri"], parameters: params(), fields: [digest])),
            ("uri not covered", try handMade(f, components: ["@method", "content-digest"], parameters: params(), fields: [digest])),
            ("no nonce", try handMade(f, components: ["@method", "@target-uri", "content-digest"], parameters: params("nonce"), fields: [digest])),
            ("no created", try handMade(f, components: ["@method", "@target-uri", "content-digest"], parameters: params("created"), fields: [digest])),
            ("no keyid", try handMade(f, components: ["@method", "@target-uri", "content-digest"], parameters: params("keyid"), fields: [digest])),
            ("no alg", try handMade(f, components: ["@method", "@target-uri", "content-digest"], parameters: params("alg"), fields: [digest])),
            ("other alg", try handMade(f, components: ["@method", "@target-uri", "content-digest"], parameters: params(alg: "hmac-sha256"), fields: [digest])),
            ("covered digest missing", good.filter { $0.name != "Content-Digest" }),
        ]
        for (name, fields) in cases {
            do {
                _ = try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: fields, body: Self.body)
                Issue.record("\(name): accepted")
            } catch {
                #expect((error as? DomainError)?.code == .signatureInvalid, "\(name): \(error)")
            }
        }
        // the hand-made ones are otherwise well formed: with everything present the same route verifies
        let complete = try handMade(f, components: ["@method", "@target-uri", "content-digest"], parameters: params(), fields: [digest])
        #expect(try await f.verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: complete, body: Self.body).nonce == "n-x-ed25519")
    }
}
