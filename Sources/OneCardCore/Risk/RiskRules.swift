import Foundation

/// What the node watches for in the stream of uses and payments (JJJ art. 21, CQ art. 16, ZJ art. 18, GD art. 17: risk
/// monitoring and an emergency response). Each rule's thresholds come from the policy pack (`RiskThresholds`).
public enum RiskRule: String, Codable, Sendable, CaseIterable {
    /// A lost, cancelled or replaced card presented — refused online, or let through by an offline gate that did not know yet.
    case revokedCardUsed = "revoked_card_used"
    /// Two uses of one card farther apart than the time between them allows.
    case impossibleTravel = "impossible_travel"
    /// One card at many venues in a short window: lending or renting (GD art. 19, JJJ art. 25).
    case manyVenues = "many_venues"
    /// Replayed or forged QR codes or chip answers in a burst at one terminal: a cloned card or a compromised terminal.
    case replayBurst = "replay_burst"
    /// A payment line for a person whose card was cancelled on death, or for a cancelled card.
    case deceasedPayee = "deceased_payee"
    /// The payee's bank account changed shortly before a large payment.
    case accountChangedBeforePayment = "account_changed_before_payment"
}

public enum RiskSeverity: String, Codable, Sendable, CaseIterable { case low, medium, high }

/// A rule's parameters, per region in its policy pack (`risk`); absent members take `preset`'s values. The defaults for
/// `many_venues` and `account_changed_before_payment` are those API.md names; the travel times are presets of ours
/// (no regulation fixes them), labelled so, to be tuned per region.
public struct RiskThresholds: Codable, Sendable, Equatable {
    /// `many_venues`: this many distinct venues within `manyVenuesWindowMinutes`.
    public var manyVenuesCount: Int
    public var manyVenuesWindowMinutes: Int
    /// `impossible_travel`: the least plausible minutes between uses in two different prefectures of one province,
    /// and in two different provinces [preset].
    public var minutesBetweenPrefectures: Int
    public var minutesBetweenProvinces: Int
    /// `replay_burst`: this many replayed or forged presentations at one terminal within the window.
    public var replayBurstCount: Int
    public var replayBurstWindowMinutes: Int
    /// `account_changed_before_payment`: an account changed within this many days before a payment of at least `largePaymentFen`.
    public var accountChangeDays: Int
    public var largePaymentFen: Int64

    public static let preset = RiskThresholds(manyVenuesCount: 5, manyVenuesWindowMinutes: 10, minutesBetweenPrefectures: 20,
                                              minutesBetweenProvinces: 45, replayBurstCount: 5, replayBurstWindowMinutes: 5,
                                              accountChangeDays: 7, largePaymentFen: 1_000_000)

    public init(manyVenuesCount: Int, manyVenuesWindowMinutes: Int, minutesBetweenPrefectures: Int, minutesBetweenProvinces: Int,
                replayBurstCount: Int, replayBurstWindowMinutes: Int, accountChangeDays: Int, largePaymentFen: Int64) {
        self.manyVenuesCount = manyVenuesCount; self.manyVenuesWindowMinutes = manyVenuesWindowMinutes
        self.minutesBetweenPrefectures = minutesBetweenPrefectures; self.minutesBetweenProvinces = minutesBetweenProvinces
        self.replayBurstCount = replayBurstCount; self.replayBurstWindowMinutes = replayBurstWindowMinutes
        self.accountChangeDays = accountChangeDays; self.largePaymentFen = largePaymentFen
    }

    private enum CodingKeys: String, CodingKey {
        case manyVenuesCount, manyVenuesWindowMinutes, minutesBetweenPrefectures, minutesBetweenProvinces, replayBurstCount,
             replayBurstWindowMinutes, accountChangeDays, largePaymentFen
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let p = Self.preset
        manyVenuesCount = try c.decodeIfPresent(Int.self, forKey: .manyVenuesCount) ?? p.manyVenuesCount
        manyVenuesWindowMinutes = try c.decodeIfPresent(Int.self, forKey: .manyVenuesWindowMinutes) ?? p.manyVenuesWindowMinutes
        minutesBetweenPrefectures = try c.decodeIfPresent(Int.self, forKey: .minutesBetweenPrefectures) ?? p.minutesBetweenPrefectures
        minutesBetweenProvinces = try c.decodeIfPresent(Int.self, forKey: .minutesBetweenProvinces) ?? p.minutesBetweenProvinces
        replayBurstCount = try c.decodeIfPresent(Int.self, forKey: .replayBurstCount) ?? p.replayBurstCount
        replayBurstWindowMinutes = try c.decodeIfPresent(Int.self, forKey: .replayBurstWindowMinutes) ?? p.replayBurstWindowMinutes
        accountChangeDays = try c.decodeIfPresent(Int.self, forKey: .accountChangeDays) ?? p.accountChangeDays
        largePaymentFen = try c.decodeIfPresent(Int64.self, forKey: .largePaymentFen) ?? p.largePaymentFen
    }
}

