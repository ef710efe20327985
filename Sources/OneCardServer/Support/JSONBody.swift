import Foundation
import Hummingbird
import NIOCore
import OneCardCore

extension Request {
    /// Decodes the JSON body into `T`, mapping every way it can be wrong to a stable problem code:
    /// too large (413 `payload_too_large`), not JSON (400 `malformed_json`), a missing or mistyped
    /// field (422 `invalid_field`), a value outside an enumeration (422 `invalid_value`).
    /// `fast`, when given, reads the common shape of the body by hand (a hot path); it answers nil for anything it
    /// does not expect, and `JSONDecoder` then decides, so what is accepted and every error stay `Codable`'s.
    mutating func decodeJSON<T: Decodable>(as type: T.Type, context: AppContext, fast: ((UnsafeRawBufferPointer) -> T?)? = nil) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw DomainError(.payloadTooLarge, "request bodies are limited to 1 MB")
        }
        if let type = headers[.contentType], !type.lowercased().hasPrefix("application/json"), !type.lowercased().hasPrefix("application/problem+json") {
            throw DomainError(.unsupportedMediaType, "send the body as application/json")
        }
        if let fast, let value = buffer.withUnsafeReadableBytes(fast) { return value }
        let data = Data(buffer: buffer)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw Self.problem(for: error)
        }
    }

    static func problem(for error: DecodingError) -> DomainError {
        func path(_ c: [any CodingKey]) -> String {
            c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            return .init(.invalidField, "\(path(ctx.codingPath + [key])): required")
        case .typeMismatch(let type, let ctx):
            return .init(.invalidField, "\(path(ctx.codingPath)): expected \(Self.typeName(type))")
        case .valueNotFound(let type, let ctx):
            return .init(.invalidField, "\(path(ctx.codingPath)): expected \(Self.typeName(type)), got null")
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty {
                return .init(.malformedJson, "the body is not valid JSON")
            }
            return .init(.invalidValue, "\(path(ctx.codingPath)): \(ctx.debugDescription)")
        @unknown default:
            return .init(.malformedJson, "the body could not be read")
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Bool.Type: "a boolean"
        default: "\(t)".lowercased().contains("array") ? "an array" : "an object"
        }
    }
}

/// A JSON response with a chosen status.
struct JSONResponse<T: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    let body: T

    init(_ body: T, status: HTTPResponse.Status = .ok) { self.body = body; self.status = status }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try Response.json(body, status: status)
    }
}

/// Decodes an enumeration from its raw value with the field named in the error.
func parseEnum<E: RawRepresentable>(_ raw: String, _ field: String) throws(DomainError) -> E where E.RawValue == String, E: CaseIterable {
    guard let v = E(rawValue: raw) else {
        throw DomainError(.invalidValue, "\(field): one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return v
}

extension Response {
    /// A JSON response from any encodable value (for handlers that answer with more than one shape).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return json(bytes: try encoder.encode(value), status: status)
    }

    /// A JSON response of bytes already written (a hot path's hand-written JSON).
    static func json(bytes: some Sequence<UInt8>, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
