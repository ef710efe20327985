import Foundation
import OneCardCore
import Testing
@testable import OneCardServer

@Suite("Rate limits on terminals and anonymous addresses")
struct RateLimitAPITests {
    @Test func terminalsByKeyAnonymousCallersByAddressOthersNot() throws {
        let limiter = RateLimiter(terminal: RateLimit(perSecond: 1, burst: 2), public: RateLimit(perSecond: 1, burst: 1))
        let gate = Identity(subject: "t1", role: .terminal, personId: nil)
        try limiter.check(gate, address: "10.0.0.1")
        try limiter.check(gate, address: "10.0.0.2")
        #expect(throws: DomainError.self) { try limiter.check(gate, address: "10.0.0.3") }
        do { try limiter.check(gate, address: nil) } catch { #expect(error.code == .rateLimited && error.extensions["retryAfter"] == "1") }
        // Another terminal has its own allowance; an anonymous address its own; staff are not limited here.
        try limiter.check(Identity(subject: "t2", role: .terminal, personId: nil), address: nil)
        try limiter.check(nil, address: "10.0.0.9")
        #expect(throws: DomainError.self) { try limiter.check(nil, address: "10.0.0.9") }
        try limiter.check(nil, address: "10.0.0.10")
        for _ in 0..<20 { try limiter.check(Identity(subject: "agent", role: .agent, personId: nil), address: "10.0.0.9") }
        // Switched off: nothing is limited.
        let off = RateLimiter(terminal: nil, public: nil)
        for _ in 0..<20 { try off.check(gate, address: "10.0.0.1"); try off.check(nil, address: "10.0.0.1") }
    }
}
