import Foundation
import Testing
@testable import OneCardCore

@Suite("Service: how long a credit record stays published, and when it may be repaired")
struct ServiceCreditRecordTests {
    let schemes = ServiceFixtures.credit
    func day(_ t: String) -> CalendarDay { ServiceFixtures.day(t) }

    /// wave2-facts 3.3 WE-E4: a general record decided 2026-05-15: published from 05-15, repair from 2026-08-15, stops 2027-05-15;
    /// repaired on 2026-09-01, publication stops that day.
    @Test func WE_E4_generalRecordPeriodAndRepair() throws {
        // action
        let p = try schemes.period(for: .general, decidedOn: day("2026-05-15"))
        // validate
        #expect(p.publishedFrom == day("2026-05-15"))
        #expect(p.repairEligibleFrom == day("2026-08-15"))
        #expect(p.publishedUntil == day("2027-05-15"))
        #expect(p.publishedByDefault)
        #expect(p.isPublished(on: day("2027-05-14")))
        #expect(!p.isPublished(on: day("2027-05-15")))
        #expect(ServiceFixtures.code { try p.checkRepair(on: day("2026-09-01")) } == nil)
        #expect(p.endOfPublication(repairedOn: day("2026-09-01")) == day("2026-09-01"))
        #expect(p.isPublished(on: day("2026-08-31"), repairedOn: day("2026-09-01")))
        #expect(!p.isPublished(on: day("2026-09-01"), repairedOn: day("2026-09-01")))
    }

    @Test func repairBeforeTheMinimumPeriodIsRefused() throws {
        let p = try schemes.period(for: .general, decidedOn: day("2026-05-15"))
        #expect(ServiceFixtures.code { try p.checkRepair(on: day("2026-08-14")) } == "repair_not_yet_eligible")
        #expect(ServiceFixtures.code { try p.checkRepair(on: day("2026-08-15")) } == nil)
    }

    @Test func seriousAndMinorClasses() throws {
        let serious = try schemes.period(for: .serious, decidedOn: day("2026-05-15"))
        #expect(serious.repairEligibleFrom == day("2027-05-15"))
        #expect(serious.publishedUntil == day("2029-05-15"))
        let minor = try schemes.period(for: .minor, decidedOn: day("2026-05-15"))
        #expect(!minor.publishedByDefault)  // in principle not published
        #expect(!minor.isPublished(on: day("2026-05-16")))
        #expect(minor.publishedUntil == day("2026-08-15"))  // at most 3 months if it is
        #expect(minor.repairEligibleFrom == day("2026-05-15"))  // once obligations are met
    }

    /// A period in months ends on the corresponding day, or the month's last day when there is none (民法典 art. 202).
    @Test func periodEndingInAShorterMonth() throws {
        let p = try schemes.period(for: .general, decidedOn: day("2026-11-30"))
        #expect(p.repairEligibleFrom == day("2027-02-28"))
        #expect(p.publishedUntil == day("2027-11-30"))
    }

    /// The 2026 national measures took effect on 2026-04-01; earlier decisions are not classed by guesswork.
    @Test func decisionsBeforeTheSchemeAreRefused() throws {
        #expect(ServiceFixtures.code { _ = try schemes.period(for: .general, decidedOn: day("2026-03-31")) } == "credit_scheme_not_covered")
        #expect(try schemes.period(for: .general, decidedOn: day("2026-04-01")).publishedUntil == day("2027-04-01"))
        var bad = schemes
        bad.schemes[0].classes["general"]?.minimumMonths = 13
        #expect(ServiceFixtures.code { try bad.validate() } == "invalid_field")
    }
}
