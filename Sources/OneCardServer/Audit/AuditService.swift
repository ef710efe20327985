import Foundation
import OneCardCore
import OneCardStore

/// The audit log for the auditor: filtered reading, and a walk over the whole hash chain that names the first broken
/// or missing entry (`onecard audit verify`, `GET /api/v1/audit/verification`).
struct AuditService: Sendable {
    let store: Store

    struct Verification: Sendable {
        /// Entries checked before the walk stopped (all of them when intact).
        var checked: Int
        var headSeq: Int64
        var broken: AuditChain.Break?
    }

    /// Walks the chain a thousand entries at a time (each page in its own read, so a long walk holds no connection).
    func verify() async throws -> Verification {
        var walk = AuditChain.Walk()
        var after: Int64 = 0
        while true {
            let since = after
            let page = try await store.read { try await $0.audit.links(after: since, limit: 1000) }
            if let broken = walk.check(page) {
                return Verification(checked: walk.checked, headSeq: try await store.read { try await $0.audit.head() }.seq, broken: broken)
            }
            guard let last = page.last else { break }
            after = last.seq
        }
        let head = try await store.read { try await $0.audit.head() }
        return Verification(checked: walk.checked, headSeq: head.seq, broken: walk.finish(headSeq: head.seq, headHash: head.hash))
    }

    func entries(from: Date?, to: Date?, actor: String?, subject: String?, before: Int64?, limit: Int) async throws -> [AuditEntry] {
        if let from, let to, to <= from { throw DomainError(.invalidTimeRange, "to must be after from") }
        return try await store.read { try await $0.audit.search(from: from, to: to, actor: actor, subject: subject, before: before, limit: limit) }
    }
}
