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
        try validate(password: password, notEqualTo: [username])
    }

    /// 8 to 128 characters, and not one a guesser tries first: a well-known common password, one character repeated, a
    /// run of consecutive digits or letters, or the account's own name or ID number (`weak_password`; GD art. 17).
    public static func validate(password: String, notEqualTo names: [String] = []) throws(DomainError) {
        guard (8...128).contains(password.count) else { throw .invalidField("password", "8 to 128 characters") }
        let lower = password.lowercased()
        let weak = DomainError(.weakPassword, "the password is one guessers try first (a common password, a run or repeat, or the account's own name or ID number); choose another")
        if commonPasswords.contains(lower) || Set(lower).count == 1 || isRun(lower) { throw weak }
        if names.contains(where: { !$0.isEmpty && $0.lowercased() == lower }) { throw weak }
    }

    /// "12345678", "87654321", "abcdefgh": each character one after or one before the last.
    static func isRun(_ s: String) -> Bool {
        let v = s.unicodeScalars.map(\.value)
        guard v.count >= 2 else { return false }
        let steps = Set(zip(v, v.dropFirst()).map { Int($1) - Int($0) })
        return steps == [1] || steps == [-1]
    }

    /// Passwords of 8 or more characters at the top of published leak lists (international and Chinese), lower-cased.
    static let commonPasswords: Set<String> = [
        "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "12345678", "123456789", "1234567890",
        "11111111", "00000000", "88888888", "66666666", "99999999", "12341234", "11223344", "123123123", "147258369", "987654321",
        "qwertyuiop", "qwerty123", "qwerty12", "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t", "qazwsxedc", "zaq12wsx", "asdfghjkl", "zxcvbnm123",
        "iloveyou", "iloveyou1", "sunshine", "princess", "football", "baseball", "superman", "starwars", "trustno1", "welcome1",
        "welcome123", "letmein1", "computer", "michelle", "jennifer", "whatever", "dragon123", "monkey123", "abc12345", "abcd1234",
        "a1234567", "a12345678", "a123456789", "aa123456", "aa12345678", "123456aa", "123456abc", "admin123", "admin1234", "administrator",
        "root1234", "changeme", "default1", "secret123", "test1234", "guest123", "5201314", "52013145", "5201314520", "1314520520",
        "woaini1314", "woaini520", "wo123456", "qq123456", "qq5201314", "zhang123", "wang1234", "li123456", "liu123456", "chen123456",
        "zxc123456", "asd123456", "qwe123456", "123qweasd", "123456qwe", "1234qwer", "qwer1234", "q1w2e3r4", "a1b2c3d4", "1a2b3c4d",
        "shanghai", "beijing1", "guangzhou", "shenzhen", "china123", "zhongguo", "87654321", "12344321", "1234554321", "11112222",
        "password!", "passport", "sandiego", "football1", "baseball1", "master123", "killer123", "shadow123", "michael1", "charlie1",
    ]
}
