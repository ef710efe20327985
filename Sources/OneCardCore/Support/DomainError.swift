import Foundation

/// A rule the domain refused, with a stable public `code` that integrators match on.
/// The HTTP status and problem+json body are derived in exactly one place (OneCardServer/Support/Problem.swift).
public struct DomainError: Error, Equatable, Sendable, CustomStringConvertible {
    /// How the refusal is classified; the server maps each kind to one HTTP status.
    public enum Kind: String, Sendable {
        case badRequest, unauthorized, forbidden, notFound, methodNotAllowed, conflict, unprocessable, payloadTooLarge, unsupportedMediaType, unavailable
        case tooManyRequests
        case `internal`
    }

    /// A stable public error code; the constants are in `ErrorCodes.swift`, one per code, each with its kind.
    public struct Code: Hashable, Comparable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public let kind: Kind

        public init(_ rawValue: String, _ kind: Kind) {
            self.rawValue = rawValue
            self.kind = kind
        }

        public static func == (a: Code, b: Code) -> Bool { a.rawValue == b.rawValue }
        public static func < (a: Code, b: Code) -> Bool { a.rawValue < b.rawValue }
        public func hash(into h: inout Hasher) { h.combine(rawValue) }
        public var description: String { rawValue }
    }

    public var code: Code
    public var detail: String
    /// Extension members of the problem body (RFC 9457 §3.2), e.g. `region` of `active_card_elsewhere`.
    public var extensions: [String: String]
    public var kind: Kind { code.kind }

    public init(_ code: Code, _ detail: String, extensions: [String: String] = [:]) {
        self.code = code
        self.detail = detail
        self.extensions = extensions
    }

    public var description: String { "\(code): \(detail)" }
}

extension DomainError {
    public static func invalidIDNumber(_ detail: String) -> DomainError { .init(.invalidIdNumber, detail) }
    public static func invalidField(_ field: String, _ detail: String) -> DomainError { .init(.invalidField, "\(field): \(detail)") }
    public static func invalidTransition(_ detail: String) -> DomainError { .init(.invalidTransition, detail) }
    public static func notFound(_ what: String) -> DomainError { .init(.notFound, "\(what) not found") }
    public static let forbidden = DomainError(.forbidden, "this account may not do that")
}

/// A configuration value that stops start-up, with a message naming it.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
