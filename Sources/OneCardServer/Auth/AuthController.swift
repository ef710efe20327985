import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Sign-in for staff and holders, holder sign-up, and staff user management.
struct AuthController {
    let accounts: AccountService

    struct TokenInput: Decodable { let username: String; let password: String }
    struct HolderInput: Decodable { let idType: String; let idNumber: String; let name: String; let phone: String; let password: String }
    struct HolderTokenInput: Decodable { let idNumber: String; let password: String }
    struct UserInput: Decodable { let username: String; let password: String; let role: String; let scope: DepartmentScope? }

    struct UserView: Encodable, Sendable {
        static let schema = Schema.named("StaffUser", .object([
                ("username", .text), ("role", .string(values: Role.staff.map(\.rawValue))), ("disabled", .boolean), ("createdAt", .dateTime),
                ("scope", .oneOf(DepartmentScope.self)),
            ], required: ["username", "role", "disabled", "createdAt"]))

        let username: String, role: String, disabled: Bool, createdAt: String, scope: DepartmentScope?
        init(_ u: StaffUser) {
            username = u.username; role = u.role.rawValue; disabled = u.disabled; createdAt = Timestamp.format(u.createdAt); scope = u.scope
        }
    }

    func register(_ api: API) {
        api.add(.post,   "/api/v1/auth/token",        roles: .anyone,  staffToken)
        api.add(.post,   "/api/v1/holders",           roles: .anyone,  signUpHolder)
        api.add(.post,   "/api/v1/auth/holder-token", roles: .anyone,  holderToken)
        api.add(.post,   "/api/v1/users",             roles: [.admin], createUser)
        api.add(.get,    "/api/v1/users",             roles: [.admin], listUsers)
        api.add(.delete, "/api/v1/users/{username}",  roles: [.admin], disableUser)
    }

    // MARK: handlers

    var staffToken: Handler {
        Handler("Staff sign-in",
                tag: "auth",
                request: .object([("username", .text), ("password", .text)], required: ["username", "password"]),
                success: (200, "A bearer token", Docs.session),
                errors: [.invalidCredentials, .tooManyAttempts]) { request, context in
            let i = try await request.decodeJSON(as: TokenInput.self, context: context)
            return JSONResponse(try await accounts.staffToken(username: i.username, password: i.password))
        }
    }

    var signUpHolder: Handler {
        Handler("A resident opens an online account",
                tag: "auth",
                request: .object([("idType", .oneOf(IDType.self)), ("idNumber", .text), ("name", .line(64)), ("phone", Docs.phone),
                                  ("password", .text(8, 128))],
                    required: ["idType", "idNumber", "name", "phone", "password"]),
                success: (201, "Account opened", .object([("personId", .text)], required: ["personId"])),
                errors: [.identityMismatch, .invalidIdNumber, .holderExists, .weakPassword]) { request, context in
            let i = try await request.decodeJSON(as: HolderInput.self, context: context)
            let p = try await accounts.signUpHolder(idType: try parseEnum(i.idType, "idType"), idNumber: i.idNumber, name: i.name,
                                                             phone: i.phone, password: i.password)
            return JSONResponse(["personId": p.id.rawValue], status: .created)
        }
    }

    var holderToken: Handler {
        Handler("Holder sign-in",
                tag: "auth",
                request: .object([("idNumber", .text), ("password", .text)], required: ["idNumber", "password"]),
                success: (200, "A bearer token with role holder", Docs.session),
                errors: [.invalidCredentials, .tooManyAttempts]) { request, context in
            let i = try await request.decodeJSON(as: HolderTokenInput.self, context: context)
            return JSONResponse(try await accounts.holderToken(idNumber: i.idNumber, password: i.password))
        }
    }

    var createUser: Handler {
        Handler("Create a staff user",
                tag: "users",
                request: .object([("username", .string(pattern: "^[A-Za-z0-9._-]{3,64}$")), ("password", .text(8, 128)),
                                  ("role", .string(values: Role.staff.map(\.rawValue))), ("scope", .oneOf(DepartmentScope.self))],
                    required: ["username", "password", "role"]),
                success: (201, "Created (a department user with its scope)", UserView.schema),
                errors: [.userExists, .weakPassword, .scopeNotAllowed]) { request, context in
            let i = try await request.decodeJSON(as: UserInput.self, context: context)
            guard let role = Role(rawValue: i.role), Role.staff.contains(role) else {
                throw DomainError(.invalidValue, "role: one of \(Role.staff.map(\.rawValue).joined(separator: ", "))")
            }
            let u = try await accounts.createStaff(username: i.username, password: i.password, role: role, scope: i.scope,
                                                   by: context.identity!.actor)
            return JSONResponse(UserView(u), status: .created)
        }
    }

    var listUsers: Handler {
        Handler("Staff users",
                tag: "users",
                success: (200, "Users", .object([("users", .array(UserView.schema))], required: ["users"]))) { _, _ in
            let users = try await accounts.staffUsers()
            return JSONResponse(["users": users.map(UserView.init)])
        }
    }

    var disableUser: Handler {
        Handler("Disable a staff user (the record stays for audit)",
                tag: "users",
                success: (200, "Disabled", UserView.schema),
                errors: [.userNotFound, .cannotDisableSelf]) { _, context in
            let name = context.parameters.get("username") ?? ""
            return JSONResponse(UserView(try await accounts.disableStaff(username: name, by: context.identity!)))
        }
    }

    /// Schemas, roles and error lists several handlers share.
    enum Docs {
        /// 5 to 20 digits, `+` or `-` (`Person.validate`).
        static let phone = Schema.string(pattern: "^[0-9+-]{5,20}$")
        static let session = Schema.named("Session", .object([
                ("accessToken", .text), ("tokenType", .string(values: ["Bearer"])), ("expiresIn", .integer), ("role", .oneOf(Role.self)),
            ], required: ["accessToken", "tokenType", "expiresIn", "role"]))
    }
}
