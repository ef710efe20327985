import Crypto
import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Catalogue, credentials, venues, terminals, acceptance and identity checks over HTTP")
struct CatalogueAndAcceptanceAPITests {
    static func uscc(_ body: String = "12110105MB0000001") -> String {
        body + String(UnifiedSocialCreditCode.checkCharacter(for: Array(body))!)
    }

    static func itemJSON(_ code: String, domain: String = "culture", regions: [String], issuers: [String], types: [String], forms: [String] = ["physical", "electronic"],
                         name: String = "测试项目") -> [String: Any] {
        ["code": code, "name": name, "domain": domain, "scenario": "持卡使用", "cardForms": forms, "level": "provincial", "regions": regions,
         "issuers": issuers, "venueTypes": types, "legalBasis": "测试依据", "effectiveFrom": "2024-01-01"]
    }

    /// A physical card's answer to a challenge (a fresh random one unless given), under its chip key or `key`.
    static func chipCredential(_ h: Harness, card number: String, challenge: Data = Data((0..<16).map { _ in UInt8.random(in: 0...255) }),
                               key: SymmetricKey? = nil) throws -> [String: Any] {
        let chip = try key ?? h.services.chipKeys.key(for: CardNumber(number))
        let mac = HMAC<SHA256>.authenticationCode(for: challenge, using: chip)
        return ["kind": "card", "cardNumber": number, "challenge": challenge.base64EncodedString(), "response": Data(mac).base64EncodedString()]
    }

    @Test(arguments: Engine.available)
    func theCatalogueIsDraftedPublishedAndComparedByVersion(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            #expect(try await h.call(.post, "/api/v1/catalogue/publish", token: h.admin).code == "nothing_to_publish")
            for code in ["11-A-001", "11-B-001", "11-C-001"] {
                let d = try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["item": Self.itemJSON(code, regions: ["110000"], issuers: ["*"], types: ["library"])])
                #expect(d.status == 201 && d.string("action") == "upsert", "\(d)")
            }
            #expect((try await h.call(.get, "/api/v1/catalogue/drafts", token: h.admin)["drafts"] as? [Any])?.count == 3)
            let empty = try await h.call(.get, "/api/v1/catalogue")
            #expect((empty["items"] as? [Any])?.isEmpty == true && empty["version"] as? Int == 0)
            #expect(try await h.call(.post, "/api/v1/catalogue/publish", token: h.admin)["version"] as? Int == 1)
            let v1 = try await h.call(.get, "/api/v1/catalogue")
            #expect(v1["version"] as? Int == 1 && (v1["items"] as? [Any])?.count == 3)

