import Foundation
import NIOConcurrencyHelpers

/// A decoded JSON value (booleans and numbers kept apart, which `JSONSerialization` blurs).
enum JSON: Decodable, Sendable, Equatable {
    case null, bool(Bool), integer(Int64), number(Double), string(String), array([JSON]), object([String: JSON])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    subscript(key: String) -> JSON? { if case .object(let o) = self { o[key] } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var objectValue: [String: JSON]? { if case .object(let o) = self { o } else { nil } }
    var arrayValue: [JSON]? { if case .array(let a) = self { a } else { nil } }
    var double: Double? {
        switch self { case .integer(let i): Double(i); case .number(let d): d; default: nil }
    }

    static func parse(_ data: Data) -> JSON? { try? JSONDecoder().decode(JSON.self, from: data) }

    var short: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .integer(let i): "\(i)"
        case .number(let d): "\(d)"
        case .string(let s): "\"\(s.prefix(60))\""
        case .array(let a): "[\(a.prefix(3).map(\.short).joined(separator: ","))\(a.count > 3 ? ",…" : "")]"
        case .object(let o): "{\(o.keys.sorted().prefix(6).joined(separator: ","))}"
        }
    }
}

/// Checks real responses against the server's own `/openapi.json`: the status is documented for the
/// operation, the media type is one the document names, and a JSON body satisfies its schema. The JSON
/// Schema subset is the one the document uses: `type` (also a list), `enum`, `required`, `properties`
/// (a property the schema does not declare is drift too), `items`, `oneOf`, `$ref`, `pattern`,
/// `minimum`/`maximum`, `format` `date-time` and `date`.
final class ContractChecker: Sendable {
    struct Operation: Sendable {
        let method: String
        let path: String
        let segments: [Substring]
    }

    private let document: JSON
    private let operations: [Operation]
    /// What was seen: "METHOD path" → statuses answered.
    private let seen = NIOLockedValueBox<[String: Set<Int>]>([:])

    init(document data: Data) throws {
        guard let doc = JSON.parse(data) else { throw CocoaError(.propertyListReadCorrupt) }
        document = doc
        let paths = doc["paths"]?.objectValue ?? [:]
        operations = paths.flatMap { path, methods in
            (methods.objectValue ?? [:]).keys.map { Operation(method: $0.uppercased(), path: path, segments: path.split(separator: "/", omittingEmptySubsequences: false)) }
        }
    }

    /// Every documented operation, as "METHOD path".
    var documentedOperations: [String] { operations.map { "\($0.method) \($0.path)" }.sorted() }

    /// Statuses seen per operation so far.
    var observed: [String: Set<Int>] { seen.withLockedValue { $0 } }

    /// The documented operation a request reaches (literal segments beat `{parameters}`, as in the router).
    func operation(method: String, path rawPath: String) -> Operation? {
        let path = rawPath.split(separator: "?", maxSplits: 1).first.map(String.init) ?? rawPath
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var best: (Operation, [Bool])?
        for op in operations where op.method == method && op.segments.count == segments.count {
            var score: [Bool] = []
            var ok = true
            for (t, s) in zip(op.segments, segments) {
                if t.hasPrefix("{") { if s.isEmpty { ok = false; break }; score.append(false) }
                else if t == s { score.append(true) } else { ok = false; break }
            }
            guard ok else { continue }
            if let b = best, let i = score.indices.first(where: { score[$0] != b.1[$0] }), b.1[i] { continue }
            if let b = best, b.1 == score { continue }
            best = (op, score)
        }
        return best?.0
    }

