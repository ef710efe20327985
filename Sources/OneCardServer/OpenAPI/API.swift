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
    /// Query parameters, each with its schema (enumerated values, integer bounds) so the document is exact.
    var query: [QueryParameter] = []
    var success: (status: Int, description: String, schema: Schema?)
    var successContentType = "application/json"
    /// Other media types the success response may take (e.g. `text/csv` with `?format=csv`), without a schema.
    var otherSuccessContentTypes: [String] = []
    /// Domain error codes this endpoint can answer with (each code carries its status).
    var errors: [DomainError.Code] = []
    var extraHeaders: [(name: String, description: String, required: Bool)] = []
    /// A federation endpoint: the request must carry an RFC 9421 signature of a member (or the hub), and the response is signed.
    var signed = false

    var pathParameters: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }

    /// The Hummingbird route path (`:name` for `{name}`).
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : String($0) }.joined(separator: "/")
    }
}

/// Who may call an endpoint: anyone, or the listed roles.
struct Roles: ExpressibleByArrayLiteral, Sendable {
    let list: [Role]?
    init(_ list: [Role]?) { self.list = list }
    init(arrayLiteral roles: Role...) { list = roles }
    /// A public endpoint.
    static let anyone = Roles(nil)
    static func + (a: Roles, b: Roles) -> Roles { Roles((a.list ?? []) + (b.list ?? [])) }
}

/// A named handler: what the OpenAPI document says of it, and the function that answers. A controller's
/// `register` lists method, path, roles and handler name; each handler states its documentation beside its body.
struct Handler: Sendable {
    var summary: String
    var tag: String
    var request: Schema?
    var query: [QueryParameter]
    var success: (status: Int, description: String, schema: Schema?)
    var successContentType: String
    var otherSuccessContentTypes: [String]
    var errors: [DomainError.Code]
    var extraHeaders: [(name: String, description: String, required: Bool)]
    var signed = false
    var run: @Sendable (inout Request, AppContext) async throws -> any ResponseGenerator

    init(_ summary: String, tag: String, request: Schema? = nil, query: [QueryParameter] = [],
         success: (status: Int, description: String, schema: Schema?), successContentType: String = "application/json",
         otherSuccessContentTypes: [String] = [], errors: [DomainError.Code] = [],
         extraHeaders: [(name: String, description: String, required: Bool)] = [],
         _ run: @escaping @Sendable (inout Request, AppContext) async throws -> any ResponseGenerator) {
        self.summary = summary; self.tag = tag; self.request = request; self.query = query; self.success = success
        self.successContentType = successContentType; self.otherSuccessContentTypes = otherSuccessContentTypes; self.errors = errors
        self.extraHeaders = extraHeaders; self.run = run
    }
}

/// A documented query parameter.
struct QueryParameter: Sendable {
    var name: String
    var description: String
    var schema: Schema = .text
    /// A comma-separated list (`?status=a,b`): OpenAPI `style: form, explode: false`.
    var commaSeparated = false
    /// Must be given (a missing one is refused with `invalid_value` before the handler runs).
    var required = false

    static func text(_ name: String, _ description: String, pattern: String? = nil) -> Self {
        .init(name: name, description: description, schema: .string(pattern: pattern))
    }
    static func integer(_ name: String, _ description: String, minimum: Int? = nil, maximum: Int? = nil) -> Self {
        .init(name: name, description: description, schema: .integerIn(minimum: minimum, maximum: maximum))
    }
    static func boolean(_ name: String, _ description: String) -> Self {
        .init(name: name, description: description, schema: .boolean)
    }
    static func oneOf(_ name: String, _ description: String, _ values: [String]) -> Self {
        .init(name: name, description: description, schema: .string(values: values))
    }
    static func oneOf<E: RawRepresentable & CaseIterable>(_ name: String, _ description: String, _ e: E.Type) -> Self where E.RawValue == String {
        .init(name: name, description: description, schema: .oneOf(e))
    }
    /// Comma-separated values of an enumeration.
    static func list<E: RawRepresentable & CaseIterable>(_ name: String, _ description: String, _ e: E.Type) -> Self where E.RawValue == String {
        .init(name: name, description: description, schema: .array(.oneOf(e), minItems: 1), commaSeparated: true)
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["name": .string(name), "in": "query", "required": .bool(required), "description": .string(description), "schema": schema.json]
        if commaSeparated { o["style"] = "form"; o["explode"] = false }
        return .object(o)
    }
}

