import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Cooperating banks: status, the holder's choice of bank, termination with a migration plan")
struct BankAPITests {
    @Test(arguments: Engine.available)
    func suspendSwitchAndBadInput(_ engine: Engine) async throws {
        try await BanksAndPayees.run(engine, payees: 2) { f in
            // setup: two holders at ICBC
            let h = f.h
            let (_, card, holder) = f.payees[0]
            let (_, otherCard, _) = f.payees[1]

            // suspension: no new cards or switches to the bank, existing cards keep it
            let s = try await h.call(.patch, "/api/v1/banks/CCB", token: h.admin, json: ["status": "suspended"])
            #expect(s.status == 200 && s.string("status") == "suspended", "\(s)")
            let refused = try await h.call(.post, "/api/v1/cards/\(card)/bank", token: holder, json: ["bankCode": "CCB", "accountNumber": "6227000011112222333"])
            #expect(refused.status == 409 && refused.code == "bank_not_accepting", "\(refused)")
            #expect(try await h.call(.patch, "/api/v1/banks/CCB", token: h.admin, json: ["status": "active"]).string("status") == "active")

            // the holder switches their own card; the account is encrypted at rest and masked in every answer
            let sw = try await h.call(.post, "/api/v1/cards/\(card)/bank", token: holder, json: ["bankCode": "CCB", "accountNumber": "6227000011112222333"])
            #expect(sw.status == 200, "\(sw)")
            #expect(sw.string("bankCode") == "CCB" && sw.string("accountMasked") == "***************2333")
            #expect(!sw.description.contains("6227000011112222333"))
            let raw = try await h.services.store.read { s in
                try await s.db.raw("SELECT account_enc, account_masked FROM cards WHERE card_number = \(bind: card)").first()!
            }
            #expect(try raw.decode(column: "account_enc", as: String.self).contains("6227000011112222333") == false)
            let events = try await h.call(.get, "/api/v1/cards/\(card)/events", token: h.agent)["events"] as? [[String: Any]] ?? []
            let changed = try #require(events.last)
            #expect(changed["type"] as? String == "bank_account_changed" && (changed["actor"] as? String)?.hasPrefix("holder:") == true)
            #expect(changed["channel"] as? String == "web")

            // bad input: problem+json with stable codes, nothing changed
            #expect(try await h.call(.post, "/api/v1/cards/\(otherCard)/bank", token: holder, json: ["bankCode": "CCB", "accountNumber": "6227000011112222333"]).status == 403)
            #expect(try await h.call(.post, "/api/v1/cards/\(card)/bank", token: h.agent, json: ["bankCode": "CCB", "accountNumber": "12ab"]).code == "invalid_field")
            #expect(try await h.call(.post, "/api/v1/cards/\(card)/bank", token: h.agent, json: ["bankCode": "NOPE", "accountNumber": "6227000011112222333"]).code == "unknown_bank")
            #expect(try await h.call(.post, "/api/v1/cards/X1/bank", token: h.agent, json: ["bankCode": "CCB", "accountNumber": "6227000011112222333"]).code == "card_not_found")
            #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, json: ["status": "closed"]).code == "invalid_value")
            #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, json: ["status": "terminated"]).code == "successor_required")
            #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, json: ["status": "terminated", "successorBankCode": "ICBC"]).code == "invalid_successor")
            #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, json: ["status": "active"]).code == "invalid_transition")
            #expect(try await h.call(.patch, "/api/v1/banks/NOPE", token: h.admin, json: ["status": "suspended"]).code == "bank_not_found")
            #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.agent, json: ["status": "suspended"]).status == 403)
            #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, json: ["endpoint": "ftp://x"]).code == "invalid_field")
            #expect(try await h.call(.get, "/api/v1/banks/ICBC/migration", token: h.admin).code == "migration_not_found")
            // An active bank has no plan yet (409: its state, not a missing address); a bank that does not exist is 404.
            #expect(try await h.call(.get, "/api/v1/banks/ICBC/migration", token: h.admin).status == 409)
            #expect(try await h.call(.get, "/api/v1/banks/NOPE/migration", token: h.admin).code == "bank_not_found")
        }
    }

