import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Transit pages: my trips with the function switch, operators and the daily clearing")
struct TransitPagesTests {
    @Test(arguments: Engine.available)
    func aResidentSeesTripsWithTheirConcessionAndSwitchesTheFunction(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            // setup: a 66-year-old rides the bus (free by Beijing's rule) and the metro
            let idNumber = TestIDs.resident(birth: "19600101", sequence: "631")
            let (holder, _, card) = try await h.holderWithECard(idNumber: idNumber)
            try await w.fund(card, 5_000)
            try await w.ride(holder, from: "S0", to: "S12", minutes: 30, operator: "BJ-BUS")
            try await w.ride(holder, from: "A", to: "E")
            try await h.services.transit.chargeDue()
            let b = PageBrowser(h)
            try await b.signIn(holder: idNumber)
            // action: the trips page
            let page = try await b.get("/me/trips")
            // validate: both trips, the fare, the card discount, the concession with its basis, the charge and status
            #expect(page.status == 200, "\(page)")
            #expect(page.html.components(separatedBy: "data-trip=").count == 3)
            #expect(page.html.contains(#"data-concession="bj_elderly_65_bus""#) && page.html.contains("72.0 km") && page.html.contains("8.00"))
            #expect(page.html.contains(#"data-status="charged""#) && page.html.contains("刷卡优惠"))
            #expect(try await b.get("/me").html.contains(#"href="/me/trips""#))
            // the switch: removed, with the card event; the page says so
            let off = try await b.post("/me/card/functions", [("transit", "false")])
            #expect(off.location == "/me/trips", "\(off)")
            #expect(try await b.get("/me/trips").html.contains(#"data-transit="false""#))
            #expect(try await h.eventTypes(card).last == "transit_function_removed")
            // English too
            #expect(try await b.get("/me/trips?lang=en").status == 200)
        }
    }

    @Test(arguments: Engine.available)
    func anAdministratorSeesOperatorsAndTheClearingAndRegistersAnOperator(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            let (holder, _, card) = try await h.holderWithECard()
            try await w.fund(card, 5_000)
            try await w.ride(holder, from: "A", to: "C")
            try await h.services.transit.chargeDue()
            _ = try await h.signedInStaff("boss", .admin)
            let b = try await PageBrowser.signedIn(h, staff: "boss")
            let list = try await b.get("/admin/transit")
            #expect(list.status == 200 && list.html.contains(#"data-operator="BJ-METRO""#) && list.html.contains("distance_bands"), "\(list)")
            #expect(try await b.get("/admin").html.contains(#"href="/admin/transit""#))
            // the clearing of today
            let day = CalendarDay(h.clock.read()).description
            let clearing = try await b.get("/admin/transit?operator=BJ-METRO&date=\(day)")
            #expect(clearing.html.contains(#"<dd data-field="trips">1</dd>"#) && clearing.html.contains("4.00"), "\(clearing)")
            // a new operator from the form
            let created = try await b.post("/admin/transit/operators", [
                ("code", "BJ-FERRY"), ("name", "北京轮渡"), ("regionCode", "110000"), ("mode", "ferry"), ("bankCode", "ICBC"),
                ("accountNumber", "6222000099998888777"), ("fareTable", #"{"effectiveFrom":"2024-01-01","model":"flat","fareFen":500}"#),
            ])
            #expect(created.location == "/admin/transit", "\(created)")
            #expect(try await b.get("/admin/transit").html.contains(#"data-operator="BJ-FERRY""#))
            // the auditor reads the clearing but has no form to register operators; an agent may not come in
            _ = try await h.signedInStaff("aud", .auditor)
            let auditor = try await PageBrowser.signedIn(h, staff: "aud")
            let seen = try await auditor.get("/admin/transit?operator=BJ-METRO&date=\(day)")
            #expect(seen.status == 200 && !seen.html.contains("/admin/transit/operators"))
            _ = try await h.signedInStaff("clerk", .agent)
            #expect(try await PageBrowser.signedIn(h, staff: "clerk").get("/admin/transit").status == 403)
        }
    }
}
