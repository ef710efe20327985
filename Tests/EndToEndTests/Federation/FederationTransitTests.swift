import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import OneCardTestSupport
import Testing

/// Issue 13 across provinces, with real processes (hub, Beijing, Tianjin, a bank-sim): a Beijing card with the transit
/// function rides a Tianjin bus with its chip and with the Beijing e-card QR code; Tianjin's gate uploads the taps,
/// Beijing judges its own credentials through the hub, Tianjin prices the trips by its fares, Beijing debits the holder's
/// account once per trip (the bank-sim's statement is the witness) and answers `transit_result`; the holder sees the
/// trips at Beijing; the same batch again changes nothing; both nodes' daily inter-region statements reconcile to zero.
@Suite("Federation: a Beijing card rides a Tianjin bus, charged once through its issuer", .serialized)
struct FederationTransitTests {
    static let beijing = FederationHarness.beijing, tianjin = FederationHarness.tianjin
    typealias Server = EndToEndTests.Server

    /// A bank-sim where every account opens at ¥100 with Beijing's banks pointed at it, and a Beijing resident's card with
    /// the transit function loaded by the holder and an e-card: the bank's URL and the card.
    static func riderWithBank(_ fed: FederationHarness) async throws -> (String, FederationAcceptanceTests.NewCard) {
        let beijing = fed[Self.beijing]
        let bank = try Server(["bank-sim", "--bank", "ICBC", "--port", "0", "--store", fed.dir.appendingPathComponent("bank.sqlite").path,
                               "--opening-balance", "10000"])
        fed.others.append(bank)
        let bankURL = try await bank.baseURL()
        for code in ["ICBC", "CCB"] {
            let r = try await beijing.http.call("PATCH", "/api/v1/banks/\(code)", token: beijing.admin, json: ["endpoint": bankURL])
            #expect(r.status == 200, "\(r)")
        }
        let card = try await FederationAcceptanceTests.newBeijingCard(beijing)
        let loaded = try await beijing.http.call("POST", "/api/v1/me/card/functions", token: card.holderToken, json: ["transit": true])
        #expect(loaded.status == 200 && (loaded["functions"] as? [String: Any])?["transit"] as? Bool == true, "\(loaded)")
        let ecard = try await beijing.http.call("POST", "/api/v1/me/ecard", token: card.holderToken, json: ["deviceId": "phone-zhao"])
        #expect(ecard.status == 201 || ecard.status == 200, "\(ecard)")
        return (bankURL, card)
    }

