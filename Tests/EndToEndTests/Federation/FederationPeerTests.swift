import Foundation
import OneCardCore
import Testing

/// A real node's signed request, checked by an independent RFC 9421 implementation: a Python stand-in hub
/// (Tests/Interop/fake_hub.py, PyPI http-message-signatures) is the node's `--hub`, records the first request the
/// node sends, headers and body, and verifies it against the node's public key from `onecard keys show`.
extension EndToEndTests.Server {
    /// The rest of the first output line starting with `prefix`, waiting up to `timeout` (nil if none came or the process ended).
    func line(_ prefix: String, timeout: TimeInterval) async throws -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let l = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(l.dropFirst(prefix.count)) }
            guard Date() < deadline, process.isRunning else { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

@Suite("Federation: a Python peer verifies what a node really sends", .serialized)
struct FederationPeerTests {
    static let script = QRInteropTests.root.appendingPathComponent("Tests/Interop/fake_hub.py").path

    @Test func aPythonHubVerifiesTheSignatureOfTheFirstRequestANodeSendsIt() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-fed-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let nodeDir = dir.appendingPathComponent("node").path

        // setup: the node's federation key as its administrator would hand it over
        let shown = try await EndToEndTests.run(["keys", "show", "--data-dir", nodeDir])
        #expect(shown.status == 0, "\(shown.output)")
        let shownJSON = (try? JSONSerialization.jsonObject(with: Data(shown.output.utf8))) as? [String: Any]
        let publicKey = try #require((shownJSON?["federationKey"] as? [String: Any])?["x"] as? String, "\(shown.output)")

        // the stand-in hub (`--public-key=…` in one argument: a base64url key may begin with '-', which argparse would
        // take for an option — one run in 64 failed so)
        let peer = try EndToEndTests.Server(["python3", "-W", "ignore", Self.script, "--public-key=\(publicKey)", "--keyid", "110000"],
                                            executable: URL(fileURLWithPath: "/usr/bin/env"))
        defer { if peer.process.isRunning { kill(peer.process.processIdentifier, SIGKILL) } }
        guard let hubURL = try await peer.line("fake hub listening on ", timeout: 20) else {
            if peer.text.contains("No module named 'http_message_signatures'") {
                if ProcessInfo.processInfo.environment["ONECARD_REQUIRE_HTTPSIG"] == "1" { Issue.record("http-message-signatures is required but missing") }
                return
            }
            Issue.record("the stand-in hub did not start: \(peer.text)")
            return
        }
        // Any hub key will do: the node's request is what is checked, not the stand-in's answer.
        let hubKey = try await EndToEndTests.run(["keys", "show", "--data-dir", dir.appendingPathComponent("some-hub").path])
        let hubKeyFile = dir.appendingPathComponent("hub-key.json").path
        try hubKey.output.write(toFile: hubKeyFile, atomically: true, encoding: .utf8)
        let personKeyFile = dir.appendingPathComponent("person.key").path
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString().write(toFile: personKeyFile, atomically: true, encoding: .utf8)

        // the node joins the stand-in hub
        let node = try EndToEndTests.Server(["serve", "--region", "110000", "--port", "0", "--data-dir", nodeDir, "--hub", hubURL,
                                             "--hub-key", "@" + hubKeyFile, "--person-key", "@" + personKeyFile, "--federation-interval", "0.2"])
        defer { if node.process.isRunning { kill(node.process.processIdentifier, SIGKILL) } }
        _ = try await node.baseURL()

        // validate: the stand-in verified the first request with the node's public key
        let line = try await peer.line("verification ", timeout: 30)
        let result = try #require(line.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] },
                                  "no verification from the stand-in hub:\n\(peer.text)\nnode:\n\(node.text)")
        #expect(result["verified"] as? Bool == true, "\(result)")
        #expect(result["keyid"] as? String == "110000" && result["alg"] as? String == "ed25519" && result["label"] as? String == "sig1", "\(result)")
        let body = Data(base64Encoded: result["body"] as? String ?? "") ?? Data()
        let components = result["components"] as? [String] ?? []
        #expect(components == (body.isEmpty ? ["@method", "@target-uri"] : ["@method", "@target-uri", "content-digest"]), "\(result)")
        #expect((result["targetUri"] as? String)?.hasPrefix(hubURL + "/federation/v1/") == true, "\(result)")
        #expect(try await node.terminate() == 0, "\(node.text)")
    }
}
