import Foundation

/// A token bucket (issue 17 "Hardening": acceptance per terminal, public endpoints per address): `burst` requests at
/// once, refilled at `perSecond`; a request that finds the bucket empty is told when the next token arrives. The
/// figures are presets (no regulation fixes them), set per node with `serve --rate-limit-terminal/--rate-limit-public`.
public struct RateLimit: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Double

    public init(perSecond: Double, burst: Double) { self.perSecond = perSecond; self.burst = burst }

    /// A terminal: a busy gate decides a few codes a second; a venue server behind many gates, a few hundred.
    public static let terminalPreset = RateLimit(perSecond: 200, burst: 1000)
    /// One address calling the public endpoints (trust list, revocations, catalogue, outlets, sign-in).
    public static let publicPreset = RateLimit(perSecond: 50, burst: 200)

    public struct Bucket: Sendable, Equatable {
        public var tokens: Double
        public var updated: Date
        public init(tokens: Double, updated: Date) { self.tokens = tokens; self.updated = updated }
    }

    /// Takes one token at `now`: the bucket afterwards, and nil when the request may go, else the seconds to wait.
    public func take(_ bucket: Bucket?, now: Date) -> (Bucket, retryAfter: Int?) {
        var b = bucket ?? Bucket(tokens: burst, updated: now)
        b.tokens = min(burst, b.tokens + max(0, now.timeIntervalSince(b.updated)) * perSecond)
        b.updated = now
        guard b.tokens >= 1 else { return (b, Int(((1 - b.tokens) / perSecond).rounded(.up)).clamped(1, 3600)) }
        b.tokens -= 1
        return (b, nil)
    }
}

extension Int {
    func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(high, Swift.max(low, self)) }
}
