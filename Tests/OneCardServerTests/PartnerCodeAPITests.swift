import Crypto
import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Codes of other platforms: registered with their keys, linked once by the holder, decided at a venue as the card")
struct PartnerCodeAPITests {
    /// A partner platform (a Beijing government-service app) that signs its own codes.
    struct Partner {
        let code: String
        let key = Curve25519.Signing.PrivateKey()
        var kid: String? = "jt-2026"
        /// The partner's clock: the test's.
        var clock: @Sendable () -> Date = { Date() }

        var jwks: [String: Any] {
            var k: [String: Any] = ["kty": "OKP", "crv": "Ed25519", "use": "sig", "x": Base64URL.encode(Array(key.publicKey.rawRepresentation))]
            if let kid { k["kid"] = kid }
            return ["keys": [k]]
        }

        /// A code as the partner's app shows it: a compact JWS, EdDSA, `iss` its code, `sub` the account.
        func token(sub: String, iss: String? = nil, lifetime: TimeInterval = 60, jti: String? = UUID().uuidString, alg: String = "EdDSA",
                   signer: Curve25519.Signing.PrivateKey? = nil) throws -> String {
            let now = clock()
            var header: [String: Any] = ["alg": alg, "typ": "JWT"]
            if let kid { header["kid"] = kid }
            var payload: [String: Any] = ["iss": iss ?? code, "sub": sub, "iat": Int(now.timeIntervalSince1970), "exp": Int(now.timeIntervalSince1970 + lifetime)]
            if let jti { payload["jti"] = jti }
            func segment(_ o: [String: Any]) throws -> String { Base64URL.encode(Array(try JSONSerialization.data(withJSONObject: o))) }
            let input = try segment(header) + "." + segment(payload)
            let signature = try (signer ?? key).signature(for: Data(input.utf8))
            return input + "." + Base64URL.encode(Array(signature))
        }
    }

