/// A settlement record as JSON, written by hand: byte for byte what `JSONEncoder` with `.sortedKeys` and
/// `.withoutEscapingSlashes` writes for the same value (members in sorted order, nil members left out, a whole
/// percentage as an integer), so a stored record reads back with `JSONDecoder` as before and compares equal to the
/// rows written earlier. A hospital's counter stores one per settlement; through `JSONEncoder` that was 7 % of the
/// server's CPU under load (Benchmarks/RESULTS.md, medical settlement).
extension MedicalSettlementRecord {
    /// The record's JSON (as `Codable` shapes it).
    public var json: String {
        var w = JSONWriter(capacity: 640 + split.lines.count * 160)
        w.raw("{\"care\":"); w.string(care.rawValue)
        w.raw(",\"hospitalLevel\":"); w.int(Int64(hospitalLevel.rawValue))
        w.raw(",\"insuredRegion\":"); w.string(insuredRegion)
        w.raw(",\"personId\":"); w.string(personId.rawValue)
        w.raw(",\"policyVersion\":"); w.int(Int64(policyVersion))
        if let reverses { w.raw(",\"reverses\":"); w.string(reverses) }
        w.raw(",\"settlementId\":"); w.string(settlementId)
        w.raw(",\"split\":"); split.write(to: &w)
        w.raw(",\"treatmentRegion\":"); w.string(treatmentRegion)
        w.raw("}")
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

extension MedicalSplit {
    fileprivate func write(to w: inout JSONWriter) {
        w.raw("{\"acctPay\":"); w.int(acctPay)
        w.raw(",\"actPayDedc\":"); w.int(actPayDedc)
        if let balc { w.raw(",\"balc\":"); w.int(balc) }
        w.raw(",\"filing\":"); w.string(filing.rawValue)
        w.raw(",\"fulamtOwnpayAmt\":"); w.int(fulamtOwnpayAmt)
        w.raw(",\"fundPaySumamt\":"); w.int(fundPaySumamt)
        w.raw(",\"hifpPay\":"); w.int(hifpPay)
        w.raw(",\"inscpScpAmt\":"); w.int(inscpScpAmt)
        w.raw(",\"lines\":"); MedicalLineSplit.write(lines, to: &w)
        w.raw(",\"medfeeSumamt\":"); w.int(medfeeSumamt)
        w.raw(",\"overAnnualCapAmt\":"); w.int(overAnnualCapAmt)
        w.raw(",\"overlmtSelfpay\":"); w.int(overlmtSelfpay)
        w.raw(",\"poolPropSelfpay\":"); poolPropSelfpay.write(to: &w)
        w.raw(",\"preselfpayAmt\":"); w.int(preselfpayAmt)
        w.raw(",\"psnCashPay\":"); w.int(psnCashPay)
        w.raw(",\"psnPartAmt\":"); w.int(psnPartAmt)
        w.raw(",\"yearToDateChange\":{\"deductibleFen\":"); w.int(yearToDateChange.deductibleFen)
        w.raw(",\"fundFen\":"); w.int(yearToDateChange.fundFen)
        w.raw(",\"stays\":"); w.int(Int64(yearToDateChange.stays))
        w.raw("}}")
    }
}

extension MedicalLineSplit {
    /// The lines as `Codable` writes them (sorted members, no `chrgitmLv` for a line outside the catalogue): the
    /// stored record and the settlement's answer (`lines`) share it.
    package static func write(_ lines: [MedicalLineSplit], to w: inout JSONWriter) {
        w.raw("[")
        for (i, l) in lines.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            if let level = l.chrgitmLv { w.raw("\"chrgitmLv\":"); w.string(level.rawValue); w.raw(",") }
            w.raw("\"code\":"); w.string(l.code)
            w.raw(",\"detItemFeeSumamt\":"); w.int(l.detItemFeeSumamt)
            w.raw(",\"fulamtOwnpayAmt\":"); w.int(l.fulamtOwnpayAmt)
            w.raw(",\"inscpScpAmt\":"); w.int(l.inscpScpAmt)
            w.raw(",\"overlmtAmt\":"); w.int(l.overlmtAmt)
            w.raw(",\"preselfpayAmt\":"); w.int(l.preselfpayAmt)
            w.raw("}")
        }
        w.raw("]")
    }
}

extension Percent {
    /// As `Percent.encode(to:)` writes it through `JSONEncoder`: a whole percentage as an integer, else the `Double`.
    package func write(to w: inout JSONWriter) {
        if hundredths % 100 == 0 { w.int(Int64(hundredths / 100)) } else { w.bytes.append(contentsOf: "\(Double(hundredths) / 100)".utf8) }
    }
}
