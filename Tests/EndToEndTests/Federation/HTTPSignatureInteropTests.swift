import Crypto
import Foundation
import OneCardCore
import Testing

/// Federation signatures checked against an independent RFC 9421 implementation (PyPI
/// http-message-signatures): it verifies what OneCard signs, and OneCard verifies what it signs.
@Suite("Federation signatures verified by another RFC 9421 library, and its verified by ours", .serialized)
struct HTTPSignatureInteropTests {
    static let script = QRInteropTests.root.appendingPathComponent("Tests/Interop/http_signatures.py").path

    /// Runs the peer with one JSON request; nil when the library is missing and not required.
    static func peer(_ request: [String: Any]) async throws -> (status: Int32, answer: [String: Any])? {
        let (status, data, _) = try await ChildProcess.collect(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-W", "ignore", script],
                                                               input: try JSONSerialization.data(withJSONObject: request))
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("No module named 'http_message_signatures'") {
            if ProcessInfo.processInfo.environment["ONECARD_REQUIRE_HTTPSIG"] == "1" { Issue.record("http-message-signatures is required but missing") }
            return nil
        }
        guard let answer = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            Issue.record("the peer answered no JSON: \(text)")
            return (status, [:])
        }
        return (status, answer)
    }

    static func b64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static let uri = "http://127.0.0.1:18080/federation/v1/revocations?since=42"
    static let body = Data(#"{"entries":[{"iss":"110000","status":"revoked"}],"seq":43}"#.utf8)

    @Test func theirLibraryVerifiesRequestsAndResponsesWeSign() async throws {
        // setup: a node's key and what it sends
        let key = Curve25519.Signing.PrivateKey()
        let signer = FederationSigner(keyID: "110000", key: key)
        let publicKey = Self.b64url(key.publicKey.rawRepresentation)
        let post = try signer.signRequest(method: "POST", targetURI: Self.uri, body: Self.body)
        let get = try signer.signRequest(method: "GET", targetURI: Self.uri)
        let response = try signer.signResponse(status: 200, body: Self.body)
        func headers(_ fields: [(name: String, value: String)]) -> [[String]] { fields.map { [$0.name, $0.value] } }

        // validate: the peer verifies each, and reads our parameters
        guard let (status, answer) = try await Self.peer(["op": "verify-request", "publicKey": publicKey, "method": "POST", "url": Self.uri,
                                                    "headers": headers(post), "body": Self.body.base64EncodedString()]) else { return }
        #expect(status == 0, "\(answer)")
        #expect(answer["keyid"] as? String == "110000" && answer["alg"] as? String == "ed25519" && answer["label"] as? String == "sig1")
        #expect(answer["components"] as? [String] == ["@method", "@target-uri", "content-digest"])
        #expect((answer["nonce"] as? String)?.isEmpty == false)

        let g = try #require(try await Self.peer(["op": "verify-request", "publicKey": publicKey, "method": "GET", "url": Self.uri, "headers": headers(get), "body": ""]))
        #expect(g.status == 0, "\(g.answer)")
        let r = try #require(try await Self.peer(["op": "verify-response", "publicKey": publicKey, "status": 200, "headers": headers(response),
                                            "body": Self.body.base64EncodedString()]))
        #expect(r.status == 0, "\(r.answer)")
        #expect(r.answer["components"] as? [String] == ["@status", "content-digest"])

        // and refuses them changed: another method, another status, another body
        let putAnswer = try #require(try await Self.peer(["op": "verify-request", "publicKey": publicKey, "method": "PUT", "url": Self.uri,
                                                    "headers": headers(post), "body": Self.body.base64EncodedString()]))
        #expect(putAnswer.status == 1, "\(putAnswer.answer)")
        let statusAnswer = try #require(try await Self.peer(["op": "verify-response", "publicKey": publicKey, "status": 201, "headers": headers(response),
                                                       "body": Self.body.base64EncodedString()]))
        #expect(statusAnswer.status == 1, "\(statusAnswer.answer)")
        let bodyAnswer = try #require(try await Self.peer(["op": "verify-response", "publicKey": publicKey, "status": 200, "headers": headers(response),
                                                     "body": Data("{}".utf8).base64EncodedString()]))
        #expect(bodyAnswer.status == 1, "\(bodyAnswer.answer)")
    }

    @Test func weVerifyRequestsAndResponsesTheirLibrarySigns() async throws {
        // setup: the hub's key, known to us; the peer signs as the hub
        let key = Curve25519.Signing.PrivateKey()
        let seed = Self.b64url(key.rawRepresentation)
        actor Nonces { var seen = Set<String>(); func first(_ n: String) -> Bool { seen.insert(n).inserted } }
        let nonces = Nonces()
        let verifier = FederationVerifier(keys: { $0 == "hub" ? key.publicKey : nil }, firstUse: { _, nonce, _ in await nonces.first(nonce) })
        func fields(_ answer: [String: Any]) -> [(name: String, value: String)] {
            (answer["headers"] as? [[String]] ?? []).map { ($0[0], $0[1]) }
        }
        guard let post = try await Self.peer(["op": "sign-request", "privateKey": seed, "keyid": "hub", "nonce": "peer-nonce-1", "method": "POST",
                                        "url": Self.uri, "body": Self.body.base64EncodedString()]) else { return }
        #expect(post.status == 0, "\(post.answer)")
        let get = try #require(try await Self.peer(["op": "sign-request", "privateKey": seed, "keyid": "hub", "nonce": "peer-nonce-2", "method": "GET", "url": Self.uri]))
        let response = try #require(try await Self.peer(["op": "sign-response", "privateKey": seed, "keyid": "hub", "nonce": "peer-nonce-3", "status": 200,
                                                   "body": Self.body.base64EncodedString()]))

        // validate: ours verifies each
        let v = try await verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: fields(post.answer), body: Self.body)
        #expect(v.keyID == "hub" && v.nonce == "peer-nonce-1" && v.components == ["@method", "@target-uri", "content-digest"])
        #expect(try await verifier.verifyRequest(method: "GET", targetURI: Self.uri, fields: fields(get.answer), body: Data()).nonce == "peer-nonce-2")
        #expect(try await verifier.verifyResponse(status: 200, fields: fields(response.answer), body: Self.body).nonce == "peer-nonce-3")

        // and refuses them changed or replayed
        await #expect { _ = try await verifier.verifyResponse(status: 200, fields: fields(response.answer), body: Data("{}".utf8)) }
            throws: { ($0 as? DomainError)?.code == .signatureInvalid }
        await #expect { _ = try await verifier.verifyRequest(method: "POST", targetURI: Self.uri + "1", fields: fields(post.answer), body: Self.body) }
            throws: { ($0 as? DomainError)?.code == .signatureInvalid }
        await #expect { _ = try await verifier.verifyRequest(method: "POST", targetURI: Self.uri, fields: fields(post.answer), body: Self.body) }
            throws: { ($0 as? DomainError)?.code == .nonceReplayed }
    }
}