/// A use as the rules see it: where, when, what was decided.
public struct RiskUse: Sendable, Equatable {
    public var id: String
    public var cardNumber: CardNumber?
    public var terminalId: String
    public var venueId: String
    /// The venue's GB/T 2260 code (six digits; the first two name the province, the first four the prefecture).
    public var venueRegion: String
    public var at: Date
    public var accepted: Bool
    public var reason: String?

    public init(id: String, cardNumber: CardNumber?, terminalId: String, venueId: String, venueRegion: String, at: Date, accepted: Bool, reason: String?) {
        self.id = id; self.cardNumber = cardNumber; self.terminalId = terminalId; self.venueId = venueId; self.venueRegion = venueRegion
        self.at = at; self.accepted = accepted; self.reason = reason
    }
}

/// A finding: the rule, how bad, what it is about (deduplication key), and the evidence.
public struct RiskFinding: Sendable, Equatable {
    public var rule: RiskRule
    public var severity: RiskSeverity
    /// What the alert is about: `card:<hash>`, `terminal:<id>` or `payment:<id>`.
    public var subject: String
    /// Equal keys are one alert: a finding seen again (another process, a rescan) adds nothing.
    public var key: String
    public var at: Date
    /// Uses or payments, and a sentence for the auditor.
    public var useIds: [String]
    public var paymentIds: [String]
    public var summary: String

    public init(rule: RiskRule, severity: RiskSeverity, subject: String, key: String, at: Date, useIds: [String] = [], paymentIds: [String] = [], summary: String) {
        self.rule = rule; self.severity = severity; self.subject = subject; self.key = key; self.at = at
        self.useIds = useIds; self.paymentIds = paymentIds; self.summary = summary
    }
}

/// The rules, pure: the monitor hands them what the store holds and writes what they find.
public enum RiskRules {
    /// Denial reasons that say the card itself was revoked.
    public static let revokedReasons: Set<String> = ["card_lost", "card_cancelled", "token_revoked"]
    /// Denial reasons that say a presentation was replayed or forged (a cloned card, a copied code, a tampered terminal).
    public static let forgeryReasons: Set<String> = ["token_replayed", "token_invalid", "chip_auth_failed"]

    /// `revoked_card_used`: a use refused because the card was revoked, or accepted (offline) at or after the moment
    /// the card was revoked (`revokedAt`, nil when the card is in use).
    public static func revokedCardUsed(_ use: RiskUse, revokedAt: Date?) -> RiskFinding? {
        guard let card = use.cardNumber else { return nil }
        let subject = "card:\(card.hash)"
        if use.accepted, let revokedAt, revokedAt <= use.at {
            return RiskFinding(rule: .revokedCardUsed, severity: .high, subject: subject, key: "revoked_card_used:\(use.id)", at: use.at,
                               useIds: [use.id], summary: "a revoked card was let through at a gate that did not know yet")
        }
        if !use.accepted, let reason = use.reason, revokedReasons.contains(reason) {
            return RiskFinding(rule: .revokedCardUsed, severity: .medium, subject: subject, key: "revoked_card_used:\(use.id)", at: use.at,
                               useIds: [use.id], summary: "a revoked card was presented (\(reason)) and refused")
        }
        return nil
    }

    /// `many_venues`: `recent` are one card's accepted uses, any order; a finding when the newest `window` holds
    /// `count` distinct venues or more. Keyed by the window's first use, so one spree is one alert.
    public static func manyVenues(_ recent: [RiskUse], thresholds t: RiskThresholds) -> RiskFinding? {
        let uses = recent.filter(\.accepted).sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        guard let card = uses.first?.cardNumber else { return nil }
        let window = TimeInterval(t.manyVenuesWindowMinutes * 60)
        // The window slides over the uses once, counting the uses of each venue inside it: linear in the uses (a set
        // built per window was quadratic, and a busy card's thousands of uses held a core for minutes).
        var inWindow: [String: Int] = [:]
        var start = 0
        for end in uses.indices {
            inWindow[uses[end].venueId, default: 0] += 1
            while uses[end].at.timeIntervalSince(uses[start].at) > window {
                let venue = uses[start].venueId
                inWindow[venue] = inWindow[venue]! > 1 ? inWindow[venue]! - 1 : nil
                start += 1
            }
            if inWindow.count >= t.manyVenuesCount {
                let slice = uses[start...end]
                return RiskFinding(rule: .manyVenues, severity: .high, subject: "card:\(card.hash)", key: "many_venues:\(slice.first!.id)",
                                   at: uses[end].at, useIds: slice.map(\.id),
                                   summary: "one card used at \(inWindow.count) venues within \(t.manyVenuesWindowMinutes) minutes")
            }
        }
        return nil
    }

