import Foundation

/// Why a card or QR code was refused at a venue (API.md denial reasons).
public enum DenialCode: String, Codable, Sendable, CaseIterable {
    case cardNotActive = "card_not_active", cardLost = "card_lost", cardCancelled = "card_cancelled"
    case tokenExpired = "token_expired", tokenInvalid = "token_invalid", tokenReplayed = "token_replayed"
    case unknownIssuer = "unknown_issuer", chipAuthFailed = "chip_auth_failed"
    case itemNotInCatalogue = "item_not_in_catalogue", itemNotAtVenue = "item_not_at_venue"
    case regionNotRecognised = "region_not_recognised", cardFormNotAllowed = "card_form_not_allowed"
    case functionNotLoaded = "function_not_loaded"
    /// An offline gate's refusal: the card or token is to be checked online (a risk action, or the node's incident mode).
    case onlineCheckRequired = "online_check_required"
    /// Another platform's code whose account no card here is linked to (API.md "Codes of other platforms").
    case codeNotLinked = "code_not_linked"
    /// The item requires entitlement codes (a certificate's, a pass) the holder does not hold (API.md `requires`).
    case concessionNotHeld = "concession_not_held"
    /// A QR token listed by `jti` in the revocation list: its card changed, or a certificate behind its `ent` was revoked.
    case tokenRevoked = "token_revoked"
}

/// How a use was presented: a QR token or a physical card at a terminal, an identity check, or a QR token an
/// offline gate decided and uploaded later.
public enum UseKind: String, Codable, Sendable, CaseIterable {
    case qr, card, identityCheck = "identity_check", qrOffline = "qr_offline"
    /// Another platform's code linked to the card (multi-code fusion).
    case partnerQr = "partner_qr"
}

/// The answer a use got: accepted or denied at a venue item; verified or denied at an identity check.
public enum UseDecision: String, Codable, Sendable, CaseIterable {
    case accepted, denied, verified
}

/// How much of a person an identity check showed the venue.
public enum Disclosure: String, Codable, Sendable, CaseIterable {
    case masked, full
}

/// What a credential proves by itself, before any database read: a QR token's signature and expiry, or a chip's
/// answer to a challenge.
public struct VerifiedCredential: Sendable {
    public var form: CardForm
    /// The card it stands for; nil when the credential itself failed.
    public var cardNumber: CardNumber?
    public var failure: DenialCode?
    /// Entitlement codes a QR token carries.
    public var entitlements: [String]
    /// A QR token's id, kept to refuse a replay at the same venue item.
    public var jti: String?
    /// SHA-256 of a card's challenge, kept to refuse its reuse.
    public var challengeHash: String?
    /// Another member region issued it (a QR token verified with the national trust list, or a chip its issuer checked).
    public var foreignIssuer: String?
    /// A foreign QR token's `sub`: only its issuer can open it (the use is reported there).
    public var pseudonym: String?
    /// Another platform's code: its issuer's code, and the catalogue items that issuer's code may be used for.
    public var partnerIssuer: String?
    public var partnerItems: [String]?

    public init(form: CardForm, cardNumber: CardNumber?, failure: DenialCode? = nil, entitlements: [String] = [], jti: String? = nil,
                challengeHash: String? = nil) {
        self.form = form; self.cardNumber = cardNumber; self.failure = failure; self.entitlements = entitlements
        self.jti = jti; self.challengeHash = challengeHash
    }

    /// A credential that failed by itself.
    public static func failed(_ failure: DenialCode, form: CardForm) -> VerifiedCredential {
        VerifiedCredential(form: form, cardNumber: nil, failure: failure)
    }
}

/// Another region's card as this node learns it: from the national revocation list (a QR token) or from its issuer's
/// answer to a chip check (a physical card).
public struct ForeignCard: Sendable, Equatable {
    public var issuerRegion: String
    public var status: CardStatus
    /// The card's functions, when its issuer said (a QR token does not carry them: nil, not refused for it).
    public var transit: Bool?
    public var financial: Bool?
    /// The entitlement codes its issuer derived (a physical card); a QR token carries its own.
    public var entitlements: [String]

    public init(issuerRegion: String, status: CardStatus, transit: Bool? = nil, financial: Bool? = nil, entitlements: [String] = []) {
        self.issuerRegion = issuerRegion; self.status = status; self.transit = transit; self.financial = financial; self.entitlements = entitlements
    }
}

