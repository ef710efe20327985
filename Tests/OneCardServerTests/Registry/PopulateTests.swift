import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("bench populate: synthetic residents written in bulk are read as production reads them")
struct PopulateTests {
    @Test(arguments: Engine.available)
    func populatedResidentsAreFoundByIDNumberSeeTheirPagesAndTheirCardsAreAccepted(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a bank (cards get its account), the catalogue and a library in Beijing
            try await h.createBank()
            try await h.seedCatalogue()
            let (_, library) = try await h.createVenue(type: "library", region: "110105", items: ["JJJ-LIB-001"])
            // populate 200, in batches of 64 (several transactions, the last one partly used)
            let report = try await h.services.populate.populate(persons: 200, batch: 64)
            #expect(report.added == 200 && report.skipped == 0 && report.first == 0 && report.next == 200)
            let (persons, cards, events) = (try await h.count("persons"), try await h.count("cards"), try await h.count("card_events"))
            #expect(persons == 200 && cards == 200 && events == 400)
            let residents = SyntheticResidents(province: "110000")
            for k in [0, 63, 64, 199] {
                let r = residents.resident(k)
                // validate: the agent desk finds the card by the ID number (blind index), active
                let agent = try await PageBrowser.signedIn(h, staff: "agent")
                _ = try await agent.get("/agent")
                let found = try await agent.post("/agent/find", [("by", "id"), ("value", r.idNumber)])
                #expect(found.status == 200 && found.html.contains(r.cardNumber.rawValue) && found.html.contains(#"data-status="active""#), "\(found)")
                // the resident opens an online account with their name (identity matched through the blind index) and sees the card
                let signUp = try await h.call(.post, "/api/v1/holders", json: ["idType": "resident", "idNumber": r.idNumber, "name": r.name,
                                                                           "phone": r.phone, "password": "holder-password"])
                #expect(signUp.status == 201, "\(signUp)")
                let holder = PageBrowser(h)
                try await holder.signIn(holder: r.idNumber)
                let me = try await holder.get("/me")
                #expect(me.html.contains(r.cardNumber.rawValue) && me.html.contains(#"data-status="active""#), "\(me)")
                let card = try await h.call(.get, "/api/v1/cards/\(r.cardNumber.rawValue)", token: h.agent)
                #expect(card.string("status") == "active" && card.string("bankCode") == "ICBC" && card.string("accountMasked") != nil, "\(card)")
                #expect(try await h.eventTypes(r.cardNumber.rawValue) == ["card_issued", "card_activated"])
                // the card's chip answers a gate's challenge and is accepted
                let use = try await h.accept(key: library, item: "JJJ-LIB-001",
                                             credential: try CatalogueAndAcceptanceAPITests.chipCredential(h, card: r.cardNumber.rawValue))
                #expect(use.string("decision") == "accepted", "\(use)")
            }
            // The run is audited once, not per person.
            let audited = try await h.services.store.read { s in
                try await s.db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'persons_populated'").first()!.decode(column: "n", as: Int64.self)
            }
            #expect(audited == 1)
        }
    }

    @Test(arguments: Engine.available)
    func aReRunAddsMoreAndSkipsTakenNumbers(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: 30 populated, then someone registers through the API the ID number the next run would make
            _ = try await h.services.populate.populate(persons: 30, batch: 16)
            let residents = SyntheticResidents(province: "110000")
            // the next run starts after the highest synthetic card (resident 29); resident 31's number is registered meanwhile
            _ = try await h.createPerson(idNumber: residents.resident(31).idNumber, name: "王秀梅")
            // action
            let report = try await h.services.populate.populate(persons: 20, batch: 16)
            // validate: 20 more, the taken number skipped and not duplicated, no card number twice
            #expect(report.added == 20 && report.skipped == 1 && report.first == 30 && report.next == 51, "\(report)")
            #expect(try await h.count("persons") == 51)
            #expect(try await h.count("cards") == 50)
            let distinct = try await h.services.store.read { s in
                try await s.db.raw("SELECT COUNT(DISTINCT id_index) AS n FROM persons").first()!.decode(column: "n", as: Int64.self)
            }
            #expect(distinct == 51)
        }
    }

    @Test func anUnmigratedDatabaseIsRefused() async throws {
        // setup: a fresh in-memory database, never migrated
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-populate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let config = try ServerConfiguration(database: .sqliteMemory, region: "110000", dataDir: dataDir, bcryptCost: 4, logLevel: .warning)
        let services = try await OneCardApp.services(config, signs: false, logger: TestDatabase.logger)
        // action and validate
        await #expect(throws: ConfigurationError.self) { _ = try await services.populate.populate(persons: 5) }
        await services.store.close()
    }
}
