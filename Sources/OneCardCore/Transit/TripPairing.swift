import Foundation

/// Pairs one card's taps at one operator into trips, by time (issue 13; API.md "Transit").
///
/// - An `in` tap opens a trip; the next `out` tap closes it (within `longestTrip`: an exit after the table's
///   `maxMinutesInside` is an overstay, priced by `FareRules`).
/// - A trip still open when the card's next entry (`in` or `board`) comes is closed missing its tap-out at that entry
///   or when `maxMinutesInside` has passed, whichever is first; one still open when `maxMinutesInside` has passed on
///   the node's clock is closed missing its tap-out too (a table without a limit: `defaultLimitMinutes`).
/// - A `board` tap (a flat-fare bus) is a trip by itself.
/// - An `out` tap with no open trip before it waits: its entry may still come (a gate offline for a day uploads late,
///   and taps arrive out of order). After `orphanExitWait` it is closed as a trip missing its tap-in.
///
/// Trips once closed are not reopened: a tap that arrives after its trip was closed is left unpaired (and an orphan
/// exit in time), never a second charge.
public enum TripPairing {
    /// The longest a tap-in and a tap-out can be apart and still be one trip (overstays included).
    public static let longestTrip: TimeInterval = 86_400
    /// How long a trip stays open without a tap-out when the fare table sets no `maxMinutesInside` (a preset).
    public static let defaultLimitMinutes = 24 * 60
    /// How long an exit with no entry waits for its entry before it is closed without one (a preset).
    public static let orphanExitWait: TimeInterval = 7 * 86_400

    /// A tap as pairing sees it.
    public struct Tap: Sendable, Equatable {
        public var id: String
        public var at: Date
        public var direction: TapDirection
        public init(id: String, at: Date, direction: TapDirection) { self.id = id; self.at = at; self.direction = direction }
    }

    /// A closed trip.
    public struct Trip: Sendable, Equatable {
        /// Nil for an exit that never found its entry.
        public var entry: Tap?
        public var exit: Tap?
        public var startedAt: Date
        public var endedAt: Date?
        public var kind: Kind
        public enum Kind: Sendable, Equatable {
            /// Tapped in and out.
            case complete
            /// One tap on boarding (a flat fare).
            case singleTap
            /// No tap-out: closed at the next entry or when the time limit passed.
            case missingTapOut
            /// An exit whose entry never came.
            case missingTapIn
        }
    }

    /// The trips `taps` close as of `now`, and the taps still waiting (an open entry, an exit waiting for its entry).
    /// `limitMinutes` gives the time limit of the fare table in force at an entry.
    public static func pair(_ taps: [Tap], now: Date, limitMinutes: (Date) -> Int?) -> (trips: [Trip], waiting: [Tap]) {
        // At the same instant an exit comes first: it closes the trip before, an entry then opens the next.
        let sorted = taps.sorted { ($0.at, $0.direction == .out ? 0 : 1, $0.id) < ($1.at, $1.direction == .out ? 0 : 1, $1.id) }
        var trips: [Trip] = []
        var waiting: [Tap] = []
        var open: Tap?
        func limit(_ entry: Tap) -> TimeInterval { Double(limitMinutes(entry.at) ?? defaultLimitMinutes) * 60 }
        func closeOpen(at next: Date?) {
            guard let entry = open else { return }
            let byTime = entry.at.addingTimeInterval(limit(entry))
            trips.append(Trip(entry: entry, exit: nil, startedAt: entry.at, endedAt: min(next ?? byTime, byTime), kind: .missingTapOut))
            open = nil
        }
        for tap in sorted {
            switch tap.direction {
            case .in:
                closeOpen(at: tap.at)
                open = tap
            case .board:
                closeOpen(at: tap.at)
                trips.append(Trip(entry: tap, exit: nil, startedAt: tap.at, endedAt: nil, kind: .singleTap))
            case .out:
                if let entry = open, tap.at.timeIntervalSince(entry.at) <= longestTrip {
                    trips.append(Trip(entry: entry, exit: tap, startedAt: entry.at, endedAt: tap.at, kind: .complete))
                    open = nil
                } else {
                    closeOpen(at: nil)
                    if now.timeIntervalSince(tap.at) >= orphanExitWait {
                        trips.append(Trip(entry: nil, exit: tap, startedAt: tap.at, endedAt: tap.at, kind: .missingTapIn))
                    } else {
                        waiting.append(tap)
                    }
                }
            }
        }
        if let entry = open {
            if now.timeIntervalSince(entry.at) >= limit(entry) { closeOpen(at: nil) } else { waiting.append(entry) }
        }
        return (trips.sorted { ($0.startedAt, $0.entry?.id ?? $0.exit?.id ?? "") < ($1.startedAt, $1.entry?.id ?? $1.exit?.id ?? "") }, waiting)
    }
}

