import Crypto
import Foundation
import Testing
@testable import OneCardCore

/// RFC 9421 and RFC 9530 against their own published examples.
@Suite("HTTP Message Signatures and Content-Digest: the RFC examples")
struct HTTPMessageSignatureRFCTests {
    /// RFC 9421 Appendix B.1.4, "Example Ed25519 Test Key" (`test-key-ed25519`), as a JWK.
    static let rfcPublicX = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
    static let rfcPrivateD = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"

    /// RFC 9421 Appendix B.2, the test request: `POST /foo?param=Value&Pet=dog` to example.com.
    static let testRequest = HTTPMessageParts.request(
        method: "POST", targetURI: "https://example.com/foo?param=Value&Pet=dog",
        fields: [
            ("Host", "example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("Content-Type", "application/json"),
            ("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"),
            ("Content-Length", "18"),
        ])

    /// RFC 9421 §B.2.6 "Signing a Request Using ed25519": the fields it adds and the base it signs.
    static let b26Input = #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#
    static let b26Signature = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
    static let b26Base = """
        "date": Tue, 20 Apr 2021 02:07:55 GMT
        "@method": POST
        "@path": /foo
        "@authority": example.com
        "content-type": application/json
        "content-length": 18
        "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"
        """

    static func base64URL(_ text: String) -> Data {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)!
    }

    static var message: HTTPMessageParts {
        var m = testRequest
        m.fields += [("Signature-Input", b26Input), ("Signature", b26Signature)]
        return m
    }

    @Test func theEd25519ExampleBaseIsRebuiltByteForByteAndItsSignatureVerifies() throws {
        // setup: the RFC's request carrying the RFC's Signature-Input and Signature
        let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: Self.base64URL(Self.rfcPublicX))

        // the base rebuilt from the request's components
        let (input, signature) = try HTTPMessageSignature.read(label: "sig-b26", from: Self.message)
        let base = try HTTPMessageSignature.base(input, of: Self.message)

