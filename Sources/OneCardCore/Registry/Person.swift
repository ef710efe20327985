import Foundation

/// A registered person. Personal fields are plaintext here; the store encrypts them at rest.
public struct Person: Sendable, Equatable {
    public typealias ID = Identifier<Person>
    public var id: ID
    public var idNumber: IdentityNumber
    public var name: String
    public var phone: String
    public var address: String?
    public var createdAt: Date

    public init(id: ID, idNumber: IdentityNumber, name: String, phone: String, address: String?, createdAt: Date) {
        self.id = id; self.idNumber = idNumber; self.name = name; self.phone = phone; self.address = address; self.createdAt = createdAt
    }

    /// Validates the free-text fields a person is registered with.
    public static func validate(name: String, phone: String, address: String?) throws(DomainError) {
        try TextRule.check(name, "name", max: 64, notBlank: true, oneLine: true)
        guard (5...20).contains(phone.count), phone.allSatisfy({ $0.isASCIIDigit || $0 == "+" || $0 == "-" }) else {
            throw .invalidField("phone", "5 to 20 digits")
        }
        if let address { try TextRule.check(address, "address", min: 0, max: 200) }
    }
}
