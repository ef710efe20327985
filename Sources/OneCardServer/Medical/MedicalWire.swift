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
            if name.equals("credential") { guard credential == nil, let v = AcceptanceController.CredentialInput.read(&s) else { return false }; credential = v }
            else if name.equals("care") { guard care == nil, let v = s.string().flatMap(MedicalCare.init(rawValue:)) else { return false }; care = v }
            else if name.equals("hospitalLevel") {
                guard level == nil, let v = s.integer().flatMap({ HospitalLevel(rawValue: Int($0)) }) else { return false }
                level = v
            } else if name.equals("emergency") { guard emergency == nil, let v = s.boolean() else { return false }; emergency = v }
            else if name.equals("items") { guard items == nil, let v = s.array(MedicalBillLine.read) else { return false }; items = v }
            else { return false }
            return true
        }), s.finished(), let credential, let care, let level, let emergency, let items else { return nil }
        return Self(credential: credential, care: care, hospitalLevel: level, emergency: emergency, items: items)
    }
}

extension MedicalBillLine {
    /// `{"code": …, "amountFen": …, "quantity": …}` (see `SettlementInput.read`).
    static func read(_ s: inout JSONScanner) -> Self? {
        var code: String?, amount: Int64?, quantity: Int64?
        guard s.object({ name, s in
            if name.equals("code") { guard code == nil, let v = s.string() else { return false }; code = v }
            else if name.equals("amountFen") { guard amount == nil, let v = s.integer() else { return false }; amount = v }
            else if name.equals("quantity") { guard quantity == nil, let v = s.integer() else { return false }; quantity = v }
            else { return false }
            return true
        }), let code, let amount, let quantity else { return nil }
        return MedicalBillLine(code: code, amountFen: amount, quantity: Int(quantity))
    }
}
