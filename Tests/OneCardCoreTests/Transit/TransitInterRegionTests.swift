import Foundation
import Testing
@testable import OneCardCore

@Suite("Transit across provinces: a trip sent to the card's issuer, and the daily inter-region statement")
struct TransitInterRegionTests {
    static func breakdown(full: Int, discount: Int = 0, concession: Int = 0) -> FareBreakdown {
        FareBreakdown(distanceMetres: nil, basis: .ridden, fullFareFen: full,
                      discounts: discount == 0 ? [] : [AppliedDiscount(kind: .card, percent: 50, amountFen: discount, basis: "card")],
                      concession: concession == 0 ? nil : AppliedConcession(code: "tj_elderly", basis: "65+", percentOff: 100, amountFen: concession),
                      chargedFen: full - discount - concession)
    }

    static func trip(_ id: String, _ b: FareBreakdown) -> TransitRemoteTrip {
        TransitRemoteTrip(tripId: id, cardNumber: "110000000000000001", rideRegion: "120000", operatorCode: "TJ-BUS", operatorName: "天津公交",
                          mode: "bus", entryStation: "S1", exitStation: nil, route: "1", startedAt: "2026-03-02T01:00:00Z", endedAt: nil,
                          serviceDay: "2026-03-02", breakdown: b)
    }

    @Test func aTripThatAddsUpIsAcceptedByTheIssuerAndOneThatDoesNotIsRefused() {
        // setup
        var bad = Self.breakdown(full: 200, discount: 100)
        bad.chargedFen = 150
        // validate
        #expect(Self.trip("t1", Self.breakdown(full: 200, discount: 100)).problem == nil)
        #expect(Self.trip("t2", bad).problem != nil)
        #expect(Self.trip("", Self.breakdown(full: 200)).problem != nil)
        var day = Self.trip("t3", Self.breakdown(full: 200))
        day.serviceDay = "2026-02-30"
        #expect(day.problem != nil)
    }

    @Test func theIssuersOutcomesMapToTripStatuses() {
        #expect(TransitChargeResult(tripId: "t", status: "charged", chargedFen: 100, reason: nil).tripStatus == .charged)
        #expect(TransitChargeResult(tripId: "t", status: "unpaid", chargedFen: 0, reason: "insufficient_funds").tripStatus == .unpaid)
        #expect(TransitChargeResult(tripId: "t", status: "refused", chargedFen: 0, reason: "card_not_found").tripStatus == .disputed)
        #expect(TransitChargeResult(tripId: "t", status: "maybe", chargedFen: 0, reason: nil).tripStatus == nil)
    }

    @Test func bothSidesAgreeingReconcileToZeroInEachDirection() {
        // setup: Beijing cards ride in Tianjin (a bus at ¥2 with the card's 50 % and a free elderly ride); no Tianjin card rode in Beijing
        var ridden = InterRegionStatement.Flow(rideRegion: "120000", issuerRegion: "110000")
        ridden.add(Self.breakdown(full: 200, discount: 100), collected: true)
        ridden.add(Self.breakdown(full: 200, concession: 200), collected: true)
        let tianjin = InterRegionStatement.Side(day: "2026-03-02", region: "120000", counterpart: "110000", ridesHere: ridden,
                                                ridesThere: .init(rideRegion: "110000", issuerRegion: "120000"), computedAt: "2026-03-03T00:00:00Z")
        let beijing = InterRegionStatement.Side(day: "2026-03-02", region: "110000", counterpart: "120000",
                                                ridesHere: .init(rideRegion: "110000", issuerRegion: "120000"), ridesThere: ridden,
                                                computedAt: "2026-03-03T00:00:01Z")
        // action
        let lines = InterRegionStatement.reconcile(ours: tianjin, theirs: beijing)
        // validate
        #expect(ridden.trips == 2 && ridden.chargedFen == 100 && ridden.collectedFen == 100 && ridden.concessionFen == 200)
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.reconciled })
        #expect(lines[0].difference?.chargedFen == 0)
    }

    @Test func aTripTheIssuerHasNotChargedShowsAsADifference() {
        // setup: the riding side has a trip the issuer has not collected yet
        var riding = InterRegionStatement.Flow(rideRegion: "120000", issuerRegion: "110000")
        riding.add(Self.breakdown(full: 200, discount: 100), collected: false)
        var issuer = InterRegionStatement.Flow(rideRegion: "120000", issuerRegion: "110000")
        issuer.add(Self.breakdown(full: 200, discount: 100), collected: false)
        issuer.add(Self.breakdown(full: 300), collected: true)
        let ours = InterRegionStatement.Side(day: "2026-03-02", region: "120000", counterpart: "110000", ridesHere: riding,
                                             ridesThere: .init(rideRegion: "110000", issuerRegion: "120000"), computedAt: "2026-03-03T00:00:00Z")
        let theirs = InterRegionStatement.Side(day: "2026-03-02", region: "110000", counterpart: "120000",
                                               ridesHere: .init(rideRegion: "110000", issuerRegion: "120000"), ridesThere: issuer,
                                               computedAt: "2026-03-03T00:00:00Z")
        // action
        let lines = InterRegionStatement.reconcile(ours: ours, theirs: theirs)
        // validate
        #expect(lines[0].difference?.trips == -1)
        #expect(lines[0].difference?.collectedFen == -300)
        #expect(!lines[0].reconciled)
        // Another day's or another pair's side is not compared: no difference until the right one arrives.
        var otherDay = theirs
        otherDay.day = "2026-03-01"
        #expect(InterRegionStatement.reconcile(ours: ours, theirs: otherDay).allSatisfy { $0.difference == nil && !$0.reconciled })
    }
}
