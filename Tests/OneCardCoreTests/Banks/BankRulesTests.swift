import Foundation
import Testing
@testable import OneCardCore

@Suite("Bank rules: status changes, circuit breaker, back-off")
struct BankRulesTests {
    func bank(_ code: String, _ status: Bank.Status = .active) -> Bank {
        Bank(code: code, name: code, agreementFrom: CalendarDay(year: 2024, month: 1, day: 1)!, agreementTo: CalendarDay(year: 2030, month: 1, day: 1)!,
             endpoint: nil, status: status)
    }

    @Test func statusChanges() throws {
        try BankStatusChange.check(from: .active, to: .suspended, successor: nil, code: "A")
        try BankStatusChange.check(from: .suspended, to: .active, successor: nil, code: "A")
        try BankStatusChange.check(from: .active, to: .terminated, successor: bank("B"), code: "A")
        #expect(throws: DomainError(.successorRequired, "terminating a bank needs successorBankCode, the bank its holders move to")) {
            try BankStatusChange.check(from: .active, to: .terminated, successor: nil, code: "A")
        }
        #expect(throws: DomainError.self) { try BankStatusChange.check(from: .active, to: .terminated, successor: bank("A"), code: "A") }
        #expect(throws: DomainError.self) { try BankStatusChange.check(from: .active, to: .terminated, successor: bank("B", .suspended), code: "A") }
        #expect(throws: DomainError.invalidTransition("bank A is terminated; its agreement cannot be revived")) {
            try BankStatusChange.check(from: .terminated, to: .active, successor: nil, code: "A")
        }
        #expect(throws: DomainError.self) { try BankStatusChange.check(from: .active, to: .active, successor: nil, code: "A") }
    }

    @Test func accountNumbers() throws {
        try AccountNumber.validate("6222020200112233445")
        #expect(throws: DomainError.self) { try AccountNumber.validate("123") }
        #expect(throws: DomainError.self) { try AccountNumber.validate("62220202001122334x5") }
    }

    @Test func breakerOpensAfterThresholdAndHalfOpensAfterCoolDown() {
        var b = CircuitBreaker(threshold: 3, coolDown: 10)
        let t0 = Date(timeIntervalSince1970: 1000)
        for _ in 0..<2 { let ok = b.allow(now: t0); #expect(ok); b.failed(now: t0) }
        #expect(b.state == .closed)
        b.failed(now: t0)
        #expect(b.state == .open(until: t0.addingTimeInterval(10)))
        let early = b.allow(now: t0.addingTimeInterval(9))
        #expect(!early)
        let trial = b.allow(now: t0.addingTimeInterval(10))
        #expect(trial)
        #expect(b.state == .halfOpen)
        // A failed trial opens it again at once.
        b.failed(now: t0.addingTimeInterval(10))
        let again = b.allow(now: t0.addingTimeInterval(11))
        #expect(!again)
        let later = b.allow(now: t0.addingTimeInterval(21))
        #expect(later)
        b.succeeded()
        #expect(b.state == .closed && b.failures == 0)
    }

    @Test func backoffGrowsAndIsCapped() {
        let b = Backoff(base: 0.1, cap: 1)
        #expect(b.delay(attempt: 1, unit: 1) == 0.1)
        #expect(b.delay(attempt: 3, unit: 1) == 0.4)
        #expect(b.delay(attempt: 10, unit: 1) == 1)
        #expect(b.delay(attempt: 3, unit: 0.5) == 0.2)
    }

    @Test func aBatchWhoseBankIsDownIsLookedAtLessAndLessOften() {
        var schedule = BatchRetrySchedule()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(schedule.isDue("b1", now: t0) && schedule.nextDue == nil)
        // 0.5 s, 1 s, 2 s … up to 30 s
        var now = t0
        for wait in [0.5, 1, 2, 4, 8, 16, 30, 30] {
            schedule.unreachable("b1", now: now)
            #expect(!schedule.isDue("b1", now: now.addingTimeInterval(wait - 0.01)))
            #expect(schedule.isDue("b1", now: now.addingTimeInterval(wait)))
            #expect(schedule.nextDue == now.addingTimeInterval(wait))
            now = now.addingTimeInterval(wait)
        }
        // Another batch is not held up by it.
        #expect(schedule.isDue("b2", now: now))
        // A pass that reaches every bank ends the wait; so does news of a change, for every batch.
        schedule.reached("b1")
        #expect(schedule.isDue("b1", now: now) && schedule.nextDue == nil)
        schedule.unreachable("b1", now: now)
        schedule.unreachable("b2", now: now)
        schedule.reset()
        #expect(schedule.isDue("b1", now: now) && schedule.isDue("b2", now: now))
        // Batches no longer executing are forgotten.
        schedule.unreachable("b1", now: now)
        schedule.unreachable("b2", now: now)
        schedule.keep(only: ["b2"])
        #expect(schedule.isDue("b1", now: now) && !schedule.isDue("b2", now: now))
    }
}
