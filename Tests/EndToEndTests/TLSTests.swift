import Foundation
import OneCardCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `serve --tls-cert --tls-key`: HTTPS with a certificate made for the test, checked by an independent client (Python's
/// ssl module against the certificate as its only trust anchor); pages carry HSTS and `Secure` cookies; a key file
/// others can read, or a certificate that is not one, stops start-up with a clear message.
@Suite("End to end: serving over TLS")
struct TLSTests {
    /// A self-signed certificate for 127.0.0.1 and its key (openssl), in `dir`.
    static func certificate(in dir: URL) async throws -> (cert: String, key: String) {
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let made = try await ChildProcess.collect(URL(fileURLWithPath: "/usr/bin/env"), [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert])
        try #require(made.status == 0, "openssl could not make a certificate: \(String(decoding: made.output, as: UTF8.self))")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        return (cert, key)
    }

    /// GET `url` trusting only `cafile`; the status line, headers and body as Python saw them.
    static func fetch(_ url: String, cafile: String) async throws -> String {
        let script = """
            import ssl, sys, urllib.request
            ctx = ssl.create_default_context(cafile=sys.argv[2])
            r = urllib.request.urlopen(sys.argv[1], context=ctx, timeout=20)
            print(r.status); print(r.headers.as_string()); print(r.read().decode()[:2000])
            """
        return String(decoding: try await ChildProcess.collect(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, url, cafile]).output,
                      as: UTF8.self)
    }

    @Test func aNodeServesHTTPSWithHSTSAndSecureCookies() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (cert, key) = try await Self.certificate(in: dir)
        let node = try EndToEndTests.Server(["serve", "--port", "0", "--data-dir", dir.appendingPathComponent("node").path,
                                             "--tls-cert", cert, "--tls-key", key])
        let base = try await node.baseURL()
        #expect(base.hasPrefix("https://127.0.0.1:"), "\(base)")

        let health = try await Self.fetch(base + "/health", cafile: cert)
        #expect(health.hasPrefix("200"), "\(health)")
        let page = try await Self.fetch(base + "/", cafile: cert)
        #expect(page.contains("Strict-Transport-Security: max-age=31536000"), "\(page)")
        #expect(page.contains("Secure") && page.contains("HttpOnly"), "\(page)")
        #expect(page.contains("Content-Security-Policy") && page.contains("frame-ancestors 'none'"), "\(page)")
        // Plain HTTP on the TLS port gets no page.
        let plain = try await Self.fetch(base.replacingOccurrences(of: "https://", with: "http://") + "/health", cafile: cert)
        #expect(!plain.hasPrefix("200"), "\(plain)")
        #expect(try await node.terminate() == 0)

        // A key others can read, or a certificate file that is not one: refused at start-up, naming the file.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key)
        let open = try await EndToEndTests.run(["serve", "--port", "0", "--data-dir", dir.appendingPathComponent("node2").path, "--tls-cert", cert, "--tls-key", key])
        #expect(open.status != 0 && open.output.contains("--tls-key") && open.output.contains("chmod 600"), "\(open.output)")
        let notCert = try await EndToEndTests.run(["serve", "--port", "0", "--data-dir", dir.appendingPathComponent("node3").path, "--tls-cert", key, "--tls-key", key])
        #expect(notCert.status != 0 && notCert.output.contains("--tls-cert"), "\(notCert.output)")
    }

    /// An anonymous address that calls faster than its allowance gets 429 `rate_limited` with `Retry-After`.
    @Test func anAddressOverItsAllowanceIsToldToWait() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-limit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try EndToEndTests.Server(["serve", "--port", "0", "--data-dir", dir.path, "--rate-limit-public", "0.05"])
        let base = try await node.baseURL()
        // One request, then one token every 20 s: the second call in a row is refused however slow the machine.
        var limited: HTTPURLResponse?, body = Data()
        for _ in 0..<2 {
            let (data, response) = try await URLSession.shared.data(from: URL(string: base + "/api/v1/trust/jwks")!)
            if let r = response as? HTTPURLResponse, r.statusCode == 429 { limited = r; body = data; break }
        }
        let r = try #require(limited, "two calls in a row were both answered")
        #expect(r.value(forHTTPHeaderField: "Retry-After").flatMap(Int.init) ?? 0 >= 1)
        #expect(r.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("application/problem+json") == true)
        #expect(String(decoding: body, as: UTF8.self).contains(#""code":"rate_limited""#))
        #expect(try await node.terminate() == 0)
    }
}
