import Foundation

/// Family service (亲情服务, wave2-facts §6.2): a holder acts for a relative — shows the relative's QR code, applies for
/// their card, reports it lost, sees their uses — once the relative accepted the link or an agent confirmed
/// guardianship or representation in person (a minor, an elderly parent who cannot use a phone). Never their records.
/// Every act is kept on both persons (`FamilyEvent`) and shown to the relative.
public struct RelativeLink: Sendable, Equatable {
    public enum Relationship: String, Codable, Sendable, CaseIterable { case parent, child, spouse, grandparent, grandchild, sibling }
    public enum Status: String, Codable, Sendable, CaseIterable { case pending, active, declined, removed }
    /// How an agent confirmed a link in person.
    public enum Basis: String, Codable, Sendable, CaseIterable { case guardianship, representation }

    public var id: String
    /// The holder who acts (asked for the link).
    public var holderId: Person.ID
    /// The relative acted for.
    public var relativeId: Person.ID
    /// What the relative is to the holder (the holder's `parent`: the relative is their parent).
    public var relationship: Relationship
    public var status: Status
    /// The agent who confirmed it in person, and on what basis; nil when the relative accepted.
    public var confirmedBy: String?
    public var basis: Basis?
    public var createdAt: Date
    public var changedAt: Date

    public init(id: String, holderId: Person.ID, relativeId: Person.ID, relationship: Relationship, status: Status, confirmedBy: String? = nil,
                basis: Basis? = nil, createdAt: Date, changedAt: Date) {
        self.id = id; self.holderId = holderId; self.relativeId = relativeId; self.relationship = relationship; self.status = status
        self.confirmedBy = confirmedBy; self.basis = basis; self.createdAt = createdAt; self.changedAt = changedAt
    }

    /// Pending and active links count toward the region's limit.
    public var counts: Bool { status == .pending || status == .active }
}

/// The rules of family links, in one place.
public enum FamilyRules {
    /// Preset: 8 relatives per person (a county government page on the e-card, cxs.gov.cn; another source says 10 [U]:
    /// wave2-facts §6.2); a region's
    /// pack may say otherwise (`relativesLimit`).
    public static let defaultLimit = 8

    /// Whether a link of `adding` may be asked for by a holder whose pending and active links are `live`: within the
    /// region's total, and within its cap for that kind of relative where the pack sets caps (WE-R2).
    public static func checkLimit(live: [RelativeLink.Relationship], adding: RelativeLink.Relationship, limit: Int,
                                  caps: RelativeCaps? = nil) throws(DomainError) {
        guard live.count < limit else { throw DomainError(.relativesLimit, "at most \(limit) relatives (pending and active links count)") }
        if let caps {
            let kind = RelativeCaps.Kind(adding), cap = caps.cap(kind)
            guard live.filter({ RelativeCaps.Kind($0) == kind }).count < cap else {
                throw DomainError(.relativesLimit, "at most \(cap) relatives of this kind (\(kind.rawValue)); pending and active links count")
            }
        }
    }

    /// A pending link becomes active by the relative's acceptance or an agent's confirmation; nothing else moves it there.
    public static func activate(_ link: RelativeLink) throws(DomainError) {
        guard link.status == .pending else { throw DomainError(.invalidTransition, "the link is \(link.status.rawValue), not pending") }
    }
}

/// One act of family service, kept on both persons and shown to both.
public struct FamilyEvent: Sendable, Equatable {
    public var id: String
    public var linkId: String
    public var holderId: Person.ID
    public var relativeId: Person.ID
    /// `link_requested`, `link_accepted`, `link_declined`, `link_confirmed`, `link_removed`, `qr_issued`, `uses_read`,
    /// `card_applied`, `card_reported_lost`.
    public var action: String
    public var actor: String
    public var at: Date

    public init(id: String, linkId: String, holderId: Person.ID, relativeId: Person.ID, action: String, actor: String, at: Date) {
        self.id = id; self.linkId = linkId; self.holderId = holderId; self.relativeId = relativeId; self.action = action; self.actor = actor; self.at = at
    }
}

/// Caps per kind of relative, where a region sets them (wave2-facts §6.2: one source gives 10 slots with at most 4 elderly,
/// 3 children, 1 spouse and 2 others [U]); the pack's `relativeCaps`, absent by default.
public struct RelativeCaps: Codable, Sendable, Equatable {
    public var elderly: Int, children: Int, spouse: Int, others: Int

    public init(elderly: Int, children: Int, spouse: Int, others: Int) {
        self.elderly = elderly; self.children = children; self.spouse = spouse; self.others = others
    }

    /// Parents and grandparents are elderly, children and grandchildren children; siblings are others.
    public enum Kind: String, Sendable {
        case elderly, children, spouse, others
        public init(_ r: RelativeLink.Relationship) {
            switch r {
            case .parent, .grandparent: self = .elderly
            case .child, .grandchild: self = .children
            case .spouse: self = .spouse
            case .sibling: self = .others
            }
        }
    }

    public func cap(_ kind: Kind) -> Int {
        switch kind { case .elderly: elderly; case .children: children; case .spouse: spouse; case .others: others }
    }

    public func validate() throws(DomainError) {
        guard [elderly, children, spouse, others].allSatisfy({ (0...20).contains($0) }) else { throw .invalidField("relativeCaps", "0 to 20 each") }
    }
}
