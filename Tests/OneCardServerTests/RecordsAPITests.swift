import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("The HR&SS electronic file library: records written by hrss, signed by the node, countersigned contracts, kept two years")
struct RecordsAPITests {
    static let uscc = "91100000100003962T"

    static func hrss(_ h: Harness) async throws -> String {
        _ = try await h.services.createStaffUser(username: "renshe", password: "hr-social-security-1", role: .department, scope: .hrss)
        return try await h.services.accounts.staffToken(username: "renshe", password: "hr-social-security-1").accessToken
    }

    /// Runs Tests/Interop/verify_jws.py (joserfc) on `token` against the node's published JWKS: exit status and output.
    static func verifyWithJoserfc(_ h: Harness, _ token: String) async throws -> (Int32, [String: Any]) {
        let jwks = try await h.call(.get, "/api/v1/trust/jwks")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json")
        try jwks.body.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/verify_jws.py").path
        let (status, data, _) = try await ChildProcess.collect(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-W", "ignore", script, file.path, token])
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? ["raw": String(decoding: data, as: UTF8.self)])
    }

    @Test(arguments: Engine.available)
    func onlyHrssWritesAndBadInputChangesNothing(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let idNumber = TestIDs.resident(sequence: "381")
            let person = try await h.createPerson(idNumber: idNumber, name: "李建国")
            let holder = try await h.signUpHolder(idNumber: idNumber, name: "李建国")
            let hr = try await Self.hrss(h)
            let clerk = try await h.signedInStaff("plain-dept", .department)
            let record: [String: Any] = ["personId": person, "type": "skill", "title": "电工 四级", "issuer": "北京市职业技能鉴定中心", "issuedAt": "2026-06-30"]

            // Another department's scope, an agent or the holder: 403.
            #expect(try await h.call(.post, "/api/v1/records", token: clerk, json: record).status == 403)
            #expect(try await h.call(.post, "/api/v1/records", token: h.agent, json: record).status == 403)
            #expect(try await h.call(.post, "/api/v1/records", token: holder, json: record).status == 403)
            // A contract without its terms, terms on a skill record, a bad check character, an end before the start,
            // an unknown person: each its code, nothing written.
            var contract = record; contract["type"] = "labour_contract"
            #expect(try await h.call(.post, "/api/v1/records", token: hr, json: contract).code == "contract_terms_required")
            var terms = record; terms["employerUscc"] = Self.uscc
            #expect(try await h.call(.post, "/api/v1/records", token: hr, json: terms).code == "contract_terms_required")
            contract["employerUscc"] = "91100000100003962A"; contract["startsOn"] = "2026-07-01"
            #expect(try await h.call(.post, "/api/v1/records", token: hr, json: contract).code == "invalid_uscc")
            contract["employerUscc"] = Self.uscc; contract["endsOn"] = "2026-06-30"
            #expect(try await h.call(.post, "/api/v1/records", token: hr, json: contract).code == "invalid_time_range")
            var nobody = record; nobody["personId"] = "no-such-person"
            #expect(try await h.call(.post, "/api/v1/records", token: hr, json: nobody).code == "person_not_found")
            #expect((try await h.call(.get, "/api/v1/me/records", token: holder)["records"] as? [Any])?.isEmpty == true)

            // hrss writes it: 201 with a proof; the holder lists it, and it is in their export; the write is audited.
            let written = try await h.call(.post, "/api/v1/records", token: hr, json: record)
            #expect(written.status == 201 && written.string("recordId") != nil && written.string("proof")?.split(separator: ".").count == 3, "\(written)")
            let mine = try await h.call(.get, "/api/v1/me/records", token: holder)
            let listed = try #require((mine["records"] as? [[String: Any]])?.first, "\(mine)")
            #expect(listed["recordId"] as? String == written.string("recordId") && listed["type"] as? String == "skill"
                    && listed["title"] as? String == "电工 四级" && listed["issuedAt"] as? String == "2026-06-30" && listed["proof"] as? String != nil)
            let export = try await h.call(.get, "/api/v1/me/export", token: holder)
            #expect((export["records"] as? [[String: Any]])?.first?["recordId"] as? String == written.string("recordId"), "\(export)")
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(audited.contains { $0.action == "record_written" })
        }
    }

    @Test(arguments: Engine.available)
    func aProofVerifiesWithJoserfcAndATamperedOneDoesNot(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let idNumber = TestIDs.resident(sequence: "382")
            let person = try await h.createPerson(idNumber: idNumber, name: "李建国")
            let holder = try await h.signUpHolder(idNumber: idNumber, name: "李建国")
            let hr = try await Self.hrss(h)
            let written = try await h.call(.post, "/api/v1/records", token: hr, json: [
                "personId": person, "type": "title", "title": "工程师", "issuer": "北京市人力资源和社会保障局", "issuedAt": "2025-12-01",
                "validUntil": "2030-12-01", "details": "电气工程"])
            let proof = try #require(written.string("proof"))

            let (status, verified) = try await Self.verifyWithJoserfc(h, proof)
            #expect(status == 0, "\(verified)")
            #expect((verified["header"] as? [String: Any])?["typ"] as? String == "onecard-record+jwt")
            let claims = try #require(verified["claims"] as? [String: Any])
            #expect(claims["jti"] as? String == written.string("recordId") && claims["type"] as? String == "title" && claims["iss"] as? String == "110000"
                    && claims["title"] as? String == "工程师" && claims["validUntil"] as? String == "2030-12-01" && claims["details"] as? String == "电气工程")
            // The holder is named only masked: the proof does not carry the ID number or the name.
            let holderClaim = try #require(claims["holder"] as? [String: Any])
            #expect(holderClaim["idNumberMasked"] as? String == Mask.idNumber(idNumber) && holderClaim["nameMasked"] as? String == Mask.name("李建国"))
            let payloadText = String(decoding: try JSONSerialization.data(withJSONObject: claims), as: UTF8.self)
            #expect(!payloadText.contains(idNumber) && !payloadText.contains("李建国"))
            // The holder's copy verifies too.
            let listed = try #require((try await h.call(.get, "/api/v1/me/records", token: holder)["records"] as? [[String: Any]])?.first?["proof"] as? String)
            #expect(try await Self.verifyWithJoserfc(h, listed).0 == 0)

            // A changed payload (another title) under the same signature fails.
            let parts = proof.split(separator: ".").map(String.init)
            var forged = claims; forged["title"] = "高级工程师"
            let forgedPayload = Base64URL.encode([UInt8](try JSONSerialization.data(withJSONObject: forged)))
            let (badStatus, refused) = try await Self.verifyWithJoserfc(h, [parts[0], forgedPayload, parts[2]].joined(separator: "."))
            #expect(badStatus != 0, "\(refused)")
        }
    }

    @Test(arguments: Engine.available)
    func aContractTakesEffectWhenTheWorkerCountersigns(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let idNumber = TestIDs.resident(sequence: "383")
            let person = try await h.createPerson(idNumber: idNumber, name: "李建国")
            let holder = try await h.signUpHolder(idNumber: idNumber, name: "李建国")
            _ = try await h.createPerson(idNumber: TestIDs.resident(sequence: "384"), name: "赵敏")
            let other = try await h.signUpHolder(idNumber: TestIDs.resident(sequence: "384"), name: "赵敏")
            let hr = try await Self.hrss(h)
            let written = try await h.call(.post, "/api/v1/records", token: hr, json: [
                "personId": person, "type": "labour_contract", "title": "劳动合同（固定期限）", "issuer": "北京某科技有限公司",
                "issuedAt": "2026-11-18", "employerUscc": Self.uscc, "startsOn": "2026-12-01", "endsOn": "2029-11-30"])
            let id = try #require(written.string("recordId"), "\(written)")
            let firstProof = try #require(written.string("proof"))
            var claims = try #require(try await Self.verifyWithJoserfc(h, firstProof).1["claims"] as? [String: Any])
            var terms = try #require(claims["contract"] as? [String: Any])
            #expect(terms["inEffect"] as? Bool == false && (terms["signatures"] as? [[String: Any]])?.map { $0["party"] as? String } == ["employer"])
            #expect(terms["employerUscc"] as? String == Self.uscc && terms["endsOn"] as? String == "2029-11-30")

            // Another holder cannot sign it; a skill record is no contract.
            #expect(try await h.call(.post, "/api/v1/me/records/\(id)/sign", token: other).code == "record_not_found")
            let skill = try #require(try await h.call(.post, "/api/v1/records", token: hr, json: [
                "personId": person, "type": "training", "title": "安全生产培训", "issuer": "北京市职业技能培训中心", "issuedAt": "2026-10-01"]).string("recordId"))
            #expect(try await h.call(.post, "/api/v1/me/records/\(skill)/sign", token: holder).code == "action_not_applicable")

            // The worker countersigns at the node's time: in effect, both signatures in the proof; a second time is refused.
            h.clock.advance(by: 3600)
            let signed = try await h.call(.post, "/api/v1/me/records/\(id)/sign", token: holder)
            #expect(signed.status == 200, "\(signed)")
            #expect((signed["contract"] as? [String: Any])?["inEffect"] as? Bool == true
                    && (signed["contract"] as? [String: Any])?["workerSignedAt"] as? String == Timestamp.format(h.clock.read()))
            let signedProof = try #require(signed.string("proof"))
            claims = try #require(try await Self.verifyWithJoserfc(h, signedProof).1["claims"] as? [String: Any])
            terms = try #require(claims["contract"] as? [String: Any])
            let signatures = try #require(terms["signatures"] as? [[String: Any]])
            #expect(terms["inEffect"] as? Bool == true && signatures.map { $0["party"] as? String } == ["employer", "worker"])
            #expect(signatures[1]["signedAt"] as? Int == Int(h.clock.read().timeIntervalSince1970))
            #expect(try await h.call(.post, "/api/v1/me/records/\(id)/sign", token: holder).code == "contract_already_signed")
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(audited.contains { $0.action == "contract_countersigned" })
        }
    }

    /// 劳动合同法 art. 50 ¶3 (wave2-facts WE-F2): a contract that ended is kept at least two years; the retention job
    /// deletes it only after, and never an open-ended one.
    @Test(arguments: Engine.available)
    func anEndedContractIsKeptTwoYears(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let idNumber = TestIDs.resident(sequence: "385")
            let person = try await h.createPerson(idNumber: idNumber, name: "李建国")
            let holder = try await h.signUpHolder(idNumber: idNumber, name: "李建国")
            let hr = try await Self.hrss(h)
            func contract(_ ends: String?) -> [String: Any] {
                var c: [String: Any] = ["personId": person, "type": "labour_contract", "title": "劳动合同", "issuer": "北京某科技有限公司",
                                        "issuedAt": "2026-11-01", "employerUscc": Self.uscc, "startsOn": "2026-11-01"]
                if let ends { c["endsOn"] = ends }
                return c
            }
            // It ends 2026-11-30 (24:00 CST = 2026-11-30T16:00Z); an open-ended one beside it.
            #expect(try await h.call(.post, "/api/v1/records", token: hr, json: contract("2026-11-30")).status == 201)
            #expect(try await h.call(.post, "/api/v1/records", token: hr, json: contract(nil)).status == 201)
            _ = holder
            // Counted in the store: the sessions of the start have long expired two years on.
            func count() async throws -> Int { try await h.services.store.read { try await $0.records.list(personId: Person.ID(person)) }.count }

            // Two years after the end (2028-11-30T16:00Z) and a day more: still kept.
            let end = Timestamp.date(millis: 1_796_054_400_000)  // 2026-11-30T16:00:00Z
            h.clock.advance(by: end.timeIntervalSince(h.clock.read()) + 731 * 86_400 - 60)
            let admin = try await h.signedInStaff("admin2", .admin)
            #expect(try await h.call(.post, "/api/v1/retention/run", token: admin).status == 200)
            #expect(try await count() == 2)
            // Past 731 days: the ended one goes (audited), the open-ended one stays.
            h.clock.advance(by: 120)
            #expect(try await h.call(.post, "/api/v1/retention/run", token: admin).status == 200)
            #expect(try await count() == 1)
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "retention:ended_labour_contracts") }
            #expect(audited.count == 1)
        }
    }

    @Test(arguments: Engine.available)
    func aSharedLinkAnswersUntilItsEndAndEveryReadIsShown(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let idNumber = TestIDs.resident(sequence: "386")
            let person = try await h.createPerson(idNumber: idNumber, name: "李建国")
            let holder = try await h.signUpHolder(idNumber: idNumber, name: "李建国")
            _ = try await h.createPerson(idNumber: TestIDs.resident(sequence: "387"), name: "赵敏")
            let other = try await h.signUpHolder(idNumber: TestIDs.resident(sequence: "387"), name: "赵敏")
            let hr = try await Self.hrss(h)
            let id = try #require(try await h.call(.post, "/api/v1/records", token: hr, json: [
                "personId": person, "type": "employment", "title": "就业登记", "issuer": "北京市东城区人力资源公共服务中心", "issuedAt": "2026-03-02"]).string("recordId"))

            // Only the holder shares their own record; a bad duration is refused.
            #expect(try await h.call(.post, "/api/v1/me/records/\(id)/share", token: other, json: ["grantee": "某公司"]).code == "record_not_found")
            #expect(try await h.call(.post, "/api/v1/me/records/\(id)/share", token: holder, json: ["grantee": "某公司", "minutes": 1441]).status == 422)
            let shared = try await h.call(.post, "/api/v1/me/records/\(id)/share", token: holder, json: ["grantee": "北京某科技有限公司", "minutes": 30])
            #expect(shared.status == 201, "\(shared)")
            let url = try #require(shared.string("url"))
            #expect(shared.string("expiresAt") == Timestamp.format(h.clock.read().addingTimeInterval(1800)))

            // Anyone with the link reads the record and a proof that verifies; the read is kept and shown to the holder.
            let read = try await h.call(.get, url)
            #expect(read.status == 200 && read.string("recordId") == id, "\(read)")
            let readProof = try #require(read.string("proof"))
            #expect(try await Self.verifyWithJoserfc(h, readProof).0 == 0)
            let mine = try await h.call(.get, "/api/v1/me/record-shares", token: holder)
            let listed = try #require((mine["shares"] as? [[String: Any]])?.first, "\(mine)")
            #expect(listed["grantee"] as? String == "北京某科技有限公司" && (listed["reads"] as? [String])?.count == 1)
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(audited.contains { $0.action == "record_shared" } && audited.contains { $0.action == "record_share_read" })

            // A changed link (another end, the same MAC) is invalid; past its end it is expired; nothing more is read.
            let token = String(url.dropFirst("/api/v1/record-shares/".count))
            let parts = token.split(separator: ".").map(String.init)
            let stretched = [parts[0], String(Int(parts[1])! + 86_400), parts[2]].joined(separator: ".")
            #expect(try await h.call(.get, "/api/v1/record-shares/\(stretched)").code == "share_link_invalid")
            #expect(try await h.call(.get, "/api/v1/record-shares/nonsense").code == "share_link_invalid")
            h.clock.advance(by: 1801)
            let late = try await h.call(.get, url)
            #expect(late.status == 403 && late.code == "share_link_expired", "\(late)")

            // Withdrawing the consent ends a link at once.
            let again = try await h.call(.post, "/api/v1/me/records/\(id)/share", token: holder, json: ["grantee": "某区人社局"])
            let consent = try #require(again.string("consentId"))
            let againURL = try #require(again.string("url"))
            #expect(try await h.call(.get, againURL).status == 200)
            #expect(try await h.call(.delete, "/api/v1/me/consents/\(consent)", token: holder).status == 200)
            #expect(try await h.call(.get, againURL).code == "share_link_expired")
            let reads = (try await h.call(.get, "/api/v1/me/record-shares", token: holder)["shares"] as? [[String: Any]])?.map { ($0["reads"] as? [Any])?.count }
            #expect(reads == [1, 1], "\(String(describing: reads))")
        }
    }

    /// No pack may keep a contract less than two years after it ends.
    @Test func aPackCannotShortenTheContractPeriod() throws {
        var policy = PrivacyPolicy.preset
        #expect(policy.rule(for: .endedLabourContracts)?.keepDays == 731)
        policy.retention = policy.retention.map { $0.record == .endedLabourContracts ? RetentionRule(record: $0.record, keepDays: 730, basis: "x") : $0 }
        #expect(throws: DomainError.self) { try policy.validate() }
        #expect(throws: Never.self) { try PrivacyPolicy.preset.validate() }
    }
}
