import Foundation
import Testing
@testable import OneCardCore

/// The month statements two provinces exchange for their clearing (issue 14): each node's record of the same
/// settlements reconciles to `matched`; a settlement only one side has, or a different fund share, is named by its id.
@Suite("Medical: month statements reconciled between provinces")
struct MedicalStatementTests {
    /// A WE-M1 stay of a Beijing employee treated in Hebei, as either node records it.
    func stay(_ id: String, yearToDate: MedicalYearToDate = .zero) throws -> MedicalSettlementRecord {
        let split = try MedicalSettlementRules.settle(lines: WE.b1, catalogue: WE.catalogue(WE.hebei), policy: WE.pBJEmp(), insured: WE.employee(),
                                                      filings: [WE.filing(.longTerm, WE.hebei)], hospitalLevel: .three, emergency: false, on: WE.day,
                                                      yearToDate: yearToDate)
        return MedicalSettlementRecord(settlementId: id, personId: "p-bj-1", insuredRegion: WE.beijing, treatmentRegion: "130102", care: .inpatient,
                                       hospitalLevel: .three, policyVersion: 1, split: split)
    }

    @Test func bothSidesOfTheSameSettlementsMatch() throws {
        // setup: two stays and the reversal of the second, recorded alike at Beijing (insured) and Hebei (treatment)
        let first = try stay("s-1")
        let second = try stay("s-2", yearToDate: first.split.yearToDateChange)
        let reversal = try MedicalReversal.reverse(second, reversalId: "r-2", alreadyReversed: false, accountBalanceFen: 0)
        let records = [first, second, reversal]
        let hebei = try MedicalStatement.make(month: "2025-03", region: WE.hebei, counterpart: WE.beijing, records: records)
        let beijing = try MedicalStatement.make(month: "2025-03", region: WE.beijing, counterpart: WE.hebei, records: records)
        // validate: one pair, person-times 2 − 1, the fund share of the first stay only (WE-M1 13,685.00)
        #expect(hebei.pairs.count == 1)
        #expect(hebei.pairs[0].insuredRegion == WE.beijing && hebei.pairs[0].treatmentRegion == WE.hebei)
        #expect(hebei.pairs[0].settlements == 1 && hebei.pairs[0].fundFen == 1_368_500)
        #expect(hebei.pairs[0].records.count == 3)
        let r = MedicalReconciliation.reconcile(ours: beijing, theirs: hebei)
        #expect(r.status == "matched" && r.counterpart == WE.hebei)
        #expect(r.onlyHere.isEmpty && r.onlyThere.isEmpty && r.differing.isEmpty)
        #expect(r.pairs == [.init(insuredRegion: WE.beijing, treatmentRegion: WE.hebei, settlements: 1, fundFen: 1_368_500, theirSettlements: 1,
                                  theirFundFen: 1_368_500)])
    }

    @Test func aSettlementOnlyOneSideHasOrADifferentFundShareIsNamed() throws {
        // setup: Beijing recorded s-1 and s-2; Hebei only s-1, and s-3 Beijing never saw; s-1's fund differs at Hebei
        let first = try stay("s-1"), second = try stay("s-2", yearToDate: first.split.yearToDateChange)
        var changed = first
        changed.split.fundPaySumamt -= 1
        let beijing = try MedicalStatement.make(month: "2025-03", region: WE.beijing, counterpart: WE.hebei, records: [first, second])
        let hebei = try MedicalStatement.make(month: "2025-03", region: "130100", counterpart: WE.beijing, records: [changed, try stay("s-3")])
        // validate
        let r = MedicalReconciliation.reconcile(ours: beijing, theirs: hebei)
        #expect(r.status == "differs")
        #expect(r.onlyHere == ["s-2"] && r.onlyThere == ["s-3"] && r.differing == ["s-1"])
        #expect(r.counterpart == WE.hebei)
    }

    @Test func aStatementCoversOnlyThePairsWithTheCounterpartAndLeavesUnfiledBillsOut() throws {
        // setup: a Beijing stay in Hebei, one in Shanghai, and an unfiled bill in Hebei (not cleared)
        var shanghai = try stay("s-sh")
        shanghai.treatmentRegion = WE.shanghai
        var unfiled = try stay("s-none")
        unfiled.split.filing = .none
        let records = [try stay("s-1"), shanghai, unfiled]
        // validate
        let statement = try MedicalStatement.make(month: "2025-03", region: WE.beijing, counterpart: WE.hebei, records: records)
        #expect(statement.pairs.map(\.records.count) == [1])
        #expect(MedicalStatement.counterparts(region: WE.beijing, records: records) == [WE.hebei, WE.shanghai])
        #expect(throws: DomainError.self) { try MedicalStatement.make(month: "2025-13", region: WE.beijing, counterpart: WE.hebei, records: records) }
    }
}
