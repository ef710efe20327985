import Foundation

/// A read of personal data in clear, or another act the log must keep (who, whom, purpose, when).
public struct AuditEntry: Sendable, Equatable {
    public var seq: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var subject: String
    public var purpose: String?
    public var hash: String

    public init(seq: Int64, at: Date, actor: String, action: String, subject: String, purpose: String?, hash: String) {
        self.seq = seq; self.at = at; self.actor = actor; self.action = action; self.subject = subject; self.purpose = purpose; self.hash = hash
    }
}
