import Foundation
import Logging
import OneCardCore
import ServiceLifecycle

/// Pairs and prices what uploads left waiting (a trip closed when its time limit passed) and charges what is due —
/// priced trips, debits a crash or an unreachable bank left in flight, unpaid trips whose next attempt has come — from
/// start-up (which resumes whatever a crash interrupted) until shutdown. Busy: it looks again after 200 ms; idle, it
/// backs off to 5 s and is woken by an upload.
struct TransitWorker: Service {
    let transit: TransitService
    let logger: Logger
    static let busy = Duration.milliseconds(200), idle = Duration.seconds(5), sweep = Duration.seconds(30)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var pause = Self.busy
            var lastSweep = ContinuousClock.now - .seconds(3600)
            while !Task.isCancelled {
                let seen = transit.work.current
                var busy = false
                do {
                    if ContinuousClock.now - lastSweep > Self.sweep {
                        lastSweep = ContinuousClock.now
                        busy = try await transit.settle() > 0
                    }
                    // A full page means more is due: keep going while every bank answers.
                    var r = try await transit.chargeDue(limit: 2000)
                    while r.sent == 2000, r.reachedAll, !Task.isCancelled { r = try await transit.chargeDue(limit: 2000) }
                    busy = busy || (r.sent > 0 && r.reachedAll)
                    // Trips of this node's cards ridden in other provinces (issue 13).
                    busy = try await transit.chargeRemoteDue(limit: 500) == 500 || busy
                } catch {
                    logger.error("transit worker pass failed: \(error)")
                }
                pause = busy ? Self.busy : min(pause * 2, Self.idle)
                await transit.work.wait(after: seen, upTo: pause)
            }
        }
    }
}