/// The router and the OpenAPI document, built together.
/// `@unchecked`: the router is only touched while the application is being built, before it serves.
final class API: @unchecked Sendable {
    let router: Router<AppContext>
    /// Whether a handler throwing a code its endpoint does not document answers 500 (tests, `ONECARD_STRICT_CONTRACT=1`)
    /// rather than only being logged.
    let strictContract: Bool
    /// Per-terminal and per-address allowances; nil: none (the hub, tests of other things).
    let limiter: RateLimiter?
    private let endpoints = NIOLockedValueBox<[Endpoint]>([])

    /// Also installs the middleware that answers 405 with `Allow` for a documented path asked with a method it does not serve.
    init(router: Router<AppContext>, strictContract: Bool = false, limiter: RateLimiter? = nil) {
        self.router = router
        self.strictContract = strictContract
        self.limiter = limiter
        router.add(middleware: MethodNotAllowedMiddleware(api: self))
    }

    var documented: [Endpoint] { endpoints.withLockedValue { $0 } }

    /// A route of a controller's table: the handler answers `method path` for the given roles, and is documented.
    func add(_ method: HTTPRequest.Method, _ path: String, roles: Roles, _ h: Handler) {
        let e = Endpoint(method: method, path: path, summary: h.summary, tag: h.tag, roles: roles.list, request: h.request, query: h.query,
                         success: h.success, successContentType: h.successContentType, otherSuccessContentTypes: h.otherSuccessContentTypes,
                         errors: h.errors, extraHeaders: h.extraHeaders, signed: h.signed)
        let run = h.run
        add(e) { request, context in try await run(&request, context) }
    }

    /// Registers a route with its role check and documents it.
    /// Checks the declared query parameters, then the caller's role; a code the handler throws that
    /// the endpoint does not document is logged, and in strict mode answers 500 `undocumented_error`.
    func add(_ e: Endpoint, _ handler: @escaping @Sendable (inout Request, AppContext) async throws -> any ResponseGenerator) {
        endpoints.withLockedValue { $0.append(e) }
        let roles = e.roles
        let documented = Set(e.documentedErrors)
        let strict = strictContract
        let limiter = limiter
        let operation = "\(e.method.rawValue) \(e.path)"
        let nonNullable = e.nonNullableProperties
        router.on(RouterPath(e.routerPath), method: e.method) { request, context in
            do {
                try limiter?.check(context.identity, address: context.remoteAddress)
                if let roles {
                    guard let identity = context.identity else {
                        throw DomainError(.unauthorized, "sign in: send Authorization: Bearer <token>")
                    }
                    guard roles.contains(identity.role) else { throw DomainError.forbidden }
                }
                try e.checkQuery(request.uri.queryParameters)
                var request = request
                if let nonNullable, request.headers[.contentType]?.hasPrefix("application/json") == true {
                    // A property the schema does not make nullable may be left out, but not sent as null.
                    let body = try await request.collectBody(upTo: context.maxUploadSize)
                    // Parsed only when the bytes hold a `null` at all: most bodies (every acceptance) never do.
                    if Self.mentionsNull(body), let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                       let key = object.keys.sorted().first(where: { nonNullable.contains($0) && object[$0] is NSNull }) {
                        throw DomainError.invalidField(key, "may be left out but not null")
                    }
                }
                return try await handler(&request, context).response(from: request, context: context)
            } catch let error as DomainError where !documented.contains(error.code) {
                context.logger.error("undocumented error code", metadata: [
                    "operation": "\(operation)", "code": "\(error.code.rawValue)", "detail": "\(error.detail)",
                ])
                if strict { throw Problem.undocumented(error.code, operation: operation) }
                throw error
            }
        }
    }

