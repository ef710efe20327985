import Foundation

public struct StaffUser: Sendable, Equatable {
    public var username: String
    public var passwordHash: String
    public var role: Role
    public var disabled: Bool
    public var createdAt: Date
    public init(username: String, passwordHash: String, role: Role, disabled: Bool, createdAt: Date) {
        self.username = username; self.passwordHash = passwordHash; self.role = role; self.disabled = disabled; self.createdAt = createdAt
    }
}
