import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Authentication, roles, holders, masking and audit, bad input")
struct AccessAndInputTests {
    /// A guessing attacker gets five tries a quarter hour per account; the right password then waits too, and works
    /// once the lock ends; a success clears the count. Holders' accounts likewise.
    @Test(arguments: Engine.available)
    func repeatedFailedSignInsLockTheAccountForAWhile(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            for _ in 0..<5 {
                #expect(try await h.call(.post, "/api/v1/auth/token", json: ["username": "agent", "password": "wrong-password-1"]).code == "invalid_credentials")
            }
            let locked = try await h.call(.post, "/api/v1/auth/token", json: ["username": "agent", "password": "agent-password"])
            #expect(locked.status == 429 && locked.code == "too_many_attempts", "\(locked)")
            #expect(locked.headers[.retryAfter] == "900" && locked.string("retryAfter") == "900", "\(locked.headers)")
            // another account is not affected
            #expect(try await h.call(.post, "/api/v1/auth/token", json: ["username": "admin", "password": "admin-password"]).status == 200)
            h.clock.advance(by: 901)
            #expect(try await h.call(.post, "/api/v1/auth/token", json: ["username": "agent", "password": "agent-password"]).status == 200)
            // a success cleared the count: four more failures do not lock
            for _ in 0..<4 { _ = try await h.call(.post, "/api/v1/auth/token", json: ["username": "agent", "password": "wrong-password-1"]) }
            #expect(try await h.call(.post, "/api/v1/auth/token", json: ["username": "agent", "password": "agent-password"]).status == 200)
            // a holder's account (by ID number, whether or not it exists)
            for _ in 0..<5 { _ = try await h.call(.post, "/api/v1/auth/holder-token", json: ["idNumber": TestIDs.resident(sequence: "991"), "password": "x-password-1"]) }
            #expect(try await h.call(.post, "/api/v1/auth/holder-token", json: ["idNumber": TestIDs.resident(sequence: "991"), "password": "x-password-1"]).code == "too_many_attempts")
        }
    }

    @Test(arguments: Engine.available)
    func everyProtectedRouteNeedsTheRightRole(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            _ = try await h.services.createStaffUser(username: "audit1", password: "auditor-password", role: .auditor)
            let auditor = try await h.services.accounts.staffToken(username: "audit1", password: "auditor-password").accessToken

            let anonymous = try await h.call(.post, "/api/v1/persons", json: ["idType": "resident"])
            #expect(anonymous.status == 401 && anonymous.code == "unauthorized", "\(anonymous)")
            #expect(anonymous.contentType == "application/problem+json")
            let forged = try await h.call(.get, "/api/v1/users", token: h.admin + "x")
            #expect(forged.status == 401 && forged.code == "invalid_token")
            let wrongRole = try await h.call(.post, "/api/v1/persons", token: auditor, json: ["idType": "resident"])
            #expect(wrongRole.status == 403 && wrongRole.code == "forbidden")
            #expect(try await h.call(.post, "/api/v1/outlets", token: h.agent, json: [:]).status == 403)
            #expect(try await h.call(.post, "/api/v1/banks", token: h.agent, json: [:]).status == 403)
            #expect(try await h.call(.get, "/api/v1/users", token: h.agent).status == 403)
            // Public routes answer without a token.
            #expect(try await h.call(.get, "/api/v1/outlets").status == 200)
            #expect(try await h.call(.get, "/api/v1/banks").status == 200)
            #expect(try await h.call(.get, "/health").string("status") == "ok")
        }
    }

    @Test(arguments: Engine.available)
    func sessionsExpire(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let token = try await h.call(.post, "/api/v1/auth/token", json: ["username": "agent", "password": "agent-password"])
            #expect(token.string("tokenType") == "Bearer" && token.string("role") == "agent" && token["expiresIn"] as? Int == 60 * 86_400)
            let access = try #require(token.string("accessToken"))
            #expect(try await h.call(.get, "/api/v1/card-applications", token: access).status == 200)
            h.clock.advance(by: 60 * 86_400 + 1)
            #expect(try await h.call(.get, "/api/v1/card-applications", token: access).code == "invalid_token")
            #expect(try await h.call(.post, "/api/v1/auth/token", json: ["username": "agent", "password": "wrong-password"]).code == "invalid_credentials")
            #expect(try await h.call(.post, "/api/v1/auth/token", json: ["username": "nobody", "password": "agent-password"]).status == 401)
        }
    }

    @Test(arguments: Engine.available)
    func staffUsersAreManagedByAnAdministrator(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let created = try await h.call(.post, "/api/v1/users", token: h.admin, json: ["username": "clerk01", "password": "clerk-password", "role": "agent"])
            #expect(created.status == 201 && created.string("role") == "agent", "\(created)")
            #expect(try await h.call(.post, "/api/v1/users", token: h.admin, json: ["username": "clerk01", "password": "clerk-password", "role": "agent"]).code == "user_exists")
            #expect(try await h.call(.post, "/api/v1/users", token: h.admin, json: ["username": "clerk02", "password": "clerk-password", "role": "holder"]).code == "invalid_value")
            #expect(try await h.call(.post, "/api/v1/users", token: h.admin, json: ["username": "clerk02", "password": "short", "role": "agent"]).code == "invalid_field")
            #expect(try await h.call(.post, "/api/v1/auth/token", json: ["username": "clerk01", "password": "clerk-password"]).status == 200)
            let disabled = try await h.call(.delete, "/api/v1/users/clerk01", token: h.admin)
            #expect(disabled["disabled"] as? Bool == true, "\(disabled)")
            #expect(try await h.call(.post, "/api/v1/auth/token", json: ["username": "clerk01", "password": "clerk-password"]).code == "invalid_credentials")
            let users = try await h.call(.get, "/api/v1/users", token: h.admin)["users"] as? [[String: Any]] ?? []
            #expect(users.compactMap { $0["username"] as? String } == ["admin", "agent", "clerk01"])  // the record stays
            #expect(try await h.call(.delete, "/api/v1/users/admin", token: h.admin).code == "cannot_disable_self")
            #expect(try await h.call(.delete, "/api/v1/users/ghost", token: h.admin).code == "user_not_found")
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "user:clerk01") }
            #expect(audit.map(\.action) == ["staff_user_disabled", "staff_user_created"])
            #expect(audit.allSatisfy { $0.actor == "admin:admin" })
        }
    }

    @Test(arguments: Engine.available)
    func holdersSignUpAndReachOnlyTheirOwnRecords(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let idNumber = TestIDs.resident(sequence: "222")
            let (person, number) = try await h.activeCard(idNumber: idNumber, outlet: outlet)
            let (other, otherCard) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "333"), outlet: outlet)

            let mismatch = try await h.call(.post, "/api/v1/holders", json: ["idType": "resident", "idNumber": idNumber, "name": "冒名者", "phone": "13800001234", "password": "holder-password"])
            #expect(mismatch.status == 422 && mismatch.code == "identity_mismatch", "\(mismatch)")
            let unknown = try await h.call(.post, "/api/v1/holders", json: ["idType": "resident", "idNumber": TestIDs.resident(sequence: "999"), "name": "王秀梅", "phone": "13800001234", "password": "holder-password"])
            #expect(unknown.code == "identity_mismatch")
            let opened = try await h.call(.post, "/api/v1/holders", json: ["idType": "resident", "idNumber": idNumber, "name": "王秀梅", "phone": "13800001234", "password": "holder-password"])
            #expect(opened.status == 201 && opened.string("personId") == person, "\(opened)")
            #expect(try await h.call(.post, "/api/v1/holders", json: ["idType": "resident", "idNumber": idNumber, "name": "王秀梅", "phone": "13800001234", "password": "holder-password"]).code == "holder_exists")
            #expect(try await h.call(.post, "/api/v1/auth/holder-token", json: ["idNumber": idNumber, "password": "nope-nope-nope"]).code == "invalid_credentials")
            let session = try await h.call(.post, "/api/v1/auth/holder-token", json: ["idNumber": idNumber.lowercased(), "password": "holder-password"])
            #expect(session.string("role") == "holder", "\(session)")
            let holder = try #require(session.string("accessToken"))

            #expect(try await h.call(.get, "/api/v1/me/card", token: holder).string("cardNumber") == number)
            #expect(try await h.call(.get, "/api/v1/cards/\(number)", token: holder).status == 200)
            #expect(try await h.call(.get, "/api/v1/cards/\(number)/events", token: holder).status == 200)
            #expect(try await h.call(.get, "/api/v1/persons/\(person)", token: holder).status == 200)
            // Another person's records: 403.
            #expect(try await h.call(.get, "/api/v1/cards/\(otherCard)", token: holder).status == 403)
            #expect(try await h.call(.get, "/api/v1/cards/\(otherCard)/events", token: holder).status == 403)
            #expect(try await h.call(.get, "/api/v1/persons/\(other)", token: holder).status == 403)
            // Staff operations are not for holders.
            #expect(try await h.call(.post, "/api/v1/cards/\(number)/unlock", token: holder).status == 403)
            #expect(try await h.call(.get, "/api/v1/me/card", token: h.agent).status == 403)

            let lost = try await h.call(.post, "/api/v1/me/report-loss", token: holder, json: ["kind": "temporary"])
            #expect(lost.string("status") == "temporarily_lost", "\(lost)")
            let events = try await h.call(.get, "/api/v1/cards/\(number)/events", token: holder)["events"] as? [[String: Any]] ?? []
            #expect(events.last?["channel"] as? String == "web")
            #expect(events.last?["actor"] as? String == "holder:\(person)")
            #expect(try await h.call(.post, "/api/v1/me/card-applications", token: holder, json: ["pickupOutletId": outlet, "bankCode": "ICBC"]).code == "active_card_exists")
        }
    }

    @Test(arguments: Engine.available)
    func aHolderAppliesOnlineAndFollowsProgress(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let outlet = try await h.createOutlet()
            let idNumber = TestIDs.resident(sequence: "444")
            _ = try await h.createPerson(idNumber: idNumber)
            let holder = try await h.signUpHolder(idNumber: idNumber)
            #expect(try await h.call(.get, "/api/v1/me/card", token: holder).code == "no_card")
            let applied = try await h.call(.post, "/api/v1/me/card-applications", token: holder, json: ["pickupOutletId": outlet, "bankCode": "ICBC", "delivery": "pickup", "channel": "mobile"])
            #expect(applied.status == 201 && applied.string("channel") == "mobile" && applied.string("pickupOutletId") == outlet, "\(applied)")
            #expect(try await h.call(.post, "/api/v1/me/card-applications", token: holder, json: ["bankCode": "ICBC", "channel": "counter"]).code == "invalid_value")
            let id = try #require(applied.string("applicationId"))
            _ = try await h.step(id, "approve")
            let mine = try await h.call(.get, "/api/v1/me/card-applications", token: holder)["applications"] as? [[String: Any]] ?? []
            #expect(mine.count == 1 && mine.first?["status"] as? String == "approved")
            #expect(mine.first?["overdue"] as? Bool == false)
            h.clock.advance(by: 16 * 86_400)
            let later = try await h.call(.get, "/api/v1/me/card-applications", token: holder)["applications"] as? [[String: Any]] ?? []
            #expect(later.first?["overdue"] as? Bool == true)
        }
    }

    @Test(arguments: Engine.available)
    func personsAreMaskedAndAnUnmaskedReadIsAudited(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let person = try await h.createPerson(idNumber: "11010519491231002X", name: "王秀梅")
            let masked = try await h.call(.get, "/api/v1/persons/\(person)", token: h.agent)
            #expect(masked.string("idNumberMasked") == "110105********002X" && masked.string("nameMasked") == "王*梅")
            #expect(masked["idNumber"] == nil && masked["name"] == nil)
            #expect(masked.string("birthDate") == "1949-12-31" && masked.string("sex") == "female" && masked.string("regionCode") == "110105")
            let noPurpose = try await h.call(.get, "/api/v1/persons/\(person)?unmask=true", token: h.agent)
            #expect(noPurpose.status == 400 && noPurpose.code == "purpose_required")
            let full = try await h.call(.get, "/api/v1/persons/\(person)?unmask=true", token: h.agent, headers: ["X-Purpose": "柜台核验身份"])
            #expect(full.string("idNumber") == "11010519491231002X" && full.string("name") == "王秀梅", "\(full)")
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            let read = try #require(audit.first)
            #expect(read.action == "person_unmasked_read" && read.actor == "agent:agent" && read.purpose == "柜台核验身份")
            #expect(read.at == Harness.start)
            // Registration, the masked staff read and the unmasked one: every staff read of a person is audited.
            #expect(audit.map(\.action) == ["person_unmasked_read", "person_read", "person_registered"], "\(audit.map(\.action))")
            #expect(try await h.call(.get, "/api/v1/persons/nobody", token: h.agent).code == "person_not_found")
        }
    }

    /// The agent desk's look-up by ID number: the blind index finds the person, masked; the read is audited; the number
    /// is checked as at registration; a holder may not look anyone up.
    @Test(arguments: Engine.available)
    func anAgentFindsAPersonByIDNumber(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let person = try await h.createPerson(idNumber: "11010519491231002X", name: "王秀梅")
            let found = try await h.call(.post, "/api/v1/persons/lookup", token: h.agent, json: ["idType": "resident", "idNumber": "11010519491231002x"])
            #expect(found.status == 200 && found.string("personId") == person && found.string("idNumberMasked") == "110105********002X", "\(found)")
            #expect(found["idNumber"] == nil && found["name"] == nil)
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(audit.first?.action == "person_looked_up" && audit.first?.actor == "agent:agent", "\(audit.map(\.action))")
            let other = try await h.call(.post, "/api/v1/persons/lookup", token: h.agent, json: ["idNumber": "110105194912310038"])
            #expect(other.status == 404 && other.code == "person_not_found", "\(other)")
            let invalid = try await h.call(.post, "/api/v1/persons/lookup", token: h.agent, json: ["idNumber": "110105194912310022"])
            #expect(invalid.status == 422 && invalid.code == "invalid_id_number", "\(invalid)")
            let before = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }.count
            let holder = try await h.signUpHolder(idNumber: "11010519491231002X")
            #expect(try await h.call(.post, "/api/v1/persons/lookup", token: holder, json: ["idNumber": "11010519491231002X"]).status == 403)
            #expect(try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }.count == before, "a refused look-up reads nothing")
        }
    }

    @Test(arguments: Engine.available)
    func badInputGetsAProblemAndChangesNothing(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let valid = TestIDs.resident()
            let auditBefore = try await h.count("audit_log")
            let cases: [(String, Int, String)] = [
                ("{not json", 400, "malformed_json"),
                ("", 400, "malformed_json"),
                ("[]", 422, "invalid_field"),
                (#"{"idType":"resident","idNumber":"\#(valid)","phone":"138"}"#, 422, "invalid_field"),
                (#"{"idType":"resident","idNumber":12345,"name":"王","phone":"13800001234"}"#, 422, "invalid_field"),
                (#"{"idType":"martian","idNumber":"\#(valid)","name":"王","phone":"13800001234"}"#, 422, "invalid_value"),
                (#"{"idType":"resident","idNumber":"11010519491231002Y","name":"王","phone":"13800001234"}"#, 422, "invalid_id_number"),
                (#"{"idType":"resident","idNumber":"110105194902300011","name":"王","phone":"13800001234"}"#, 422, "invalid_id_number"),
                (#"{"idType":"resident","idNumber":"\#(valid)","name":"","phone":"13800001234"}"#, 422, "invalid_field"),
                (#"{"idType":"resident","idNumber":"\#(valid)","name":"王","phone":"call me"}"#, 422, "invalid_field"),
                (#"{"idType":null,"idNumber":"\#(valid)","name":"王","phone":"13800001234"}"#, 422, "invalid_field"),
            ]
            for (body, status, code) in cases {
                let r = try await h.call(.post, "/api/v1/persons", token: h.agent, body: body)
                #expect(r.status == status && r.code == code, "\(body) → \(r)")
                #expect(r.contentType == "application/problem+json")
                #expect(r.json["type"] is String && r.json["title"] is String && r.json["detail"] is String && r.json["status"] as? Int == status)
            }
            let wrongType = try await h.call(.post, "/api/v1/persons", token: h.agent, body: "idType=resident", headers: ["Content-Type": "text/plain"])
            #expect(wrongType.status == 415 && wrongType.code == "unsupported_media_type")
            #expect(try await h.count("persons") == 0)
            #expect(try await h.count("audit_log") == auditBefore)
            let tooLarge = try await h.call(.post, "/api/v1/persons", token: h.agent, body: "{\"name\":\"" + String(repeating: "王", count: 400_000) + "\"}")
            #expect(tooLarge.status == 413 && tooLarge.code == "payload_too_large", "\(tooLarge)")
            #expect(try await h.call(.get, "/api/v1/no-such-route", token: h.agent).code == "not_found")
            #expect(try await h.call(.post, "/api/v1/banks", token: h.admin, json: ["code": "X", "name": "n", "agreementFrom": "2024-01-01", "agreementTo": "2030-01-01"]).code == "invalid_field")
            #expect(try await h.call(.post, "/api/v1/banks", token: h.admin, json: ["code": "ABC", "name": "n", "agreementFrom": "2024-02-30", "agreementTo": "2030-01-01"]).code == "invalid_value")
            #expect(try await h.call(.post, "/api/v1/banks", token: h.admin, json: ["code": "ABC", "name": "n", "agreementFrom": "2031-01-01", "agreementTo": "2030-01-01"]).code == "invalid_agreement_period")
            #expect(try await h.call(.post, "/api/v1/outlets", token: h.admin, json: ["name": "n", "regionCode": "999999", "address": "a", "services": ["apply"], "hours": "h"]).code == "invalid_region_code")
            #expect(try await h.call(.post, "/api/v1/outlets", token: h.admin, json: ["name": "n", "regionCode": "110105", "address": "a", "services": ["teleport"], "hours": "h"]).code == "invalid_field")
            #expect(try await h.count("banks") == 0)
            #expect(try await h.count("outlets") == 0)
        }
    }

    @Test(arguments: Engine.available)
    func outletsAndBanksArePublished(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let outlet = try await h.createOutlet()
            try await h.createBank()
            #expect(try await h.call(.post, "/api/v1/banks", token: h.admin, json: ["code": "ICBC", "name": "x", "agreementFrom": "2024-01-01", "agreementTo": "2030-01-01"]).code == "bank_exists")
            let outlets = try await h.call(.get, "/api/v1/outlets")["outlets"] as? [[String: Any]] ?? []
            #expect(outlets.count == 1 && outlets.first?["outletId"] as? String == outlet)
            #expect(outlets.first?["accessibility"] as? [String] == ["无障碍通道"])
            let banks = try await h.call(.get, "/api/v1/banks")["banks"] as? [[String: Any]] ?? []
            #expect(banks.first?["code"] as? String == "ICBC" && banks.first?["status"] as? String == "active")
        }
    }

    @Test func theOpenAPIDocumentDescribesEveryRouteAndEveryRouteIsServed() async throws {
        try await Harness.run(.sqlite) { h in
            let doc = try await h.call(.get, "/openapi.json")
            #expect(doc.string("openapi") == "3.1.0")
            let paths = try #require(doc["paths"] as? [String: [String: Any]])
            let (_, api) = OneCardApp.router(h.services)
            #expect(Set(paths.keys) == Set(api.documented.map(\.path)))
            var operations = 0
            for (path, methods) in paths {
                for (method, op) in methods {
                    operations += 1
                    let op = try #require(op as? [String: Any])
                    let responses = try #require(op["responses"] as? [String: Any], "\(method) \(path)")
                    #expect(!responses.isEmpty)
                    let uri = path.replacingOccurrences(of: "{", with: "x").replacingOccurrences(of: "}", with: "")
                    let r = try await h.call(.init(method.uppercased())!, uri, token: h.admin, body: method == "get" || method == "delete" ? nil : "{}")
                    // A route the router does not know answers the generic not_found; documented ones never do.
                    #expect(r.code != "not_found" && r.status != 405 && r.status != 500, "\(method) \(path) → \(r)")
                    // Every documented status is a real HTTP status with a description.
                    for (status, value) in responses {
                        #expect(Int(status) != nil && (value as? [String: Any])?["description"] is String)
                    }
                }
            }
            #expect(operations == api.documented.count && operations >= 30)
            let schemas = try #require((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])
            for name in ["Problem", "Person", "Card", "CardApplication", "CardEvent", "Outlet", "Bank", "Session", "StaffUser"] {
                #expect(schemas[name] != nil, "\(name)")
            }
        }
    }

    @Test func metricsAreExposed() async throws {
        try await Harness.run(.sqlite) { h in
            _ = try await h.call(.get, "/health")
            let r = try await h.call(.get, "/metrics")
            #expect(r.status == 200 && r.contentType.hasPrefix("text/plain"))
        }
    }
}
