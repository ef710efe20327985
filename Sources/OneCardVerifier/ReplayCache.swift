import Foundation

/// Remembers the `jti` of every accepted token until it expires, so each token is accepted once.
///
/// Sharded by `jti` hash, each shard behind its own lock, so concurrent verifications rarely wait for
/// each other. Bounded: a shard that is full of unexpired entries refuses new tokens rather than forget
/// one early, because forgetting would let that token be replayed (fail closed). Expired entries are
/// dropped lazily, by the next insertion into their shard, so memory stays within `capacity` without a timer.
final class ReplayCache: @unchecked Sendable {
    private final class Shard {
        let lock = NSLock()
        var expiries: [String: Int64]
        /// Insertion order with expiry. Tokens live about equally long, so this is nearly expiry order and
        /// expired entries are found at the front; one out of order merely waits a little longer.
        var queue: [(expiry: Int64, jti: String)] = []
        var head = 0

        init(capacity: Int) {
            expiries = Dictionary(minimumCapacity: capacity)
            queue.reserveCapacity(capacity)
        }
    }

    enum Outcome { case first, seen, full }

    private let shards: [Shard]
    private let mask: Int
    private let capacityPerShard: Int

    /// `capacity` entries in all, spread over a power-of-two number of shards.
    init(capacity: Int, shards: Int = 16) {
        var n = 1
        while n < max(1, shards) { n <<= 1 }
        mask = n - 1
        capacityPerShard = max(1, (capacity + n - 1) / n)
        self.shards = (0..<n).map { _ in Shard(capacity: max(1, (capacity + n - 1) / n)) }
    }

    /// Records `jti` as used until `expiry` (seconds since 1970), unless it was already recorded.
    func insert(_ jti: String, expiry: Int64, now: Int64) -> Outcome {
        let shard = shards[jti.hashValue & mask]
        shard.lock.lock()
        defer { shard.lock.unlock() }
        if shard.expiries[jti] != nil { return .seen }
        evict(shard, now: now)
        if shard.expiries.count >= capacityPerShard {
            sweep(shard, now: now)
            if shard.expiries.count >= capacityPerShard { return .full }
        }
        shard.expiries[jti] = expiry
        shard.queue.append((expiry, jti))
        return .first
    }

    /// Forgets entries from the front of the queue that have expired.
    private func evict(_ shard: Shard, now: Int64) {
        while shard.head < shard.queue.count, shard.queue[shard.head].expiry < now {
            shard.expiries.removeValue(forKey: shard.queue[shard.head].jti)
            shard.head += 1
        }
        if shard.head > 1024, shard.head * 2 > shard.queue.count {
            shard.queue.removeFirst(shard.head)
            shard.head = 0
        }
    }

    /// Forgets every expired entry, wherever it sits (only when full).
    private func sweep(_ shard: Shard, now: Int64) {
        shard.queue = shard.queue[shard.head...].filter { $0.expiry >= now }
        shard.head = 0
        shard.expiries = shard.expiries.filter { $0.value >= now }
    }

    /// Entries currently held (for tests and metrics).
    var count: Int {
        shards.reduce(0) { total, shard in
            shard.lock.lock(); defer { shard.lock.unlock() }
            return total + shard.expiries.count
        }
    }
}
