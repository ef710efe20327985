import Foundation

/// An electronic card: bound to one device, following its physical card one to one.
public struct ECard: Sendable, Equatable {
    public enum Status: String, Sendable { case active, suspended }
    public var id: String
    public var personId: Person.ID
    public var cardNumber: CardNumber
    public var deviceId: String
    public var status: Status
    public var issuedAt: Date
    public var updatedAt: Date

    public init(id: String, personId: Person.ID, cardNumber: CardNumber, deviceId: String, status: Status, issuedAt: Date, updatedAt: Date) {
        self.id = id; self.personId = personId; self.cardNumber = cardNumber; self.deviceId = deviceId
        self.status = status; self.issuedAt = issuedAt; self.updatedAt = updatedAt
    }
}
