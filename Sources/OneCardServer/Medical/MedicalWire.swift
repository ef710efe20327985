import OneCardCore
import OneCardVerifier

/// A settlement request read by hand in its common shape (`decodeJSON`'s `fast`): under load `JSONDecoder` was 6 % of
/// the server's CPU at a hospital's counter (Benchmarks/RESULTS.md, medical settlement). The reader is strict — a
/// member it does not know, a member twice, a number with a sign, fraction or leading zero, a value of another type or
/// outside its enumeration all answer nil — and `JSONDecoder` then reads the body, so what is accepted, what it means
/// and every error are `Codable`'s.
extension MedicalController.SettlementInput {
    static func read(_ bytes: UnsafeRawBufferPointer) -> Self? {
        var s = JSONScanner(bytes)
        var credential: AcceptanceController.CredentialInput?, care: MedicalCare?, level: HospitalLevel?, emergency: Bool?
        var items: [MedicalBillLine]?
        guard s.object({ name, s in
            if name.equals("credential") { return s.once(&credential, AcceptanceController.CredentialInput.read) }
            if name.equals("care") { return s.once(&care) { $0.string().flatMap(MedicalCare.init(rawValue:)) } }
            if name.equals("hospitalLevel") { return s.once(&level) { $0.integer().flatMap { HospitalLevel(rawValue: Int($0)) } } }
            if name.equals("emergency") { return s.once(&emergency) { $0.boolean() } }
            if name.equals("items") { return s.once(&items) { $0.array(MedicalBillLine.read) } }
            return false
        }), s.finished(), let credential, let care, let level, let emergency, let items else { return nil }
        return Self(credential: credential, care: care, hospitalLevel: level, emergency: emergency, items: items)
    }
}

extension MedicalBillLine {
    /// `{"code": …, "amountFen": …, "quantity": …}` (see `SettlementInput.read`).
    static func read(_ s: inout JSONScanner) -> Self? {
        var code: String?, amount: Int64?, quantity: Int64?
        guard s.object({ name, s in
            if name.equals("code") { return s.once(&code) { $0.string() } }
            if name.equals("amountFen") { return s.once(&amount) { $0.integer() } }
            if name.equals("quantity") { return s.once(&quantity) { $0.integer() } }
            return false
        }), let code, let amount, let quantity else { return nil }
        return MedicalBillLine(code: code, amountFen: amount, quantity: Int(quantity))
    }
}
