import Foundation

public struct StaffUser: Sendable, Equatable {
    public var username: String
    public var passwordHash: String
    public var role: Role
    public var disabled: Bool
    public var createdAt: Date
    /// A department user's scope: which certificates, records or insured persons it may write (API.md "Entitlements and records").
    public var scope: DepartmentScope?
    public init(username: String, passwordHash: String, role: Role, disabled: Bool, createdAt: Date, scope: DepartmentScope? = nil) {
        self.username = username; self.passwordHash = passwordHash; self.role = role; self.disabled = disabled; self.createdAt = createdAt
        self.scope = scope
    }
}

/// The department a `department` user works for; each certificate or record type needs its scope (403 otherwise).
public enum DepartmentScope: String, Codable, Sendable, CaseIterable {
    case civilAffairs = "civil_affairs"
    case disabledPersonsFederation = "disabled_persons_federation"
    case veteransAffairs = "veterans_affairs"
    case hrss
    /// Medical insured persons (`PUT /medical/insureds/{personId}`).
    case medicalSecurity = "medical_security"
    case publicSecurity = "public_security"
}
