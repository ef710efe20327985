import Foundation
import OneCardCore
import Testing
@testable import OneCardServer

/// The batch credit's JSON written and read by hand (`BankWire`) must mean what `Codable` means: Foundation's
/// `JSONEncoder` and `JSONDecoder` are the peer both ways.
@Suite("Bank wire: the batch credit's JSON by hand, judged by Foundation's JSON coders")
struct BankWireTests {
    struct Credits: Codable { var payments: [BankGateway.Credit] }
    struct Results: Codable { var results: [BankGateway.Result] }

    static let awkward = ["p-1", "quote \" and \\ backslash", "tab\tnew\nline\u{01}", "汉字 and 🎉", "slash/", ""]

    @Test func creditsWrittenByHandDecodeAsCodableReadsThem() throws {
        let credits = Self.awkward.enumerated().map { BankGateway.Credit(paymentId: $1, account: "62220000\($0)", amountFen: Int64($0) * 1_000_003) }
            + [BankGateway.Credit(paymentId: "max", account: "1", amountFen: 999_999_999_999_999)]
        let decoded = try JSONDecoder().decode(Credits.self, from: Data(BankWire.credits(credits)))
        #expect(decoded.payments.map(\.paymentId) == credits.map(\.paymentId))
        #expect(decoded.payments.map(\.account) == credits.map(\.account))
        #expect(decoded.payments.map(\.amountFen) == credits.map(\.amountFen))
        // and read back by hand
        let read = try #require(BankWire.readCredits(BankWire.credits(credits)))
        #expect(read.map(\.paymentId) == credits.map(\.paymentId) && read.map(\.amountFen) == credits.map(\.amountFen))
        #expect(BankWire.readCredits(BankWire.credits([])).map(\.count) == 0)
    }

    @Test func resultsWrittenByHandDecodeAsCodableReadsThem() throws {
        let results = Self.awkward.enumerated().map { i, s in
            BankGateway.Result(paymentId: s, outcome: BankOutcome.allCases[i % BankOutcome.allCases.count], reason: i % 2 == 0 ? nil : "closed: \(s)")
        }
        let decoded = try JSONDecoder().decode(Results.self, from: Data(BankWire.results(results)))
        #expect(decoded.results.map(\.paymentId) == results.map(\.paymentId))
        #expect(decoded.results.map(\.outcome) == results.map(\.outcome))
        #expect(decoded.results.map(\.reason) == results.map(\.reason))
    }

    @Test func whatJSONEncoderWritesIsReadTheSame() throws {
        let results = Self.awkward.map { BankGateway.Result(paymentId: $0, outcome: .returned, reason: $0) }
        let encoder = JSONEncoder()
        for formatting in [JSONEncoder.OutputFormatting(), .prettyPrinted, .sortedKeys, .withoutEscapingSlashes] {
            encoder.outputFormatting = formatting
            let read = try #require(BankWire.readResults(try encoder.encode(Results(results: results))))
            #expect(read.map(\.paymentId) == results.map(\.paymentId) && read.map(\.reason) == results.map(\.reason), "\(formatting)")
            let credits = Self.awkward.map { BankGateway.Credit(paymentId: $0, account: "6222000011112222", amountFen: 5) }
            #expect(try #require(BankWire.readCredits(try encoder.encode(Credits(payments: credits)))).map(\.paymentId) == Self.awkward)
        }
        // `reason: null` written out, members in another order, an extra member
        let other = #"{"results":[{"reason":null,"outcome":"credited","extra":[1,{"a":true}],"paymentId":"x"}]}"#
        let read = try #require(BankWire.readResults(Data(other.utf8)))
        #expect(read.count == 1 && read[0].paymentId == "x" && read[0].outcome == .credited && read[0].reason == nil)
    }

    /// Whatever the hand reader leaves to `JSONDecoder` gets `JSONDecoder`'s answer; what neither reads is nil.
    @Test(arguments: [
        (#"{"payments":[{"paymentId":"a","account":"1","amountFen":-5}]}"#, true),      // a sign: JSONDecoder's
        (#"{"payments":[{"paymentId":"a","account":"1","amountFen":5,"amountFen":6}]}"#, true),  // a member twice
        (#"{"other":1,"payments":[]}"#, true),
        (#"{"payments":[{"paymentId":"a","account":"1"}]}"#, false),                    // no amount
        (#"{"payments":[{"paymentId":1,"account":"1","amountFen":5}]}"#, false),
        (#"{"payments":[{"paymentId":"a","account":"1","amountFen":5.5}]}"#, false),
        (#"{"payments":[]} trailing"#, false),
        (#"[]"#, false), (#""#, false), (#"{"payments":["#, false),
    ])
    func oddCreditBodiesAreReadAsJSONDecoderReadsThem(_ body: String, readable: Bool) throws {
        let codable = try? JSONDecoder().decode(Credits.self, from: Data(body.utf8))
        let read = BankWire.readCredits(Data(body.utf8))
        #expect((read != nil) == readable && (codable != nil) == readable, "\(body)")
        #expect(read?.map(\.amountFen) == codable?.payments.map(\.amountFen))
    }

    @Test func anUnknownOutcomeIsNoAnswer() {
        #expect(BankWire.readResults(Data(#"{"results":[{"paymentId":"a","outcome":"maybe"}]}"#.utf8)) == nil)
        #expect(BankWire.readResults(Data(#"{"results":[{"outcome":"credited"}]}"#.utf8)) == nil)
    }
}
