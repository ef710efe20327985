import Foundation
import NIOConcurrencyHelpers
import OneCardCore

/// The buckets of one process, by key (`terminal:<id>`, `address:<ip>`). Per process: with several `serve` processes
/// behind a load balancer a caller gets each process's allowance (the balancer's own limits are the outer fence).
/// Idle buckets are forgotten once the table grows, so a spray of addresses cannot grow it without bound.
final class RateLimiter: Sendable {
    let terminal: RateLimit?
    let publicLimit: RateLimit?
    private let buckets = NIOLockedValueBox<[String: RateLimit.Bucket]>([:])
    private static let maxKeys = 50_000

    init(terminal: RateLimit?, public publicLimit: RateLimit?) {
        self.terminal = terminal; self.publicLimit = publicLimit
    }

    /// Takes a token for `key` under `limit`; nil when the request may go, else the seconds to wait.
    func take(_ key: String, _ limit: RateLimit, now: Date = Date()) -> Int? {
        buckets.withLockedValue { table in
            if table.count >= Self.maxKeys {
                table = table.filter { now.timeIntervalSince($0.value.updated) < 60 }
                if table.count >= Self.maxKeys { table.removeAll(keepingCapacity: true) }
            }
            let (bucket, wait) = limit.take(table[key], now: now)
            table[key] = bucket
            return wait
        }
    }

    /// Refuses the request with 429 `rate_limited` and `Retry-After` when its caller's bucket is empty: terminals by
    /// their key, anonymous callers by address. Staff and holders are not limited here (their sign-in is, per account).
    func check(_ identity: Identity?, address: String?) throws(DomainError) {
        let wait: Int?
        if let identity {
            guard identity.role == .terminal, let terminal else { return }
            wait = take("terminal:\(identity.subject)", terminal)
        } else {
            guard let publicLimit, let address else { return }
            wait = take("address:\(address)", publicLimit)
        }
        if let wait {
            throw DomainError(.rateLimited, "too many requests from this caller; try again in \(wait) s", extensions: ["retryAfter": String(wait)])
        }
    }
}
