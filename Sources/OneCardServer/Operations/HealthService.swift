import OneCardStore

/// Whether the node can serve: its database answers.
struct HealthService: Sendable {
    let store: Store

    func checkDatabase() async throws {
        _ = try await store.read { try await $0.db.raw("SELECT 1 AS one").all() }
    }
}
