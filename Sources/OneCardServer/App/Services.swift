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

    /// The running jurisdiction's policy pack.
    public var policy: JurisdictionPolicy { policies.policy(for: configuration.region) }
    public var chipKeys: ChipKeyDeriver { ChipKeyDeriver(master: keys.chipMaster) }
    public var today: CalendarDay { CalendarDay(clock.now()) }

    var registry: RegistryService { RegistryService(services: self) }
    var cards: CardService { CardService(services: self) }
    var accounts: AccountService { AccountService(services: self) }
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
