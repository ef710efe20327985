import Foundation

/// An application for a card, from submission to collection.
public struct CardApplication: Sendable, Equatable {
    public typealias ID = String
    public var id: ID
    public var personId: Person.ID
    public var channel: ApplicationChannel
    public var applyOutletId: Outlet.ID?
    public var pickupOutletId: Outlet.ID?
    public var delivery: Delivery
    public var bankCode: String
    public var status: ApplicationStatus
    public var remote: Bool
    public var submittedAt: Date
    public var dueAt: Date
    public var updatedAt: Date
    public var reason: String?
    /// Set when the card is produced.
    public var cardNumber: CardNumber?

    public init(id: ID, personId: Person.ID, channel: ApplicationChannel, applyOutletId: Outlet.ID?, pickupOutletId: Outlet.ID?,
                delivery: Delivery, bankCode: String, status: ApplicationStatus, remote: Bool, submittedAt: Date, dueAt: Date,
                updatedAt: Date, reason: String? = nil, cardNumber: CardNumber? = nil) {
        self.id = id; self.personId = personId; self.channel = channel; self.applyOutletId = applyOutletId
        self.pickupOutletId = pickupOutletId; self.delivery = delivery; self.bankCode = bankCode; self.status = status
        self.remote = remote; self.submittedAt = submittedAt; self.dueAt = dueAt; self.updatedAt = updatedAt
        self.reason = reason; self.cardNumber = cardNumber
    }
}

/// A physical card.
public struct Card: Sendable, Equatable {
    public var number: CardNumber
    public var identificationCode: String
    public var personId: Person.ID
    public var applicationId: CardApplication.ID?
    public var issuerRegion: String
    public var status: CardStatus
    public var transit: Bool
    public var financial: Bool
    public var bankCode: String?
    /// The bank account in clear; the store keeps it encrypted.
    public var accountNumber: String?
    public var pinHash: String?
    public var issuedAt: Date
    public var expiresAt: Date
    /// When the current loss report was made (for the lapse of a temporary one).
    public var lostAt: Date?
    public var replacedBy: CardNumber?
    public var replaces: CardNumber?

    public init(number: CardNumber, identificationCode: String, personId: Person.ID, applicationId: CardApplication.ID?,
                issuerRegion: String, status: CardStatus, transit: Bool, financial: Bool, bankCode: String?,
                accountNumber: String?, pinHash: String?, issuedAt: Date, expiresAt: Date, lostAt: Date? = nil,
                replacedBy: CardNumber? = nil, replaces: CardNumber? = nil) {
        self.number = number; self.identificationCode = identificationCode; self.personId = personId
        self.applicationId = applicationId; self.issuerRegion = issuerRegion; self.status = status
        self.transit = transit; self.financial = financial; self.bankCode = bankCode; self.accountNumber = accountNumber
        self.pinHash = pinHash; self.issuedAt = issuedAt; self.expiresAt = expiresAt; self.lostAt = lostAt
        self.replacedBy = replacedBy; self.replaces = replaces
    }

    /// Expiry of a card issued at `issuedAt` valid for `years`.
    public static func expiry(issuedAt: Date, years: Int) -> Date {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        return cal.date(byAdding: .year, value: years, to: issuedAt)!
    }
}

/// One change to an application or a card, written in the same transaction as the change.
public struct CardEvent: Sendable, Equatable {
    public var at: Date
    public var type: String
    public var actor: String
    public var channel: String
    public var reason: String?
    public var cardNumber: CardNumber?
    public var applicationId: CardApplication.ID?

    public init(at: Date, type: String, actor: String, channel: String, reason: String?, cardNumber: CardNumber?, applicationId: CardApplication.ID?) {
        self.at = at; self.type = type; self.actor = actor; self.channel = channel; self.reason = reason
        self.cardNumber = cardNumber; self.applicationId = applicationId
    }
}

