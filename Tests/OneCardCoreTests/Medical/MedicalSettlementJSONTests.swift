import Foundation
import Testing
@testable import OneCardCore

/// The stored record's JSON written by hand (`MedicalSettlementRecord.json`) must be the bytes `JSONEncoder` writes
/// (sorted keys, slashes unescaped), the encoder the store used before: the peer is Foundation's `JSONEncoder`.
@Suite("Medical settlement record JSON by hand, judged by JSONEncoder")
struct MedicalSettlementJSONTests {
    static func encoded(_ r: MedicalSettlementRecord) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(r), as: UTF8.self)
    }

    static func records() throws -> [MedicalSettlementRecord] {
        var out: [MedicalSettlementRecord] = []
        let plain = WE.record(try WE.settle())
        out.append(plain)
        // A reversal: every amount negative, `reverses` set.
        out.append(try MedicalReversal.reverse(plain, reversalId: "r-1", alreadyReversed: false, accountBalanceFen: 12_345))
        // A resident (no account: `balc` nil), a line outside the catalogue (no `chrgitmLv`), a ratio with a fraction.
        var resident = WE.record(try WE.settle(WE.b1 + [MedicalBillLine(code: "X-404", amountFen: 99, quantity: 3)], policy: WE.pBJRes,
                                               insured: WE.resident), id: "s-2")
        #expect(resident.split.balc == nil && resident.split.lines.contains { $0.chrgitmLv == nil })
        for hundredths in [7205, 7250, 1, 9999, 10000, 0, 33, 12345] {
            resident.split.poolPropSelfpay = Percent(hundredths: hundredths)
            out.append(resident)
        }
        // Awkward text wherever there is text, and the extreme integers.
        var odd = plain
        odd.settlementId = "quote \" backslash \\ slash / tab\t nl\n cr\r bs\u{08} ff\u{0C} nul\u{00} us\u{1F} del\u{7F}"
        odd.personId = Person.ID("汉字 and 🎉 and é")
        odd.insuredRegion = "\u{2028}\u{2029}"
        odd.split.lines[0].code = "</script><!--"
        odd.split.medfeeSumamt = .max
        odd.split.acctPay = .min
        odd.split.yearToDateChange = MedicalYearToDate(stays: -1, deductibleFen: 0, fundFen: -9_999_999_999)
        odd.split.lines = []
        out.append(odd)
        return out
    }

    @Test func theBytesAreJSONEncodersWithSortedKeys() throws {
        for r in try Self.records() {
            #expect(r.json == (try Self.encoded(r)))
        }
    }

    @Test func theStoredTextReadsBackAsTheSameRecord() throws {
        for r in try Self.records() {
            #expect(try JSONDecoder().decode(MedicalSettlementRecord.self, from: Data(r.json.utf8)) == r)
        }
    }

    @Test func integersAreWrittenInDecimal() {
        for v: Int64 in [0, 7, -7, 10, -10, 999, 1_000, .max, .min, .max - 1, .min + 1] {
            var w = JSONWriter()
            w.int(v)
            #expect(String(decoding: w.bytes, as: UTF8.self) == String(v))
        }
    }
}
