import Foundation
import OneCardCore
import OneCardStore

/// Complaints about another province (JJJ art. 23: "接到有关跨省市社会保障卡一卡通事项的投诉举报后，应当及时转相关省市依法办理").
/// The holder's province forwards the complaint with its history through the hub (`complaint`); the province concerned
/// makes its own complaint of it, due by its own pack and calendar from the day it arrives (it handles it "依法", under its
/// own rules), and its staff assign and answer it as usual. Its deadline, answer or return travel back
/// (`complaint_update`), where the holder sees and rates the answer; the rating travels to the handling province, and
/// each side applies the same Core step (`ComplaintProgress`), so both close or reopen alike. Each message is written
/// in the transaction of the change it tells, delivered until acknowledged, and acted on once per id.
extension ComplaintService {
    /// Lets the federation hand this service the complaint messages other provinces send.
    func receiveForwarded(through handlers: FederationHandlers) {
        let service = self
        handlers.register(.complaint) { m, from, at, s in try await service.receive(m.payload.complaint, from: from, at: at, in: s) }
        handlers.register(.complaintUpdate) { m, from, at, s in try await service.receive(m.payload.complaintUpdate, from: from, at: at, in: s) }
    }

    /// Forwarded only through a hub, and only to a province the hub names as a member (when this node knows the list):
    /// a message for no member would be retried for ever, and the complaint is better handled here.
    func forwardable(to province: String, in s: StoreSession) async throws -> Bool {
        guard federation.isFederated else { return false }
        guard let json = try await s.federation.state(FederationService.State.members),
              let members = try? JSONDecoder().decode([Federation.Member].self, from: Data(json.utf8)), !members.isEmpty else { return true }
        return members.contains { $0.region == province && $0.kind == "province" }
    }

    static func wire(_ e: ComplaintEvent) -> Federation.Event {
        Federation.Event(at: Timestamp.format(e.at), type: e.type.rawValue, actor: e.actor, note: e.note)
    }

    /// After a local step: the handling province tells the origin its answer or return; the origin tells the handling
    /// province the complainant's rating.
    func tellOtherSide(_ c: Complaint, _ step: Step, events: [ComplaintEventType], note: String?, actor: String, at: Date,
                       in s: StoreSession) async throws {
        let event = Federation.Event(at: Timestamp.format(at), type: events.first!.rawValue, actor: actor, note: note)
        if let origin = c.originRegion, let originId = c.originComplaintId {
            switch step {
            case .answer(let text):
                try await federation.enqueue(.complaintUpdate, to: origin, payload: .init(complaintUpdate: .init(
                    complaintId: originId, event: event, answer: text)), at: at, in: s)
            case .returnToOrigin:
                try await federation.enqueue(.complaintUpdate, to: origin, payload: .init(complaintUpdate: .init(
                    complaintId: originId, event: event)), at: at, in: s)
            case .assign, .rate:
                break
            }
        } else if let to = c.forwardedTo, case .rate(let satisfied) = step {
            try await federation.enqueue(.complaintUpdate, to: to, payload: .init(complaintUpdate: .init(
                complaintId: c.id, event: event, satisfied: satisfied)), at: at, in: s)
        }
    }

    /// A complaint forwarded here: made into this province's own, due by this province's pack and calendar from today.
    func receive(_ f: Federation.ForwardedComplaint?, from: String, at: Date, in s: StoreSession) async throws {
        guard let f, !f.complaintId.isEmpty, f.complaintId.count <= 128, let kind = ComplaintKind(rawValue: f.kind),
              let topic = ComplaintTopic(rawValue: f.topic), let channel = ComplaintChannel(rawValue: f.channel), Timestamp.parse(f.receivedAt) != nil,
              (try? TextRule.check(f.summary, "summary", max: 2000, notBlank: true)) != nil else {
            throw DomainError(.invalidMessage, "payload.complaint: complaintId, kind, topic, channel, summary and receivedAt as documented")
        }
        // One complaint per origin: a second message about the same one (a new id for an old complaint) changes nothing.
        if try await s.complaints.findByOrigin(region: from, complaintId: f.complaintId, dialect: s.dialect) != nil { return }
        // The use it is about, when it was recorded here (the origin knows it by this province's id).
        var useId: String?, venueId: Venue.ID?
        if let reported = f.useId, let use = try await s.complaints.use(reported) {
            useId = reported
            if try await s.venues.find(use.venueId) != nil { venueId = use.venueId }
        }
        let calendar = try await Self.calendar(shippedCalendar, in: s)
        let due = try ComplaintClock(workingDays: try WorkingDays(calendar: calendar), deadlines: deadlines)
            .deadline(kind: kind, receivedAt: at, calendar: calendar)
        let id = random.uuid()
        let actor = "federation:\(from)"
        let c = Complaint(id: id, kind: kind, topic: topic, channel: channel, summary: f.summary, regionCode: f.regionCode, venueId: venueId,
                          useId: useId, personId: nil, lodgedBy: actor, receivedAt: at, dueAt: due.dueAt, dueProvisional: due.provisional,
                          originRegion: from, originComplaintId: f.complaintId)
        try await s.complaints.insert(c, at: at)
        // Its history at the origin (JJJ art. 23 forwards the matter, not just its text), then its arrival here.
        let history = f.events.prefix(50).compactMap { e -> ComplaintEvent? in
            guard let type = ComplaintEventType(rawValue: e.type), let when = Timestamp.parse(e.at) else { return nil }
            return ComplaintEvent(at: when, type: type, actor: "\(from) \(e.actor.prefix(120))", note: e.note.map { String($0.prefix(2000)) })
        }
        try await s.complaints.appendEvents(id, history + [ComplaintEvent(at: at, type: .lodged, actor: actor, note: f.venueName.map { "\(from) · \($0)" } ?? from)])
        try await s.audit.append(at: at, actor: actor, action: "complaint_received", subject: "complaint:\(id)", purpose: f.complaintId)
        // The origin shows the deadline that now applies.
        try await federation.enqueue(.complaintUpdate, to: from, payload: .init(complaintUpdate: .init(
            complaintId: f.complaintId, dueAt: Timestamp.format(due.dueAt))), at: at, in: s)
    }

