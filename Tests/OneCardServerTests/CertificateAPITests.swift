import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// Helpers for certificates.
extension Harness {
    /// A department user with a scope, signed in: its access token.
    func department(_ username: String, _ scope: DepartmentScope) async throws -> String {
        _ = try await services.createStaffUser(username: username, password: "department-password-1", role: .department, scope: scope)
        return try await services.accounts.staffToken(username: username, password: "department-password-1").accessToken
    }

    /// A QR token's claims, read without verifying (the test issued it).
    static func claims(_ token: String) throws -> [String: Any] {
        var part = String(token.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while part.count % 4 != 0 { part += "=" }
        let data = try #require(Data(base64Encoded: part))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func loadCertificate(_ person: String, token: String, _ body: [String: Any]) async throws -> Reply {
        try await call(.post, "/api/v1/persons/\(person)/certificates", token: token, json: body)
    }
}

@Suite("Certificates as entitlements: loaded by the issuing department, concessions at venues and on buses, revoked online and offline")
struct CertificateAPITests {
    @Test(arguments: Engine.available)
    func onlyTheIssuingDepartmentLoadsAndTheDisabilityNumberMustAgree(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a person; the three issuing departments and an HR&SS user
            try await h.createBank()
            let id = TestIDs.resident(sequence: "701")
            let (_, person, _) = try await h.holderWithCard(idNumber: id)
            let civil = try await h.department("minzheng", .civilAffairs)
            let federation = try await h.department("canlian", .disabledPersonsFederation)
            let veterans = try await h.department("tuiyi", .veteransAffairs)
            let hrss = try await h.department("renshe", .hrss)
            let disability: [String: Any] = ["type": "disability", "number": id + "42", "category": 4, "grade": 2, "validFrom": "2026-01-01"]

            // Each kind needs its department's scope (API.md): 403 otherwise, and for every other role.
            #expect(try await h.loadCertificate(person, token: civil, disability).status == 403)
            #expect(try await h.loadCertificate(person, token: hrss, ["type": "elderly", "validFrom": "2026-01-01"]).status == 403)
            #expect(try await h.loadCertificate(person, token: federation, ["type": "veteran", "validFrom": "2026-01-01"]).status == 403)
            #expect(try await h.loadCertificate(person, token: h.agent, ["type": "veteran", "validFrom": "2026-01-01"]).status == 403)

            // The number is the ID number, the category digit and the grade digit (wave2-facts §5.1).
            for (number, category, grade) in [(id + "43", 4, 2), (id + "32", 4, 2), (TestIDs.resident(sequence: "702") + "42", 4, 2), (id + "42C1", 4, 2)] {
                var bad = disability; bad["number"] = number; bad["category"] = category; bad["grade"] = grade
                #expect(try await h.loadCertificate(person, token: federation, bad).code == "certificate_number_mismatch", "\(number)")
            }
            var bad = disability; bad.removeValue(forKey: "grade")
            #expect(try await h.loadCertificate(person, token: federation, bad).code == "certificate_details_invalid")
            bad = disability; bad["category"] = 8
            #expect(try await h.loadCertificate(person, token: federation, bad).code == "invalid_field")
            #expect(try await h.loadCertificate(person, token: veterans, ["type": "veteran", "category": 1, "validFrom": "2026-01-01"]).code
                    == "certificate_details_invalid")
            #expect(try await h.loadCertificate(person, token: veterans, ["type": "veteran", "validFrom": "2026-01-01", "validTo": "2025-12-31"]).code
                    == "certificate_validity_invalid")
            #expect(try await h.loadCertificate("nobody", token: veterans, ["type": "veteran", "validFrom": "2026-01-01"]).code == "person_not_found")
            #expect(try await h.count("certificates") == 0)  // a refused request changes nothing

            // action: the federation loads a grade-2 physical disability certificate (the ID's x in either case)
            let loaded = try await h.loadCertificate(person, token: federation, disability)
            #expect(loaded.status == 201, "\(loaded)")
            #expect(loaded["entitlements"] as? [String] == ["disability", "disability_severe"], "\(loaded)")

