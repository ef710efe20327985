import Foundation

/// Monthly clearing between insured and treatment provinces (interface 3203 清算申请; API.md
/// `GET /medical/clearing`): the insured place owes the treatment place the fund's share.
public struct MedicalClearing: Codable, Sendable, Equatable {
    /// One (insured province, treatment province) pair in the month.
    public struct Pair: Codable, Sendable, Equatable {
        public var insuredRegion: String
        public var treatmentRegion: String
        /// Person-times (`psntime`): settlements less reversals.
        public var settlements: Int
        /// The fund's share (`fund_appy_sum`), owed by the insured province.
        public var fundFen: Int64
        public var medfeeSumamt: Int64
        public var acctPay: Int64
        /// `cash_payamt`.
        public var cashPayamt: Int64
    }

    /// `YYYY-MM`, China Standard Time.
    public var month: String
    /// `setlym` of interface 3203 (`YYYYMM`).
    public var setlym: String
    public var pairs: [Pair]
    /// Net position per province: positive receives, negative pays. Sums to zero.
    public var net: [String: Int64]

    /// Clears the month's records (the caller selects the month's settlements and reversals).
    /// Only pairs whose provinces differ are cleared; unfiled bills (`filing: none`) were not settled
    /// by the fund and are left out; a reversal nets out its settlement.
    public static func clear(month: String, records: [MedicalSettlementRecord]) throws(DomainError) -> MedicalClearing {
        let parts = month.split(separator: "-")
        guard month.count == 7, parts.count == 2, let y = Int(parts[0]), let m = Int(parts[1]), (2000...9999).contains(y), (1...12).contains(m) else {
            throw .invalidField("month", "YYYY-MM")
        }
        var pairs: [String: Pair] = [:]
        for r in records where r.split.filing != .none {
            let insured = RegionTable.province(of: r.insuredRegion), treatment = RegionTable.province(of: r.treatmentRegion)
            guard insured != treatment else { continue }
            let key = insured + ">" + treatment
            var p = pairs[key] ?? Pair(insuredRegion: insured, treatmentRegion: treatment, settlements: 0, fundFen: 0, medfeeSumamt: 0, acctPay: 0, cashPayamt: 0)
            p.settlements += r.reverses == nil ? 1 : -1
            p.fundFen += r.split.fundPaySumamt
            p.medfeeSumamt += r.split.medfeeSumamt
            p.acctPay += r.split.acctPay
            p.cashPayamt += r.split.psnCashPay
            pairs[key] = p
        }
        let sorted = pairs.values.sorted { ($0.insuredRegion, $0.treatmentRegion) < ($1.insuredRegion, $1.treatmentRegion) }
        var net: [String: Int64] = [:]
        for p in sorted {
            net[p.treatmentRegion, default: 0] += p.fundFen
            net[p.insuredRegion, default: 0] -= p.fundFen
        }
        return MedicalClearing(month: month, setlym: month.replacingOccurrences(of: "-", with: ""), pairs: sorted, net: net)
    }
}
