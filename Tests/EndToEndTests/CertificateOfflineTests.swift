import Foundation
import OneCardCore
import Testing

/// A revoked certificate reaches an offline gate through the revocation feed (issue 15): a QR code opened before the
/// revocation is listed by `jti` and refused `token_revoked`; a fresh code no longer carries the code, and an item that
/// requires it is refused `concession_not_held` by the gate itself.
@Suite("End to end: a revoked certificate at an offline gate", .serialized)
struct CertificateOfflineTests {
    @Test func aRevokedCertificateIsRefusedOfflineAfterTheFeed() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        // setup: the demo node; a disabled persons' federation user; a park item for certificate holders at a park venue
        let node = try EndToEndTests.Server(["serve", "--port", "0", "--demo", "--data-dir", dir.appendingPathComponent("node").path])
        let base = try await node.baseURL()
        let http = EndToEndTests.HTTP(base: base)
        let admin = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "admin", "password": "admin-demo-2026"]).1["accessToken"] as? String)
        let user = try await http.call("POST", "/api/v1/users", token: admin, json: ["username": "canlian", "password": "federation-pass-1", "role": "department",
                                                                                    "scope": "disabled_persons_federation"])
        #expect(user.0 == 201, "\(user)")
        let federation = try #require(try await http.call("POST", "/api/v1/auth/token", json: ["username": "canlian", "password": "federation-pass-1"]).1["accessToken"] as? String)
        let item: [String: Any] = ["code": "11-PARK-DIS", "name": "残疾人免费游园", "domain": "tourism", "scenario": "残疾人凭社保卡免费入园",
                                   "cardForms": ["electronic", "physical"], "level": "municipal", "regions": ["110000"], "issuers": ["*"],
                                   "venueTypes": ["park"], "legalBasis": "北京市实施《残疾人保障法》办法 第四十一条", "effectiveFrom": "2020-01-01",
                                   "requires": ["disability"]]
        #expect(try await http.call("POST", "/api/v1/catalogue/items", token: admin, json: ["item": item]).0 == 201)
        #expect(try await http.call("POST", "/api/v1/catalogue/publish", token: admin).0 == 200)
        let body = "12110105MB0000009"
        let venue = try await http.call("POST", "/api/v1/venues", token: admin, json: [
            "name": "北海公园", "operatorUscc": body + String(UnifiedSocialCreditCode.checkCharacter(for: Array(body))!), "type": "park",
            "regionCode": "110102", "address": "文津街1号", "accessibility": [], "unifiedLogo": true, "itemCodes": ["11-PARK-DIS"]])
        let venueId = try #require(venue.1["venueId"] as? String, "\(venue)")
        let key = try #require(try await http.call("POST", "/api/v1/venues/\(venueId)/terminals", token: admin).1["apiKey"] as? String)
        // A demo holder with an e-card and a grade-3 physical disability certificate.
        let idNumber = try #require(EndToEndTests.DemoIDs.first(in: node.text))
        let holder = try #require(try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": idNumber, "password": "holder-demo-1"]).1["accessToken"] as? String)
        _ = try await http.call("POST", "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone"])
        let person = try #require(try await http.call("GET", "/api/v1/me/card", token: holder).1["personId"] as? String)
        let loaded = try await http.call("POST", "/api/v1/persons/\(person)/certificates", token: federation,
                                         json: ["type": "disability", "number": idNumber + "43", "category": 4, "grade": 3, "validFrom": "2020-01-01"])
        let certificate = try #require(loaded.1["certificateId"] as? String, "\(loaded)")
        func qr() async throws -> String { try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: holder).1["token"] as? String) }
        let shown = try await qr(), stale = try await qr()

        let gate = try OfflineTerminalTests.Gate(["terminal", "--node", base, "--key", key, "--item", "11-PARK-DIS",
                                                  "--store", dir.appendingPathComponent("gate.sqlite").path, "--interval", "0.5"])
        try await Task.sleep(for: .milliseconds(800))
        gate.send(shown)
        #expect(try await gate.decision(1).contains(#""decision":"accepted""#), "\(gate.server.text)")

        // the action: the federation revokes the certificate; the gate syncs the feed
        #expect(try await http.call("DELETE", "/api/v1/persons/\(person)/certificates/\(certificate)", token: federation).0 == 200)
        try await Task.sleep(for: .seconds(2))

        // validate: the code opened before is refused by its jti; a fresh one lacks the entitlement the item requires
        gate.send(stale)
        #expect(try await gate.decision(2).contains(#""reason":"token_revoked""#), "\(gate.server.text)")
        gate.send(try await qr())
        #expect(try await gate.decision(3).contains(#""reason":"concession_not_held""#), "\(gate.server.text)")
        try gate.input.fileHandleForWriting.close()
        #expect(try await gate.server.waitForExit() == 0)
        #expect(gate.server.text.contains("0 decision(s) still to upload"), "\(gate.server.text)")
        #expect(try await node.terminate() == 0)
    }
}
