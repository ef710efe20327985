import Foundation
import OneCardCore
import Testing

@Suite("Venue concessions: entitlement × venue type → free, a percentage off, a companion admitted free")
struct VenueConcessionTests {
    let chongqing = PolicyBook.shipped.policy(for: "500000").venueConcessions ?? []

    func rule(_ code: String, _ entitlements: [String], _ types: [VenueType], _ percent: Int, companions: Int? = nil) -> VenueConcession {
        VenueConcession(code: code, entitlements: entitlements, venueTypes: types, percentOff: percent, companions: companions, basis: "test", preset: true)
    }

    /// WE-P1 (重庆市残疾人保障条例 art. 28): a party at a public museum.
    @Test func chongqingAdmitsACompanionOfTheBlindAndTheSeverelyDisabled() {
        #expect(!chongqing.isEmpty)
        let physical2 = VenueConcessions.best(rules: chongqing, entitlements: ["disability", "disability_severe"], venueType: .museum, amountFen: 2000)
        #expect(physical2?.amountFen == 2000 && physical2?.companions == 1)
        let physical3 = VenueConcessions.best(rules: chongqing, entitlements: ["disability"], venueType: .museum, amountFen: 2000)
        #expect(physical3?.amountFen == 2000 && physical3?.companions == 0 && physical3?.code == "cq_disability_venue_free")
        let visual4 = VenueConcessions.best(rules: chongqing, entitlements: ["disability", "disability_visual"], venueType: .museum, amountFen: 2000)
        #expect(visual4?.companions == 1)
        // Not at a hospital, and nothing without the entitlement.
        #expect(VenueConcessions.best(rules: chongqing, entitlements: ["disability"], venueType: .hospital, amountFen: 2000) == nil)
        #expect(VenueConcessions.best(rules: chongqing, entitlements: ["elderly"], venueType: .museum, amountFen: 2000) == nil)
    }

    @Test func theBestConcessionAppliesAndTheFenAddUp() {
        let rules = [rule("half", ["elderly_65"], [.scenic], 50), rule("free", ["veteran"], [.scenic], 100), rule("third", ["elderly"], [.scenic], 30)]
        let half = VenueConcessions.best(rules: rules, entitlements: ["elderly", "elderly_65"], venueType: .scenic, amountFen: 999)
        #expect(half?.code == "half" && half?.amountFen == 499)  // the discount rounds down: 999 − 499 = 500 charged
        let both = VenueConcessions.best(rules: rules, entitlements: ["elderly", "elderly_65", "veteran"], venueType: .scenic, amountFen: 999)
        #expect(both?.code == "free" && both?.amountFen == 999)
        // Without an amount the concession is still named (the venue learns it is free), taking nothing off.
        #expect(VenueConcessions.best(rules: rules, entitlements: ["veteran"], venueType: .scenic, amountFen: 0)?.code == "free")
    }

    @Test func aPackRuleIsChecked() {
        #expect(throws: DomainError.self) { try rule("x", ["disabled"], [.park], 100).validate() }
        #expect(throws: DomainError.self) { try rule("x", ["veteran"], [.park], 0).validate() }
        try? rule("x", ["veteran"], [.park], 0, companions: 1).validate()
        #expect((try? rule("x", ["veteran"], [.park], 0, companions: 1).validate()) != nil)
        for pack in PolicyBook.shipped.policies.values { #expect((try? pack.validate()) != nil, "\(pack.regionCode)") }
    }
}
