/// Who is calling. Staff roles are created by an administrator; holders sign up; terminals use API keys.
public enum Role: String, Codable, Sendable, CaseIterable {
    case admin, agent, department, bank, auditor, holder, terminal

    /// The roles an administrator may create as staff accounts.
    public static let staff: [Role] = [.admin, .agent, .department, .bank, .auditor]
}

/// Validates a staff username and password as they are created.
public enum Credentials {
    public static func validate(username: String, password: String) throws(DomainError) {
        guard (3...64).contains(username.count),
              username.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
        else { throw .invalidField("username", "3 to 64 letters, digits, '.', '_' or '-'") }
        try validate(password: password)
    }

    public static func validate(password: String) throws(DomainError) {
        guard (8...128).contains(password.count) else { throw .invalidField("password", "8 to 128 characters") }
    }
}
