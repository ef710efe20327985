import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OneCardCore
import OneCardStore

/// A signed federation answer as received: status, body, and who signed it.
struct SignedAnswer: Sendable {
    var status: Int
    var body: Data
    var signer: String

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: body) } catch {
            throw DomainError(.federationUnavailable, "the \(signer) answered \(status) with a body that is not as documented")
        }
    }

    /// The problem the peer answered with, as a domain error (its code kept when this node knows it).
    var problem: DomainError {
        struct P: Decodable { var code: String?; var detail: String?; var region: String? }
        let p = try? JSONDecoder().decode(P.self, from: body)
        let code = DomainError.Code.all.first { $0.rawValue == p?.code } ?? .federationUnavailable
        var e = DomainError(code, p?.detail ?? "the \(signer) answered \(status)")
        if let region = p?.region { e.extensions["region"] = region }
        return e
    }
}

/// Makes signed calls to another federation party (RFC 9421 with `FederationSigner`), checks the signature of the
/// answer against the key expected of that party, and keeps both as evidence.
struct FederationCaller: Sendable {
    let signer: FederationSigner
    let records: ExchangeRecordsService
    let clock: Clock
    let http: HTTPClient1

    init(signer: FederationSigner, records: ExchangeRecordsService, clock: Clock, timeout: Duration = .seconds(10)) {
        self.signer = signer; self.records = records; self.clock = clock; http = HTTPClient1(timeout: timeout)
    }

    /// Sends `method url` with `body` (JSON) signed, to the party `peer` whose answers `peerKey` signs. A transport
    /// failure or an unsigned or badly signed answer throws `federation_unavailable`; any signed answer is returned.
    func call(_ method: String, _ url: String, body: Data? = nil, peer: String, peerKey: Curve25519.Signing.PublicKey) async throws -> SignedAnswer {
        var headers = try signer.signRequest(method: method, targetURI: url, body: body)
        if let body, !body.isEmpty { headers.append((name: "Content-Type", value: "application/json")) }
        let response: HTTPClient1.Response
        do {
            response = try await http.send(method, url, headers: headers.map { ($0.name, $0.value) }, body: body)
        } catch {
            throw DomainError(.federationUnavailable, "the \(peer) did not answer (\(error))")
        }
        // The answer must come from the party asked: verified against its key, nonces not remembered (answers are not replayed into us).
        let verifier = FederationVerifier(keys: { id in id == peer ? peerKey : nil }, firstUse: { _, _, _ in true }, clock: clock)
        do {
            _ = try await verifier.verifyResponse(status: response.status, fields: response.headers, body: response.body)
        } catch {
            try? await keep(method, url, peer: peer, requestHeaders: headers, body: body, response: response)
            throw DomainError(.federationUnavailable, "the \(peer)'s answer (\(response.status)) is not signed by it: \(error)")
        }
        try await keep(method, url, peer: peer, requestHeaders: headers, body: body, response: response)
        return SignedAnswer(status: response.status, body: response.body, signer: peer)
    }

    private func keep(_ method: String, _ url: String, peer: String, requestHeaders: [(name: String, value: String)], body: Data?,
                      response: HTTPClient1.Response) async throws {
        let field = { (name: String) in requestHeaders.first { $0.name == name }?.value }
        let evidence = FederationEvidence(
            at: clock.now(), direction: .outgoing, peer: peer, method: method, uri: url, status: response.status,
            requestSignatureInput: field("Signature-Input"), requestSignature: field("Signature"),
            responseSignatureInput: response.header("Signature-Input"), responseSignature: response.header("Signature"),
            requestBody: String(decoding: body ?? Data(), as: UTF8.self), responseBody: String(decoding: response.body, as: UTF8.self))
        try await records.keep(evidence)
    }
}

/// The receiving side of signed exchange: checks an incoming request's signature (key by `keyid`, nonce seen once,
/// `created` within 300 s), runs the handler, signs the answer, and keeps both as evidence. Refusals are signed
/// problem+json answers too, so the caller can tell a refusal from a forgery on the way.
struct SignedEndpoint: Sendable {
    /// The public key of an active party by `keyid`, nil when unknown or suspended.
    let keys: FederationVerifier.KeyLookup
    let signer: FederationSigner
    let records: ExchangeRecordsService
    let clock: Clock

    struct Incoming: Sendable {
        var signer: String
        var body: Data
        var request: Request
    }

    /// What a signed route answers.
    struct Reply: Sendable {
        var status: Int
        var body: Data
        var contentType: String

        static func json<T: Encodable>(_ value: T, status: Int = 200) -> Reply { Reply(status: status, body: FederationJSON.encode(value), contentType: "application/json") }
        static func jose(_ token: String) -> Reply { Reply(status: 200, body: Data(token.utf8), contentType: "application/jose") }

        /// As an unsigned answer of this node's own API.
        var response: Response {
            var headers = HTTPFields()
            headers[.contentType] = contentType
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// A handler for a signed route: `run` gets the verified signer and the raw body.
    func handle(_ request: Request, context: AppContext, _ run: @Sendable (Incoming) async throws -> Reply) async throws -> Response {
        let raw = try await request.body.collect(upTo: context.maxUploadSize)
        let body = Data(buffer: raw)
        let fields = request.headers.map { (name: $0.name.rawName, value: $0.value) }
        let uri = Self.targetURI(request)
        let records = records
        let verifier = FederationVerifier(keys: keys, firstUse: { id, nonce, created in
            try await records.firstUse(keyID: id, nonce: nonce, created: created)
        }, clock: clock)
        var reply: Reply
        var signerName = "unknown"
        do {
            let verified = try await verifier.verifyRequest(method: request.method.rawValue, targetURI: uri, fields: fields, body: body)
            signerName = verified.keyID
            reply = try await run(Incoming(signer: verified.keyID, body: body, request: request))
        } catch let e as DomainError {
            let p = Problem(e)
            reply = Reply(status: Int(p.status.code), body: p.body, contentType: "application/problem+json")
        }
        let (status, answer) = (reply.status, reply.body)
        let signed = try signer.signResponse(status: status, body: answer)
        var headers = HTTPFields()
        headers[.contentType] = reply.contentType
        for f in signed { headers[HTTPField.Name(f.name)!] = f.value }
        let field = { (name: String) in fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
        let evidence = FederationEvidence(
            at: clock.now(), direction: .incoming, peer: signerName, method: request.method.rawValue, uri: uri, status: status,
            requestSignatureInput: field("Signature-Input"), requestSignature: field("Signature"),
            responseSignatureInput: signed.first { $0.name == "Signature-Input" }?.value, responseSignature: signed.first { $0.name == "Signature" }?.value,
            requestBody: String(decoding: body.prefix(65_536), as: UTF8.self), responseBody: String(decoding: answer.prefix(65_536), as: UTF8.self))
        try? await records.keep(evidence)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer)))
    }

    /// The full URI as this server received it (RFC 9421 `@target-uri`): scheme, the Host the client addressed, path, query.
    static func targetURI(_ request: Request) -> String {
        let host = request.head.authority ?? "127.0.0.1"
        return "http://\(host)\(request.uri.description)"
    }
}

/// JSON for federation bodies: sorted keys, no escaped slashes.
enum FederationJSON {
    static func encode<T: Encodable>(_ value: T) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! e.encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(DomainError) -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw DomainError(.invalidMessage, "the body is not a \(T.self) as documented (\(error))")
        }
    }
}
