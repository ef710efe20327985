import Foundation

/// One recorded answer at a venue: an acceptance (accepted or denied) or an identity check.
public struct UseRecord: Sendable, Equatable {
    public var id: String
    public var terminalId: Terminal.ID
    public var idempotencyKey: String
    public var venueId: Venue.ID
    public var itemCode: String
    public var kind: UseKind
    public var decision: UseDecision
    public var reason: String?
    public var cardNumber: CardNumber?
    public var personId: Person.ID?
    public var crossRegion: Bool
    public var chargedFen: Int64
    public var disclosed: Disclosure?
    public var at: Date
    /// The JSON answer given, returned again for a repeated Idempotency-Key.
    public var response: String
    /// When the node recorded it, if later than `at` (an offline gate's upload); the risk monitor reads in this order.
    public var recordedAt: Date? = nil
    /// The concession the holder got, with its basis (shown among the holder's uses).
    public var concession: AppliedVenueConcession? = nil

    public init(id: String, terminalId: Terminal.ID, idempotencyKey: String, venueId: Venue.ID, itemCode: String, kind: UseKind, decision: UseDecision,
                reason: String?, cardNumber: CardNumber?, personId: Person.ID?, crossRegion: Bool, chargedFen: Int64, disclosed: Disclosure?, at: Date, response: String) {
        self.id = id; self.terminalId = terminalId; self.idempotencyKey = idempotencyKey; self.venueId = venueId; self.itemCode = itemCode
        self.kind = kind; self.decision = decision; self.reason = reason; self.cardNumber = cardNumber; self.personId = personId
        self.crossRegion = crossRegion; self.chargedFen = chargedFen; self.disclosed = disclosed; self.at = at; self.response = response
    }
}

/// What replay checks are kept by: a QR token is accepted once per venue item, a challenge used once per card.
extension UseRecord {
    /// A QR token's acceptance at one venue item.
    public struct TokenUse: Hashable, Sendable {
        public var jti: String, venueId: Venue.ID, itemCode: String
        public init(jti: String, venueId: Venue.ID, itemCode: String) { self.jti = jti; self.venueId = venueId; self.itemCode = itemCode }
    }

    /// A card's answer to one challenge.
    public struct ChallengeUse: Hashable, Sendable {
        public var cardNumber: CardNumber, challengeHash: String
        public init(cardNumber: CardNumber, challengeHash: String) { self.cardNumber = cardNumber; self.challengeHash = challengeHash }
    }
}
