import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import OneCardCore

/// One documented endpoint. Routes are only ever added through `API.add`, which registers the
/// handler and its OpenAPI description together, so `/openapi.json` cannot drift from the router.
struct Endpoint: Sendable {
    var method: HTTPRequest.Method
    /// OpenAPI form, e.g. `/api/v1/cards/{cardNumber}`.
    var path: String
    var summary: String
    var tag: String
    /// Who may call it; `nil` is public.
    var roles: [Role]?
    var request: Schema? = nil
    var query: [(name: String, description: String)] = []
    var success: (status: Int, description: String, schema: Schema?)
    var successContentType = "application/json"
    /// Domain error codes this endpoint can answer with (each code carries its status).
    var errors: [DomainError.Code] = []
    var extraHeaders: [(name: String, description: String, required: Bool)] = []

    var pathParameters: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }

    /// The Hummingbird route path (`:name` for `{name}`).
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : String($0) }.joined(separator: "/")
    }
}

/// The router and the OpenAPI document, built together.
/// `@unchecked`: the router is only touched while the application is being built, before it serves.
final class API: @unchecked Sendable {
    let router: Router<AppContext>
    private let endpoints = NIOLockedValueBox<[Endpoint]>([])
    private let schemas = NIOLockedValueBox<[String: Schema]>([:])

    init(router: Router<AppContext>) { self.router = router }

    var documented: [Endpoint] { endpoints.withLockedValue { $0 } }

    /// Names a reusable schema under `components/schemas`.
    func schema(_ name: String, _ s: Schema) -> Schema {
        schemas.withLockedValue { $0[name] = s }
        return .ref(name)
    }

    /// Registers a route with its role check and documents it.
    func add<R: ResponseGenerator>(_ e: Endpoint, _ handler: @escaping @Sendable (inout Request, AppContext) async throws -> R) {
        endpoints.withLockedValue { $0.append(e) }
        let roles = e.roles
        router.on(RouterPath(e.routerPath), method: e.method) { request, context in
            if let roles {
                guard let identity = context.identity else {
                    throw DomainError(.unauthorized, "sign in: send Authorization: Bearer <token>")
                }
                guard roles.contains(identity.role) else { throw DomainError.forbidden }
            }
            var request = request
            return try await handler(&request, context)
        }
    }

    /// The OpenAPI 3.1 document of every registered endpoint.
    func document(version: String) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for e in documented {
            var op: [String: JSONValue] = [
                "summary": .string(e.summary), "tags": [.string(e.tag)],
                "operationId": .string(Self.operationId(e)),
            ]
            var params: [JSONValue] = e.pathParameters.map {
                ["name": .string($0), "in": "path", "required": true, "schema": ["type": "string"]]
            }
            params += e.query.map { ["name": .string($0.name), "in": "query", "required": false, "description": .string($0.description), "schema": ["type": "string"]] }
            params += e.extraHeaders.map { ["name": .string($0.name), "in": "header", "required": .bool($0.required), "description": .string($0.description), "schema": ["type": "string"]] }
            if !params.isEmpty { op["parameters"] = .array(params) }
            if let r = e.request {
                op["requestBody"] = ["required": true, "content": ["application/json": ["schema": r.json]]]
            }
            var responses: [String: JSONValue] = [:]
            var content: JSONValue = .null
            if let s = e.success.schema { content = [e.successContentType: ["schema": s.json]] }
            else if e.successContentType != "application/json" { content = [e.successContentType: [:]] }
            responses[String(e.success.status)] = content == .null
                ? ["description": .string(e.success.description)]
                : ["description": .string(e.success.description), "content": content]
            var errors = e.errors
            if e.roles != nil { errors += [.unauthorized, .forbidden] }
            if e.request != nil { errors += [.malformedJson, .payloadTooLarge, .unsupportedMediaType, .invalidField, .invalidValue] }
            let byStatus = Dictionary(grouping: Set(errors), by: { Int(Problem.status(for: $0.kind).code) }).mapValues { $0.sorted() }
            for (status, codes) in byStatus {
                responses[String(status)] = [
                    "description": .string("Problem; code one of: \(codes.map(\.rawValue).joined(separator: ", "))"),
                    "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
                ]
            }
            op["responses"] = .object(responses)
            if e.roles != nil { op["security"] = [["bearer": []]] }
            paths[e.path, default: [:]][e.method.rawValue.lowercased()] = .object(op)
        }
        var components = schemas.withLockedValue { $0 }.mapValues(\.json)
        components["Problem"] = Schema.object([
            ("type", .text), ("title", .text), ("status", .integer), ("detail", .text), ("code", .text),
        ], required: ["type", "title", "status", "detail", "code"]).json
        return [
            "openapi": "3.1.0",
            "info": ["title": "OneCard — social security card resident-service one-card", "version": .string(version)],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "schemas": .object(components),
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
            ],
        ]
    }

    static func operationId(_ e: Endpoint) -> String {
        let words = e.path.split(separator: "/").filter { $0 != "api" && $0 != "v1" }
            .map { $0.hasPrefix("{") ? "By" + $0.dropFirst().dropLast().prefix(1).uppercased() + $0.dropFirst(2).dropLast() : $0.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() }
        return e.method.rawValue.lowercased() + words.joined().replacingOccurrences(of: ".", with: "")
    }
}