    /// The ways a response breaks the document (empty when it conforms, or when no documented
    /// operation serves the request: pages and unknown paths are not the API's).
    func check(method: String, path: String, status: Int, contentType: String, body: Data) -> [String] {
        guard let op = operation(method: method, path: path) else { return [] }
        let name = "\(op.method) \(op.path)"
        _ = seen.withLockedValue { $0[name, default: []].insert(status) }
        let responses = document["paths"]?[op.path]?[op.method.lowercased()]?["responses"]?.objectValue ?? [:]
        guard let response = responses[String(status)] else {
            return ["\(name): status \(status) is not documented (documented: \(responses.keys.sorted().joined(separator: ", "))): \(String(decoding: body.prefix(300), as: UTF8.self))"]
        }
        guard let content = response["content"]?.objectValue else {
            return body.isEmpty ? [] : ["\(name) \(status): a body, but the document describes none"]
        }
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let entry = content[media] else {
            return ["\(name) \(status): content type \(contentType) is not one of \(content.keys.sorted())"]
        }
        guard let schema = entry["schema"], media.hasSuffix("json") else { return [] }
        guard let value = JSON.parse(body) else { return ["\(name) \(status): the body is not JSON"] }
        return validate(value, schema, at: "\(name) \(status) $")
    }

    /// Validates a decoded JSON value against a schema of the subset above.
    func validate(_ value: JSON, _ s: JSON, at location: String) -> [String] {
        if let ref = s["$ref"]?.string {
            let name = String(ref.split(separator: "/").last ?? "")
            guard let target = document["components"]?["schemas"]?[name] else { return ["\(location): unresolved \(ref)"] }
            return validate(value, target, at: location)
        }
        if let options = s["oneOf"]?.arrayValue {
            let matching = options.filter { validate(value, $0, at: location).isEmpty }.count
            return matching == 1 ? [] : ["\(location): matches \(matching) of the oneOf alternatives, not exactly one: \(value.short)"]
        }
        var issues: [String] = []
        if let type = s["type"] {
            let types = type.arrayValue?.compactMap(\.string) ?? [type.string ?? ""]
            guard types.contains(where: { Self.hasType(value, $0) }) else {
                return ["\(location): expected \(types.joined(separator: "|")), got \(value.short)"]
            }
        }
        if let values = s["enum"]?.arrayValue, !values.contains(value) {
            issues.append("\(location): \(value.short) is not one of \(values.map(\.short).joined(separator: ", "))")
        }
        if let string = value.string {
            if let pattern = s["pattern"]?.string, string.range(of: pattern, options: .regularExpression) == nil {
                issues.append("\(location): \"\(string)\" does not match \(pattern)")
            }
            switch s["format"]?.string {
            case "date-time":
                if string.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"#, options: .regularExpression) == nil {
                    issues.append("\(location): \"\(string)\" is not an RFC 3339 date-time")
                }
            case "date":
                if string.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil {
                    issues.append("\(location): \"\(string)\" is not a full-date")
                }
            default: break
            }
        }
        if let n = value.double {
            if let min = s["minimum"]?.double, n < min { issues.append("\(location): \(n) < minimum \(min)") }
            if let max = s["maximum"]?.double, n > max { issues.append("\(location): \(n) > maximum \(max)") }
        }
        if let object = value.objectValue {
            let properties = s["properties"]?.objectValue
            for key in s["required"]?.arrayValue?.compactMap(\.string) ?? [] where object[key] == nil {
                issues.append("\(location): required property \(key) is missing")
            }
            for (key, v) in object.sorted(by: { $0.key < $1.key }) {
                if let p = properties?[key] {
                    issues += validate(v, p, at: "\(location).\(key)")
                } else if properties != nil {
                    issues.append("\(location): property \(key) is not in the schema")
                }
            }
        }
        if let array = value.arrayValue, let items = s["items"] {
            for (i, v) in array.enumerated() { issues += validate(v, items, at: "\(location)[\(i)]") }
        }
        return issues
    }

    private static func hasType(_ v: JSON, _ type: String) -> Bool {
        switch (type, v) {
        case ("null", .null), ("boolean", .bool), ("integer", .integer), ("number", .integer), ("number", .number),
             ("string", .string), ("array", .array), ("object", .object): true
        default: false
        }
    }
}
