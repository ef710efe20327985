import Foundation

/// A rule the domain refused, with a stable public `code` that integrators match on.
/// The HTTP status and problem+json body are derived in exactly one place (OneCardServer/Support/Problem.swift).
public struct DomainError: Error, Equatable, Sendable, CustomStringConvertible {
    /// How the refusal is classified; the server maps each kind to one HTTP status.
    public enum Kind: String, Sendable {
        case badRequest, unauthorized, forbidden, notFound, conflict, unprocessable, payloadTooLarge, unsupportedMediaType, unavailable
    }

    public var kind: Kind
    public var code: String
    public var detail: String

    public init(_ kind: Kind, _ code: String, _ detail: String) {
        self.kind = kind
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}

extension DomainError {
    public static func invalidIDNumber(_ detail: String) -> DomainError { .init(.unprocessable, "invalid_id_number", detail) }
    public static func invalidField(_ field: String, _ detail: String) -> DomainError {
        .init(.unprocessable, "invalid_field", "\(field): \(detail)")
    }
    public static func invalidTransition(_ detail: String) -> DomainError { .init(.conflict, "invalid_transition", detail) }
    public static func notFound(_ what: String) -> DomainError { .init(.notFound, "not_found", "\(what) not found") }
    public static let forbidden = DomainError(.forbidden, "forbidden", "this account may not do that")
}
