import Foundation
import OneCardCore
import OneCardTestSupport
import SQLKit
import Testing
@testable import OneCardStore

@Suite("Store: migrations, encryption at rest, constraints and the audit chain")
struct StoreTests {
    let today = CalendarDay(year: 2026, month: 11, day: 23)!

    func person(_ id: Person.ID = Person.ID(UUID().uuidString), idNumber: String = TestIDs.resident(), name: String = "王秀梅") throws -> Person {
        Person(id: id, idNumber: try IdentityNumber(idNumber, type: .resident, today: today), name: name, phone: "13800001234",
               address: "朝阳区幸福里 1 号", createdAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    func withStore(_ engine: Engine, _ body: (Store) async throws -> Void) async throws {
        let db = try await TestDatabase.make(engine)
        let store = try await db.store()
        do { try await body(store) } catch { await store.close(); await db.remove(); throw error }
        await store.close()
        await db.remove()
    }

    /// A reader following the revocation list by `seq` (a gate, a node merging the national list) sees every entry
    /// exactly once while entries keep being appended: the `seq` it is told to ask from next never runs ahead of the
    /// entries it was given.
    @Test(arguments: Engine.available)
    func aReaderFollowingTheRevocationListMissesNothingWhileItGrows(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            let total = 300
            let finished = Finished()
            let writer = Task {
                for i in 0..<total {
                    try await store.write { s in try await s.trust.appendRevocation(.token(jti: "j\(i)", status: .lost, at: Date())) }
                }
                await finished.set()
            }
            // The reader polls while the writer appends, then catches up once it has finished: an entry skipped by a
            // `seq` that ran ahead would never come back.
            var seen: [String] = []
            var cursor: Int64 = 0
            while true {
                let done = await finished.value
                let since = cursor
                let (seq, entries) = try await store.read { try await $0.trust.revocations(since: since) }
                #expect(seq >= since)
                for e in entries { if case .token(let jti) = e.subject { seen.append(jti) } }
                cursor = seq
                if done && entries.isEmpty { break }
                await Task.yield()
            }
            try await writer.value
            #expect(seen == (0..<total).map { "j\($0)" })
            // and an empty delta answers with the `seq` asked from
            let ahead = cursor + 5
            #expect(try await store.read { try await $0.trust.revocations(since: ahead) }.seq == ahead)
        }
    }

    actor Finished {
        var value = false
        func set() { value = true }
    }

    @Test(arguments: Engine.available)
    func migrationsRunOnceAndAreRecorded(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            #expect(try await store.pendingMigrations().isEmpty)
            #expect(try await store.migrate().isEmpty)
            // A name no migration has is an error, not "everything".
            await #expect(throws: ConfigurationError.self) { try await store.migrate(through: "999_unknown") }
            let names = try await store.read { s in try await s.db.raw("SELECT name FROM schema_migrations ORDER BY name").all().map { try $0.string("name") } }
            #expect(names == Migrations.all.map(\.name))
        }
    }

    /// Offline gates' decisions recorded before 024 move under `offline:<decisionId>`; online keys stay as they were,
    /// and a decision uploaded again is still found.
    @Test(arguments: Engine.available)
    func offlineDecisionKeysMoveApartFromOnlineKeys(_ engine: Engine) async throws {
        let db = try await TestDatabase.make(engine)
        let store = try await Store.open(db.url, cipher: TestDatabase.testCipher, logger: TestDatabase.logger)
        do {
            // setup: a database as 023 left it, with one online and one offline use under the same key
            try await store.migrate(through: "023_notifications_as_kind_and_parameters")
            try await store.write { s in
                for (id, kind) in [("u1", "qr"), ("u2", "qr_offline")] {
                    try await s.db.raw("""
                        INSERT INTO uses (id, terminal_id, idempotency_key, venue_id, item_code, kind, decision, cross_region, charged_fen, at, response)
                        VALUES (\(bind: id), \(bind: kind == "qr" ? "t1" : "t2"), 'k1', 'v1', 'X', \(bind: kind), 'accepted', 0, 0, 0, '{}')
                        """).run()
                }
            }
            // the upgrade
            #expect(try await store.migrate(through: "024_offline_decision_keys_apart") == ["024_offline_decision_keys_apart"])
            // validate
            let keys = try await store.read { s in
                try await s.db.raw("SELECT kind, idempotency_key FROM uses ORDER BY id").all().map { "\(try $0.string("kind")) \(try $0.string("idempotency_key"))" }
            }
            #expect(keys == ["qr k1", "qr_offline offline:k1"])
            #expect(try await store.read { try await $0.uses.find(terminalId: "t2", idempotencyKey: "offline:k1") } != nil)
        } catch { await store.close(); await db.remove(); throw error }
        await store.close()
        await db.remove()
    }

