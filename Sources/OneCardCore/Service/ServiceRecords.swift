import Foundation

/// What a complaint is about (API.md `topic`).
public enum ComplaintTopic: String, Codable, Sendable, CaseIterable {
    case cardRefused = "card_refused", serviceQuality = "service_quality", personalData = "personal_data", card, payment, other
}

/// How it reached the platform (API.md `channel`): the hotlines, online, at a venue or at a counter.
public enum ComplaintChannel: String, Codable, Sendable, CaseIterable {
    case hotline12333 = "12333", hotline12345 = "12345", online, venue, counter
}

/// A complaint, consultation or suggestion as stored.
public struct Complaint: Sendable, Equatable {
    public typealias ID = String
    public var id: ID
    public var kind: ComplaintKind
    public var topic: ComplaintTopic
    public var channel: ComplaintChannel
    public var summary: String
    public var regionCode: String?
    public var venueId: Venue.ID?
    /// The use on "who checked my card" it is about.
    public var useId: String?
    /// The complainant, when a holder lodged it online (or an agent for a known person).
    public var personId: Person.ID?
    public var lodgedBy: String
    public var receivedAt: Date
    public var dueAt: Date
    public var dueProvisional: Bool
    public var progress: ComplaintProgress
    public var answer: String?
    public var answeredAt: Date?
    public var satisfied: Bool?
    public var closedAt: Date?
    /// Forwarded through the hub to this province, which handles it (JJJ art. 23); the holder's side shows its answer.
    public var forwardedTo: String?
    /// Received from another province: where it was lodged, and its id there (answers and ratings travel by it).
    public var originRegion: String?
    public var originComplaintId: ID?

    public init(id: ID, kind: ComplaintKind, topic: ComplaintTopic, channel: ComplaintChannel, summary: String, regionCode: String?,
                venueId: Venue.ID?, useId: String?, personId: Person.ID?, lodgedBy: String, receivedAt: Date, dueAt: Date,
                dueProvisional: Bool, progress: ComplaintProgress = ComplaintProgress(), answer: String? = nil, answeredAt: Date? = nil,
                satisfied: Bool? = nil, closedAt: Date? = nil, forwardedTo: String? = nil, originRegion: String? = nil,
                originComplaintId: ID? = nil) {
        self.forwardedTo = forwardedTo; self.originRegion = originRegion; self.originComplaintId = originComplaintId
        self.id = id; self.kind = kind; self.topic = topic; self.channel = channel; self.summary = summary; self.regionCode = regionCode
        self.venueId = venueId; self.useId = useId; self.personId = personId; self.lodgedBy = lodgedBy; self.receivedAt = receivedAt
        self.dueAt = dueAt; self.dueProvisional = dueProvisional; self.progress = progress; self.answer = answer; self.answeredAt = answeredAt
        self.satisfied = satisfied; self.closedAt = closedAt
    }

    public func isOverdue(now: Date) -> Bool { ComplaintClock.isOverdue(dueAt: dueAt, answeredAt: answeredAt, now: now) }
}

/// One step of a complaint's history (API.md `events`).
public struct ComplaintEvent: Sendable, Equatable {
    public var at: Date
    public var type: ComplaintEventType
    public var actor: String
    public var note: String?
    public init(at: Date, type: ComplaintEventType, actor: String, note: String? = nil) {
        self.at = at; self.type = type; self.actor = actor; self.note = note
    }
}

/// Where an enforcement case stands (API.md `status`).
public enum CaseStatus: String, Codable, Sendable, CaseIterable {
    case open, ordered, decided
}

/// An enforcement case as stored.
public struct EnforcementCase: Sendable, Equatable {
    public typealias ID = String
    public enum Party: Sendable, Equatable {
        case person(Person.ID)
        case organisation(uscc: String, name: String)
        public var kind: PartyKind { if case .person = self { .person } else { .organisation } }
    }
    public var id: ID
    public var type: CaseType
    public var party: Party
    public var summary: String
    public var evidence: [String]
    public var status: CaseStatus
    public var openedAt: Date
    public var openedBy: String
    public var orderedAt: Date?
    public var orderDueAt: Date?
    public var serious: Bool?
    public var fineFen: Int64?
    public var decidedAt: Date?
    public var paymentDueAt: Date?
    public var creditClass: CreditClass?
    public var repairedOn: CalendarDay?

    public init(id: ID, type: CaseType, party: Party, summary: String, evidence: [String], status: CaseStatus = .open, openedAt: Date,
                openedBy: String, orderedAt: Date? = nil, orderDueAt: Date? = nil, serious: Bool? = nil, fineFen: Int64? = nil,
                decidedAt: Date? = nil, paymentDueAt: Date? = nil, creditClass: CreditClass? = nil, repairedOn: CalendarDay? = nil) {
        self.id = id; self.type = type; self.party = party; self.summary = summary; self.evidence = evidence; self.status = status
        self.openedAt = openedAt; self.openedBy = openedBy; self.orderedAt = orderedAt; self.orderDueAt = orderDueAt; self.serious = serious
        self.fineFen = fineFen; self.decidedAt = decidedAt; self.paymentDueAt = paymentDueAt; self.creditClass = creditClass
        self.repairedOn = repairedOn
    }
}

/// A payment recorded against a case's fine.
public struct CasePayment: Sendable, Equatable {
    public var id: String
    public var amountFen: Int64
    public var paidAt: Date
    public init(id: String, amountFen: Int64, paidAt: Date) { self.id = id; self.amountFen = amountFen; self.paidAt = paidAt }
}

extension EnforcementCase {
    /// What is owed on the fine given the payments so far (行政处罚法 art. 72): the surcharge accrues on the days the
    /// fine stayed unpaid after `paymentDueAt`, up to the day it was paid in full (or `now` while it is not).
    public func surchargeFen(payments: [CasePayment], now: Date) -> Int64 {
        guard let fine = fineFen, fine > 0, let due = paymentDueAt else { return 0 }
        var paid: Int64 = 0
        var settledAt: Date?
        for p in payments.sorted(by: { $0.paidAt < $1.paidAt }) {
            paid += p.amountFen
            if paid >= fine { settledAt = p.paidAt; break }
        }
        return EnforcementRules.surchargeFen(fineFen: fine, daysLate: EnforcementRules.daysLate(paymentDueAt: due, paidAt: settledAt ?? now))
    }

    /// The class of the integrity record a decided fine writes: 严重 when the case was serious, else 一般 (NDRC 2026
    /// measures; wave2-facts 3.3).
    public static func creditClass(serious: Bool) -> CreditClass { serious ? .serious : .general }
}
