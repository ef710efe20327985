import OneCardCore
import OneCardVerifier

/// An acceptance request read by hand in its common shape (`decodeJSON`'s `fast`), as a settlement's is
/// (`MedicalWire.swift`): strict, and anything else is left to `JSONDecoder`, so what is accepted and every error stay
/// `Codable`'s.
extension AcceptanceController.AcceptanceInput {
    static func read(_ bytes: UnsafeRawBufferPointer) -> Self? {
        var s = JSONScanner(bytes)
        var item: String?, credential: AcceptanceController.CredentialInput?, amount: Int64??
        guard s.object({ name, s in
            if name.equals("itemCode") { return s.once(&item) { $0.string() } }
            if name.equals("credential") { return s.once(&credential, AcceptanceController.CredentialInput.read) }
            if name.equals("amountFen") { return s.once(&amount) { $0.nullable { $0.integer() } } }
            return false
        }), s.finished(), let item, let credential else { return nil }
        return Self(itemCode: item, credential: credential, amountFen: amount ?? nil)
    }
}

extension AcceptanceController.CredentialInput {
    /// A credential object (an acceptance's or a settlement's); an optional member may be `null`, as `Codable` allows.
    static func read(_ s: inout JSONScanner) -> Self? {
        var kind: String?, token: String??, cardNumber: String??, challenge: String??, response: String??, issuer: String??
        guard s.object({ name, s in
            func optional(_ slot: inout String??) -> Bool { s.once(&slot) { $0.nullable { $0.string() } } }
            if name.equals("kind") { return s.once(&kind) { $0.string() } }
            if name.equals("token") { return optional(&token) }
            if name.equals("cardNumber") { return optional(&cardNumber) }
            if name.equals("challenge") { return optional(&challenge) }
            if name.equals("response") { return optional(&response) }
            if name.equals("issuer") { return optional(&issuer) }
            return false
        }), let kind else { return nil }
        return Self(kind: kind, token: token ?? nil, cardNumber: cardNumber ?? nil, challenge: challenge ?? nil, response: response ?? nil,
                    issuer: issuer ?? nil)
    }
}
