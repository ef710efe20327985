import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// The published `/openapi.json` checked against what the server really answers. Every reply that goes
/// through `Harness.call` (in every server suite) is checked against the document; these tests add the
/// checker's own test, the strict mode for undocumented codes, 405 with `Allow`, and one story that
/// reaches every documented operation.
@Suite("The OpenAPI document against real responses")
struct ContractTests {
    @Test func theCheckerCatchesAViewThatDriftsFromItsSchema() async throws {
        try await Harness.run(.sqlite) { h in
            func check(_ body: String, status: Int = 200, type: String = "application/json") -> [String] {
                h.contract.check(method: "GET", path: "/health", status: status, contentType: type, body: Data(body.utf8))
            }
            #expect(check(#"{"status":"ok"}"#).isEmpty)
            #expect(check(#"{"status":1}"#).first?.contains("expected string") == true)
            #expect(check(#"{}"#).first?.contains("required property status") == true)
            #expect(check(#"{"status":"ok","extra":true}"#).first?.contains("property extra is not in the schema") == true)
            #expect(check(#"{"status":"ok"}"#, status: 418).first?.contains("status 418 is not documented") == true)
            #expect(check("ok", type: "text/plain").first?.contains("content type text/plain") == true)
            // Enumerations, formats, nullable alternatives and references are checked through `$ref`.
            let card = #"{"cardNumber":"x","status":"misplaced","issuerRegion":"110000","personId":"p","functions":{"transit":true,"financial":true},"bankCode":"ICBC","accountMasked":null,"issuedAt":"yesterday","expiresAt":"2030-01-01T00:00:00Z"}"#
            let issues = h.contract.check(method: "GET", path: "/api/v1/cards/123", status: 200, contentType: "application/json", body: Data(card.utf8))
            #expect(issues.contains { $0.contains("\"misplaced\" is not one of") }, "\(issues)")
            #expect(issues.contains { $0.contains("not an RFC 3339 date-time") }, "\(issues)")
        }
    }

    /// A tiny API whose handler throws a code it does not document.
    static func tinyAPI(strict: Bool) -> Router<AppContext> {
        let router = Router(context: AppContext.self)
        router.add(middleware: ProblemMiddleware())
        let api = API(router: router, strictContract: strict)
        api.add(Endpoint(method: .get, path: "/t/{id}", summary: "test", tag: "t", roles: nil, success: (200, "ok", nil),
                         errors: [.cardNotFound])) { _, context in
            if context.parameters.get("id") == "card" { throw DomainError(.cardNotFound, "no such card") }
            throw DomainError(.personNotFound, "no such person")  // not in `errors`
            return HTTPResponse.Status.ok
        }
        return router
    }

    @Test func anUndocumentedCodeFailsInStrictModeAndIsOnlyLoggedOtherwise() async throws {
        try await Application(router: Self.tinyAPI(strict: true)).test(.router) { client in
            let documented = try await client.execute(uri: "/t/card", method: .get)
            #expect(documented.status == .notFound && String(buffer: documented.body).contains("card_not_found"))
            let undocumented = try await client.execute(uri: "/t/person", method: .get)
            #expect(undocumented.status == .internalServerError, "\(String(buffer: undocumented.body))")
            #expect(String(buffer: undocumented.body).contains("\"code\":\"undocumented_error\""))
            #expect(String(buffer: undocumented.body).contains("person_not_found"))
        }
        try await Application(router: Self.tinyAPI(strict: false)).test(.router) { client in
            let r = try await client.execute(uri: "/t/person", method: .get)
            #expect(r.status == .notFound && String(buffer: r.body).contains("person_not_found"))
        }
        #expect(try ServerConfiguration.strictContract(environment: ["ONECARD_STRICT_CONTRACT": "1"]))
        #expect(try !ServerConfiguration.strictContract(environment: [:]))
        #expect(throws: ConfigurationErrorMatcher.self) { try ConfigurationErrorMatcher.wrap { try ServerConfiguration.strictContract(environment: ["ONECARD_STRICT_CONTRACT": "yes"]) } }
    }

