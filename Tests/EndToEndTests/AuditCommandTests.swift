import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import SQLKit
import Testing

/// `onecard audit verify` walks the chain of a node's database: exit 0 when intact, 1 naming the first bad entry.
@Suite("End to end: onecard audit verify")
struct AuditCommandTests {
    @Test func theCommandSaysIntactAndThenNamesTheEditedEntry() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-audit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        // setup: a node's database with audited acts (staff users created)
        for user in ["admin", "auditor"] {
            let created = try await EndToEndTests.run(["users", "create", "--username", user, "--role", user, "--data-dir", dir.path], input: "\(user)-password-2026\n")
            #expect(created.status == 0, "\(created.output)")
        }
        let intact = try await EndToEndTests.run(["audit", "verify", "--data-dir", dir.path])
        #expect(intact.status == 0 && intact.output.contains("audit chain intact"), "\(intact.output)")

        // action: an entry changed behind the application's back (the key file stays; only the row changes)
        let store = try await Store.open(.sqliteFile(dir.appendingPathComponent("onecard.sqlite").path), cipher: TestDatabase.testCipher,
                                         logger: TestDatabase.logger)
        let first = try await store.read { try await $0.audit.links(after: 0, limit: 1) }.first
        try await store.write { try await $0.db.raw("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1").run() }
        await store.close()

        // validate
        #expect(first != nil)
        let broken = try await EndToEndTests.run(["audit", "verify", "--data-dir", dir.path])
        #expect(broken.status == 1 && broken.output.contains("broken at entry 1"), "\(broken.output)")
    }
}
