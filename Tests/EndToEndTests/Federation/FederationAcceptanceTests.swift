import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import OneCardTestSupport
import Testing

/// A card works across provinces as one system: the 京津冀 alliance agrees a joint museum item at the hub, a Hebei
/// museum takes it, a Beijing physical card is accepted there online with its chip checked by Beijing, a Beijing
/// e-card QR code is accepted at a Tianjin library online, and the Beijing holders see those uses with the province.
@Suite("Federation: cards and QR codes of one province accepted in another", .serialized)
struct FederationAcceptanceTests {
    static let beijing = FederationHarness.beijing, tianjin = FederationHarness.tianjin, hebei = FederationHarness.hebei

    @Test(arguments: Engine.available)
    func aBeijingCardIsAcceptedInHebeiAndTianjinAndItsHolderSeesWhere(_ engine: Engine) async throws {
        try await FederationHarness.with(engine) { fed in
            let beijing = fed[Self.beijing], tianjin = fed[Self.tianjin], hebei = fed[Self.hebei]

            // 1. The alliance's list: Beijing proposes a joint museum item, Tianjin and Hebei approve, every member applies it.
            let item: [String: Any] = [
                "code": "JJJ-MUS-009", "name": "京津冀博物馆联票", "domain": "culture", "scenario": "博物馆入馆", "cardForms": ["physical", "electronic"],
                "level": "alliance", "regions": [Self.beijing, Self.tianjin, Self.hebei], "issuers": [Self.beijing], "venueTypes": ["museum"],
                "legalBasis": "京津冀社会保障卡居民服务一卡通条例第十二条", "effectiveFrom": "2026-01-01",
            ]
            let proposed = try await beijing.http.call("POST", "/api/v1/alliances/jjj/proposals", token: beijing.admin, json: ["item": item])
            #expect(proposed.status == 201 && proposed["status"] as? String == "open", "\(proposed)")
            let id = try #require(proposed["proposalId"] as? String)
            // a node's agent may not propose
            #expect(try await tianjin.http.call("POST", "/api/v1/alliances/jjj/proposals", token: tianjin.agent, json: ["item": item]).status == 403)
            #expect(try await tianjin.http.call("POST", "/api/v1/alliances/jjj/proposals/\(id)/approve", token: tianjin.admin)["status"] as? String == "open")
            let published = try await hebei.http.call("POST", "/api/v1/alliances/jjj/proposals/\(id)/approve", token: hebei.admin)
            #expect(published["status"] as? String == "published", "\(published)")
            for node in [beijing, tianjin, hebei] {
                try await eventually("\(node.region) applies the list") {
                    let items = try await node.http.call("GET", "/api/v1/catalogue?alliance=jjj")["items"] as? [[String: Any]] ?? []
                    return items.contains { $0["code"] as? String == "JJJ-MUS-009" && ($0["issuers"] as? [String])?.contains(Self.hebei) == true }
                }
            }

            // 2. A Hebei museum takes the item, with a terminal.
            let uscc = try #require((try await hebei.http.call("GET", "/api/v1/venues")["venues"] as? [[String: Any]])?.first?["operatorUscc"] as? String)
            let venue = try await hebei.http.call("POST", "/api/v1/venues", token: hebei.admin, json: [
                "name": "河北博物院", "operatorUscc": uscc, "type": "museum", "regionCode": "130102", "address": "石家庄市东大街 4 号",
                "accessibility": ["wheelchair"], "unifiedLogo": true, "itemCodes": ["JJJ-MUS-009"],
            ])
            #expect(venue.status == 201, "\(venue)")
            let terminal = try await hebei.http.call("POST", "/api/v1/venues/\(try #require(venue["venueId"] as? String))/terminals", token: hebei.admin)
            let museumKey = try #require(terminal["apiKey"] as? String, "\(terminal)")

            // 3. A Beijing resident gets a physical card (its chip key is Beijing's alone).
            let card = try await Self.newBeijingCard(beijing)

            // 4. At the Hebei museum the chip's answer is checked by Beijing, through the hub.
            let challenge = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
            let response = Data(HMAC<SHA256>.authenticationCode(for: challenge, using: SymmetricKey(data: try #require(Data(base64Encoded: card.chipKey)))))
            func present(_ key: String, _ challenge: Data, _ response: Data) async throws -> FederationClient.Reply {
                try await hebei.http.call("POST", "/api/v1/acceptances", token: museumKey, json: [
                    "itemCode": "JJJ-MUS-009",
                    "credential": ["kind": "card", "cardNumber": card.number, "challenge": challenge.base64EncodedString(), "response": response.base64EncodedString()],
                ], headers: [("Idempotency-Key", key)])
            }
            let accepted = try await present("m1", challenge, response)
            #expect(accepted["decision"] as? String == "accepted" && accepted["crossRegion"] as? Bool == true, "\(accepted)")
            // the same challenge again is spent (at the issuer); a wrong answer fails; a repeat of the key answers the same
            let replayed = try await present("m2", challenge, response)
            #expect(replayed["decision"] as? String == "denied" && replayed["reason"] as? String == "token_replayed", "\(replayed)")
            let forged = try await present("m3", Data(repeating: 7, count: 16), Data(repeating: 1, count: 32))
            #expect(forged["reason"] as? String == "chip_auth_failed", "\(forged)")
            #expect(try await present("m1", challenge, response)["useId"] as? String == accepted["useId"] as? String)

            // 5. A Beijing e-card QR code at the Tianjin library, online.
            let holderID = try #require(beijing.holderID(1))
            let holder = try #require(try await beijing.http.call("POST", "/api/v1/auth/holder-token",
                                                                  json: ["idNumber": holderID, "password": "holder-demo-1"])["accessToken"] as? String)
            _ = try await beijing.http.call("POST", "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-1"])
            let token = try #require(try await beijing.http.call("POST", "/api/v1/me/ecard/qr", token: holder)["token"] as? String)
            let libraryKey = try #require(tianjin.terminalKey(venue: "图书馆"))
            let atLibrary = try await tianjin.http.call("POST", "/api/v1/acceptances", token: libraryKey, json: [
                "itemCode": "JJJ-LIB-001", "credential": ["kind": "qr", "token": token],
            ], headers: [("Idempotency-Key", "q1")])
            #expect(atLibrary["decision"] as? String == "accepted" && atLibrary["crossRegion"] as? Bool == true, "\(atLibrary)")
            let again = try await tianjin.http.call("POST", "/api/v1/acceptances", token: libraryKey, json: [
                "itemCode": "JJJ-LIB-001", "credential": ["kind": "qr", "token": token],
            ], headers: [("Idempotency-Key", "q2")])
            #expect(again["reason"] as? String == "token_replayed", "\(again)")

            // 5b. The same holder checks in at a Tianjin hotel: Beijing verifies the code and discloses what a hotel must register.
            let hotelKey = try #require(tianjin.terminalKey(venue: "宾馆"))
            let hotelToken = try #require(try await beijing.http.call("POST", "/api/v1/me/ecard/qr", token: holder)["token"] as? String)
            let checkIn = try await tianjin.http.call("POST", "/api/v1/identity-checks", token: hotelKey, json: [
                "credential": ["kind": "qr", "token": hotelToken], "purpose": "入住登记",
            ])
            #expect(checkIn["verified"] as? Bool == true && checkIn["idNumber"] as? String == holderID, "\(checkIn)")
            // the issuer audited what it disclosed, to whom and why (its auditor reads it)
            let personId = try #require(try await beijing.http.call("GET", "/api/v1/me/card", token: holder)["personId"] as? String)
            let audit = try await beijing.http.call("GET", "/api/v1/audit?subject=person:\(personId)", token: beijing.auditor)
            let disclosed = (audit["entries"] as? [[String: Any]] ?? []).first { $0["action"] as? String == "identity_disclosed_full" }
            #expect((disclosed?["actor"] as? String)?.contains("(12") == true && (disclosed?["purpose"] as? String)?.contains("入住登记") == true, "\(audit)")

            // 6. The holders see where their cards were used, province by province.
            try await eventually("the Hebei museum use reaches the card's holder") {
                let uses = try await beijing.http.call("GET", "/api/v1/me/uses", token: card.holderToken)["uses"] as? [[String: Any]] ?? []
                return uses.contains { ($0["regionCode"] as? String)?.hasPrefix("13") == true && $0["venueName"] as? String == "河北博物院"
                    && $0["decision"] as? String == "accepted" && $0["crossRegion"] as? Bool == true }
            }
            try await eventually("the Tianjin library use and hotel check reach the demo holder") {
                let uses = try await beijing.http.call("GET", "/api/v1/me/uses", token: holder)["uses"] as? [[String: Any]] ?? []
                return uses.contains { ($0["regionCode"] as? String)?.hasPrefix("12") == true && $0["kind"] as? String == "qr" && $0["decision"] as? String == "accepted" }
                    && uses.contains { $0["kind"] as? String == "identity_check" && $0["disclosed"] as? String == "full" && ($0["regionCode"] as? String)?.hasPrefix("12") == true }
            }
            // the spent challenge is the holder's to see too (a wrong answer is nobody's); each reported once
            try await eventually("the refused replay reaches the card's holder") {
                let uses = try await beijing.http.call("GET", "/api/v1/me/uses", token: card.holderToken)["uses"] as? [[String: Any]] ?? []
                return uses.contains { $0["reason"] as? String == "token_replayed" }
            }
            let reported = try await beijing.http.call("GET", "/api/v1/me/uses", token: card.holderToken)["uses"] as? [[String: Any]] ?? []
            #expect(reported.filter { ($0["regionCode"] as? String)?.hasPrefix("13") == true }.count == 2, "\(reported)")
        }
    }

