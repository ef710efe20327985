import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import Testing

/// A holder's QR code checked the ways a venue would: `onecard verify-qr` offline, and an independent
/// JOSE implementation (Python joserfc) against the published JWKS.
@Suite("End to end: QR codes verified offline and by another JOSE library", .serialized)
struct QRInteropTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs python3 with the interop script; nil when joserfc is missing and not required.
    static func joserfc(jwks: String, token: String) async throws -> (Int32, String)? {
        let (status, data, _) = try await ChildProcess.collect(URL(fileURLWithPath: "/usr/bin/env"),
                                                               ["python3", "-W", "ignore", root.appendingPathComponent("Tests/Interop/verify_jws.py").path, jwks, token])
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("No module named 'joserfc'") {
            if ProcessInfo.processInfo.environment["ONECARD_REQUIRE_JOSE"] == "1" { Issue.record("joserfc is required but missing") }
            return nil
        }
        return (status, text)
    }

    @Test func aHoldersQRCodeIsVerifiedOfflineAndByAnIndependentLibrary() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-qr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataDir = dir.appendingPathComponent("data").path
        let server = try EndToEndTests.Server(["serve", "--port", "0", "--demo", "--data-dir", dataDir])
        let http = EndToEndTests.HTTP(base: try await server.baseURL())
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGTERM) : 0 }

        // setup: the elderly demo resident signs in and binds an e-card
        let idNumber = try #require(EndToEndTests.DemoIDs.first(in: server.text))
        let holder = try #require(try await http.call("POST", "/api/v1/auth/holder-token", json: ["idNumber": idNumber, "password": "holder-demo-1"]).1["accessToken"] as? String)
        #expect(try await http.call("POST", "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-e2e"]).0 == 201)
        let token = try #require(try await http.call("POST", "/api/v1/me/ecard/qr", token: holder).1["token"] as? String)
        let jwksFile = dir.appendingPathComponent("jwks.json")
        let (jwksData, _) = try await URLSession.shared.data(from: URL(string: http.base + "/api/v1/trust/jwks")!)
        try jwksData.write(to: jwksFile)

        // An independent JOSE implementation verifies it against the published JWKS.
        if let (status, output) = try await Self.joserfc(jwks: jwksFile.path, token: token) {
            #expect(status == 0, "\(output)")
            #expect(output.contains(#""typ": "onecard-qr+jwt""#) && output.contains(#""ent": ["elderly", "elderly_65", "elderly_70"]"#), "\(output)")  // born 1952
            var tampered = Array(token)
            let i = token.firstIndex(of: ".")!.utf16Offset(in: token) + 5
            tampered[i] = tampered[i] == "A" ? "B" : "A"
            #expect(try await Self.joserfc(jwks: jwksFile.path, token: String(tampered))?.0 == 1)
        }

        // onecard verify-qr: valid now, expired later, invalid when tampered.
        let valid = try await EndToEndTests.run(["verify-qr", "--trust", jwksFile.path, token])
        #expect(valid.status == 0 && valid.output.contains(#""decision":"valid""#), "\(valid.output)")
        let expired = try await EndToEndTests.run(["verify-qr", "--trust", jwksFile.path, "--at", Timestamp.format(Date().addingTimeInterval(600)), token])
        #expect(expired.status == 1 && expired.output.contains("token_expired"), "\(expired.output)")
        let forged = try await EndToEndTests.run(["verify-qr", "--trust", jwksFile.path, String(token.dropLast(2)) + (token.hasSuffix("AA") ? "BB" : "AA")])
        #expect(forged.status == 1 && forged.output.contains("token_invalid"), "\(forged.output)")

        // A loss report stops new codes at once and shows up in the next revocation delta.
        _ = try await http.call("POST", "/api/v1/me/report-loss", token: holder, json: ["kind": "temporary"])
        #expect(try await http.call("POST", "/api/v1/me/ecard/qr", token: holder).0 == 409)
        let (signed, _) = try await URLSession.shared.data(from: URL(string: http.base + "/api/v1/trust/revocations.jws?since=0")!)
        let revocations = dir.appendingPathComponent("revocations.jws")
        try signed.write(to: revocations)
        let revoked = try await EndToEndTests.run(["verify-qr", "--trust", jwksFile.path, "--revocations", revocations.path, token])
        #expect(revoked.status == 1 && revoked.output.contains("token_revoked"), "\(revoked.output)")

        // keys rotate: the running node picks up the new key; the old one stays published.
        let rotated = try await EndToEndTests.run(["keys", "rotate", "--data-dir", dataDir])
        #expect(rotated.status == 0 && rotated.output.contains("rotated"), "\(rotated.output)")
        // (the node looks at the key file at most every two seconds)
        var keys: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(15)
        while keys.count < 2, Date() < deadline {
            try await Task.sleep(for: .milliseconds(500))
            keys = try await http.call("GET", "/api/v1/trust/jwks").1["keys"] as? [[String: Any]] ?? []
        }
        #expect(keys.count == 2, "\(keys)")
        #expect(try await server.terminate() == 0)
    }
}
