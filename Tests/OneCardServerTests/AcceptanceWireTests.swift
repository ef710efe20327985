import Foundation
import Testing
@testable import OneCardServer

/// An acceptance request read by hand (`AcceptanceWire.swift`) must mean what `JSONDecoder` makes of it, and anything
/// else is left to `JSONDecoder` (nil).
@Suite("Acceptance wire: the request by hand, judged by JSONDecoder")
struct AcceptanceWireTests {
    typealias Input = AcceptanceController.AcceptanceInput

    static func decoded(_ body: String) -> Input? { try? JSONDecoder().decode(Input.self, from: Data(body.utf8)) }
    static func read(_ body: String) -> Input? { Array(body.utf8).withUnsafeBytes(Input.read) }

    static func same(_ a: Input, _ b: Input) -> Bool {
        a.itemCode == b.itemCode && a.amountFen == b.amountFen && a.credential.kind == b.credential.kind && a.credential.token == b.credential.token
            && a.credential.cardNumber == b.credential.cardNumber && a.credential.challenge == b.credential.challenge
            && a.credential.response == b.credential.response && a.credential.issuer == b.credential.issuer
    }

    @Test(arguments: [
        #"{"itemCode":"JJJ-MED-001","credential":{"kind":"qr","token":"a.b.c"}}"#,
        #"{"credential":{"kind":"card","cardNumber":"Q1","challenge":"00","response":"ff"},"itemCode":"x","amountFen":1500}"#,
        #"{"itemCode":"x","credential":{"kind":"partner_qr","token":"t","issuer":"i","cardNumber":null},"amountFen":null}"#,
        #" { "itemCode" : "\u6c49" , "credential" : { "kind" : "qr" , "token" : "t" } , "amountFen" : 0 } "#,
    ])
    func commonBodiesAreReadAsJSONDecoderReadsThem(_ body: String) throws {
        let mine = try #require(Self.read(body))
        let theirs = try #require(Self.decoded(body))
        #expect(Self.same(mine, theirs))
    }

    @Test(arguments: [
        #"{"itemCode":"x","credential":{"kind":"qr","token":"t"},"amountFen":-1}"#,  // judged later, as JSONDecoder reads it
        #"{"itemCode":"x","credential":{"kind":"qr","token":"t"},"amountFen":1.5}"#,
        #"{"itemCode":"x","credential":{"kind":"qr","token":"t"},"note":"?"}"#,
        #"{"itemCode":"x","itemCode":"y","credential":{"kind":"qr","token":"t"}}"#,
        #"{"itemCode":"x","credential":{"kind":"qr","token":"t","token":"u"}}"#,
        #"{"itemCode":"x","credential":{"kind":"qr","token":7}}"#,
        #"{"itemCode":"x","credential":{"kind":"qr","token":"t"},"amountFen":null,"amountFen":5}"#,  // a nullable member twice
        #"{"itemCode":"x","credential":{"kind":"qr","token":"t","issuer":"i","issuer":null}}"#,
        #"{"itemCode":"x"}"#, #"{"credential":{"kind":"qr"}}"#, #"{"itemCode":null,"credential":{"kind":"qr"}}"#,
        #"{"itemCode":"x","credential":{"kind":"qr"}} {}"#, "[]", "",
    ])
    func anythingElseIsLeftToJSONDecoder(_ body: String) {
        #expect(Self.read(body) == nil)
    }
}
