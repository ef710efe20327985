import Crypto
import Foundation

/// What a signature can cover of one HTTP message: a request's method and target URI, or a
/// response's status, and the header fields. Field names are compared case-insensitively.
public struct HTTPMessageParts: Sendable {
    public enum Start: Sendable {
        /// `targetURI` is the full URI as the receiver sees it: scheme, host, port, path and query.
        case request(method: String, targetURI: String)
        case response(status: Int)
    }

    public var start: Start
    public var fields: [(name: String, value: String)]

    public init(_ start: Start, fields: [(name: String, value: String)]) {
        self.start = start
        self.fields = fields
    }

    public static func request(method: String, targetURI: String, fields: [(name: String, value: String)] = []) -> Self {
        .init(.request(method: method, targetURI: targetURI), fields: fields)
    }

    public static func response(status: Int, fields: [(name: String, value: String)] = []) -> Self {
        .init(.response(status: status), fields: fields)
    }

    /// Every line of the field, each trimmed, joined by ", " (RFC 9421 §2.1); nil when absent.
    public func field(_ name: String) -> String? {
        let lines = fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }
        guard !lines.isEmpty else { return nil }
        return lines.map { $0.value.trimmingCharacters(in: CharacterSet(charactersIn: " \t")) }.joined(separator: ", ")
    }
}

/// One signature's covered components and parameters: a member of `Signature-Input` (RFC 9421 §4.1).
public struct SignatureInput: Sendable {
    /// Component identifiers in order, e.g. `@method`, `content-digest`.
    public var components: [String]
    /// Signature parameters in the order they are serialised, which is the order they are signed in.
    public var parameters: StructuredField.Parameters

    public init(components: [String], parameters: StructuredField.Parameters) {
        self.components = components
        self.parameters = parameters
    }

    /// The federation profile's parameter order: created, nonce, keyid, alg.
    public init(components: [String], created: Int64, nonce: String, keyID: String, algorithm: String = "ed25519") {
        self.init(components: components, parameters: [
            ("created", .integer(created)), ("nonce", .string(nonce)), ("keyid", .string(keyID)), ("alg", .string(algorithm)),
        ])
    }

    public var innerList: StructuredField.InnerList {
        .init(components.map { StructuredField.Item(.string($0)) }, parameters: parameters)
    }

    /// The serialised inner list, which is also the value of `@signature-params` in the base.
    public var serialized: String { StructuredField.serialize(innerList) }

    public func parameter(_ key: String) -> StructuredField.BareItem? { parameters.first { $0.key == key }?.value }

    public var created: Int64? { if case .integer(let n) = parameter("created") { n } else { nil } }
    public var expires: Int64? { if case .integer(let n) = parameter("expires") { n } else { nil } }
    public var keyID: String? { if case .string(let s) = parameter("keyid") { s } else { nil } }
    public var nonce: String? { if case .string(let s) = parameter("nonce") { s } else { nil } }
    public var algorithm: String? { if case .string(let s) = parameter("alg") { s } else { nil } }

    /// Reads one member of a parsed `Signature-Input` dictionary: an inner list of strings without
    /// component parameters (this implementation resolves none of `sf`, `key`, `bs`, `req`, `tr`).
    public init(_ member: StructuredField.Member) throws {
        guard case .innerList(let list) = member else { throw HTTPMessageSignature.invalid("Signature-Input member is not an inner list") }
        components = try list.items.map { (item) throws -> String in
            guard case .string(let name) = item.value else { throw HTTPMessageSignature.invalid("a covered component is not a string") }
            guard item.parameters.isEmpty else { throw HTTPMessageSignature.invalid("component parameters are not supported (\(name))") }
            return name
        }
        parameters = list.parameters
    }
}

/// HTTP Message Signatures (RFC 9421): the signature base, the `Signature-Input` and `Signature`
/// fields, and Ed25519 over them. The federation profile on top is `FederationSigner`/`FederationVerifier`.
public enum HTTPMessageSignature {
    static func invalid(_ detail: String) -> DomainError { DomainError(.signatureInvalid, detail) }

