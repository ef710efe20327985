import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("E-licences: linked by public security, checked by a government venue only with the holder's consent")
struct LicenceAPITests {
    /// Issue 17's story: a holder withdraws a consent and the next e-licence check is refused.
    @Test(arguments: Engine.available)
    func aCheckNeedsTheHoldersConsentAndSaysNothingMore(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a holder with a card, a public-security user, a government counter and a library
            try await h.seedCatalogue()
            try await h.createBank()
            let (holder, person, number) = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "661"))
            _ = try await h.services.createStaffUser(username: "jiaojing", password: "traffic-police-1", role: .department, scope: .publicSecurity)
            let police = try await h.services.accounts.staffToken(username: "jiaojing", password: "traffic-police-1").accessToken
            let clerk = try await h.signedInStaff("plain-dept", .department)
            let counter = try await h.createVenue(type: "government", region: "110105", items: ["11-HR-001"], name: "政务大厅").1
            let library = try await h.createVenue(type: "library", region: "110101", items: ["JJJ-LIB-001"]).1
            func present() throws -> [String: Any] { try CatalogueAndAcceptanceAPITests.chipCredential(h, card: number) }
            func check(_ key: String, _ cls: String? = nil) async throws -> Reply {
                var body: [String: Any] = ["credential": try present(), "type": "driving"]
                if let cls { body["class"] = cls }
                return try await h.call(.post, "/api/v1/licence-checks", token: key, json: body)
            }

            // Only public security links a licence; a class that is not one is refused.
            let licence: [String: Any] = ["type": "driving", "number": "110105199001016610", "class": "C1", "validTo": "2032-06-30", "issuer": "北京市公安局公安交通管理局"]
            #expect(try await h.call(.post, "/api/v1/persons/\(person)/licences", token: clerk, json: licence).status == 403)
            var bad = licence; bad["class"] = "Z9"
            #expect(try await h.call(.post, "/api/v1/persons/\(person)/licences", token: police, json: bad).code == "invalid_licence_class")
            let linked = try await h.call(.post, "/api/v1/persons/\(person)/licences", token: police, json: licence)
            #expect(linked.status == 201 && linked.string("numberMasked")?.hasSuffix("6610") == true && linked["number"] == nil, "\(linked)")
            #expect((try await h.call(.get, "/api/v1/me/licences", token: holder)["licences"] as? [Any])?.count == 1)

            // No consent: refused. With it: valid, the class and end date, nothing more; C1 permits C2, not B2.
            #expect(try await check(counter).code == "consent_required")
            let consent = try #require(try await h.call(.post, "/api/v1/me/consents", token: holder, json: ["purpose": "elicence_check"]).string("consentId"))
            let ok = try await check(counter)
            #expect(ok["valid"] as? Bool == true && ok.string("class") == "C1" && ok.string("validTo") == "2032-06-30", "\(ok)")
            #expect(Set(ok.json.keys).isSubset(of: ["valid", "class", "validTo", "reason"]))
            #expect(try await check(counter, "C2")["valid"] as? Bool == true)
            #expect(try await check(counter, "B2")["valid"] as? Bool == false)
            // A library is no government venue.
            #expect(try await check(library).code == "venue_not_permitted")

            // the action: the holder withdraws the consent; the next check is refused
            #expect(try await h.call(.delete, "/api/v1/me/consents/\(consent)", token: holder).status == 200)
            #expect(try await check(counter).code == "consent_required")

            // validate: each check is audited and shows in "who checked my card"
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(audit.filter { $0.action == "licence_checked" }.count == 3)
            let uses = try await h.call(.get, "/api/v1/me/uses", token: holder)["uses"] as? [[String: Any]] ?? []
            #expect(uses.filter { $0["itemCode"] as? String == "licence_check" }.count == 3, "\(uses)")
        }
    }
}

@Suite("Driving licence classes")
struct DrivingClassTests {
    @Test func classesAndWhatTheyPermit() {
        #expect(DrivingClass.parse("A2D") == ["A2", "D"])
        #expect(DrivingClass.parse("C1") == ["C1"] && DrivingClass.parse("Z9") == nil && DrivingClass.parse("") == nil)
        #expect(DrivingClass.permits("C1", "C2") && !DrivingClass.permits("C1", "B2"))
        #expect(DrivingClass.permits("A1", "B2") && DrivingClass.permits("A2D", "E") && !DrivingClass.permits("C2", "C1"))
    }
}