        // validate
        #expect(Array(base.utf8) == Array(Self.b26Base.utf8))
        #expect(input.keyID == "test-key-ed25519" && input.created == 1_618_884_473)
        #expect(try HTTPMessageSignature.verify(signature, input: input, message: Self.message, publicKey: publicKey))
        // the same signature does not verify another request
        var other = Self.message
        other.start = .request(method: "PUT", targetURI: "https://example.com/foo?param=Value&Pet=dog")
        #expect(try !HTTPMessageSignature.verify(signature, input: input, message: other, publicKey: publicKey))
    }

    @Test func signingTheExampleBaseWithTheTestKeyGivesTheRFCSignature() throws {
        // setup: the RFC's private key derives its public key
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Self.base64URL(Self.rfcPrivateD))
        #expect(key.publicKey.rawRepresentation == Self.base64URL(Self.rfcPublicX))

        // sign the base and write the fields the way the RFC shows them
        let (input, _) = try HTTPMessageSignature.read(label: "sig-b26", from: Self.message)
        let signature = try HTTPMessageSignature.sign(base: Self.b26Base, with: key)
        let fields = HTTPMessageSignature.fields(label: "sig-b26", input: input, signature: signature)

        // validate: Ed25519 is deterministic (RFC 8032), so the bytes are the RFC's
        #expect(fields.signatureInput == Self.b26Input)
        #expect(fields.signature == Self.b26Signature)
    }

    @Test func derivedComponentsFollowTheRFC() throws {
        // RFC 9421 §2.2: @authority drops a default port, @query keeps "?" even when empty
        let m = HTTPMessageParts.request(method: "GET", targetURI: "https://WWW.Example.com:8443/path/a%20b?x=1&y=%2F")
        #expect(try HTTPMessageSignature.componentValue("@authority", of: m) == "www.example.com:8443")
        #expect(try HTTPMessageSignature.componentValue("@scheme", of: m) == "https")
        #expect(try HTTPMessageSignature.componentValue("@path", of: m) == "/path/a%20b")
        #expect(try HTTPMessageSignature.componentValue("@query", of: m) == "?x=1&y=%2F")
        #expect(try HTTPMessageSignature.componentValue("@request-target", of: m) == "/path/a%20b?x=1&y=%2F")
        #expect(try HTTPMessageSignature.componentValue("@target-uri", of: m) == "https://WWW.Example.com:8443/path/a%20b?x=1&y=%2F")
        let plain = HTTPMessageParts.request(method: "GET", targetURI: "http://example.com:80")
        #expect(try HTTPMessageSignature.componentValue("@authority", of: plain) == "example.com")
        #expect(try HTTPMessageSignature.componentValue("@path", of: plain) == "/")
        #expect(try HTTPMessageSignature.componentValue("@query", of: plain) == "?")
        // a field is every line of that name, case-insensitively, trimmed and joined by ", "
        let lines = HTTPMessageParts.response(status: 200, fields: [("X-Thing", " a "), ("x-thing", "b\t")])
        #expect(lines.field("X-THING") == "a, b")
        #expect(try HTTPMessageSignature.componentValue("@status", of: lines) == "200")
        #expect(throws: DomainError.self) { try HTTPMessageSignature.componentValue("@method", of: lines) }
    }

    @Test func contentDigestMatchesRFC9530() throws {
        // RFC 9530's examples (Appendix B) carry `{"hello": "world"}` followed by a line feed.
        let withLF = Data("{\"hello\": \"world\"}\n".utf8)
        #expect(ContentDigest.sha256(withLF) == "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:")
        try ContentDigest.verify("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:", body: withLF)
        // the same 18 bytes without it, as in RFC 9421's test request
        let body = Data("{\"hello\": \"world\"}".utf8)
        #expect(ContentDigest.sha256(body) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
        // another algorithm alongside is ignored; sha-256 decides
        try ContentDigest.verify("sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", body: body)
    }

    @Test(arguments: [
        // RFC 9421's test request digest: only sha-512, so no sha-256 to check
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:", // the digest of another body
        "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", // not a byte sequence
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,", // trailing comma
        "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", // keys are lowercase
        "",
    ])
    func aContentDigestThatDoesNotProveTheBodyIsRefused(field: String) {
        let body = Data("{\"hello\": \"world\"}".utf8)
        #expect { try ContentDigest.verify(field, body: body) } throws: { ($0 as? DomainError)?.code == .signatureInvalid }
    }

    @Test func structuredFieldsReadWhatOtherImplementationsWrite() throws {
        // dictionary with an inner list, string/integer/token/byte-sequence/boolean parameters, OWS after commas
        let d = try StructuredField.parseDictionary(#"a=("x" "y";p);n=-5;t=tok/en:1;b=:AQID:;f, b=?0,c;d=1.5"#)
        #expect(d.map(\.key) == ["a", "b", "c"])
        guard case .innerList(let list) = d[0].value else { Issue.record("not an inner list"); return }
        #expect(list.items.map(\.value) == [.string("x"), .string("y")])
        #expect(list.items[1].parameters.map(\.key) == ["p"])
        #expect(list.parameters.map(\.value) == [.integer(-5), .token("tok/en:1"), .byteSequence([1, 2, 3]), .boolean(true)])
        #expect(StructuredField.serialize(d) == #"a=("x" "y";p);n=-5;t=tok/en:1;b=:AQID:;f, b=?0, c;d=1.5"#)
        // escapes round-trip
        let s = try StructuredField.parseItem(#""say \"hi\" \\ ok""#)
        #expect(s.value == .string(#"say "hi" \ ok"#))
        #expect(StructuredField.serialize(s) == #""say \"hi\" \\ ok""#)
        for bad in [#"a=("x""#, #"a="unterminated"#, "a=:!!:", "A=1", "a=1,", "a=(\"x\")junk", "a=1234567890123456", "a=\"tab\there\""] {
            #expect(throws: StructuredField.ParseError.self, "\(bad)") { try StructuredField.parseDictionary(bad) }
        }
    }
}
