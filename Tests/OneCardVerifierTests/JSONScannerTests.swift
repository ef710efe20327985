import Foundation
import Testing
@testable import OneCardVerifier

/// The hand reader of small JSON objects (tokens, the bank wire, settlement requests) accepts only JSON: a body it
/// takes must be one Foundation's `JSONSerialization` takes too.
@Suite("JSONScanner: only RFC 8259 JSON")
struct JSONScannerTests {
    static func skips(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { b in
            var s = JSONScanner(b)
            return s.skipValue() && s.finished()
        }
    }

    static func json(_ text: String) -> Bool { (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil }

    @Test(arguments: ["0", "-0", "12", "-12", "1.5", "-0.25e+3", "1E9", "2e-7", "[1,-2,3.5]", "{\"a\":0.0}",
                      "012", "1-2", "+1", "-", ".5", "1.", "1e", "1e+", "--1", "0x1", "1.2.3", "[1,,2]", "[01]", "{\"a\":-}"])
    func numbersAreSkippedOnlyWhenTheyAreJSON(_ text: String) {
        #expect(Self.skips(text) == Self.json(text), "\(text)")
    }

    @Test func integersRefuseALeadingZeroAndAFraction() {
        func integer(_ text: String) -> Int64? { Array(text.utf8).withUnsafeBytes { b in var s = JSONScanner(b); return s.integer() } }
        #expect(integer("0") == 0 && integer("7") == 7 && integer("10") == 10 && integer("123456789012345") == 123_456_789_012_345)
        #expect(integer("012") == nil && integer("00") == nil && integer("1.0") == nil && integer("1e3") == nil && integer("-1") == nil)
        #expect(integer("1234567890123456") == nil)
    }

    @Test func booleans() {
        func boolean(_ text: String) -> Bool? { Array(text.utf8).withUnsafeBytes { b in var s = JSONScanner(b); return s.boolean() } }
        #expect(boolean("true") == true && boolean(" false") == false)
        #expect(boolean("tru") == nil && boolean("null") == nil && boolean("1") == nil && boolean("\"true\"") == nil)
    }
}
