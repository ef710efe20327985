import Logging
import ServiceLifecycle

/// A background job run every `interval` from start-up (which also finishes what a crash left) until shutdown; a run that
/// fails is logged and the next one comes as planned. Jobs that several processes may run at once keep their work safe
/// to repeat (conditional updates, rows claimed with `FOR UPDATE SKIP LOCKED`, the bank's idempotent references).
struct PeriodicJob: Service {
    /// What the log calls it.
    let name: String
    let interval: Duration
    let logger: Logger
    let work: @Sendable () async throws -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await work() } catch { logger.error("\(name): \(error)") }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