    @Test func aMethodAPathDoesNotServeIs405WithAllow() async throws {
        try await Harness.run(.sqlite) { h in
            let r = try await h.call(.put, "/api/v1/banks", token: h.admin, body: "{}")
            #expect(r.status == 405 && r.code == "method_not_allowed" && r.contentType == "application/problem+json", "\(r)")
            let raw = try await h.client.execute(uri: "/api/v1/cards/12345", method: .delete, headers: [.authorization: "Bearer \(h.agent)"])
            #expect(raw.status == .methodNotAllowed && raw.headers[.allow] == "GET", "\(raw.headers)")
            let banks = try await h.client.execute(uri: "/api/v1/banks", method: .delete)
            #expect(banks.headers[.allow] == "GET, POST")
            // Unknown paths stay 404; the pages on the same router still answer.
            #expect(try await h.call(.delete, "/api/v1/no-such-thing", token: h.admin).status == 404)
            #expect(try await h.call(.get, "/api/v1/cards", token: h.admin).status == 404)
            #expect(try await h.client.execute(uri: "/signin", method: .get).status == .ok)
            #expect(try await h.client.execute(uri: "/signin", method: .delete).status == .notFound)
        }
    }

    @Test func everyOperationNamesItsRolesAndItsQueryParametersExactly() async throws {
        try await Harness.run(.sqlite) { h in
            let doc = try await h.call(.get, "/openapi.json")
            let paths = try #require(doc["paths"] as? [String: [String: [String: Any]]])
            for (path, ops) in paths {
                for (method, op) in ops {
                    let roles = op["x-roles"] as? [String]
                    #expect(roles != nil, "\(method) \(path) has no x-roles")
                    // A federation operation is called by a peer proven by its RFC 9421 signature, not by a bearer token.
                    let signed = op["x-signature"] != nil
                    #expect(!signed || roles == ["peer"], "\(method) \(path): a signed operation is for peers")
                    #expect(signed || (roles?.isEmpty ?? true) == (op["security"] == nil), "\(method) \(path): x-roles and security disagree")
                    for p in op["parameters"] as? [[String: Any]] ?? [] where p["in"] as? String == "query" {
                        let schema = p["schema"] as? [String: Any] ?? [:]
                        #expect(schema["type"] as? String != "string" || schema["enum"] != nil || schema["pattern"] != nil,
                                "\(method) \(path) ?\(p["name"] ?? ""): a free string")
                    }
                }
            }
            #expect(paths["/api/v1/users"]?["post"]?["x-roles"] as? [String] == ["admin"])
            #expect(paths["/api/v1/outlets"]?["get"]?["x-roles"] as? [String] == [])
            // The server refuses what the document refuses.
            #expect(try await h.call(.get, "/api/v1/trust/revocations?since=").code == "invalid_value")
            #expect(try await h.call(.get, "/api/v1/catalogue?format=xml").code == "invalid_value")
            #expect(try await h.call(.get, "/api/v1/card-applications?status=lost", token: h.agent).code == "invalid_value")
            #expect(try await h.call(.get, "/api/v1/card-applications?status=submitted,approved", token: h.agent).status == 200)
            // A property the schema does not make nullable is refused as null (it used to be read as absent).
            try await h.createBank("ICBC")
            let null = try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, body: #"{"status":null,"endpoint":"http://127.0.0.1:1"}"#)
            #expect(null.status == 422 && null.code == "invalid_field", "\(null)")
            #expect(try await h.call(.patch, "/api/v1/banks/ICBC", token: h.admin, body: #"{"endpoint":"http://127.0.0.1:1"}"#).status == 200)
            // Also in a body whose schema is a named component (schemathesis found `endpoint: null` accepted here).
            let named = try await h.call(.post, "/api/v1/banks", token: h.admin,
                                         body: #"{"code":"BOC","name":"中国银行","agreementFrom":"2024-01-01","agreementTo":"2030-01-01","endpoint":null}"#)
            #expect(named.status == 422 && named.code == "invalid_field", "\(named)")
        }
    }
}

/// `#expect(throws:)` needs an `Error` type to match; the configuration error is wrapped in this.
struct ConfigurationErrorMatcher: Error {
    static func wrap(_ body: () throws -> Bool) throws {
        do { _ = try body() } catch { throw ConfigurationErrorMatcher() }
    }
}
