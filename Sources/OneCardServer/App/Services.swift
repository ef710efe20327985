import Foundation
import HummingbirdBcrypt
import Logging
import NIOPosix
import OneCardCore
import OneCardStore

/// The application's collaborators, built once by the composition root and shared by every handler.
public struct AppServices: Sendable {
    public let configuration: ServerConfiguration
    public let store: Store
    public let keys: NodeKeys
    public let policies: PolicyBook
    public let clock: Clock
    public let random: RandomSource
    public let logger: Logger
    let sessions: SessionTokens
    let passwords: PasswordHasher
    let signingKeys: SigningKeyStore
    /// Acceptances decided together, one transaction per group (Acceptance/AcceptanceService.swift).
    let acceptances: GroupCommit<AcceptanceService.Pending, AcceptanceService.Answer>
    let terminalKeys: TerminalKeyCache
    /// The way to the banks, with one circuit breaker per bank endpoint for this application.
    let bankGateway: BankGateway
    /// Tells the payment executor there is work (a batch executed or retried, a bank or an account changed).
    let paymentWork: WorkSignal

    /// The running jurisdiction's policy pack.
    public var policy: JurisdictionPolicy { policies.policy(for: configuration.region) }
    public var chipKeys: ChipKeyDeriver { ChipKeyDeriver(master: keys.chipMaster) }
    public var today: CalendarDay { CalendarDay(clock.now()) }

    var registry: RegistryService { RegistryService(services: self) }
    var cards: CardService { CardService(services: self) }
    var accounts: AccountService { AccountService(services: self) }
    var ecards: ECardService { ECardService(services: self) }
    var payments: PaymentService { PaymentService(services: self) }
    var banking: BankService { BankService(services: self) }

    /// Issues QR tokens for this node's cards. `jti`s come from a buffered system generator: one system
    /// call per token instead of per byte keeps issuance within its benchmark goal (Benchmarks/RESULTS.md).
    func qrIssuer(ring: SigningKeyRing) -> QRTokenIssuer {
        QRTokenIssuer(region: configuration.region, pseudonyms: PseudonymCipher(keys: keys), clock: clock, random: .systemBuffered,
                      lifetime: ring.tokenLifetime)
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
