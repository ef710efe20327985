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
    /// The generation that signs now; a token of the one before stays good until it expires (`keys rotate --key
    /// sessions`), older ones are refused.
    let generations: SessionGenerations

    static func make(key: SymmetricKey, clock: Clock, lifetime: TimeInterval, nodeKeys: NodeKeys? = nil) async -> SessionTokens {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(key: key), digestAlgorithm: .sha256)
        return SessionTokens(keys: keys, clock: clock, lifetime: lifetime, generations: SessionGenerations(nodeKeys: nodeKeys))
    }

    /// Moves to `generation` (never back): its key signs from now on, the one before it still verifies.
    func use(generation: Int) async {
        guard let nodeKeys = generations.nodeKeys, generation > generations.current else { return }
        for g in max(2, generation - 1)...generation {  // adding a kid again replaces it: harmless
            await keys.add(hmac: HMACKey(key: nodeKeys.sessions(generation: g)), digestAlgorithm: .sha256, kid: JWKIdentifier(string: "s\(g)"))
        }
        generations.advance(to: generation)
    }

    func issue(for identity: Identity) async throws -> String {
        let now = clock.now()
        let claims = Claims(sub: .init(value: identity.subject), role: identity.role.rawValue, pid: identity.personId?.rawValue, scp: identity.scope?.rawValue,
                            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(lifetime)))
        let generation = generations.current
        return generation == 1 ? try await keys.sign(claims) : try await keys.sign(claims, kid: JWKIdentifier(string: "s\(generation)"))
    }

    /// The identity in a token, or nil when it is forged, malformed or expired.
    func verify(_ token: String) async -> Identity? {
        // Only the generation in force and the one before it: a token signed under an older key is refused.
        let generation = Self.generation(of: token)
        guard let generation, generation >= generations.current - 1 else { return nil }
        guard let claims = try? await keys.verify(token, as: Claims.self),
              claims.exp.value > clock.now(), let role = Role(rawValue: claims.role)
        else { return nil }
        return Identity(subject: claims.sub.value, role: role, personId: claims.pid.map { Person.ID($0) },
                        scope: claims.scp.flatMap(DepartmentScope.init(rawValue:)))
    }

    /// The key generation a token names in its header (`kid` "s<n>"; none: generation 1); nil when unreadable.
    static func generation(of token: String) -> Int? {
        guard let head = token.split(separator: ".", maxSplits: 1).first else { return nil }
        var b64 = head.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        guard let kid = json["kid"] as? String else { return 1 }
        guard kid.hasPrefix("s"), let n = Int(kid.dropFirst()), n >= 2 else { return nil }
        return n
    }
}

/// The session-signing generation in force in this process.
final class SessionGenerations: @unchecked Sendable {
    private let lock = NSLock()
    let nodeKeys: NodeKeys?
    private var generation = 1

    init(nodeKeys: NodeKeys?) { self.nodeKeys = nodeKeys }

    var current: Int { lock.lock(); defer { lock.unlock() }; return generation }
    func advance(to g: Int) { lock.lock(); generation = max(generation, g); lock.unlock() }
}
