import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Family service: relatives linked with their acceptance or an agent's confirmation, acting for them, never their records")
struct FamilyAPITests {
    @Test(arguments: Engine.available)
    func aGuardianShowsTheRelativesQRAndTheUseIsVisibleToTheRelative(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            try await h.createBank()
            let (guardian, guardianPerson, _) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "471"), name: "张伟")
            let motherId = TestIDs.resident(birth: "19500101", sequence: "472")
            let (mother, motherPerson, motherCard) = try await h.holderWithCard(idNumber: motherId, name: "刘桂兰")
            let library = try await h.createVenue(type: "library", region: "110101", items: ["JJJ-LIB-001"]).1

            // A wrong name and an unknown ID number get the same answer; one's own ID cannot be added.
            let wrongName = try await h.call(.post, "/api/v1/me/relatives", token: guardian, json: ["idNumber": motherId, "name": "刘桂芳", "relationship": "parent"])
            let unknown = try await h.call(.post, "/api/v1/me/relatives", token: guardian,
                                           json: ["idNumber": TestIDs.resident(sequence: "479"), "name": "刘桂兰", "relationship": "parent"])
            #expect(wrongName.code == "relative_not_matched" && unknown.code == "relative_not_matched" && wrongName.status == unknown.status)
            #expect(wrongName.string("detail") == unknown.string("detail"))
            #expect(try await h.call(.post, "/api/v1/me/relatives", token: guardian,
                                     json: ["idNumber": TestIDs.resident(sequence: "471"), "name": "张伟", "relationship": "sibling"]).code == "relative_not_matched")

            // Added: pending; acting for her is refused until she accepts.
            let added = try await h.call(.post, "/api/v1/me/relatives", token: guardian, json: ["idNumber": motherId, "name": "刘桂兰", "relationship": "parent"])
            #expect(added.status == 201 && added.string("personId") == motherPerson && added.string("status") == "pending", "\(added)")
            let link = try #require(added.string("linkId"))
            #expect(try await h.call(.post, "/api/v1/me/relatives", token: guardian, json: ["idNumber": motherId, "name": "刘桂兰", "relationship": "parent"])
                .code == "relative_exists")
            #expect(try await h.call(.post, "/api/v1/me/relatives/\(motherPerson)/ecard/qr", token: guardian).code == "relative_link_not_found")
            // Only she accepts it; she sees the request.
            #expect(try await h.call(.post, "/api/v1/me/relatives/requests/\(link)/accept", token: guardian).code == "relative_link_not_found")
            let requests = try await h.call(.get, "/api/v1/me/relatives", token: mother)
            #expect((requests["requests"] as? [[String: Any]])?.first?["linkId"] as? String == link, "\(requests)")
            let accepted = try await h.call(.post, "/api/v1/me/relatives/requests/\(link)/accept", token: mother)
            #expect(accepted.string("status") == "active", "\(accepted)")
            #expect(try await h.call(.post, "/api/v1/me/relatives/requests/\(link)/accept", token: mother).code == "invalid_transition")

            // The guardian shows her QR (her e-card bound for family service); the library accepts it; she sees the use.
            let qr = try await h.call(.post, "/api/v1/me/relatives/\(motherPerson)/ecard/qr", token: guardian)
            let token = try #require(qr.string("token"), "\(qr)")
            let use = try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": token])
            #expect(use.string("decision") == "accepted", "\(use)")
            let hers = try await h.call(.get, "/api/v1/me/uses", token: mother)
            #expect((hers["uses"] as? [[String: Any]])?.first?["useId"] as? String == use.string("useId"), "\(hers)")
            // The guardian sees her uses too; every act is in both sides' activity and audited on both.
            let seen = try await h.call(.get, "/api/v1/me/relatives/\(motherPerson)/uses", token: guardian)
            #expect((seen["uses"] as? [Any])?.count == 1, "\(seen)")
            let activity = try await h.call(.get, "/api/v1/me/relatives/activity", token: mother)
            let actions = (activity["events"] as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
            #expect(actions.sorted() == ["link_accepted", "link_requested", "qr_issued", "uses_read"], "\(actions)")
            for person in [guardianPerson, motherPerson] {
                let audited = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }.map(\.action)
                #expect(audited.contains("family_qr_issued") && audited.contains("family_uses_read"), "\(audited)")
            }

            // Never her records: the guardian's records are their own, and no path reads hers.
            let hr = try await RecordsAPITests.hrss(h)
            #expect(try await h.call(.post, "/api/v1/records", token: hr, json: [
                "personId": motherPerson, "type": "title", "title": "高级教师", "issuer": "北京市教育委员会", "issuedAt": "1995-09-01"]).status == 201)
            #expect((try await h.call(.get, "/api/v1/me/records", token: guardian)["records"] as? [Any])?.isEmpty == true)
            #expect((try await h.call(.get, "/api/v1/me/records", token: mother)["records"] as? [Any])?.count == 1)

            // The guardian reports her card lost (a repeat under the same key changes nothing); then removal ends it all.
            let lost = try await h.call(.post, "/api/v1/me/relatives/\(motherPerson)/report-loss", token: guardian, body: "{\"kind\":\"temporary\"}",
                                        headers: ["Idempotency-Key": "loss-1"])
            #expect(lost.string("status") == "temporarily_lost" && lost.string("cardNumber") == motherCard, "\(lost)")
            _ = try await h.call(.post, "/api/v1/me/relatives/\(motherPerson)/report-loss", token: guardian, body: "{\"kind\":\"temporary\"}",
                                 headers: ["Idempotency-Key": "loss-1"])
            let afterLoss = (try await h.call(.get, "/api/v1/me/relatives/activity", token: mother)["events"] as? [[String: Any]])?
                .filter { $0["action"] as? String == "card_reported_lost" }
            #expect(afterLoss?.count == 1)
            #expect(try await h.call(.delete, "/api/v1/me/relatives/links/\(link)", token: mother).string("status") == "removed")
            #expect(try await h.call(.get, "/api/v1/me/relatives/\(motherPerson)/uses", token: guardian).code == "relative_link_not_found")
        }
    }

    @Test(arguments: Engine.available)
    func anAgentConfirmsGuardianshipAndTheLimitCountsPendingLinks(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            _ = try await h.createPerson(idNumber: TestIDs.resident(sequence: "481"), name: "张伟")
            let guardian = try await h.signUpHolder(idNumber: TestIDs.resident(sequence: "481"), name: "张伟")
            var links: [String] = []
            for i in 0..<8 {
                let id = TestIDs.resident(birth: "2015010\(i + 1)", sequence: "48\(i)")
                _ = try await h.createPerson(idNumber: id, name: "张小\(i)")
                let r = try await h.call(.post, "/api/v1/me/relatives", token: guardian, json: ["idNumber": id, "name": "张小\(i)", "relationship": "child"])
                #expect(r.status == 201, "\(r)")
                links.append(try #require(r.string("linkId")))
            }
            // The ninth (the default limit is 8, pending ones counted): 409, nothing added.
            let ninth = TestIDs.resident(birth: "20200101", sequence: "489")
            _ = try await h.createPerson(idNumber: ninth, name: "张小九")
            let refused = try await h.call(.post, "/api/v1/me/relatives", token: guardian, json: ["idNumber": ninth, "name": "张小九", "relationship": "child"])
            #expect(refused.status == 409 && refused.code == "relatives_limit", "\(refused)")
            #expect((try await h.call(.get, "/api/v1/me/relatives", token: guardian)["relatives"] as? [Any])?.count == 8)

            // An agent confirms guardianship of a minor in person (a holder cannot); a removed link frees a place.
            #expect(try await h.call(.post, "/api/v1/relatives/\(links[0])/confirm", token: guardian, json: ["basis": "guardianship"]).status == 403)
            let confirmed = try await h.call(.post, "/api/v1/relatives/\(links[0])/confirm", token: h.agent, json: ["basis": "guardianship"])
            #expect(confirmed.string("status") == "active" && confirmed.string("basis") == "guardianship", "\(confirmed)")
            #expect(try await h.call(.post, "/api/v1/relatives/\(links[0])/confirm", token: h.agent, json: ["basis": "guardianship"]).code == "invalid_transition")
            #expect(try await h.call(.delete, "/api/v1/me/relatives/links/\(links[7])", token: guardian).string("status") == "removed")
            #expect(try await h.call(.post, "/api/v1/me/relatives", token: guardian, json: ["idNumber": ninth, "name": "张小九", "relationship": "child"]).status == 201)
        }
    }

    @Test func theLimitIsPackDataAndDefaultsToEight() throws {
        #expect(FamilyRules.defaultLimit == 8)
        let seven = Array(repeating: RelativeLink.Relationship.child, count: 7)
        #expect(throws: DomainError.self) { try FamilyRules.checkLimit(live: seven + [.spouse], adding: .sibling, limit: 8) }
        #expect(throws: Never.self) { try FamilyRules.checkLimit(live: seven, adding: .child, limit: 8) }
    }

    /// wave2-facts WE-R2: caps 4/3/1/2 within a total of 10, where a region sets them.
    @Test func capsPerKindOfRelativeWhereARegionSetsThem() throws {
        let caps = RelativeCaps(elderly: 4, children: 3, spouse: 1, others: 2)
        let held: [RelativeLink.Relationship] = [.parent, .parent, .grandparent, .grandparent, .child, .child, .spouse]
        #expect(throws: DomainError.self) { try FamilyRules.checkLimit(live: held, adding: .parent, limit: 10, caps: caps) }  // a 5th elderly
        #expect(throws: Never.self) { try FamilyRules.checkLimit(live: held, adding: .child, limit: 10, caps: caps) }  // a 3rd child: 7 → 8
        #expect(throws: DomainError.self) { try FamilyRules.checkLimit(live: held, adding: .spouse, limit: 10, caps: caps) }  // a second spouse
        // With the 8-total default and no caps, the 3rd child is accepted (8 of 8) and any further one refused.
        #expect(throws: Never.self) { try FamilyRules.checkLimit(live: held, adding: .child, limit: 8) }
        #expect(throws: DomainError.self) { try FamilyRules.checkLimit(live: held + [.child], adding: .sibling, limit: 8) }
        var bad = caps
        bad.spouse = 21
        #expect(throws: DomainError.self) { try bad.validate() }
    }
}
