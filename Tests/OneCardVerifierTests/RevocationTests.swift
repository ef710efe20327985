import Crypto
import Foundation
import OneCardCore
import Testing
@testable import OneCardVerifier

@Suite("Revocation")
struct RevocationTests {
    @Test func aCardRevokedByHashIsReportedUntilUnlocked() {
        // setup
        let node = Node()
        let verifier = node.verifier()
        #expect(verifier.revocation(ofCard: .sample) == nil)
        // action: lost, then unlocked
        #expect(verifier.apply(RevocationDocument(seq: 1, entries: [.card(.sample, status: .temporarilyLost, at: t0)])))
        // validate
        #expect(verifier.revocation(ofCard: .sample) == .temporarilyLost)
        #expect(verifier.revocation(ofCardHash: CardNumber.sample.hash) == .temporarilyLost)
        #expect(verifier.revocation(ofCard: .other) == nil)
        #expect(verifier.apply(RevocationDocument(seq: 2, entries: [.card(.sample, status: .active, at: t0 + 60)])))
        #expect(verifier.revocation(ofCard: .sample) == nil)
    }

    @Test func oldAndDuplicateDeltasAreIgnored() {
        // setup
        let node = Node()
        let verifier = node.verifier()
        let lost = RevocationDocument(seq: 5, entries: [.card(.sample, status: .lost, at: t0)])
        let unlocked = RevocationDocument(seq: 6, entries: [.card(.sample, status: .active, at: t0 + 1)])
        // action: a mirror serves them out of order, with a repeat
        verifier.apply([unlocked, lost])
        #expect(verifier.revocation(ofCard: .sample) == nil)
        #expect(verifier.apply(lost) == false)
        #expect(verifier.apply(unlocked) == false)
        // validate
        #expect(verifier.revocation(ofCard: .sample) == nil)
        #expect(verifier.lastSequence() == 6)
        #expect(verifier.apply(RevocationDocument(seq: 7, entries: [.card(.sample, status: .cancelled, at: t0 + 2)])))
        #expect(verifier.revocation(ofCard: .sample) == .cancelled)
    }

    @Test func seqIsCountedPerIssuer() {
        let verifier = Node().verifier()
        #expect(verifier.apply(RevocationDocument(seq: 9, iss: "110000", entries: [])))
        #expect(verifier.apply(RevocationDocument(seq: 3, iss: "310000", entries: [.card(.other, status: .lost, at: t0)])))
        #expect(verifier.revocation(ofCard: .other) == .lost)
        #expect(verifier.lastSequence(issuer: "110000") == 9)
        #expect(verifier.lastSequence(issuer: "310000") == 3)
    }

    @Test func aTokenRevokedByJTIIsRefused() {
        // setup: two tokens out for the card, then the card is reported lost
        let node = Node()
        let verifier = node.verifier()
        let revoked = node.issue(), untouched = node.issue(.other)
        // action
        verifier.apply(RevocationDocument(seq: 1, entries: [
            .card(.sample, status: .lost, at: t0 + 10), .token(jti: revoked.claims.jti, status: .lost, at: t0 + 10),
        ]))
        // validate
        #expect(verifier.verify(revoked.token, at: t0 + 20) == .denied(.tokenRevoked))
        #expect(verifier.verify(untouched.token, at: t0 + 20).isValid)
        // the revocation is still there after a refusal: a second try is revoked, not replayed
        #expect(verifier.verify(revoked.token, at: t0 + 21) == .denied(.tokenRevoked))
    }

    @Test func jtiRevocationsArePrunedOnlyAfterEveryTokenTheyCouldNameExpired() {
        let node = Node()
        let verifier = node.verifier()
        let token = node.issue()
        verifier.apply(RevocationDocument(seq: 1, entries: [.token(jti: token.claims.jti, status: .cancelled, at: t0)]))
        verifier.pruneTokenRevocations(at: t0 + 300 + 30)
        #expect(verifier.verify(token.token, at: t0 + 30) == .denied(.tokenRevoked))
        verifier.pruneTokenRevocations(at: t0 + 331)
        #expect(verifier.verify(token.token, at: t0 + 30).isValid)
    }

    @Test func bothEntryKindsRoundTripThroughJSON() throws {
        // setup
        let document = RevocationDocument(seq: 42, entries: [
            .card(.sample, status: .replaced, at: t0), .token(jti: "abc", status: .lost, at: t0 + 1),
            .card(.other, status: .active, at: t0 + 2),
        ])
        // action
        let json = document.json()
        // validate
        #expect(try RevocationDocument(json: json) == document)
        let object = try #require(JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["seq"] as? Int == 42)
        let entries = try #require(object["entries"] as? [[String: String]])
        #expect(entries[0] == ["cardHash": CardNumber.sample.hash, "status": "replaced", "at": "2025-01-01T00:00:00Z"])
        #expect(entries[1] == ["jti": "abc", "status": "lost", "at": "2025-01-01T00:00:01Z"])
        let verifier = Node().verifier()
        #expect(try verifier.apply(revocationsJSON: json))
        #expect(verifier.revocation(ofCard: .sample) == .replaced)
        #expect(verifier.revocation(ofCard: .other) == nil)
        #expect(CardNumber.sample.hash == SHA256.hash(data: Data("A12345678".utf8)).map { String(format: "%02x", $0) }.joined())
    }

