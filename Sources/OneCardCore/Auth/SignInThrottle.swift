import Foundation

/// How failed sign-ins lock an account for a while (API.md "Risk, audit, incident": a locked sign-in is 429
/// `too_many_attempts`), so a guessing attacker gets a handful of tries per quarter hour rather than thousands.
/// The figures are presets (no regulation fixes them; GD art. 17 asks for measures against such attacks).
public struct SignInThrottle: Sendable, Equatable {
    /// Failures within `window` that lock the account.
    public var maxFailures: Int = 5
    public var window: TimeInterval = 15 * 60
    /// How long a lock lasts.
    public var lock: TimeInterval = 15 * 60

    public init() {}

    /// The failures counted so far for one account.
    public struct State: Sendable, Equatable {
        public var failures: Int
        public var firstAt: Date
        public var lockedUntil: Date?
        public init(failures: Int, firstAt: Date, lockedUntil: Date?) { self.failures = failures; self.firstAt = firstAt; self.lockedUntil = lockedUntil }
    }

    /// Until when the account is locked at `now`, if it is.
    public func lockedUntil(_ state: State?, now: Date) -> Date? {
        guard let until = state?.lockedUntil, until > now else { return nil }
        return until
    }

    /// The state after one more failure at `now`: counting restarts once the window has passed; the failure that
    /// reaches the limit locks the account.
    public func afterFailure(_ state: State?, now: Date) -> State {
        var s = state ?? State(failures: 0, firstAt: now, lockedUntil: nil)
        if now.timeIntervalSince(s.firstAt) > window || (s.lockedUntil.map { $0 <= now } ?? false) {
            s = State(failures: 0, firstAt: now, lockedUntil: nil)
        }
        s.failures += 1
        if s.failures >= maxFailures { s.lockedUntil = now.addingTimeInterval(lock) }
        return s
    }
}
