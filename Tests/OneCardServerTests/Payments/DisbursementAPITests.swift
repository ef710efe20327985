import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Programmes and batches: upload, four eyes, execution to the current account, exactly once")
struct DisbursementAPITests {
    @Test(arguments: Engine.available)
    func uploadChecksEveryLineAndApprovalNeedsASecondPerson(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank("ICBC")
            let outlet = try await h.createOutlet()
            let (alive, _, _) = try await h.payee(1, bank: "ICBC", outlet: outlet)
            let (dead, deadCard, _) = try await h.payee(2, bank: "ICBC", outlet: outlet, name: "李四")
            let cancel = try await h.call(.post, "/api/v1/cards/\(deadCard)/cancel", token: h.agent, json: ["reason": "death"])
            #expect(cancel.status == 200, "\(cancel)")
            let unknown = TestIDs.resident(sequence: "099")
            let dept1 = try await h.signedInStaff("dept1", .department)
            let dept2 = try await h.signedInStaff("dept2", .department)
            let programme = try await h.programme(dept1)

            // the action: one good line and one of each way a line can be wrong
            let r = try await h.uploadBatch(programme, token: dept1, lines: [
                (alive, "王秀梅", 12_345), (alive, "王秀梅", 100), (dead, "李四", 100), (unknown, "张三", 100),
                (alive, "王秀", 100), ("123", "王秀梅", 100), (alive, "王秀梅", 0), (alive, "王秀梅", -1),
            ])

            // validate
            #expect(r.status == 201, "\(r)")
            #expect(r["accepted"] as? Int == 1)
            let reasons = (r["rejected"] as? [[String: Any]] ?? []).map { "\($0["line"]!):\($0["reason"]!)" }
            #expect(reasons == ["2:duplicate_line", "3:deceased", "4:person_not_found", "5:name_mismatch", "6:invalid_id_number",
                                "7:invalid_amount", "8:invalid_amount"])
            let batchId = try #require(r.string("batchId"))
            #expect(try await h.batch(batchId)["status"] as? String == "awaiting_approval")
            #expect(try await h.executeBatch(batchId, by: dept1).code == "batch_not_approved")
            let same = try await h.approveBatch(batchId, by: dept1)
            #expect(same.status == 409 && same.code == "four_eyes_required", "\(same)")
            let other = try await h.approveBatch(batchId, by: dept2)
            #expect(other.status == 200 && other.string("status") == "approved", "\(other)")
            #expect(try await h.approveBatch(batchId, by: dept2).code == "invalid_transition")
            #expect(try await h.count("audit_log") > 0)
            let audit = try await h.services.store.read { s in
                try await s.db.raw("SELECT action FROM audit_log WHERE subject = \(bind: "batch:\(batchId)") ORDER BY seq").all().map { try $0.decode(column: "action", as: String.self) }
            }
            #expect(audit == ["batch_uploaded", "batch_approved"])
        }
    }

    @Test(arguments: Engine.available)
    func aPersonRepeatedInALaterChunkOfTheUploadIsRejected(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank("ICBC")
            let outlet = try await h.createOutlet()
            let (alive, _, _) = try await h.payee(1, bank: "ICBC", outlet: outlet)
            let dept1 = try await h.signedInStaff("dept1", .department)
            let programme = try await h.programme(dept1)
            // Lines are stored a chunk at a time: the repeat comes in the second chunk, after the first one is stored.
            let filler = Array(repeating: ("123", "王秀梅", 100), count: PaymentService.uploadChunk - 1)

            // the action
            let r = try await h.uploadBatch(programme, token: dept1, lines: [(alive, "王秀梅", 100)] + filler + [(alive, "王秀梅", 200)])

            // validate
            #expect(r.status == 201, "\(r)")
            #expect(r["accepted"] as? Int == 1)
            let rejected = r["rejected"] as? [[String: Any]] ?? []
            #expect(rejected.count == PaymentService.uploadChunk)
            #expect(rejected.last.map { "\($0["line"]!):\($0["reason"]!)" } == "\(PaymentService.uploadChunk + 1):duplicate_line")
            let batchId = try #require(r.string("batchId"))
            let totals = try #require(try await h.batch(batchId)["totals"] as? [String: Any])
            #expect(totals["requestedFen"] as? Int == 100)
        }
    }

    @Test(arguments: Engine.available)
    func anUploadCutOffIsAbandonedNeverLeftUploading(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank("ICBC")
            let outlet = try await h.createOutlet()
            let (id, _, _) = try await h.payee(1, bank: "ICBC", outlet: outlet)
            let dept1 = try await h.signedInStaff("dept1", .department), dept2 = try await h.signedInStaff("dept2", .department)
            let programme = try await h.programme(dept1)
            // setup: an upload with an Idempotency-Key, cut off after its first line was stored
            guard case .new(let upload) = try await h.services.payments.beginUpload(programmeId: Programme.ID(programme), actor: "department:dept1", idempotencyKey: "k1")
            else { Issue.record("not a new upload"); return }
            try await upload.add(BatchLine(line: 1, idNumber: id, name: "王秀梅", amountFen: 100))
            try await upload.flush()
            #expect(try await h.batch(upload.batchId.rawValue)["status"] as? String == "uploading")

            // the action: the request fails part-way
            await h.services.payments.abandonUpload(upload, actor: "department:dept1", reason: "the client went away")

            // validate: abandoned and audited, never approved or executed; the key can be used for a new upload
            #expect(try await h.batch(upload.batchId.rawValue)["status"] as? String == "abandoned")
            #expect(try await h.approveBatch(upload.batchId.rawValue, by: dept2).status == 409)
            #expect(try await h.executeBatch(upload.batchId.rawValue, by: dept1).code == "batch_not_approved")
            let audited = try await h.services.store.read { s in
                try await s.db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'batch_upload_abandoned' AND subject = \(bind: "batch:\(upload.batchId)")")
                    .first()!.decode(column: "n", as: Int64.self)
            }
            #expect(audited == 1)
            let again = try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept1, body: "idNumber,name,amountFen\n\(id),王秀梅,100\n",
                                         headers: ["Content-Type": "text/csv", "Idempotency-Key": "k1"])
            #expect(again.status == 201 && again.string("batchId") != upload.batchId.rawValue && again["accepted"] as? Int == 1, "\(again)")

            // A crash leaves an upload `uploading`: an hour later the executor's sweep abandons it, and only it.
            guard case .new(let cut) = try await h.services.payments.beginUpload(programmeId: Programme.ID(programme), actor: "department:dept1")
            else { Issue.record("not a new upload"); return }
            #expect(try await h.services.payments.abandonStaleUploads() == [])
            h.clock.advance(by: PaymentService.staleUpload + 1)
            #expect(try await h.services.payments.abandonStaleUploads() == [cut.batchId])
            #expect(try await h.batch(cut.batchId.rawValue)["status"] as? String == "abandoned")
            #expect(try await h.batch(again.string("batchId") ?? "")["status"] as? String == "awaiting_approval")
        }
    }

    @Test(arguments: Engine.available)
    func csvUploadAndBadInput(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank("ICBC")
            let outlet = try await h.createOutlet()
            let (id, _, holder) = try await h.payee(1, bank: "ICBC", outlet: outlet)
            let dept = try await h.signedInStaff("dept1", .department)
            let programme = try await h.programme(dept)

            // the action: a CSV with one good line and one short line
            let csv = "idNumber,name,amountFen\r\n\(id),王秀梅,500\r\n\(id),王秀梅\n"
            let r = try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept, body: csv, headers: ["Content-Type": "text/csv"])
            #expect(r.status == 201, "\(r)")
            #expect(r["accepted"] as? Int == 1)
            #expect((r["rejected"] as? [[String: Any]])?.first?["reason"] as? String == "malformed_line")

            // The same upload again with the same Idempotency-Key: the first batch and its answer, no second batch.
            let keyed = try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept, body: csv,
                                         headers: ["Content-Type": "text/csv", "Idempotency-Key": "upload-2026-11-a"])
            let again = try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept, body: csv,
                                         headers: ["Content-Type": "text/csv", "Idempotency-Key": "upload-2026-11-a"])
            #expect(keyed.status == 201 && again.status == 201, "\(keyed) \(again)")
            #expect(again.string("batchId") == keyed.string("batchId") && again["accepted"] as? Int == 1)
            #expect((again["rejected"] as? [[String: Any]])?.first?["reason"] as? String == "malformed_line")
            #expect(try await h.count("payment_batches") == 2)

            let badHeader = try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept, body: "a,b,c\n1,2,3\n",
                                             headers: ["Content-Type": "text/csv"])
            #expect(badHeader.status == 422 && badHeader.code == "invalid_csv_header", "\(badHeader)")
            #expect(try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept, body: "{").code == "malformed_json")
            #expect(try await h.call(.post, "/api/v1/programmes/\(programme)/batches", token: dept, json: ["lines": []]).code == "empty_batch")
            #expect(try await h.call(.post, "/api/v1/programmes/nope/batches", token: dept, json: ["lines": [["idNumber": id, "name": "x", "amountFen": 1]]]).code == "programme_not_found")
            #expect(try await h.call(.post, "/api/v1/programmes", token: dept, json: ["name": "x", "kind": "lottery", "department": "d", "legalBasis": "b"]).code == "invalid_value")
            #expect(try await h.call(.post, "/api/v1/programmes", token: holder, json: ["name": "x", "kind": "other", "department": "d", "legalBasis": "b"]).status == 403)
            #expect(try await h.call(.get, "/api/v1/batches/nope", token: dept).code == "batch_not_found")
            // A declared query parameter out of its bounds is refused before the batch is looked up.
            #expect(try await h.call(.get, "/api/v1/batches/nope/payments?limit=0", token: dept).code == "invalid_value")
            #expect(try await h.call(.get, "/api/v1/batches/nope/payments?limit=10", token: dept).status == 404)
        }
    }

    @Test(arguments: Engine.available)
    func paysTheCurrentAccountTellsTheHolderAndRetriesReturnedPayments(_ engine: Engine) async throws {
        try await BanksAndPayees.run(engine) { f in
            // setup: three holders at ICBC
            let h = f.h, icbc = f.sim("ICBC"), ccb = f.sim("CCB")
            let a = f.payees[0], b = f.payees[1], c = f.payees[2]
            let dept1 = try await h.signedInStaff("dept1", .department), dept2 = try await h.signedInStaff("dept2", .department)
            let programme = try await h.programme(dept1)
            let up = try await h.uploadBatch(programme, token: dept1, lines: [(a.idNumber, "王秀梅", 10_000), (b.idNumber, "王秀梅", 20_000), (c.idNumber, "王秀梅", 30_001)])
            let batchId = try #require(up.string("batchId"))
            #expect(try await h.approveBatch(batchId, by: dept2).status == 200)

            // after the batch was made: b switches to CCB (a holder for their own card), c's account is closed at ICBC
            let sw = try await h.call(.post, "/api/v1/cards/\(b.card)/bank", token: b.token, json: ["bankCode": "CCB", "accountNumber": "6227000011112222333"])
            #expect(sw.status == 200 && sw.string("accountMasked") == "***************2333", "\(sw)")
            // a replaces a damaged card: the account moves with it (换卡不换号), so nothing changed for the payment
            let replaced = try await h.call(.post, "/api/v1/cards/\(a.card)/replace", token: h.agent, json: ["reason": "damaged"])
            #expect(replaced.status == 201, "\(replaced)")
            let cAccount = try await h.account(c.card)
            _ = try await HTTPClient1.toSimulator.send("POST", icbc.url + "/accounts/\(cAccount)/close")

            // the action
            let ex = try await h.executeBatch(batchId, by: dept1)
            #expect(ex.status == 202, "\(ex)")
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .completed)

            // validate: counts and totals add up; the bank statements are the witness
            let done = try await h.batch(batchId)
            #expect(done["status"] as? String == "completed")
            #expect(done["counts"] as? [String: Int] == ["pending": 0, "held": 0, "sent": 0, "paid": 2, "failed": 0, "returned": 1])
            let totals = done["totals"] as? [String: Int] ?? [:]
            #expect(totals["requestedFen"] == 60_001 && totals["paidFen"] == 30_000 && totals["returnedFen"] == 30_001)
            let icbcCredits = try await BankSimulator.credits(icbc.store), ccbCredits = try await BankSimulator.credits(ccb.store)
            #expect(icbcCredits.map(\.amountFen) == [10_000])
            #expect(ccbCredits.map(\.account) == ["6227000011112222333"])
            #expect(ccbCredits.map(\.amountFen) == [20_000])
            let payments = try await h.call(.get, "/api/v1/batches/\(batchId)/payments", token: dept1)["payments"] as? [[String: Any]] ?? []
            #expect(payments.map { $0["state"] as? String } == ["paid", "paid", "returned"])
            #expect(payments.map { $0["bankCode"] as? String } == ["ICBC", "CCB", "ICBC"])
            #expect(payments.allSatisfy { ($0["accountMasked"] as? String)?.hasPrefix("***") == true })

            // GD art. 8: b is told the payment went to the changed account; c that it came back
            let bNotes = try await h.call(.get, "/api/v1/me/notifications", token: b.token)["notifications"] as? [[String: Any]] ?? []
            #expect(bNotes.map { $0["kind"] as? String } == ["account_changed"])
            // in words, Chinese unless the reader prefers English, with the programme, the amount and the new account
            #expect(bNotes.first?["message"] as? String == "「耕地地力保护补贴」200.00元已发放至您变更后的银行账户（CCB ***************2333）。", "\(bNotes)")
            let bEnglish = try await h.call(.get, "/api/v1/me/notifications", token: b.token, headers: ["Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"])
            #expect((bEnglish["notifications"] as? [[String: Any]])?.first?["message"] as? String
                == "200.00 yuan of “耕地地力保护补贴” was paid to your new bank account (CCB ***************2333).", "\(bEnglish)")
            let cNotes = try await h.call(.get, "/api/v1/me/notifications", token: c.token)["notifications"] as? [[String: Any]] ?? []
            #expect(cNotes.map { $0["kind"] as? String } == ["payment_returned"])
            let aNotes = try await h.call(.get, "/api/v1/me/notifications", token: a.token)["notifications"] as? [[String: Any]] ?? []
            #expect(aNotes.isEmpty)
            let cMine = try await h.call(.get, "/api/v1/me/payments", token: c.token)["payments"] as? [[String: Any]] ?? []
            #expect(cMine.first?["state"] as? String == "returned" && cMine.first?["programme"] as? String == "耕地地力保护补贴")
            #expect(try await h.eventTypes(b.card).contains("bank_account_changed"))

            // c fixes the cause (a new account) and the department retries: paid once, as a new attempt
            #expect(try await h.call(.post, "/api/v1/cards/\(c.card)/bank", token: h.agent, json: ["bankCode": "ICBC", "accountNumber": "6222000099998888777"]).status == 200)
            let retry = try await h.call(.post, "/api/v1/batches/\(batchId)/retry", token: dept1)
            #expect(retry.status == 202 && retry["retried"] as? Int == 1, "\(retry)")
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .completed)
            #expect(try await h.counts(batchId) == ["pending": 0, "held": 0, "sent": 0, "paid": 3, "failed": 0, "returned": 0])
            let after = try await BankSimulator.credits(icbc.store)
            #expect(after.map(\.amountFen) == [10_000, 30_001])
            #expect(after.last?.account == "6222000099998888777")
            // Executing again pays nothing more.
            #expect(try await h.executeBatch(batchId, by: dept1).status == 202)
            _ = try await h.executor.drain(PaymentBatch.ID(batchId))
            #expect(try await BankSimulator.credits(icbc.store).count == 2)
        }
    }

    @Test(arguments: Engine.available)
    func transientFailuresAndLostRepliesStillPayEachOnce(_ engine: Engine) async throws {
        try await withBank("ICBC", failRate: 0.3, loseReplyRate: 0.3) { icbc in
            try await Harness.run(engine) { h in
                // setup: eight payees at a bank that refuses or loses the reply of about a third of the requests
                try await h.createBank("ICBC", endpoint: icbc.url)
                let outlet = try await h.createOutlet()
                var lines: [(String, String, Int)] = []
                for n in 1...8 { lines.append((try await h.payee(n, bank: "ICBC", outlet: outlet).idNumber, "王秀梅", 100 * n)) }
                let dept1 = try await h.signedInStaff("dept1", .department), dept2 = try await h.signedInStaff("dept2", .department)
                let batchId = try #require(try await h.uploadBatch(try await h.programme(dept1), token: dept1, lines: lines).string("batchId"))
                _ = try await h.approveBatch(batchId, by: dept2)
                _ = try await h.executeBatch(batchId, by: dept1)

                // the action: the executor drains the batch until it completes
                var result = PaymentExecutor.Pass.bankUnavailable
                for _ in 0..<40 where result != .completed { result = try await h.executor.drain(PaymentBatch.ID(batchId)) }

                // validate: every payment paid exactly once
                #expect(result == .completed)
                let credits = try await BankSimulator.credits(icbc.store)
                #expect(credits.count == 8)
                #expect(Set(credits.map(\.paymentId)).count == 8)
                #expect(credits.map(\.amountFen).reduce(0, +) == 3600)
                #expect(try await h.counts(batchId)["paid"] == 8)
            }
        }
    }
}

