import Foundation

/// What a caller or holder brings (API.md `kind`).
public enum ComplaintKind: String, Codable, Sendable, CaseIterable {
    case consultation, suggestion, complaint
}

/// Working days allowed to answer each kind. A region's pack may override the national preset
/// (`complaintDeadlineWorkingDays` in `Policies/*.json`).
public struct ComplaintDeadlines: Codable, Sendable, Equatable {
    public var consultation: Int
    public var suggestion: Int
    public var complaint: Int
    /// Where the numbers come from.
    public var basis: String

    public init(consultation: Int, suggestion: Int, complaint: Int, basis: String) {
        self.consultation = consultation; self.suggestion = suggestion; self.complaint = complaint; self.basis = basis
    }

    /// The preset used where a pack gives none: 3 / 7 / 15 working days (issue 16; wave2-facts 3.1, Sichuan 2026
    /// measures, a secondary source **[U]**), so it is labelled a preset and any pack may replace it.
    public static let preset = ComplaintDeadlines(
        consultation: 3, suggestion: 7, complaint: 15,
        basis: "preset [U]: 四川 2026 measures as reported by 四川日报 2026-01-26 (wave2-facts 3.1); no national figure found")

    public func workingDays(for kind: ComplaintKind) -> Int {
        switch kind {
        case .consultation: consultation
        case .suggestion: suggestion
        case .complaint: complaint
        }
    }

    public func validate() throws(DomainError) {
        for (name, n) in [("consultation", consultation), ("suggestion", suggestion), ("complaint", complaint)] {
            guard (1...60).contains(n) else { throw .invalidField("complaintDeadlineWorkingDays.\(name)", "1 to 60 working days") }
        }
    }
}

extension JurisdictionPolicy {
    /// The region's complaint deadlines: its pack's, or the national preset.
    public var complaintDeadlines: ComplaintDeadlines { complaintDeadlineWorkingDays ?? .preset }
}

/// When an answer is due and whether it is late (API.md `dueAt`, `overdue=true`).
public struct ComplaintClock: Sendable {
    public let workingDays: WorkingDays
    public let deadlines: ComplaintDeadlines

    public init(workingDays: WorkingDays, deadlines: ComplaintDeadlines) {
        self.workingDays = workingDays; self.deadlines = deadlines
    }

    /// 24:00 CST of the N-th working day after the CST day of receipt (that day not counted, even when it is a
    /// working day and even when the call came at night or on a holiday), N by kind (API.md "Complaints").
    public func dueAt(kind: ComplaintKind, receivedAt: Date) throws(DomainError) -> Date {
        try workingDays.adding(deadlines.workingDays(for: kind), to: receivedAt)
    }

    /// Overdue: not yet answered when the deadline passed, or answered after it. `dueAt` itself is 24:00, the first
    /// instant of the next day, so an answer at that instant is late.
    public static func isOverdue(dueAt: Date, answeredAt: Date?, now: Date) -> Bool {
        (answeredAt ?? now) >= dueAt
    }
}

/// A complaint's status (API.md `status`).
public enum ComplaintStatus: String, Codable, Sendable, CaseIterable {
    case open, assigned, answered, reopened, closed, forwarded
}

/// The events a complaint's history records (API.md `events[].type`).
public enum ComplaintEventType: String, Codable, Sendable, CaseIterable {
    case lodged, assigned, answered, rated, reopened, closed, forwarded, returned
}

/// A step someone asks for.
public enum ComplaintStep: Sendable, Equatable {
    case assign(to: String)
    case answer
    case rate(satisfied: Bool)
    /// Sent through the hub to the province concerned (JJJ art. 23).
    case forward
    /// The province it was forwarded to sends it back unanswered (not its matter); handled here again.
    case returnFromForward
    /// The receiving province hands back a complaint forwarded to it that is not its matter: done here, handled at its origin.
    case returnToOrigin
}

/// Where a complaint stands, enough to decide its next step: a small state machine
/// (open → assigned → answered → rated: satisfied → closed, or dissatisfied → reopened → answered → rated → closed).
public struct ComplaintProgress: Sendable, Equatable {
    public var status: ComplaintStatus
    public var assignee: String?
    /// Times a dissatisfied rating reopened it: at most once (API.md; 济南 art. 27, 潍坊 art. 25 "退回再次办理").
    public var reopenings: Int

    public init(status: ComplaintStatus = .open, assignee: String? = nil, reopenings: Int = 0) {
        self.status = status; self.assignee = assignee; self.reopenings = reopenings
    }

    /// A newly lodged complaint and its first event.
    public static let lodged = (progress: ComplaintProgress(), events: [ComplaintEventType.lodged])

    /// The progress after `step`, with the events to write in order; an illegal step is `invalid_transition`.
    public func applying(_ step: ComplaintStep) throws(DomainError) -> (progress: ComplaintProgress, events: [ComplaintEventType]) {
        var next = self
        switch (step, status) {
        case (.assign(let to), .open), (.assign(let to), .assigned):
            guard !to.isEmpty else { throw .invalidField("to", "an assignee is required") }
            next.status = .assigned; next.assignee = to
            return (next, [.assigned])
        case (.answer, .open), (.answer, .assigned), (.answer, .reopened), (.answer, .forwarded):
            // Open: the agent taking the call answers at once (API.md "/answer (the assignee or an agent)").
            // Reopened: the same assignee answers again, no reassignment. Forwarded: the other province's answer.
            next.status = .answered
            return (next, [.answered])
        case (.rate(true), .answered):
            next.status = .closed
            return (next, [.rated, .closed])
        case (.rate(false), .answered):
            if reopenings == 0 {
                next.status = .reopened; next.reopenings = 1
                return (next, [.rated, .reopened])
            }
            next.status = .closed  // a second dissatisfied rating closes it (API.md)
            return (next, [.rated, .closed])
        case (.forward, .open), (.forward, .assigned):
            next.status = .forwarded
            return (next, [.forwarded])
        case (.returnFromForward, .forwarded):
            next.status = next.assignee == nil ? .open : .assigned
            return (next, [.returned])
        case (.returnToOrigin, .open), (.returnToOrigin, .assigned):
            next.status = .closed
            return (next, [.returned, .closed])
        default:
            throw .invalidTransition("a complaint that is \(status.rawValue) cannot be \(step.verb)")
        }
    }
}

extension ComplaintStep {
    var verb: String {
        switch self {
        case .assign: "assigned"
        case .answer: "answered"
        case .rate: "rated"
        case .forward: "forwarded"
        case .returnFromForward, .returnToOrigin: "returned"
        }
    }
}

/// Where a complaint about another province goes (JJJ art. 23: "接到有关跨省市社会保障卡一卡通事项的投诉举报后，应当及时转相关省市
/// 依法办理" — the platform that receives it forwards it to the province concerned, which handles it under its own rules).
public enum ComplaintForwarding {
    /// The province a complaint is forwarded to, or nil when it is this province's own: the province of the use it is
    /// about when that use was reported by another province, else the province of the region it names.
    /// - Parameters:
    ///   - regionCode: the region the complainant named (any level: a city's code names its province).
    ///   - reportedUseRegion: the region of a use another province reported (the use happened there).
    ///   - home: this node's province.
    public static func target(regionCode: String?, reportedUseRegion: String?, home: String) -> String? {
        let homeProvince = RegionTable.province(of: home)
        for code in [reportedUseRegion, regionCode].compactMap({ $0 }) {
            guard (try? RegionCode(code)) != nil else { continue }
            let province = RegionTable.province(of: code)
            return province == homeProvince ? nil : province
        }
        return nil
    }
}