/// Everything the acceptance decision needs, loaded before it is made.
public struct AcceptanceFacts: Sendable {
    public var credential: VerifiedCredential
    /// The card as this node knows it; nil when the credential names no card known here.
    public var card: Card?
    /// Another region's card, when the credential is foreign.
    public var foreign: ForeignCard?
    /// A physical card's holder's entitlements now (`Entitlement.codes`: age, certificates in force, passes); a QR token
    /// carries its own.
    public var holderEntitlements: [String]?
    /// The token or challenge was used before.
    public var replayed: Bool
    public var venue: Venue
    /// The item in the published catalogue, nil if it is not there.
    public var item: CatalogueItem?
    public var today: CalendarDay
    /// What the venue asks the holder to pay (fen), if anything.
    public var amountFen: Int64?
    /// The venue region's concessions (`JurisdictionPolicy.venueConcessions`).
    public var concessions: [VenueConcession]

    public init(credential: VerifiedCredential, card: Card?, foreign: ForeignCard? = nil, holderEntitlements: [String]?, replayed: Bool, venue: Venue,
                item: CatalogueItem?, today: CalendarDay, amountFen: Int64? = nil, concessions: [VenueConcession] = []) {
        self.credential = credential; self.card = card; self.foreign = foreign; self.holderEntitlements = holderEntitlements; self.replayed = replayed
        self.venue = venue; self.item = item; self.today = today; self.amountFen = amountFen; self.concessions = concessions
    }

    /// The issuing region of the card presented, known here or abroad.
    var issuerRegion: String? { card?.issuerRegion ?? foreign?.issuerRegion ?? credential.foreignIssuer }
}

/// The decision on one presentation.
public struct AcceptanceDecision: Sendable, Equatable {
    public var denial: DenialCode?
    /// The card's issuing province differs from the venue's.
    public var crossRegion: Bool
    /// What the venue learns of the holder's entitlements (nothing when denied).
    public var entitlements: [String]
    /// The concession applied (nil when none applies or when denied).
    public var concession: AppliedVenueConcession? = nil
    /// What the holder pays: the amount asked less the concession; 0 when denied or nothing was asked.
    public var chargedFen: Int64 = 0
    public var decision: UseDecision { denial == nil ? .accepted : .denied }
}

/// The acceptance rules: one pure function over loaded facts, and the pieces identity checks and offline uploads
/// share with it, so a card's status means the same refusal everywhere.
public enum AcceptanceRules {
    /// The one mapping from a card's status to the reason it is refused.
    public static func denial(for status: CardStatus) -> DenialCode? {
        switch status {
        case .active: nil
        case .temporarilyLost, .lost: .cardLost
        case .cancelled, .replaced: .cardCancelled
        case .issued: .cardNotActive
        }
    }

    /// Whether the credential stands for a usable card: the credential itself (a card unknown here fails as the
    /// credential would), a replay, the card's status — in that order.
    public static func presentationDenial(credential: VerifiedCredential, card: Card?, foreign: ForeignCard? = nil, replayed: Bool) -> DenialCode? {
        if let failure = credential.failure { return failure }
        guard let status = card?.status ?? foreign?.status else { return credential.form == .physical ? .chipAuthFailed : .tokenInvalid }
        if replayed { return .tokenReplayed }
        return denial(for: status)
    }

    /// Where the node knows the card, the holder's entitlements now (`Entitlement.codes` over age and the certificates in
    /// force: a certificate revoked or expired stops at once, whatever a QR token issued before still says); otherwise a QR
    /// token's own `ent`, or what a foreign card's issuer said.
    public static func entitlements(credential: VerifiedCredential, card: Card?, foreign: ForeignCard? = nil, holderEntitlements: [String]?) -> [String] {
        if card == nil, let foreign { return credential.form == .physical ? foreign.entitlements : credential.entitlements }
        guard card != nil else { return [] }
        if let holderEntitlements { return holderEntitlements }
        return credential.form == .physical ? [] : credential.entitlements
    }

