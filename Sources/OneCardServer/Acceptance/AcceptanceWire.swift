import OneCardCore
import OneCardVerifier

/// An acceptance request read by hand in its common shape (`decodeJSON`'s `fast`), as a settlement's is
/// (`MedicalWire.swift`): strict, and anything else is left to `JSONDecoder`, so what is accepted and every error stay
/// `Codable`'s.
extension AcceptanceController.AcceptanceInput {
    static func read(_ bytes: UnsafeRawBufferPointer) -> Self? {
        var s = JSONScanner(bytes)
        var item: String?, credential: AcceptanceController.CredentialInput?, amount: Int64?, amountSeen = false
        guard s.object({ name, s in
            if name.equals("itemCode") { guard item == nil, let v = s.string() else { return false }; item = v }
            else if name.equals("credential") { guard credential == nil, let v = AcceptanceController.CredentialInput.read(&s) else { return false }; credential = v }
            else if name.equals("amountFen") {
                guard !amountSeen else { return false }
                amountSeen = true
                if !s.takeNull() { guard let v = s.integer() else { return false }; amount = v }
            } else { return false }
            return true
        }), s.finished(), let item, let credential else { return nil }
        return Self(itemCode: item, credential: credential, amountFen: amount)
    }
}

extension AcceptanceController.CredentialInput {
    /// A credential object (an acceptance's or a settlement's); an optional member may be `null`, as `Codable` allows.
    static func read(_ s: inout JSONScanner) -> Self? {
        var kind: String?
        var optional: [String?] = [nil, nil, nil, nil, nil], seen = [false, false, false, false, false]
        guard s.object({ name, s in
            if name.equals("kind") { guard kind == nil, let v = s.string() else { return false }; kind = v; return true }
            let slot: Int
            if name.equals("token") { slot = 0 } else if name.equals("cardNumber") { slot = 1 } else if name.equals("challenge") { slot = 2 }
            else if name.equals("response") { slot = 3 } else if name.equals("issuer") { slot = 4 } else { return false }
            guard !seen[slot] else { return false }
            seen[slot] = true
            if s.takeNull() { return true }
            guard let v = s.string() else { return false }
            optional[slot] = v
            return true
        }), let kind else { return nil }
        return Self(kind: kind, token: optional[0], cardNumber: optional[1], challenge: optional[2], response: optional[3], issuer: optional[4])
    }
}
