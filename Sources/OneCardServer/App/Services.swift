import Foundation
import HummingbirdBcrypt
import Logging
import NIOPosix
import OneCardCore
import OneCardStore
import ServiceLifecycle

/// The application, built once by the composition root: its infrastructure and every service, each
/// constructed here, once, with the named dependencies it uses. Controllers, pages and background services
/// receive the services they call, never this whole value.
public struct AppServices: Sendable {
    public let configuration: ServerConfiguration
    public let store: Store
    public let keys: NodeKeys
    public let policies: PolicyBook
    public let clock: Clock
    public let random: RandomSource
    public let logger: Logger
    let sessions: SessionTokens
    let signingKeys: SigningKeyStore
    /// Tells the payment executor there is work (a batch executed or retried, a bank or an account changed).
    let paymentWork: WorkSignal
    /// The way to the banks, with one circuit breaker per bank endpoint for this application.
    let bankGateway: BankGateway

    let registry: RegistryService
    let accounts: AccountService
    let cards: CardService
    /// `onecard bench populate`: synthetic residents with cards, written in bulk.
    public let populate: PopulateService
    let ecards: ECardService
    let catalogue: CatalogueService
    let venues: VenueService
    let acceptance: AcceptanceService
    let banking: BankService
    let payments: PaymentService
    let holders: HolderService
    let health: HealthService
    let federation: FederationService
    let audit: AuditService
    let risk: RiskService
    let incident: IncidentService
    let consents: ConsentService
    let licences: LicenceService
    let records: RecordService
    let family: FamilyService
    let pension: PensionService
    let partnerCodes: PartnerCodeService
    /// Prints the oversight report (headless Chromium), one print at a time.
    let reportPrinter = ReportPrinter()
    let certificates: CertificateService
    let products: ProductService
    let complaints: ComplaintService
    let cases: CaseService
    let stats: StatsService
    let medical: MedicalService
    let medicalClaims: MedicalClaimService
    let transit: TransitService
    let dataRequests: DataRequestService
    let keyRotation: KeyService
    let retention: RetentionService

    /// The running jurisdiction's policy pack.
    public var policy: JurisdictionPolicy { policies.policy(for: configuration.region) }
    public var chipKeys: ChipKeyDeriver { ChipKeyDeriver(master: keys.chipMaster) }
    public var today: CalendarDay { CalendarDay(clock.now()) }

