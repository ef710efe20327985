import Foundation
import OneCardCore
import OneCardStore

/// Staff accounts, holder sign-up and sign-in.
struct AccountService: Sendable {
    let store: Store
    let clock: Clock
    let passwords: PasswordHasher
    let sessions: SessionTokens

    struct Session: Encodable, Sendable {
        let accessToken: String
        let tokenType = "Bearer"
        let expiresIn: Int
        let role: String
    }

    static let invalidCredentials = DomainError(.invalidCredentials, "the username or password is wrong")

    func createStaff(username: String, password: String, role: Role, scope: DepartmentScope? = nil, by actor: String) async throws -> StaffUser {
        try Credentials.validate(username: username, password: password)
        guard Role.staff.contains(role) else {
            throw DomainError(.invalidValue, "role: one of \(Role.staff.map(\.rawValue).joined(separator: ", "))")
        }
        if scope != nil, role != .department { throw DomainError(.scopeNotAllowed, "only a department user has a scope") }
        let user = StaffUser(username: username, passwordHash: try await passwords.hash(password), role: role,
                             disabled: false, createdAt: clock.now(), scope: scope)
        do {
            try await store.write { s in
                try await s.users.insert(user)
                try await s.audit.append(at: user.createdAt, actor: actor, action: "staff_user_created", subject: "user:\(username)", purpose: role.rawValue)
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.userExists, "a user named \(username) exists")
        }
        return user
    }

    /// Every staff user, disabled ones too.
    func staffUsers() async throws -> [StaffUser] {
        try await store.read { try await $0.users.list() }
    }

    func disableStaff(username: String, by admin: Identity) async throws -> StaffUser {
        guard username != admin.subject else {
            throw DomainError(.cannotDisableSelf, "an administrator cannot disable their own account")
        }
        let actor = admin.actor
        return try await store.write { s in
            guard var user = try await s.users.find(username) else { throw DomainError(.userNotFound, "no user named \(username)") }
            try await s.users.disable(username)
            try await s.audit.append(at: clock.now(), actor: actor, action: "staff_user_disabled", subject: "user:\(username)", purpose: nil)
            user.disabled = true
            return user
        }
    }

    func staffToken(username: String, password: String) async throws -> Session {
        try await throttled("staff:" + username.lowercased()) {
            guard let user = try await store.read({ try await $0.users.find(username) }), !user.disabled,
                  try await passwords.verify(password, hash: user.passwordHash)
            else { throw Self.invalidCredentials }
            return try await session(Identity(subject: user.username, role: user.role, personId: nil, scope: user.scope))
        }
    }

    /// Runs a sign-in for `account` unless too many failed lately (429 `too_many_attempts` with the seconds left), and
    /// counts its failure or clears the count on success (`SignInThrottle`, kept in the store so every process sees it).
    private func throttled(_ account: String, _ attempt: () async throws -> Session) async throws -> Session {
        let now = clock.now()
        let throttle = SignInThrottle()
        let (key, state) = try await store.read { s in
            let key = s.signInAttempts.key(account)
            return (key, try await s.signInAttempts.state(key))
        }
        if let until = throttle.lockedUntil(state, now: now) {
            let seconds = Int(until.timeIntervalSince(now).rounded(.up))
            throw DomainError(.tooManyAttempts, "too many failed sign-ins for this account; try again in \(seconds) s", extensions: ["retryAfter": String(seconds)])
        }
        do {
            let session = try await attempt()
            if state != nil { try await store.write { try await $0.signInAttempts.clear(key) } }
            return session
        } catch let e as DomainError where e.code == .invalidCredentials {
            try await store.write { s in try await s.signInAttempts.save(key, throttle.afterFailure(try await s.signInAttempts.state(key), now: now)) }
            throw e
        }
    }

    /// A resident opens an online account; the person must be registered with exactly that name.
    func signUpHolder(idType: IDType, idNumber: String, name: String, phone: String, password: String) async throws -> Person {
        try Credentials.validate(password: password, notEqualTo: [idNumber, phone, name])
        let number = try IdentityNumber(idNumber, type: idType, today: CalendarDay(clock.now()))
        let mismatch = DomainError(.identityMismatch, "no registered person has that ID number and name")
        guard let person = try await store.read({ try await $0.persons.find(idNumber: number.value) }),
              person.name == name.trimmingCharacters(in: .whitespaces), person.idNumber.type == idType
        else { throw mismatch }
        let hash = try await passwords.hash(password)
        do {
            try await store.write { s in try await s.holders.insert(personId: person.id, passwordHash: hash, at: clock.now()) }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.holderExists, "this person already has an online account")
        }
        return person
    }

    func holderToken(idNumber: String, password: String) async throws -> Session {
        try await throttled("holder:" + idNumber.uppercased()) {
            let (person, hash) = try await store.read { s -> (Person?, String?) in
                guard let p = try await s.persons.find(idNumber: idNumber.uppercased()) else { return (nil, nil) }
                return (p, try await s.holders.passwordHash(personId: p.id))
            }
            guard let person, let hash, try await passwords.verify(password, hash: hash) else { throw Self.invalidCredentials }
            return try await session(Identity(subject: person.id.rawValue, role: .holder, personId: person.id))
        }
    }

    private func session(_ identity: Identity) async throws -> Session {
        Session(accessToken: try await sessions.issue(for: identity), expiresIn: Int(sessions.lifetime), role: identity.role.rawValue)
    }
}

extension AppServices {
    /// Creates a staff user from the command line (the first administrator is made this way).
    public func createStaffUser(username: String, password: String, role: Role, scope: DepartmentScope? = nil) async throws -> StaffUser {
        try await accounts.createStaff(username: username, password: password, role: role, scope: scope, by: "cli")
    }
}