    @Test(arguments: Engine.available)
    func aLinkedPartnerCodeIsDecidedAsTheCard(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a holder with a card, a library and a museum, and a partner whose code may open the library only
            try await h.seedCatalogue()
            try await h.createBank()
            let (holder, person, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "771"))
            let (other, _, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "772"), name: "李四")
            let library = try await h.createVenue(type: "library", region: "110101", items: ["JJJ-LIB-001"]).1
            let museum = try await h.createVenue(type: "museum", region: "110101", items: ["11-MUS-001"]).1
            let clock = h.clock
            let partner = Partner(code: "BJ-JINGTONG", clock: { clock.read() })
            let registration: [String: Any] = ["code": partner.code, "name": "京通", "jwks": partner.jwks, "itemCodes": ["JJJ-LIB-001", "11-MUS-001"]]

            // Only an administrator registers; keys that are not Ed25519 signing keys and items not in the catalogue are refused.
            #expect(try await h.call(.post, "/api/v1/code-issuers", token: holder, json: registration).status == 403)
            var badKeys = registration; badKeys["jwks"] = ["keys": [["kty": "RSA", "n": "AQAB", "e": "AQAB"]]]
            #expect(try await h.call(.post, "/api/v1/code-issuers", token: h.admin, json: badKeys).code == "invalid_jwks")
            var badItems = registration; badItems["itemCodes"] = ["NO-SUCH-ITEM"]
            #expect(try await h.call(.post, "/api/v1/code-issuers", token: h.admin, json: badItems).code == "item_not_in_catalogue")
            let registered = try await h.call(.post, "/api/v1/code-issuers", token: h.admin, json: registration)
            #expect(registered.status == 201, "\(registered)")
            #expect(try await h.call(.post, "/api/v1/code-issuers", token: h.admin, json: registration).code == "code_issuer_exists")
            // The museum is taken off the partner's items: its code then opens the library only.
            #expect(try await h.call(.patch, "/api/v1/code-issuers/\(partner.code)", token: h.admin, json: ["itemCodes": ["JJJ-LIB-001"]]).status == 200)
            let listed = try await h.call(.get, "/api/v1/code-issuers")["issuers"] as? [[String: Any]] ?? []
            #expect(listed.count == 1 && (listed.first?["itemCodes"] as? [String]) == ["JJJ-LIB-001"], "\(listed)")

            func present(_ token: String, at key: String = library, item: String = "JJJ-LIB-001", idempotency: String = UUID().uuidString) async throws -> Reply {
                try await h.accept(key: key, item: item, credential: ["kind": "partner_qr", "issuer": partner.code, "token": token], idempotency: idempotency)
            }

            // Not linked yet: refused, and nothing is known of the account.
            #expect(try await present(partner.token(sub: "acct-001")).string("reason") == "code_not_linked")

            // Linking needs a token that proves the account: a forged or expired one is refused.
            let forged = try partner.token(sub: "acct-001", signer: Curve25519.Signing.PrivateKey())
            #expect(try await h.call(.post, "/api/v1/me/linked-codes", token: holder, json: ["issuer": partner.code, "token": forged]).code == "partner_token_invalid")
            let expired = try partner.token(sub: "acct-001", lifetime: -120)
            #expect(try await h.call(.post, "/api/v1/me/linked-codes", token: holder, json: ["issuer": partner.code, "token": expired]).code == "partner_token_invalid")
            #expect(try await h.call(.post, "/api/v1/me/linked-codes", token: holder, json: ["issuer": "NO-SUCH", "token": partner.token(sub: "acct-001")]).code == "code_issuer_not_found")
            let linked = try await h.call(.post, "/api/v1/me/linked-codes", token: holder, json: ["issuer": partner.code, "token": partner.token(sub: "acct-001")])
            #expect(linked.status == 201 && linked.string("accountMasked") != "acct-001", "\(linked)")
            let linkId = try #require(linked.string("linkId"))
            // Again: the same link; the account for someone else, or a second account of the holder there: refused.
            let again = try await h.call(.post, "/api/v1/me/linked-codes", token: holder, json: ["issuer": partner.code, "token": partner.token(sub: "acct-001")])
            #expect(again.status == 201 && again.string("linkId") == linkId)
            #expect(try await h.call(.post, "/api/v1/me/linked-codes", token: other, json: ["issuer": partner.code, "token": partner.token(sub: "acct-001")]).code == "code_already_linked")
            #expect(try await h.call(.post, "/api/v1/me/linked-codes", token: holder, json: ["issuer": partner.code, "token": partner.token(sub: "acct-002")]).code == "code_already_linked")

            // the action: the partner's code at the library is accepted as the card, with the holder's entitlements
            let code = try partner.token(sub: "acct-001")
            let accepted = try await present(code, idempotency: "p-1")
            #expect(accepted.string("decision") == "accepted", "\(accepted)")
            // The same presentation again answers the same; the same code at the same item again is a replay.
            #expect(try await present(code, idempotency: "p-1").string("useId") == accepted.string("useId"))
            #expect(try await present(code).string("reason") == "token_replayed")
            // Not for the museum (not one of its items), nor signed by another key, nor expired, nor of a Ed25519 alg name.
            #expect(try await present(partner.token(sub: "acct-001"), at: museum, item: "11-MUS-001").string("reason") == "card_form_not_allowed")
            #expect(try await present(partner.token(sub: "acct-001", signer: Curve25519.Signing.PrivateKey())).string("reason") == "token_invalid")
            #expect(try await present(partner.token(sub: "acct-001", lifetime: -120)).string("reason") == "token_expired")
            #expect(try await present(partner.token(sub: "acct-001", lifetime: 3600)).string("reason") == "token_invalid")
            #expect(try await present(partner.token(sub: "acct-001", iss: "BJ-OTHER")).string("reason") == "token_invalid")
            #expect(try await present(partner.token(sub: "acct-001", jti: nil, alg: "Ed25519")).string("decision") == "accepted")

            // validate: the holder sees the use with its kind; the links and each step are audited
            let uses = try await h.call(.get, "/api/v1/me/uses", token: holder)["uses"] as? [[String: Any]] ?? []
            #expect(uses.filter { $0["kind"] as? String == "partner_qr" && $0["decision"] as? String == "accepted" }.count == 2, "\(uses)")
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(audit.contains { $0.action == "code_linked" })

            // The card reported lost: the partner's code is refused as the card would be.
            #expect(try await h.call(.post, "/api/v1/me/report-loss", token: holder, json: ["kind": "temporary"]).status == 200)
            #expect(try await present(partner.token(sub: "acct-001")).string("reason") == "card_lost")

            // A suspended partner's codes open nothing; unlinked, the code is not linked any more.
            #expect(try await h.call(.patch, "/api/v1/code-issuers/\(partner.code)", token: h.admin, json: ["status": "suspended"]).status == 200)
            #expect(try await present(partner.token(sub: "acct-001")).string("reason") == "unknown_issuer")
            #expect(try await h.call(.patch, "/api/v1/code-issuers/\(partner.code)", token: h.admin, json: ["status": "active"]).status == 200)
            #expect(try await h.call(.delete, "/api/v1/me/linked-codes/\(linkId)", token: other).code == "linked_code_not_found")
            #expect(try await h.call(.delete, "/api/v1/me/linked-codes/\(linkId)", token: holder).status == 200)
            #expect(try await h.call(.delete, "/api/v1/me/linked-codes/\(linkId)", token: holder).code == "linked_code_not_found")
            #expect(try await present(partner.token(sub: "acct-001")).string("reason") == "code_not_linked")
            let links = try await h.call(.get, "/api/v1/me/linked-codes", token: holder)["links"] as? [[String: Any]] ?? []
            #expect(links.count == 1 && links.first?["unlinkedAt"] is String, "\(links)")
            // The account is sealed at rest.
            let stored = try await h.services.store.read { s in try await s.db.raw("SELECT account_enc FROM linked_codes").all() }
            let sealed = try stored.map { try $0.decode(column: "account_enc", as: String.self) }
            #expect(sealed.count == 1 && !sealed[0].contains("acct-001"))
        }
    }

    @Test func partnerKeysAndTokens() throws {
        // Several keys need distinct kids; an encryption key is no signing key.
        let x = Base64URL.encode(Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation))
        #expect(throws: DomainError.self) { try PartnerKey.parse(.init(keys: [.init(x: x), .init(x: x)])) }
        #expect(throws: DomainError.self) { try PartnerKey.parse(.init(keys: [.init(x: x, use: "enc")])) }
        #expect(throws: DomainError.self) { try PartnerKey.parse(.init(keys: [.init(x: "AAAA")])) }
        #expect(throws: DomainError.self) { try PartnerKey.parse(.init(keys: [])) }
        #expect(try PartnerKey.parse(.init(keys: [.init(x: x, kid: "a"), .init(x: x, kid: "b")])).count == 2)
        // A token with no kid is taken when the issuer has one key; not when several.
        var partner = Partner(code: "SH-SUISHEN"); partner.kid = nil
        let key = PartnerKey(kid: nil, x: Base64URL.encode(Array(partner.key.publicKey.rawRepresentation)))
        let now = Date()
        let one = CodeIssuer(code: partner.code, name: "随申办", keys: [key], itemCodes: ["X"], registeredAt: now, changedAt: now)
        guard case .valid(let claims) = PartnerToken.verify(try partner.token(sub: "u1", jti: nil), issuer: one, at: now) else { Issue.record("not valid"); return }
        #expect(claims.sub == "u1" && claims.id.count == 64)
        var two = one; two.keys = [PartnerKey(kid: "a", x: key.x), PartnerKey(kid: "b", x: key.x)]
        #expect(PartnerToken.verify(try partner.token(sub: "u1"), issuer: two, at: now) == .denied(.tokenInvalid))
        var suspended = one; suspended.status = .suspended
        #expect(PartnerToken.verify(try partner.token(sub: "u1"), issuer: suspended, at: now) == .denied(.unknownIssuer))
        #expect(PartnerToken.verify(try partner.token(sub: "u1"), issuer: nil, at: now) == .denied(.unknownIssuer))
        #expect(PartnerToken.verify("a.b", issuer: one, at: now) == .denied(.tokenInvalid))
    }
}