@Suite("Bank gateway: an unreachable bank keeps payments in flight, never failed, until it answers")
struct BankOutageTests {
    @Test(arguments: Engine.available)
    func anUnreachableBankOpensTheBreakerAndPaymentsWaitInFlight(_ engine: Engine) async throws {
        try await withBank("ICBC") { icbc in
            try await Harness.run(engine) { h in
                // setup: the bank's endpoint points at a port nobody listens on
                let dead = try await BankSimulator.start(.init(bank: "ICBC", port: 0, storePath: nil), logger: TestDatabase.logger)
                await dead.stop()
                try await h.createBank("ICBC", endpoint: dead.url)
                try await h.createBank("CCB", endpoint: icbc.url)  // another bank, up (the same simulator serves it)
                let outlet = try await h.createOutlet()
                let a = try await h.payee(1, bank: "ICBC", outlet: outlet)
                let b = try await h.payee(2, bank: "CCB", outlet: outlet)
                let dept1 = try await h.signedInStaff("dept1", .department), dept2 = try await h.signedInStaff("dept2", .department)
                let batchId = try #require(try await h.uploadBatch(try await h.programme(dept1), token: dept1,
                                                               lines: [(a.idNumber, "王秀梅", 4200), (b.idNumber, "王秀梅", 100)]).string("batchId"))
                _ = try await h.approveBatch(batchId, by: dept2)
                _ = try await h.executeBatch(batchId, by: dept1)
                let gateway = BankGateway(timeout: .seconds(2), backoff: Backoff(base: 0.001, cap: 0.005), attempts: 3)
                let executor = h.services.paymentExecutor(chunk: 10, gateway: gateway)

                // the action: two passes against the dead bank
                #expect(try await executor.drain(PaymentBatch.ID(batchId), timeout: .milliseconds(100)) == .bankUnavailable)
                #expect(try await executor.drain(PaymentBatch.ID(batchId), timeout: .milliseconds(100)) == .bankUnavailable)

                // validate: the breaker is open, the payment is in flight (not failed) while the other bank's is paid;
                // then it is paid once when the bank is back
                guard case .open = await gateway.breaker(dead.url).state else { Issue.record("breaker not open"); return }
                #expect(try await h.counts(batchId) == ["pending": 0, "held": 0, "sent": 1, "paid": 1, "failed": 0, "returned": 0])
                #expect(try await BankSimulator.credits(icbc.store).map(\.amountFen) == [100])
                #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, json: ["endpoint": icbc.url]).status == 200)
                #expect(try await executor.drain(PaymentBatch.ID(batchId)) == .completed)
                #expect(try await BankSimulator.credits(icbc.store).map(\.amountFen) == [100, 4200])
                #expect(try await h.counts(batchId)["paid"] == 2)
            }
        }
    }
}