extension TripPairing {
    /// A closed trip's time span, for taps that arrive after it was closed.
    public struct Span: Sendable, Equatable {
        public var tripId: String
        public var from: Date
        public var through: Date
        /// Closed without its tap-out and not charged yet: a tap-out that arrives late may still complete it.
        public var reopenable: Bool
        public init(tripId: String, from: Date, through: Date, reopenable: Bool = false) {
            self.tripId = tripId; self.from = from; self.through = through; self.reopenable = reopenable
        }
    }

    /// The trip a late tap-out completes: one closed without its tap-out (at the next entry, or when its time limit
    /// passed) and not charged yet, whose span the tap-out falls in. Gates upload on their own, so an exit gate's tap may
    /// arrive after the entry gate's next entry; the trip is then paired again rather than charged the highest fare.
    public static func reopened(by tap: Tap, among spans: [Span]) -> String? {
        guard tap.direction == .out else { return nil }
        return spans.first { $0.reopenable && $0.from < tap.at && tap.at <= $0.through }?.tripId
    }

    /// The closed trip a late tap falls within, if any: such a tap belongs to that trip (a late tap-out of a trip closed
    /// without one, a gate's double read) and is never priced again. A trip spans its start up to its end; its end itself
    /// takes only a tap-out (an entry at that instant starts the next trip), its start any tap (a double read).
    public static func closedTrip(containing tap: Tap, among spans: [Span]) -> String? {
        spans.first { span in
            tap.at == span.from || (span.from < tap.at && tap.at < span.through) || (tap.at == span.through && tap.direction == .out)
        }?.tripId
    }
}

/// Prices a paired trip: the facts `FareRules` needs from its taps.
public enum TripPricing {
    /// The fare of a trip from its taps: a complete trip by the stations (or the exit's measured distance); a single tap
    /// at its flat fare (a distance fare without a tap-out is its highest fare from the stop); a missing tap-out the
    /// highest fare from the entry station; a missing tap-in the highest fare to the exit station.
    public static func price(_ trip: TripPairing.Trip, mode: TransitMode, entryStation: String?, exitStation: String?, measuredKm: Double?,
                             table: FareTable, monthToDateFen: Int, previous: PreviousTrip?, concession: ConcessionGrant?) throws(DomainError) -> FareBreakdown {
        var facts = TripFacts(mode: mode, entryStation: entryStation, exitStation: exitStation, distanceKm: measuredKm, tapInAt: trip.startedAt,
                              tapOutAt: trip.kind == .complete ? trip.endedAt : nil)
        switch trip.kind {
        case .complete: break
        case .singleTap, .missingTapOut: facts.tapOutMissing = table.model.dependsOnDistance
        case .missingTapIn:
            facts.entryStation = exitStation
            facts.tapOutMissing = table.model.dependsOnDistance
        }
        var b = try FareRules.charge(table: table, trip: facts, monthToDateFen: monthToDateFen, previous: previous, concession: concession)
        if trip.kind == .missingTapIn, b.basis == .missingTapOut { b.basis = .missingTapIn }
        return b
    }
}
