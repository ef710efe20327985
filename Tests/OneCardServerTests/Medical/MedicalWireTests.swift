import Foundation
@testable import OneCardCore
import Testing
@testable import OneCardServer

/// The settlement's request read by hand and its answer written by hand (`MedicalWire.swift`,
/// `SettlementView.json`) must mean what `Codable` means: Foundation's `JSONDecoder` and `JSONEncoder` are the peer.
@Suite("Medical settlement wire: request and answer by hand, judged by Foundation's JSON coders")
struct MedicalWireTests {
    typealias Input = MedicalController.SettlementInput

    static func record(reverses: String? = nil, balc: Int64? = 500, ratio: Int = 8500, text: String = "s-1") -> MedicalSettlementRecord {
        let lines = [MedicalLineSplit(code: "MED-A", chrgitmLv: .a, detItemFeeSumamt: 1_200_000, fulamtOwnpayAmt: 0, overlmtAmt: 0, preselfpayAmt: 0,
                                      inscpScpAmt: 1_200_000),
                     MedicalLineSplit(code: text, chrgitmLv: nil, detItemFeeSumamt: -5, fulamtOwnpayAmt: -5, overlmtAmt: 0, preselfpayAmt: 0, inscpScpAmt: 0)]
        let split = MedicalSplit(filing: .longTerm, medfeeSumamt: 2_000_000, fulamtOwnpayAmt: 200_000, overlmtSelfpay: 0, preselfpayAmt: 60_000,
                                 inscpScpAmt: 1_740_000, actPayDedc: 130_000, hifpPay: 1_368_500, poolPropSelfpay: Percent(hundredths: ratio),
                                 fundPaySumamt: 1_368_500, psnPartAmt: 631_500, acctPay: -100_000, psnCashPay: 531_500, balc: balc, overAnnualCapAmt: 0,
                                 lines: lines, yearToDateChange: MedicalYearToDate(stays: 1, deductibleFen: 130_000, fundFen: 1_368_500))
        return MedicalSettlementRecord(settlementId: text, reverses: reverses, personId: "p-1", insuredRegion: "110000", treatmentRegion: text,
                                       care: .outpatient, hospitalLevel: .two, policyVersion: 7, split: split)
    }

