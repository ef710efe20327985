import ArgumentParser
import Foundation
import OneCardCore
import OneCardServer
import OneCardVerifier

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage the node's QR signing keys and show its federation key.",
                                                    subcommands: [Rotate.self, Show.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate a key. qr (default): a new current QR signing key; the old public key stays in the trust list until every token it signed has expired. sessions or personal_data: the next generation of that key in the database, followed by every serve process on it within 5 s (personal data re-sealed in the background).")
        @OptionGroup var data: DataOptions
        @Option(help: "The node's issuing region (used only if the folder has no QR keys yet).") var region: String = "110000"
        @Option(help: "qr, sessions or personal_data.") var key: String = "qr"

        func run() async throws {
            guard ["qr", "sessions", "personal_data"].contains(key) else { throw fail("--key: qr, sessions or personal_data") }
            var config: ServerConfiguration
            do { config = try data.configuration() } catch let e as ConfigurationError { throw fail(e.description) }
            if key == "qr" {
                // The ring lives in the database: every serve process on it signs with the new key within 5 s.
                config.region = region
                let services: AppServices
                do { services = try await OneCardApp.services(config, signs: false) } catch let e as ConfigurationError { throw fail(e.description) }
                do {
                    if config.database.isEmbedded { try await services.store.migrate() }
                    let pending = try await services.store.pendingMigrations()
                    guard pending.isEmpty else { throw ConfigurationError("the database has pending migrations; run `onecard migrate` first") }
                    let r = try await OneCardApp.rotateQRKey(services, actor: "cli:keys-rotate")
                    await services.store.close()
                    say("rotated: new key \(r.new) signs from now on; \(r.old) stays published for \(r.publishedFor) s")
                } catch {
                    await services.store.close()
                    throw fail("\(error)")
                }
                return
            }
            let services: AppServices
            do { services = try await OneCardApp.services(config, signs: false) } catch let e as ConfigurationError {
                throw fail(e.description)
            }
            do {
                let generations = try await OneCardApp.rotateKey(services, key: key, actor: "cli:keys-rotate")
                await services.store.close()
                say("rotated \(key): generation \(generations.generation) from now on; \(generations.pending) values wait to be re-sealed by the running server")
            } catch {
                await services.store.close()
                throw fail("\(error)")
            }
        }
    }
}

struct VerifyQR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-qr",
        abstract: "Verify a QR token offline, as a venue terminal does; prints the decision as JSON and exits 0 only for a valid token.")

    @Option(help: "A trust list (JWKS) file, as served at /api/v1/trust/jwks; with --hub-key, the hub's signed national list (a JWS, as at /federation/v1/trust-list).")
    var trust: String
    @Option(name: .customLong("hub-key"), help: "The national hub's key (JWK, `keys show` output or @FILE): --trust must then be a list the hub signed.")
    var hubKey: String?
    @Option(help: "A revocation list file: the JSON of /api/v1/trust/revocations or the JWS of /api/v1/trust/revocations.jws.")
    var revocations: String?
    @Option(help: "Verify as of this time (RFC 3339) instead of now.") var at: String?
    @Argument(help: "The token (compact JWS).") var token: String

    func run() async throws {
        let verifier: QRVerifier
        if let hubKey {
            do {
                guard let key = try FederationPublicKey.parse(hubKey).key else { throw fail("--hub-key: not an Ed25519 key") }
                let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: trust)), as: UTF8.self)
                verifier = QRVerifier(trustList: try TrustListDocument.open(signed: text, hubKey: key).jwks)
            } catch let e as ExitCode {
                throw e
            } catch {
                throw fail("--trust \(trust): not a trust list signed by the hub's key (\(error))")
            }
        } else {
            do {
                verifier = try QRVerifier(trustListJSON: Data(contentsOf: URL(fileURLWithPath: trust)))
            } catch {
                throw fail("--trust \(trust): not a readable JWKS file (\(error))")
            }
        }
        if let revocations {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: revocations)) else { throw fail("--revocations \(revocations): unreadable") }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasPrefix("{") {
                guard let doc = try? RevocationDocument(json: data) else { throw fail("--revocations \(revocations): not a revocation list") }
                _ = verifier.apply(doc)
            } else {
                do { _ = try verifier.apply(signedRevocations: text) } catch { throw fail("--revocations \(revocations): signature refused (\(error))") }
            }
        }
        var now = Date()
        if let at {
            guard let d = Timestamp.parse(at) else { throw fail("--at must be an RFC 3339 time such as 2026-11-23T08:00:00Z") }
            now = d
        }
        let decision = verifier.verify(token.trimmingCharacters(in: .whitespacesAndNewlines), at: now)
        var out: [String: Any] = ["at": Timestamp.format(now)]
        switch decision {
        case .valid(let claims):
            out["decision"] = "valid"
            out["iss"] = claims.iss; out["jti"] = claims.jti; out["ent"] = claims.ent
            out["expiresAt"] = Timestamp.format(claims.expiresAt)
        case .denied(let reason):
            out["decision"] = "denied"
            out["reason"] = reason.rawValue
        }
        let json = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes])
        say(String(decoding: json, as: UTF8.self))
        if !decision.isValid { throw ExitCode(1) }
    }
}
