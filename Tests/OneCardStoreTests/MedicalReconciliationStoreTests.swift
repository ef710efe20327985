import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing

/// Migration 033: another province's month statement and its reconciliation are kept per month and province, the
/// latest statement replacing an earlier one, on both engines.
@Suite("Store: medical reconciliations with other provinces")
struct MedicalReconciliationStoreTests {
    func result(_ status: String, onlyThere: [String] = []) -> MedicalReconciliation {
        MedicalReconciliation(month: "2026-11", counterpart: "130000", status: status,
                              pairs: [.init(insuredRegion: "110000", treatmentRegion: "130000", settlements: 1, fundFen: 1_368_500, theirSettlements: 1,
                                            theirFundFen: 1_368_500)],
                              onlyHere: [], onlyThere: onlyThere, differing: [])
    }

    @Test(arguments: Engine.available)
    func theLatestStatementOfAMonthAndProvinceIsKept(_ engine: Engine) async throws {
        let db = try await TestDatabase.make(engine)
        let store = try await db.store()
        do {
            // setup: Hebei's statement differs, then a corrected one matches
            let statement = MedicalStatement(month: "2026-11", region: "130000", pairs: [])
            let t0 = Date(timeIntervalSince1970: 1_795_000_000), t1 = t0.addingTimeInterval(60)
            try await store.write { try await $0.medical.saveReconciliation(result("differs", onlyThere: ["s-9"]), statement: statement, at: t0) }
            let first = try await store.read { try await $0.medical.reconciliations(month: "2026-11") }
            #expect(first.count == 1 && first[0].0.onlyThere == ["s-9"] && first[0].1 == t0)
            try await store.write { try await $0.medical.saveReconciliation(result("matched"), statement: statement, at: t1) }
            // validate: one row, the latest; another month has none
            let kept = try await store.read { try await $0.medical.reconciliations(month: "2026-11") }
            #expect(kept.count == 1 && kept[0].0 == result("matched") && kept[0].1 == t1)
            #expect(try await store.read { try await $0.medical.reconciliations(month: "2026-10") }.isEmpty)
        } catch { await store.close(); await db.remove(); throw error }
        await store.close()
        await db.remove()
    }

    @Test(arguments: Engine.available)
    func theNewestPublishedVersionAndTheNamedItemsAreReadTogether(_ engine: Engine) async throws {
        let db = try await TestDatabase.make(engine)
        let store = try await db.store()
        do {
            let before = try await store.read { try await $0.medical.publishedItems(codes: ["A"]) }
            #expect(before.version == 0 && before.items.isEmpty)
            let at = Date(timeIntervalSince1970: 1_795_000_000)
            let a1 = MedicalCatalogueItem(code: "A", name: "甲 v1", category: .a), b1 = MedicalCatalogueItem(code: "B", name: "乙", category: .b, preselfpayPercent: 10)
            let a2 = MedicalCatalogueItem(code: "A", name: "甲 v2", category: .a, priceCapFen: 500), c2 = MedicalCatalogueItem(code: "C", name: "丙", category: .c)
            try await store.write { try await $0.medical.publish(version: 1, items: [a1, b1], at: at, by: "admin") }
            try await store.write { try await $0.medical.publish(version: 2, items: [a2, b1, c2], at: at, by: "admin") }
            let read = try await store.read { try await $0.medical.publishedItems(codes: ["A", "C", "X"]) }
            #expect(read.version == 2 && Set(read.items.map(\.name)) == ["甲 v2", "丙"] && read.items.first { $0.code == "A" }?.priceCapFen == 500)
            let none = try await store.read { try await $0.medical.publishedItems(codes: []) }
            #expect(none.version == 2 && none.items.isEmpty)
        } catch { await store.close(); await db.remove(); throw error }
        await store.close()
        await db.remove()
    }
}