    @Test func theAnswerIsTheBytesResponseJSONWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let odd = "quote \" \\ / \t\n\r\u{08}\u{0C}\u{00}\u{1F} 汉字 🎉"
        for r in [Self.record(), Self.record(reverses: "s-0", balc: nil, ratio: 7205), Self.record(ratio: 1, text: odd), Self.record(ratio: 0)] {
            for at in [nil, Date(timeIntervalSince1970: 1_764_000_000.123)] {
                let view = MedicalController.SettlementView(r, at: at)
                #expect(String(decoding: view.json, as: UTF8.self) == String(decoding: try encoder.encode(view), as: UTF8.self))
            }
        }
    }

    static func decoded(_ body: String) -> Input? { try? JSONDecoder().decode(Input.self, from: Data(body.utf8)) }
    static func read(_ body: String) -> Input? { Array(body.utf8).withUnsafeBytes(Input.read) }

    static func same(_ a: Input, _ b: Input) -> Bool {
        a.care == b.care && a.hospitalLevel == b.hospitalLevel && a.emergency == b.emergency && a.items == b.items
            && a.credential.kind == b.credential.kind && a.credential.token == b.credential.token && a.credential.cardNumber == b.credential.cardNumber
            && a.credential.challenge == b.credential.challenge && a.credential.response == b.credential.response
            && a.credential.issuer == b.credential.issuer
    }

    /// Bodies in the shape the hand reader takes: it reads each as `JSONDecoder` does.
    static let common = [
        #"{"credential":{"kind":"qr","token":"a.b.c"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[{"code":"MED-A","amountFen":1200000,"quantity":1}]}"#,
        #" { "items" : [ ] , "emergency" : true , "hospitalLevel" : 1 , "care" : "outpatient" , "credential" : { "kind" : "card" , "cardNumber" : "Q1" , "challenge" : "00" , "response" : "ff" , "token" : null , "issuer" : null } } "#,
        #"{"credential":{"response":"r","issuer":"i","challenge":"c","cardNumber":"n","token":"t","kind":"partner_qr"},"care":"inpatient","hospitalLevel":2,"emergency":false,"items":[{"quantity":2,"amountFen":0,"code":"\u6c49\"\\\/\n"},{"code":"x","amountFen":999999999999999,"quantity":1000000}]}"#,
    ]

    /// Bodies the hand reader leaves to `JSONDecoder` (nil), whatever `JSONDecoder` then makes of them.
    static let uncommon = [
        #"{"credential":{"kind":"qr","token":"t"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[],"extra":1}"#,  // a member it does not know
        #"{"credential":{"kind":"qr","token":"t"},"care":"inpatient","care":"outpatient","hospitalLevel":3,"emergency":false,"items":[]}"#,  // twice
        #"{"credential":{"kind":"qr","token":"t"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[{"code":"a","amountFen":-1,"quantity":1}]}"#,
        #"{"credential":{"kind":"qr","token":"t"},"care":"inpatient","hospitalLevel":3.0,"emergency":false,"items":[]}"#,
        #"{"credential":{"kind":"qr","token":"t"},"care":"inpatient","hospitalLevel":03,"emergency":false,"items":[]}"#,  // not JSON
        #"{"credential":{"kind":"qr","token":"t"},"care":"inpatient","hospitalLevel":4,"emergency":false,"items":[]}"#,  // not a level
        #"{"credential":{"kind":"qr","token":"t"},"care":"home","hospitalLevel":3,"emergency":false,"items":[]}"#,  // not a care
        #"{"credential":{"kind":"qr","token":"t"},"care":"inpatient","hospitalLevel":3,"emergency":0,"items":[]}"#,
        #"{"credential":{"kind":null},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[]}"#,
        #"{"credential":{"kind":"qr"},"care":"inpatient","hospitalLevel":3,"emergency":false}"#,  // items missing
        #"{"credential":{"kind":"qr"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[{"code":"a","amountFen":1}]}"#,
        #"{"credential":{"kind":"qr"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[]} x"#,  // trailing bytes
        #"{"credential":{"kind":"qr"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[],}"#,
        #"{"cred\u0065ntial":{"kind":"qr"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[]}"#,  // an escaped name
        #"{"credential":{"kind":"qr","token":"t\u0"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[]}"#,
        #"{"credential":{"kind":"qr"},"care":"inpatient","hospitalLevel":3,"emergency":false,"items":[{"code":"a","amountFen":1e3,"quantity":1}]}"#,
        "{\"credential\":{\"kind\":\"qr\",\"token\":\"\u{01}\"},\"care\":\"inpatient\",\"hospitalLevel\":3,\"emergency\":false,\"items\":[]}",  // a raw control byte
        "[]", "", "null", "{}",
    ]

    @Test func commonBodiesAreReadAsJSONDecoderReadsThem() throws {
        for body in Self.common {
            let mine = try #require(Self.read(body), "\(body)")
            let theirs = try #require(Self.decoded(body), "\(body)")
            #expect(Self.same(mine, theirs), "\(body)")
        }
    }

    @Test func anythingElseIsLeftToJSONDecoder() {
        for body in Self.uncommon { #expect(Self.read(body) == nil, "\(body)") }
        // Every body the reader leaves is still answered by `JSONDecoder`: the negative amount and the whole level
        // written with a fraction decode there and are judged later, as before.
        #expect(Self.decoded(Self.uncommon[2]) != nil)
    }

    @Test func invalidUTF8IsLeftToJSONDecoder() {
        var bytes = Array(Self.common[0].utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "M"))!
        bytes[at] = 0xFF
        #expect(bytes.withUnsafeBytes(Input.read) == nil)
    }
}
