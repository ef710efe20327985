import Foundation
import OneCardCore
import OneCardTestSupport
import SQLKit
import Testing
@testable import OneCardStore

@Suite("Store: payments as an outbox, totals, retries and notifications")
struct PaymentStoreTests {
    let at = Date(timeIntervalSince1970: 1_800_000_000)

    func withBatch(_ engine: Engine, _ body: (Store, [String]) async throws -> Void) async throws {
        let db = try await TestDatabase.make(engine)
        let store = try await db.store()
        do {
            let at = at
            var persons: [String] = []
            for n in 1...4 {
                let p = Person(id: "p\(n)", idNumber: try IdentityNumber(TestIDs.resident(sequence: "00\(n)"), type: .resident, today: CalendarDay(year: 2026, month: 1, day: 1)!),
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
                try await s.payments.notify(personId: persons[0], at: at, kind: "account_changed", message: "一", paymentId: "pay0")
                try await s.payments.notify(personId: persons[0], at: at.addingTimeInterval(1), kind: "payment_returned", message: "二")
                try await s.payments.notify(personId: persons[1], at: at, kind: "bank_terminated", message: "三")
            }
            let notes = try await store.read { try await $0.payments.notifications(personId: persons[0]) }
            #expect(notes.map(\.kind) == ["payment_returned", "account_changed"])
            #expect(notes.last?.paymentId == "pay0")
        }
    }
}