    @Test func entriesWithNeitherOrBothSubjectsDoNotDecode() {
        let bad = [
            #"{"seq":1,"entries":[{"status":"lost","at":"2025-01-01T00:00:00Z"}]}"#,
            #"{"seq":1,"entries":[{"jti":"a","cardHash":"\#(CardNumber.sample.hash)","status":"lost","at":"2025-01-01T00:00:00Z"}]}"#,
            #"{"seq":1,"entries":[{"cardHash":"A12345678","status":"lost","at":"2025-01-01T00:00:00Z"}]}"#,
            #"{"seq":1,"entries":[{"jti":"a","status":"stolen","at":"2025-01-01T00:00:00Z"}]}"#,
            #"{"seq":1,"entries":[{"jti":"a","status":"lost","at":"yesterday"}]}"#,
        ]
        for json in bad { #expect(throws: (any Error).self, "\(json)") { try RevocationDocument(json: Data(json.utf8)) } }
        #expect(throws: Never.self) { try RevocationDocument(json: Data(#"{"seq":1,"entries":[{"jti":"a","status":"lost","at":"2025-01-01T00:00:00Z"}]}"#.utf8)) }
    }

    @Test func aSignedDocumentIsAcceptedFromTheTrustListAndATamperedOneIsNot() throws {
        // setup
        let node = Node()
        let verifier = node.verifier()
        let signed = RevocationDocument(seq: 3, entries: [.card(.sample, status: .lost, at: t0)]).signed(with: node.ring.current)
        let parts = segments(signed)
        let header = try #require(Base64URL.decode(parts[0]))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"EdDSA","kid":"\#(node.ring.current.kid)","typ":"onecard-revocations+jwt"}"#)
        // action, validate: tampered payload, tampered signature, a stranger's signature
        #expect(throws: RevocationDocument.Failure.badSignature) { try verifier.apply(signedRevocations: replacingCharacter(of: signed, at: parts[0].count + 3)) }
        #expect(throws: RevocationDocument.Failure.badSignature) { try verifier.apply(signedRevocations: replacingCharacter(of: signed, at: signed.utf8.count - 10)) }
        let stranger = Node(region: "310000", seed: "stranger")
        #expect(throws: RevocationDocument.Failure.unknownKey) {
            try verifier.apply(signedRevocations: RevocationDocument(seq: 9, entries: []).signed(with: stranger.ring.current))
        }
        #expect(throws: RevocationDocument.Failure.malformed) { try verifier.apply(signedRevocations: "not.a-jws") }
        #expect(verifier.revocation(ofCard: .sample) == nil)
        #expect(try verifier.apply(signedRevocations: signed))
        #expect(verifier.revocation(ofCard: .sample) == .lost)
        #expect(verifier.lastSequence(issuer: "110000") == 3)
        #expect(try verifier.apply(signedRevocations: signed) == false)
    }

    @Test func aSignedDocumentClaimingAnotherIssuerIsRefused() {
        let node = Node(region: "110000")
        let verifier = node.verifier()
        let signed = RevocationDocument(seq: 1, iss: "310000", entries: [.card(.sample, status: .lost, at: t0)]).signed(with: node.ring.current)
        #expect(throws: RevocationDocument.Failure.wrongIssuer) { try verifier.apply(signedRevocations: signed) }
        #expect(verifier.revocation(ofCard: .sample) == nil)
    }

    @Test func aSignedRevocationDocumentIsNotAQRToken() {
        let node = Node()
        let signed = RevocationDocument(seq: 1, entries: []).signed(with: node.ring.current)
        #expect(node.verifier().verify(signed, at: t0) == .denied(.tokenInvalid))
    }

    @Test func cardStatusesMapToRevocationStatuses() {
        #expect(RevocationStatus(CardStatus.issued) == nil)
        #expect(RevocationStatus(CardStatus.temporarilyLost) == .temporarilyLost)
        #expect(RevocationStatus(CardStatus.active)?.revokes == false)
        // `online_only` is no card status: a risk action that sends the card to online checks; offline it is refused too.
        // `entitlements_changed` lists a token whose `ent` lost a revoked certificate's codes (issue 15): a token only.
        #expect(RevocationStatus.allCases.filter(\.revokes) == [.lost, .temporarilyLost, .cancelled, .replaced, .onlineOnly, .entitlementsChanged])
        #expect(CardStatus.allCases.compactMap(RevocationStatus.init).contains(.onlineOnly) == false)
        #expect(CardStatus.allCases.compactMap(RevocationStatus.init).contains(.entitlementsChanged) == false)
    }

    /// A token listed `online_only` (a risk action) is refused offline with `online_check_required`, not as lost; a list
    /// that says its node is in incident mode refuses every token until a later list says it no longer is.
    @Test func onlineOnlyTokensAndIncidentModeSendTheHolderToAnOnlineCheck() {
        let node = Node()
        let verifier = node.verifier()
        let flagged = node.issue(), other = node.issue()
        verifier.apply(RevocationDocument(seq: 1, iss: "110000", entries: [.token(jti: flagged.claims.jti, status: .onlineOnly, at: t0)]))
        #expect(verifier.verify(flagged.token, at: t0) == .denied(.onlineCheckRequired))
        #expect(verifier.verify(other.token, at: t0).isValid)
        verifier.apply(RevocationDocument(seq: 1, iss: "110000", entries: [], incident: true))  // not newer, yet the mode applies
        #expect(verifier.incidentMode)
        #expect(verifier.verify(node.issue().token, at: t0) == .denied(.onlineCheckRequired))
        verifier.apply(RevocationDocument(seq: 2, iss: "110000", entries: []))
        #expect(!verifier.incidentMode)
        #expect(verifier.verify(node.issue().token, at: t0).isValid)
    }
}
