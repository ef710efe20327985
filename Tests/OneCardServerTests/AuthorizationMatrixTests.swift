import Foundation
import HTTPTypes
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// Every documented operation × every caller (no token, each staff role, a holder, a terminal): who may call what is
/// written down in `authorization-matrix.json` next to this file, reviewed like code. The test fails when the server's
/// own document disagrees with the table (an operation added, removed or given other roles without the table saying
/// so), and when an operation answers a caller otherwise than the table says: no token → 401 `unauthorized`, a role not
/// listed → 403 `forbidden`, a listed role or a public operation → never 401 or 403 `forbidden` from the role check.
@Suite("Authorization: every operation and every role, from the OpenAPI document")
struct AuthorizationMatrixTests {
    static let tableURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("authorization-matrix.json")

    /// The table: "METHOD /path" → roles (empty: public).
    static func table() throws -> [String: [String]] {
        try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: tableURL))
    }

    /// The document's operations with their `x-roles` (federation operations, signed between nodes, are left out: their
    /// own suite checks signatures).
    static func documented(_ h: Harness) async throws -> [String: [String]] {
        let doc = try await h.call(.get, "/openapi.json").json
        var out: [String: [String]] = [:]
        for (path, item) in doc["paths"] as? [String: [String: Any]] ?? [:] {
            for (method, op) in item {
                guard let op = op as? [String: Any], let roles = op["x-roles"] as? [String], roles != ["peer"] else { continue }
                out["\(method.uppercased()) \(path)"] = roles.sorted()
            }
        }
        return out
    }

    @Test(arguments: Engine.available)
    func everyOperationAnswersEachRoleAsTheTableSays(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: a token for every role
            let documented = try await Self.documented(h)
            if ProcessInfo.processInfo.environment["ONECARD_WRITE_AUTHZ_MATRIX"] == "1" {
                let data = try JSONSerialization.data(withJSONObject: documented, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: Self.tableURL)
            }
            let table = try Self.table()
            let added = Set(documented.keys).subtracting(table.keys).sorted(), removed = Set(table.keys).subtracting(documented.keys).sorted()
            #expect(added.isEmpty, "operations the table does not list (add each with its roles): \(added)")
            #expect(removed.isEmpty, "operations the table lists that no longer exist: \(removed)")
            for (op, roles) in table where documented[op] != nil && documented[op] != roles.sorted() {
                Issue.record("\(op): the table says \(roles.sorted()), the server \(documented[op]!)")
            }

            var tokens: [String: String] = ["admin": h.admin, "agent": h.agent]
            for role in [Role.department, .bank, .auditor] { tokens[role.rawValue] = try await h.signedInStaff("matrix-\(role.rawValue)", role) }
            try await h.createBank()
            tokens["holder"] = try await h.holderWithCard(idNumber: TestIDs.resident(sequence: "641")).0
            try await h.seedCatalogue()
            tokens["terminal"] = try await h.createVenue(type: "library", region: "110101", items: ["JJJ-LIB-001"]).1

            // the action and validation: each operation, each caller, with placeholder path values and an empty body
            var checked = 0
            for (op, roles) in table.sorted(by: { $0.key < $1.key }) {
                let parts = op.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                let path = String(parts[1]).replacingOccurrences(of: #"\{[^}]+\}"#, with: "matrix-x", options: .regularExpression)
                let body: String? = [.post, .put, .patch].contains(method) ? "{}" : nil
                for caller in [nil] + Role.allCases.map(\.rawValue) {
                    let token = caller.flatMap { tokens[$0] }
                    if caller != nil && token == nil { continue }
                    let r = try await h.call(method, path, token: token, body: body)
                    checked += 1
                    let where_ = "\(op) as \(caller ?? "nobody"): \(r)"
                    #expect(r.status < 500, "\(where_)")
                    if roles.isEmpty || (caller.map(roles.contains) ?? false) {
                        #expect(r.status != 401 || r.code == "invalid_credentials", "\(where_)")
                    } else if caller == nil {
                        #expect(r.status == 401 && r.code == "unauthorized", "\(where_)")
                    } else {
                        #expect(r.status == 403 && r.code == "forbidden", "\(where_)")
                    }
                }
            }
            #expect(checked > 500)
        }
    }
}
