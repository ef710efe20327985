import Foundation

/// The shapes a payment takes on its way from an upload line to the bank (the executor's outbox).
extension Payment {
    /// A line that became a payment, with the account it was checked against.
    public struct New: Sendable {
        public var id: String, line: Int, personId: Person.ID, amountFen: Int64, bankCode: String, account: String
        public init(id: String, line: Int, personId: Person.ID, amountFen: Int64, bankCode: String, account: String) {
            self.id = id; self.line = line; self.personId = personId; self.amountFen = amountFen; self.bankCode = bankCode; self.account = account
        }
    }

    /// What a batch line is checked against: the person found by ID number and their live card.
    public struct Payee: Sendable {
        public var personId: Person.ID, name: String, cardNumber: String?, bankCode: String?, account: String?, financial: Bool
        public init(personId: Person.ID, name: String, cardNumber: String?, bankCode: String?, account: String?, financial: Bool) {
            self.personId = personId; self.name = name; self.cardNumber = cardNumber; self.bankCode = bankCode; self.account = account
            self.financial = financial
        }
    }

    /// A pending payment as the executor reads it.
    public struct Due: Sendable {
        public var id: String, line: Int, personId: Person.ID, amountFen: Int64, attempt: Int, accountFingerprint: String
        public init(id: String, line: Int, personId: Person.ID, amountFen: Int64, attempt: Int, accountFingerprint: String) {
            self.id = id; self.line = line; self.personId = personId; self.amountFen = amountFen; self.attempt = attempt
            self.accountFingerprint = accountFingerprint
        }
    }

    /// A pending payment with the holder's live card's account as it is now (the account it is paid to).
    public struct DueWithCard: Sendable {
        public var due: Due
        /// nil when the holder has no live card.
        public var card: PaymentRouting.CardAccount?
        /// The card's account as stored (sealed for the field `account`), copied to the payment when it is sent.
        public var accountSealed: String?
        /// The risk alert holding this payment until an auditor releases it (issue 17), if any.
        public var riskHold: String?
        public init(due: Due, card: PaymentRouting.CardAccount?, accountSealed: String?, riskHold: String? = nil) {
            self.due = due; self.card = card; self.accountSealed = accountSealed; self.riskHold = riskHold
        }
    }

    /// Where a payment goes, as it is recorded before it is sent: the account sealed and masked as on the card.
    public struct Destination: Sendable {
        public var id: String, bankCode: String, accountSealed: String, accountMasked: String
        public init(id: String, bankCode: String, accountSealed: String, accountMasked: String) {
            self.id = id; self.bankCode = bankCode; self.accountSealed = accountSealed; self.accountMasked = accountMasked
        }
    }

    /// A payment in flight, with what the bank must be told again.
    public struct InFlight: Sendable {
        public var id: String, personId: Person.ID, amountFen: Int64, attempt: Int, bankCode: String, account: String
        public var reference: String { Payment.bankReference(id: id, attempt: attempt) }
        public init(id: String, personId: Person.ID, amountFen: Int64, attempt: Int, bankCode: String, account: String) {
            self.id = id; self.personId = personId; self.amountFen = amountFen; self.attempt = attempt; self.bankCode = bankCode; self.account = account
        }
    }
}
