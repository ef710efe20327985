import Foundation

/// A node's month statement of the settlements it shares with another province (interface 3201 对总账 / 3203 清算申请,
/// wave2-facts §1.4): per (insured, treatment) pair the person-times and the fund's share, and every record's id with its
/// fund amount, so the other side can name exactly which settlements differ. Each node sends its own to the other
/// province through the hub (`medical_statement`); the receiver reconciles it with its own record of the same pairs.
public struct MedicalStatement: Codable, Sendable, Equatable {
    public struct Pair: Codable, Sendable, Equatable {
        public var insuredRegion: String
        public var treatmentRegion: String
        public var settlements: Int
        public var fundFen: Int64
        /// Every settlement and reversal of the pair in the month: id → fund share (negative for a reversal).
        public var records: [String: Int64]
        public init(insuredRegion: String, treatmentRegion: String, settlements: Int, fundFen: Int64, records: [String: Int64]) {
            self.insuredRegion = insuredRegion; self.treatmentRegion = treatmentRegion; self.settlements = settlements; self.fundFen = fundFen
            self.records = records
        }
    }

    /// `YYYY-MM`, China Standard Time.
    public var month: String
    /// The province that made the statement.
    public var region: String
    public var pairs: [Pair]

    public init(month: String, region: String, pairs: [Pair]) { self.month = month; self.region = region; self.pairs = pairs }

    /// The statement `region` makes for `counterpart` of the month's cross-province records: the pairs between the two
    /// provinces only (unfiled bills are not cleared, as in `MedicalClearing`).
    public static func make(month: String, region: String, counterpart: String, records: [MedicalSettlementRecord]) throws(DomainError) -> MedicalStatement {
        let clearing = try MedicalClearing.clear(month: month, records: records)
        let me = RegionTable.province(of: region), other = RegionTable.province(of: counterpart)
        var pairs: [Pair] = []
        for p in clearing.pairs where Set([p.insuredRegion, p.treatmentRegion]) == Set([me, other]) {
            var ids: [String: Int64] = [:]
            for r in records where r.split.filing != .none && RegionTable.province(of: r.insuredRegion) == p.insuredRegion
                && RegionTable.province(of: r.treatmentRegion) == p.treatmentRegion {
                ids[r.settlementId] = r.split.fundPaySumamt
            }
            pairs.append(Pair(insuredRegion: p.insuredRegion, treatmentRegion: p.treatmentRegion, settlements: p.settlements, fundFen: p.fundFen, records: ids))
        }
        return MedicalStatement(month: month, region: me, pairs: pairs)
    }

    /// The other provinces this node's month shares settlements with (one statement each).
    public static func counterparts(region: String, records: [MedicalSettlementRecord]) -> [String] {
        let me = RegionTable.province(of: region)
        var out = Set<String>()
        for r in records where r.split.filing != .none {
            let i = RegionTable.province(of: r.insuredRegion), t = RegionTable.province(of: r.treatmentRegion)
            if i == me, t != me { out.insert(t) }
            if t == me, i != me { out.insert(i) }
        }
        return out.sorted()
    }
}

/// The result of comparing another province's statement with this node's own record of the same pairs.
public struct MedicalReconciliation: Codable, Sendable, Equatable {
    public struct Pair: Codable, Sendable, Equatable {
        public var insuredRegion: String
        public var treatmentRegion: String
        public var settlements: Int
        public var fundFen: Int64
        public var theirSettlements: Int
        public var theirFundFen: Int64
        public init(insuredRegion: String, treatmentRegion: String, settlements: Int, fundFen: Int64, theirSettlements: Int, theirFundFen: Int64) {
            self.insuredRegion = insuredRegion; self.treatmentRegion = treatmentRegion; self.settlements = settlements; self.fundFen = fundFen
            self.theirSettlements = theirSettlements; self.theirFundFen = theirFundFen
        }
    }

    public var month: String
    /// The province whose statement was compared.
    public var counterpart: String
    /// `matched` when every pair's records agree id by id and amount by amount, else `differs`.
    public var status: String
    public var pairs: [Pair]
    /// Settlement ids only this node has, only the other has, and both have with different fund shares.
    public var onlyHere: [String]
    public var onlyThere: [String]
    public var differing: [String]

    public init(month: String, counterpart: String, status: String, pairs: [Pair], onlyHere: [String], onlyThere: [String], differing: [String]) {
        self.month = month; self.counterpart = counterpart; self.status = status; self.pairs = pairs
        self.onlyHere = onlyHere; self.onlyThere = onlyThere; self.differing = differing
    }

    public static func reconcile(ours: MedicalStatement, theirs: MedicalStatement) -> MedicalReconciliation {
        func key(_ p: MedicalStatement.Pair) -> String { p.insuredRegion + ">" + p.treatmentRegion }
        let mine = Dictionary(ours.pairs.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let other = Dictionary(theirs.pairs.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        var pairs: [Pair] = [], onlyHere: [String] = [], onlyThere: [String] = [], differing: [String] = []
        for k in Set(mine.keys).union(other.keys).sorted() {
            let a = mine[k], b = other[k]
            let parts = k.split(separator: ">").map(String.init)
            pairs.append(Pair(insuredRegion: parts[0], treatmentRegion: parts[1], settlements: a?.settlements ?? 0, fundFen: a?.fundFen ?? 0,
                              theirSettlements: b?.settlements ?? 0, theirFundFen: b?.fundFen ?? 0))
            let ra = a?.records ?? [:], rb = b?.records ?? [:]
            for (id, fen) in ra { if let t = rb[id] { if t != fen { differing.append(id) } } else { onlyHere.append(id) } }
            for id in rb.keys where ra[id] == nil { onlyThere.append(id) }
        }
        let matched = onlyHere.isEmpty && onlyThere.isEmpty && differing.isEmpty
            && pairs.allSatisfy { $0.settlements == $0.theirSettlements && $0.fundFen == $0.theirFundFen }
        return MedicalReconciliation(month: ours.month, counterpart: theirs.region, status: matched ? "matched" : "differs", pairs: pairs,
                                     onlyHere: onlyHere.sorted(), onlyThere: onlyThere.sorted(), differing: differing.sorted())
    }
}
