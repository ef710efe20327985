import ArgumentParser
import Foundation
import Logging
import OneCardCore
import OneCardServer
import OneCardStore

@main
struct OneCardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onecard",
        abstract: "OneCard — the social security card resident-service one-card platform (社会保障卡居民服务一卡通).",
        version: OneCardApp.version,
        subcommands: [Serve.self, Hub.self, Migrate.self, AuditCommand.self, Users.self, Keys.self, VerifyQR.self, TerminalCommand.self, Bench.self, BankSim.self, Batches.self,
                      BenchPayments.self, BenchTransit.self])
}

/// Where the data lives; shared by every command that opens the database.
struct DataOptions: ParsableArguments {
    @Option(help: "sqlite:PATH, sqlite::memory: or postgres://user:pass@host:port/db (also ONECARD_DATABASE). Default: sqlite:<data-dir>/onecard.sqlite")
    var database: String?

    @Option(name: .customLong("data-dir"), help: "Folder for the node's key material and the default SQLite file.")
    var dataDir: String = "./onecard-data"

    @Option(name: .customLong("node-key"),
            help: "The node key file kept apart from the data folder (also ONECARD_NODE_KEY_FILE): 32 random bytes in base64, mode 0600. Default: <data-dir>/node.key, made on first use.")
    var nodeKey: String?

    @Option(name: .customLong("db-pool"),
            help: "PostgreSQL connections this process may hold (also ONECARD_DB_POOL; default 16). Processes sharing a server need their sum under its max_connections.")
    var dbPool: Int?