    /// Whether the bytes contain `null`.
    static func mentionsNull(_ body: ByteBuffer) -> Bool {
        body.withUnsafeReadableBytes { bytes in
            guard bytes.count >= 4 else { return false }
            for i in 0...(bytes.count - 4) where bytes[i] == UInt8(ascii: "n") {
                if bytes[i + 1] == UInt8(ascii: "u"), bytes[i + 2] == UInt8(ascii: "l"), bytes[i + 3] == UInt8(ascii: "l") { return true }
            }
            return false
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
            params += e.query.map(\.json)
            params += e.extraHeaders.map { ["name": .string($0.name), "in": "header", "required": .bool($0.required), "description": .string($0.description), "schema": ["type": "string"]] }
            if !params.isEmpty { op["parameters"] = .array(params) }
            if let r = e.request {
                op["requestBody"] = ["required": true, "content": ["application/json": ["schema": r.json]]]
            }
            var responses: [String: JSONValue] = [:]
            var content: JSONValue = .null
            if let s = e.success.schema { content = [e.successContentType: ["schema": s.json]] }
            else if e.successContentType != "application/json" { content = [e.successContentType: [:]] }
            for other in e.otherSuccessContentTypes {
                if case .object(var o) = content { o[other] = [:]; content = .object(o) } else { content = [other: [:]] }
            }
            responses[String(e.success.status)] = content == .null
                ? ["description": .string(e.success.description)]
                : ["description": .string(e.success.description), "content": content]
            let byStatus = Dictionary(grouping: Set(e.documentedErrors), by: { Int(Problem.status(for: $0.kind).code) }).mapValues { $0.sorted() }
            for (status, codes) in byStatus {
                responses[String(status)] = [
                    "description": .string("Problem; code one of: \(codes.map(\.rawValue).joined(separator: ", "))"),
                    "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
                ]
            }
            op["responses"] = .object(responses)
            if e.roles != nil { op["security"] = [["bearer": []]] }
            // The authorization matrix, readable from the document: who may call it (`[]`: anyone; `peer`: a federation
            // member or the hub, proven by its RFC 9421 signature).
            op["x-roles"] = e.signed ? ["peer"] : .array((e.roles ?? []).map { .string($0.rawValue) })
            if e.signed {
                op["x-signature"] = "RFC 9421: label sig1, alg ed25519, keyid = the member's region code (hub for the hub), created and nonce; the request covers @method, @target-uri and content-digest (RFC 9530 sha-256) with a body; the response covers @status and content-digest"
            }
            paths[e.path, default: [:]][e.method.rawValue.lowercased()] = .object(op)
        }
        var named: [String: Schema] = [:]
        for e in documented {
            for s in [e.request, e.success.schema].compactMap({ $0 }) { s.collectNamed(into: &named) }
        }
        var components = named.mapValues(\.json)
        components["Problem"] = Schema.object([
            ("type", .text), ("title", .text), ("status", .integer), ("detail", .text), ("code", .text),
            // Extension members (RFC 9457 §3.2): the province holding a person (`active_card_elsewhere`), the seconds
            // until a locked sign-in may be tried again (`too_many_attempts`, also in Retry-After).
            ("region", .text), ("retryAfter", .text),
            // Service: a fine's bounds (`fine_out_of_range`), a record's first repair day, a year the calendar lacks.
            ("minFen", .text), ("maxFen", .text), ("repairEligibleFrom", .text), ("year", .text),
            // Why a card or QR code was refused for a medical settlement (`credential_refused`: an acceptance denial code).
            ("reason", .text),
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

extension Endpoint {
    /// Every code the endpoint may answer with: its own, and those the API layer adds (sign-in and role
    /// checks, body decoding, query parameter checks).
    var documentedErrors: [DomainError.Code] {
        var errors = self.errors + [.invalidToken]  // any request with a bad bearer token, even to a public endpoint
        if roles != nil { errors += [.unauthorized, .forbidden] }
        if request != nil { errors += [.malformedJson, .payloadTooLarge, .unsupportedMediaType, .invalidField, .invalidValue] }
        if !query.isEmpty { errors += [.invalidValue] }
        if signed { errors += [.signatureInvalid, .signatureExpired, .nonceReplayed, .unknownMember] }
        // Anonymous callers are limited per address on every operation (before the role check), terminals per key.
        errors += [.rateLimited]
        // Any operation may meet the database down or failing over: 503 with Retry-After, retried with the same key.
        errors += [.databaseUnavailable]
        return Array(Set(errors)).sorted()
    }

    /// The request body's properties that may not be sent as `null` (`nil` when there is no object body).
    var nonNullableProperties: Set<String>? {
        func properties(_ s: Schema) -> [(String, Schema)] {
            switch s {
            case .object(let props, _): props
            case .named(_, let s): properties(s)
            case .either(let schemas): schemas.flatMap(properties)
            default: []
            }
        }
        let props = request.map(properties) ?? []
        let names = props.filter { if case .nullable = $0.1 { false } else { true } }.map(\.0)
        return names.isEmpty ? nil : Set(names)
    }

    /// Refuses a declared query parameter whose value its schema does not allow (422 `invalid_value`),
    /// so the document and the server agree on every parameter without each handler repeating the check.
    func checkQuery(_ parameters: Parameters) throws(DomainError) {
        for p in query {
            guard let value = parameters.get(p.name) else {
                if p.required { throw DomainError(.invalidValue, "\(p.name): required") }
                continue
            }
            let values = p.commaSeparated ? value.split(separator: ",", omittingEmptySubsequences: false).map(String.init) : [value]
            let schema: Schema = if p.commaSeparated, case .array(let items, _, _) = p.schema { items } else { p.schema }
            for v in values {
                if let problem = Self.violation(v, schema) {
                    throw DomainError(.invalidValue, "\(p.name): \(problem)")
                }
            }
        }
    }

    private static func violation(_ v: String, _ schema: Schema) -> String? {
        switch schema {
        case let .string(_, values, pattern, _, _):
            if let values, !values.contains(v) { return "one of \(values.joined(separator: ", "))" }
            if let pattern, v.range(of: pattern, options: .regularExpression) == nil { return "must match \(pattern)" }
            return nil
        case .integer:
            return Int64(v) == nil ? "an integer" : nil
        case let .integerIn(minimum, maximum):
            guard let n = Int(v), n >= (minimum ?? .min), n <= (maximum ?? .max) else {
                return "an integer" + (minimum.map { " from \($0)" } ?? "") + (maximum.map { " to \($0)" } ?? "")
            }
            return nil
        case .boolean:
            return v == "true" || v == "false" ? nil : "true or false"
        default:
            return nil
        }
    }
}

extension API {
    /// The methods served at a concrete request path, if it is a documented path (`nil` otherwise).
    /// Literal segments win over `{parameters}`, as in the router.
    func allowedMethods(at requestPath: String) -> [HTTPRequest.Method]? {
        let segments = requestPath.split(separator: "/", omittingEmptySubsequences: false)
        var best: (score: [Bool], methods: Set<String>)? = nil
        for e in documented {
            let template = e.path.split(separator: "/", omittingEmptySubsequences: false)
            guard template.count == segments.count else { continue }
            var score: [Bool] = []
            var matches = true
            for (t, s) in zip(template, segments) {
                if t.hasPrefix("{") { if s.isEmpty { matches = false; break }; score.append(false) }
                else if t == s { score.append(true) }
                else { matches = false; break }
            }
            guard matches else { continue }
            if let b = best {
                if b.score == score { best = (score, b.methods.union([e.method.rawValue])); continue }
                // The first segment where they differ decides: a literal beats a parameter.
                if let i = score.indices.first(where: { score[$0] != b.score[$0] }), b.score[i] { continue }
            }
            best = (score, [e.method.rawValue])
        }
        guard let best else { return nil }
        let methods = best.methods
        return methods.sorted().compactMap { HTTPRequest.Method($0) }
    }
}

/// A documented path asked with a method it does not serve answers 405 `method_not_allowed` with
/// `Allow` (RFC 9110 §15.5.6); unknown paths stay 404. Pages share the router, so the check runs only
/// when the router found no route: a page served at the same path still answers.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    let api: API

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as HTTPError where e.status == .notFound {
            guard let methods = api.allowedMethods(at: request.uri.path), !methods.contains(request.method) else { throw e }
            var response = try Problem(.methodNotAllowed, detail: "\(request.method.rawValue) is not served here; allowed: \(methods.map(\.rawValue).joined(separator: ", "))")
                .response(from: request, context: context)
            response.headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
            return response
        }
    }
}