    init(configuration: ServerConfiguration, store: Store, keys: NodeKeys, policies: PolicyBook, clock: Clock, random: RandomSource,
         logger: Logger, sessions: SessionTokens, passwords: PasswordHasher, signingKeys: SigningKeyStore, federationKey: FederationKey) {
        self.configuration = configuration; self.store = store; self.keys = keys; self.policies = policies
        self.clock = clock; self.random = random; self.logger = logger; self.sessions = sessions; self.signingKeys = signingKeys
        let policy = policies.policy(for: configuration.region)
        let paymentWork = WorkSignal()
        self.paymentWork = paymentWork
        bankGateway = BankGateway()
        let tokens = QRTokens(keys: signingKeys, region: configuration.region, pseudonyms: PseudonymCipher(keys: keys), clock: clock,
                              algorithm: configuration.qrAlgorithm)
        catalogue = CatalogueService(store: store, clock: clock, random: random, policy: policy)
        federation = FederationService(store: store, clock: clock, random: random, logger: logger, region: configuration.region, link: configuration.hub,
                                       key: federationKey, trust: NationalTrust(region: configuration.region), signingKeys: signingKeys,
                                       reachability: HubReachability(), work: WorkSignal(), interval: configuration.federationInterval,
                                       pseudonyms: PseudonymCipher(keys: keys), catalogue: catalogue)
        registry = RegistryService(store: store, clock: clock, random: random)
        accounts = AccountService(store: store, clock: clock, passwords: passwords, sessions: sessions)
        cards = CardService(store: store, clock: clock, random: random, region: configuration.region, policy: policy, keys: keys,
                            passwords: passwords, signingKeys: signingKeys, federation: federation)
        populate = PopulateService(store: store, clock: clock, random: random, cards: cards)
        ecards = ECardService(store: store, clock: clock, random: random, cards: cards, registry: registry, tokens: tokens, national: federation.trust,
                              snapshots: RevocationSnapshotCache(clock: clock))
        venues = VenueService(store: store, clock: clock, random: random, catalogue: catalogue, terminalKeys: TerminalKeyCache())
        partnerCodes = PartnerCodeService(store: store, clock: clock, random: random, catalogue: catalogue)
        products = ProductService(store: store, clock: clock, random: random, gateway: bankGateway, logger: logger, products: policy.products ?? [])
        acceptance = AcceptanceService(store: store, clock: clock, random: random, policy: policy, policies: policies, cards: cards, tokens: tokens,
                                       chipKeys: ChipKeyDeriver(master: keys.chipMaster), federation: federation, partnerCodes: partnerCodes,
                                       // SQLite has one writer, so one group at a time; PostgreSQL commits several groups side by side.
                                       groups: GroupCommit(lanes: store.dialect == .postgres ? 4 : 1))
        banking = BankService(store: store, clock: clock, random: random, paymentWork: paymentWork)
        payments = PaymentService(store: store, clock: clock, random: random, cipher: FieldCipher(keys: keys), logger: logger,
                                  paymentWork: paymentWork)
        health = HealthService(store: store)
        audit = AuditService(store: store, key: federationKey, clock: clock, federation: federation)
        risk = RiskService(store: store, clock: clock, random: random, thresholds: policy.riskThresholds, venues: venues, paymentWork: paymentWork)
        keyRotation = KeyService(store: store, sessions: sessions, clock: clock, signingKeys: signingKeys)
        incident = IncidentService(store: store, clock: clock, keys: keyRotation)
        consents = ConsentService(store: store, clock: clock, random: random)
        licences = LicenceService(store: store, clock: clock, random: random, acceptance: acceptance)
        certificates = CertificateService(store: store, clock: clock, random: random, policy: policy, signingKeys: signingKeys)
        records = RecordService(store: store, clock: clock, random: random, signingKeys: signingKeys, region: configuration.region,
                                shareKey: keys.recordShares)
        let holidays: HolidayCalendar
        do { holidays = try HolidayCalendar.shipped() } catch {
            // Every deadline is then provisional (weekdays) until an administrator loads the years: never refused.
            logger.error("holiday calendar: \(error)"); holidays = HolidayCalendar(years: [])
        }
        complaints = ComplaintService(store: store, clock: clock, random: random, deadlines: policy.complaintDeadlines, shippedCalendar: holidays,
                                      region: configuration.region, federation: federation)
        complaints.receiveForwarded(through: federation.handlers)
        medicalClaims = MedicalClaimService(store: store, clock: clock, random: random, presets: .shipped, shippedCalendar: holidays,
                                            gateway: bankGateway, logger: logger)
        dataRequests = DataRequestService(store: store, clock: clock, random: random, privacy: policy.privacyPolicy, shippedCalendar: holidays)
        retention = RetentionService(store: store, clock: clock, privacy: policy.privacyPolicy)
        let publicity: CreditPublicitySchemes
        do { publicity = try CreditPublicitySchemes.shipped() } catch { logger.error("credit publicity: \(error)"); publicity = CreditPublicitySchemes(schemes: []) }
        cases = CaseService(store: store, clock: clock, random: random, fineRule: FineRule(pack: policy), publicity: publicity, signingKeys: signingKeys)
        stats = StatsService(store: store, clock: clock, catalogue: catalogue)
        family = FamilyService(store: store, clock: clock, random: random, limit: policy.maxRelatives, caps: policy.relativeCaps, cards: cards,
                               ecards: ecards, acceptance: acceptance)
        pension = PensionService(store: store, clock: clock, random: random, policy: policy.pensionCheck, cards: cards, paymentWork: paymentWork)
        holders = HolderService(store: store, clock: clock, registry: registry, cards: cards, payments: payments, acceptance: acceptance,
                                records: records, pension: pension)
        // PostgreSQL: two groups in flight, one reading what its bills refer to (or writing other persons' settlements)
        // while the other is in its transaction. A group locks all its insured persons in one statement, in person order,
        // so groups sharing persons wait for each other and never deadlock (an earlier version locked each person as it
        // met them: deadlocks, 21 settlements/s with 4 lanes on two hot persons). SQLite: one, as its writes queue behind
        // one connection anyway and two lanes only made the groups smaller (Benchmarks/RESULTS.md, medical settlement).
        medical = MedicalService(store: store, clock: clock, random: random, presets: .shipped, acceptance: acceptance,
                                 groups: GroupCommit(lanes: store.dialect == .postgres ? 2 : 1))
        transit = TransitService(store: store, clock: clock, random: random, policies: policies, policy: policy, region: configuration.region,
                                 acceptance: acceptance, gateway: bankGateway, logger: logger, work: WorkSignal())
    }

