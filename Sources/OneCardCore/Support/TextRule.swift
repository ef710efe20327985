import Foundation

/// The one rule for free-text fields, written so the OpenAPI document can state it exactly: lengths count Unicode
/// scalars (as JSON Schema's `minLength`/`maxLength` count code points), "blank" means only tabs and space separators
/// (`CharacterSet.whitespaces`, which the server trims), and one-line text holds no line break (`Character.isNewline`).
public enum TextRule {
    /// The characters a blank field consists of, as a regular-expression class body (JSON Schema patterns).
    public static let blankClass = "\\t \\u00A0\\u1680\\u2000-\\u200A\\u202F\\u205F\\u3000"
    /// Line breaks, as a regular-expression class body.
    public static let breakClass = "\\n\\u000B\\u000C\\r\\u0085\\u2028\\u2029"

    /// Checks `value` against `min...max` scalars, optionally not blank and on one line.
    public static func check(_ value: String, _ field: String, min: Int = 1, max: Int, notBlank: Bool = false, oneLine: Bool = false) throws(DomainError) {
        let length = value.unicodeScalars.count
        guard length >= min, length <= max else { throw .invalidField(field, "\(min) to \(max) characters") }
        if notBlank, value.trimmingCharacters(in: .whitespaces).isEmpty { throw .invalidField(field, "not only spaces") }
        if oneLine, value.contains(where: \.isNewline) { throw .invalidField(field, "one line") }
    }
}
