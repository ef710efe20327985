import Foundation
import OneCardCore
import OneCardTestSupport
import SQLKit
import Testing
@testable import OneCardStore

@Suite("Store: payments as an outbox, totals, retries and notifications")
struct PaymentStoreTests {
    let at = Date(timeIntervalSince1970: 1_800_000_000)

    /// A batch of four pending payments; `schema` names the last migration to apply first (a database as an earlier
    /// release left it), else every migration is.
    func withBatch(_ engine: Engine, schema: String? = nil, _ body: (Store, [Person.ID]) async throws -> Void) async throws {
        let db = try await TestDatabase.make(engine)
        let store: Store
        do { store = try await Store.open(db.url, cipher: TestDatabase.testCipher, logger: TestDatabase.logger) } catch { await db.remove(); throw error }
        do {
            try await store.migrate(through: schema)
            let at = at
            var persons: [Person.ID] = []
            for n in 1...4 {
                let p = Person(id: Person.ID("p\(n)"), idNumber: try IdentityNumber(TestIDs.resident(sequence: "00\(n)"), type: .resident, today: CalendarDay(year: 2026, month: 1, day: 1)!),
                               name: "王秀梅", phone: "13800001234", address: nil, createdAt: at)
                try await store.write { try await $0.persons.insert(p) }
                persons.append(p.id)
            }
            let ids = persons
            try await store.write { s in
                try await s.payments.insert(Programme(id: "g1", name: "补贴", kind: .subsidy, department: "农业农村局", legalBasis: "GD art. 8",
                                                      fundingAccount: "6222000011112222", createdBy: "department:a", createdAt: at))
                try await s.payments.insert(PaymentBatch(id: "b1", programmeId: "g1", status: .executing, uploadedBy: "department:a", createdAt: at))
                try await s.payments.insert(batchId: "b1", ids.enumerated().map {
                    .init(id: "pay\($0)", line: $0 + 1, personId: $1, amountFen: Int64(100 * ($0 + 1)), bankCode: "ICBC", account: "6222000011110000")
                }, at: at)
            }
            try await body(store, persons)
        } catch { await store.close(); await db.remove(); throw error }
        await store.close()
        await db.remove()
    }

    /// The executor reads a chunk's lines and their cards' sealed accounts before its write transaction; the claim's
    /// `UPDATE` takes a line only while it is pending and its card still holds the account read. What it took is
    /// returned, and only that is sent: a line another executor claimed first, or whose card's account changed in
    /// between, stays as it is.
    @Test(arguments: Engine.available)
    func aClaimTakesOnlyPendingLinesWhoseCardStillHoldsTheAccountRead(_ engine: Engine) async throws {
        try await withBatch(engine) { store, persons in
            let at = at
            // setup: p1 and p2 hold ICBC cards; the claim routes both as read
            try await store.write { s in
                try await s.banks.insert(Bank(code: "ICBC", name: "工商银行", agreementFrom: CalendarDay(year: 2024, month: 1, day: 1)!,
                                              agreementTo: CalendarDay(year: 2034, month: 12, day: 31)!, endpoint: nil, status: .active), at: at)
            }
            for (n, person) in persons.prefix(2).enumerated() {
                let card = Card(number: try CardNumber("A0000000\(n + 1)"), identificationCode: "110000D156000005" + String(repeating: "\(n + 1)", count: 16),
                                personId: person, applicationId: nil, issuerRegion: "110000", status: .active, transit: true, financial: true,
                                bankCode: "ICBC", accountNumber: "622200001111000\(n + 1)", pinHash: nil, issuedAt: at, expiresAt: at.addingTimeInterval(3e8))
                try await store.write { try await $0.cards.insert(card) }
            }
            let read = try await store.read { try await $0.payments.pendingWithCards(batchId: "b1", afterLine: 0, throughLine: 4) }
            let routed = read.filter { $0.accountSealed != nil }.map {
                Payment.Destination(id: $0.due.id, bankCode: "ICBC", accountSealed: $0.accountSealed!, accountMasked: "************0000")
            }
            #expect(routed.map(\.id) == ["pay0", "pay1"])
            // action: p2's account changes after the read; then the claim
            try await store.write { s in
                var c = try #require(try await s.cards.find(try CardNumber("A00000002")))
                c.accountNumber = "6222000099990002"
                try await s.cards.update(c)
            }
            let claimed = try await store.write { try await $0.payments.markSent(routed, at: at) }
            // validate: only p1's line was taken; p2's is pending (the next read routes it to the new account); a second
            // claim of the same lines takes nothing; the totals count what changed
            #expect(claimed == ["pay0"])
            #expect(try await store.write { try await $0.payments.markSent(routed, at: at) }.isEmpty)
            let totals = try await store.read { try await $0.payments.totals(batchId: "b1") }
            #expect(totals.count == [.sent: 1, .pending: 3])
            #expect(try await store.read { try await $0.payments.recount(batchId: "b1") } == totals)
            let again = try await store.read { try await $0.payments.pendingWithCards(batchId: "b1", afterLine: 0, throughLine: 4) }
            #expect(again.first { $0.due.id == "pay1" }?.card?.accountNumber == "6222000099990002")
        }
    }

