import Foundation
import HTTPTypes
import Hummingbird
import OneCardCore

/// Who is calling, as established by the bearer token.
struct Identity: Sendable, Equatable {
    /// Username for staff, person id for holders.
    var subject: String
    var role: Role
    /// For holders: their person id.
    var personId: Person.ID?
    /// For terminals: their venue.
    var venueId: Venue.ID? = nil
    /// For department users: the department they work for (API.md "Entitlements and records").
    var scope: DepartmentScope? = nil

    /// How the actor is written into events and audit records.
    var actor: String { "\(role.rawValue):\(subject)" }
}

/// The request context of every OneCard route.
struct AppContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var identity: Identity?
    /// The caller's IP address (anonymous callers are rate-limited by it).
    var remoteAddress: String?

    init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Request bodies are limited to 1 MB.
    var maxUploadSize: Int { 1_048_576 }
}

extension HTTPField.Name {
    /// Why personal data is read in clear; required for unmasked reads and written to the audit log.
    static let purpose = HTTPField.Name("X-Purpose")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}
