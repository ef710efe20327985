import Crypto
import Foundation
import OneCardCore
import Testing
@testable import OneCardVerifier

@Suite("Offline verification")
struct VerifierTests {
    @Test func anIssuedTokenVerifiesWithItsClaims() {
        // setup
        let node = Node()
        let issued = node.issue()
        // action
        let decision = node.verifier().verify(issued.token, at: t0 + 1)
        // validate
        #expect(decision == .valid(issued.claims))
    }

    @Test func oneTamperedCharacterInPayloadOrSignatureIsInvalid() {
        // setup
        let node = Node()
        let issued = node.issue()
        let parts = segments(issued.token)
        let payloadStart = parts[0].count + 1, signatureStart = payloadStart + parts[1].count + 1
        let verifier = node.verifier()
        // action, validate: every position of the payload and signature
        for offset in payloadStart..<issued.token.utf8.count where offset != signatureStart - 1 {
            let decision = verifier.verify(replacingCharacter(of: issued.token, at: offset), at: t0)
            #expect(decision == .denied(.tokenInvalid), "offset \(offset)")
        }
        // the untouched token still verifies: the failures above were the tampering
        #expect(verifier.verify(issued.token, at: t0).isValid)
    }

    @Test func aTamperedHeaderIsNeverAccepted() {
        let node = Node()
        let issued = node.issue()
        let verifier = node.verifier()
        // The first character carries `{`: changing it leaves no JSON.
        #expect(verifier.verify(replacingCharacter(of: issued.token, at: 0), at: t0) == .denied(.tokenInvalid))
        // Elsewhere a change may also land in the kid, which is then unknown.
        for offset in 0..<segments(issued.token)[0].count {
            let decision = verifier.verify(replacingCharacter(of: issued.token, at: offset), at: t0)
            #expect(decision == .denied(.tokenInvalid) || decision == .denied(.unknownIssuer), "offset \(offset)")
        }
        #expect(verifier.verify(issued.token, at: t0).isValid)
    }

    @Test func malformedTokensAreInvalid() {
        let node = Node()
        let issued = node.issue()
        let parts = segments(issued.token)
        let verifier = node.verifier()
        for token in ["", ".", "..", "a.b.c", parts[0] + "." + parts[1], issued.token + ".", issued.token + "=",
                      parts[0] + "." + parts[1] + "=." + parts[2], parts[0] + ".." + parts[2],
                      String(repeating: "A", count: 5000), issued.token.replacingOccurrences(of: "-", with: "+")
                          .replacingOccurrences(of: "_", with: "/")]
        where token != issued.token {
            #expect(verifier.verify(token, at: t0) == .denied(.tokenInvalid), "\(token.prefix(40))")
        }
    }

