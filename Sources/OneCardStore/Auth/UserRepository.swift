import Foundation
import OneCardCore
import SQLKit

/// Staff accounts. A disabled account stays for the audit trail.
public struct UserRepository: Sendable {
    let db: any SQLDatabase

    public func insert(_ u: StaffUser) async throws {
        try await db.raw("""
            INSERT INTO staff_users (username, password_hash, role, disabled, created_at, scope)
            VALUES (\(bind: u.username), \(bind: u.passwordHash), \(bind: u.role.rawValue), \(bind: u.disabled.int), \(bind: u.createdAt.millis),
                    \(bind: u.scope?.rawValue))
            """).run()
    }

    public func find(_ username: String) async throws -> StaffUser? {
        try await db.raw("SELECT * FROM staff_users WHERE username = \(bind: username)").first().map(Self.decode)
    }

    public func list() async throws -> [StaffUser] {
        try await db.raw("SELECT * FROM staff_users ORDER BY username").all().map(Self.decode)
    }

    public func count() async throws -> Int {
        Int(try await db.raw("SELECT COUNT(*) AS n FROM staff_users").first()?.int("n") ?? 0)
    }

    public func disable(_ username: String) async throws {
        try await db.raw("UPDATE staff_users SET disabled = 1 WHERE username = \(bind: username)").run()
    }

    static func decode(_ r: any SQLRow) throws -> StaffUser {
        StaffUser(username: try r.string("username"), passwordHash: try r.string("password_hash"),
                  role: Role(rawValue: try r.string("role")) ?? .auditor, disabled: try r.bool("disabled"), createdAt: try r.date("created_at"),
                  scope: try r.optionalString("scope").flatMap(DepartmentScope.init(rawValue:)))
    }
}

/// Residents' online accounts (one per person).
public struct HolderAccountRepository: Sendable {
    let db: any SQLDatabase

    public func insert(personId: Person.ID, passwordHash: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO holder_accounts (person_id, password_hash, created_at) VALUES (\(bind: personId), \(bind: passwordHash), \(bind: at.millis))
            """).run()
    }

    public func passwordHash(personId: Person.ID) async throws -> String? {
        try await db.raw("SELECT password_hash FROM holder_accounts WHERE person_id = \(bind: personId)").first()?.string("password_hash")
    }
}

/// Failed sign-ins per account.
public struct SignInAttemptRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    /// The key an account's failures are kept under: a blind index of its kind and name.
    public func key(_ account: String) -> String { cipher.blindIndex(account, field: "sign_in") }

    public func state(_ key: String) async throws -> SignInThrottle.State? {
        try await db.raw("SELECT * FROM sign_in_attempts WHERE account_key = \(bind: key)").first().map {
            SignInThrottle.State(failures: Int(try $0.int("failures")), firstAt: try $0.date("first_at"), lockedUntil: try $0.optionalDate("locked_until"))
        }
    }

    public func save(_ key: String, _ s: SignInThrottle.State) async throws {
        try await db.raw("""
            INSERT INTO sign_in_attempts (account_key, failures, first_at, locked_until)
            VALUES (\(bind: key), \(bind: Int64(s.failures)), \(bind: s.firstAt.millis), \(bind: s.lockedUntil?.millis))
            ON CONFLICT (account_key) DO UPDATE SET failures = excluded.failures, first_at = excluded.first_at, locked_until = excluded.locked_until
            """).run()
    }

    public func clear(_ key: String) async throws {
        try await db.raw("DELETE FROM sign_in_attempts WHERE account_key = \(bind: key)").run()
    }
}
