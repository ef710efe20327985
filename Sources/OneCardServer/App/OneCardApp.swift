import Foundation
import Hummingbird
import Logging
import OneCardCore
import OneCardStore
import ServiceLifecycle

/// The composition root: `serve`, every CLI command and the tests build the platform here.
public enum OneCardApp {
    public static let version = "0.1.0"

    /// Opens the data directory's keys and the database, and wires the services.
    public static func services(_ config: ServerConfiguration, clock: Clock = .system, random: RandomSource = .system,
                                logger: Logger? = nil) async throws -> AppServices {
        var logger = logger ?? Logger(label: "onecard")
        logger.logLevel = config.logLevel
        let keys = try NodeKeys.loadOrCreate(in: config.dataDir, random: random)
        let store = try await Store.open(config.database, cipher: FieldCipher(keys: keys), logger: logger)
        let sessions = await SessionTokens.make(key: keys.sessions, clock: clock, lifetime: config.sessionLifetime)
        let signingKeys: SigningKeyStore
        do {
            signingKeys = try SigningKeyStore(directory: config.dataDir, region: config.region, clock: clock, random: random)
        } catch {
            await store.close()
            throw ConfigurationError("\(error)")
        }
        return AppServices(configuration: config, store: store, keys: keys, policies: .shipped, clock: clock, random: random,
                           logger: logger, sessions: sessions, passwords: PasswordHasher(cost: config.bcryptCost), signingKeys: signingKeys,
                           // SQLite has one writer, so one group at a time; PostgreSQL commits several groups side by side.
                           acceptances: GroupCommit(lanes: store.dialect == .postgres ? 4 : 1), terminalKeys: TerminalKeyCache(),
                           bankGateway: BankGateway(), paymentWork: WorkSignal())
    }

    /// The router with every endpoint, and the API description built alongside it.
    static func router(_ services: AppServices) -> (Router<AppContext>, API) {
        let router = Router(context: AppContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: AuthMiddleware(sessions: services.sessions, store: services.store, terminalKeys: services.terminalKeys))
        let api = API(router: router, strictContract: services.configuration.strictContract)
        OperationsController(services: services).register(api)
        AuthController(services: services).register(api)
        RegistryController(services: services).register(api)
        CardsController(services: services).register(api)
        ECardController(services: services).register(api)
        CatalogueController(services: services).register(api)
        AcceptanceController(services: services).register(api)
        BanksController(services: services).register(api)
        PaymentsController(services: services).register(api)
        // Web pages go on the router directly: they are not part of the API description.
        PagesController(services: services).register(router)
        return (router, api)
    }

    /// The HTTP application with its background services (the temporary-loss lapse sweeper).
    public static func application(_ services: AppServices, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let (router, _) = router(services)
        _ = OperationsController.metrics
        return Application(
            router: router,
            configuration: .init(address: .hostname(services.configuration.host, port: services.configuration.port), serverName: "onecard"),
            services: [LapseSweeper(cards: services.cards, logger: services.logger), PaymentExecutorService(services: services)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: services.logger)
    }

    /// Runs the platform until SIGTERM or SIGINT, then closes the database.
    public static func serve(_ services: AppServices, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = application(services, onServerRunning: onServerRunning)
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            await services.store.close()
            throw error
        }
        await services.store.close()
    }
}

/// Lets temporary loss reports lapse at the end of their period, once a minute.
struct LapseSweeper: Service {
    let cards: CardService
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let n = try await cards.lapseDue()
                    if n > 0 { logger.info("temporary loss reports lapsed", metadata: ["count": "\(n)"]) }
                } catch {
                    logger.error("lapse sweep failed: \(error)")
                }
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }
}
