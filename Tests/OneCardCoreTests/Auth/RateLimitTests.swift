import Foundation
import OneCardCore
import Testing

@Suite("Rate limits: a token bucket per caller")
struct RateLimitTests {
    @Test func aBurstThenTheSteadyRateThenAWaitToldInSeconds() {
        let limit = RateLimit(perSecond: 2, burst: 3)
        let t0 = Date(timeIntervalSince1970: 1_795_000_000)
        var bucket: RateLimit.Bucket?
        for _ in 0..<3 {
            let (b, wait) = limit.take(bucket, now: t0)
            #expect(wait == nil)
            bucket = b
        }
        let (empty, wait) = limit.take(bucket, now: t0)
        #expect(wait == 1)
        // Half a second later one token has come back; a long pause refills to the burst, never beyond.
        #expect(limit.take(empty, now: t0.addingTimeInterval(0.5)).retryAfter == nil)
        var refilled = limit.take(empty, now: t0.addingTimeInterval(3600)).0
        var allowed = 0
        while limit.take(refilled, now: t0.addingTimeInterval(3600)).retryAfter == nil {
            refilled = limit.take(refilled, now: t0.addingTimeInterval(3600)).0
            allowed += 1
            if allowed > 10 { break }
        }
        #expect(allowed == 2)  // three in the bucket after the pause, one taken by the call that refilled it
        // A slow limit says how long to wait, rounded up.
        let slow = RateLimit(perSecond: 0.1, burst: 1)
        let (used, _) = slow.take(nil, now: t0)
        #expect(slow.take(used, now: t0).retryAfter == 10)
    }
}

@Suite("Passwords guessers try first are refused")
struct PasswordRuleTests {
    @Test func commonRunsRepeatsAndOwnNamesAreWeak() throws {
        for weak in ["password", "Password123", "12345678", "87654321", "abcdefgh", "aaaaaaaa", "qwertyuiop", "woaini1314"] {
            #expect(throws: DomainError.self, "\(weak)") { try Credentials.validate(password: weak) }
            do { try Credentials.validate(password: weak) } catch { #expect(error.code == .weakPassword) }
        }
        #expect(throws: DomainError.self) { try Credentials.validate(username: "zhangwei", password: "ZhangWei") }
        #expect(throws: DomainError.self) { try Credentials.validate(password: "110105199001011234", notEqualTo: ["110105199001011234"]) }
        do { try Credentials.validate(password: "short") } catch { #expect(error.code == .invalidField) }
        try Credentials.validate(username: "agent", password: "agent-password")
        try Credentials.validate(password: "西湖边的一棵老柳树")
    }
}

@Suite("Consent in force")
struct ConsentRuleTests {
    @Test func aConsentCountsFromItsGivingUntilItsWithdrawalForItsGrantee() {
        let t0 = Date(timeIntervalSince1970: 1_795_000_000)
        let c = Consent(id: "c", personId: "p", purpose: .familyService, grantee: "g1", grantedAt: t0, withdrawnAt: t0.addingTimeInterval(60))
        #expect(!c.inForce(at: t0.addingTimeInterval(-1)) && c.inForce(at: t0) && !c.inForce(at: t0.addingTimeInterval(60)))
        #expect(Consent.allows([c], .familyService, grantee: "g1", at: t0))
        #expect(!Consent.allows([c], .familyService, grantee: "g2", at: t0))
        #expect(!Consent.allows([c], .elicenceCheck, at: t0))
        let anyone = Consent(id: "d", personId: "p", purpose: .elicenceCheck, grantee: nil, grantedAt: t0)
        #expect(Consent.allows([anyone], .elicenceCheck, grantee: "venue-1", at: t0.addingTimeInterval(86_400 * 365)))
    }
}
