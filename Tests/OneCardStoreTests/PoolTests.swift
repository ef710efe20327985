import Foundation
import OneCardCore
import OneCardTestSupport
import SQLKit
import Testing
@testable import OneCardStore

/// Several processes share one PostgreSQL server; each holds at most its `--db-pool` connections, so an operator can keep
/// their sum under the server's `max_connections`.
@Suite("Store: a process holds at most its pool of PostgreSQL connections")
struct PoolTests {
    @Test(.enabled(if: Engine.available.contains(.postgres)))
    func aStoreHoldsAtMostItsPoolOfConnections() async throws {
        // setup
        let db = try await TestDatabase.make(.postgres)
        do {
            // action: eight reads at once, each holding its connection a moment and counting this database's sessions
            func mostSessions(pool: Int) async throws -> Int {
                let store = try await Store.open(db.url, cipher: TestDatabase.testCipher, logger: TestDatabase.logger, pool: pool)
                do {
                    let most = try await withThrowingTaskGroup(of: Int.self) { group in
                        for _ in 0..<8 {
                            group.addTask {
                                try await store.read { s in
                                    try await s.db.raw("SELECT pg_sleep(0.3)").run()
                                    let n = try await s.db.raw("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()").first()
                                    return Int(try n?.decode(column: "n", as: Int64.self) ?? 0)
                                }
                            }
                        }
                        return try await group.reduce(0) { max($0, $1) }
                    }
                    await store.close()
                    return most
                } catch { await store.close(); throw error }
            }
            // validate: two at most with a pool of two; more than two with a pool of eight (the count can tell them apart)
            #expect(try await mostSessions(pool: 2) <= 2)
            #expect(try await mostSessions(pool: 8) > 2)
        } catch { await db.remove(); throw error }
        await db.remove()
    }
}