    /// `impossible_travel`: two consecutive accepted uses of one card in different prefectures (or provinces) closer in
    /// time than the least plausible journey between them.
    public static func impossibleTravel(_ recent: [RiskUse], thresholds t: RiskThresholds) -> RiskFinding? {
        let uses = recent.filter(\.accepted).sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        guard uses.count >= 2, let card = uses.first?.cardNumber else { return nil }
        for (a, b) in zip(uses, uses.dropFirst()) {
            guard let needed = minimumMinutes(from: a.venueRegion, to: b.venueRegion, thresholds: t) else { continue }
            let gap = b.at.timeIntervalSince(a.at)
            if gap < TimeInterval(needed * 60) {
                return RiskFinding(rule: .impossibleTravel, severity: .high, subject: "card:\(card.hash)", key: "impossible_travel:\(a.id):\(b.id)",
                                   at: b.at, useIds: [a.id, b.id],
                                   summary: "used in \(a.venueRegion) and \(b.venueRegion) \(Int(gap / 60)) minutes apart (at least \(needed) needed)")
            }
        }
        return nil
    }

    /// The least plausible minutes between two regions, nil within one prefecture (any gap is plausible there).
    public static func minimumMinutes(from a: String, to b: String, thresholds t: RiskThresholds) -> Int? {
        guard a.count >= 4, b.count >= 4 else { return nil }
        if a.prefix(2) != b.prefix(2) { return t.minutesBetweenProvinces }
        if a.prefix(4) != b.prefix(4) { return t.minutesBetweenPrefectures }
        return nil
    }

    /// `replay_burst`: `recent` are one terminal's refusals, any order; a finding when `count` of them for replay or
    /// forgery fall within the window. Keyed by the burst's first refusal.
    public static func replayBurst(_ recent: [RiskUse], thresholds t: RiskThresholds) -> RiskFinding? {
        let refusals = recent.filter { !$0.accepted && $0.reason.map(forgeryReasons.contains) == true }.sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        guard let terminal = refusals.first?.terminalId else { return nil }
        let window = TimeInterval(t.replayBurstWindowMinutes * 60)
        var start = 0
        for end in refusals.indices {
            while refusals[end].at.timeIntervalSince(refusals[start].at) > window { start += 1 }
            if end - start + 1 >= t.replayBurstCount {
                let slice = refusals[start...end]
                return RiskFinding(rule: .replayBurst, severity: .high, subject: "terminal:\(terminal)", key: "replay_burst:\(slice.first!.id)",
                                   at: refusals[end].at, useIds: slice.map(\.id),
                                   summary: "\(slice.count) replayed or forged presentations at one terminal within \(t.replayBurstWindowMinutes) minutes")
            }
        }
        return nil
    }

    /// What a payment line about to be sent needs: its amount, whether its payee died, and when the payee's card's bank
    /// account last changed.
    public struct PaymentFacts: Sendable {
        public var paymentId: String
        public var amountFen: Int64
        public var payeeDeceased: Bool
        public var accountChangedAt: Date?
        public init(paymentId: String, amountFen: Int64, payeeDeceased: Bool, accountChangedAt: Date?) {
            self.paymentId = paymentId; self.amountFen = amountFen; self.payeeDeceased = payeeDeceased; self.accountChangedAt = accountChangedAt
        }
    }

    /// The findings on a payment line at the moment it would be sent (`now`). `account_changed_before_payment` holds
    /// the payment until an auditor releases it; `deceased_payee` goes with the line's failure (it is never paid).
    public static func payment(_ p: PaymentFacts, at now: Date, thresholds t: RiskThresholds) -> [RiskFinding] {
        var found: [RiskFinding] = []
        if p.payeeDeceased {
            found.append(RiskFinding(rule: .deceasedPayee, severity: .high, subject: "payment:\(p.paymentId)",
                                     key: "deceased_payee:\(p.paymentId)", at: now, paymentIds: [p.paymentId],
                                     summary: "a payment line for a person whose card was cancelled on death"))
        }
        if p.amountFen >= t.largePaymentFen, let changed = p.accountChangedAt,
           changed <= now, now.timeIntervalSince(changed) < TimeInterval(t.accountChangeDays * 86_400) {
            found.append(RiskFinding(rule: .accountChangedBeforePayment, severity: .high, subject: "payment:\(p.paymentId)",
                                     key: "account_changed_before_payment:\(p.paymentId)", at: now, paymentIds: [p.paymentId],
                                     summary: "the bank account changed \(Int(now.timeIntervalSince(changed) / 3_600)) hour(s) before a payment of \(p.amountFen) fen"))
        }
        return found
    }

    /// Whether a finding holds its payment until reviewed.
    public static func holdsPayment(_ f: RiskFinding) -> Bool { f.rule == .accountChangedBeforePayment }
}
