import Foundation

/// A notice to a holder about their money: a payment that failed or came back, a payment to an account that changed,
/// their bank's termination and the migration that followed, the pension qualification check and payments it held (GD art. 8: pay to the changed account and tell the holder). Stored as a kind and its
/// parameters; the words are written in the reader's language when it is shown.
public struct HolderNotice: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case paymentFailed = "payment_failed", accountChanged = "account_changed", paymentReturned = "payment_returned"
        case bankTerminated = "bank_terminated", bankMigrated = "bank_migrated"
        /// The pension qualification check is due soon (or overdue), and how to confirm.
        case pensionCheckDue = "pension_check_due"
        /// A pension payment held because the check is overdue.
        case pensionHeld = "pension_held"
        /// Confirmed: held pension released as back pay (and any beyond the region's back-pay limit named).
        case pensionResumed = "pension_resumed"
    }

    public var seq: Int64
    public var at: Date
    public var kind: Kind
    public var parameters: [String: String]
    public var paymentId: String?

    public init(seq: Int64, at: Date, kind: Kind, parameters: [String: String], paymentId: String?) {
        self.seq = seq; self.at = at; self.kind = kind; self.parameters = parameters; self.paymentId = paymentId
    }

    /// The parameters as stored: JSON with sorted keys.
    public static func encode(_ parameters: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(parameters), as: UTF8.self)
    }
}
