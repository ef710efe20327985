/// A fair asynchronous mutex: waiters resume in arrival order without blocking a thread.
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !locked { locked = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty { locked = false } else { waiters.removeFirst().resume() }
    }
}

/// A fixed set of resources handed out one at a time, waiting when all are in use.
actor ResourcePool<Resource: Sendable> {
    private var free: [Resource]
    private var waiters: [CheckedContinuation<Resource, Never>] = []

    init(_ resources: [Resource]) { free = resources }

    func take() async -> Resource {
        if let r = free.popLast() { return r }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func give(_ r: Resource) {
        if waiters.isEmpty { free.append(r) } else { waiters.removeFirst().resume(returning: r) }
    }

    func drain() -> [Resource] { defer { free = [] }; return free }
}