    @Test(arguments: Engine.available)
    func paymentsMoveOnlyFromTheStateTheyAreInAndTotalsAddUp(_ engine: Engine) async throws {
        try await withBatch(engine) { store, persons in
            let at = at
            // setup: two sent, one of them answered twice
            try await store.write { s in
                try await s.payments.markSent("pay0", bankCode: "ICBC", account: "6222000011110000", at: at)
                try await s.payments.markSent("pay1", bankCode: "CCB", account: "6227000011110000", at: at)
                // A second mark of a payment already sent changes nothing (it is no longer pending).
                try await s.payments.markSent("pay0", bankCode: "BOC", account: "6216000000000000", at: at)
            }
            let inFlight = try await store.read { try await $0.payments.sent(batchId: "b1", afterLine: 0, throughLine: 4) }
            #expect(inFlight.map(\.bankCode) == ["ICBC", "CCB"])
            #expect(inFlight.map(\.account) == ["6222000011110000", "6227000011110000"])
            try await store.write { s in
                try await s.payments.settle(["pay0"], to: .paid, reason: nil, from: .sent, at: at)
                try await s.payments.settle(["pay0"], to: .returned, reason: "account_closed", from: .sent, at: at)  // a late second answer
                try await s.payments.settle(["pay1"], to: .returned, reason: "account_closed", from: .sent, at: at)
                try await s.payments.settle(["pay2"], to: .failed, reason: "no_card", from: .pending, at: at)
            }

            // validate
            var totals = try await store.read { try await $0.payments.totals(batchId: "b1") }
            // The running totals are what counting the payments gives.
            #expect(try await store.read { try await $0.payments.recount(batchId: "b1") } == totals)
            #expect(totals.count == [.paid: 1, .returned: 1, .failed: 1, .pending: 1])
            #expect(totals.fen == [.paid: 100, .returned: 200, .failed: 300, .pending: 400])
            #expect(totals.requestedFen == 1000 && totals.outstanding == 1)
            // The account is encrypted at rest; only the masked form and the fingerprint are readable.
            let raw = try await store.read { s in try await s.db.raw("SELECT * FROM payments WHERE id = 'pay0'").first()! }
            #expect(try raw.decode(column: "account_masked", as: String.self) == "************0000")
            #expect(!(try raw.decode(column: "account_enc", as: String.self)).contains("6222000011110000"))
            #expect(!(try raw.decode(column: "batch_account_fp", as: String.self)).contains("6222000011110000"))

            // Retry puts failed and returned back as new attempts; paid stays paid.
            #expect(try await store.write { try await $0.payments.retry(batchId: "b1", at: at) } == 2)
            let list = try await store.read { try await $0.payments.list(batchId: "b1", afterLine: 0, limit: 10) }
            #expect(list.map(\.state) == [.paid, .pending, .pending, .pending])
            #expect(list.map(\.attempt) == [1, 2, 2, 1])
            totals = try await store.read { try await $0.payments.totals(batchId: "b1") }
            #expect(totals.requestedFen == 1000)
            #expect(totals.count == [.paid: 1, .pending: 3])
            #expect(try await store.read { try await $0.payments.recount(batchId: "b1") } == totals)
            // One payment per person per batch.
            let dup = persons[0]
            let inserted = try await store.write { try await $0.payments.insert(batchId: "b1", [.init(id: "x", line: 9, personId: dup, amountFen: 1, bankCode: "ICBC", account: "6222000011110000")], at: at) }
            #expect(inserted.isEmpty)
            #expect(try await store.read { try await $0.payments.count(batchId: "b1") } == 4)
            #expect(try await store.read { try await $0.payments.totals(batchId: "b1") } == totals)
            #expect(try await store.read { try await $0.payments.programme("g1") }?.fundingAccount == "6222000011112222")
        }
    }

    @Test(arguments: Engine.available)
    func notificationsAreListedNewestFirst(_ engine: Engine) async throws {
        try await withBatch(engine) { store, persons in
            let at = at
            try await store.write { s in
                try await s.payments.notify(personId: persons[0], at: at, kind: .accountChanged, parameters: ["n": "一"], paymentId: "pay0")
                try await s.payments.notify(personId: persons[0], at: at.addingTimeInterval(1), kind: .paymentReturned, parameters: ["n": "二"])
                try await s.payments.notify(personId: persons[1], at: at, kind: .bankTerminated, parameters: ["n": "三"])
            }
            let notes = try await store.read { try await $0.payments.notifications(personId: persons[0]) }
            #expect(notes.map(\.kind.rawValue) == ["payment_returned", "account_changed"])
            #expect(notes.last?.paymentId == "pay0")
            #expect(notes.map(\.parameters) == [["n": "二"], ["n": "一"]])
        }
    }

