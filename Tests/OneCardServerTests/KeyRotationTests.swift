import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import SQLKit
import Testing
@testable import OneCardServer

@Suite("Key rotation without downtime: the session-signing key and the personal-data key (issue 17)")
struct KeyRotationTests {
    @Test(arguments: Engine.available)
    func personalDataIsSealedUnderTheNewKeyAndTheRestReSealedInTheBackground(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let before = try await h.createPerson(idNumber: TestIDs.resident(sequence: "671"), name: "李四")  // ID number, name, phone: 3 values
            #expect(try await h.call(.post, "/api/v1/keys/rotate", token: h.agent, json: ["key": "personal_data"]).status == 403)
            #expect(try await h.call(.post, "/api/v1/keys/rotate", token: h.admin, json: ["key": "master"]).code == "invalid_value")
            let rotated = try await h.call(.post, "/api/v1/keys/rotate", token: h.admin, json: ["key": "personal_data"])
            #expect(rotated["personalData"] as? Int == 2 && rotated["pendingReencryption"] as? Int == 3, "\(rotated)")
            let after = try await h.createPerson(idNumber: TestIDs.resident(sequence: "672"), name: "王五")
            func sealed(_ id: String) async throws -> String {
                try await h.services.store.read { s in
                    try await s.db.raw("SELECT name_enc FROM persons WHERE id = \(bind: id)").first()!.decode(column: "name_enc", as: String.self)
                }
            }
            let (old, new) = (try await sealed(before), try await sealed(after))
            #expect(!old.hasPrefix("k2.") && new.hasPrefix("k2."))
            // both open, whichever key sealed them; the ID number is still found through the (unrotated) blind index
            #expect(try await h.services.store.read { try await $0.persons.find(Person.ID(before)) }?.name == "李四")
            #expect(try await h.services.store.read { try await $0.persons.find(idNumber: TestIDs.resident(sequence: "671")) }?.id.rawValue == before)
            // the background job re-seals the rest, a batch at a time, until nothing is left
            while try await h.services.keyRotation.reencrypt(limit: 2) > 0 {}
            #expect(try await h.services.keyRotation.status().pending == 0)
            let resealed = try await sealed(before)
            #expect(resealed.hasPrefix("k2."))
            #expect(try await h.services.store.read { try await $0.persons.find(Person.ID(before)) }?.name == "李四")
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "key:personal_data") }
            #expect(audited.map(\.action) == ["key_rotated"] && audited[0].purpose == "generation 2")
        }
    }

    @Test(arguments: Engine.available)
    func aSessionOfThePreviousKeyStaysGoodAndOneOlderIsRefused(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let first = h.agent
            #expect(try await h.call(.get, "/api/v1/data-requests", token: first).status == 200)
            _ = try await h.call(.post, "/api/v1/keys/rotate", token: h.admin, json: ["key": "sessions"])
            let second = try await h.services.accounts.staffToken(username: "agent", password: "agent-password").accessToken
            #expect(SessionTokens.generation(of: second) == 2 && SessionTokens.generation(of: first) == 1)
            #expect(try await h.call(.get, "/api/v1/data-requests", token: first).status == 200, "the previous key's session stays good")
            #expect(try await h.call(.get, "/api/v1/data-requests", token: second).status == 200)
            let admin2 = try await h.services.accounts.staffToken(username: "admin", password: "admin-password").accessToken
            let third = try await h.call(.post, "/api/v1/keys/rotate", token: admin2, json: ["key": "sessions"])
            #expect(third["sessions"] as? Int == 3, "\(third)")
            #expect(try await h.call(.get, "/api/v1/data-requests", token: first).status == 401, "two generations back: refused")
            #expect(try await h.call(.get, "/api/v1/data-requests", token: second).status == 200)
            #expect(try await h.call(.get, "/api/v1/keys", token: admin2)["sessions"] as? Int == 3)
        }
    }

    /// Every sealed column of the schema is in the list the re-encryption walks.
    @Test func everyEncryptedColumnIsReSealedAfterARotation() async throws {
        try await Harness.run(.sqlite) { h in
            let columns = try await h.services.store.read { s in
                var out: [String] = []
                for t in try await s.db.raw("SELECT name FROM sqlite_master WHERE type = 'table'").all() {
                    let table = try t.decode(column: "name", as: String.self)
                    for c in try await s.db.raw(SQLQueryString("SELECT name FROM pragma_table_info('\(unsafeRaw: table)')")).all() {
                        let name = try c.decode(column: "name", as: String.self)
                        if name.hasSuffix("_enc"), !table.hasSuffix("_rebuilt") { out.append("\(table).\(name)") }
                    }
                }
                return out
            }
            let listed = Set(SealedColumn.all.map { "\($0.table).\($0.column)" })
            #expect(!columns.isEmpty && Set(columns).subtracting(listed).isEmpty, "not re-sealed: \(Set(columns).subtracting(listed).sorted())")
        }
    }
}
