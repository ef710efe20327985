import OneCardCore
/// A JSON value, for documents assembled in code (the OpenAPI document).
indirect enum JSONValue: Encodable, Sendable, Equatable {
    case string(String), int(Int), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(elements, uniquingKeysWith: { a, _ in a })) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .int(value) }
}

/// JSON Schema (OpenAPI 3.1 dialect) for request and response bodies.
indirect enum Schema: Sendable {
    case string(format: String? = nil, values: [String]? = nil, pattern: String? = nil, minLength: Int? = nil, maxLength: Int? = nil)
    case integer
    /// An integer within bounds (query parameters such as `limit`).
    case integerIn(minimum: Int?, maximum: Int?)
    /// A number within bounds, fractions allowed (percentages such as 89.5).
    case number(minimum: Int?, maximum: Int?)
    case boolean
    case array(Schema, minItems: Int? = nil, maxItems: Int? = nil)
    /// Any of these (`anyOf`: a QR credential or a card credential; a new item or a withdrawal).
    case either([Schema])
    /// Only this value (`const`).
    case only(JSONValue)
    case object([(String, Schema)], required: [String])
    case ref(String)
    case nullable(Schema)
    /// Any JSON object (the OpenAPI document itself).
    case anyObject
    /// A reusable schema: written once under `components/schemas` and referred to by name wherever it is used.
    case named(String, Schema)

    static let text = Schema.string()
    /// Text of `min` to `max` characters (Unicode scalars, as `TextRule` counts them).
    static func text(_ min: Int, _ max: Int) -> Schema { .string(minLength: min, maxLength: max) }
    /// At most `max` characters, not only spaces (`TextRule` … `notBlank`).
    static func filled(_ max: Int) -> Schema { .string(pattern: "[^\(TextRule.blankClass)]", minLength: 1, maxLength: max) }
    /// One line of at most `max` characters, not only spaces (`TextRule` … `notBlank, oneLine`).
    static func line(_ max: Int) -> Schema {
        let (b, s) = (TextRule.breakClass, TextRule.blankClass)
        return .string(pattern: "^[^\(b)]*[^\(s)\(b)][^\(b)]*$", minLength: 1, maxLength: max)
    }
    /// One line of printable ASCII (and tabs), not only spaces, at most `max` long (device ids).
    static func asciiLine(_ max: Int) -> Schema {
        .string(pattern: "^[\\u0000-\\u0009\\u000E-\\u007F]*[\\u0000-\\u0008\\u000E-\\u001F\\u0021-\\u007F][\\u0000-\\u0009\\u000E-\\u007F]*$",
                minLength: 1, maxLength: max)
    }
    static let dateTime = Schema.string(format: "date-time")
    static let date = Schema.string(format: "date")
    static func oneOf<E: RawRepresentable & CaseIterable>(_ e: E.Type) -> Schema where E.RawValue == String {
        .string(values: e.allCases.map(\.rawValue))
    }

    var json: JSONValue {
        switch self {
        case let .string(format, values, pattern, minLength, maxLength):
            var o: [String: JSONValue] = ["type": "string"]
            if let format { o["format"] = .string(format) }
            if let values { o["enum"] = .array(values.map { .string($0) }) }
            if let pattern { o["pattern"] = .string(pattern) }
            if let minLength { o["minLength"] = .int(minLength) }
            if let maxLength { o["maxLength"] = .int(maxLength) }
            return .object(o)
        case .integer: return ["type": "integer", "format": "int64"]
        case let .integerIn(minimum, maximum):
            var o: [String: JSONValue] = ["type": "integer", "format": "int64"]
            if let minimum { o["minimum"] = .int(minimum) }
            if let maximum { o["maximum"] = .int(maximum) }
            return .object(o)
        case let .number(minimum, maximum):
            var o: [String: JSONValue] = ["type": "number"]
            if let minimum { o["minimum"] = .int(minimum) }
            if let maximum { o["maximum"] = .int(maximum) }
            return .object(o)
        case .boolean: return ["type": "boolean"]
        case let .array(items, minItems, maxItems):
            var o: [String: JSONValue] = ["type": "array", "items": items.json]
            if let minItems { o["minItems"] = .int(minItems) }
            if let maxItems { o["maxItems"] = .int(maxItems) }
            return .object(o)
        case .either(let schemas): return ["anyOf": .array(schemas.map(\.json))]
        case .only(let value): return ["const": value]
        case let .object(props, required):
            var o: [String: JSONValue] = ["type": "object", "properties": .object(Dictionary(props.map { ($0.0, $0.1.json) }, uniquingKeysWith: { a, _ in a }))]
            if !required.isEmpty { o["required"] = .array(required.map { .string($0) }) }
            return .object(o)
        case .ref(let name): return ["$ref": .string("#/components/schemas/\(name)")]
        case .nullable(let s): return ["oneOf": [s.json, ["type": "null"]]]
        case .anyObject: return ["type": "object"]
        case .named(let name, _): return ["$ref": .string("#/components/schemas/\(name)")]
        }
    }

    /// Every named schema this one uses, with its definition.
    func collectNamed(into out: inout [String: Schema]) {
        switch self {
        case .named(let name, let s):
            if out[name] == nil { out[name] = s; s.collectNamed(into: &out) }
        case .array(let s, _, _), .nullable(let s): s.collectNamed(into: &out)
        case .either(let schemas): for s in schemas { s.collectNamed(into: &out) }
        case .object(let props, _): for (_, s) in props { s.collectNamed(into: &out) }
        default: break
        }
    }
}
