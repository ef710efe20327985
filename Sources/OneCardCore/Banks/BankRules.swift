import Foundation

/// A bank account number as a holder or bank gives it: 10 to 30 digits.
public enum AccountNumber {
    public static func validate(_ v: String, field: String = "accountNumber") throws(DomainError) {
        guard (10...30).contains(v.count), v.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .invalidField(field, "10 to 30 digits")
        }
    }
}

/// The legal changes of a cooperating bank's status (GD art. 20: for a breach the department suspends the
/// bank's new card business or ends the agreement; ending it needs a plan that moves every holder without harm).
public enum BankStatusChange {
    public static func check(from: Bank.Status, to: Bank.Status, successor: Bank?, code: String) throws(DomainError) {
        guard from != .terminated else { throw .invalidTransition("bank \(code) is terminated; its agreement cannot be revived") }
        guard from != to else { throw .invalidTransition("bank \(code) is already \(to.rawValue)") }
        guard to == .terminated else { return }
        guard let successor else {
            throw DomainError(.successorRequired, "terminating a bank needs successorBankCode, the bank its holders move to")
        }
        guard successor.code != code, successor.status == .active else {
            throw DomainError(.invalidSuccessor, "the successor must be another active bank")
        }
    }
}

/// A terminated bank's migration plan: holders choose another bank until `chooseBy`, then the successor
/// is applied to every card still waiting (GD art. 20: "做好相关业务衔接…不得影响持卡人的合法权益").
public enum MigrationCardStatus: String, Codable, Sendable, CaseIterable {
    /// Still with the terminated bank; payments to it are held.
    case pending
    /// The holder chose a bank within the period.
    case chosen
    /// Moved to the successor when the period ended.
    case moved
}

/// Exponential back-off with full jitter: attempt 1 waits up to `base`, each next one twice as long, never over `cap`.
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    public init(base: Double = 0.05, cap: Double = 2) { self.base = base; self.cap = cap }

    public func delay(attempt: Int, unit: Double) -> Double {
        let ceiling = min(cap, base * pow(2, Double(max(0, attempt - 1))))
        return ceiling * min(max(unit, 0), 1)
    }
}

/// A circuit breaker per bank: after `threshold` failures in a row it opens and refuses calls for
/// `coolDown` seconds, then lets one trial call through (half-open); a success closes it again.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable { case closed, open(until: Date), halfOpen }
    public private(set) var state: State = .closed
    public private(set) var failures = 0
    public let threshold: Int
    public let coolDown: TimeInterval

    public init(threshold: Int = 5, coolDown: TimeInterval = 2) { self.threshold = threshold; self.coolDown = coolDown }

    /// Whether a call may go out now; moves an open breaker whose cool-down is over to half-open.
    public mutating func allow(now: Date) -> Bool {
        switch state {
        case .closed, .halfOpen: return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        }
    }

    public mutating func succeeded() { state = .closed; failures = 0 }

    public mutating func failed(now: Date) {
        failures += 1
        if state == .halfOpen || failures >= threshold { state = .open(until: now.addingTimeInterval(coolDown)) }
    }
}

/// When the executor looks again at a batch whose banks could not all be reached. Each such pass reads every payment
/// in flight up to the last one (and opens their sealed accounts), so with a bank down for an hour, looking every
/// pass would do that thousands of times for nothing: instead the batch waits `backoff` (0.5 s, then twice as long
/// each time, up to 30 s). A pass that reached every bank, or news that a bank or an account changed, ends the wait.
public struct BatchRetrySchedule: Sendable {
    public let backoff: Backoff
    private var waits: [PaymentBatch.ID: (failures: Int, until: Date)] = [:]

    public init(backoff: Backoff = Backoff(base: 0.5, cap: 30)) { self.backoff = backoff }

    public func isDue(_ batchId: PaymentBatch.ID, now: Date) -> Bool { waits[batchId].map { now >= $0.until } ?? true }

    /// A pass could not reach a bank: wait longer than last time.
    public mutating func unreachable(_ batchId: PaymentBatch.ID, now: Date) {
        let failures = (waits[batchId]?.failures ?? 0) + 1
        waits[batchId] = (failures, now.addingTimeInterval(backoff.delay(attempt: failures, unit: 1)))
    }

    /// A pass reached every bank (or the batch is done): no wait.
    public mutating func reached(_ batchId: PaymentBatch.ID) { waits[batchId] = nil }

    /// A bank or an account changed: every batch is looked at again at once.
    public mutating func reset() { waits = [:] }

    /// Forgets batches no longer executing.
    public mutating func keep(only executing: [PaymentBatch.ID]) {
        let live = Set(executing)
        waits = waits.filter { live.contains($0.key) }
    }

    /// The earliest end of a wait, if any batch is waiting.
    public var nextDue: Date? { waits.values.map(\.until).min() }
}