    /// A step the other province took on a forwarded complaint. A step this side's state does not allow (it crossed
    /// another one) is acknowledged and left out: retrying it would never make it allowed.
    func receive(_ u: Federation.ComplaintUpdate?, from: String, at: Date, in s: StoreSession) async throws {
        guard let u, !u.complaintId.isEmpty, u.complaintId.count <= 128 else {
            throw DomainError(.invalidMessage, "payload.complaintUpdate: complaintId as documented")
        }
        // The origin's copy (forwarded to the sender), or the handling province's (forwarded from the sender).
        var found = try await s.complaints.findForUpdate(u.complaintId, dialect: s.dialect)
        if found?.forwardedTo != from { found = try await s.complaints.findByOrigin(region: from, complaintId: u.complaintId, dialect: s.dialect) }
        guard var c = found else { return }  // not a complaint exchanged with the sender: nothing to change
        let handling = c.originRegion == from  // this side handles it; the sender is the origin
        guard let e = u.event else {
            // The handling province's deadline, shown where the complainant lodged it.
            if !handling, let raw = u.dueAt, let dueAt = Timestamp.parse(raw) {
                c.dueAt = dueAt; c.dueProvisional = false
                try await s.complaints.update(c)
            }
            return
        }
        guard let type = ComplaintEventType(rawValue: e.type) else { throw DomainError(.invalidMessage, "payload.complaintUpdate.event.type: one of the event types") }
        let when = Timestamp.parse(e.at) ?? at
        let step: ComplaintStep
        switch (type, handling) {
        case (.answered, false):
            guard let text = u.answer, (try? TextRule.check(text, "answer", max: 4000, notBlank: true)) != nil else {
                throw DomainError(.invalidMessage, "payload.complaintUpdate.answer: the answer's text")
            }
            step = .answer
            c.answer = text; c.answeredAt = when
        case (.returned, false):
            step = .returnFromForward
        case (.rated, true):
            guard let satisfied = u.satisfied else { throw DomainError(.invalidMessage, "payload.complaintUpdate.satisfied: the rating") }
            step = .rate(satisfied: satisfied)
            c.satisfied = satisfied
        default:
            return
        }
        guard let applied = try? c.progress.applying(step) else { return }
        let (progress, types) = applied
        c.progress = progress
        if progress.status == .closed { c.closedAt = at }
        if step == .returnFromForward {
            // Handled here again, by this province's deadline counted from the first receipt.
            c.forwardedTo = nil
            let calendar = try await Self.calendar(shippedCalendar, in: s)
            let due = try ComplaintClock(workingDays: try WorkingDays(calendar: calendar), deadlines: deadlines)
                .deadline(kind: c.kind, receivedAt: c.receivedAt, calendar: calendar)
            c.dueAt = due.dueAt; c.dueProvisional = due.provisional
        }
        try await s.complaints.update(c)
        let actor = "\(from) \(e.actor.prefix(120))"
        try await s.complaints.appendEvents(c.id, types.map { ComplaintEvent(at: when, type: $0, actor: actor, note: $0 == types.first ? e.note.map { String($0.prefix(4000)) } : nil) })
        try await s.audit.append(at: at, actor: "federation:\(from)", action: "complaint_\(types.last!.rawValue)", subject: "complaint:\(c.id)", purpose: nil)
    }
}
