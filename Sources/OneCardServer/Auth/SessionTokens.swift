import Crypto
import Foundation
import JWTKit
import OneCardCore

/// Signed, expiring bearer tokens for staff and holders (HS256 under a key derived from the node key).
struct SessionTokens: Sendable {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var role: String
        var pid: String?
        /// A department user's scope.
        var scp: String?
        var iat: IssuedAtClaim
        var exp: ExpirationClaim
        /// Expiry is checked against the injected clock in `verify(_:)`, not the wall clock.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    let keys: JWTKeyCollection
    let clock: Clock
    let lifetime: TimeInterval

    static func make(key: SymmetricKey, clock: Clock, lifetime: TimeInterval) async -> SessionTokens {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(key: key), digestAlgorithm: .sha256)
        return SessionTokens(keys: keys, clock: clock, lifetime: lifetime)
    }

    func issue(for identity: Identity) async throws -> String {
        let now = clock.now()
        let claims = Claims(sub: .init(value: identity.subject), role: identity.role.rawValue, pid: identity.personId?.rawValue, scp: identity.scope?.rawValue,
                            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(lifetime)))
        return try await keys.sign(claims)
    }

    /// The identity in a token, or nil when it is forged, malformed or expired.
    func verify(_ token: String) async -> Identity? {
        guard let claims = try? await keys.verify(token, as: Claims.self),
              claims.exp.value > clock.now(), let role = Role(rawValue: claims.role)
        else { return nil }
        return Identity(subject: claims.sub.value, role: role, personId: claims.pid.map { Person.ID($0) },
                        scope: claims.scp.flatMap(DepartmentScope.init(rawValue:)))
    }
}
