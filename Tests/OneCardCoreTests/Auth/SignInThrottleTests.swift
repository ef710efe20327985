import Foundation
import OneCardCore
import Testing

@Suite("Sign-in throttle: five failures in a quarter hour lock an account for a quarter hour")
struct SignInThrottleTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func theFifthFailureInTheWindowLocksAndTheLockEnds() {
        let throttle = SignInThrottle()
        var state: SignInThrottle.State?
        for i in 0..<4 {
            state = throttle.afterFailure(state, now: t0.addingTimeInterval(Double(i) * 60))
            #expect(throttle.lockedUntil(state, now: t0.addingTimeInterval(Double(i) * 60)) == nil)
        }
        state = throttle.afterFailure(state, now: t0.addingTimeInterval(300))
        #expect(throttle.lockedUntil(state, now: t0.addingTimeInterval(301)) == t0.addingTimeInterval(300 + 900))
        #expect(throttle.lockedUntil(state, now: t0.addingTimeInterval(1201)) == nil)
        // after the lock, counting starts again
        #expect(throttle.afterFailure(state, now: t0.addingTimeInterval(1300)).failures == 1)
    }

    @Test func failuresSpreadBeyondTheWindowDoNotLock() {
        let throttle = SignInThrottle()
        var state: SignInThrottle.State?
        for i in 0..<10 { state = throttle.afterFailure(state, now: t0.addingTimeInterval(Double(i) * 400)) }
        #expect(throttle.lockedUntil(state, now: t0.addingTimeInterval(4000)) == nil)
    }
}
