import Foundation
import Logging
import OneCardCore
import OneCardStore

/// Everything the platform needs to start, read once from the command line and environment.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var database: DatabaseURL
    /// The PostgreSQL connections this process may hold (`--db-pool`, `ONECARD_DB_POOL`). Processes sharing a server
    /// need the sum of theirs, and the server's other clients, under its `max_connections`.
    public var databasePool: Int = Store.defaultPool
    /// The node's issuing region (a GB/T 2260 province code); every card it makes has it as `issuerRegion`.
    public var region: String
    public var dataDir: URL
    /// The node key kept apart from the data directory (`--node-key`, `ONECARD_NODE_KEY_FILE`); nil: `<data-dir>/node.key`.
    public var nodeKeyFile: URL? = nil
    public var demo: Bool
    /// Bcrypt cost for passwords and PINs (tests lower it).
    public var bcryptCost: UInt8
    /// Lifetime of a session token.
    public var sessionLifetime: TimeInterval
    public var logLevel: Logger.Level
    /// A handler answering a code its endpoint does not document gets 500 `undocumented_error` (tests; `ONECARD_STRICT_CONTRACT=1`).
    public var strictContract = false
    /// The national hub this node joins (`--hub`, `--hub-key`, `--person-key`); nil: the node works alone.
    public var hub: HubLink?
    /// The JWS `alg` of issued QR tokens: `EdDSA` until every gate accepts RFC 9864's `Ed25519` (`--qr-alg`).
    public var qrAlgorithm: QRAlgorithm = .edDSA
    /// How often a federated node exchanges with the hub (trust list, revocations, outbox) when nothing wakes it sooner.
    public var federationInterval: Duration = .seconds(1)
    /// Serve HTTPS with this PEM certificate chain and private key (`--tls-cert`, `--tls-key`); nil: plain HTTP (behind a
    /// TLS-terminating proxy that sets `X-Forwarded-Proto`, or on loopback).
    public var tls: (certificate: String, key: String)? = nil
    public var scheme: String { tls == nil ? "http" : "https" }
    /// Requests a terminal may make (`--rate-limit-terminal`), and an anonymous address (`--rate-limit-public`); nil: no limit.
    public var terminalRateLimit: RateLimit? = .terminalPreset
    public var publicRateLimit: RateLimit? = .publicPreset
    /// How often the risk monitor reads the uses recorded since its last look (`--risk-interval`).
    public var riskInterval: Duration = .seconds(5)

    public init(host: String = "127.0.0.1", port: Int = 8080, database: DatabaseURL, region: String = "110000",
                dataDir: URL, demo: Bool = false, bcryptCost: UInt8 = 10, sessionLifetime: TimeInterval = 8 * 3600,
                logLevel: Logger.Level = .info) throws(ConfigurationError) {
        guard (1...65535).contains(port) || port == 0 else { throw ConfigurationError("--port must be 1 to 65535") }
        do {
            let code = try RegionCode(region)
            guard code.province == region else { throw ConfigurationError("--region must be a province code such as 110000 or 440000 (got \(region))") }
        } catch let e as DomainError {
            throw ConfigurationError("--region \(region): \(e.detail)")
        } catch let e as ConfigurationError {
            throw e
        } catch {
            throw ConfigurationError("--region \(region) is invalid")
        }
        self.host = host; self.port = port; self.database = database; self.region = region; self.dataDir = dataDir
        self.demo = demo; self.bcryptCost = bcryptCost; self.sessionLifetime = sessionLifetime; self.logLevel = logLevel
    }

    /// Resolves `--db-pool`, else `ONECARD_DB_POOL`, else the default: 1 to 1,000 connections.
    public static func databasePool(option: Int?, environment: [String: String]) throws(ConfigurationError) -> Int {
        if let option {
            guard (1...1000).contains(option) else { throw ConfigurationError("--db-pool must be 1 to 1000 connections (got \(option))") }
            return option
        }
        guard let text = environment["ONECARD_DB_POOL"] else { return Store.defaultPool }
        guard let n = Int(text), (1...1000).contains(n) else { throw ConfigurationError("ONECARD_DB_POOL must be 1 to 1000 connections (got \(text))") }
        return n
    }

    /// Resolves the `--database` option, `ONECARD_DATABASE`, or the default SQLite file in the data dir.
    public static func databaseURL(option: String?, environment: [String: String], dataDir: URL) throws(ConfigurationError) -> DatabaseURL {
        if let option { return try DatabaseURL(option) }
        if let env = environment["ONECARD_DATABASE"], !env.isEmpty { return try DatabaseURL(env) }
        return .sqliteFile(dataDir.appendingPathComponent("onecard.sqlite").path)
    }
}

/// How a node reaches the national hub.
public struct HubLink: Sendable {
    /// The hub's base URL, e.g. http://127.0.0.1:8090.
    public var url: String
    /// The hub's federation public key: it signs the hub's answers, the trust list and the revocation list.
    public var key: FederationPublicKey
    /// The key every member hashes ID numbers under for the hub's one-person-one-card claims.
    public var personKeys: PersonKeyHasher

    public init(url: String, key: FederationPublicKey, personKeys: PersonKeyHasher) throws(ConfigurationError) {
        guard let u = URL(string: url), u.scheme == "http", u.host != nil else { throw ConfigurationError("--hub must be the hub's URL, e.g. http://127.0.0.1:8090") }
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.key = key
        self.personKeys = personKeys
    }
}
