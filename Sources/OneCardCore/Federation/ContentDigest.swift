import Crypto
import Foundation

/// The `Content-Digest` field (RFC 9530) with `sha-256`, the one algorithm federation messages use.
public enum ContentDigest {
    /// The field value for `body`: `sha-256=:<base64 of SHA-256(body)>:`.
    public static func sha256(_ body: some DataProtocol) -> String {
        let field: StructuredField.Dictionary = [("sha-256", .item(.init(.byteSequence(Array(SHA256.hash(data: body))))))]
        return StructuredField.serialize(field)
    }

    /// Checks a received `Content-Digest` against the body it came with. The field is a structured
    /// dictionary; digests under other algorithms are ignored (RFC 9530 §2 lets a recipient ignore them),
    /// and a field without a `sha-256` member fails, as do a malformed field and a digest that differs.
    public static func verify(_ field: String?, body: some DataProtocol) throws {
        guard let field else { throw DomainError(.signatureInvalid, "Content-Digest is missing") }
        let members: StructuredField.Dictionary
        do { members = try StructuredField.parseDictionary(field) } catch {
            throw DomainError(.signatureInvalid, "Content-Digest is malformed: \(error)")
        }
        guard let member = members.first(where: { $0.key == "sha-256" })?.value else {
            throw DomainError(.signatureInvalid, "Content-Digest has no sha-256 digest")
        }
        guard case .item(let item) = member, case .byteSequence(let digest) = item.value else {
            throw DomainError(.signatureInvalid, "Content-Digest sha-256 is not a byte sequence")
        }
        let actual = Array(SHA256.hash(data: body))
        guard digest.count == actual.count, zip(digest, actual).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw DomainError(.signatureInvalid, "Content-Digest does not match the body")
        }
    }
}