    /// The signature base (RFC 9421 §2.5): one line per covered component, then `@signature-params`;
    /// lines are joined by LF with none after the last.
    public static func base(_ input: SignatureInput, of message: HTTPMessageParts) throws -> String {
        var lines: [String] = []
        var seen = Set<String>()
        for name in input.components {
            guard name == name.lowercased(), !name.isEmpty, seen.insert(name).inserted else {
                throw invalid("component \"\(name)\" is not lowercase, is empty or appears twice")
            }
            guard name != "@signature-params" else { throw invalid("@signature-params cannot be covered") }
            let value = try componentValue(name, of: message)
            guard !value.contains("\n"), !value.contains("\r") else { throw invalid("component \"\(name)\" has a line break") }
            lines.append("\"\(name)\": \(value)")
        }
        lines.append("\"@signature-params\": \(input.serialized)")
        return lines.joined(separator: "\n")
    }

    /// A component's value (RFC 9421 §2.1, §2.2): derived components from the request line or status,
    /// anything else from the header field of that name.
    static func componentValue(_ name: String, of message: HTTPMessageParts) throws -> String {
        guard name.hasPrefix("@") else {
            guard let value = message.field(name) else { throw invalid("covered field \"\(name)\" is missing") }
            return value
        }
        switch message.start {
        case .response(let status):
            guard name == "@status" else { throw invalid("\(name) cannot be covered in a response") }
            return String(status)
        case .request(let method, let targetURI):
            if name == "@method" { return method }
            if name == "@target-uri" { return targetURI }
            guard let url = URLComponents(string: targetURI), let scheme = url.scheme?.lowercased(), let host = url.host else {
                throw invalid("the target URI \"\(targetURI)\" is not absolute")
            }
            let path = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
            switch name {
            case "@scheme": return scheme
            case "@authority":
                let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
                if let port = url.port, port != defaultPort { return "\(host.lowercased()):\(port)" }
                return host.lowercased()
            case "@path": return path
            case "@query": return "?" + (url.percentEncodedQuery ?? "")
            case "@request-target": return path + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
            default: throw invalid("derived component \(name) is not supported")
            }
        }
    }

    /// Signs `base` with Ed25519.
    public static func sign(base: String, with key: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
        Array(try key.signature(for: Data(base.utf8)))
    }

    /// The `Signature-Input` and `Signature` field values carrying one signature under `label`.
    public static func fields(label: String, input: SignatureInput, signature: [UInt8]) -> (signatureInput: String, signature: String) {
        let inputField: StructuredField.Dictionary = [(label, .innerList(input.innerList))]
        let signatureField: StructuredField.Dictionary = [(label, .item(.init(.byteSequence(signature))))]
        return (StructuredField.serialize(inputField), StructuredField.serialize(signatureField))
    }

    /// Reads the signature under `label` from a message's `Signature-Input` and `Signature` fields.
    /// Absent fields, an absent label or anything malformed is `signature_invalid`.
    public static func read(label: String, from message: HTTPMessageParts) throws -> (input: SignatureInput, signature: [UInt8]) {
        guard let inputField = message.field("Signature-Input"), let signatureField = message.field("Signature") else {
            throw invalid("the message is not signed")
        }
        let inputs: StructuredField.Dictionary, signatures: StructuredField.Dictionary
        do {
            inputs = try StructuredField.parseDictionary(inputField)
            signatures = try StructuredField.parseDictionary(signatureField)
        } catch {
            throw invalid("malformed signature fields: \(error)")
        }
        guard let inputMember = inputs.first(where: { $0.key == label })?.value,
              let signatureMember = signatures.first(where: { $0.key == label })?.value
        else { throw invalid("no signature labelled \(label)") }
        guard case .item(let item) = signatureMember, case .byteSequence(let signature) = item.value else {
            throw invalid("Signature \(label) is not a byte sequence")
        }
        return (try SignatureInput(inputMember), signature)
    }

    /// Verifies an Ed25519 signature over the base of `input` for `message`; false when it does not verify.
    public static func verify(_ signature: [UInt8], input: SignatureInput, message: HTTPMessageParts,
                              publicKey: Curve25519.Signing.PublicKey) throws -> Bool {
        publicKey.isValidSignature(signature, for: Data(try base(input, of: message).utf8))
    }
}