    struct NewCard { let number: String; let chipKey: String; let holderToken: String }

    /// Registers a Beijing resident, takes their application through to an active card, and opens their online account.
    static func newBeijingCard(_ beijing: FederationHarness.Node) async throws -> NewCard {
        let idNumber = TestIDs.resident(region: "110105", birth: "19700505", sequence: String(format: "%03d", Int.random(in: 100...899)))
        let person = try await beijing.http.call("POST", "/api/v1/persons", token: beijing.agent, json: [
            "idType": "resident", "idNumber": idNumber, "name": "赵文华", "phone": "13700002222",
        ])
        #expect(person.status == 201, "\(person)")
        let personId = try #require(person["personId"] as? String)
        let outlet = try #require((try await beijing.http.call("GET", "/api/v1/outlets")["outlets"] as? [[String: Any]])?.first?["outletId"] as? String)
        let bank = try #require((try await beijing.http.call("GET", "/api/v1/banks")["banks"] as? [[String: Any]])?.first?["code"] as? String)
        let app = try await beijing.http.call("POST", "/api/v1/card-applications", token: beijing.agent, json: [
            "personId": personId, "channel": "counter", "applyOutletId": outlet, "bankCode": bank,
        ])
        #expect(app["status"] as? String == "submitted", "\(app)")
        let appId = try #require(app["applicationId"] as? String)
        var produced: FederationClient.Reply?
        for step in ["approve", "produce", "ready", "collect"] {
            let r = try await beijing.http.call("POST", "/api/v1/card-applications/\(appId)/\(step)", token: beijing.agent)
            #expect(r.status == 200, "\(step): \(r)")
            if step == "produce" { produced = r }
        }
        let number = try #require(produced?["cardNumber"] as? String), chipKey = try #require(produced?["chipKey"] as? String)
        let activated = try await beijing.http.call("POST", "/api/v1/cards/\(number)/activate", token: beijing.agent, json: ["pin": "271828"])
        #expect(activated["status"] as? String == "active", "\(activated)")
        let opened = try await beijing.http.call("POST", "/api/v1/holders", json: [
            "idType": "resident", "idNumber": idNumber, "name": "赵文华", "phone": "13700002222", "password": "zhao-wenhua-2026",
        ])
        #expect(opened.status == 201, "\(opened)")
        let token = try #require(try await beijing.http.call("POST", "/api/v1/auth/holder-token",
                                                             json: ["idNumber": idNumber, "password": "zhao-wenhua-2026"])["accessToken"] as? String)
        return NewCard(number: number, chipKey: chipKey, holderToken: token)
    }

    /// Waits up to 20 s for `condition`, recording an issue naming `what` if it never holds.
    func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("not within 20 s: \(what)")
    }
}
