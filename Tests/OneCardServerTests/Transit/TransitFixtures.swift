import Crypto
import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// The set-up of transit tests: a bank-sim in this process, the platform with the bank connected, the seed catalogue,
/// a transit venue with a gate terminal, and Beijing's metro and bus operators with stations.
struct TransitWorld: Sendable {
    let h: Harness
    let bank: BankSimulator.Running
    /// The gate terminal's API key.
    let gate: String

    /// Beijing metro (WE-T1 bands, 4 h limit, monthly tiers) with kilometre posts A 0, B 5, C 12, D 40, E 72.
    static var metroTable: [String: Any] {
        var t = table(TransitPresets.fare("BJ-METRO")!.fareTable)
        t["stations"] = ["A": 0, "B": 5, "C": 12, "D": 40, "E": 72]
        return t
    }

    /// Beijing bus (¥2 to 10 km, +¥1 per started 5 km, card 50 %) with stops S0 at 0 and S12 at 12 km.
    static var busTable: [String: Any] {
        var t = table(TransitPresets.fare("BJ-BUS")!.fareTable)
        t["stations"] = ["S0": 0, "S5": 5, "S12": 12]
        return t
    }

    static func table(_ t: FareTable) -> [String: Any] {
        var json = try! JSONSerialization.jsonObject(with: JSONEncoder().encode(t)) as! [String: Any]
        json.removeValue(forKey: "version")
        return json
    }

    static func run(_ engine: Engine, _ body: @Sendable (TransitWorld) async throws -> Void) async throws {
        try await withBank("ICBC") { bank in
            try await Harness.run(engine) { h in
                try await h.createBank("ICBC", endpoint: bank.url)
                try await h.seedCatalogue()
                let (_, gate) = try await h.createVenue(type: "transit", region: "110105", items: ["JJJ-TRN-001"], name: "北京地铁国贸站")
                for (code, name, mode, table) in [("BJ-METRO", "北京地铁", "metro", metroTable), ("BJ-BUS", "北京公交", "bus", busTable)] {
                    let r = try await h.createOperator(code: code, name: name, mode: mode, table: table)
                    #expect(r.status == 201, "\(r)")
                }
                try await body(TransitWorld(h: h, bank: bank, gate: gate))
            }
        }
    }

    // MARK: helpers

    /// A tap as a gate uploads it.
    static func tap(_ id: String, at: Date, operator code: String = "BJ-METRO", station: String? = nil, direction: String,
                    credential: [String: Any], distanceKm: Double? = nil) -> [String: Any] {
        var t: [String: Any] = ["tapId": id, "at": Timestamp.format(at), "operator": code, "direction": direction, "credential": credential]
        if let station { t["station"] = station }
        if let distanceKm { t["distanceKm"] = distanceKm }
        return t
    }

    func upload(_ taps: [[String: Any]]) async throws -> Reply {
        try await h.call(.post, "/api/v1/transit/taps", token: gate, json: ["taps": taps])
    }

    /// A fresh QR credential for the holder (valid for 60 s from the harness clock's now).
    func qr(_ holder: String) async throws -> [String: Any] { ["kind": "qr", "token": try await h.qrToken(holder)] }

    /// A physical card's answer to a fresh challenge.
    func chip(_ card: String) throws -> [String: Any] {
        let challenge = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
        let mac = HMAC<SHA256>.authenticationCode(for: challenge, using: try h.services.chipKeys.key(for: CardNumber(card)))
        return ["kind": "card", "cardNumber": card, "challenge": challenge.base64EncodedString(), "response": Data(mac).base64EncodedString()]
    }

    /// A ride tapped in now and out `minutes` later (the clock moves), uploaded in one batch: the upload's reply.
    @discardableResult
    func ride(_ holder: String, from: String, to: String, minutes: Double = 30, operator code: String = "BJ-METRO") async throws -> Reply {
        let start = h.clock.read()
        let inTap = Self.tap(UUID().uuidString, at: start, operator: code, station: from, direction: "in", credential: try await qr(holder))
        h.clock.advance(by: minutes * 60)
        let outTap = Self.tap(UUID().uuidString, at: h.clock.read(), operator: code, station: to, direction: "out", credential: try await qr(holder))
        let r = try await upload([inTap, outTap])
        #expect(r.status == 200 && r["accepted"] as? Int == 2, "\(r)")
        return r
    }

    func trips(_ holder: String) async throws -> [[String: Any]] {
        let r = try await h.call(.get, "/api/v1/me/trips", token: holder)
        #expect(r.status == 200, "\(r)")
        return r["trips"] as? [[String: Any]] ?? []
    }

    /// Sets the balance of a card's account at the bank-sim.
    func fund(_ card: String, _ fen: Int) async throws {
        let account = try await h.account(card)
        let r = try await HTTPClient1.toSimulator.send("POST", bank.url + "/accounts/\(account)/balance", headers: [("Content-Type", "application/json")],
                                             body: Data(#"{"balanceFen":\#(fen)}"#.utf8))
        #expect(r.status == 200)
    }

    func balance(_ card: String) async throws -> Int {
        let account = try await h.account(card)
        let r = try await HTTPClient1.toSimulator.send("GET", bank.url + "/accounts/\(account)")
        return (try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["balanceFen"] as? Int ?? -1
    }

    /// The debits the bank took (its statement: the witness of what was charged).
    func debits() async throws -> [(debitId: String, account: String, amountFen: Int64)] { try await BankSimulator.debits(bank.store) }
}

extension Harness {
    func createOperator(code: String, name: String, mode: String, region: String = "110000", table: [String: Any], bank: String = "ICBC") async throws -> Reply {
        try await call(.post, "/api/v1/transit/operators", token: admin, json: [
            "code": code, "name": name, "regionCode": region, "mode": mode,
            "account": ["bankCode": bank, "accountNumber": "6222000011112222333"], "fareTable": table,
        ])
    }
}