    /// Notices written as text before 023 are kept: the kind as it was, the text as the parameter `text`.
    @Test(arguments: Engine.available)
    func noticesWrittenAsTextAreKeptByTheMigrationToParameters(_ engine: Engine) async throws {
        try await withBatch(engine, schema: "022_payments_for_large_batches") { store, persons in
            // setup: a notice as release 022 wrote it
            let at = at
            try await store.write { s in
                try await s.db.raw("""
                    INSERT INTO notifications (person_id, at, kind, message, payment_id)
                    VALUES (\(bind: persons[0]), \(bind: Timestamp.millis(at)), 'payment_returned', '「补贴」1.00元被退回 "旧"', 'pay0')
                    """).run()
            }
            // the upgrade
            #expect(try await store.migrate(through: "023_notifications_as_kind_and_parameters") == ["023_notifications_as_kind_and_parameters"])
            // validate
            let notes = try await store.read { try await $0.payments.notifications(personId: persons[0]) }
            #expect(notes.map(\.kind.rawValue) == ["payment_returned"] && notes.first?.paymentId == "pay0")
            #expect(notes.first?.parameters == ["text": "「补贴」1.00元被退回 \"旧\""])
            try await store.write { try await $0.payments.notify(personId: persons[0], at: at, kind: .bankMigrated, parameters: ["account": "***1"]) }
            #expect(try await store.read { try await $0.payments.notifications(personId: persons[0]) }.first?.parameters == ["account": "***1"])
        }
    }

    /// A database release 021 left, holding payments in every state, upgraded through 022 (the table rebuilt without
    /// foreign keys, with other indexes): every row is kept as it was, the totals still add up, and the rebuilt table
    /// works as a new one does.
    @Test(arguments: Engine.available)
    func theRebuildOfPaymentsKeepsEveryRowAndItsRules(_ engine: Engine) async throws {
        try await withBatch(engine, schema: "021_payment_batch_totals") { store, persons in
            let at = at
            // setup: payments sent, paid, failed and still pending, written by the repository on the old schema
            try await store.write { s in
                try await s.payments.markSent("pay0", bankCode: "ICBC", account: "6222000011110000", at: at)
                try await s.payments.markSent("pay1", bankCode: "CCB", account: "6227000011110000", at: at)
                try await s.payments.settle(["pay0"], to: .paid, reason: nil, from: .sent, at: at)
                try await s.payments.settle(["pay2"], to: .failed, reason: "no_card", from: .pending, at: at)
            }
            func rows() async throws -> [Payment] { try await store.read { try await $0.payments.list(batchId: "b1", afterLine: 0, limit: 10) } }
            func sealed() async throws -> [String] {
                try await store.read { s in
                    try await s.db.raw("SELECT id, account_enc, batch_account_fp FROM payments ORDER BY id").all().map {
                        "\(try $0.string("id")) \(try $0.decodeNil(column: "account_enc") ? "-" : $0.string("account_enc")) \(try $0.string("batch_account_fp"))"
                    }
                }
            }
            let before = try await rows(), sealedBefore = try await sealed()
            let totalsBefore = try await store.read { try await $0.payments.totals(batchId: "b1") }
            #expect(before.map(\.state) == [.paid, .sent, .failed, .pending])

            // the action
            #expect(try await store.migrate(through: "022_payments_for_large_batches") == ["022_payments_for_large_batches"])

            // validate: the same rows, byte for byte where sealed, and the same totals
            #expect(try await rows() == before)
            #expect(try await sealed() == sealedBefore)
            #expect(try await store.read { try await $0.payments.totals(batchId: "b1") } == totalsBefore)
            #expect(try await store.read { try await $0.payments.recount(batchId: "b1") } == totalsBefore)
            // The payment in flight is still found and opened; a person gets no second payment in the batch.
            #expect(try await store.read { try await $0.payments.sent(batchId: "b1", afterLine: 0, throughLine: 4) }.map(\.account) == ["6227000011110000"])
            let again = try await store.write { s in
                try await s.payments.insert(batchId: "b1", [.init(id: "pay9", line: 5, personId: persons[0], amountFen: 1, bankCode: "ICBC", account: "6222000011110000")], at: at)
            }
            #expect(again.isEmpty)
            // Two payments on one line of a batch are refused by the new index.
            await #expect { try await store.write { s in
                try await s.payments.insert(batchId: "b1", [.init(id: "pay8", line: 4, personId: "nobody", amountFen: 1, bankCode: "ICBC", account: "6222000011110000")], at: at)
            } } throws: { Store.isUniqueViolation($0) }
            if engine == .postgres {
                let options = try await store.read { s in try await s.db.raw("SELECT array_to_string(reloptions, ',') AS o FROM pg_class WHERE relname = 'payments'").first()?.string("o") }
                #expect(options == "fillfactor=50")
                let keys = try await store.read { s in try await s.db.raw("SELECT COUNT(*) AS n FROM pg_constraint WHERE conrelid = 'payments'::regclass AND contype = 'f'").first()?.decode(column: "n", as: Int64.self) }
                #expect(keys == 0)
            }
        }
    }
}
