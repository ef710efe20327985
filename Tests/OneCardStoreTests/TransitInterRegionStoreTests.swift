import Foundation
import OneCardTestSupport
import Testing
@testable import OneCardCore
@testable import OneCardStore

@Suite("Store: transit across provinces (migration 034) on both engines")
struct TransitInterRegionStoreTests {
    func withStore(_ engine: Engine, _ body: (Store) async throws -> Void) async throws {
        let db = try await TestDatabase.make(engine)
        let store = try await db.store()
        do { try await body(store) } catch { await store.close(); await db.remove(); throw error }
        await store.close()
        await db.remove()
    }

    static let now = Date(timeIntervalSince1970: 1_772_400_000)

    static func remote(_ id: String, fen: Int) -> TransitRemoteTrip {
        TransitRemoteTrip(tripId: id, cardNumber: "110000000000000001", rideRegion: "120000", operatorCode: "TJ-BUS", operatorName: "天津公交",
                          mode: "bus", entryStation: "S1", exitStation: nil, route: "1", startedAt: Timestamp.format(now), endedAt: nil,
                          serviceDay: CalendarDay(now).description,
                          breakdown: FareBreakdown(distanceMetres: nil, basis: .ridden, fullFareFen: fen * 2,
                                                   discounts: [AppliedDiscount(kind: .card, percent: 50, amountFen: fen, basis: "card")], concession: nil,
                                                   chargedFen: fen))
    }

    /// A trip of this node's card ridden elsewhere is kept once per trip id, charged once, and counted in the issuer's side.
    @Test(arguments: Engine.available)
    func aRemoteTripIsKeptOnceChargedOnceAndCounted(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            // setup
            let person = Person.ID("p-1")
            let first = try await store.write { s in
                try await s.transit.insertRemote(StoredRemoteTrip(trip: Self.remote("t1", fen: 100), personId: person, status: .priced), at: Self.now)
            }
            // action: a redelivery of the same trip
            let again = try await store.write { s in
                try await s.transit.insertRemote(StoredRemoteTrip(trip: Self.remote("t1", fen: 100), personId: person, status: .priced), at: Self.now)
            }
            _ = try await store.write { s in
                try await s.transit.insertRemote(StoredRemoteTrip(trip: Self.remote("t2", fen: 50), personId: person, status: .priced), at: Self.now)
            }
            let due = try await store.read { try await $0.transit.remoteDue(now: Self.now, limit: 10) }
            try await store.write { s in try await s.transit.markRemoteCharging([("t1", "ICBC", "6222000000000001")], at: Self.now) }
            let charged = try await store.write { s in
                try await s.transit.settleRemoteCharge(["t1"], to: .charged, reason: nil, nextAttemptAt: nil, at: Self.now)
            }
            let twice = try await store.write { s in
                try await s.transit.settleRemoteCharge(["t1"], to: .charged, reason: nil, nextAttemptAt: nil, at: Self.now)
            }
            // validate
            #expect(first && !again)
            #expect(Set(due.map(\.trip.tripId)) == ["t1", "t2"])
            #expect(charged == ["t1"] && twice.isEmpty)
            let kept = try #require(try await store.read { try await $0.transit.findRemote("t1") })
            #expect(kept.status == .charged && kept.accountNumber == "6222000000000001" && kept.debitId == "trip-t1")
            let flow = try await store.read { try await $0.transit.ridesThere(rideRegion: "120000", day: CalendarDay(Self.now), issuer: "110000") }
            #expect(flow.trips == 2 && flow.chargedFen == 150 && flow.collectedFen == 100 && flow.cardDiscountFen == 150)
            #expect(try await store.read { try await $0.transit.remoteTrips(person: person) }.count == 2)
        }
    }

    /// The other node's side is kept per sender and day; a later one replaces it.
    @Test(arguments: Engine.available)
    func theOtherSideOfAStatementIsKeptAndReplaced(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            // setup
            let day = CalendarDay(Self.now)
            var side = InterRegionStatement.Side(day: day.description, region: "110000", counterpart: "120000",
                                                 ridesHere: .init(rideRegion: "110000", issuerRegion: "120000"),
                                                 ridesThere: .init(rideRegion: "120000", issuerRegion: "110000", trips: 1, chargedFen: 100),
                                                 computedAt: "2026-03-02T00:00:00Z")
            // action
            let first = side
            try await store.write { try await $0.transit.keepStatementSide(first, messageId: "m1", at: Self.now) }
            side.ridesThere.collectedFen = 100
            let second = side
            try await store.write { try await $0.transit.keepStatementSide(second, messageId: "m2", at: Self.now) }
            // validate
            let kept = try await store.read { try await $0.transit.statementSide(from: "110000", day: day) }
            #expect(kept == side)
            #expect(try await store.read { try await $0.transit.statementSide(from: "130000", day: day) } == nil)
        }
    }
}