    /// A card read as a gate takes it: the chip's answer to a fresh challenge, computed with the card's chip key.
    static func chipRead(_ card: FederationAcceptanceTests.NewCard) throws -> (challenge: String, response: String) {
        let challenge = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
        let response = Data(HMAC<SHA256>.authenticationCode(for: challenge, using: SymmetricKey(data: try #require(Data(base64Encoded: card.chipKey)))))
        return (challenge.base64EncodedString(), response.base64EncodedString())
    }

    /// The done-when of issue 13 across provinces: Tianjin's own offline gates (`onecard terminal` processes, trusting the
    /// hub-signed national list) let a Beijing card ride with its chip and with its QR code, journal and upload the taps;
    /// Beijing charges each trip once.
    @Test(arguments: Engine.available.prefix(1))
    func tianjinsOfflineGatesLetABeijingCardRideWithChipAndQR(_ engine: Engine) async throws {
        try await FederationHarness.with(engine) { fed in
            let beijing = fed[Self.beijing], tianjin = fed[Self.tianjin]
            let (bankURL, card) = try await Self.riderWithBank(fed)
            let gateKey = try #require(tianjin.terminalKey(venue: "天津市地铁"))
            func gate(_ station: String, _ direction: String) throws -> OfflineTerminalTests.Gate {
                let g = try OfflineTerminalTests.Gate(["terminal", "--node", tianjin.url, "--key", gateKey, "--operator", "TJ-BUS", "--station", station,
                                                       "--direction", direction, "--store", fed.dir.appendingPathComponent("tj-\(direction).sqlite").path,
                                                       "--interval", "1", "--hub-key", "@" + fed.hubKeyFile])
                fed.others.append(g.server)
                return g
            }
            let (gateIn, gateOut) = (try gate("天津站", "in"), try gate("鼓楼", "out"))
            let synced = Date().addingTimeInterval(30)
            while Date() < synced, ![gateIn, gateOut].allSatisfy({ $0.server.text.contains("trust list synced") }) { try await Task.sleep(for: .milliseconds(100)) }
            try await Task.sleep(for: .milliseconds(1500))  // and the national revocation list

            // action: a ride with the chip (天津站 → 鼓楼), one with the Beijing e-card's QR code (天津站 → 鼓楼)
            func chipLine() throws -> String { let r = try Self.chipRead(card); return "card:\(card.number):\(r.challenge):\(r.response)" }
            gateIn.send(try chipLine())
            #expect(try await TransitGateTests.tap(gateIn, 1).contains(#""decision":"accepted""#))
            try await Task.sleep(for: .seconds(1))
            gateOut.send(try chipLine())
            #expect(try await TransitGateTests.tap(gateOut, 1).contains(#""decision":"accepted""#))
            let qr = try #require(try await beijing.http.call("POST", "/api/v1/me/ecard/qr", token: card.holderToken)["token"] as? String)
            try await Task.sleep(for: .seconds(1))
            gateIn.send(qr)
            #expect(try await TransitGateTests.tap(gateIn, 2).contains(#""decision":"accepted""#))
            gateIn.send(qr)  // the same code again at this gate, offline: refused there
            #expect(try await TransitGateTests.tap(gateIn, 3).contains("token_replayed"))
            try await Task.sleep(for: .seconds(1))
            gateOut.send(qr)
            #expect(try await TransitGateTests.tap(gateOut, 2).contains(#""decision":"accepted""#))

            // validate: the gates upload; Beijing charges two trips once each (Tianjin's flat ¥2), the bank's statement agrees
            var trips: [[String: Any]] = []
            var statement: [[String: Any]] = []
            let deadline = Date().addingTimeInterval(40)
            while Date() < deadline {
                trips = try await beijing.http.call("GET", "/api/v1/me/trips", token: card.holderToken)["trips"] as? [[String: Any]] ?? []
                statement = try await FederationClient(base: bankURL).call("GET", "/debits")["debits"] as? [[String: Any]] ?? []
                if trips.count == 2, trips.allSatisfy({ $0["status"] as? String == "charged" }), statement.count == 2 { break }
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(trips.count == 2 && trips.allSatisfy { $0["status"] as? String == "charged" && $0["chargedFen"] as? Int == 200 }, "\(trips)\n\(gateIn.server.text)")
            #expect(trips.allSatisfy { $0["entry"] as? String == "天津站" && $0["exit"] as? String == "鼓楼" }, "\(trips)")
            #expect(statement.compactMap { $0["amountFen"] as? Int } == [200, 200], "\(statement)")
            for g in [gateIn, gateOut] {
                try g.input.fileHandleForWriting.close()
                #expect(try await g.server.waitForExit() == 0)
                #expect(g.server.text.contains("0 tap(s) still to upload"), "\(g.server.text)")
            }
        }
    }

    @Test(arguments: Engine.available)
    func aBeijingCardRidesInTianjinAndIsChargedOnceAtBeijing(_ engine: Engine) async throws {
        try await FederationHarness.with(engine) { fed in
            let beijing = fed[Self.beijing], tianjin = fed[Self.tianjin]
            let (bankURL, card) = try await Self.riderWithBank(fed)
            // Tianjin's demo operator and its transit venue's gate
            let operators = try await tianjin.http.call("GET", "/api/v1/transit/operators", token: tianjin.admin)
            #expect(operators.text.contains(#""code":"TJ-BUS""#), "\(operators)")
            let gateKey = try #require(tianjin.terminalKey(venue: "天津市地铁"))

            // the gate's journal: a ride with the card's chip (its answer to a fresh challenge), one with the QR code
            func chip() throws -> [String: Any] {
                let r = try Self.chipRead(card)
                return ["kind": "card", "cardNumber": card.number, "challenge": r.challenge, "response": r.response]
            }
            let qr = try #require(try await beijing.http.call("POST", "/api/v1/me/ecard/qr", token: card.holderToken)["token"] as? String)
            // The card was activated and the function loaded moments ago: the rides are now and within the next minute
            // (a gate's clock may run up to 5 minutes ahead of the node), while the QR code is still valid.
            try await Task.sleep(for: .milliseconds(1100))
            let now = Date()
            func tap(_ id: String, _ at: Date, _ stop: String, _ direction: String, _ credential: [String: Any]) -> [String: Any] {
                ["tapId": id, "at": Timestamp.format(at), "operator": "TJ-BUS", "route": "641", "station": stop, "direction": direction,
                 "credential": credential]
            }
            let journal = [
                tap("tj-gate-1", now, "天津站", "in", try chip()),
                tap("tj-gate-2", now.addingTimeInterval(15), "鼓楼", "out", try chip()),
                tap("tj-gate-3", now.addingTimeInterval(20), "鼓楼", "in", ["kind": "qr", "token": qr]),
                tap("tj-gate-4", now.addingTimeInterval(45), "天津站", "out", ["kind": "qr", "token": qr]),
            ]
            let uploaded = try await tianjin.http.call("POST", "/api/v1/transit/taps", token: gateKey, json: ["taps": journal])
            #expect(uploaded.status == 200 && uploaded["accepted"] as? Int == 4 && (uploaded["rejected"] as? [Any])?.isEmpty == true, "\(uploaded)")

            // validate: Beijing debits each trip once for Tianjin's flat fare (¥2), and Tianjin's trips become charged
            var trips: [[String: Any]] = []
            var statement: [[String: Any]] = []
            var days: Set<String> = []
            var settled = false
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                trips = try await beijing.http.call("GET", "/api/v1/me/trips", token: card.holderToken)["trips"] as? [[String: Any]] ?? []
                statement = try await FederationClient(base: bankURL).call("GET", "/debits")["debits"] as? [[String: Any]] ?? []
                days = Set(trips.compactMap { $0["serviceDay"] as? String })
                var collected = 0
                for day in days {
                    let c = try await tianjin.http.call("GET", "/api/v1/transit/clearing?operator=TJ-BUS&date=\(day)", token: tianjin.auditor)
                    collected += c["collectedFen"] as? Int ?? 0
                }
                settled = trips.count == 2 && trips.allSatisfy { $0["status"] as? String == "charged" } && statement.count == 2 && collected == 400
                if settled { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(settled, "trips at Beijing: \(trips)\nbank statement: \(statement)\nTianjin: \(tianjin.server.text.suffix(1500))\nBeijing: \(beijing.server.text.suffix(1500))")
            #expect(trips.allSatisfy { $0["operator"] as? String == "TJ-BUS" && $0["fullFareFen"] as? Int == 200 && $0["chargedFen"] as? Int == 200 }, "\(trips)")
            #expect(Set(trips.compactMap { $0["entry"] as? String }) == ["天津站", "鼓楼"], "\(trips)")
            let ids = statement.compactMap { $0["debitId"] as? String }
            #expect(Set(ids).count == ids.count, "a debit id twice on the statement: \(statement)")
            let owed = Dictionary(uniqueKeysWithValues: trips.map { ("trip-\($0["tripId"] as? String ?? "")", $0["chargedFen"] as? Int ?? -1) })
            let taken = Dictionary(statement.map { ($0["debitId"] as? String ?? "", $0["amountFen"] as? Int ?? -1) }, uniquingKeysWith: { a, b in a + b })
            #expect(taken == owed, "statement \(statement) trips \(trips)")

            // the same batch again (the gate did not hear the answer): all duplicates, nothing charged twice
            let again = try await tianjin.http.call("POST", "/api/v1/transit/taps", token: gateKey, json: ["taps": journal])
            #expect(again.status == 200 && again["accepted"] as? Int == 0 && again["duplicates"] as? Int == 4, "\(again)")
            // the first chip answer again under a new tap id: spent at its issuer; a wrong answer fails there; neither rides
            let replay = try await tianjin.http.call("POST", "/api/v1/transit/taps", token: gateKey, json: ["taps": [
                tap("tj-gate-5", now.addingTimeInterval(50), "天津站", "in", journal[0]["credential"] as? [String: Any] ?? [:]),
                tap("tj-gate-6", now.addingTimeInterval(51), "天津站", "in", ["kind": "card", "cardNumber": card.number,
                                                                            "challenge": Data(repeating: 7, count: 16).base64EncodedString(),
                                                                            "response": Data(repeating: 1, count: 32).base64EncodedString()]),
            ]])
            let reasons = Dictionary((replay["rejected"] as? [[String: Any]] ?? []).map { ($0["tapId"] as? String ?? "", $0["reason"] as? String ?? "") },
                                     uniquingKeysWith: { a, _ in a })
            #expect(replay.status == 200 && replay["accepted"] as? Int == 0 && reasons == ["tj-gate-5": "token_replayed", "tj-gate-6": "chip_auth_failed"],
                    "\(replay)")
            try await Task.sleep(for: .milliseconds(1500))  // several exchanges with the hub
            let later = try await FederationClient(base: bankURL).call("GET", "/debits")["debits"] as? [[String: Any]] ?? []
            #expect(later.count == 2, "\(later)")
            #expect((try await beijing.http.call("GET", "/api/v1/me/trips", token: card.holderToken)["trips"] as? [Any])?.count == 2)

            // the day's inter-region statement: each node sends its side; each shows difference 0, reconciled
            for day in days {
                for (node, other) in [(beijing, Self.tianjin), (tianjin, Self.beijing)] {
                    let sent = try await node.http.call("POST", "/api/v1/transit/interregion/statements", token: node.admin, json: ["date": day, "region": other])
                    #expect(sent.status == 202, "\(node.region): \(sent)")
                }
                for (node, other) in [(beijing, Self.tianjin), (tianjin, Self.beijing)] {
                    var last = FederationClient.Reply(status: 0, body: Data(), headers: [:])
                    let until = Date().addingTimeInterval(20)
                    while Date() < until {
                        last = try await node.http.call("GET", "/api/v1/transit/interregion?date=\(day)&region=\(other)", token: node.auditor)
                        if last["reconciled"] as? Bool == true, last["theirs"] is [String: Any] { break }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    #expect(last.status == 200 && last["reconciled"] as? Bool == true, "\(node.region) with \(other) on \(day): \(last)")
                    let lines = last["lines"] as? [[String: Any]] ?? []
                    let line = lines.first { $0["rideRegion"] as? String == Self.tianjin && $0["issuerRegion"] as? String == Self.beijing }
                    #expect((line?["difference"] as? [String: Any])?["chargedFen"] as? Int == 0, "\(last)")
                    let riding = line?["ridingSide"] as? [String: Any], issuing = line?["issuerSide"] as? [String: Any]
                    #expect(riding?["trips"] as? Int == trips.filter { $0["serviceDay"] as? String == day }.count, "\(last)")
                    #expect(riding?["collectedFen"] as? Int == issuing?["collectedFen"] as? Int && riding?["chargedFen"] as? Int == issuing?["chargedFen"] as? Int,
                            "\(last)")
                }
            }
        }
    }
}
