import Foundation
import Hummingbird
import Logging
import OneCardCore
import OneCardStore
import ServiceLifecycle

/// The composition root: `serve`, every CLI command and the tests build the platform here.
public enum OneCardApp {
    public static let version = "0.1.0"

    /// Opens the data directory's keys and the database, and wires the services. `signs: false` is for commands that
    /// sign no QR token (`migrate`, `users create`): they leave the signing keys alone, so `serve --region` makes its own.
    public static func services(_ config: ServerConfiguration, signs: Bool = true, clock: Clock = .system, random: RandomSource = .system,
                                logger: Logger? = nil) async throws -> AppServices {
        var logger = logger ?? Logger(label: "onecard")
        logger.logLevel = config.logLevel
        let keys = try NodeKeys.loadOrCreate(in: config.dataDir, file: config.nodeKeyFile, random: random)
        let federationKey = try FederationKey.loadOrCreate(in: config.dataDir, random: random)
        let store = try await Store.open(config.database, cipher: FieldCipher(keys: keys), logger: logger, pool: config.databasePool)
        let sessions = await SessionTokens.make(key: keys.sessions, clock: clock, lifetime: config.sessionLifetime, nodeKeys: keys)
        let signingKeys = SigningKeyStore(directory: config.dataDir, region: config.region, clock: clock, random: random)
        do {
            if signs { try signingKeys.open() }
        } catch {
            await store.close()
            throw ConfigurationError("\(error)")
        }
        let services = AppServices(configuration: config, store: store, keys: keys, policies: .shipped, clock: clock, random: random,
                                   logger: logger, sessions: sessions, passwords: PasswordHasher(cost: config.bcryptCost), signingKeys: signingKeys,
                                   federationKey: federationKey)
        // The key generations in force (a database not migrated yet has none: generation 1).
        try? await services.keyRotation.refresh()
        return services
    }

    /// The router with every endpoint, and the API description built alongside it.
    static func router(_ services: AppServices) -> (Router<AppContext>, API) {
        let router = Router(context: AppContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: AuthMiddleware(sessions: services.sessions, venues: services.venues))
        let api = API(router: router, strictContract: services.configuration.strictContract,
                      limiter: RateLimiter(terminal: services.configuration.terminalRateLimit, public: services.configuration.publicRateLimit))
        OperationsController(health: services.health).register(api)
        AuthController(accounts: services.accounts).register(api)
        RegistryController(registry: services.registry, holders: services.holders).register(api)
        CardsController(cards: services.cards, federation: services.federation).register(api)
        FederationController(federation: services.federation, cards: services.cards, acceptance: services.acceptance, medical: services.medical, transit: services.transit).register(api)
        ECardController(ecards: services.ecards).register(api)
        CatalogueController(catalogue: services.catalogue).register(api)
        AcceptanceController(venues: services.venues, acceptance: services.acceptance).register(api)
        BanksController(banking: services.banking, cards: services.cards).register(api)
        PaymentsController(payments: services.payments).register(api)
        AuditController(audit: services.audit).register(api)
        RiskController(risk: services.risk, incident: services.incident).register(api)
        ConsentController(consents: services.consents).register(api)
        PrivacyController(requests: services.dataRequests, retention: services.retention, clock: services.clock).register(api)
        KeysController(keys: services.keyRotation).register(api)
        LicenceController(licences: services.licences).register(api)
        RecordsController(records: services.records).register(api)
        FamilyController(family: services.family).register(api)
        PensionController(pension: services.pension).register(api)
        PartnerCodeController(partners: services.partnerCodes).register(api)
        CertificateController(certificates: services.certificates).register(api)
        ProductController(products: services.products).register(api)
        ComplaintsController(complaints: services.complaints, clock: services.clock).register(api)
        CasesController(cases: services.cases).register(api)
        // The pages' templates: the printed oversight report is one of them.
        let renderer = PageRenderer.load(keys: services.keys, policy: services.policy, incident: services.incident.flag)
        StatsController(stats: services.stats, clock: services.clock, printer: services.reportPrinter, renderer: renderer, policy: services.policy).register(api)
        MedicalController(medical: services.medical).register(api)
        MedicalClaimsController(claims: services.medicalClaims).register(api)
        TransitController(transit: services.transit, cards: services.cards).register(api)
        // Web pages go on the router directly: they are not part of the API description.
        let pages = router.group(context: PageContext.self)
            .add(middleware: PageMiddleware(sessions: services.sessions, venues: services.venues, random: services.random, renderer: renderer,
                                            tls: services.configuration.tls != nil))
        PagesController(accounts: services.accounts, registry: services.registry, catalogue: services.catalogue, sessions: services.sessions,
                        policy: services.policy, renderer: renderer).register(pages)
        ResidentPages(cards: services.cards, ecards: services.ecards, registry: services.registry, payments: services.payments,
                      acceptance: services.acceptance, holders: services.holders, certificates: services.certificates, policy: services.policy, clock: services.clock,
                      renderer: renderer).register(pages)
        AgentPages(registry: services.registry, cards: services.cards, policy: services.policy, clock: services.clock, renderer: renderer)
            .register(pages)
        AdminPages(registry: services.registry, accounts: services.accounts, banking: services.banking, catalogue: services.catalogue,
                   venues: services.venues, federation: services.federation, policy: services.policy, clock: services.clock,
                   renderer: renderer).register(pages)
        DepartmentPages(payments: services.payments, registry: services.registry, random: services.random, renderer: renderer).register(pages)
        CertificatePages(certificates: services.certificates, registry: services.registry, renderer: renderer).register(pages)
        AuditPages(audit: services.audit, renderer: renderer).register(pages)
        RiskPages(risk: services.risk, incident: services.incident, renderer: renderer).register(pages)
        ConsentPages(consents: services.consents, renderer: renderer).register(pages)
        PartnerCodePages(partners: services.partnerCodes, renderer: renderer).register(pages)
        ProductPages(products: services.products, random: services.random, renderer: renderer).register(pages)
        RecordPages(records: services.records, renderer: renderer).register(pages)
        FamilyPages(family: services.family, clock: services.clock, renderer: renderer).register(pages)
        PensionPages(pension: services.pension, registry: services.registry, renderer: renderer).register(pages)
        PrivacyPages(requests: services.dataRequests, retention: services.retention, clock: services.clock, renderer: renderer).register(pages)
        ServicePages(complaints: services.complaints, cases: services.cases, stats: services.stats, clock: services.clock, renderer: renderer).register(pages)
        MedicalPages(medical: services.medical, claims: services.medicalClaims, region: services.configuration.region, clock: services.clock, renderer: renderer).register(pages)
        TransitPages(transit: services.transit, cards: services.cards, clock: services.clock, renderer: renderer).register(pages)
        VenuePages(venues: services.venues, acceptance: services.acceptance, catalogue: services.catalogue, sessions: services.sessions,
                   random: services.random, renderer: renderer).register(pages)
        return (router, api)
    }

