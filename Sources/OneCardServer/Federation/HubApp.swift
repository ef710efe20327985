import Foundation
import Hummingbird
import Logging
import OneCardCore
import OneCardStore
import ServiceLifecycle

/// The national hub process (`onecard hub`): its own store and its own Ed25519 key, the federation's trust anchor.
public struct HubConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var database: DatabaseURL
    public var dataDir: URL
    public var logLevel: Logger.Level
    public var strictContract = false
    /// PostgreSQL connections the hub may hold (`--db-pool`, `ONECARD_DB_POOL`).
    public var databasePool: Int = Store.defaultPool

    public init(host: String = "127.0.0.1", port: Int = 8090, database: DatabaseURL, dataDir: URL, logLevel: Logger.Level = .info) throws(ConfigurationError) {
        guard (1...65535).contains(port) || port == 0 else { throw ConfigurationError("--port must be 1 to 65535") }
        self.host = host; self.port = port; self.database = database; self.dataDir = dataDir; self.logLevel = logLevel
    }

    /// The `--database` option, or `sqlite:<data-dir>/hub.sqlite`.
    public static func databaseURL(option: String?, dataDir: URL) throws(ConfigurationError) -> DatabaseURL {
        if let option { return try DatabaseURL(option) }
        return .sqliteFile(dataDir.appendingPathComponent("hub.sqlite").path)
    }

    /// The file that marks a data directory as a hub's (`onecard keys show` says so).
    public static let marker = "hub.role"
}

/// The hub, built once: store, key and services.
public struct HubServices: Sendable {
    public let configuration: HubConfiguration
    public let store: Store
    public let key: FederationKey
    let hub: HubService
    let logger: Logger
    let clock: Clock

    /// Opens the hub's key (made on first use) and database, and migrates an embedded database.
    public static func open(_ config: HubConfiguration, clock: Clock = .system) async throws -> HubServices {
        var logger = Logger(label: "onecard-hub")
        logger.logLevel = config.logLevel
        let key = try FederationKey.loadOrCreate(in: config.dataDir)
        FileManager.default.createFile(atPath: config.dataDir.appendingPathComponent(HubConfiguration.marker).path, contents: Data("hub\n".utf8))
        // The hub keeps no personal data; its store still needs a cipher, under a key of its own.
        let store = try await Store.open(config.database, cipher: FieldCipher(keys: try NodeKeys.loadOrCreate(in: config.dataDir)), logger: logger,
                                    pool: config.databasePool)
        return HubServices(configuration: config, store: store, key: key, hub: HubService(store: store, clock: clock, key: key, logger: logger),
                           logger: logger, clock: clock)
    }

    // MARK: administration (the CLI)

    public func admit(region: String, url: String, key: FederationPublicKey, partner: Bool) async throws -> String {
        let m = try await hub.admit(region: region, url: url, key: key, kind: partner ? .partner : .province)
        return "\(m.region) \(m.kind.rawValue) \(m.url) active"
    }

    public func suspend(region: String) async throws { try await hub.suspend(region: region) }

    /// Seeds the alliance lists nobody has published yet from the policy packs' presets.
    public func seedAlliances() async throws { try await hub.seedAlliances() }

    /// One line per member: region, kind, status, URL, key id.
    public func memberLines() async throws -> [String] {
        try await hub.members().map { m in
            let kid = (try? JSONDecoder().decode(FederationPublicKey.self, from: Data(m.publicKey.utf8)))?.kid ?? "?"
            return "\(m.region)\t\(m.kind.rawValue)\t\(m.status.rawValue)\t\(m.url)\tkey \(kid)"
        }
    }

    /// The evidence of signed exchanges, newest first, as JSON lines.
    public func evidenceLines(peer: String?, limit: Int) async throws -> [String] {
        try await ExchangeRecordsService(store: store).evidence(peer: peer, limit: limit).map { e in
            String(decoding: FederationJSON.encode(FederationController.EvidenceView(e)), as: UTF8.self)
        }
    }

    // MARK: serving

    static func router(_ services: HubServices) -> Router<AppContext> {
        let router = Router(context: AppContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        let api = API(router: router, strictContract: services.configuration.strictContract)
        OperationsController(health: HealthService(store: services.store)).register(api)
        let signer = services.hub.signer
        let hub = services.hub
        let records = ExchangeRecordsService(store: services.store)
        let exchange = SignedEndpoint(keys: { region in try await hub.memberKey(region) }, signer: signer, records: records, clock: services.clock)
        HubController(hub: hub, caller: FederationCaller(signer: signer, records: records, clock: services.clock, timeout: .seconds(10)),
                      exchange: exchange).register(api)
        return router
    }

    /// Runs the hub until SIGTERM or SIGINT.
    public func serve(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = Application(
            router: Self.router(self),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "onecard-hub"),
            // Signature nonces older than the allowed skew twice over are forgotten, once a minute.
            services: [PeriodicJob(name: "nonce pruning", interval: .seconds(60), logger: logger) { [store, clock] in
                           try await ExchangeRecordsService(store: store).pruneNonces(before: clock.now().addingTimeInterval(-2 * FederationSignature.maxSkew))
                       },
                       HubRelay(hub: hub, caller: FederationCaller(signer: hub.signer, records: ExchangeRecordsService(store: store), clock: clock),
                                logger: logger)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        do { try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint]) } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

/// Delivers the hub's relayed messages to members, twice a second.
struct HubRelay: Service {
    let hub: HubService
    let caller: FederationCaller
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await hub.deliverOutbox(caller: caller) } catch { logger.debug("relay failed: \(error)") }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
