import Foundation
import Logging
import ServiceLifecycle
import OneCardCore
import OneCardStore

/// The audit log for the auditor: filtered reading, and a walk over the whole hash chain that names the first broken
/// or missing entry (`onecard audit verify`, `GET /api/v1/audit/verification`).
struct AuditService: Sendable {
    let store: Store
    /// The node's key: it signs checkpoints of the chain's head.
    let key: FederationKey
    let clock: Clock
    /// Sends each checkpoint to the hub when the node is federated (nothing when alone).
    let federation: FederationService

    /// Signs the chain's head when it has moved since the last checkpoint (in the transaction that reads it, with the
    /// message for the hub); returns the new checkpoint, if any.
    @discardableResult
    func checkpoint() async throws -> AuditChain.Checkpoint? {
        let at = clock.now()
        let key = key
        let federation = federation
        return try await store.write { s in
            let head = try await s.audit.head()
            guard head.seq > 0, head.seq > (try await s.audit.lastCheckpoint()) else { return nil }
            let c = try AuditChain.Checkpoint.sign(seq: head.seq, hash: head.hash, atMillis: Timestamp.millis(at), key: key.privateKey)
            try await s.audit.insert(c)
            try await federation.enqueue(.auditCheckpoint, id: "audit-checkpoint-\(c.seq)", payload: .init(checkpoint: .init(c)), at: at, in: s)
            return c
        }
    }

    struct Verification: Sendable {
        /// Entries checked before the walk stopped (all of them when intact).
        var checked: Int
        var headSeq: Int64
        var broken: AuditChain.Break?
        /// How many of the hub's copies of the signed heads were held against the chain; nil on a node alone, or when
        /// the hub could not be asked (`hubProblem` says why).
        var hubCheckpoints: Int? = nil
        var hubProblem: String? = nil
    }

    /// Walks the chain a thousand entries at a time (each page in its own read, so a long walk holds no connection),
    /// holding it to the heads the node signed: its own copies and, when federated, the hub's (which whoever rewrites
    /// this database cannot reach), so a rewritten tail is found even when the local copies went with it.
    func verify() async throws -> Verification {
        var hubCopies: [AuditChain.Checkpoint] = []
        var hubCount: Int?, hubProblem: String?
        do {
            if let copies = try await federation.hubAuditCheckpoints() { hubCopies = copies; hubCount = copies.count }
        } catch {
            hubProblem = "\(error)"
        }
        var v = try await verify(against: hubCopies)
        v.hubCheckpoints = hubCount
        v.hubProblem = hubProblem
        return v
    }

    /// The walk, with `extra` signed heads (the hub's copies) beside the node's own.
    func verify(against extra: [AuditChain.Checkpoint]) async throws -> Verification {
        let checkpoints = try await store.read { try await $0.audit.checkpoints() } + extra
        var walk: AuditChain.Walk
        do { walk = try AuditChain.Walk(checkpoints: checkpoints, key: key.publicKey) } catch {
            return Verification(checked: 0, headSeq: try await store.read { try await $0.audit.head() }.seq, broken: error)
        }
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

/// Signs the audit chain's head once a minute when it has moved.
struct AuditCheckpointer: Service {
    let audit: AuditService
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await audit.checkpoint() } catch { logger.error("audit checkpoint failed: \(error)") }
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }
}