    /// The HTTP application with its background services (the temporary-loss lapse sweeper).
    public static func application(_ services: AppServices, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let (router, _) = router(services)
        _ = OperationsController.metrics
        return Application(
            router: router,
            server: services.httpServer,
            configuration: .init(address: .hostname(services.configuration.host, port: services.configuration.port), serverName: "onecard"),
            services: services.background,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: services.logger)
    }

    /// How long SIGTERM waits for requests in flight and background jobs to finish before they are cancelled, and
    /// how long cancellation then has before the process ends regardless (a job that never checks cancellation must
    /// not keep a process alive that an orchestrator was told is stopping; 30 s is the usual kill deadline).
    static let gracefulShutdown: Duration = .seconds(15), cancellationLimit: Duration = .seconds(10)

    /// Runs the platform until SIGTERM or SIGINT, then closes the database.
    public static func serve(_ services: AppServices, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = application(services, onServerRunning: onServerRunning)
        var configuration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: services.logger)
        configuration.maximumGracefulShutdownDuration = gracefulShutdown
        configuration.maximumCancellationDuration = cancellationLimit
        do {
            try await ServiceGroup(configuration: configuration).run()
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

extension OneCardApp {
    /// Walks the audit log's hash chain (`onecard audit verify`): nil when intact, else the first break; and how many
    /// entries were checked.
    public static func verifyAudit(_ services: AppServices) async throws -> (checked: Int, headSeq: Int64, broken: AuditChain.Break?) {
        let v = try await services.audit.verify()
        return (v.checked, v.headSeq, v.broken)
    }

    /// Follows the database's key generations and QR signing key ring (`serve` after its migrations: the ring is stored on
    /// a node's first start and taken from there afterwards).
    public static func followKeys(_ services: AppServices) async throws {
        try await services.keyRotation.refresh()
    }

    /// Rotates the QR signing key in the database (`onecard keys rotate`): the new key's id, the old one's, and how long the
    /// old one stays published.
    public static func rotateQRKey(_ services: AppServices, actor: String) async throws -> (new: String, old: String, publishedFor: Int) {
        try services.signingKeys.open()
        try await services.keyRotation.syncSigningKeys()
        let old = services.signingKeys.ring.current.kid
        let new = try await services.keyRotation.rotateSigningKey(actor: actor)
        let ring = services.signingKeys.ring
        return (new, old, Int(ring.tokenLifetime + ring.skew))
    }

    /// Rotates the session-signing (`sessions`) or personal-data (`personal_data`) key (`onecard keys rotate --key`).
    public static func rotateKey(_ services: AppServices, key: String, actor: String) async throws -> (generation: Int, pending: Int) {
        guard let k = KeyService.Key(rawValue: key), k != .qr else { throw DomainError.invalidField("key", "sessions or personal_data") }
        let s = try await services.keyRotation.rotate(k, actor: actor)
        return (k == .sessions ? s.sessions : s.personalData, k == .sessions ? 0 : s.pending)
    }

    /// The platform serving on its configured port in this process, with its background services (benchmarks).
    public struct Running: Sendable {
        public let port: Int
        public let stop: @Sendable () async -> Void
    }

    public static func start(_ services: AppServices) async throws -> Running {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = application(services) { port in continuation.yield(port); continuation.finish() }
        let group = ServiceGroup(configuration: .init(services: [app], logger: services.logger))
        let task = Task { try await group.run() }
        var port = 0
        for await p in ports { port = p }
        return Running(port: port) {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
        }
    }
}
