import Foundation
import Testing
@testable import OneCardCore

@Suite("Support: hexadecimal, random bytes and identifiers")
struct SupportTests {
    @Test func hexMatchesTheFormattedDigitsOfEveryByte() {
        let all = (0...255).map { UInt8($0) }
        #expect(Hex.encode(all) == all.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.encode([UInt8]()) == "")
    }

    @Test func theSystemSourceGivesExactlyTheBytesAskedFor() {
        for count in [0, 1, 7, 8, 9, 16, 33] { #expect(RandomSource.system.bytes(count).count == count) }
        // 64 bytes all alike would mean the source is broken (chance 2⁻⁵⁰⁴).
        #expect(Set(RandomSource.system.bytes(64)).count > 1)
    }

    @Test func identifiersAreVersion4UUIDs() {
        let ids = (0..<200).map { _ in RandomSource.system.uuid() }
        let shape = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
        #expect(ids.allSatisfy { $0.wholeMatch(of: shape) != nil }, "\(ids.prefix(3))")
        #expect(Set(ids).count == ids.count)
        #expect(UUID(uuidString: ids[0]) != nil)
        let fixed = RandomSource { Array(repeating: 0xFF, count: $0) }
        #expect(fixed.uuid() == "ffffffff-ffff-4fff-bfff-ffffffffffff")
    }
}
