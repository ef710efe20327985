import Crypto
import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Venue pages: a gate checks a physical card by challenge and response")
struct VenuePagesTests {
    @Test(arguments: Engine.available)
    func aVenueChecksAPhysicalCardByChallengeAndResponse(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a metro gate taking physical cards, and an active card
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, key) = try await h.createVenue(type: "transit", region: "110105", items: ["JJJ-TRN-001"], name: "北京地铁")
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "888"))
            let chip = h.services.chipKeys.key(for: try CardNumber(number))
            func response(_ challenge: String, _ key: SymmetricKey) -> String {
                Data(HMAC<SHA256>.authenticationCode(for: Data(base64Encoded: challenge)!, using: key)).base64EncodedString()
            }
            let gate = PageBrowser(h)
            _ = try await gate.get("/venue")
            _ = try await gate.post("/venue/signin", [("apiKey", key)])
            /// The card form of a fresh page: its challenge and its own Idempotency-Key.
            func cardForm() async throws -> (challenge: String, idem: String) {
                let page = try await gate.get("/venue")
                let form = String(page.html[try #require(page.html.range(of: #"id="card-form""#)).lowerBound...])
                return (try #require(PageReply.first(#"name="challenge" value="([A-Za-z0-9+/=]+)""#, in: form)),
                        try #require(PageReply.first(#"name="idempotencyKey" value="([^"]+)""#, in: form)))
            }
            var (challenge, idem) = try await cardForm()
            #expect(Data(base64Encoded: challenge)?.count == 16)
            #expect(try await cardForm().challenge != challenge, "every page has a fresh challenge")
            // The chip's right answer is accepted; resending the form answers the same and records one use.
            let fields = [("idempotencyKey", idem), ("kind", "card"), ("itemCode", "JJJ-TRN-001"), ("challenge", challenge), ("cardNumber", number),
                          ("response", response(challenge, chip))]
            let accepted = try await gate.post("/venue/accept", fields)
            #expect(accepted.html.contains(#"data-decision="accepted""#) && accepted.html.contains("实体卡"), "\(accepted)")
            #expect(try await gate.post("/venue/accept", fields).html.contains(#"data-decision="accepted""#))
            #expect(try await h.count("uses") == 1)
            // The same challenge again: denied, said as a card's reason.
            (_, idem) = try await cardForm()
            let replayed = try await gate.post("/venue/accept", [("idempotencyKey", idem), ("kind", "card"), ("itemCode", "JJJ-TRN-001"),
                                                                 ("challenge", challenge), ("cardNumber", number), ("response", response(challenge, chip))])
            #expect(replayed.html.contains(#"data-decision="denied""#) && replayed.html.contains("token_replayed") && replayed.html.contains("该挑战数已经使用过"),
                    "\(replayed)")
            // A wrong key (a forged card) is denied in plain words, in English too.
            (challenge, idem) = try await cardForm()
            let forged = try await gate.post("/venue/accept?lang=en", [("idempotencyKey", idem), ("kind", "card"), ("itemCode", "JJJ-TRN-001"),
                                                                       ("challenge", challenge), ("cardNumber", number),
                                                                       ("response", response(challenge, SymmetricKey(size: .bits256)))])
            #expect(forged.html.contains(#"data-decision="denied""#) && forged.html.contains("chip_auth_failed")
                && forged.html.contains("The chip could not be authenticated"), "\(forged)")
            // A malformed answer is a form error, not a decision, and records nothing.
            (challenge, idem) = try await cardForm()
            let bad = try await gate.post("/venue/accept", [("idempotencyKey", idem), ("kind", "card"), ("itemCode", "JJJ-TRN-001"),
                                                            ("challenge", challenge), ("cardNumber", number), ("response", "AA==")])
            #expect(bad.status == 422 && bad.html.contains("invalid_field"))
            // validate
            #expect(try await h.count("uses") == 3)
            for url in gate.seenURLs { #expect(!url.contains(number), "\(url)") }
        }
    }
}