            // Change one, withdraw one, add one: version 2 lists exactly that.
            _ = try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["item": Self.itemJSON("11-A-001", regions: ["110000"], issuers: ["*"], types: ["library"], name: "改名后的项目")])
            _ = try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["code": "11-B-001", "withdraw": true])
            _ = try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["item": Self.itemJSON("11-D-001", domain: "sports", regions: ["110105"], issuers: ["110000"], types: ["sports"])])
            #expect(try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["code": "NOPE", "withdraw": true]).code == "item_not_in_catalogue")
            #expect(try await h.call(.post, "/api/v1/catalogue/publish", token: h.admin)["version"] as? Int == 2)
            let changes = try await h.call(.get, "/api/v1/catalogue/versions/2/changes")
            #expect((changes["added"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["11-D-001"])
            #expect((changes["withdrawn"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["11-B-001"])
            #expect(((changes["changed"] as? [[String: Any]])?.first?["after"] as? [String: Any])?["name"] as? String == "改名后的项目")
            #expect((try await h.call(.get, "/api/v1/catalogue/versions/1/changes")["added"] as? [Any])?.count == 3)
            #expect(try await h.call(.get, "/api/v1/catalogue/versions/9/changes").code == "version_not_found")
            #expect((try await h.call(.get, "/api/v1/catalogue/versions")["versions"] as? [Any])?.count == 2)

            // Filters and CSV.
            #expect((try await h.call(.get, "/api/v1/catalogue?domain=sports")["items"] as? [Any])?.count == 1)
            #expect((try await h.call(.get, "/api/v1/catalogue?region=110108")["items"] as? [Any])?.count == 2)  // 11-D is in 110105 only
            #expect((try await h.call(.get, "/api/v1/catalogue?region=110105")["items"] as? [Any])?.count == 3)
            #expect(try await h.call(.get, "/api/v1/catalogue?domain=magic").code == "invalid_value")
            #expect(try await h.call(.get, "/api/v1/catalogue?alliance=mars").code == "invalid_value")
            let csv = try await h.call(.get, "/api/v1/catalogue?format=csv")
            let lines = String(decoding: csv.body, as: UTF8.self).split(separator: "\r\n")
            #expect(csv.contentType.hasPrefix("text/csv") && lines.count == 4 && lines[0].hasPrefix("code,name,domain"), "\(csv)")
            #expect(lines.contains { $0.hasPrefix("11-A-001,改名后的项目,culture") })

            let bad = try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["item": Self.itemJSON("11-X-001", regions: ["999999"], issuers: ["*"], types: ["library"])])
            #expect(bad.code == "invalid_region_code")
            #expect(try await h.call(.post, "/api/v1/catalogue/items", token: h.agent, json: [:]).status == 403)
        }
    }

    @Test(arguments: Engine.available)
    func alliancesAndSeedCatalogue(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            let all = try await h.call(.get, "/api/v1/catalogue")["items"] as? [[String: Any]] ?? []
            #expect(all.count == PolicyBook.shipped.policy(for: "110000").seedCatalogue.count)
            let jjj = (try await h.call(.get, "/api/v1/catalogue?alliance=jjj")["items"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            #expect(jjj.sorted() == ["JJJ-LIB-001", "JJJ-MED-001", "JJJ-TOUR-001", "JJJ-TRN-001"])
            #expect((try await h.call(.get, "/api/v1/catalogue?alliance=yrd")["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test(arguments: Engine.available)
    func departmentsCannotDuplicateTheCard(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            _ = try await h.services.createStaffUser(username: "culture", password: "department-password", role: .department)
            let dept = try await h.services.accounts.staffToken(username: "culture", password: "department-password").accessToken
            let dup = try await h.call(.post, "/api/v1/credentials", token: dept, json: ["name": "北京市读者证", "domain": "culture", "regions": ["110105"], "nationalMandate": false])
            #expect(dup.status == 409 && dup.code == "duplicates_catalogue", "\(dup)")
            #expect(dup.string("detail")?.contains("JJJ-LIB-001") == true)
            let fused = try await h.call(.post, "/api/v1/credentials", token: dept, json: ["name": "全国统一读者码", "domain": "culture", "regions": ["110000"], "nationalMandate": true])
            #expect(fused.status == 201 && fused.string("status") == "for_fusion" && (fused["duplicates"] as? [String])?.contains("JJJ-LIB-001") == true, "\(fused)")
            let fresh = try await h.call(.post, "/api/v1/credentials", token: dept, json: ["name": "北京政务通行码", "domain": "other", "regions": ["110000"], "nationalMandate": false])
            #expect(fresh.string("status") == "registered")
            #expect((try await h.call(.get, "/api/v1/credentials", token: dept)["credentials"] as? [Any])?.count == 2)
        }
    }

    @Test(arguments: Engine.available)
    func venuesAndTerminalKeys(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            let base: [String: Any] = ["name": "图书馆", "operatorUscc": Self.uscc(), "type": "library", "regionCode": "120101", "address": "天津路 1 号", "itemCodes": ["JJJ-LIB-001"]]
            var wrong = base; wrong["operatorUscc"] = "12110105MB00000010"
            #expect(try await h.call(.post, "/api/v1/venues", token: h.admin, json: wrong).code == "invalid_uscc")
            var unknown = base; unknown["itemCodes"] = ["NOPE-001"]
            #expect(try await h.call(.post, "/api/v1/venues", token: h.admin, json: unknown).code == "item_not_in_catalogue")
            var mismatch = base; mismatch["itemCodes"] = ["JJJ-MED-001"]
            #expect(try await h.call(.post, "/api/v1/venues", token: h.admin, json: mismatch).code == "item_not_for_venue_type")
            #expect(try await h.count("venues") == 0)
            let (venueId, key) = try await h.createVenue(type: "library", region: "120101", items: ["JJJ-LIB-001"])
            #expect(key.hasPrefix("oct_"))
            let stored = try await h.services.store.read { try await $0.db.raw("SELECT key_hash FROM terminals").first()?.decode(column: "key_hash", as: String.self) }
            #expect(stored != nil && stored != key && !(stored ?? "").contains(key))
            #expect((try await h.call(.get, "/api/v1/venues")["venues"] as? [Any])?.count == 1)
            // A terminal key opens terminal routes only; a revoked one opens nothing.
            #expect(try await h.call(.get, "/api/v1/users", token: key).status == 403)
            let terminalId = String(key.split(separator: "_")[1])
            #expect(try await h.call(.delete, "/api/v1/venues/\(venueId)/terminals/\(terminalId)", token: h.admin).status == 204)
            #expect(try await h.accept(key: key, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": "x"]).code == "invalid_token")
            #expect(try await h.accept(key: "oct_forged_key", item: "JJJ-LIB-001", credential: ["kind": "qr", "token": "x"]).status == 401)
        }
    }

    @Test(arguments: Engine.available)
    func aBeijingCardAcrossTheJingJinJiList(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            try await h.createBank()
            // A Tianjin-only museum item, drafted and published.
            _ = try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["item": Self.itemJSON("12-MUS-001", regions: ["120000"], issuers: ["120000"], types: ["museum"])])
            _ = try await h.call(.post, "/api/v1/catalogue/publish", token: h.admin)
            let (_, library) = try await h.createVenue(type: "library", region: "120101", items: ["JJJ-LIB-001"], name: "天津图书馆")
            let (_, museum) = try await h.createVenue(type: "museum", region: "120101", items: ["12-MUS-001"], name: "天津博物馆")
            let (holder, person, number) = try await h.holderWithECard(idNumber: TestIDs.resident(birth: "19500101", sequence: "777"))

            let token = try await h.qrToken(holder)
            let key = "gate-1-" + UUID().uuidString
            let ok = try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": token], idempotency: key)
            #expect(ok.string("decision") == "accepted" && ok["crossRegion"] as? Bool == true && ok.string("useId") != nil, "\(ok)")
            #expect(ok["entitlements"] as? [String] == ["elderly", "elderly_65", "elderly_70"])  // born 1950
            // The same Idempotency-Key returns the first answer and records nothing new.
            let again = try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": token], idempotency: key)
            #expect(again.string("useId") == ok.string("useId") && again.string("decision") == "accepted")
            #expect(try await h.count("uses") == 1)
            // A new presentation of the same token at the same item is a replay.
            #expect(try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": token]).string("reason") == "token_replayed")
            // The Tianjin-only museum does not recognise a Beijing card.
            #expect(try await h.accept(key: museum, item: "12-MUS-001", credential: ["kind": "qr", "token": try await h.qrToken(holder)]).string("reason") == "region_not_recognised")
            #expect(try await h.accept(key: museum, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": try await h.qrToken(holder)]).string("reason") == "item_not_at_venue")
            #expect(try await h.accept(key: library, item: "NOPE-001", credential: ["kind": "qr", "token": try await h.qrToken(holder)]).string("reason") == "item_not_in_catalogue")
            #expect(try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": "not.a.token"]).string("reason") == "token_invalid")
            h.clock.advance(by: 1)
            let stale = try await h.qrToken(holder)
            h.clock.advance(by: 120)
            #expect(try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": stale]).string("reason") == "token_expired")

            // A withdrawn item stops being accepted from its publication.
            let before = try await h.qrToken(holder)
            _ = try await h.call(.post, "/api/v1/catalogue/items", token: h.admin, json: ["code": "JJJ-LIB-001", "withdraw": true])
            _ = try await h.call(.post, "/api/v1/catalogue/publish", token: h.admin)
            #expect(try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": before]).string("reason") == "item_not_in_catalogue")

            // A token taken before a loss report is refused after it.
            let inFlight = try await h.qrToken(holder)
            _ = try await h.call(.post, "/api/v1/me/report-loss", token: holder, json: ["kind": "temporary"])
            #expect(try await h.accept(key: museum, item: "12-MUS-001", credential: ["kind": "qr", "token": inFlight]).string("reason") == "card_lost")

            // Who checked my card: every answer about this card, accepted or denied.
            let uses = try await h.call(.get, "/api/v1/me/uses", token: holder)["uses"] as? [[String: Any]] ?? []
            // Seven answers name this card; a malformed or expired token names no card, so it is not listed.
            #expect(uses.count == 7, "\(uses.count)")
            #expect(uses.contains { $0["venueName"] as? String == "天津图书馆" && $0["decision"] as? String == "accepted" })
            _ = person; _ = number
        }
    }

    @Test(arguments: Engine.available)
    func physicalCardsAnswerAChallenge(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, gate) = try await h.createVenue(type: "transit", region: "110105", items: ["JJJ-TRN-001"], name: "北京地铁")
            let (_, bank) = try await h.createVenue(type: "bank", region: "110105", items: ["11-BEN-001", "11-SI-001"], name: "银行网点")
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "888"))
            func present(_ challenge: Data = Data((0..<16).map { _ in UInt8.random(in: 0...255) }), key: SymmetricKey? = nil) throws -> [String: Any] {
                try Self.chipCredential(h, card: number, challenge: challenge, key: key)
            }
            let ok = try await h.accept(key: gate, item: "JJJ-TRN-001", credential: present(), amountFen: 300)
            #expect(ok.string("decision") == "accepted" && ok["chargedFen"] as? Int == 300 && ok["crossRegion"] as? Bool == false, "\(ok)")
            #expect(try await h.accept(key: gate, item: "JJJ-TRN-001", credential: present(key: SymmetricKey(size: .bits256))).string("reason") == "chip_auth_failed")
            let fixed = Data(repeating: 42, count: 20)
            #expect(try await h.accept(key: gate, item: "JJJ-TRN-001", credential: present(fixed)).string("decision") == "accepted")
            #expect(try await h.accept(key: gate, item: "JJJ-TRN-001", credential: present(fixed)).string("reason") == "token_replayed")
            // 11-BEN-001 is physical only and needs the financial function.
            try await h.services.store.write { try await $0.db.raw("UPDATE cards SET financial = 0 WHERE card_number = \(bind: number)").run() }
            #expect(try await h.accept(key: bank, item: "11-BEN-001", credential: present()).string("reason") == "function_not_loaded")
            #expect(try await h.accept(key: bank, item: "11-SI-001", credential: present()).string("decision") == "accepted")
            // Bad input is a problem, not a decision, and records nothing.
            let usesBefore = try await h.count("uses")
            #expect(try await h.accept(key: gate, item: "JJJ-TRN-001", credential: ["kind": "card", "cardNumber": number, "challenge": "c2hvcnQ=", "response": "AA=="]).code == "invalid_field")
            #expect(try await h.accept(key: gate, item: "JJJ-TRN-001", credential: ["kind": "nfc"]).code == "invalid_value")
            #expect(try await h.accept(key: gate, item: "JJJ-TRN-001", credential: present(), amountFen: -1).code == "invalid_field")
            let noKey = try await h.call(.post, "/api/v1/acceptances", token: gate, json: ["itemCode": "JJJ-TRN-001", "credential": present()])
            #expect(noKey.status == 400 && noKey.code == "idempotency_key_required")
            #expect(try await h.count("uses") == usesBefore)
        }
    }

    /// Acceptances that arrive together are decided together in one transaction (group commit): the
    /// answers must be exactly those of one-at-a-time decisions — one acceptance per token and venue item,
    /// a challenge answered once, a repeated Idempotency-Key answered as the first and recorded once.
    @Test(arguments: Engine.available)
    func acceptancesArrivingTogetherAreDecidedAsOne(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, library) = try await h.createVenue(type: "library", region: "110105", items: ["JJJ-LIB-001"], name: "首都图书馆")
            let (_, gate) = try await h.createVenue(type: "transit", region: "110105", items: ["JJJ-TRN-001"], name: "北京地铁")
            let (holder, _, _) = try await h.holderWithECard(idNumber: TestIDs.resident(birth: "19800101", sequence: "555"))
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "556"))
            let card = try Self.chipCredential(h, card: number)
            var tokens: [String] = []
            for _ in 0..<8 { tokens.append(try await h.qrToken(holder)) }

            // Each token twice under different keys, each of those keys twice, and the challenge twice.
            struct Call: Sendable { let key: String, item: String, credential: String, idempotency: String }
            func json(_ o: [String: Any]) -> String { String(decoding: try! JSONSerialization.data(withJSONObject: o), as: UTF8.self) }
            var calls: [Call] = []
            for (t, token) in tokens.enumerated() {
                for copy in 0..<2 {
                    let call = Call(key: library, item: "JJJ-LIB-001", credential: json(["kind": "qr", "token": token]), idempotency: "t\(t)-\(copy)")
                    calls += [call, call]
                }
            }
            calls += [Call(key: gate, item: "JJJ-TRN-001", credential: json(card), idempotency: "c-0"), Call(key: gate, item: "JJJ-TRN-001", credential: json(card), idempotency: "c-1")]
            let replies = try await withThrowingTaskGroup(of: (String, Reply).self) { group in
                for call in calls.shuffled() {
                    group.addTask {
                        let body = "{\"itemCode\":\"\(call.item)\",\"credential\":\(call.credential)}"
                        return (call.idempotency, try await h.call(.post, "/api/v1/acceptances", token: call.key, body: body, headers: ["Idempotency-Key": call.idempotency]))
                    }
                }
                var all: [(String, Reply)] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(replies.allSatisfy { $0.1.status == 200 }, "\(replies.filter { $0.1.status != 200 })")
            let byKey = Dictionary(grouping: replies, by: \.0)
            for (key, answers) in byKey {
                #expect(Set(answers.map { String(decoding: $0.1.body, as: UTF8.self) }).count == 1, "\(key) answered differently: \(answers)")
            }
            for t in 0..<tokens.count {
                let decisions = [byKey["t\(t)-0"]![0].1.string("decision"), byKey["t\(t)-1"]![0].1.string("decision")]
                #expect(decisions.sorted { ($0 ?? "") < ($1 ?? "") } == ["accepted", "denied"], "token \(t): \(decisions)")
            }
            let cardReasons = [byKey["c-0"]![0].1.string("reason"), byKey["c-1"]![0].1.string("reason")].compactMap { $0 }
            #expect(cardReasons == ["token_replayed"], "\(cardReasons)")
            #expect(try await h.count("uses") == tokens.count * 2 + 2)
            #expect(try await h.count("accepted_tokens") == tokens.count)
            #expect(try await h.count("card_challenges") == 1)
        }
    }

    /// A temporary loss that has run its period lapses when the card is next presented, in its own
    /// transition with its event, and the card is then judged active.
    /// `POST /api/v1/acceptances/batch`: an offline gate's decisions are recorded once each, the gate's answer
    /// stands, the node flags what it would have refused, and an upload with a bad decision records nothing.
    @Test(arguments: Engine.available)
    func offlineDecisionsAreRecordedOnceAndABadUploadChangesNothing(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a library gate and a holder with two tokens taken while the card was fine
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, gate) = try await h.createVenue(type: "library", region: "110101", items: ["JJJ-LIB-001"], name: "首都图书馆")
            let (holder, _, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "778"))
            let t1 = try await h.qrToken(holder), t2 = try await h.qrToken(holder)
            let decidedAt = Timestamp.format(h.clock.read())
            func decision(_ id: String, _ token: String, _ decision: String = "accepted", at: String? = nil) -> [String: Any] {
                ["decisionId": id, "itemCode": "JJJ-LIB-001", "token": token, "decidedAt": at ?? decidedAt, "decision": decision, "reason": NSNull()]
            }
            func uploadOffline(_ decisions: [[String: Any]]) async throws -> Reply {
                let body = try JSONSerialization.data(withJSONObject: ["decisions": decisions])
                return try await h.call(.post, "/api/v1/acceptances/batch", token: gate, body: String(decoding: body, as: UTF8.self))
            }
            // The card is reported lost after the gate took t2 offline.
            _ = try await h.call(.post, "/api/v1/me/report-loss", token: holder, json: ["kind": "temporary"])

            // the action and validation: a bad decision last in the upload, then the good ones, then again
            let bad = try await uploadOffline([decision("d1", t1), decision("d2", t2), decision("d3", t1, at: "yesterday")])
            #expect(bad.status == 422 && bad.code == "invalid_field", "\(bad)")
            #expect(try await h.count("uses") == 0)
            let ok = try await uploadOffline([decision("d1", t1), decision("d2", t2, "denied"), decision("d1", t1)])
            #expect(ok.status == 200, "\(ok)")
            #expect(ok["recorded"] as? Int == 2 && ok["duplicates"] as? Int == 1, "\(ok)")
            // The gate accepted a card the node knows was lost: recorded as the gate decided, and flagged.
            #expect(ok["disputed"] as? [String] == ["d1"], "\(ok)")
            let again = try await uploadOffline([decision("d1", t1), decision("d2", t2, "denied")])
            #expect(again["recorded"] as? Int == 0 && again["duplicates"] as? Int == 2, "\(again)")
            #expect(try await h.count("uses") == 2)
            let uses = try await h.call(.get, "/api/v1/me/uses", token: holder)["uses"] as? [[String: Any]] ?? []
            #expect(uses.compactMap { $0["decision"] as? String }.sorted() == ["accepted", "denied"], "\(uses)")

            // An online acceptance whose Idempotency-Key happens to equal a gate's decisionId is decided on its own,
            // not answered with the gate's decision (and its free-text reason); the offline id stays recorded.
            let gateSaid = try await uploadOffline([["decisionId": "k-shared", "itemCode": "JJJ-LIB-001", "token": t1, "decidedAt": decidedAt,
                                                     "decision": "denied", "reason": "gate could not read the code"]])
            #expect(gateSaid["recorded"] as? Int == 1, "\(gateSaid)")
            let online = try await h.accept(key: gate, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": t2], idempotency: "k-shared")
            #expect(online.status == 200 && online.string("reason") == "card_lost", "\(online)")
            let repeated = try await uploadOffline([["decisionId": "k-shared", "itemCode": "JJJ-LIB-001", "token": t1, "decidedAt": decidedAt,
                                                     "decision": "denied", "reason": "gate could not read the code"]])
            #expect(repeated["duplicates"] as? Int == 1, "\(repeated)")
        }
    }

    @Test(arguments: Engine.available)
    func aLapsedTemporaryLossIsLiftedAtTheGate(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, gate) = try await h.createVenue(type: "transit", region: "110105", items: ["JJJ-TRN-001"], name: "北京地铁")
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "557"))
            func present() throws -> [String: Any] { try Self.chipCredential(h, card: number) }
            _ = try await h.call(.post, "/api/v1/cards/\(number)/report-loss", token: h.agent, json: ["kind": "temporary"])
            #expect(try await h.accept(key: gate, item: "JJJ-TRN-001", credential: present()).string("reason") == "card_lost")
            h.clock.advance(by: Double(h.services.policy.temporaryLossLapseDays + 1) * 86_400)
            let ok = try await h.accept(key: gate, item: "JJJ-TRN-001", credential: present())
            #expect(ok.string("decision") == "accepted", "\(ok)")
            let events = try await h.services.store.read { try await $0.events.list(cardNumber: try CardNumber(number), applicationId: nil) }
            #expect(events.filter { $0.type == "temporary_loss_lapsed" }.count == 1)
        }
    }

    @Test(arguments: Engine.available)
    func identityChecksDiscloseOnlyWhatTheVenueMaySee(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, hotel) = try await h.createVenue(type: "hotel", region: "110105", items: ["11-HOTEL-001"], name: "北京饭店")
            let (_, counter) = try await h.createVenue(type: "government", region: "110105", items: ["11-HR-001"], name: "政务大厅")
            let (_, library) = try await h.createVenue(type: "library", region: "110105", items: ["JJJ-LIB-001"], name: "首都图书馆")
            let idNumber = TestIDs.resident(sequence: "999")
            let (holder, person, _) = try await h.holderWithECard(idNumber: idNumber)

            let atHotel = try await h.call(.post, "/api/v1/identity-checks", token: hotel, json: ["credential": ["kind": "qr", "token": try await h.qrToken(holder)], "purpose": "住宿登记"])
            #expect(atHotel["verified"] as? Bool == true && atHotel.string("idNumber") == idNumber && atHotel.string("name") == "王秀梅", "\(atHotel)")
            let atCounter = try await h.call(.post, "/api/v1/identity-checks", token: counter, json: ["credential": ["kind": "qr", "token": try await h.qrToken(holder)], "purpose": "窗口办事"])
            #expect(atCounter["verified"] as? Bool == true && atCounter["idNumber"] == nil && atCounter.string("idNumberMasked") == Mask.idNumber(idNumber))
            let refused = try await h.call(.post, "/api/v1/identity-checks", token: library, json: ["credential": ["kind": "qr", "token": try await h.qrToken(holder)], "purpose": "x"])
            #expect(refused.status == 403 && refused.code == "venue_not_permitted")
            let audit = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }.map(\.action)
            #expect(audit.contains("identity_disclosed_full") && audit.contains("identity_disclosed_masked"))
            let uses = try await h.call(.get, "/api/v1/me/uses", token: holder)["uses"] as? [[String: Any]] ?? []
            #expect(Set(uses.compactMap { $0["disclosed"] as? String }) == ["full", "masked"])
        }
    }

    @Test func theDemoSeedsThePacksCatalogueAndVenues() async throws {
        try await Harness.run(.sqlite, region: "440000") { h in
            // Remove the harness's users so the database counts as empty.
            try await h.services.store.write { s in
                try await s.db.raw("DELETE FROM staff_users").run()
                try await s.db.raw("DELETE FROM audit_log").run()
            }
            let logins = try await DemoData.seedIfEmpty(h.services)
            #expect(logins.filter { $0.role == "terminal" }.count == PolicyBook.shipped.policy(for: "440000").demoVenues.count)
            let catalogue = try await h.call(.get, "/api/v1/catalogue?alliance=gba")["items"] as? [Any] ?? []
            #expect(!catalogue.isEmpty)
            #expect((try await h.call(.get, "/api/v1/venues")["venues"] as? [[String: Any]] ?? []).allSatisfy { ($0["regionCode"] as? String)?.hasPrefix("44") == true })
        }
    }
}
