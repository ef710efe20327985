import Foundation
import OneCardCore
import OneCardVerifier

/// The JSON of a batch credit between the platform and a bank (`POST /credits`: `{"payments": [Credit]}` in,
/// `{"results": [Result]}` out), written and read by hand in the common shape and by `JSONDecoder` otherwise.
///
/// A million-payment batch sends a thousand requests of a thousand credits each way; through `JSONEncoder` and
/// `JSONDecoder` that exchange was 18 % of the CPU of the platform and the bank-sim together (Benchmarks/RESULTS.md,
/// payments). The reader is strict: anything it does not expect (a member twice, a number with a sign or a fraction,
/// a value of another type) is handed to `JSONDecoder`, so what is accepted and what it means stay `Codable`'s.
enum BankWire {
    static func credits(_ credits: [BankGateway.Credit]) -> [UInt8] {
        var w = JSONWriter(capacity: 32 + credits.count * 80)
        w.raw("{\"payments\":[")
        for (i, c) in credits.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"paymentId\":"); w.string(c.paymentId)
            w.raw(",\"account\":"); w.string(c.account)
            w.raw(",\"amountFen\":"); w.int(c.amountFen)
            w.raw("}")
        }
        w.raw("]}")
        return w.bytes
    }

    static func results(_ results: [BankGateway.Result]) -> [UInt8] {
        var w = JSONWriter(capacity: 32 + results.count * 64)
        w.raw("{\"results\":[")
        for (i, r) in results.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"paymentId\":"); w.string(r.paymentId)
            w.raw(",\"outcome\":"); w.string(r.outcome.rawValue)
            if let reason = r.reason { w.raw(",\"reason\":"); w.string(reason) }
            w.raw("}")
        }
        w.raw("]}")
        return w.bytes
    }

    private struct CreditRequest: Decodable { var payments: [BankGateway.Credit] }
    private struct Reply: Decodable { var results: [BankGateway.Result] }

    /// The credits of a request body, or nil when it is not one.
    static func readCredits(_ body: some ContiguousBytes) -> [BankGateway.Credit]? {
        let fast: [BankGateway.Credit]?? = body.withUnsafeBytes { bytes in
            var s = JSONScanner(bytes)
            return list(&s, member: "payments") { s in
                var id: String?, account: String?, amount: Int64?
                return s.object { name, s in
                    if name.equals("paymentId") { return s.once(&id) { $0.string() } }
                    if name.equals("account") { return s.once(&account) { $0.string() } }
                    if name.equals("amountFen") { return s.once(&amount) { $0.integer() } }
                    return s.skipValue()
                } ? (id.flatMap { id in account.flatMap { a in amount.map { BankGateway.Credit(paymentId: id, account: a, amountFen: $0) } } }) : nil
            }
        }
        if let fast { return fast }
        return body.withUnsafeBytes { try? JSONDecoder().decode(CreditRequest.self, from: Data($0)) }?.payments
    }

    /// The results of a reply body, or nil when it is not one.
    static func readResults(_ body: some ContiguousBytes) -> [BankGateway.Result]? {
        let fast: [BankGateway.Result]?? = body.withUnsafeBytes { bytes in
            var s = JSONScanner(bytes)
            return list(&s, member: "results") { s in
                var id: String?, outcome: BankOutcome?, reason: String??
                return s.object { name, s in
                    if name.equals("paymentId") { return s.once(&id) { $0.string() } }
                    if name.equals("outcome") { return s.once(&outcome) { $0.string().flatMap(BankOutcome.init(rawValue:)) } }
                    if name.equals("reason") { return s.once(&reason) { $0.nullable { $0.string() } } }
                    return s.skipValue()
                } ? (id.flatMap { id in outcome.map { BankGateway.Result(paymentId: id, outcome: $0, reason: reason ?? nil) } }) : nil
            }
        }
        if let fast { return fast }
        return body.withUnsafeBytes { try? JSONDecoder().decode(Reply.self, from: Data($0)) }?.results
    }

    /// `{"<member>": [element, …]}` and nothing else: `.some(list)`, or `.none` to leave the body to `JSONDecoder`.
    private static func list<T>(_ s: inout JSONScanner, member: StaticString, _ element: (inout JSONScanner) -> T?) -> [T]?? {
        guard s.expect(UInt8(ascii: "{")), let name = s.name(), name.equals(member), s.expect(UInt8(ascii: ":")),
              let out = s.array(element), s.expect(UInt8(ascii: "}")), s.finished() else { return .none }
        return .some(out)
    }
}
