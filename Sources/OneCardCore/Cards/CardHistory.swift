import Foundation

/// A card as it stood at an earlier instant, read back from its events: a transit gate decided offline, and its taps
/// are judged as of their time (API.md "Transit": "a card lost before `at` is rejected or its trip disputed").
public struct CardHistory: Sendable {
    /// The event types that load and remove the transit function (`POST …/functions`).
    public static let transitLoaded = "transit_function_loaded"
    public static let transitRemoved = "transit_function_removed"

    public struct State: Sendable, Equatable {
        /// Nil before the card was issued.
        public var status: CardStatus?
        public var transit: Bool

        public init(status: CardStatus?, transit: Bool) { self.status = status; self.transit = transit }
    }

    let card: Card
    let events: [CardEvent]
    let lapseDays: Int

    /// `events`: the card's own, in the order they were written.
    public init(card: Card, events: [CardEvent], lapseDays: Int) {
        self.card = card
        self.events = events.filter { $0.cardNumber == card.number }
        self.lapseDays = lapseDays
    }

    /// The card's status and transit function at `at`. A temporary loss whose period had run by then counts as lapsed
    /// (the lapse is written lazily, dated when it fell due). The transit function before its first change is what
    /// that change undid; without any change, what the card has now.
    /// The events that change a card's status after it was issued.
    static let statusEvents: Set<String> = ["card_activated", "card_unlocked", "temporary_loss_lapsed", "loss_reported_temporary", "loss_reported_formal",
                                            "card_replaced", "card_cancelled"]

    public func state(at: Date) -> State {
        let firstChange = events.first { $0.type == Self.transitLoaded || $0.type == Self.transitRemoved }
        var transit = firstChange.map { $0.type == Self.transitRemoved } ?? card.transit
        // Before its first status change a card was issued (waiting for activation) or, if that change was not the
        // activation (a card brought in from elsewhere), already active; a card with no change at all is as it is now.
        let firstStatus = events.first { Self.statusEvents.contains($0.type) }
        let initial: CardStatus = firstStatus.map { $0.type == "card_activated" ? .issued : .active } ?? card.status
        var status: CardStatus? = card.issuedAt <= at ? initial : nil
        var lostAt: Date?
        for e in events where e.at <= at {
            switch e.type {
            case "card_activated", "card_unlocked", "temporary_loss_lapsed": status = .active; lostAt = nil
            case "loss_reported_temporary": status = .temporarilyLost; lostAt = e.at
            case "loss_reported_formal": status = .lost; lostAt = e.at
            case "card_replaced": status = .replaced
            case "card_cancelled": status = .cancelled
            case Self.transitLoaded: transit = true
            case Self.transitRemoved: transit = false
            default: break
            }
        }
        if status == .temporarilyLost, let lostAt, CardLifecycle.hasLapsed(lostAt: lostAt, lapseDays: lapseDays, now: at) {
            status = .active
        }
        return State(status: status, transit: transit)
    }
}
