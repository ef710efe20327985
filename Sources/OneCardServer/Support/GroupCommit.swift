import NIOConcurrencyHelpers

/// Group commit: requests that arrive while a transaction is running wait for the next one and are
/// decided together in it, so under load one commit (and one round trip per statement) serves many
/// requests, and at low load a request goes through at once on its own.
///
/// At most `lanes` groups are in flight at a time: one for SQLite, whose writes queue behind one connection anyway (more
/// lanes only make the groups smaller), several for PostgreSQL. Every request is answered by the group that carried it.
final class GroupCommit<Input: Sendable, Output: Sendable>: Sendable {
    typealias Process = @Sendable ([Input]) async -> [Result<Output, any Error>]

    private struct Waiting: Sendable {
        var input: Input
        var continuation: CheckedContinuation<Output, any Error>
    }

    private struct State: Sendable {
        var waiting: [Waiting] = []
        var running = 0
    }

    private let state = NIOLockedValueBox(State())
    let lanes: Int
    let maxGroup: Int

    init(lanes: Int, maxGroup: Int = 128) {
        precondition(lanes > 0 && maxGroup > 0)
        self.lanes = lanes
        self.maxGroup = maxGroup
    }

    /// Queues `input` and returns its answer once the group carrying it has been processed. `process`
    /// answers a group, one result per input in order; every caller passes the same function.
    func submit(_ input: Input, process: @escaping Process) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLockedValue { s -> Bool in
                s.waiting.append(Waiting(input: input, continuation: continuation))
                guard s.running < lanes else { return false }
                s.running += 1
                return true
            }
            if start { Task { await self.drain(process) } }
        }
    }

    private func drain(_ process: Process) async {
        while true {
            let group = state.withLockedValue { s -> [Waiting] in
                let group = Array(s.waiting.prefix(maxGroup))
                s.waiting.removeFirst(group.count)
                if group.isEmpty { s.running -= 1 }
                return group
            }
            if group.isEmpty { return }
            let results = await process(group.map(\.input))
            for (i, w) in group.enumerated() {
                w.continuation.resume(with: i < results.count ? results[i] : .failure(GroupCommitError.unanswered))
            }
        }
    }
}

enum GroupCommitError: Error { case unanswered }
