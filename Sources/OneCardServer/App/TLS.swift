import Foundation
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import OneCardCore

extension AppServices {
    /// HTTP/1.1, over TLS when the configuration names a certificate and key (`serve --tls-cert --tls-key`).
    var httpServer: HTTPServerBuilder {
        guard let tls = configuration.tls else { return .http1() }
        // Checked at start-up by `tlsConfiguration(certificate:key:)`: a bad file never gets this far.
        return try! .tls(.http1(), tlsConfiguration: try! Self.tlsConfiguration(certificate: tls.certificate, key: tls.key))
    }

    /// The server TLS configuration from PEM files (TLS 1.2 and later, NIOSSL's default ciphers); a missing or unreadable
    /// file, or a key that is not private, is a configuration error naming it.
    public static func tlsConfiguration(certificate: String, key: String) throws(ConfigurationError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw ConfigurationError("--tls-cert \(certificate): not a readable PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw ConfigurationError("--tls-cert \(certificate): no certificate in the file") }
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw ConfigurationError("--tls-key \(key): not a readable PEM private key (\(error))")
        }
        if let mode = (try? FileManager.default.attributesOfItem(atPath: key))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw ConfigurationError("--tls-key \(key): readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        c.minimumTLSVersion = .tlsv12
        return c
    }
}
