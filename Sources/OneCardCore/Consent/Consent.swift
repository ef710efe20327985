import Foundation

/// A holder's consent to one processing of their data that needs it (PIPL arts. 13–14: consent informed, specific and
/// withdrawable; art. 15: withdrawing is as easy as giving, and stops the processing from then on, not what was done
/// before). Kept after withdrawal, with when it was withdrawn.
public struct Consent: Sendable, Equatable {
    public enum Purpose: String, Codable, Sendable, CaseIterable {
        /// The yearly pension qualification confirmed from the holder's card use (待遇资格认证, passive).
        case pensionPassiveConfirmation = "pension_passive_confirmation"
        /// A government venue checks a linked e-licence (GD art. 9).
        case elicenceCheck = "elicence_check"
        /// A relative acts for the holder (亲情服务).
        case familyService = "family_service"
        /// A record of the HR&SS file library shown to another party (GD art. 15).
        case recordShare = "record_share"
    }

    public var id: String
    public var personId: Person.ID
    public var purpose: Purpose
    /// Whom it is given to, where the purpose names someone (a relative, an employer); nil: whoever the purpose serves.
    public var grantee: String?
    public var grantedAt: Date
    public var withdrawnAt: Date?

    public init(id: String, personId: Person.ID, purpose: Purpose, grantee: String?, grantedAt: Date, withdrawnAt: Date? = nil) {
        self.id = id; self.personId = personId; self.purpose = purpose; self.grantee = grantee; self.grantedAt = grantedAt; self.withdrawnAt = withdrawnAt
    }

    /// In force at `date`: given by then and not withdrawn by then.
    public func inForce(at date: Date) -> Bool { grantedAt <= date && (withdrawnAt.map { $0 > date } ?? true) }

    /// Whether any of `consents` allows `purpose` (for `grantee`, when one is asked about) at `date`.
    public static func allows(_ consents: [Consent], _ purpose: Purpose, grantee: String? = nil, at date: Date) -> Bool {
        consents.contains { $0.purpose == purpose && $0.inForce(at: date) && ($0.grantee == nil || $0.grantee == grantee) }
    }
}
