import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Department pages: programmes, batch upload, four eyes, payment through the bank and what the holder sees")
struct DepartmentPagesTests {
    @Test(arguments: Engine.available)
    func departmentPagesKeepTheApisRolesAndNeedTheCsrfToken(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup
            try await h.createBank()
            _ = try await h.holderWithECard()
            _ = try await h.signedInStaff("dept1", .department)
            _ = try await h.signedInStaff("audit1", .auditor)
            let programme = try await h.programme(try await h.signedInStaff("dept2", .department))
            // Not signed in: to the staff sign-in page.
            #expect(try await PageBrowser(h).get("/department").location == "/staff/signin")
            // A holder and an agent are refused every department page and form, as the API refuses them.
            let holder = PageBrowser(h)
            try await holder.signIn(holder: TestIDs.resident(sequence: "777"))
            let agent = try await PageBrowser.signedIn(h, staff: "agent")
            for b in [holder, agent] {
                for path in ["/department", "/department/programmes/\(programme)"] {
                    let r = try await b.get(path)
                    #expect(r.status == 403 && r.html.contains("forbidden"), "\(path): \(r)")
                }
                _ = try await b.get("/")
                let post = try await b.post("/department/programmes", [("name", "x"), ("kind", "other"), ("department", "d"), ("legalBasis", "b")])
                #expect(post.status == 403, "\(post)")
            }
            // A department user signs in on the staff page, lands on /department and has it in the navigation.
            let dept = PageBrowser(h)
            let signedIn = try await dept.signIn(staff: "dept1")
            #expect(signedIn.location == "/department", "\(signedIn)")
            let home = try await dept.get("/department")
            #expect(home.status == 200 && home.html.contains(#"<a href="/department">待遇发放</a>"#) && home.html.contains("耕地地力保护补贴"), "\(home)")
            #expect(try await dept.get("/admin").status == 403)
            // Every form needs the session's CSRF token.
            let forged = try await dept.post("/department/programmes", [("name", "x"), ("kind", "other"), ("department", "d"), ("legalBasis", "b")], csrf: "forged")
            #expect(forged.status == 403 && forged.html.contains("csrf_failed"))
            let noToken = try await dept.post("/department/programmes/\(programme)/batches", [("csv", "idNumber,name,amountFen\n")], csrf: .some(nil))
            #expect(noToken.status == 403 && noToken.html.contains("csrf_failed"))
            #expect(try await h.count("programmes") == 1)
            // An auditor reads a programme but is offered no form, and may not post one.
            let auditor = try await PageBrowser.signedIn(h, staff: "audit1")
            let read = try await auditor.get("/department/programmes/\(programme)")
            #expect(read.status == 200 && !read.html.contains(#"id="upload-form""#), "\(read)")
            #expect(try await auditor.post("/department/programmes/\(programme)/batches", [("csv", "idNumber,name,amountFen\n")]).status == 403)
        }
    }

    @Test(arguments: Engine.available)
    func aDepartmentUploadsACSVWhoseBadLinesAreShownAndASecondPersonApproves(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: two holders with financial cards, two department users
            try await h.createBank("ICBC", endpoint: nil)
            let outlet = try await h.createOutlet()
            let (a, cardA, _) = try await h.payee(1, bank: "ICBC", outlet: outlet)
            let (b, _, _) = try await h.payee(2, bank: "ICBC", outlet: outlet)
            _ = try await h.signedInStaff("dept1", .department)
            _ = try await h.signedInStaff("dept2", .department)
            let dept1 = try await PageBrowser.signedIn(h, staff: "dept1"), dept2 = try await PageBrowser.signedIn(h, staff: "dept2")

            // A programme: a missing field is refused on the form with the API's code; then made.
            _ = try await dept1.get("/department")
            let missing = try await dept1.post("/department/programmes", [("name", "耕地地力保护补贴"), ("kind", "subsidy"), ("department", "农业农村局")])
            #expect(missing.status == 422 && missing.html.contains("invalid_field") && missing.html.contains(#"value="耕地地力保护补贴""#), "\(missing)")
            let made = try await dept1.post("/department/programmes", [("name", "耕地地力保护补贴"), ("kind", "subsidy"), ("department", "农业农村局"),
                                                                        ("legalBasis", "广东省社会保障卡一卡通条例第八条")])
            let programmePath = try #require(made.location)
            #expect(made.status == 303 && programmePath.hasPrefix("/department/programmes/"), "\(made)")

            // A CSV whose header is wrong is refused, the text kept in the form.
            let form = try await dept1.get(programmePath)
            #expect(form.html.contains(#"id="upload-form""#) && form.html.contains("idNumber,name,amountFen"))
            let badHeader = try await dept1.post("\(programmePath)/batches", [("csv", "id,name,fen\n\(a),王秀梅,100\n")])
            #expect(badHeader.status == 422 && badHeader.html.contains("invalid_csv_header") && badHeader.html.contains("第一行须为表头"), "\(badHeader)")
            #expect(try await h.count("payment_batches") == 0)

            // The action: two good lines, one whose name does not match, one with two columns.
            _ = try await dept1.get(programmePath)
            let key = try #require(PageReply.first(#"name="uploadKey" value="([^"]+)""#, in: form.html))
            let csv = "idNumber,name,amountFen\r\n\(a),王秀梅,12345\r\n\(b),王秀,500\r\n\(b),王秀梅,20000\r\n\(a),王秀梅\r\n"
            let uploaded = try await dept1.post("\(programmePath)/batches", [("csv", csv), ("uploadKey", key)])
            let batchPath = try #require(uploaded.location?.split(separator: "?").first.map(String.init))
            #expect(uploaded.status == 303 && batchPath.hasPrefix("/department/batches/"), "\(uploaded)")
            let batchId = String(batchPath.dropFirst("/department/batches/".count))
            // The same form sent again (a reload, a double click) gives the same batch, not a second one.
            #expect(try await dept1.post("\(programmePath)/batches", [("csv", csv), ("uploadKey", key)]).location == uploaded.location)
            #expect(try await h.count("payment_batches") == 1)

            // validate: accepted count, each rejected line with its reason in words, totals in yuan, masked accounts
            let page = try await dept1.get(try #require(uploaded.location))
            #expect(page.html.contains("通过 2 行，未通过 2 行"), "\(page)")
            #expect(page.html.contains(#"<tr data-line="2"><td>2</td><td>姓名与登记信息不符。</td><td><code>name_mismatch</code></td></tr>"#), "\(page)")
            #expect(page.html.contains("<code>malformed_line</code>") && page.html.contains("这一行不是三列"))
            #expect(page.html.contains(#"data-batch-status="awaiting_approval""#) && page.html.contains("323.45 元"))
            // (the account a payment goes to is fixed, and shown masked, when it is sent: see the next test)
            #expect(!page.html.contains(try await h.account(cardA)))
            #expect(!page.html.contains(a) && !page.html.contains(b), "ID numbers are masked")
            let english = try await dept1.get("\(batchPath)?lang=en")
            #expect(english.html.contains("The name does not match the registry.") && english.html.contains("323.45 yuan"))
            #expect(try await h.batch(batchId)["status"] as? String == "awaiting_approval")

            // Four eyes: the uploader is refused with the API's code and words; executing first is refused too.
            _ = try await dept1.get(batchPath)
            let same = try await dept1.post("\(batchPath)/approve", [])
            #expect(same.status == 409 && same.html.contains("four_eyes_required") && same.html.contains("上传人不能审批自己上传的批次"), "\(same)")
            let early = try await dept1.post("\(batchPath)/execute", [])
            #expect(early.status == 409 && early.html.contains("batch_not_approved"), "\(early)")
            #expect(try await h.batch(batchId)["status"] as? String == "awaiting_approval")
            // A second person approves.
            _ = try await dept2.get(batchPath)
            let approved = try await dept2.post("\(batchPath)/approve", [])
            #expect(approved.location == "\(batchPath)?notice=batch_approved", "\(approved)")
            let approvedBatch = try await h.batch(batchId)
            #expect(approvedBatch["status"] as? String == "approved" && approvedBatch["approvedBy"] as? String == "department:dept2", "\(approvedBatch)")
            let after = try await dept2.get(try #require(approved.location))
            #expect(after.html.contains(#"id="execute-form""#) && !after.html.contains(#"id="approve-form""#))
            // Execute: the API's 202, here a redirect to the batch, which is now executing.
            let executed = try await dept2.post("\(batchPath)/execute", [])
            #expect(executed.location == "\(batchPath)?notice=batch_executing", "\(executed)")
            #expect(try await h.batch(batchId)["status"] as? String == "executing")
            #expect(try await h.call(.get, "/api/v1/batches/nope", token: h.admin).code == "batch_not_found")
            #expect(try await dept2.get("/department/batches/nope").status == 404)
            let audit = try await h.services.store.read { s in
                try await s.db.raw("SELECT action FROM audit_log WHERE subject = \(bind: "batch:\(batchId)") ORDER BY seq").all().map { try $0.decode(column: "action", as: String.self) }
            }
            #expect(audit == ["batch_uploaded", "batch_approved", "batch_executed"])
            // No personal data in any URL the pages used or offered.
            for url in dept1.seenURLs + dept2.seenURLs { #expect(!url.contains(a) && !url.contains(b), "\(url)") }
        }
    }

    @Test(arguments: Engine.available)
    func aBatchPaysThroughTheBankAndTheHolderSeesThePaymentAndTheNotice(_ engine: Engine) async throws {
        try await BanksAndPayees.run(engine) { f in
            // setup: a stays with ICBC, b moves to CCB after the upload, c's account is closed at the bank
            let h = f.h, icbc = f.sim("ICBC")
            let a = f.payees[0], b = f.payees[1], c = f.payees[2]
            let programme = try await h.programme(try await h.signedInStaff("dept1", .department))
            _ = try await h.signedInStaff("dept2", .department)
            let dept1 = try await PageBrowser.signedIn(h, staff: "dept1"), dept2 = try await PageBrowser.signedIn(h, staff: "dept2")
            _ = try await dept1.get("/department/programmes/\(programme)")
            let csv = "idNumber,name,amountFen\n\(a.idNumber),王秀梅,10000\n\(b.idNumber),王秀梅,20000\n\(c.idNumber),王秀梅,30001\n"
            let batchPath = try #require(try await dept1.post("/department/programmes/\(programme)/batches", [("csv", csv)]).location?
                .split(separator: "?").first.map(String.init))
            _ = try await dept2.get(batchPath)
            _ = try await dept2.post("\(batchPath)/approve", [])
            #expect(try await h.call(.post, "/api/v1/cards/\(b.card)/bank", token: b.token, json: ["bankCode": "CCB", "accountNumber": "6227000011112222333"]).status == 200)
            _ = try await HTTPClient1.toSimulator.send("POST", icbc.url + "/accounts/\(try await h.account(c.card))/close")

            // the action: execute on the page; the executor pays through the bank-sims
            _ = try await dept2.get(batchPath)
            #expect(try await dept2.post("\(batchPath)/execute", []).status == 303)
            let batchId = String(batchPath.dropFirst("/department/batches/".count))
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .completed)

            // validate: the batch page's counts and totals, and the retry it now offers
            let page = try await dept1.get(batchPath)
            #expect(page.html.contains(#"data-batch-status="completed""#), "\(page)")
            #expect(page.html.contains(#"<tr data-total="ps_paid"><th scope="row">已到账</th><td>2</td><td>300.00 元</td></tr>"#), "\(page)")
            #expect(page.html.contains(#"<tr data-total="ps_returned"><th scope="row">已退回</th><td>1</td><td>300.01 元</td></tr>"#))
            #expect(page.html.contains(#"id="retry-form""#) && page.html.contains("银行账户已销户，款项被退回"))
            let aAccount = try await h.account(a.card)
            #expect(!page.html.contains(aAccount) && page.html.contains("ICBC <code>\(Mask.account(aAccount))</code>"), "\(page)")
            // The holder whose account changed sees the payment and the notice in words; the one whose account closed, why.
            for (holder, kind, words) in [(b, "account_changed", "已发放至您变更后的银行账户"), (c, "payment_returned", "款项被退回")] {
                let me = PageBrowser(h)
                try await me.signIn(holder: holder.idNumber, password: "holder-password-1")
                #expect(try await me.get("/me").html.contains(#"href="/me/payments""#))
                let mine = try await me.get("/me/payments")
                #expect(mine.status == 200 && mine.html.contains(#"<li data-kind="\#(kind)"><strong>\#(words)"#), "\(mine)")
                #expect(mine.html.contains("耕地地力保护补贴"))
                for url in me.seenURLs { #expect(!url.contains(holder.idNumber), "\(url)") }
            }
            let bBrowser = PageBrowser(h)
            try await bBrowser.signIn(holder: b.idNumber, password: "holder-password-1")
            let bPage = try await bBrowser.get("/me/payments?lang=en")
            #expect(bPage.html.contains("200.00 yuan") && bPage.html.contains(#"data-state="paid""#) && bPage.html.contains("CCB <code>***************2333</code>"), "\(bPage)")
            #expect(!bPage.html.contains("6227000011112222333"))
            #expect(bPage.html.contains("200.00 yuan of “耕地地力保护补贴” was paid to your new bank account (CCB ***************2333)."), "\(bPage)")
            // c gets a new account; the department retries on the page and c is paid once, to it.
            #expect(try await h.call(.post, "/api/v1/cards/\(c.card)/bank", token: h.agent, json: ["bankCode": "ICBC", "accountNumber": "6222000099998888777"]).status == 200)
            #expect(try await dept1.post("\(batchPath)/retry", []).location == "\(batchPath)?notice=batch_retried")
            #expect(try await h.executor.drain(PaymentBatch.ID(batchId)) == .completed)
            #expect(try await h.counts(batchId) == ["pending": 0, "held": 0, "sent": 0, "paid": 3, "failed": 0, "returned": 0])
            #expect(try await BankSimulator.credits(icbc.store).map(\.amountFen) == [10_000, 30_001])
            #expect(!(try await dept1.get(batchPath)).html.contains(#"id="retry-form""#))
        }
    }
}
