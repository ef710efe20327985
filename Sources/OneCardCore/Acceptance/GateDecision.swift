import Foundation

/// A decision an offline gate made and keeps in its journal until the node has it.
public struct GateDecision: Sendable, Equatable {
    public var id: String, itemCode: String, token: String, decidedAt: Date, decision: String, reason: String?
    public init(id: String, itemCode: String, token: String, decidedAt: Date, decision: String, reason: String?) {
        self.id = id; self.itemCode = itemCode; self.token = token; self.decidedAt = decidedAt; self.decision = decision; self.reason = reason
    }
}