    /// Whether the holder holds every code the item requires (API.md `requires`: "entitlement codes the holder must
    /// hold"); the one check the node and the offline gate make.
    public static func concessionDenial(requires: [String]?, entitlements: [String]) -> DenialCode? {
        (requires ?? []).allSatisfy(entitlements.contains) ? nil : .concessionNotHeld
    }

    /// The acceptance decision: the checks in the fixed order, answering with the first that fails; then the concession
    /// the venue region's pack gives and what the holder pays.
    public static func decide(_ f: AcceptanceFacts) -> AcceptanceDecision {
        let crossRegion = f.issuerRegion.map { isCrossRegion(issuerRegion: $0, venueRegion: f.venue.regionCode) } ?? false
        var denial = presentationDenial(credential: f.credential, card: f.card, foreign: f.foreign, replayed: f.replayed) ?? itemDenial(f)
        let held = Self.entitlements(credential: f.credential, card: f.card, foreign: f.foreign, holderEntitlements: f.holderEntitlements)
        if denial == nil { denial = concessionDenial(requires: f.item?.requires, entitlements: held) }
        guard denial == nil else { return AcceptanceDecision(denial: denial, crossRegion: crossRegion, entitlements: []) }
        return priced(AcceptanceDecision(denial: nil, crossRegion: crossRegion, entitlements: held), venueType: f.venue.type, amountFen: f.amountFen,
                      concessions: f.concessions)
    }

    /// An accepted decision with its concession and the amount charged: `amountFen − concession.amountFen = chargedFen`.
    public static func priced(_ accepted: AcceptanceDecision, venueType: VenueType, amountFen: Int64?, concessions: [VenueConcession]) -> AcceptanceDecision {
        var d = accepted
        let asked = max(0, amountFen ?? 0)
        d.concession = VenueConcessions.best(rules: concessions, entitlements: d.entitlements, venueType: venueType, amountFen: asked)
        d.chargedFen = asked - (d.concession?.amountFen ?? 0)
        return d
    }

    /// Whether the item may be used with this card at this venue.
    static func itemDenial(_ f: AcceptanceFacts) -> DenialCode? {
        // A withdrawn item is absent from the published version; a future one is not yet in force.
        guard let item = f.item, item.effectiveFrom <= f.today else { return .itemNotInCatalogue }
        guard f.venue.itemCodes.contains(item.code) else { return .itemNotAtVenue }
        guard item.isOffered(in: f.venue.regionCode), item.recognises(issuer: f.issuerRegion ?? "") else { return .regionNotRecognised }
        guard item.cardForms.contains(f.credential.form) else { return .cardFormNotAllowed }
        // Another platform's code counts as the electronic card only for the items its issuer was registered for.
        if let allowed = f.credential.partnerItems, !allowed.contains(item.code) { return .cardFormNotAllowed }
        // A foreign QR token does not say which functions its card has: only what an issuer said is held against it.
        let transit = f.card?.transit ?? f.foreign.map { $0.transit ?? true } ?? false
        let financial = f.card?.financial ?? f.foreign.map { $0.financial ?? true } ?? false
        switch item.domain {
        case .transit where !transit: return .functionNotLoaded
        case .finance where !financial, .benefits where !financial: return .functionNotLoaded
        default: return nil
        }
    }

    /// Use across provinces: the card's issuing province differs from the venue's.
    public static func isCrossRegion(issuerRegion: String, venueRegion: String) -> Bool {
        RegionTable.province(of: issuerRegion) != RegionTable.province(of: venueRegion)
    }

    /// What an identity check discloses to a venue of this type: hotels must register the full ID
    /// number and name (hotel registration rules); everyone else sees masked data only.
    public static func disclosure(to type: VenueType) -> Disclosure { type == .hotel ? .full : .masked }

    /// How an offline gate's decision is recorded: the gate's answer stands (the person has passed or not); an
    /// acceptance the node would have refused (`nodeDenial`, e.g. a card reported lost meanwhile) is disputed.
    public static func offlineOutcome(gateAccepted: Bool, nodeDenial: DenialCode?) -> OfflineOutcome {
        gateAccepted && nodeDenial != nil ? .disputed : .recorded
    }
}

/// What became of one decision an offline gate uploaded.
public enum OfflineOutcome: Sendable, Equatable {
    /// Already recorded by an earlier upload.
    case duplicate
    case recorded
    /// Recorded, and accepted where the node would have refused.
    case disputed
}