    @Test(arguments: Engine.available)
    func terminationHoldsPaymentsUntilEveryHolderHasMoved(_ engine: Engine) async throws {
        try await BanksAndPayees.run(engine, banks: ["ICBC", "CCB", "BOC"], payees: 2) { f in
            // setup: two holders at ICBC, a batch approved for both
            let h = f.h, icbc = f.sim("ICBC"), ccb = f.sim("CCB"), boc = f.sim("BOC")
            let a = f.payees[0], b = f.payees[1]
            let dept1 = try await h.signedInStaff("dept1", .department), dept2 = try await h.signedInStaff("dept2", .department)
            let batchId = try #require(try await h.uploadBatch(try await h.programme(dept1), token: dept1,
                                                           lines: [(a.idNumber, "王秀梅", 700), (b.idNumber, "王秀梅", 800)]).string("batchId"))
            _ = try await h.approveBatch(batchId, by: dept2)

            // the action: ICBC is terminated with CCB as successor, 30 days to choose
            let t = try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin,
                                     json: ["status": "terminated", "successorBankCode": "CCB", "choiceDays": 30])
            #expect(t.status == 200 && t.string("status") == "terminated", "\(t)")
            _ = try await h.executeBatch(batchId, by: dept1)
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .waiting(held: 2))

            // validate: payments held, the plan lists both cards, holders told
            #expect(try await h.counts(batchId)["pending"] == 2)
            var plan = try await h.call(.get, "/api/v1/banks/ICBC/migration", token: h.admin)
            #expect(plan["counts"] as? [String: Int] == ["total": 2, "pending": 2, "chosen": 0, "moved": 0], "\(plan)")
            #expect(plan["heldPayments"] as? Int == 2)
            let notes = try await h.call(.get, "/api/v1/me/notifications", token: a.token)["notifications"] as? [[String: Any]] ?? []
            #expect(notes.map { $0["kind"] as? String } == ["bank_terminated"])
            // New business with ICBC is refused.
            #expect(try await h.call(.post, "/api/v1/cards/\(a.card)/bank", token: a.token, json: ["bankCode": "ICBC", "accountNumber": "6222000011112222333"]).code == "bank_not_accepting")

            // a chooses BOC within the period and is paid there at once
            #expect(try await h.call(.post, "/api/v1/cards/\(a.card)/bank", token: a.token, json: ["bankCode": "BOC", "accountNumber": "6216000011112222333"]).status == 200)
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .waiting(held: 1))
            #expect(try await BankSimulator.credits(boc.store).map(\.amountFen) == [700])
            let early = try await h.call(.post, "/api/v1/banks/ICBC/migration/apply", token: h.admin, json: [:])
            #expect(early.status == 409 && early.code == "migration_choice_open", "\(early)")

            // the period ends: the successor is applied to b, and the held payment is paid to the new account
            h.clock.advance(by: 31 * 86_400)
            plan = try await h.call(.post, "/api/v1/banks/ICBC/migration/apply", token: h.admin, json: [:])
            #expect(plan["counts"] as? [String: Int] == ["total": 2, "pending": 0, "chosen": 1, "moved": 1], "\(plan)")
            #expect(plan["status"] as? String == "applied")
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .completed)
            let moved = try await h.call(.get, "/api/v1/cards/\(b.card)", token: h.agent)
            #expect(moved.string("bankCode") == "CCB")
            let ccbCredits = try await BankSimulator.credits(ccb.store)
            #expect(ccbCredits.map(\.amountFen) == [800])
            #expect(ccbCredits.first?.account == (try await h.account(b.card)))
            #expect(try await BankSimulator.credits(icbc.store).isEmpty)
            #expect(try await h.eventTypes(b.card).last == "bank_migrated")
            let bNotes = try await h.call(.get, "/api/v1/me/notifications", token: b.token)["notifications"] as? [[String: Any]] ?? []
            #expect(Set(bNotes.compactMap { $0["kind"] as? String }) == ["bank_terminated", "bank_migrated", "account_changed"])
            #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, json: ["status": "active"]).code == "invalid_transition")
        }
    }
}
