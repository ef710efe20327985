import Foundation
import Logging
import OneCardCore
import OneCardStore
import ServiceLifecycle

/// Rotation of the session-signing key and the personal-data key (issue 17), without downtime.
///
/// Each key has generations derived from the node key (`NodeKeys.sessions(generation:)`, `personalData(generation:)`);
/// the generation in force is kept in the database, so every process on it follows a rotation within `KeyWatcher`'s
/// interval. Sessions: tokens name their generation (`kid`); the one before the current still verifies until its tokens
/// expire, older ones are refused. Personal data: a value names the generation that sealed it, so every value opens
/// whatever its age, new values are sealed under the current key, and the watcher re-seals the older ones in the
/// background, a few hundred at a time. The blind index key is not rotated: that would mean re-indexing every ID number
/// at once, and an index reveals only equality.
struct KeyService: Sendable {
    let store: Store
    let sessions: SessionTokens
    let clock: Clock
    /// The QR signing key ring this process signs with (the database's: `syncSigningKeys` follows it).
    let signingKeys: SigningKeyStore

    enum Key: String, Sendable, CaseIterable {
        case sessions
        case personalData = "personal_data"
        /// The QR signing key: a new current key in the ring; the old one stays published until its tokens expire.
        case qr
        var purpose: KeyRepository.Purpose { self == .sessions ? .sessions : .personalData }
    }

    struct Status: Sendable, Equatable {
        var sessions: Int
        var personalData: Int
        /// Values still sealed under an older personal-data key.
        var pending: Int
        /// The kid of the current QR signing key (nil in a process that signs nothing).
        var qrKeyId: String? = nil
    }

    /// Moves `key` to its next generation (for `qr`: a new key in the ring), audited, and applies it in this process at once.
    func rotate(_ key: Key, actor: String) async throws -> Status {
        if key == .qr {
            try await rotateSigningKey(actor: actor)
            return try await status()
        }
        let at = clock.now()
        let next = try await store.write { s in
            let next = try await s.keys.generation(key.purpose) + 1
            try await s.keys.setGeneration(key.purpose, next, by: actor, at: at)
            try await s.audit.append(at: at, actor: actor, action: "key_rotated", subject: "key:\(key.rawValue)", purpose: "generation \(next)")
            return next
        }
        if key == .sessions { await sessions.use(generation: next) } else { store.cipher.generations.advance(to: next) }
        return try await status()
    }

    /// Follows the generations the database says are in force, and its QR signing key ring (another process may have
    /// rotated).
    func refresh() async throws {
        let (s, d) = try await store.read { s in (try await s.keys.generation(.sessions), try await s.keys.generation(.personalData)) }
        await sessions.use(generation: s)
        store.cipher.generations.advance(to: d)
        try await syncSigningKeys()
    }

    /// Makes this process sign with the database's QR signing key ring: on a node's first start the ring this process has
    /// (from the data directory) is stored; afterwards the stored ring replaces a different one here, and the data
    /// directory's copy is rewritten. A database holding another region's keys is refused.
    func syncSigningKeys() async throws {
        guard signingKeys.isOpen else { return }  // a command that signs nothing never reads or makes keys
        let mine = signingKeys.ring
        let at = clock.now()
        let stored = try await store.write { s -> SigningKeyRing in
            if let stored = try await s.signingKeys.ring() { return stored }
            if try await s.signingKeys.storeFirst(mine, by: "system", at: at) {
                try await s.audit.append(at: at, actor: "system", action: "qr_signing_ring_stored", subject: "key:\(mine.current.kid)", purpose: nil)
                return mine
            }
            return try await s.signingKeys.ring() ?? mine
        }
        guard stored.region == signingKeys.region else {
            throw ConfigurationError("the database holds QR signing keys for region \(stored.region), but this node runs as \(signingKeys.region)")
        }
        signingKeys.adopt(stored)
    }

    /// Makes a new current QR signing key now, in the database (`keys rotate`, incident mode): the ring is locked, rotated
    /// and written in one transaction, so two rotations at once make two keys one after the other, never two current ones.
    /// Every other process takes it at its next `syncSigningKeys`. The new key's id.
    @discardableResult
    func rotateSigningKey(actor: String, purpose: String? = nil) async throws -> String {
        try signingKeys.open()
        try await syncSigningKeys()
        let (at, random, fallback) = (clock.now(), signingKeys.random, signingKeys.ring)
        let rotated = try await store.write { s -> SigningKeyRing in
            try await s.signingKeys.lock()
            var ring = try await s.signingKeys.ring() ?? fallback
            ring.rotate(at: at, random: random)
            try await s.signingKeys.replace(with: ring, by: actor, at: at)
            try await s.audit.append(at: at, actor: actor, action: "qr_signing_key_rotated", subject: "key:\(ring.current.kid)", purpose: purpose)
            return ring
        }
        signingKeys.adopt(rotated)
        return rotated.current.kid
    }

    func status() async throws -> Status {
        try await store.read { s in
            let d = try await s.keys.generation(.personalData)
            var pending = 0
            for c in SealedColumn.all { pending += try await s.keys.stale(c, generation: d) }
            return Status(sessions: try await s.keys.generation(.sessions), personalData: d, pending: pending,
                          qrKeyId: signingKeys.isOpen ? signingKeys.ring.current.kid : nil)
        }
    }

    /// Re-seals up to `limit` values per column under the current personal-data key, one transaction per column; the
    /// number re-sealed (0: nothing left).
    @discardableResult
    func reencrypt(limit: Int = 500) async throws -> Int {
        let generation = store.cipher.generations.current
        // Before any rotation nothing can be sealed under another key: no look at all (this runs every few seconds).
        guard generation > 1 else { return 0 }
        var n = 0
        for c in SealedColumn.all {
            // A read first: the writer (one at a time on SQLite) is taken only for a column with something to re-seal.
            guard try await store.read({ try await $0.keys.stale(c, generation: generation) }) > 0 else { continue }
            n += try await store.write { try await $0.keys.reseal(c, generation: generation, limit: limit) }
        }
        return n
    }
}

/// Follows rotations made by other processes and re-seals personal data under the current key, in the background.
struct KeyWatcher: Service {
    let keys: KeyService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The generation this process has seen fully re-sealed, and since when it has known the current one: once a
            // pass finds nothing left a while after the rotation (other processes follow within one interval and seal
            // under the new key from then on), the tables are not scanned again until the next rotation.
            var settled = 1
            var seen = (generation: 1, since: ContinuousClock.now)
            while !Task.isCancelled {
                do {
                    try await keys.refresh()
                    let generation = keys.store.cipher.generations.current
                    if generation != seen.generation { seen = (generation, ContinuousClock.now) }
                    guard generation != settled else { try? await Task.sleep(for: interval); continue }
                    var total = 0
                    while !Task.isCancelled {
                        let n = try await keys.reencrypt()
                        total += n
                        if n == 0 { break }
                    }
                    if total == 0, ContinuousClock.now - seen.since > interval * 6 { settled = generation }
                    if total > 0 { logger.info("personal data re-sealed under the current key: \(total) values") }
                } catch {
                    logger.error("key watcher: \(error)")
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
