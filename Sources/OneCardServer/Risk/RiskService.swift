import Foundation
import Logging
import ServiceLifecycle
import OneCardCore
import OneCardStore

/// Risk monitoring (issue 17; JJJ art. 21, CQ art. 16, ZJ art. 18, GD art. 17): the monitor reads the uses the node
/// recorded, in recording order, and raises what `RiskRules` finds; the payment executor asks `RiskRules.payment`
/// before it sends a line. Alerts are worked by the auditor: assigned, acted on (hold or release a payment, require
/// online checks for a card, suspend a terminal) and resolved. Every act is audited.
///
/// The monitor runs beside acceptance, never in it: an acceptance writes its use as before and the monitor reads it
/// afterwards (within `interval`), so a busy gate waits for nothing here. Findings are keyed, so several processes
/// watching one database, or a rescan after a restart, raise each alert once.
struct RiskService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let thresholds: RiskThresholds
    let venues: VenueService
    let paymentWork: WorkSignal
    /// The uses this process judged within the lookback: read again (a late commit is still seen) but not judged again.
    let judged = JudgedUses()

    /// Uses recorded up to this long before the cursor are read again: a transaction that took a recording time
    /// before the cursor but committed after it is still seen (findings are keyed, so nothing is raised twice).
    static let lookback: TimeInterval = 30
    static let cursorName = "uses"

    /// Reads what was recorded since the last scan and raises what the rules find; the number of uses read.
    @discardableResult
    func scan(limit: Int = 2000) async throws -> Int {
        let now = clock.now()
        let last = try await store.read { try await $0.risk.cursor(Self.cursorName) }
        // The first scan of a node starts now: history before risk monitoring existed is not judged.
        guard let last else {
            try await store.write { try await $0.risk.setCursor(Self.cursorName, Timestamp.millis(now)) }
            return 0
        }
        var after = Timestamp.date(millis: last).addingTimeInterval(-Self.lookback)
        var read = 0
        while true {
            try Task.checkCancellation()
            let from = after
            let page = try await store.read { try await $0.risk.usesRecorded(after: from, through: now, limit: limit) }
            guard let newest = page.last else { break }
            let fresh = judged.unseen(page.map { ($0.use.id, $0.recordedAt) })
            try await judge(page.filter { fresh[$0.use.id] != nil }.map(\.use), at: now)
            judged.remember(fresh, forgettingBefore: Timestamp.date(millis: last).addingTimeInterval(-Self.lookback))
            read += page.count
            after = newest.recordedAt
            if page.count < limit { break }
        }
        let cursor = max(last, Timestamp.millis(after))
        try await store.write { try await $0.risk.setCursor(Self.cursorName, cursor) }
        return read
    }

    /// Runs every use rule over a page of uses: each card's recent uses, each terminal's recent refusals.
    private func judge(_ uses: [RiskUse], at now: Date) async throws {
        guard !uses.isEmpty else { return }
        let t = thresholds
        var findings: [RiskFinding] = []
        let cards = Array(Set(uses.compactMap(\.cardNumber)))
        let revoked = try await store.read { try await $0.risk.revokedSince(cards) }
        for use in uses {
            if let f = RiskRules.revokedCardUsed(use, revokedAt: use.cardNumber.flatMap { revoked[$0] }) { findings.append(f) }
        }
        let span = TimeInterval(max(t.manyVenuesWindowMinutes, t.minutesBetweenProvinces, t.minutesBetweenPrefectures) * 60)
        for (card, own) in Dictionary(grouping: uses.filter { $0.accepted && $0.cardNumber != nil }, by: { $0.cardNumber! }) {
            // A page may name many busy cards: stop between them at shutdown (the page is judged again at the next start).
            try Task.checkCancellation()
            let first = own.map(\.at).min()!, last = own.map(\.at).max()!
            let recent = try await store.read { try await $0.risk.uses(card: card, from: first.addingTimeInterval(-span), through: last.addingTimeInterval(span)) }
            if let f = RiskRules.manyVenues(recent, thresholds: t) { findings.append(f) }
            if let f = RiskRules.impossibleTravel(recent, thresholds: t) { findings.append(f) }
        }
        let window = TimeInterval(t.replayBurstWindowMinutes * 60)
        for (terminal, own) in Dictionary(grouping: uses.filter { !$0.accepted && $0.reason.map(RiskRules.forgeryReasons.contains) == true }, by: \.terminalId) {
            let first = own.map(\.at).min()!, last = own.map(\.at).max()!
            let recent = try await store.read { try await $0.risk.refusals(terminal: terminal, from: first.addingTimeInterval(-window), through: last) }
            if let f = RiskRules.replayBurst(recent, thresholds: t) { findings.append(f) }
        }
        guard !findings.isEmpty else { return }
        let random = random
        let found = findings
        try await store.write { s in
            for f in found { try await Self.raise(f, id: random.uuid(), at: now, in: s) }
        }
    }

    /// Keeps a finding as an alert (once per key), with an audit entry when it is new; the new alert's id, or nil when
    /// the finding was known.
    @discardableResult
    static func raise(_ f: RiskFinding, id: String, at now: Date, in s: StoreSession) async throws -> String? {
        guard let id = try await s.risk.raise(f, id: id, at: now) else { return nil }
        try await s.audit.append(at: now, actor: "system", action: "risk_alert_raised", subject: "alert:\(id)", purpose: f.rule.rawValue)
        return id
    }

    // MARK: The auditor's work

    func alerts(status: RiskAlert.Status?, rule: RiskRule?, limit: Int) async throws -> [RiskAlert] {
        try await store.read { try await $0.risk.list(status: status, rule: rule, limit: limit) }
    }

    func alert(_ id: String) async throws -> RiskAlert {
        guard let a = try await store.read({ try await $0.risk.alert(id) }) else { throw DomainError(.alertNotFound, "no alert \(id)") }
        return a
    }

    /// Closes an alert with what was found; a resolved alert stays as it was.
    func resolve(_ id: String, resolution: String, by actor: String) async throws -> RiskAlert {
        let now = clock.now()
        return try await store.write { s in
            guard var a = try await s.risk.alert(id, lock: true) else { throw DomainError(.alertNotFound, "no alert \(id)") }
            guard a.status == .open else { throw DomainError(.alertResolved, "the alert was resolved \(a.resolvedAt.map(Timestamp.format) ?? "")") }
            a.status = .resolved; a.resolution = resolution; a.resolvedBy = actor; a.resolvedAt = now
            if a.assignee == nil { a.assignee = actor }
            try await s.risk.update(a)
            try await s.audit.append(at: now, actor: actor, action: "risk_alert_resolved", subject: "alert:\(id)", purpose: resolution)
            return a
        }
    }

    /// What an auditor can do about an alert.
    enum Action: String, CaseIterable, Sendable {
        /// Takes the alert (its assignee).
        case assign
        /// Holds the alert's pending payment lines until released; the executor waits for them, nothing is lost.
        case holdPayment = "hold_payment"
        /// Lets the held lines go; the executor pays them on its next pass.
        case releasePayment = "release_payment"
        /// The card's QR codes and chip are refused offline (through the revocation feed), so every use is checked online.
        case requireOnline = "require_online"
        case liftOnline = "lift_online"
        /// Revokes the terminal's key (a compromised terminal); a new one is created by the venue's admin.
        case suspendTerminal = "suspend_terminal"
    }

    func act(_ id: String, _ action: Action, by actor: String) async throws -> RiskAlert {
        let now = clock.now()
        let alert = try await self.alert(id)
        guard alert.status == .open else { throw DomainError(.alertResolved, "the alert was resolved; open a new one to act again") }
        let note: String
        switch action {
        case .assign:
            note = "assigned to \(actor)"
        case .holdPayment, .releasePayment:
            guard !alert.paymentIds.isEmpty else { throw DomainError(.actionNotApplicable, "the alert names no payment") }
            let changed = try await store.write { s in
                var n = 0
                for p in alert.paymentIds {
                    if action == .holdPayment ? try await s.risk.hold(paymentId: p, alertId: id) : try await s.risk.release(paymentId: p, alertId: id) { n += 1 }
                }
                return n
            }
            guard changed > 0 else {
                throw DomainError(.actionNotApplicable, action == .holdPayment ? "no payment of the alert is pending and free to hold" : "no payment is held by this alert")
            }
            if action == .releasePayment { paymentWork.signal() }
            note = "\(action == .holdPayment ? "held" : "released") \(changed) payment(s)"
        case .requireOnline, .liftOnline:
            guard let card = try await cardOf(alert) else { throw DomainError(.actionNotApplicable, "the alert names no card of this node") }
            try await store.write { s in
                if action == .requireOnline {
                    try await s.risk.requireOnline(card, alertId: id, by: actor, at: now)
                    try await Self.publishOnlineOnly(card, at: now, in: s)
                } else {
                    guard try await s.risk.liftOnline(card) else { throw DomainError(.actionNotApplicable, "the card is not under online checks") }
                    // The card's own status again: `active` un-revokes; a card revoked meanwhile stays revoked by its own entry.
                    if let c = try await s.cards.find(card), let status = RevocationStatus(c.status) {
                        try await s.trust.appendRevocation(.card(card, status: status, at: now))
                    }
                }
            }
            note = action == .requireOnline ? "online checks required for the card" : "online checks lifted"
        case .suspendTerminal:
            guard alert.subject.hasPrefix("terminal:") else { throw DomainError(.actionNotApplicable, "the alert names no terminal") }
            let terminalId = Terminal.ID(String(alert.subject.dropFirst("terminal:".count)))
            guard let t = try await store.read({ try await $0.venues.terminal(terminalId) }) else {
                throw DomainError(.actionNotApplicable, "the terminal is another node's or gone")
            }
            guard t.revokedAt == nil else { throw DomainError(.actionNotApplicable, "the terminal is already revoked") }
            try await venues.revokeTerminal(venueId: t.venueId, terminalId: terminalId, by: actor)
            note = "terminal \(terminalId) suspended"
        }
        return try await store.write { s in
            guard var a = try await s.risk.alert(id, lock: true) else { throw DomainError(.alertNotFound, "no alert \(id)") }
            if action == .assign || a.assignee == nil { a.assignee = actor }
            a.actions.append("\(Timestamp.format(now)) \(actor): \(note)")
            try await s.risk.update(a)
            try await s.audit.append(at: now, actor: actor, action: "risk_alert_\(action.rawValue)", subject: "alert:\(id)", purpose: note)
            return a
        }
    }

    /// The card an alert is about, from its uses (alerts name cards by hash only).
    private func cardOf(_ alert: RiskAlert) async throws -> CardNumber? {
        guard alert.subject.hasPrefix("card:"), !alert.useIds.isEmpty else { return nil }
        return try await store.read { s in
            for id in alert.useIds {
                if let n = try await s.risk.cardOfUse(id), try await s.cards.find(n) != nil { return n }
            }
            return nil
        }
    }

    /// Lists the card, and every QR token it has out, as `online_only` on the revocation feed: offline gates refuse
    /// them and send the holder to an online check.
    static func publishOnlineOnly(_ card: CardNumber, at now: Date, in s: StoreSession) async throws {
        try await s.trust.appendRevocation(.card(card, status: .onlineOnly, at: now))
        for jti in try await s.trust.outstandingTokens(cardNumber: card, now: now, skew: 60) {
            try await s.trust.appendRevocation(.token(jti: jti, status: .onlineOnly, at: now))
        }
    }
}

/// Runs the monitor every few seconds beside the HTTP server.
struct RiskMonitor: Service {
    let risk: RiskService
    let incident: IncidentService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await risk.scan() } catch { logger.error("risk scan failed: \(error)") }
                _ = try? await incident.current()
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// The ids of uses judged recently, with when they were recorded; forgotten once they fall behind the lookback.
final class JudgedUses: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String: Date] = [:]

    /// Of `uses`, those not judged yet, by id.
    func unseen(_ uses: [(id: String, recordedAt: Date)]) -> [String: Date] {
        lock.lock(); defer { lock.unlock() }
        var fresh: [String: Date] = [:]
        for u in uses where seen[u.id] == nil { fresh[u.id] = u.recordedAt }
        return fresh
    }

    /// Remembers uses as judged (after their judgement was stored); forgets those recorded before `cutoff`.
    func remember(_ uses: [String: Date], forgettingBefore cutoff: Date) {
        lock.lock(); defer { lock.unlock() }
        seen.merge(uses) { a, _ in a }
        if seen.count > 10_000 { seen = seen.filter { $0.value >= cutoff } }
    }
}