    @Test(arguments: Engine.available)
    func aFreshDatabaseHasEveryMigrationPending(_ engine: Engine) async throws {
        let db = try await TestDatabase.make(engine)
        let store = try await Store.open(db.url, cipher: TestDatabase.testCipher, logger: TestDatabase.logger)
        #expect(try await store.pendingMigrations() == Migrations.all.map(\.name))
        await store.close()
        await db.remove()
    }

    @Test(arguments: Engine.available)
    func personsRoundTripAndAreFoundByIDNumber(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            let p = try person()
            try await store.write { try await $0.persons.insert(p) }
            #expect(try await store.read { try await $0.persons.find(p.id) } == p)
            #expect(try await store.read { try await $0.persons.find(idNumber: p.idNumber.value) } == p)
            #expect(try await store.read { try await $0.persons.find(idNumber: TestIDs.resident(sequence: "999")) } == nil)
            // The same ID number twice is a unique violation, recognised on both engines.
            var twin = try person()
            twin.name = "李四"
            let copy = twin
            await #expect { try await store.write { try await $0.persons.insert(copy) } } throws: { Store.isUniqueViolation($0) }
        }
    }

    @Test(arguments: Engine.available)
    func personalDataIsEncryptedAtRest(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            let p = try person()
            try await store.write { try await $0.persons.insert(p) }
            let row = try #require(try await store.read { try await $0.db.raw("SELECT * FROM persons").first() })
            for column in ["id_number_enc", "name_enc", "phone_enc", "address_enc", "id_index"] {
                let v = try row.string(column)
                #expect(!v.contains(p.idNumber.value) && !v.contains(p.name) && !v.contains("13800001234"), "\(column)")
            }
        }
    }

    @Test func theSQLiteFileHoldsNoPlaintextIDNumberOrName() async throws {
        let db = try await TestDatabase.make(.sqlite)
        let store = try await db.store()
        let p = try person(name: "欧阳秀梅")
        try await store.write { try await $0.persons.insert(p) }
        await store.close()
        guard case .sqliteFile(let path) = db.url else { Issue.record("not a file"); return }
        var bytes = Data()
        for suffix in ["", "-wal", "-shm"] { bytes += (try? Data(contentsOf: URL(fileURLWithPath: path + suffix))) ?? Data() }
        #expect(bytes.count > 0)
        #expect(bytes.range(of: Data(p.idNumber.value.utf8)) == nil)
        #expect(bytes.range(of: Data(p.name.utf8)) == nil)
        #expect(bytes.range(of: Data("13800001234".utf8)) == nil)
        // The address is sealed too.
        #expect(bytes.range(of: Data("朝阳区".utf8)) == nil)
        await db.remove()
    }

    func card(_ number: CardNumber, person: Person.ID, status: CardStatus = .issued) -> Card {
        Card(number: number, identificationCode: "110000D156000005" + String(repeating: number.rawValue.last!, count: 16), personId: person,
             applicationId: nil, issuerRegion: "110000", status: status, transit: true, financial: true, bankCode: nil,
             accountNumber: "6212345678901234567", pinHash: nil, issuedAt: Date(timeIntervalSince1970: 1_800_000_000),
             expiresAt: Date(timeIntervalSince1970: 2_100_000_000))
    }

    @Test(arguments: Engine.available)
    func onePersonHoldsOneLiveCard(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            let p = try person()
            try await store.write { try await $0.persons.insert(p) }
            try await store.write { try await $0.cards.insert(card("A00000001", person: p.id)) }
            await #expect { try await store.write { try await $0.cards.insert(card("A00000002", person: p.id)) } } throws: { Store.isUniqueViolation($0) }
            // Once the first is cancelled, a new card may be issued.
            try await store.write { s in
                var c = try #require(try await s.cards.find("A00000001", lock: true))
                c.status = .cancelled
                try await s.cards.update(c)
            }
            try await store.write { try await $0.cards.insert(card("A00000002", person: p.id)) }
            #expect(try await store.read { try await $0.cards.live(personId: p.id) }?.number == "A00000002")
            // The account is stored encrypted and read back.
            #expect(try await store.read { try await $0.cards.find("A00000002") }?.accountNumber == "6212345678901234567")
            let raw = try await store.read { try await $0.db.raw("SELECT account_enc, account_masked FROM cards WHERE card_number = 'A00000002'").first() }
            #expect(try raw?.string("account_enc").contains("6212345678901234567") == false)
            #expect(try raw?.string("account_masked") == "***************4567")
        }
    }

    @Test(arguments: Engine.available)
    func aFailedTransactionLeavesNothing(_ engine: Engine) async throws {
        struct Boom: Error {}
        try await withStore(engine) { store in
            let p = try person()
            await #expect(throws: Boom.self) {
                try await store.write { s in
                    try await s.persons.insert(p)
                    throw Boom()
                }
            }
            #expect(try await store.read { try await $0.persons.count() } == 0)
        }
    }

    @Test(arguments: Engine.available)
    func theAuditLogIsHashChainedAndTamperEvident(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            let at = Date(timeIntervalSince1970: 1_800_000_000)
            for i in 0..<5 {
                _ = try await store.write { try await $0.audit.append(at: at, actor: "agent:a", action: "person_unmasked_read", subject: "person:\(i)", purpose: "counter check") }
            }
            let entries = try await store.read { try await $0.audit.list() }
            #expect(entries.map(\.seq) == [5, 4, 3, 2, 1])
            #expect(try await store.read { try await $0.audit.verifyChain() } == nil)
            try await store.write { try await $0.db.raw("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 3").run() }
            #expect(try await store.read { try await $0.audit.verifyChain() } == 3)
            try await store.write { try await $0.db.raw("UPDATE audit_log SET purpose = 'counter check' WHERE seq = 3").run() }
            #expect(try await store.read { try await $0.audit.verifyChain() } == nil)
        }
    }

    /// Removing a row, inserting one, or cutting the tail off is each found, in the store as it is (SQL run behind the
    /// application's back).
    @Test(arguments: Engine.available)
    func removedInsertedAndCutEntriesAreFoundInTheStore(_ engine: Engine) async throws {
        for tamper in ["DELETE FROM audit_log WHERE seq = 2",
                       "INSERT INTO audit_log (seq, at, actor, action, subject, purpose, prev_hash, hash) VALUES (7, 0, 'x', 'y', 'z', NULL, 'a', 'b')",
                       "DELETE FROM audit_log WHERE seq = 5"] {
            try await withStore(engine) { store in
                for i in 0..<5 {
                    _ = try await store.write { try await $0.audit.append(at: Date(), actor: "agent:a", action: "person_unmasked_read", subject: "person:\(i)", purpose: "p") }
                }
                try await store.write { try await $0.db.raw(SQLQueryString(tamper)).run() }
                let expected: Int64 = tamper.contains("seq = 2") ? 2 : tamper.hasPrefix("INSERT") ? 6 : 5
                #expect(try await store.read { try await $0.audit.verifyChain() } == expected, "\(tamper)")
            }
        }
    }

    @Test(arguments: Engine.available)
    func concurrentAuditAppendsKeepOneChain(_ engine: Engine) async throws {
        try await withStore(engine) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        _ = try await store.write { try await $0.audit.append(at: Date(), actor: "t", action: "x", subject: "s\(i)", purpose: nil) }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.read { try await $0.audit.list() }.count == 20)
            #expect(try await store.read { try await $0.audit.verifyChain() } == nil)
        }
    }

    @Test func anInMemoryDatabaseWorks() async throws {
        let store = try await Store.open(.sqliteMemory, cipher: TestDatabase.testCipher, logger: TestDatabase.logger)
        try await store.migrate()
        let p = try person()
        try await store.write { try await $0.persons.insert(p) }
        #expect(try await store.read { try await $0.persons.count() } == 1)
        await store.close()
    }

    @Test func databaseURLsAreParsed() throws {
        #expect(try DatabaseURL("sqlite::memory:") == .sqliteMemory)
        #expect(try DatabaseURL("sqlite:/tmp/x.sqlite") == .sqliteFile("/tmp/x.sqlite"))
        #expect(try DatabaseURL("postgres://u:p%40ss@db.local:6543/onecard") == .postgres(host: "db.local", port: 6543, username: "u", password: "p@ss", database: "onecard"))
        #expect(try DatabaseURL("postgres://u:secret@h/db").description == "postgres://u@h:5432/db")
        for bad in ["mysql://x", "sqlite:", "postgres://h/db", "postgres://u@h/"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try DatabaseURL(bad) }
        }
    }
}
