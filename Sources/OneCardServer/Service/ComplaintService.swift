import Foundation
import OneCardCore
import OneCardStore

/// Complaints, consultations and suggestions (API.md "Complaints"; JJJ art. 23, CQ art. 20, ZJ art. 20, GD art. 11):
/// lodged by a holder or an agent, due in working days over the official holiday calendar, assigned, answered, rated,
/// reopened once. Every step goes through `step`, which writes the complaint, its events and an audit record together.
struct ComplaintService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let deadlines: ComplaintDeadlines
    /// The calendar shipped with this release; years loaded by an administrator override it (`calendar(in:)`).
    let shippedCalendar: HolidayCalendar
    /// This node's region: a complaint about another province is forwarded there through the hub (JJJ art. 23).
    let region: String
    let federation: FederationService

    struct Lodging: Sendable {
        var kind: ComplaintKind, topic: ComplaintTopic, channel: ComplaintChannel, summary: String
        var regionCode: String?, venueId: Venue.ID?, useId: String?, receivedAt: Date?
    }

    /// Lodges one: a holder's own (`personId` set, tied to one of their uses if `useId`), or one an agent took.
    func lodge(_ l: Lodging, personId: Person.ID?, actor: String) async throws -> Complaint {
        let now = clock.now()
        try TextRule.check(l.summary, "summary", max: 2000, notBlank: true)
        let summary = l.summary
        let receivedAt = l.receivedAt ?? now
        guard receivedAt <= now else { throw DomainError(.invalidReceivedAt, "receivedAt is later than now") }
        // A call logged later, not a backdated file: at most a year back.
        guard now.timeIntervalSince(receivedAt) <= 366 * 86_400 else { throw DomainError(.invalidReceivedAt, "receivedAt is more than a year ago") }
        if let region = l.regionCode { _ = try RegionCode(region) }
        let id = random.uuid()
        let deadlines = deadlines
        let shipped = shippedCalendar
        return try await store.write { s in
            var venueId = l.venueId
            var reported: (region: String, useId: String, venueName: String)?
            if let useId = l.useId {
                // A holder may tie a complaint only to a use of their own card.
                guard let use = try await s.complaints.use(useId), personId == nil || use.personId == personId else {
                    throw DomainError(.useNotFound, "no use \(useId) of your card")
                }
                if use.terminalId.hasPrefix(FederationService.reportedTerminalPrefix) {
                    // A use another province reported: its venue is that province's, known here by name only.
                    let name = use.venueId.rawValue.split(separator: ":", maxSplits: 1).last.map(String.init) ?? use.venueId.rawValue
                    reported = (String(use.terminalId.dropFirst(FederationService.reportedTerminalPrefix.count)), use.reportedId, name)
                } else {
                    venueId = venueId ?? use.venueId
                }
            }
            if let venueId, try await s.venues.find(venueId) == nil { throw DomainError(.venueNotFound, "no venue \(venueId)") }
            let calendar = try await Self.calendar(shipped, in: s)
            let clock = ComplaintClock(workingDays: try WorkingDays(calendar: calendar), deadlines: deadlines)
            let due = try clock.deadline(kind: l.kind, receivedAt: receivedAt, calendar: calendar)
            var c = Complaint(id: id, kind: l.kind, topic: l.topic, channel: l.channel, summary: summary,
                              regionCode: l.regionCode ?? reported.map { RegionTable.province(of: $0.region) }, venueId: venueId, useId: l.useId,
                              personId: personId, lodgedBy: actor, receivedAt: receivedAt, dueAt: due.dueAt, dueProvisional: due.provisional)
            var events = [ComplaintEvent(at: now, type: .lodged, actor: actor, note: l.channel.rawValue)]
            // About another province: forwarded at once to the province concerned, which handles it (JJJ art. 23).
            let target = ComplaintForwarding.target(regionCode: l.regionCode, reportedUseRegion: reported?.region, home: region)
            if let target, try await forwardable(to: target, in: s) {
                let (progress, types) = try c.progress.applying(.forward)
                c.progress = progress; c.forwardedTo = target
                events += types.map { ComplaintEvent(at: now, type: $0, actor: actor, note: target) }
            }
            try await s.complaints.insert(c, at: now)
            try await s.complaints.appendEvents(id, events)
            try await s.audit.append(at: now, actor: actor, action: "complaint_lodged", subject: "complaint:\(id)", purpose: nil)
            if let target = c.forwardedTo {
                try await federation.enqueue(.complaint, id: "complaint-\(id)", to: target, payload: .init(complaint: Federation.ForwardedComplaint(
                    complaintId: id, kind: c.kind.rawValue, topic: c.topic.rawValue, channel: c.channel.rawValue, summary: c.summary, regionCode: c.regionCode,
                    receivedAt: Timestamp.format(c.receivedAt), useId: reported?.useId, venueName: reported?.venueName,
                    events: events.map(Self.wire))), at: now, in: s)
                try await s.audit.append(at: now, actor: actor, action: "complaint_forwarded", subject: "complaint:\(id)", purpose: target)
            }
            return c
        }
    }

    enum Step: Sendable {
        case assign(to: String), answer(String), rate(Bool)
        /// The receiving province hands back a complaint forwarded to it that is not its matter, with the reason.
        case returnToOrigin(String)
    }

    /// Takes one step on a complaint: checks who may take it, applies the state machine (Core), and writes the new
    /// state, the events in order and an audit record in one transaction.
    func step(_ id: Complaint.ID, _ step: Step, actor: String, role: Role, personId: Person.ID?) async throws -> Complaint {
        let now = clock.now()
        return try await store.write { s in
            guard var c = try await s.complaints.findForUpdate(id, dialect: s.dialect) else { throw DomainError(.complaintNotFound, "no complaint \(id)") }
            if role == .holder, c.personId != personId { throw DomainError(.complaintNotFound, "no complaint \(id) of yours") }
            // A forwarded complaint is handled by the province it went to; its complainant rates it where they lodged it.
            if let to = c.forwardedTo {
                if case .rate = step {} else { throw DomainError(.invalidTransition, "complaint \(id) was forwarded to \(to), which handles it") }
            }
            if let origin = c.originRegion, case .rate = step {
                throw DomainError(.invalidTransition, "complaint \(id) came from \(origin): its complainant rates it there")
            }
            let core: ComplaintStep
            var note: String?
            switch step {
            case .assign(let to):
                guard let user = try await s.users.find(to), !user.disabled, [.agent, .department, .admin].contains(user.role) else {
                    throw DomainError(.assigneeNotFound, "no active agent, department or admin user \(to)")
                }
                core = .assign(to: to); note = to
            case .answer(let text):
                try TextRule.check(text, "text", max: 4000, notBlank: true)
                // "the assignee or an agent" (API.md): a department user answers only what is assigned to them.
                if role == .department, c.progress.assignee != actor.split(separator: ":").last.map(String.init) { throw DomainError.forbidden }
                core = .answer
                c.answer = text; c.answeredAt = now; note = c.answer
            case .rate(let satisfied):
                core = .rate(satisfied: satisfied)
                c.satisfied = satisfied
            case .returnToOrigin(let reason):
                try TextRule.check(reason, "reason", max: 2000, notBlank: true)
                guard c.originRegion != nil else {
                    throw DomainError(.invalidTransition, "only a complaint forwarded from another province can be returned")
                }
                core = .returnToOrigin; note = reason
            }
            let (progress, types) = try c.progress.applying(core)
            c.progress = progress
            if progress.status == .closed { c.closedAt = now }
            try await s.complaints.update(c)
            try await s.complaints.appendEvents(id, types.map { ComplaintEvent(at: now, type: $0, actor: actor, note: $0 == types.first ? note : nil) })
            try await s.audit.append(at: now, actor: actor, action: "complaint_\(types.last!.rawValue)", subject: "complaint:\(id)", purpose: nil)
            try await tellOtherSide(c, step, events: types, note: note, actor: actor, at: now, in: s)
            return c
        }
    }

    func complaint(_ id: Complaint.ID, personId: Person.ID? = nil) async throws -> (Complaint, [ComplaintEvent]) {
        try await store.read { s in
            guard let c = try await s.complaints.find(id), personId == nil || c.personId == personId else {
                throw DomainError(.complaintNotFound, "no complaint \(id)")
            }
            return (c, try await s.complaints.events(id))
        }
    }

    /// A worklist: every complaint (agent, admin, auditor) or those assigned to a department user, by status and overdue.
    func list(status: ComplaintStatus?, overdue: Bool, assignee: String?) async throws -> [Complaint] {
        let now = clock.now()
        return try await store.read { try await $0.complaints.list(status: status, assignee: assignee, overdueAt: overdue ? now : nil) }
    }

    func mine(_ personId: Person.ID) async throws -> [Complaint] {
        try await store.read { try await $0.complaints.list(personId: personId) }
    }

    // MARK: the holiday calendar, updatable without a release

    /// The shipped calendar with every year an administrator loaded in its place.
    static func calendar(_ shipped: HolidayCalendar, in s: StoreSession) async throws -> HolidayCalendar {
        var c = shipped
        for y in try await s.complaints.calendarYears() {
            guard let year = try? JSONDecoder().decode(HolidayCalendar.Year.self, from: Data(y.json.utf8)) else { continue }
            c = c.replacing(year)
        }
        return c
    }

    struct CalendarYearView: Sendable { var year: Int; var source: String; var origin: String; var loadedAt: Date?; var loadedBy: String? }

    func calendarYears() async throws -> [CalendarYearView] {
        let shipped = shippedCalendar
        return try await store.read { s in
            var views: [Int: CalendarYearView] = [:]
            for y in shipped.years { views[y.year] = .init(year: y.year, source: y.source, origin: "shipped") }
            for y in try await s.complaints.calendarYears() {
                let source = (try? JSONDecoder().decode(HolidayCalendar.Year.self, from: Data(y.json.utf8)))?.source ?? ""
                views[y.year] = .init(year: y.year, source: source, origin: "loaded", loadedAt: y.loadedAt, loadedBy: y.loadedBy)
            }
            return views.values.sorted { $0.year < $1.year }
        }
    }

    /// Loads (or corrects) a year's official notice, audited, and recomputes every provisional deadline with it:
    /// a deadline counted with Monday–Friday for that year becomes final when every year it spans is covered.
    func loadCalendarYear(_ year: HolidayCalendar.Year, actor: String) async throws -> (recomputed: Int, stillProvisional: Int) {
        do throws(DomainError) { try HolidayCalendar(years: [year]).validate() } catch {
            throw DomainError(.invalidHolidayCalendar, error.detail)
        }
        guard (2000...2100).contains(year.year) else { throw DomainError(.invalidHolidayCalendar, "year: 2000 to 2100") }
        let now = clock.now()
        let data = try JSONEncoder().encode(year)
        let shipped = shippedCalendar
        let deadlines = deadlines
        return try await store.write { s in
            try await s.complaints.saveCalendarYear(year.year, json: String(decoding: data, as: UTF8.self), at: now, by: actor)
            try await s.audit.append(at: now, actor: actor, action: "holiday_calendar_loaded", subject: "holiday_calendar:\(year.year)", purpose: year.source)
            let calendar = try await Self.calendar(shipped, in: s)
            let clock = ComplaintClock(workingDays: try WorkingDays(calendar: calendar), deadlines: deadlines)
            var recomputed = 0, still = 0
            for var c in try await s.complaints.provisional() {
                let due = try clock.deadline(kind: c.kind, receivedAt: c.receivedAt, calendar: calendar)
                if due.provisional { still += 1 }
                guard due != ComplaintDeadline(dueAt: c.dueAt, provisional: c.dueProvisional) else { continue }
                c.dueAt = due.dueAt; c.dueProvisional = due.provisional
                try await s.complaints.update(c)
                recomputed += 1
            }
            return (recomputed, still)
        }
    }
}
