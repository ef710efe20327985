import Foundation

/// The states of a physical card (API `status`).
public enum CardStatus: String, Codable, Sendable, CaseIterable {
    case issued, active
    case temporarilyLost = "temporarily_lost"
    case lost, replaced, cancelled

    /// Whether this card still counts as the person's one card (一人一卡).
    public var isLive: Bool { self != .replaced && self != .cancelled }
}

public enum LossKind: String, Codable, Sendable, CaseIterable { case temporary, formal }
public enum ReplaceReason: String, Codable, Sendable, CaseIterable { case lost, damaged, expired, upgrade }
public enum CancelReason: String, Codable, Sendable, CaseIterable { case death, emigration, duplicate, other }

/// Everything that can happen to a card. Each has exactly one legal set of source states.
public enum CardAction: Sendable, Equatable {
    case activate
    case reportLoss(LossKind)
    case unlock
    /// A temporary loss report lapsing at the end of the jurisdiction's period.
    case lapse
    case replace(ReplaceReason)
    case cancel(CancelReason)

    /// The event type written for this action.
    public var eventType: String {
        switch self {
        case .activate: "card_activated"
        case .reportLoss(.temporary): "loss_reported_temporary"
        case .reportLoss(.formal): "loss_reported_formal"
        case .unlock: "card_unlocked"
        case .lapse: "temporary_loss_lapsed"
        case .replace: "card_replaced"
        case .cancel: "card_cancelled"
        }
    }

    public var reason: String? {
        switch self {
        case .replace(let r): r.rawValue
        case .cancel(let r): r.rawValue
        case .reportLoss(let k): k.rawValue
        default: nil
        }
    }
}

/// The card state machine. The one place that says which move is legal.
public enum CardLifecycle {
    public static func next(from status: CardStatus, _ action: CardAction) throws(DomainError) -> CardStatus {
        switch (action, status) {
        case (.activate, .issued): return .active
        case (.reportLoss(.temporary), .active): return .temporarilyLost
        case (.reportLoss(.formal), .active), (.reportLoss(.formal), .temporarilyLost): return .lost
        case (.unlock, .temporarilyLost), (.unlock, .lost): return .active
        case (.lapse, .temporarilyLost): return .active
        case (.replace, .issued), (.replace, .active), (.replace, .temporarilyLost), (.replace, .lost): return .replaced
        case (.cancel, .issued), (.cancel, .active), (.cancel, .temporarilyLost), (.cancel, .lost): return .cancelled
        default:
            throw .invalidTransition("a card that is \(status.rawValue) cannot take \(action.eventType)")
        }
    }

    /// When a temporary loss reported at `lostAt` lapses under a period of `lapseDays` (the jurisdiction's pack).
    public static func lapseAt(lostAt: Date, lapseDays: Int) -> Date {
        lostAt.addingTimeInterval(TimeInterval(lapseDays) * 86_400)
    }

    /// Temporary loss reports made before this instant have lapsed at `now`.
    public static func lapseCutoff(now: Date, lapseDays: Int) -> Date {
        now.addingTimeInterval(-TimeInterval(lapseDays) * 86_400)
    }

    /// Whether a temporary loss reported at `lostAt` has lapsed at `now` under a period of `lapseDays`.
    public static func hasLapsed(lostAt: Date, lapseDays: Int, now: Date) -> Bool {
        now >= lapseAt(lostAt: lostAt, lapseDays: lapseDays)
    }
}

extension Card {
    /// When this card's temporary loss report lapses back to active, if it is temporarily lost and that moment is
    /// not after `now`; nil otherwise.
    public func lapsedLoss(lapseDays: Int, now: Date) -> Date? {
        guard status == .temporarilyLost, let lostAt, CardLifecycle.hasLapsed(lostAt: lostAt, lapseDays: lapseDays, now: now) else { return nil }
        return CardLifecycle.lapseAt(lostAt: lostAt, lapseDays: lapseDays)
    }
}

/// A six-digit PIN, validated when made.
public struct PIN: Sendable {
    public let digits: String
    public init(_ raw: String) throws(DomainError) {
        guard raw.count == 6, raw.allSatisfy(\.isASCIIDigit) else {
            throw DomainError(.invalidPin, "a PIN is exactly 6 digits")
        }
        digits = raw
    }
}
