import Foundation
import Hummingbird
import Logging
import NIOCore
import OneCardCore
import OneCardStore

/// The one place where a domain error becomes an HTTP status and an `application/problem+json` body.
struct Problem: HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let title: String
    let detail: String
    var extensions: [String: String] = [:]

    init(_ error: DomainError) {
        status = Self.status(for: error.kind)
        code = error.code.rawValue
        title = status.reasonPhrase
        detail = error.detail
        extensions = error.extensions
    }

    init(_ code: DomainError.Code, detail: String) { self.init(DomainError(code, detail)) }

    /// Only for HTTP errors the framework raises with a status no domain code covers.
    fileprivate init(status: HTTPResponse.Status, code: String, detail: String) {
        self.status = status; self.code = code; self.title = status.reasonPhrase; self.detail = detail
    }

    static func status(for kind: DomainError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict: .conflict
        case .unprocessable: .unprocessableContent
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .unavailable: .serviceUnavailable
        case .tooManyRequests: .tooManyRequests
        case .internal: .internalServerError
        }
    }

    /// An error the framework raised (no route, a body too large, a bad parameter).
    init(_ e: HTTPError) {
        let code: DomainError.Code? = switch e.status {
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .contentTooLarge: .payloadTooLarge
        case .badRequest: .badRequest
        default: nil
        }
        if let code { self.init(code, detail: e.body ?? e.status.reasonPhrase) }
        else { self.init(status: e.status, code: "http_\(e.status.code)", detail: e.body ?? e.status.reasonPhrase) }
    }

    struct Body: Encodable {
        let type: String, title: String, status: Int, detail: String, code: String
        let extensions: [String: String]

        private struct Key: CodingKey {
            var stringValue: String
            init(_ s: String) { stringValue = s }
            init?(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(type, forKey: Key("type")); try c.encode(title, forKey: Key("title")); try c.encode(status, forKey: Key("status"))
            try c.encode(detail, forKey: Key("detail")); try c.encode(code, forKey: Key("code"))
            for (k, v) in extensions.sorted(by: { $0.key < $1.key }) where !["type", "title", "status", "detail", "code"].contains(k) {
                try c.encode(v, forKey: Key(k))
            }
        }
    }

    /// The problem+json bytes.
    var body: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try! encoder.encode(Body(type: "https://onecard.example/problems/\(code)", title: title, status: Int(status.code), detail: detail,
                                        code: code, extensions: extensions))
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = body
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        // A refusal that ends at a known time says when (RFC 9110 §10.2.3), e.g. a locked sign-in.
        if let seconds = extensions["retryAfter"] { headers[.retryAfter] = seconds }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error a handler throws into problem+json; an unexpected one becomes a 500 that leaks
/// nothing and is logged with its details.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let p as Problem {
            return try p.response(from: request, context: context)
        } catch let e as DomainError {
            return try Problem(e).response(from: request, context: context)
        } catch let e as HTTPError {
            return try Problem(e).response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try Problem(.payloadTooLarge, detail: "request bodies are limited to 1 MB").response(from: request, context: context)
        } catch {
            // A database that is down or failing over is a 503 the client retries, not a 500 (errors that reached here
            // without passing through the store's own translation).
            if let unavailable = Store.unavailable(error) {
                context.logger.warning("database unavailable", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
                return try Problem(unavailable).response(from: request, context: context)
            }
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return try Problem(.internalError, detail: "an internal error occurred; it has been logged").response(from: request, context: context)
        }
    }
}

extension Problem {
    /// A handler threw a code its endpoint does not document (strict contract mode): a 500, so tests fail.
    static func undocumented(_ code: DomainError.Code, operation: String) -> Problem {
        Problem(status: .internalServerError, code: "undocumented_error",
                detail: "\(operation) answered \(code.rawValue), which its OpenAPI description does not list")
    }
}
