import Foundation

/// A tap an offline transit gate made and keeps in its journal until the node has it (`onecard terminal --operator …`).
public struct GateTap: Sendable, Equatable {
    public var id: String
    public var operatorCode: String
    public var station: String
    public var direction: TapDirection
    public var at: Date
    /// What was presented, as the API's `credential` object (JSON text).
    public var credential: String
    /// `accepted` (the gate opened) or `denied`.
    public var decision: String
    public var reason: String?

    public init(id: String, operatorCode: String, station: String, direction: TapDirection, at: Date, credential: String, decision: String, reason: String?) {
        self.id = id; self.operatorCode = operatorCode; self.station = station; self.direction = direction; self.at = at
        self.credential = credential; self.decision = decision; self.reason = reason
    }

    /// A physical card as a gate's reader gives it: `card:<cardNumber>:<challenge base64>:<response base64>`.
    public static func cardLine(_ line: String) -> (number: CardNumber, challenge: String, response: String)? {
        let parts = line.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "card", let number = try? CardNumber(String(parts[1])),
              let c = Data(base64Encoded: String(parts[2])), c.count >= 16, let r = Data(base64Encoded: String(parts[3])), r.count == 32 else { return nil }
        return (number, String(parts[2]), String(parts[3]))
    }
}
