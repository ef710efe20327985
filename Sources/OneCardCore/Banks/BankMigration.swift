import Foundation

/// A terminated bank's migration plan and the cards it moves.
public struct BankMigration: Sendable, Equatable {
    public enum Status: String, Sendable { case open, applied }
    public var bankCode: String
    public var successorCode: String
    public var chooseBy: Date
    public var status: Status
    public var createdAt: Date
    public var appliedAt: Date?

    public init(bankCode: String, successorCode: String, chooseBy: Date, status: Status, createdAt: Date, appliedAt: Date?) {
        self.bankCode = bankCode; self.successorCode = successorCode; self.chooseBy = chooseBy; self.status = status
        self.createdAt = createdAt; self.appliedAt = appliedAt
    }
}

extension BankMigration {
    /// A card the plan moves, and where it stands.
    public struct Card: Sendable, Equatable {
        public var cardNumber: CardNumber, personId: Person.ID, status: MigrationCardStatus, newBankCode: String?

        public init(cardNumber: CardNumber, personId: Person.ID, status: MigrationCardStatus, newBankCode: String?) {
            self.cardNumber = cardNumber; self.personId = personId; self.status = status; self.newBankCode = newBankCode
        }
    }
}
