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

    @Test(arguments: Engine.available)
    func aBeijingCardRidesInTianjinAndIsChargedOnceAtBeijing(_ engine: Engine) async throws {
        try await FederationHarness.with(engine) { fed in
            let beijing = fed[Self.beijing], tianjin = fed[Self.tianjin]
            // setup: a bank-sim where every account opens at ¥100, Beijing's banks pointed at it
            let bank = try Server(["bank-sim", "--bank", "ICBC", "--port", "0", "--store", fed.dir.appendingPathComponent("bank.sqlite").path,
                                   "--opening-balance", "10000"])
            fed.others.append(bank)
            let bankURL = try await bank.baseURL()
            for code in ["ICBC", "CCB"] {
                let r = try await beijing.http.call("PATCH", "/api/v1/banks/\(code)", token: beijing.admin, json: ["endpoint": bankURL])
                #expect(r.status == 200, "\(r)")
            }
            // a Beijing resident's card, with the transit function loaded by the holder, and an e-card
            let card = try await FederationAcceptanceTests.newBeijingCard(beijing)
            let loaded = try await beijing.http.call("POST", "/api/v1/me/card/functions", token: card.holderToken, json: ["transit": true])
            #expect(loaded.status == 200 && (loaded["functions"] as? [String: Any])?["transit"] as? Bool == true, "\(loaded)")
            let ecard = try await beijing.http.call("POST", "/api/v1/me/ecard", token: card.holderToken, json: ["deviceId": "phone-zhao"])
            #expect(ecard.status == 201 || ecard.status == 200, "\(ecard)")
            // Tianjin's demo operator and its transit venue's gate
            let operators = try await tianjin.http.call("GET", "/api/v1/transit/operators", token: tianjin.admin)
            #expect(operators.text.contains(#""code":"TJ-BUS""#), "\(operators)")
            let gateKey = try #require(tianjin.terminalKey(venue: "天津市地铁"))

            // the gate's journal: a ride with the card's chip (its answer to a fresh challenge), one with the QR code
            func chip() throws -> [String: Any] {
                let challenge = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
                let response = Data(HMAC<SHA256>.authenticationCode(for: challenge, using: SymmetricKey(data: try #require(Data(base64Encoded: card.chipKey)))))
                return ["kind": "card", "cardNumber": card.number, "challenge": challenge.base64EncodedString(), "response": response.base64EncodedString()]
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
