import Crypto
import Foundation
import OneCardCore
import OneCardStore
import OneCardVerifier
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Risk monitoring, alerts and their actions, incident mode over HTTP")
struct RiskAPITests {
    static func alerts(_ h: Harness, _ token: String, query: String = "") async throws -> [[String: Any]] {
        let r = try await h.call(.get, "/api/v1/risk/alerts\(query)", token: token)
        #expect(r.status == 200, "\(r)")
        return r["alerts"] as? [[String: Any]] ?? []
    }

    /// A lost card let through by an offline gate, the same card refused online, one card at five venues in ten minutes
    /// (one of them in Tianjin, too soon after Beijing), and a burst of forged chip answers at one terminal: each is one
    /// alert, raised once however often the monitor looks.
    @Test(arguments: Engine.available)
    func theMonitorRaisesEachFindingOnce(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: five library gates (the last in Tianjin), a holder with a QR code, a card used at the gates
            try await h.seedCatalogue()
            try await h.createBank()
            let auditor = try await h.signedInStaff("auditor", .auditor)
            #expect(try await h.services.risk.scan() == 0)  // the monitor starts watching from now
            var gates: [String] = []
            for i in 0..<5 {
                gates.append(try await h.createVenue(type: "library", region: i == 4 ? "120101" : "110101", items: ["JJJ-LIB-001"], name: "图书馆\(i)").1)
            }
            let (_, number) = try await h.activeCard(idNumber: TestIDs.resident(sequence: "601"))
            for (i, gate) in gates.enumerated() {
                let r = try await h.accept(key: gate, item: "JJJ-LIB-001", credential: try CatalogueAndAcceptanceAPITests.chipCredential(h, card: number))
                #expect(r.string("decision") == "accepted", "gate \(i): \(r)")
                h.clock.advance(by: 120)
            }
            // A forged chip answer five times at the first gate (a cloned card).
            let wrongKey = SymmetricKey(size: .bits256)
            for _ in 0..<5 {
                let r = try await h.accept(key: gates[0], item: "JJJ-LIB-001", credential: try CatalogueAndAcceptanceAPITests.chipCredential(h, card: number, key: wrongKey))
                #expect(r.string("reason") == "chip_auth_failed", "\(r)")
            }
            // A holder's QR code taken, the card reported lost, then the code used at an offline gate that did not know.
            let (holder, _, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "602"))
            let token = try await h.qrToken(holder)
            _ = try await h.call(.post, "/api/v1/me/report-loss", token: holder, json: ["kind": "formal"])
            h.clock.advance(by: 10)
            let upload = try JSONSerialization.data(withJSONObject: ["decisions": [[
                "decisionId": "offline-1", "itemCode": "JJJ-LIB-001", "token": token, "decidedAt": Timestamp.format(h.clock.read()), "decision": "accepted"]]])
            #expect(try await h.call(.post, "/api/v1/acceptances/batch", token: gates[1], body: String(decoding: upload, as: UTF8.self)).status == 200)
            // And the same code refused online at another gate.
            #expect(try await h.accept(key: gates[2], item: "JJJ-LIB-001", credential: ["kind": "qr", "token": token]).string("reason") == "card_lost")

            // the action: the monitor looks, twice (another process, a restart)
            try await h.services.risk.scan()
            try await h.services.risk.scan()

            // validate: one alert per finding, with its evidence
            let all = try await Self.alerts(h, auditor)
            let byRule = Dictionary(grouping: all, by: { $0["rule"] as? String ?? "" })
            #expect(byRule["many_venues"]?.count == 1, "\(all)")
            #expect(byRule["impossible_travel"]?.count == 1, "\(all)")
            #expect(byRule["replay_burst"]?.count == 1, "\(all)")
            let revoked = byRule["revoked_card_used"] ?? []
            #expect(revoked.compactMap { $0["severity"] as? String }.sorted() == ["high", "medium"], "\(revoked)")
            let venues = try #require(byRule["many_venues"]?.first)
            #expect(((venues["evidence"] as? [String: Any])?["uses"] as? [String])?.count == 5)
            #expect(venues["status"] as? String == "open")
            #expect(try await Self.alerts(h, auditor, query: "?rule=replay_burst&status=open").count == 1)
            // Only the auditor reads alerts.
            #expect(try await h.call(.get, "/api/v1/risk/alerts", token: h.admin).status == 403)
            #expect(try await h.call(.get, "/api/v1/risk/alerts", token: holder).status == 403)
            // Every alert raised is in the audit log.
            #expect(try await h.services.store.read { try await $0.audit.list(limit: 1000) }.filter { $0.action == "risk_alert_raised" }.count == all.count)