    @Test func wrongAlgOrTypIsInvalidButAnotherMemberOrderIsFine() {
        let node = Node()
        let verifier = node.verifier()
        let kid = node.ring.current.kid
        let cases: [(String, Bool)] = [
            (#"{"alg":"none","kid":"\#(kid)","typ":"onecard-qr+jwt"}"#, false),
            (#"{"alg":"HS256","kid":"\#(kid)","typ":"onecard-qr+jwt"}"#, false),
            (#"{"alg":"EdDSA","kid":"\#(kid)","typ":"JWT"}"#, false),
            (#"{"alg":"EdDSA","kid":"\#(kid)"}"#, false),
            (#"{"alg":"EdDSA","kid":"\#(kid)","typ":"onecard-qr+jwt","crit":["exp"]}"#, false),
            (#"{"alg":"EdDSA","alg":"EdDSA","kid":"\#(kid)","typ":"onecard-qr+jwt"}"#, false),
            // what another JOSE library might write: other order, spacing, an extra member
            (#"{ "typ" : "onecard-qr+jwt", "kid":"\#(kid)", "alg":"EdDSA", "x":{"y":[1,2.5e3,true,null]} }"#, true),
        ]
        for (index, (header, acceptable)) in cases.enumerated() {
            let token = forge(header: header, payload: claimsJSON(jti: "case-\(index)"), key: node.ring.current)
            #expect(verifier.verify(token, at: t0).isValid == acceptable, "\(header)")
            if !acceptable { #expect(verifier.verify(token, at: t0) == .denied(.tokenInvalid), "\(header)") }
        }
    }

    @Test func badClaimsAreInvalid() {
        let node = Node()
        let verifier = node.verifier()
        let header = #"{"alg":"EdDSA","kid":"\#(node.ring.current.kid)","typ":"onecard-qr+jwt"}"#
        let payloads = [
            #"{"iss":"110000","sub":"s","iat":1735689600,"exp":1735689660,"ent":[]}"#,              // no jti
            #"{"iss":"110000","sub":"s","iat":"1735689600","exp":1735689660,"jti":"j","ent":[]}"#, // iat a string
            #"{"iss":"110000","sub":"s","iat":1735689600.5,"exp":1735689660,"jti":"j","ent":[]}"#,  // fractional
            #"{"iss":"11000","sub":"s","iat":1735689600,"exp":1735689660,"jti":"j","ent":[]}"#,    // 5-digit region
            #"{"iss":"110000","iss":"110000","sub":"s","iat":1735689600,"exp":1735689660,"jti":"j"}"#, // twice
            #"{"i\u0073s":"110000","sub":"s","iat":1735689600,"exp":1735689660,"jti":"j","ent":[]}"#,  // escaped name
            #"{"iss":"110000","sub":"s","iat":1735689600,"exp":1735689660,"jti":"j","ent":[1]}"#,  // ent not strings
            #"{"iss":"110000","sub":"s","iat":1735689600,"exp":1735689660,"jti":"j","ent":[]} x"#,  // trailing junk
            #"["iss"]"#,
            claimsJSON(iat: 1_735_689_600, exp: 1_735_689_599),                                    // exp before iat
            claimsJSON(iat: 1_735_689_600, exp: 1_735_689_600 + 301),                              // lives too long
        ]
        for payload in payloads {
            #expect(verifier.verify(forge(header: header, payload: payload, key: node.ring.current), at: t0) == .denied(.tokenInvalid), "\(payload)")
        }
        // the same forge with sane claims passes, so the refusals above are the claims'
        let sane = forge(header: header, payload: claimsJSON(extra: #","note":"caf\u00e9 \ud83d\ude00""#), key: node.ring.current)
        #expect(verifier.verify(sane, at: t0).isValid)
    }

    @Test func aKeyOutsideTheTrustListIsAnUnknownIssuer() {
        // setup: a second region whose keys this verifier does not trust
        let trusted = Node(region: "110000", seed: "beijing")
        let stranger = Node(region: "310000", seed: "shanghai")
        let verifier = trusted.verifier()
        // action, validate
        #expect(verifier.verify(stranger.issue().token, at: t0) == .denied(.unknownIssuer))
        #expect(verifier.verify(trusted.issue().token, at: t0).isValid)
    }

    @Test func anIssNotMatchingTheKeysRegionIsAnUnknownIssuer() {
        // setup: the Beijing key signs a token claiming to be from Shanghai
        let node = Node(region: "110000")
        let header = #"{"alg":"EdDSA","kid":"\#(node.ring.current.kid)","typ":"onecard-qr+jwt"}"#
        let token = forge(header: header, payload: claimsJSON(iss: "310000"), key: node.ring.current)
        // action, validate
        #expect(node.verifier().verify(token, at: t0) == .denied(.unknownIssuer))
        #expect(node.verifier().verify(forge(header: header, payload: claimsJSON(iss: "110000"), key: node.ring.current), at: t0).isValid)
    }

    @Test(arguments: [
        (60.0, true), (89.0, true), (90.0, true), (90.5, false), (91.0, false), (3600.0, false),
    ])
    func expiryWithSkew(secondsAfterIssue: Double, valid: Bool) {
        // setup: lifetime 60 s, skew 30 s, so the last accepted instant is exp + 30 = iat + 90
        let node = Node()
        let issued = node.issue()
        // action
        let decision = node.verifier().verify(issued.token, at: t0 + secondsAfterIssue)
        // validate
        #expect(decision == (valid ? .valid(issued.claims) : .denied(.tokenExpired)))
    }

    @Test(arguments: [(-29.0, true), (-30.0, true), (-30.5, false), (-31.0, false), (-600.0, false)])
    func issuedInTheFutureBeyondSkewIsInvalid(secondsBeforeIssue: Double, valid: Bool) {
        let node = Node()
        let issued = node.issue()
        let decision = node.verifier().verify(issued.token, at: t0 + secondsBeforeIssue)
        #expect(decision == (valid ? .valid(issued.claims) : .denied(.tokenInvalid)))
    }

    @Test func aTokenIsAcceptedOnce() {
        // setup
        let node = Node()
        let verifier = node.verifier()
        let first = node.issue(), second = node.issue()
        // action, validate
        #expect(verifier.verify(first.token, at: t0).isValid)
        #expect(verifier.verify(first.token, at: t0 + 5) == .denied(.tokenReplayed))
        #expect(verifier.verify(second.token, at: t0 + 5).isValid)
        #expect(verifier.replayCacheCount == 2)
        // a refused token takes no replay slot
        #expect(verifier.verify(node.issue().token, at: t0 + 500) == .denied(.tokenExpired))
        #expect(verifier.replayCacheCount == 2)
    }

    @Test func theReplayCacheForgetsExpiredTokens() {
        // setup: one shard, since each shard forgets lazily when a token lands in it
        var configuration = QRVerifier.Configuration()
        configuration.replayShards = 1
        let node = Node()
        let verifier = node.verifier(configuration: configuration)
        for _ in 0..<10 { #expect(verifier.verify(node.issue().token, at: t0).isValid) }
        #expect(verifier.replayCacheCount == 10)
        // action: much later, one more token
        node.clock.advance(by: 600)
        #expect(verifier.verify(node.issue().token, at: t0 + 600).isValid)
        // validate
        #expect(verifier.replayCacheCount == 1)
    }

    @Test func aFullReplayCacheRefusesRatherThanForgets() {
        // setup: room for 3 tokens
        var configuration = QRVerifier.Configuration()
        configuration.replayCapacity = 3
        configuration.replayShards = 1
        let node = Node()
        let verifier = node.verifier(configuration: configuration)
        let tokens = (0..<4).map { _ in node.issue().token }
        // action, validate
        for token in tokens.prefix(3) { #expect(verifier.verify(token, at: t0).isValid) }
        #expect(verifier.verify(tokens[3], at: t0) == .denied(.tokenReplayed))
        #expect(verifier.verify(tokens[0], at: t0 + 1) == .denied(.tokenReplayed))
        // once the first three have expired there is room again
        node.clock.advance(by: 120)
        #expect(verifier.verify(node.issue().token, at: t0 + 120).isValid)
        #expect(verifier.replayCacheCount == 1)
    }

    @Test func concurrentPresentationsOfOneTokenAcceptExactlyOne() async {
        // setup
        let node = Node()
        let verifier = node.verifier()
        let token = node.issue().token
        // action: 200 tasks present the same token at once
        let decisions = await withTaskGroup(of: Decision.self) { group in
            for _ in 0..<200 { group.addTask { verifier.verify(token, at: t0) } }
            return await group.reduce(into: [Decision]()) { $0.append($1) }
        }
        // validate
        #expect(decisions.filter(\.isValid).count == 1)
        #expect(decisions.filter { $0 == .denied(.tokenReplayed) }.count == 199)
    }

    @Test func concurrentDistinctTokensAreAllAccepted() async {
        let node = Node()
        let verifier = node.verifier()
        let tokens = (0..<300).map { _ in node.issue().token }
        let valid = await withTaskGroup(of: Int.self) { group in
            for chunk in 0..<6 {
                group.addTask {
                    var n = 0
                    for token in tokens[(chunk * 50)..<(chunk * 50 + 50)] where verifier.verify(token, at: t0).isValid { n += 1 }
                    for token in tokens[(chunk * 50)..<(chunk * 50 + 50)] where verifier.verify(token, at: t0).isValid { n += 1 }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        #expect(valid == 300)
        #expect(verifier.replayCacheCount == 300)
    }

    @Test func verifyingRawBytesMatchesVerifyingTheString() {
        let node = Node()
        let issued = node.issue()
        let decision = Array(issued.token.utf8).withUnsafeBytes { node.verifier().verify(utf8: $0, at: t0) }
        #expect(decision == .valid(issued.claims))
    }
}
