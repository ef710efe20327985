import Foundation
import OneCardCore
import OneCardTestSupport
import OneCardVerifier
import Testing
@testable import OneCardServer

@Suite("E-card, QR tokens, trust list and revocations over HTTP")
struct ECardAPITests {
    func verifier(_ h: Harness) async throws -> QRVerifier {
        let jwks = try await h.call(.get, "/api/v1/trust/jwks")
        return try QRVerifier(trustListJSON: jwks.body)
    }

    @Test(arguments: Engine.available)
    func aHolderGetsAnECardAndQRTokensAVenueVerifiesOffline(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a signed-in holder with an active card
            try await h.createBank()
            let (holder, person, number) = try await h.holderWithCard(idNumber: TestIDs.resident(birth: "19600101", sequence: "555"))
            #expect(try await h.call(.post, "/api/v1/me/ecard/qr", token: holder).code == "no_ecard")
            let issued = try await h.call(.post, "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-1"])
            #expect(issued.status == 201 && issued.string("status") == "active" && issued.string("ecardId") != nil, "\(issued)")

            let qr = try await h.call(.post, "/api/v1/me/ecard/qr", token: holder)
            let token = try #require(qr.string("token"))
            #expect(qr.string("expiresAt") == Timestamp.format(Harness.start.addingTimeInterval(60)))
            let parts = token.split(separator: ".")
            #expect(parts.count == 3)
            let header = try #require(Base64URL.decode(parts[0]))
            #expect(try JSONSerialization.jsonObject(with: Data(header)) as? [String: String] == [
                "alg": "EdDSA", "kid": h.services.signingKeys.ring.current.kid, "typ": "onecard-qr+jwt",
            ])
            let claims = try #require(try JSONSerialization.jsonObject(with: Data(Base64URL.decode(parts[1])!)) as? [String: Any])
            #expect(claims["iss"] as? String == "110000")
            #expect(claims["ent"] as? [String] == ["elderly", "elderly_65"])  // 66 years old on the day
            #expect(claims["exp"] as? Int == (claims["iat"] as? Int ?? 0) + 60)
            let sub = try #require(claims["sub"] as? String)
            #expect(!sub.contains(number) && !token.contains(number) && !token.contains(TestIDs.resident(birth: "19600101", sequence: "555")))
            // The issuing node finds the card again from the pseudonym.
            let decoded = try JSONDecoder().decode(QRClaims.self, from: Data(Base64URL.decode(parts[1])!))
            #expect(try h.services.ecards.tokens.card(of: decoded).rawValue == number)
            _ = person

            // A venue with only the trust list accepts it once.
            let v = try await verifier(h)
            #expect(v.verify(token, at: Harness.start.addingTimeInterval(5)).isValid)
            #expect(v.verify(token, at: Harness.start.addingTimeInterval(6)) == .denied(.tokenReplayed))
            // A second token has an unrelated pseudonym.
            let second = try #require(try await h.call(.post, "/api/v1/me/ecard/qr", token: holder).string("token"))
            let secondSub = try JSONSerialization.jsonObject(with: Data(Base64URL.decode(second.split(separator: ".")[1])!)) as? [String: Any]
            #expect(secondSub?["sub"] as? String != sub)
            #expect(v.verify(second, at: Harness.start.addingTimeInterval(200)) == .denied(.tokenExpired))

            // Binding another device is recorded.
            #expect(try await h.call(.post, "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-2"]).string("deviceId") == "phone-2")
            #expect(try await h.eventTypes(number).suffix(2) == ["ecard_issued", "ecard_device_changed"])
            #expect(try await h.call(.post, "/api/v1/me/ecard", token: holder, json: ["deviceId": ""]).code == "invalid_field")
        }
    }

    @Test(arguments: Engine.available)
    func theECardNeedsAnActiveCard(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let idNumber = TestIDs.resident(sequence: "666")
            _ = try await h.issuedCard(idNumber: idNumber)
            let holder = try await h.signUpHolder(idNumber: idNumber)
            let r = try await h.call(.post, "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-1"])
            #expect(r.status == 409 && r.code == "card_not_active", "\(r)")
            #expect(try await h.count("ecards") == 0)
        }
    }

    @Test(arguments: Engine.available)
    func aLossReportSuspendsTheECardAndRevokesTokensInFlight(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a signed-in holder with an active card
            try await h.createBank()
            let (holder, _, number) = try await h.holderWithCard()
            _ = try await h.call(.post, "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-1"])
            let inFlight = try #require(try await h.call(.post, "/api/v1/me/ecard/qr", token: holder).string("token"))
            let jti = try #require(try JSONSerialization.jsonObject(with: Data(Base64URL.decode(inFlight.split(separator: ".")[1])!)) as? [String: Any])["jti"] as? String

            let before = try await h.call(.get, "/api/v1/trust/revocations?since=0")
            let seq0 = try #require(before["seq"] as? Int)
            _ = try await h.call(.post, "/api/v1/me/report-loss", token: holder, json: ["kind": "temporary"])
            #expect(try await h.call(.get, "/api/v1/me/ecard", token: holder).string("status") == "suspended")
            let refused = try await h.call(.post, "/api/v1/me/ecard/qr", token: holder)
            #expect(refused.status == 409 && refused.code == "card_not_active", "\(refused)")
            #expect(try await h.call(.get, "/api/v1/me/ecard/qr.png", token: holder).code == "card_not_active")

            let delta = try await h.call(.get, "/api/v1/trust/revocations?since=\(seq0)")
            let entries = delta["entries"] as? [[String: Any]] ?? []
            #expect(entries.contains { $0["cardHash"] as? String == (try? CardNumber(number))?.hash && $0["status"] as? String == "temporarily_lost" })
            #expect(entries.contains { $0["jti"] as? String == jti && $0["status"] as? String == "temporarily_lost" })
            #expect((delta["seq"] as? Int ?? 0) > seq0)
            #expect((try await h.call(.get, "/api/v1/trust/revocations?since=\(delta["seq"] as? Int ?? 0)")["entries"] as? [Any])?.isEmpty == true)

            // A terminal that took the signed list from any mirror refuses the token in flight.
            let v = try await verifier(h)
            let signed = try await h.call(.get, "/api/v1/trust/revocations.jws?since=0")
            #expect(signed.contentType == "application/jose")
            #expect(try v.apply(signedRevocations: String(decoding: signed.body, as: UTF8.self)))
            #expect(v.verify(inFlight, at: Harness.start.addingTimeInterval(1)) == .denied(.tokenRevoked))
            #expect(v.revocation(ofCard: try CardNumber(number)) == .temporarilyLost)

            // Unlocking resumes the e-card and publishes the card as active again.
            _ = try await h.call(.post, "/api/v1/cards/\(number)/unlock", token: h.agent)
            #expect(try await h.call(.get, "/api/v1/me/ecard", token: holder).string("status") == "active")
            #expect(try await h.call(.post, "/api/v1/me/ecard/qr", token: holder).status == 200)
            let after = try await h.call(.get, "/api/v1/trust/revocations?since=\(delta["seq"] as? Int ?? 0)")
            #expect((after["entries"] as? [[String: Any]])?.last?["status"] as? String == "active")
            #expect(try await h.eventTypes(number).suffix(4) == ["loss_reported_temporary", "ecard_suspended", "card_unlocked", "ecard_resumed"])
            #expect(try await h.call(.get, "/api/v1/trust/revocations?since=-1").code == "invalid_value")
        }
    }

    @Test(arguments: Engine.available)
    func theSnapshotIsTheWholeListAGateLoadsFromEmpty(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: one card lost then found, one lost with a token in flight
            try await h.createBank()
            let (found, _, n1) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "701"))
            let (lost, _, n2) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "702"))
            _ = try await h.call(.post, "/api/v1/me/ecard", token: lost, json: ["deviceId": "phone-2"])
            let inFlight = try #require(try await h.call(.post, "/api/v1/me/ecard/qr", token: lost).string("token"))
            let claims = try #require(try JSONSerialization.jsonObject(with: Data(Base64URL.decode(inFlight.split(separator: ".")[1])!)) as? [String: Any])
            let jti = try #require(claims["jti"] as? String)
            #expect(try await h.call(.post, "/api/v1/me/report-loss", token: found, json: ["kind": "temporary"]).status == 200)
            #expect(try await h.call(.post, "/api/v1/cards/\(n1)/unlock", token: h.agent).status == 200)
            #expect(try await h.call(.post, "/api/v1/me/report-loss", token: lost, json: ["kind": "temporary"]).status == 200)

            // action
            let r = try await h.call(.get, "/api/v1/trust/revocations/snapshot")

            // validate: a gate with only the trust list verifies and loads it, complete up to the list's head
            #expect(r.status == 200 && r.contentType == "application/vnd.onecard.revocation-snapshot", "\(r)")
            let delta = try await h.call(.get, "/api/v1/trust/revocations?since=0")
            let gate = try await verifier(h)
            let (applied, header) = try gate.applySnapshot([UInt8](r.body))
            #expect(applied && header.iss == "110000" && header.cards == 1)
            #expect(header.seq == Int64(delta["seq"] as? Int ?? -1))
            #expect(gate.revocation(ofCard: try CardNumber(n2)) == .temporarilyLost)
            #expect(gate.revocation(ofCard: try CardNumber(n1)) == nil)
            #expect(gate.revocation(ofToken: jti) == .temporarilyLost)
            #expect(gate.verify(inFlight, at: Harness.start.addingTimeInterval(1)) == .denied(.tokenRevoked))
            // the next delta after its seq is empty; the list read in pages of one entry makes the same table
            #expect((try await h.call(.get, "/api/v1/trust/revocations?since=\(header.seq)")["entries"] as? [Any])?.isEmpty == true)
            let paged = try await h.services.ecards.makeRevocationSnapshot(page: 1)
            #expect(paged.split(separator: 0x0A, maxSplits: 1).last == [UInt8](r.body).split(separator: 0x0A, maxSplits: 1).last)
            // a loss after it: a gate asking within 30 s gets the same snapshot, and the loss in the delta after its seq
            #expect(try await h.call(.post, "/api/v1/me/report-loss", token: found, json: ["kind": "temporary"]).status == 200)
            h.clock.advance(by: 29)
            #expect(try await h.call(.get, "/api/v1/trust/revocations/snapshot").body == r.body)
            let next = try await h.call(.get, "/api/v1/trust/revocations?since=\(header.seq)")["entries"] as? [[String: Any]] ?? []
            #expect(next.contains { $0["cardHash"] as? String == (try? CardNumber(n1))?.hash && $0["status"] as? String == "temporarily_lost" })
            // 30 s after it was made, the next gate gets a new one that holds the loss
            h.clock.advance(by: 1)
            let newer = try await h.call(.get, "/api/v1/trust/revocations/snapshot")
            let later = try await verifier(h)
            let (_, newerHeader) = try later.applySnapshot([UInt8](newer.body))
            #expect(newer.body != r.body && newerHeader.seq > header.seq && newerHeader.cards == 2)
            #expect(later.revocation(ofCard: try CardNumber(n1)) == .temporarilyLost)
            // a copy altered on the way is refused and changes nothing
            let fresh = try await verifier(h)
            var altered = [UInt8](r.body)
            altered[altered.count - 40] ^= 1
            #expect(throws: RevocationSnapshot.Failure.badSignature) { try fresh.apply(snapshot: altered) }
            #expect(!fresh.hasRevocationList)
            #expect(fresh.revocation(ofCard: try CardNumber(n2)) == nil)
            // the OpenAPI document names it with its media type
            let openapi = String(decoding: try await h.call(.get, "/openapi.json").body, as: UTF8.self)
            #expect(openapi.contains("/api/v1/trust/revocations/snapshot") && openapi.contains("application/vnd.onecard.revocation-snapshot"))
        }
    }

    @Test(arguments: Engine.available)
    func aReplacementCardTakesOverTheECardOnceActivated(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a signed-in holder with an active card
            try await h.createBank()
            let (holder, _, old) = try await h.holderWithCard()
            _ = try await h.call(.post, "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-1"])
            let new = try #require(try await h.call(.post, "/api/v1/cards/\(old)/replace", token: h.agent, json: ["reason": "damaged"]).string("cardNumber"))
            #expect(try await h.call(.get, "/api/v1/me/ecard", token: holder).string("status") == "suspended")
            #expect(try await h.call(.post, "/api/v1/me/ecard/qr", token: holder).code == "card_not_active")
            _ = try await h.call(.post, "/api/v1/cards/\(new)/activate", token: h.agent, json: ["pin": "112233"])
            let e = try await h.call(.get, "/api/v1/me/ecard", token: holder)
            #expect(e.string("status") == "active" && e.string("cardNumber") == new, "\(e)")
            #expect(try await h.call(.post, "/api/v1/me/ecard/qr", token: holder).status == 200)
            #expect(try await h.eventTypes(new).contains("ecard_rebound"))
            let revoked = try await h.call(.get, "/api/v1/trust/revocations")["entries"] as? [[String: Any]] ?? []
            #expect(revoked.contains { $0["cardHash"] as? String == (try? CardNumber(old))?.hash && $0["status"] as? String == "replaced" })
        }
    }

    @Test func theQRImageDecodesToTheExactToken() async throws {
        try await Harness.run(.sqlite) { h in
            // setup: a signed-in holder with an active card
            try await h.createBank()
            let (holder, _, _) = try await h.holderWithCard()
            _ = try await h.call(.post, "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-1"])
            let png = try await h.call(.get, "/api/v1/me/ecard/qr.png", token: holder)
            #expect(png.status == 200 && png.contentType == "image/png")
            #expect(png.body.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            let svg = try await h.call(.get, "/api/v1/me/ecard/qr.svg", token: holder)
            #expect(svg.contentType == "image/svg+xml" && String(decoding: svg.body, as: UTF8.self).hasPrefix("<svg"))

            // An independent reader (zbar) gets back exactly a token the node issued and a verifier accepts.
            guard let decoded = try await ZBar.decode(png.body) else { return }
            // Said in full when it fails (once, on a loaded machine, not reproduced): why, and the keys published then.
            let jwks = try await h.call(.get, "/api/v1/trust/jwks")
            let decision = try QRVerifier(trustListJSON: jwks.body).verify(decoded, at: Harness.start)
            #expect(decision.isValid, "\(decision) for \(decoded) (\(decoded.utf8.count) bytes), keys \(String(decoding: jwks.body, as: UTF8.self))")
            let code = try QRCode("hello OneCard 一卡通")
            #expect(try await ZBar.decode(code.png()) == "hello OneCard 一卡通")
        }
    }

    @Test func rotationKeepsTheOldKeyUntilItsTokensExpire() async throws {
        try await Harness.run(.sqlite) { h in
            // setup: a signed-in holder with an active card
            try await h.createBank()
            let (holder, _, _) = try await h.holderWithCard()
            _ = try await h.call(.post, "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-1"])
            let oldToken = try #require(try await h.call(.post, "/api/v1/me/ecard/qr", token: holder).string("token"))
            let oldKid = h.services.signingKeys.ring.current.kid
            var ring = h.services.signingKeys.ring
            ring.rotate(at: Harness.start)
            try ring.save(in: h.services.signingKeys.directory)
            try await Task.sleep(for: .milliseconds(2_100))  // the running node rereads the key file
            let keys = (try await h.call(.get, "/api/v1/trust/jwks")["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
            #expect(keys.count == 2 && keys.contains(oldKid) && keys.first != oldKid, "\(keys)")
            let newToken = try #require(try await h.call(.post, "/api/v1/me/ecard/qr", token: holder).string("token"))
            #expect(newToken.split(separator: ".")[0] != oldToken.split(separator: ".")[0])
            let v = try await verifier(h)
            #expect(v.verify(oldToken, at: Harness.start.addingTimeInterval(10)).isValid)
            #expect(v.verify(newToken, at: Harness.start.addingTimeInterval(10)).isValid)
            // After the old key's window its public key leaves the list.
            h.clock.advance(by: 120)
            let later = (try await h.call(.get, "/api/v1/trust/jwks")["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
            #expect(later == [keys.first!])
        }
    }
}

/// Decodes a QR image with zbarimg (Debian's zbar-tools). Returns nil when zbarimg is missing, unless
/// the test command requires it (`ONECARD_REQUIRE_ZBAR=1`), in which case that is a failure.
enum ZBar {
    static func decode(_ png: Data) async throws -> String? {
        let path = ["/usr/bin/zbarimg", "/usr/local/bin/zbarimg"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            if ProcessInfo.processInfo.environment["ONECARD_REQUIRE_ZBAR"] == "1" { Issue.record("zbarimg is required but missing") }
            return nil
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString).png")
        try png.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try await ChildProcess.collect(URL(fileURLWithPath: path), ["--quiet", "--raw", "-Sbinary", file.path], separateErrors: true)
        #expect(r.status == 0)
        var text = String(decoding: r.output, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