            // validate: the number sealed at rest, the loading audited
            let raw = try await h.services.store.read { s in
                try await s.db.raw("SELECT number_enc FROM certificates").first()!.decode(column: "number_enc", as: String.self)
            }
            #expect(!raw.contains(id.prefix(17)))
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(audit.contains { $0.action == "certificate_loaded" && $0.actor.contains("canlian") })
        }
    }

    @Test(arguments: Engine.available)
    func disabilityAndVeteranConcessionsAtAParkAndAMuseumStopWhenRevoked(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: two holders with e-cards, a Beijing park and museum
            try await h.seedCatalogue()
            try await h.createBank()
            let disabledId = TestIDs.resident(sequence: "711")
            let (disabled, disabledPerson, disabledCard) = try await h.holderWithECard(idNumber: disabledId)
            let (veteran, veteranPerson, veteranCard) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "712"), name: "李建国")
            let federation = try await h.department("canlian", .disabledPersonsFederation)
            let veterans = try await h.department("tuiyi", .veteransAffairs)
            let park = try await h.createVenue(type: "park", region: "110105", items: ["11-PARK-001"], name: "朝阳公园").1
            let museum = try await h.createVenue(type: "museum", region: "110101", items: ["11-MUS-001"], name: "首都博物馆").1
            func qr(_ holder: String) async throws -> [String: Any] { ["kind": "qr", "token": try await h.qrToken(holder)] }
            // Before any certificate: full price, no concession.
            let before = try await h.accept(key: park, item: "11-PARK-001", credential: try await qr(disabled), amountFen: 1000)
            #expect(before.string("decision") == "accepted" && before["chargedFen"] as? Int == 1000 && before["concession"] is NSNull, "\(before)")

            // action: the certificates are loaded
            let d = try await h.loadCertificate(disabledPerson, token: federation,
                                                ["type": "disability", "number": disabledId + "13", "category": 1, "grade": 3, "validFrom": "2026-01-01"])
            let certificateId = try #require(d.string("certificateId"))
            #expect(d["entitlements"] as? [String] == ["disability", "disability_visual"], "\(d)")
            #expect(try await h.loadCertificate(veteranPerson, token: veterans, ["type": "veteran", "number": "TY11010500012", "validFrom": "2026-01-01",
                                                                                  "validTo": "2031-12-31"]).status == 201)

            // validate: the QR token carries the codes only; free at the park and the museum, with the basis
            let token = try await h.qrToken(disabled)
            let claims = try Harness.claims(token)
            #expect(claims["ent"] as? [String] == ["disability", "disability_visual"])
            let jti = try #require(claims["jti"] as? String)
            #expect(!token.contains(disabledId))
            for (key, item, code) in [(park, "11-PARK-001", "bj_disability_culture_free"), (museum, "11-MUS-001", "bj_disability_culture_free")] {
                let r = try await h.accept(key: key, item: item, credential: ["kind": "qr", "token": token], amountFen: 1000)
                let concession = try #require(r["concession"] as? [String: Any], "\(r)")
                #expect(r["chargedFen"] as? Int == 0 && concession["code"] as? String == code && concession["amountFen"] as? Int == 1000, "\(r)")
                #expect((concession["basis"] as? String)?.contains("第四十一条") == true)
            }
            // The veteran, by QR code at the museum and by the physical card at the park (preset [U] rule).
            let vm = try await h.accept(key: museum, item: "11-MUS-001", credential: try await qr(veteran), amountFen: 2000)
            #expect(vm["chargedFen"] as? Int == 0 && (vm["concession"] as? [String: Any])?["code"] as? String == "bj_veteran_culture_free", "\(vm)")
            let vp = try await h.accept(key: park, item: "11-PARK-001", credential: try CatalogueAndAcceptanceAPITests.chipCredential(h, card: veteranCard),
                                        amountFen: 500)
            #expect(vp["chargedFen"] as? Int == 0 && vp["entitlements"] as? [String] == ["veteran"], "\(vp)")
            // The holder sees the concession and its basis among the uses.
            let uses = try await h.call(.get, "/api/v1/me/uses", token: disabled)["uses"] as? [[String: Any]] ?? []
            #expect(uses.filter { ($0["concession"] as? [String: Any])?["code"] as? String == "bj_disability_culture_free" }.count == 2, "\(uses)")
            #expect(uses.contains { $0["concession"] == nil && $0["chargedFen"] as? Int == 1000 })

            // A code the holder opened before the revocation and has not shown yet.
            let stale = try await h.qrToken(disabled)
            let staleJti = try #require(try Harness.claims(stale)["jti"] as? String)
            #expect(try Harness.claims(stale)["ent"] as? [String] == ["disability", "disability_visual"])

            // action: the federation revokes the certificate (the veterans department may not)
            #expect(try await h.call(.delete, "/api/v1/persons/\(disabledPerson)/certificates/\(certificateId)", token: veterans).status == 403)
            let seq = try #require(try await h.call(.get, "/api/v1/trust/revocations?since=0")["seq"] as? Int)
            let revoked = try await h.call(.delete, "/api/v1/persons/\(disabledPerson)/certificates/\(certificateId)", token: federation)
            #expect(revoked.status == 200 && revoked.string("revokedAt") != nil, "\(revoked)")
            #expect(try await h.call(.delete, "/api/v1/persons/\(disabledPerson)/certificates/\(certificateId)", token: federation).code == "certificate_revoked")
            #expect(try await h.call(.delete, "/api/v1/persons/\(veteranPerson)/certificates/\(certificateId)", token: federation).code == "certificate_not_found")

            // validate: online at once, even with the token issued before; offline through the feed (the token listed by jti)
            let after = try await h.accept(key: museum, item: "11-MUS-001", credential: ["kind": "qr", "token": stale], idempotency: "after-revocation",
                                           amountFen: 1000)
            #expect(after.string("decision") == "accepted" && after["chargedFen"] as? Int == 1000 && after["concession"] is NSNull, "\(after)")
            #expect(after["entitlements"] as? [String] == [], "\(after)")
            let feed = try await h.call(.get, "/api/v1/trust/revocations?since=\(seq)")
            let listed = (feed["entries"] as? [[String: Any]] ?? []).compactMap { $0["jti"] as? String }
            #expect(listed.contains(jti) && listed.contains(staleJti), "\(feed)")
            #expect(try Harness.claims(try await h.qrToken(disabled))["ent"] as? [String] == [])
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(disabledPerson)") }
            #expect(audit.contains { $0.action == "certificate_revoked" })
            _ = disabledCard
        }
    }

    @Test(arguments: Engine.available)
    func anItemsRequiresIsCheckedAndValidityIsHonoured(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: an item for veterans only, published; a veteran whose certificate is not yet valid, one in force, one expired
            try await h.seedCatalogue()
            try await h.createBank()
            let veterans = try await h.department("tuiyi", .veteransAffairs)
            var item: [String: Any] = ["code": "11-VET-001", "name": "退役军人优待参观", "domain": "culture", "scenario": "凭社保卡免费参观纪念馆",
                                       "cardForms": ["physical", "electronic"], "level": "provincial", "regions": ["110000"], "issuers": ["*"],
                                       "venueTypes": ["museum"], "legalBasis": "退役军人保障法 第五十三条", "effectiveFrom": "2026-01-01",
                                       "requires": ["veteran", "bogus"]]
            #expect(try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["item": item]).code == "invalid_field")
            item["requires"] = ["veteran"]
            #expect(try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["item": item]).status == 201)
            #expect(try await h.call(.post, "/api/v1/catalogue/publish", token: h.admin).status == 200)
            let catalogue = try await h.call(.get, "/api/v1/catalogue")
            let published = (catalogue["items"] as? [[String: Any]] ?? []).first { $0["code"] as? String == "11-VET-001" }
            #expect(published?["requires"] as? [String] == ["veteran"])
            let csv = String(decoding: try await h.call(.get, "/api/v1/catalogue?format=csv").body, as: UTF8.self)
            #expect(csv.contains(",requires\r\n") && csv.contains(",veteran\r\n"), "\(csv.prefix(300))")
            let hall = try await h.createVenue(type: "museum", region: "110101", items: ["11-VET-001"], name: "中国人民革命军事博物馆").1
            var holders: [String] = []
            for (n, (from, to)) in [("2027-01-01", nil), ("2026-01-01", "2030-12-31"), ("2020-01-01", "2025-12-31")].enumerated() {
                let (holder, person, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "72\(n)"))
                var body: [String: Any] = ["type": "veteran", "validFrom": from]
                if let to { body["validTo"] = to }
                #expect(try await h.loadCertificate(person, token: veterans, body).status == 201)
                holders.append(holder)
            }
            // action and validate: only the certificate in force opens the item; the others are concession_not_held
            var reasons: [String?] = []
            for holder in holders {
                let r = try await h.accept(key: hall, item: "11-VET-001", credential: ["kind": "qr", "token": try await h.qrToken(holder)], amountFen: 3000)
                reasons.append(r.string("reason"))
                if r.string("decision") == "accepted" { #expect(r["chargedFen"] as? Int == 0 && r["entitlements"] as? [String] == ["veteran"], "\(r)") }
            }
            #expect(reasons == ["concession_not_held", nil, "concession_not_held"], "\(reasons)")
            let uses = try await h.call(.get, "/api/v1/me/uses", token: holders[0])["uses"] as? [[String: Any]] ?? []
            #expect(uses.first?["reason"] as? String == "concession_not_held")
        }
    }

    @Test(arguments: Engine.available)
    func aDepartmentReadsSharedEntitlementsWithAPurpose(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a 66-year-old with an elderly certificate and a veteran certificate
            try await h.createBank()
            let (holder, person, _) = try await h.holderWithCard(idNumber: TestIDs.resident(birth: "19600101", sequence: "731"))
            let civil = try await h.department("minzheng", .civilAffairs)
            let veterans = try await h.department("tuiyi", .veteransAffairs)
            let medical = try await h.department("yibao", .medicalSecurity)
            #expect(try await h.loadCertificate(person, token: civil, ["type": "elderly", "validFrom": "2026-01-01"]).status == 201)
            let v = try await h.loadCertificate(person, token: veterans, ["type": "veteran", "validFrom": "2026-01-01", "validTo": "2029-12-31"])
            #expect(v["entitlements"] as? [String] == ["elderly", "elderly_65", "veteran"], "\(v)")

            // action: a department of another scope reads them, first without saying why
            #expect(try await h.call(.get, "/api/v1/persons/\(person)/entitlements", token: medical).code == "purpose_required")
            #expect(try await h.call(.get, "/api/v1/persons/\(person)/entitlements", token: holder, headers: ["X-Purpose": "x"]).status == 403)
            let r = try await h.call(.get, "/api/v1/persons/\(person)/entitlements", token: medical, headers: ["X-Purpose": "核定医疗救助对象"])

            // validate: certificates (type and end only), codes, no passes yet; the read audited with its purpose
            #expect(r.status == 200, "\(r)")
            #expect(r["entitlements"] as? [String] == ["elderly", "elderly_65", "veteran"])
            let certificates = r["certificates"] as? [[String: Any]] ?? []
            #expect(certificates.count == 2 && certificates.allSatisfy { Set($0.keys) == ["certificateId", "type", "validTo"] }, "\(certificates)")
            #expect(certificates.contains { $0["type"] as? String == "veteran" && $0["validTo"] as? String == "2029-12-31" })
            #expect((r["passes"] as? [Any])?.isEmpty == true)
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(audit.contains { $0.action == "entitlements_read" && $0.purpose == "核定医疗救助对象" })
        }
    }

    @Test(arguments: Engine.available)
    func aDisabilityCertificateMakesTheBusFreeUntilItIsRevoked(_ engine: Engine) async throws {
        try await TransitWorld.run(engine) { w in
            let h = w.h
            // setup: a 40-year-old with a grade-3 physical disability certificate (北京办法 art. 51: buses free with it)
            let id = TestIDs.resident(birth: "19860101", sequence: "741")
            let (holder, person, card) = try await h.holderWithECard(idNumber: id)
            try await w.fund(card, 10_000)
            let federation = try await h.department("canlian", .disabledPersonsFederation)
            let loaded = try await h.loadCertificate(person, token: federation, ["type": "disability", "number": id + "43", "category": 4, "grade": 3,
                                                                                 "validFrom": "2026-01-01"])
            let certificateId = try #require(loaded.string("certificateId"))

            // action: a 12 km bus ride by QR code, then one by the physical card after the certificate is revoked
            try await w.ride(holder, from: "S0", to: "S12", minutes: 40, operator: "BJ-BUS")
            h.clock.advance(by: 600)
            #expect(try await h.call(.delete, "/api/v1/persons/\(person)/certificates/\(certificateId)", token: federation).status == 200)
            h.clock.advance(by: 60)
            let start = h.clock.read()
            let inTap = TransitWorld.tap("in-2", at: start, operator: "BJ-BUS", station: "S0", direction: "in", credential: try w.chip(card))
            h.clock.advance(by: 2400)
            let outTap = TransitWorld.tap("out-2", at: h.clock.read(), operator: "BJ-BUS", station: "S12", direction: "out", credential: try w.chip(card))
            #expect(try await w.upload([inTap, outTap])["accepted"] as? Int == 2)

            // validate: ¥3 full, ¥1.50 after the card discount, free with the certificate and the basis shown; full card fare after
            let trips = try await w.trips(holder).sorted { ($0["startedAt"] as? String ?? "") < ($1["startedAt"] as? String ?? "") }
            #expect(trips.count == 2, "\(trips)")
            let free = try #require(trips.first), paid = try #require(trips.last)
            let concession = try #require(free["concession"] as? [String: Any], "\(free)")
            #expect(concession["code"] as? String == "bj_disability_bus" && concession["amountFen"] as? Int == 150 && free["chargedFen"] as? Int == 0)
            #expect((concession["basis"] as? String)?.contains("第五十一条") == true)
            #expect(paid["chargedFen"] as? Int == 150 && paid["concession"] is NSNull, "\(paid)")
        }
    }
}
