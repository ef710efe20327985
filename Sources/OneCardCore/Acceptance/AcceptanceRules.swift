import Foundation

/// Why a card or QR code was refused at a venue (API.md denial reasons).
public enum DenialCode: String, Codable, Sendable, CaseIterable {
    case cardNotActive = "card_not_active", cardLost = "card_lost", cardCancelled = "card_cancelled"
    case tokenExpired = "token_expired", tokenInvalid = "token_invalid", tokenReplayed = "token_replayed"
    case unknownIssuer = "unknown_issuer", chipAuthFailed = "chip_auth_failed"
    case itemNotInCatalogue = "item_not_in_catalogue", itemNotAtVenue = "item_not_at_venue"
    case regionNotRecognised = "region_not_recognised", cardFormNotAllowed = "card_form_not_allowed"
    case functionNotLoaded = "function_not_loaded"
}

/// What is known when a credential is presented at a venue.
public struct AcceptanceFacts: Sendable {
    public var credentialFailure: DenialCode?
    public var replayed: Bool
    public var cardStatus: CardStatus?
    /// The item in the published catalogue, nil if it is not there.
    public var item: CatalogueItem?
    public var today: CalendarDay
    public var venueRegion: String
    public var venueItemCodes: [String]
    public var issuerRegion: String
    public var form: CardForm
    public var transitLoaded: Bool
    public var financialLoaded: Bool

    public init(credentialFailure: DenialCode?, replayed: Bool, cardStatus: CardStatus?, item: CatalogueItem?, today: CalendarDay,
                venueRegion: String, venueItemCodes: [String], issuerRegion: String, form: CardForm, transitLoaded: Bool, financialLoaded: Bool) {
        self.credentialFailure = credentialFailure; self.replayed = replayed; self.cardStatus = cardStatus; self.item = item
        self.today = today; self.venueRegion = venueRegion; self.venueItemCodes = venueItemCodes; self.issuerRegion = issuerRegion
        self.form = form; self.transitLoaded = transitLoaded; self.financialLoaded = financialLoaded
    }
}

/// The acceptance decision: the checks in the order the issue fixes, answering with the first that fails.
public enum AcceptanceRules {
    public static func decide(_ f: AcceptanceFacts) -> DenialCode? {
        if let failure = f.credentialFailure { return failure }
        if f.replayed { return .tokenReplayed }
        switch f.cardStatus {
        case .active?: break
        case .temporarilyLost?, .lost?: return .cardLost
        case .cancelled?, .replaced?: return .cardCancelled
        case .issued?, nil: return .cardNotActive
        }
        // A withdrawn item is absent from the published version; a future one is not yet in force.
        guard let item = f.item, item.effectiveFrom <= f.today else { return .itemNotInCatalogue }
        guard f.venueItemCodes.contains(item.code) else { return .itemNotAtVenue }
        guard item.isOffered(in: f.venueRegion), item.recognises(issuer: f.issuerRegion) else { return .regionNotRecognised }
        guard item.cardForms.contains(f.form) else { return .cardFormNotAllowed }
        switch item.domain {
        case .transit where !f.transitLoaded: return .functionNotLoaded
        case .finance where !f.financialLoaded, .benefits where !f.financialLoaded: return .functionNotLoaded
        default: return nil
        }
    }

    /// Use across provinces: the card's issuing province differs from the venue's.
    public static func isCrossRegion(issuerRegion: String, venueRegion: String) -> Bool {
        RegionTable.province(of: issuerRegion) != RegionTable.province(of: venueRegion)
    }

    /// What an identity check discloses to a venue of this type: hotels must register the full ID
    /// number and name (hotel registration rules); everyone else sees masked data only.
    public static func disclosesFullIdentity(to type: VenueType) -> Bool { type == .hotel }
}
