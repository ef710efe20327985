import Foundation
import OneCardCore
import Testing

@Suite("Risk rules: revoked cards, many venues, impossible travel, replay bursts, payments")
struct RiskRulesTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_000_000)
    static let card = try! CardNumber("A12345678")

    static func use(_ id: String, venue: String, region: String = "110101", minutes: Double, accepted: Bool = true, reason: String? = nil,
                    terminal: String = "t1", card: CardNumber? = card) -> RiskUse {
        RiskUse(id: id, cardNumber: card, terminalId: terminal, venueId: venue, venueRegion: region, at: t0.addingTimeInterval(minutes * 60),
                accepted: accepted, reason: reason)
    }

    @Test func aRevokedCardLetThroughOfflineIsHighAndARefusedOneMedium() {
        let revoked = Self.t0
        let passed = RiskRules.revokedCardUsed(Self.use("u1", venue: "v", minutes: 5), revokedAt: revoked)
        #expect(passed?.rule == .revokedCardUsed && passed?.severity == .high && passed?.key == "revoked_card_used:u1")
        // Used before it was revoked: nothing.
        #expect(RiskRules.revokedCardUsed(Self.use("u0", venue: "v", minutes: -5), revokedAt: revoked) == nil)
        #expect(RiskRules.revokedCardUsed(Self.use("u2", venue: "v", minutes: 5), revokedAt: nil) == nil)
        let refused = RiskRules.revokedCardUsed(Self.use("u3", venue: "v", minutes: 6, accepted: false, reason: "card_lost"), revokedAt: revoked)
        #expect(refused?.severity == .medium)
        #expect(RiskRules.revokedCardUsed(Self.use("u4", venue: "v", minutes: 6, accepted: false, reason: "item_not_at_venue"), revokedAt: nil) == nil)
    }

    @Test func fiveVenuesInTenMinutesIsOneFindingFourIsNone() {
        let t = RiskThresholds.preset
        let five = (0..<5).map { Self.use("u\($0)", venue: "v\($0)", minutes: Double($0) * 2.4) }  // 0 … 9.6 minutes
        let f = RiskRules.manyVenues(five, thresholds: t)
        #expect(f?.rule == .manyVenues && f?.useIds.count == 5 && f?.key == "many_venues:u0")
        // The same five spread over eleven minutes, or one venue visited five times: nothing.
        let spread = (0..<5).map { Self.use("u\($0)", venue: "v\($0)", minutes: Double($0) * 2.75) }
        #expect(RiskRules.manyVenues(spread, thresholds: t) == nil)
        let oneVenue = (0..<5).map { Self.use("u\($0)", venue: "v", minutes: Double($0)) }
        #expect(RiskRules.manyVenues(oneVenue, thresholds: t) == nil)
        // Refusals do not count; a region's own threshold does.
        let refused = five.enumerated().map { i, u in var u = u; u.accepted = i != 2; return u }
        #expect(RiskRules.manyVenues(refused, thresholds: t) == nil)
        var three = t; three.manyVenuesCount = 3
        #expect(RiskRules.manyVenues(Array(spread.prefix(3)), thresholds: three) != nil)
    }

    /// The sliding count must find what the rule's definition finds: the first window (by its newest use) holding
    /// `count` distinct venues, on random days of a card at a few venues, with refusals and equal times.
    @Test func theSlidingWindowFindsWhatTheDefinitionFinds() {
        func reference(_ recent: [RiskUse], _ t: RiskThresholds) -> (key: String, count: Int)? {
            let uses = recent.filter(\.accepted).sorted { ($0.at, $0.id) < ($1.at, $1.id) }
            for end in uses.indices {
                let inside = uses[...end].filter { uses[end].at.timeIntervalSince($0.at) <= TimeInterval(t.manyVenuesWindowMinutes * 60) }
                if Set(inside.map(\.venueId)).count >= t.manyVenuesCount { return ("many_venues:\(inside.first!.id)", inside.count) }
            }
            return nil
        }
        var rng = SystemRandomNumberGenerator()
        var t = RiskThresholds.preset
        for round in 0..<300 {
            t.manyVenuesCount = Int.random(in: 2...5, using: &rng)
            let uses = (0..<Int.random(in: 0...40, using: &rng)).map { i in
                Self.use("u\(round)-\(i)", venue: "v\(Int.random(in: 0..<6, using: &rng))", minutes: Double(Int.random(in: 0...120, using: &rng)),
                         accepted: Int.random(in: 0..<8, using: &rng) > 0)
            }
            let found = RiskRules.manyVenues(uses, thresholds: t)
            let expected = reference(uses, t)
            #expect(found?.key == expected?.key && found?.useIds.count == expected?.count, "\(uses.map { "\($0.venueId)@\($0.at)" })")
        }
    }

    @Test func impossibleTravelComparesPrefecturesAndProvinces() {
        let t = RiskThresholds.preset  // 20 minutes between prefectures, 45 between provinces
        let beijingThenTianjin = [Self.use("a", venue: "v1", region: "110101", minutes: 0), Self.use("b", venue: "v2", region: "120101", minutes: 30)]
        #expect(RiskRules.impossibleTravel(beijingThenTianjin, thresholds: t)?.useIds == ["a", "b"])
        let later = [Self.use("a", venue: "v1", region: "110101", minutes: 0), Self.use("b", venue: "v2", region: "120101", minutes: 50)]
        #expect(RiskRules.impossibleTravel(later, thresholds: t) == nil)
        // Within one prefecture any gap is plausible; between two of one province, 20 minutes.
        let sameCity = [Self.use("a", venue: "v1", region: "110101", minutes: 0), Self.use("b", venue: "v2", region: "110105", minutes: 1)]
        #expect(RiskRules.impossibleTravel(sameCity, thresholds: t) == nil)
        let twoCities = [Self.use("a", venue: "v1", region: "440103", minutes: 0), Self.use("b", venue: "v2", region: "440304", minutes: 10)]
        #expect(RiskRules.impossibleTravel(twoCities, thresholds: t) != nil)
        #expect(RiskRules.minimumMinutes(from: "440103", to: "440304", thresholds: t) == 20)
    }

    @Test func aBurstOfForgedPresentationsAtOneTerminal() {
        let t = RiskThresholds.preset  // five within five minutes
        let burst = (0..<5).map { Self.use("r\($0)", venue: "v", minutes: Double($0), accepted: false, reason: "chip_auth_failed", card: nil) }
        let f = RiskRules.replayBurst(burst, thresholds: t)
        #expect(f?.subject == "terminal:t1" && f?.useIds.count == 5)
        #expect(RiskRules.replayBurst(Array(burst.prefix(4)), thresholds: t) == nil)
        let slow = (0..<5).map { Self.use("r\($0)", venue: "v", minutes: Double($0) * 1.5, accepted: false, reason: "token_replayed", card: nil) }
        #expect(RiskRules.replayBurst(slow, thresholds: t) == nil)
        let otherReasons = (0..<5).map { Self.use("r\($0)", venue: "v", minutes: Double($0), accepted: false, reason: "item_not_at_venue", card: nil) }
        #expect(RiskRules.replayBurst(otherReasons, thresholds: t) == nil)
    }

    @Test func paymentsToTheDeadAndAfterAFreshAccountChange() {
        let t = RiskThresholds.preset  // seven days, ¥10,000
        let now = Self.t0
        let changed = now.addingTimeInterval(-3 * 86_400)
        let large = RiskRules.payment(.init(paymentId: "p1", amountFen: 1_000_000, payeeDeceased: false, accountChangedAt: changed), at: now, thresholds: t)
        #expect(large.map(\.rule) == [.accountChangedBeforePayment] && RiskRules.holdsPayment(large[0]))
        #expect(RiskRules.payment(.init(paymentId: "p2", amountFen: 999_999, payeeDeceased: false, accountChangedAt: changed), at: now, thresholds: t).isEmpty)
        let longAgo = now.addingTimeInterval(-7 * 86_400)
        #expect(RiskRules.payment(.init(paymentId: "p3", amountFen: 2_000_000, payeeDeceased: false, accountChangedAt: longAgo), at: now, thresholds: t).isEmpty)
        let dead = RiskRules.payment(.init(paymentId: "p4", amountFen: 100, payeeDeceased: true, accountChangedAt: nil), at: now, thresholds: t)
        #expect(dead.map(\.rule) == [.deceasedPayee] && !RiskRules.holdsPayment(dead[0]))
    }

    @Test func packThresholdsFillGapsFromThePreset() throws {
        let t = try JSONDecoder().decode(RiskThresholds.self, from: Data(#"{"manyVenuesCount":3}"#.utf8))
        #expect(t.manyVenuesCount == 3 && t.manyVenuesWindowMinutes == 10 && t.largePaymentFen == 1_000_000)
    }
}