            // The auditor suspends the terminal that saw the burst: its key stops working at once.
            let burst = try #require(byRule["replay_burst"]?.first?["alertId"] as? String)
            let suspended = try await h.call(.post, "/api/v1/risk/alerts/\(burst)/actions", token: auditor, json: ["action": "suspend_terminal"])
            #expect(suspended.status == 200 && (suspended["actions"] as? [String])?.count == 1, "\(suspended)")
            #expect(try await h.accept(key: gates[0], item: "JJJ-LIB-001", credential: ["kind": "qr", "token": "x"]).status == 401)
            // A payment action on an alert without payments is refused; resolving twice is refused.
            #expect(try await h.call(.post, "/api/v1/risk/alerts/\(burst)/actions", token: auditor, json: ["action": "hold_payment"]).code == "action_not_applicable")
            let resolved = try await h.call(.post, "/api/v1/risk/alerts/\(burst)/resolve", token: auditor, json: ["resolution": "克隆卡，终端已停用"])
            #expect(resolved.status == 200 && resolved.string("status") == "resolved" && resolved.string("resolvedBy") != nil, "\(resolved)")
            #expect(try await h.call(.post, "/api/v1/risk/alerts/\(burst)/resolve", token: auditor, json: ["resolution": "again"]).code == "alert_resolved")
            #expect(try await h.call(.post, "/api/v1/risk/alerts/\(burst)/resolve", token: auditor, json: ["resolution": "   "]).code == "invalid_field")
            #expect(try await h.call(.get, "/api/v1/risk/alerts/nope", token: auditor).code == "alert_not_found")
            #expect(try await h.call(.post, "/api/v1/risk/alerts/\(burst)/actions", token: auditor, json: ["action": "explode"]).status == 422)
        }
    }

    /// "Require online checks" for one card puts the card and every QR code it has out on the signed revocation feed as
    /// `online_only`: an offline verifier refuses them with `online_check_required`, the node still accepts online.
    @Test(arguments: Engine.available)
    func onlineChecksForOneCardTravelThroughTheRevocationFeed(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.seedCatalogue()
            try await h.createBank()
            let auditor = try await h.signedInStaff("auditor", .auditor)
            try await h.services.risk.scan()
            var gates: [String] = []
            for i in 0..<5 { gates.append(try await h.createVenue(type: "library", region: "110101", items: ["JJJ-LIB-001"], name: "馆\(i)").1) }
            let (holder, _, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "611"))
            for gate in gates {
                #expect(try await h.accept(key: gate, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": try await h.qrToken(holder)]).string("decision") == "accepted")
                h.clock.advance(by: 60)
            }
            try await h.services.risk.scan()
            let alert = try #require(try await Self.alerts(h, auditor, query: "?rule=many_venues").first?["alertId"] as? String)
            let outstanding = try await h.qrToken(holder)

            let r = try await h.call(.post, "/api/v1/risk/alerts/\(alert)/actions", token: auditor, json: ["action": "require_online"])
            #expect(r.status == 200, "\(r)")
            let fresh = try await h.qrToken(holder)  // issued after: listed too

            // An offline verifier fed the node's list refuses both; the node accepts online.
            let jwks = try await h.call(.get, "/api/v1/trust/jwks")
            let feed = try await h.call(.get, "/api/v1/trust/revocations?since=0")
            let verifier = try QRVerifier(trustListJSON: jwks.body)
            #expect(try verifier.apply(revocationsJSON: feed.body))
            let now = h.clock.read()
            #expect(verifier.verify(outstanding, at: now) == .denied(.onlineCheckRequired))
            #expect(verifier.verify(fresh, at: now) == .denied(.onlineCheckRequired))
            #expect(try await h.accept(key: gates[0], item: "JJJ-LIB-001", credential: ["kind": "qr", "token": fresh]).string("decision") == "accepted")

            // Lifted: the card is active on the feed again.
            #expect(try await h.call(.post, "/api/v1/risk/alerts/\(alert)/actions", token: auditor, json: ["action": "lift_online"]).status == 200)
            #expect(try await h.call(.post, "/api/v1/risk/alerts/\(alert)/actions", token: auditor, json: ["action": "lift_online"]).code == "action_not_applicable")
        }
    }

    /// A payment of ¥10,000 or more to an account changed within seven days is held for the auditor: the executor waits,
    /// the bank sees nothing, and once released it is paid exactly once.
    @Test(arguments: Engine.available)
    func aSuspiciousPaymentIsHeldUntilReleased(_ engine: Engine) async throws {
        try await BanksAndPayees.run(engine, payees: 2) { f in
            let h = f.h, icbc = f.sim("ICBC")
            let a = f.payees[0], b = f.payees[1]
            let auditor = try await h.signedInStaff("auditor", .auditor)
            let dept1 = try await h.signedInStaff("dept1", .department), dept2 = try await h.signedInStaff("dept2", .department)
            let programme = try await h.programme(dept1)
            let up = try await h.uploadBatch(programme, token: dept1, lines: [(a.idNumber, "王秀梅", 1_200_000), (b.idNumber, "王秀梅", 1_500_000)])
            let batchId = try #require(up.string("batchId"))
            #expect(try await h.approveBatch(batchId, by: dept2).status == 200)
            // b's account changes two days before the payment goes out; a's has not changed since the card was issued.
            h.clock.advance(by: 30 * 86_400)
            #expect(try await h.call(.post, "/api/v1/cards/\(b.card)/bank", token: b.token, json: ["bankCode": "ICBC", "accountNumber": "6222000011112222333"]).status == 200)
            h.clock.advance(by: 2 * 86_400)

            // the action
            #expect(try await h.executeBatch(batchId, by: dept1).status == 202)
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .waiting(held: 1))

            // validate: a is paid, b is held with an alert naming its payment
            #expect(try await BankSimulator.credits(icbc.store).map(\.amountFen) == [1_200_000])
            let held = try #require(try await Self.alerts(h, auditor, query: "?rule=account_changed_before_payment").first)
            #expect(held["severity"] as? String == "high")
            let alertId = try #require(held["alertId"] as? String)
            #expect(try await h.counts(batchId)["pending"] == 1)
            // Another pass changes nothing: still held, no second alert.
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .waiting(held: 1))
            #expect(try await Self.alerts(h, auditor).count == 1)

            // Released: paid once; released again: nothing held.
            let released = try await h.call(.post, "/api/v1/risk/alerts/\(alertId)/actions", token: auditor, json: ["action": "release_payment"])
            #expect(released.status == 200, "\(released)")
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .completed)
            #expect(try await BankSimulator.credits(icbc.store).map(\.amountFen) == [1_200_000, 1_500_000])
            #expect(try await h.call(.post, "/api/v1/risk/alerts/\(alertId)/actions", token: auditor, json: ["action": "release_payment"]).code == "action_not_applicable")
        }
    }

    /// Incident mode: switched on by an admin with a reason (audited), visible to staff, carried by the revocation feed
    /// so offline verifiers refuse everything, the QR key rotated, unmasked staff reads frozen; switched off, all back.
    @Test(arguments: Engine.available)
    func incidentModeFreezesUnmaskingAndSendsGatesOnline(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            try await h.createBank()
            let (holder, person, _) = try await h.holderWithECard(idNumber: TestIDs.resident(sequence: "621"))
            let token = try await h.qrToken(holder)
            let keysBefore = try await h.call(.get, "/api/v1/trust/jwks")["keys"] as? [[String: Any]] ?? []
            #expect(try await h.call(.get, "/api/v1/incident", token: h.agent)["active"] as? Bool == false)

            // Only an admin switches it, with a reason.
            #expect(try await h.call(.put, "/api/v1/incident", token: h.agent, json: ["active": true, "reason": "x"]).status == 403)
            #expect(try await h.call(.put, "/api/v1/incident", token: h.admin, json: ["active": true]).code == "invalid_field")
            let on = try await h.call(.put, "/api/v1/incident", token: h.admin, json: ["active": true, "reason": "签名密钥疑似泄露"])
            #expect(on.status == 200 && on["active"] as? Bool == true && on.string("by") != nil, "\(on)")

            // The feed says so; an offline verifier refuses even a good token.
            let feed = try await h.call(.get, "/api/v1/trust/revocations?since=0")
            #expect(feed["incident"] as? Bool == true, "\(feed)")
            let verifier = try QRVerifier(trustListJSON: try await h.call(.get, "/api/v1/trust/jwks").body)
            _ = try verifier.apply(revocationsJSON: feed.body)
            #expect(verifier.verify(token, at: h.clock.read()) == .denied(.onlineCheckRequired))
            // The key was rotated: a new key signs, the old one stays published for the tokens it signed.
            let keysAfter = try await h.call(.get, "/api/v1/trust/jwks")["keys"] as? [[String: Any]] ?? []
            #expect(keysAfter.count == keysBefore.count + 1)
            // Unmasked staff reads are frozen; the masked record still reads.
            let frozen = try await h.call(.get, "/api/v1/persons/\(person)?unmask=true", token: h.agent, headers: ["X-Purpose": "核对身份"])
            #expect(frozen.status == 403 && frozen.code == "incident_mode", "\(frozen)")
            #expect(try await h.call(.get, "/api/v1/persons/\(person)", token: h.agent).status == 200)
            // Staff reads of personal data are audited, masked ones too.
            let reads = try await h.services.store.read { try await $0.audit.list(subject: "person:\(person)") }
            #expect(reads.contains { $0.action == "person_read" && $0.actor == "agent:agent" }, "\(reads)")

            // Off again: the feed drops the flag, unmasking works, both switches are audited.
            #expect(try await h.call(.put, "/api/v1/incident", token: h.admin, json: ["active": false, "reason": "已处置"])["active"] as? Bool == false)
            #expect(try await h.call(.get, "/api/v1/trust/revocations?since=0")["incident"] == nil)
            #expect(try await h.call(.get, "/api/v1/persons/\(person)?unmask=true", token: h.agent, headers: ["X-Purpose": "核对身份"]).status == 200)
            let actions = try await h.services.store.read { try await $0.audit.list(subject: "node") }.map(\.action)
            #expect(actions == ["incident_mode_off", "incident_mode_on"])
        }
    }
}
