import Foundation
import Logging
import Metrics
import OneCardCore
import OneCardStore
import ServiceLifecycle

/// Executes approved batches, exactly once per payment across crashes.
///
/// The outbox: every payment row exists (`pending`) before execution starts. A chunk is first marked
/// `sent` — with the bank and the **current** account it goes to — in a committed transaction, and only then
/// sent to the bank, which is idempotent per payment reference. The bank's answers are written back
/// (`paid`, `returned`, `failed`). After a crash, a `sent` row is simply asked about again: the bank
/// answers with its first outcome, so nothing is paid twice and nothing is lost.
///
/// Chunks are pipelined: while up to `inFlight` chunks are at their banks, the next one is claimed (committed
/// as `sent`), and the one after it is already being read. Each chunk is committed before its own bank call, so the
/// pipeline changes nothing above.
struct PaymentExecutor: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let logger: Logger
    var gateway: BankGateway
    /// Lines claimed in one transaction and sent in one bank request (per bank): at most this many payments.
    var chunk: Int = 1000
    /// Chunks at the banks at once.
    var inFlight: Int = 4
    /// The region's risk thresholds: a line the rules would hold waits for an auditor (issue 17).
    var risk: RiskThresholds = .preset
    /// The region's pension qualification check: a `pension` programme's payment to an overdue pensioner is held.
    var pensionCheck: PensionQualificationPolicy = .preset

    enum Pass: Equatable { case completed, waiting(held: Int), bankUnavailable }

    /// A window of lines read (and, for pending payments, claimed): what to send, how many payments were looked at
    /// and how many of them were held.
    private struct Claimed: Sendable { var toSend: [Payment.InFlight]; var looked: Int; var held: Int }

    /// One pass over a batch: resend what was in flight, send what is pending (holding payments whose bank is
    /// being migrated), and complete the batch when nothing is outstanding.
    func pass(_ batchId: PaymentBatch.ID) async throws -> Pass {
        guard let batch = try await store.read({ try await $0.payments.batch(batchId) }), batch.status == .executing else { return .completed }
        let programme = try await store.read { try await $0.payments.programme(batch.programmeId) }
        let programmeName = programme?.name ?? batch.programmeId.rawValue
        let pension = programme?.kind == .pension
        // The running totals say how many payments are in flight and pending: a scan stops when it has seen them all
        // (payments are paged by line, not found by state, so that state changes touch no index).
        let (totals, lastLine) = try await store.read { s in (try await s.payments.totals(batchId: batchId), try await s.payments.lastLine(batchId: batchId)) }
        // 1. Payments left in flight by a crash or an unavailable bank: ask again. A bank that is down does not
        // hold up the others: its payments wait in flight and the pass goes on.
        let resent = try await pipeline(programme: programmeName, expected: totals.count[.sent] ?? 0, lastLine: lastLine) { after, through in
            try await store.read { try await $0.payments.sent(batchId: batchId, afterLine: after, throughLine: through) }
        } claim: { page in
            Claimed(toSend: page, looked: page.count, held: 0)
        }
        // 2. Pending payments, chunk by chunk, each committed as sent before it goes out.
        let sent = try await pipeline(programme: programmeName, expected: totals.count[.pending] ?? 0, lastLine: lastLine) { after, through in
            try await readPending(batchId: batchId, after: after, through: through)
        } claim: { read in
            try await claim(read, programme: programmeName, pension: pension)
        }
        if !resent.reachedAll || !sent.reachedAll { return .bankUnavailable }
        // 3. Done when nothing is pending or in flight.
        let now = clock.now()
        let done = try await store.write { s -> Bool in
            guard var b = try await s.payments.batch(batchId, lock: true), b.status == .executing else { return true }
            guard try await s.payments.totals(batchId: batchId).outstanding == 0 else { return false }
            b.status = .completed
            b.completedAt = now
            try await s.payments.update(b)
            try await s.audit.append(at: now, actor: "system", action: "batch_completed", subject: "batch:\(batchId)", purpose: nil)
            return true
        }
        return done ? .completed : .waiting(held: sent.held)
    }

    /// Reads windows of `chunk` lines in line order with `read` and turns each into a chunk to send with `claim`, until
    /// `expected` payments were looked at or the batch's last line is passed, and delivers up to `inFlight` chunks at
    /// once. The next window is read while the current one is claimed (a read runs on a reader connection beside the
    /// writer), so a chunk costs the longer of the two rather than both. Whether every bank was reached, and how many
    /// payments were held.
    private func pipeline<Read: Sendable>(programme: String, expected: Int, lastLine: Int,
                                          read: @escaping @Sendable (_ after: Int, _ through: Int) async throws -> Read,
                                          claim: @escaping @Sendable (Read) async throws -> Claimed) async throws -> (reachedAll: Bool, held: Int) {
        let chunk = chunk
        func window(after: Int) -> Task<Read, any Error>? {
            after < lastLine ? Task { try await read(after, min(after + chunk, lastLine)) } : nil
        }
        var ahead = window(after: 0)
        defer { ahead?.cancel() }
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            var cursor = 0, held = 0, running = 0, looked = 0, reachedAll = true
            while looked < expected, cursor < lastLine, let reading = ahead {
                let through = min(cursor + chunk, lastLine)
                let r = try await reading.value
                ahead = window(after: through)
                let c = try await claim(r)
                cursor = through
                looked += c.looked
                held += c.held
                guard !c.toSend.isEmpty else { continue }
                if running >= inFlight, let reached = try await group.next() {
                    running -= 1
                    if !reached { reachedAll = false }
                }
                group.addTask { try await deliver(c.toSend, programme: programme) }
                running += 1
            }
            for try await reached in group where !reached { reachedAll = false }
            return (reachedAll, held)
        }
    }

    /// What a claim needs of a window of lines, read before its transaction: the pending lines with their cards'
    /// accounts (decrypted), and the risk rules' facts about their payees.
    private struct PendingRead: Sendable {
        var due: [Payment.DueWithCard]
        var accountChanges: [Person.ID: Date]
        var deceased: Set<Person.ID>
    }

    private func readPending(batchId: PaymentBatch.ID, after: Int, through: Int) async throws -> PendingRead {
        let thresholds = risk
        return try await store.read { s in
            let due = try await s.payments.pendingWithCards(batchId: batchId, afterLine: after, throughLine: through)
            let large = due.filter { $0.riskHold == nil && $0.due.amountFen >= thresholds.largePaymentFen }.map(\.due.personId)
            let changes = try await s.risk.accountChanges(personIds: Array(Set(large)))
            let dead = try await s.payments.deceased(Set(due.filter { $0.riskHold == nil && $0.card == nil }.map(\.due.personId)))
            return PendingRead(due: due, accountChanges: changes, deceased: dead)
        }
    }

    /// Marks the pending payments of a window read by `readPending` as sent to each holder's current account (or
    /// failed, or held) in one transaction. A pension's payments to pensioners whose qualification check is overdue
    /// become `held`.
    ///
    /// The window was read before this transaction, on a reader, so the writer (SQLite has one) holds only the writes;
    /// execution measured no faster for it (Benchmarks/RESULTS.md), but what the claim takes is now exact: its
    /// `UPDATE` re-checks that each line is still pending and its card still holds the account read (`markSent`), and
    /// only the lines it took are sent (another process's executor may have claimed a line first). A line whose card
    /// changed in between stays pending and is routed afresh on the next pass, so a payment still goes
    /// to the account current when it is claimed (GD art. 8). Lines failed for want of a card or an account are judged
    /// on the same read, as they would be had the card changed a moment after the claim.
    private func claim(_ read: PendingRead, programme: String, pension: Bool) async throws -> Claimed {
        let thresholds = risk
        let (due, changes, dead) = (read.due, read.accountChanges, read.deceased)
        guard !due.isEmpty else { return Claimed(toSend: [], looked: 0, held: 0) }
        let now = clock.now()
        return try await store.write { s in
            let qualificationHeld: Set<String> = pension
                ? try await PensionService.holdOverdue(due.filter { $0.riskHold == nil }.map(\.due), programme: programme, at: now,
                                                       policy: pensionCheck, random: random, in: s)
                : []
            var banks: [String: Bank] = [:]
            for b in try await s.banks.list() { banks[b.code] = b }
            var out: [Payment.InFlight] = []
            var destinations: [Payment.Destination] = []
            var accountChanged: [(Payment.Due, bankCode: String, account: String)] = []
            var held = 0
            var failed: [String: [String]] = [:]
            // Risk rules on what is about to go out (GD art. 17): a payee who died, an account changed just before a
            // large payment. A new finding that holds its line keeps it pending until an auditor releases it.
            for row in due {
                let p = row.due
                if row.riskHold != nil { held += 1; continue }
                if qualificationHeld.contains(p.id) { continue }  // `held` now, out of the batch's outstanding payments
                var holdNow = false
                for f in RiskRules.payment(.init(paymentId: p.id, amountFen: p.amountFen, payeeDeceased: dead.contains(p.personId),
                                                 accountChangedAt: changes[p.personId]), at: now, thresholds: thresholds) {
                    guard let alertId = try await RiskService.raise(f, id: random.uuid(), at: now, in: s) else { continue }
                    if RiskRules.holdsPayment(f), try await s.risk.hold(paymentId: p.id, alertId: alertId) { holdNow = true }
                }
                if holdNow { held += 1; continue }
                switch PaymentRouting.route(row.card, bank: row.card?.bankCode.flatMap { banks[$0] }) {
                case .hold:
                    held += 1
                case .fail(let reason):
                    failed[reason, default: []].append(p.id)
                    try await s.payments.notify(personId: p.personId, at: now, kind: .paymentFailed,
                                                parameters: ["programme": programme, "amountFen": "\(p.amountFen)", "reason": reason], paymentId: p.id)
                case let .send(bankCode, account, _):
                    guard let sealed = row.accountSealed else { continue }  // routed to an account, so the card has one
                    if s.payments.fingerprint(bankCode: bankCode, account: account) != p.accountFingerprint {
                        accountChanged.append((p, bankCode, account))
                    }
                    out.append(.init(id: p.id, personId: p.personId, amountFen: p.amountFen, attempt: p.attempt, bankCode: bankCode, account: account))
                    destinations.append(.init(id: p.id, bankCode: bankCode, accountSealed: sealed, accountMasked: Mask.account(account)))
                }
            }
            let claimed = try await s.payments.markSent(destinations, at: now)
            // GD art. 8: when the card's bank account changed since the upload, pay the new account and tell the holder.
            for (p, bankCode, account) in accountChanged where claimed.contains(p.id) {
                try await s.payments.notify(personId: p.personId, at: now, kind: .accountChanged,
                                            parameters: ["programme": programme, "amountFen": "\(p.amountFen)", "bankCode": bankCode,
                                                         "account": Mask.account(account)],
                                            paymentId: p.id)
            }
            for (reason, ids) in failed { try await s.payments.settle(ids, to: .failed, reason: reason, from: .pending, at: now) }
            return Claimed(toSend: out.filter { claimed.contains($0.id) }, looked: due.count, held: held)
        }
    }

    /// Sends in-flight payments to their banks (each bank's share at once) and records the answers. False when a
    /// bank could not be reached (its payments stay `sent` and are asked about again on the next pass).
    private func deliver(_ items: [Payment.InFlight], programme: String) async throws -> Bool {
        let banks = try await store.read { s in try await s.banks.list() }
        var endpoint: [String: String] = [:]
        for b in banks { if let e = b.endpoint { endpoint[b.code] = e } }
        return try await withThrowingTaskGroup(of: Bool.self) { tasks in
            for (bankCode, group) in Dictionary(grouping: items, by: \.bankCode) {
                let url = endpoint[bankCode]
                tasks.addTask { try await deliver(group, bankCode: bankCode, endpoint: url, programme: programme) }
            }
            var reachedAll = true
            for try await reached in tasks where !reached { reachedAll = false }
            return reachedAll
        }
    }

    private func deliver(_ group: [Payment.InFlight], bankCode: String, endpoint: String?, programme: String) async throws -> Bool {
        // A payment once sent may have been credited: it is settled only by the bank's own answer for it,
        // never marked failed on the platform's side (a retry would then pay it twice).
        guard let url = endpoint else {
            logger.error("bank has no endpoint; payments stay in flight", metadata: ["bank": "\(bankCode)"])
            return false
        }
        let results: [BankGateway.Result]
        do {
            results = try await gateway.credit(endpoint: url, group.map { .init(paymentId: $0.reference, account: $0.account, amountFen: $0.amountFen) })
        } catch {
            logger.warning("bank unavailable or refused the request; payments stay in flight",
                                    metadata: ["bank": "\(bankCode)", "error": "\(error)"])
            return false
        }
        let now = clock.now()
        let byReference = Dictionary(group.map { ($0.reference, $0) }, uniquingKeysWith: { a, _ in a })
        var paid: [String] = [], returned: [Payment.InFlight] = [], rejected: [String] = []
        for r in results {
            guard let item = byReference[r.paymentId] else { continue }
            switch r.outcome {
            case .credited: paid.append(item.id)
            case .returned: returned.append(item)
            case .rejected: rejected.append(item.id)
            }
        }
        let (paidIds, returnedItems, rejectedIds) = (paid, returned, rejected)
        try await store.write { s in
            try await s.payments.settle(paidIds, to: .paid, reason: nil, from: .sent, at: now)
            try await s.payments.settle(returnedItems.map(\.id), to: .returned, reason: "account_closed", from: .sent, at: now)
            try await s.payments.settle(rejectedIds, to: .failed, reason: "bank_rejected", from: .sent, at: now)
            for item in returnedItems {
                try await s.payments.notify(personId: item.personId, at: now, kind: .paymentReturned,
                                            parameters: ["programme": programme, "amountFen": "\(item.amountFen)", "account": Mask.account(item.account)],
                                            paymentId: item.id)
            }
        }
        Counter(label: "onecard_payments_settled_total", dimensions: [("outcome", "paid")]).increment(by: paid.count)
        return true
    }

    /// Runs passes until the batch completes or `timeout` passes (tests; the server runs `PaymentExecutorService`).
    @discardableResult
    func drain(_ batchId: PaymentBatch.ID, timeout: Duration = .seconds(60)) async throws -> Pass {
        let deadline = ContinuousClock.now + timeout
        while true {
            let r = try await pass(batchId)
            if r == .completed || ContinuousClock.now > deadline { return r }
            if case .waiting = r { return r }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Formats fen as yuan for messages: 12345 → "123.45".
enum Yuan {
    static func format(_ fen: Int64) -> String { "\(fen / 100).\(String(format: "%02d", Int(abs(fen % 100))))" }
}

/// Runs the executor over every executing batch, applies migration plans whose choice period is over and abandons
/// uploads a crash cut off, from start-up (which resumes whatever a crash interrupted) until shutdown. While there
/// is work it looks again after 200 ms; when idle it backs off to 5 s, and is woken at once by `paymentWork`
/// (a batch executed or retried, a bank or a card's account changed). A batch with a bank that cannot be reached
/// waits longer each time (`BatchRetrySchedule`) without holding up the others.
struct PaymentExecutorService: Service {
    let executor: PaymentExecutor
    let payments: PaymentService
    let banking: BankService
    let work: WorkSignal
    let logger: Logger
    static let busy = Duration.milliseconds(200), idle = Duration.seconds(5)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var pause = Self.busy
            var lastSweep = ContinuousClock.now - .seconds(3600)
            var retries = BatchRetrySchedule()
            var lastSeen = work.current
            while !Task.isCancelled {
                let seen = work.current
                if seen != lastSeen { retries.reset(); lastSeen = seen }
                var busy = false
                do {
                    if ContinuousClock.now - lastSweep > .seconds(60) {
                        lastSweep = ContinuousClock.now
                        try await payments.abandonStaleUploads()
                    }
                    for code in try await banking.migrationsDue() {
                        _ = try await banking.applyMigration(code, actor: Actor.system)
                        busy = true
                    }
                    let executing = try await payments.executingBatches()
                    retries.keep(only: executing)
                    for id in executing where retries.isDue(id, now: Date()) {
                        busy = true
                        if try await executor.pass(id) == .bankUnavailable { retries.unreachable(id, now: Date()) } else { retries.reached(id) }
                    }
                } catch {
                    logger.error("payment executor pass failed: \(error)")
                }
                pause = busy ? Self.busy : min(pause * 2, Self.idle)
                if let due = retries.nextDue { pause = max(min(pause, .milliseconds(Int(due.timeIntervalSinceNow * 1000))), .milliseconds(50)) }
                await work.wait(after: seen, upTo: pause)
            }
        }
    }
}