    /// Executes approved batches (the background service's, or a test's with its own chunk size and bank gateway).
    func paymentExecutor(chunk: Int = 1000, inFlight: Int = 4, gateway: BankGateway? = nil) -> PaymentExecutor {
        PaymentExecutor(store: store, clock: clock, random: random, logger: logger, gateway: gateway ?? bankGateway, chunk: chunk, inFlight: inFlight,
                        risk: policy.riskThresholds, pensionCheck: policy.pensionCheck)
    }

    /// The background services that run beside the HTTP server.
    var background: [any Service] {
        [LapseSweeper(cards: cards, logger: logger),
         FederationExchange(federation: federation, logger: logger),
         AuditCheckpointer(audit: audit, logger: logger),
         RiskMonitor(risk: risk, incident: incident, interval: configuration.riskInterval, logger: logger),
         PaymentExecutorService(executor: paymentExecutor(), payments: payments, banking: banking, work: paymentWork, logger: logger),
         TransitWorker(transit: transit, logger: logger),
         RetentionJob(retention: retention, interval: .seconds(86_400), logger: logger),
         KeyWatcher(keys: keyRotation, interval: .seconds(5), logger: logger),
         // Manual medical claims decided but not yet credited (the bank had not answered): asked again.
         PeriodicJob(name: "medical claims", interval: .seconds(30), logger: logger) { [medicalClaims] in try await medicalClaims.pay() },
         // Pension check reminders (hourly: the reminder is about a day, not a minute).
         PeriodicJob(name: "pension reminders", interval: .seconds(3600), logger: logger) { [pension] in while try await pension.remind() > 0 {} },
         // Bills and passes whose bank answer was lost: asked again under the same debit id.
         PeriodicJob(name: "bills and passes under way", interval: .seconds(30), logger: logger) { [products] in try await products.settleUnderWay() }]
    }
}

/// A counter that changes whenever there may be new work; a background loop that sees it change does not wait
/// out its idle back-off.
final class WorkSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var generation = 0

    func signal() { lock.lock(); generation += 1; lock.unlock() }
    var current: Int { lock.lock(); defer { lock.unlock() }; return generation }

    /// Sleeps until `timeout` passes or the signal changes from `seen`, looking every 50 ms.
    func wait(after seen: Int, upTo timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while current == seen, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Bcrypt off the cooperative thread pool, so a slow hash never stalls other requests.
struct PasswordHasher: Sendable {
    let cost: UInt8

    func hash(_ secret: String) async throws -> String {
        let cost = cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(secret, cost: cost) }
    }

    func verify(_ secret: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(secret, hash: hash) }
    }
}