    var dataDirURL: URL { URL(fileURLWithPath: dataDir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL }
    var nodeKeyURL: URL? {
        (nodeKey ?? ProcessInfo.processInfo.environment["ONECARD_NODE_KEY_FILE"]).map {
            URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL
        }
    }

    func databaseURL() throws -> DatabaseURL {
        try ServerConfiguration.databaseURL(option: database, environment: ProcessInfo.processInfo.environment, dataDir: dataDirURL)
    }

    func configuration(host: String = "127.0.0.1", port: Int = 8080, region: String = "110000", demo: Bool = false) throws -> ServerConfiguration {
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        var config = try ServerConfiguration(host: host, port: port, database: databaseURL(), region: region, dataDir: dataDirURL, demo: demo, logLevel: level)
        config.strictContract = try ServerConfiguration.strictContract(environment: ProcessInfo.processInfo.environment)
        config.nodeKeyFile = nodeKeyURL
        config.databasePool = try ServerConfiguration.databasePool(option: dbPool, environment: ProcessInfo.processInfo.environment)
        return config
    }
}

/// Writes a line to standard output at once (no buffering), so a supervising process sees it.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Prints a start-up problem and exits non-zero, without a stack of Swift errors.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("onecard: \(message)\n".utf8))
    return ExitCode(2)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the platform's HTTP API.")

    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 8080
    @Option(help: "The node's issuing region, a GB/T 2260 province code.") var region: String = "110000"
    @Flag(help: "Fill an empty database with a demo and print the demo logins.") var demo = false
    @Option(help: "The national hub's URL: joins this node to the federation (without it the node works alone).") var hub: String?
    @Option(name: .customLong("hub-key"), help: "The hub's federation public key: a JWK, the output of `onecard keys show` on the hub, or @FILE.")
    var hubKey: String?
    @Option(name: .customLong("person-key"), help: "The key every member hashes ID numbers under for one-person-one-card claims (base64 of 32 bytes, or @FILE).")
    var personKey: String?
    @Option(name: .customLong("federation-interval"), help: "Seconds between exchanges with the hub when nothing is owed sooner.")
    var federationInterval: Double = 1
    @Option(name: .customLong("risk-interval"), help: "Seconds between the risk monitor's looks at newly recorded uses.")
    var riskInterval: Double = 5
    @Option(name: .customLong("rate-limit-terminal"), help: "Requests per second a terminal may make (bursts of five times that); 0: no limit.")
    var rateLimitTerminal: Double = RateLimit.terminalPreset.perSecond
    @Option(name: .customLong("rate-limit-public"), help: "Requests per second one address may make without signing in (bursts of four times that); 0: no limit.")
    var rateLimitPublic: Double = RateLimit.publicPreset.perSecond
    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this PEM certificate chain (with --tls-key).")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert (mode 0600).")
    var tlsKey: String?
    @Option(name: .customLong("qr-alg"), help: "The JWS alg of issued QR tokens: EdDSA (default) or Ed25519 (RFC 9864) once every gate accepts it.")
    var qrAlg: String = "EdDSA"
    @Option(name: .customLong("clock-offset"), help: ArgumentHelp("Seconds the node's clock runs ahead of the machine's (negative: behind); for tests of late uploads.",
                                                                 visibility: .hidden))
    var clockOffset: Double = 0
    @OptionGroup var data: DataOptions

    func run() async throws {
        let services: AppServices
        let lock: ServeLock?
        do {
            var config = try data.configuration(host: host, port: port, region: region, demo: demo)
            // A SQLite file serves one process; a second `serve` on it stops here, naming the file.
            lock = try ServeLock.acquire(for: config.database)
            guard let alg = QRAlgorithm(rawValue: qrAlg) else { throw ConfigurationError("--qr-alg: EdDSA or Ed25519") }
            config.qrAlgorithm = alg
            guard riskInterval >= 0.05, riskInterval <= 3600 else { throw ConfigurationError("--risk-interval: 0.05 to 3600 seconds") }
            config.riskInterval = .milliseconds(Int(riskInterval * 1000))
            guard rateLimitTerminal >= 0, rateLimitPublic >= 0 else { throw ConfigurationError("--rate-limit-*: 0 (none) or more requests per second") }
            config.terminalRateLimit = rateLimitTerminal == 0 ? nil : RateLimit(perSecond: rateLimitTerminal, burst: max(1, rateLimitTerminal * 5))
            config.publicRateLimit = rateLimitPublic == 0 ? nil : RateLimit(perSecond: rateLimitPublic, burst: max(1, rateLimitPublic * 4))
            switch (tlsCert, tlsKey) {
            case let (cert?, key?):
                _ = try AppServices.tlsConfiguration(certificate: cert, key: key)
                config.tls = (cert, key)
            case (nil, nil): break
            default: throw ConfigurationError("--tls-cert and --tls-key go together")
            }
            if let hub {
                guard let hubKey else { throw ConfigurationError("--hub needs --hub-key (the hub's key, from `onecard keys show --data-dir <hub's folder>`)") }
                guard let personKey else { throw ConfigurationError("--hub needs --person-key (the members' shared key for one-person-one-card claims)") }
                config.hub = try HubLink(url: hub, key: FederationPublicKey.parse(hubKey), personKeys: PersonKeyHasher.parse(personKey))
                guard federationInterval >= 0.05, federationInterval <= 3600 else { throw ConfigurationError("--federation-interval: 0.05 to 3600 seconds") }
                config.federationInterval = .milliseconds(Int(federationInterval * 1000))
            } else if hubKey != nil || personKey != nil {
                throw ConfigurationError("--hub-key and --person-key are for a node that joins a hub: give --hub too")
            }
            guard abs(clockOffset) <= 366 * 86_400 else { throw ConfigurationError("--clock-offset: at most a year either way") }
            let offset = clockOffset
            services = try await OneCardApp.services(config, clock: offset == 0 ? .system : Clock { Date().addingTimeInterval(offset) })
            if config.database.isEmbedded {
                try await services.store.migrate()
            } else {
                let pending = try await services.store.pendingMigrations()
                if !pending.isEmpty {
                    await services.store.close()
                    throw ConfigurationError("the database has \(pending.count) pending migration(s) (\(pending.joined(separator: ", "))); run `onecard migrate --database ...` first")
                }
            }
            // The QR signing key ring in the database: stored there on a node's first start, taken from there afterwards.
            do { try await OneCardApp.followKeys(services) } catch {
                await services.store.close()
                throw ConfigurationError("\(error)")
            }
        } catch let e as ConfigurationError {
            throw fail(e.description)
        }
        if demo {
            let logins: [DemoData.Login]
            do { logins = try await DemoData.seedIfEmpty(services) } catch {
                await services.store.close()
                let hint = services.configuration.hub == nil ? "" : " (a federated node's demo applies for cards: admit the node at the hub first, `onecard hub members add`)"
                throw fail("the demo could not be added: \(error)\(hint)")
            }
            if logins.isEmpty {
                say("demo: the database is not empty; nothing was added")
            } else {
                say("demo data added. Logins (role, username or ID number, password):")
                for l in logins { say("  \(l)") }
            }
        }
        say("onecard \(OneCardApp.version) — region \(services.configuration.region) (\(services.policy.name)), database \(services.configuration.database)"
            + (services.configuration.hub.map { ", hub \($0.url)" } ?? ""))
        try await OneCardApp.serve(services) { port in
            say("onecard listening on \(services.configuration.scheme)://\(services.configuration.host):\(port)")
        }
        withExtendedLifetime(lock) {}
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations.")
    @OptionGroup var data: DataOptions

    func run() async throws {
        do {
            let services = try await OneCardApp.services(try data.configuration(), signs: false)
            let ran = try await services.store.migrate()
            say(ran.isEmpty ? "the database is up to date" : "applied: \(ran.joined(separator: ", "))")
            await services.store.close()
        } catch let e as ConfigurationError {
            throw fail(e.description)
        }
    }
}

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage staff users.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a staff user; the password is read from standard input (one line).")
        @Option var username: String
        @Option(help: "admin, agent, department, bank or auditor") var role: String
        @Option(help: "a department user's scope: civil_affairs, disabled_persons_federation, veterans_affairs, hrss, medical_security or public_security")
        var scope: String?
        @OptionGroup var data: DataOptions

        func run() async throws {
            guard let role = Role(rawValue: role), Role.staff.contains(role) else {
                throw fail("--role must be one of \(Role.staff.map(\.rawValue).joined(separator: ", "))")
            }
            let scope = try self.scope.map { raw throws in
                guard let s = DepartmentScope(rawValue: raw) else {
                    throw fail("--scope must be one of \(DepartmentScope.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return s
            }
            guard let password = readLine(strippingNewline: true), !password.isEmpty else {
                throw fail("give the password on standard input (one line)")
            }
            do {
                let services = try await OneCardApp.services(try data.configuration(), signs: false)
                if services.configuration.database.isEmbedded { try await services.store.migrate() }
                defer { Task { await services.store.close() } }
                let user = try await services.createStaffUser(username: username, password: password, role: role, scope: scope)
                say("created \(user.role.rawValue) \(user.username)")
            } catch let e as ConfigurationError {
                throw fail(e.description)
            } catch let e as DomainError {
                throw fail("\(e.code): \(e.detail)")
            }
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Check the audit log.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the audit log's hash chain; exit 0 when intact, 1 naming the first broken or missing entry.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let services: AppServices
            do { services = try await OneCardApp.services(try data.configuration(), signs: false) } catch let e as ConfigurationError {
                throw fail(e.description)
            }
            let result = try await OneCardApp.verifyAudit(services)
            await services.store.close()
            if let broken = result.broken {
                say("audit chain broken at entry \(broken.seq): \(broken) (\(result.checked) entries before it are intact; head names entry \(result.headSeq))")
                throw ExitCode(1)
            }
            say("audit chain intact: \(result.checked) entries, head at entry \(result.headSeq)")
        }
    }
}
