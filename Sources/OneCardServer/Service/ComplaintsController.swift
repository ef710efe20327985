import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Complaints, consultations and suggestions (API.md "Complaints, cases, credit, statistics"), and the holiday
/// calendar an administrator keeps current without a release.
struct ComplaintsController {
    let complaints: ComplaintService
    let clock: Clock

    func register(_ api: API) {
        api.add(.post, "/api/v1/complaints",                 roles: [.agent],                                  lodgeByAgent)
        api.add(.post, "/api/v1/me/complaints",              roles: [.holder],                                 lodgeByHolder)
        api.add(.get,  "/api/v1/me/complaints",              roles: [.holder],                                 myComplaints)
        api.add(.get,  "/api/v1/me/complaints/{id}",         roles: [.holder],                                 myComplaint)
        api.add(.post, "/api/v1/me/complaints/{id}/rate",    roles: [.holder],                                 rateByHolder)
        api.add(.get,  "/api/v1/complaints",                 roles: [.agent, .department, .admin, .auditor],   worklist)
        api.add(.get,  "/api/v1/complaints/{id}",            roles: [.agent, .department, .admin, .auditor],   show)
        api.add(.post, "/api/v1/complaints/{id}/assign",     roles: [.agent, .admin],                          assign)
        api.add(.post, "/api/v1/complaints/{id}/answer",     roles: [.agent, .department],                     answer)
        api.add(.post, "/api/v1/complaints/{id}/rate",       roles: [.agent],                                  rateByAgent)
        api.add(.post, "/api/v1/complaints/{id}/return",     roles: [.agent, .admin],                          returnToOrigin)
        api.add(.get,  "/api/v1/holiday-calendar",           roles: [.admin, .agent, .auditor],                calendarYears)
        api.add(.put,  "/api/v1/holiday-calendar/{year}",    roles: [.admin],                                  loadCalendarYear)
    }

    // MARK: inputs and views

    struct LodgeInput: Decodable {
        let kind: String, topic: String, channel: String, summary: String
        let regionCode: String?, venueId: String?, useId: String?, receivedAt: String?
    }
    struct AssignInput: Decodable { let to: String }
    struct AnswerInput: Decodable { let text: String }
    struct RateInput: Decodable { let satisfied: Bool }

    struct ComplaintView: Encodable, Sendable {
        static let schema = Schema.named("Complaint", .object([
            ("complaintId", .text), ("kind", .oneOf(ComplaintKind.self)), ("topic", .oneOf(ComplaintTopic.self)),
            ("channel", .oneOf(ComplaintChannel.self)), ("summary", .text), ("regionCode", .nullable(.text)), ("venueId", .nullable(.text)),
            ("useId", .nullable(.text)), ("status", .oneOf(ComplaintStatus.self)), ("assignee", .nullable(.text)),
            ("receivedAt", .dateTime), ("dueAt", .dateTime), ("dueAtProvisional", .boolean), ("overdue", .boolean),
            ("answer", .nullable(.text)), ("answeredAt", .nullable(.dateTime)), ("satisfied", .nullable(.boolean)),
            ("closedAt", .nullable(.dateTime)),
            ("forwardedTo", .nullable(.text)), ("originRegion", .nullable(.text)), ("originComplaintId", .nullable(.text)),
            ("events", .array(.object([("at", .dateTime), ("type", .oneOf(ComplaintEventType.self)), ("actor", .text), ("note", .nullable(.text))],
                                      required: ["at", "type", "actor"]))),
        ], required: ["complaintId", "kind", "topic", "channel", "summary", "status", "receivedAt", "dueAt", "dueAtProvisional", "overdue"]))

        struct Event: Encodable, Sendable { let at: String, type: String, actor: String, note: String? }
        let complaintId: String, kind: String, topic: String, channel: String, summary: String, regionCode: String?, venueId: String?
        let useId: String?, status: String, assignee: String?, receivedAt: String, dueAt: String, dueAtProvisional: Bool, overdue: Bool
        let answer: String?, answeredAt: String?, satisfied: Bool?, closedAt: String?
        /// Forwarded to the province that handles it; received from the province where it was lodged (JJJ art. 23).
        let forwardedTo: String?, originRegion: String?, originComplaintId: String?
        let events: [Event]?

        init(_ c: Complaint, events: [ComplaintEvent]? = nil, now: Date) {
            complaintId = c.id; kind = c.kind.rawValue; topic = c.topic.rawValue; channel = c.channel.rawValue; summary = c.summary
            regionCode = c.regionCode; venueId = c.venueId?.rawValue; useId = c.useId; status = c.progress.status.rawValue
            assignee = c.progress.assignee; receivedAt = Timestamp.format(c.receivedAt); dueAt = Timestamp.format(c.dueAt)
            dueAtProvisional = c.dueProvisional; overdue = c.isOverdue(now: now); answer = c.answer; answeredAt = c.answeredAt.map(Timestamp.format)
            satisfied = c.satisfied; closedAt = c.closedAt.map(Timestamp.format)
            forwardedTo = c.forwardedTo; originRegion = c.originRegion; originComplaintId = c.originComplaintId
            self.events = events?.map { Event(at: Timestamp.format($0.at), type: $0.type.rawValue, actor: $0.actor, note: $0.note) }
        }
    }

    // MARK: handlers

    var lodgeByAgent: Handler {
        Handler("Log a call (12333/12345), a venue's or a counter's complaint, consultation or suggestion; receivedAt for a call logged later",
                tag: "complaints", request: Docs.lodge(agent: true), success: (201, "Lodged, with its deadline; about another province (regionCode, or a use reported from there): forwarded there through the hub at once (JJJ art. 23): forwardedTo names the province, and the complaint reads forwarded from then on", Docs.lodged),
                errors: Docs.lodgeErrors) { request, context in
            let i = try await request.decodeJSON(as: LodgeInput.self, context: context)
            return try await lodge(i, personId: nil, allowReceivedAt: true, context)
        }
    }

    var lodgeByHolder: Handler {
        Handler("The holder lodges their own, optionally about one of their uses on \"who checked my card\"",
                tag: "complaints", request: Docs.lodge(agent: false), success: (201, "Lodged, with its deadline; about another province (regionCode, or a use reported from there): forwarded there through the hub at once (JJJ art. 23): forwardedTo names the province, and the complaint reads forwarded from then on", Docs.lodged),
                errors: Docs.lodgeErrors) { request, context in
            let i = try await request.decodeJSON(as: LodgeInput.self, context: context)
            return try await lodge(i, personId: context.identity!.personId, allowReceivedAt: false, context)
        }
    }

    func lodge(_ i: LodgeInput, personId: Person.ID?, allowReceivedAt: Bool, _ context: AppContext) async throws -> some ResponseGenerator {
        // API.md: unknown kind, topic or channel → 422 invalid_field.
        func pick<E: RawRepresentable & CaseIterable>(_ raw: String, _ field: String) throws(DomainError) -> E where E.RawValue == String {
            guard let v = E(rawValue: raw) else { throw .invalidField(field, "one of \(E.allCases.map(\.rawValue).joined(separator: ", "))") }
            return v
        }
        var receivedAt: Date?
        if allowReceivedAt, let raw = i.receivedAt {
            guard let d = Timestamp.parse(raw) else { throw DomainError(.invalidReceivedAt, "receivedAt: no such time (RFC 3339)") }
            receivedAt = d
        }
        let c = try await complaints.lodge(.init(kind: try pick(i.kind, "kind"), topic: try pick(i.topic, "topic"), channel: try pick(i.channel, "channel"),
                                                 summary: i.summary, regionCode: i.regionCode, venueId: i.venueId.map { Venue.ID($0) },
                                                 useId: i.useId, receivedAt: receivedAt),
                                           personId: personId, actor: context.identity!.actor)
        struct Lodged: Encodable, Sendable { let complaintId: String, dueAt: String, dueAtProvisional: Bool, status: String, forwardedTo: String? }
        // API.md: lodging answers `status: "open"`, the status a complaint is lodged with; one about another province is then
        // passed there at once (its next event, `forwarded`), which `forwardedTo` says.
        return JSONResponse(Lodged(complaintId: c.id, dueAt: Timestamp.format(c.dueAt), dueAtProvisional: c.dueProvisional,
                                   status: ComplaintStatus.open.rawValue, forwardedTo: c.forwardedTo), status: .created)
    }

    var myComplaints: Handler {
        Handler("The holder's own complaints, newest first", tag: "complaints",
                success: (200, "Complaints", .object([("complaints", .array(ComplaintView.schema))], required: ["complaints"]))) { _, context in
            let now = clock.now()
            return JSONResponse(["complaints": try await complaints.mine(context.identity!.personId!).map { ComplaintView($0, now: now) }])
        }
    }

    var myComplaint: Handler {
        Handler("One of the holder's complaints with its events", tag: "complaints",
                success: (200, "The complaint", ComplaintView.schema), errors: [.complaintNotFound]) { _, context in
            let (c, events) = try await complaints.complaint(context.parameters.get("id") ?? "", personId: context.identity!.personId)
            return JSONResponse(ComplaintView(c, events: events, now: clock.now()))
        }
    }

    var worklist: Handler {
        Handler("The worklist, newest first: every complaint (a department user: those assigned to them), by status; overdue=true: past their deadline",
                tag: "complaints",
                query: [.oneOf("status", "only this status", ComplaintStatus.self), .boolean("overdue", "only those not answered by their deadline")],
                success: (200, "Complaints", .object([("complaints", .array(ComplaintView.schema))], required: ["complaints"])),
                errors: [.invalidValue]) { request, context in
            let q = request.uri.queryParameters
            let status: ComplaintStatus? = try q.get("status").map { try parseEnum($0, "status") }
            let identity = context.identity!
            let list = try await complaints.list(status: status, overdue: q.get("overdue") == "true",
                                                 assignee: identity.role == .department ? identity.subject : nil)
            let now = clock.now()
            return JSONResponse(["complaints": list.map { ComplaintView($0, now: now) }])
        }
    }

    var show: Handler {
        Handler("A complaint with its events", tag: "complaints", success: (200, "The complaint", ComplaintView.schema),
                errors: [.complaintNotFound]) { _, context in
            let (c, events) = try await complaints.complaint(context.parameters.get("id") ?? "")
            if context.identity!.role == .department, c.progress.assignee != context.identity!.subject {
                throw DomainError(.complaintNotFound, "no complaint assigned to you with that id")
            }
            return JSONResponse(ComplaintView(c, events: events, now: clock.now()))
        }
    }

    var assign: Handler {
        Handler("Assign to the department or venue user concerned (again while not yet answered)", tag: "complaints",
                request: .object([("to", .line(64))], required: ["to"]), success: (200, "The complaint", ComplaintView.schema),
                errors: [.complaintNotFound, .assigneeNotFound, .invalidTransition]) { request, context in
            let i = try await request.decodeJSON(as: AssignInput.self, context: context)
            return try await step(.assign(to: i.to), context)
        }
    }

    var answer: Handler {
        Handler("Answer (the assignee, or an agent); a reopened complaint is answered again by the same assignee", tag: "complaints",
                request: .object([("text", .filled(4000))], required: ["text"]), success: (200, "The complaint", ComplaintView.schema),
                errors: [.complaintNotFound, .invalidTransition, .forbidden]) { request, context in
            let i = try await request.decodeJSON(as: AnswerInput.self, context: context)
            return try await step(.answer(i.text), context)
        }
    }

    var rateByHolder: Handler {
        Handler("The complainant rates the answer: satisfied closes it; unsatisfied reopens it once, a second time closes it",
                tag: "complaints", request: Docs.rate, success: (200, "The complaint", ComplaintView.schema),
                errors: [.complaintNotFound, .invalidTransition]) { request, context in
            let i = try await request.decodeJSON(as: RateInput.self, context: context)
            return try await step(.rate(i.satisfied), context)
        }
    }

    var rateByAgent: Handler {
        Handler("An agent records the caller's rating (the hotline's call-back, 回访)", tag: "complaints", request: Docs.rate,
                success: (200, "The complaint", ComplaintView.schema), errors: [.complaintNotFound, .invalidTransition]) { request, context in
            let i = try await request.decodeJSON(as: RateInput.self, context: context)
            return try await step(.rate(i.satisfied), context)
        }
    }

    var returnToOrigin: Handler {
        Handler("Hand back a complaint another province forwarded here that is not this province's matter, with the reason: it is closed here and handled again where it was lodged",
                tag: "complaints", request: .object([("reason", .filled(2000))], required: ["reason"]), success: (200, "The complaint", ComplaintView.schema),
                errors: [.complaintNotFound, .invalidTransition]) { request, context in
            struct Input: Decodable { let reason: String }
            let i = try await request.decodeJSON(as: Input.self, context: context)
            return try await step(.returnToOrigin(i.reason), context)
        }
    }

    func step(_ s: ComplaintService.Step, _ context: AppContext) async throws -> some ResponseGenerator {
        let identity = context.identity!
        let id = context.parameters.get("id") ?? ""
        _ = try await complaints.step(id, s, actor: identity.actor, role: identity.role, personId: identity.personId)
        let (c, events) = try await complaints.complaint(id)
        return JSONResponse(ComplaintView(c, events: events, now: clock.now()))
    }

    // MARK: holiday calendar

    var calendarYears: Handler {
        Handler("Years the working-day calendar covers: shipped with the release, or loaded by an administrator", tag: "complaints",
                success: (200, "Years", .object([("years", .array(.object([
                    ("year", .integer), ("source", .text), ("origin", .string(values: ["shipped", "loaded"])), ("loadedAt", .nullable(.dateTime)),
                    ("loadedBy", .nullable(.text)),
                ], required: ["year", "source", "origin"])))], required: ["years"]))) { _, _ in
            struct Y: Encodable, Sendable { let year: Int, source: String, origin: String, loadedAt: String?, loadedBy: String? }
            return JSONResponse(["years": try await complaints.calendarYears().map {
                Y(year: $0.year, source: $0.source, origin: $0.origin, loadedAt: $0.loadedAt.map(Timestamp.format), loadedBy: $0.loadedBy)
            }])
        }
    }

    var loadCalendarYear: Handler {
        Handler("Load (or correct) a year's official holiday notice (放假调休); every provisional deadline is recomputed with it. Audited.",
                tag: "complaints",
                request: .object([
                    ("source", .filled(500)),
                    ("holidays", .array(.object([("name", .filled(100)), ("from", .date), ("to", .date)], required: ["name", "from", "to"]), maxItems: 60)),
                    ("makeUpWorkingDays", .array(.date, maxItems: 60)),
                ], required: ["source", "holidays", "makeUpWorkingDays"]),
                success: (200, "Loaded", .object([("year", .integer), ("recomputed", .integer), ("stillProvisional", .integer)],
                                                 required: ["year", "recomputed", "stillProvisional"])),
                errors: [.invalidHolidayCalendar]) { request, context in
            struct Input: Decodable { let source: String; let holidays: [HolidayCalendar.Holiday]; let makeUpWorkingDays: [String] }
            let raw = context.parameters.get("year") ?? ""
            guard let year = Int(raw) else { throw DomainError(.invalidHolidayCalendar, "year: a number such as 2027") }
            let i = try await request.decodeJSON(as: Input.self, context: context)
            let r = try await complaints.loadCalendarYear(.notice(year: year, source: i.source, holidays: i.holidays, makeUpWorkingDays: i.makeUpWorkingDays),
                                                          actor: context.identity!.actor)
            struct Loaded: Encodable, Sendable { let year: Int, recomputed: Int, stillProvisional: Int }
            return JSONResponse(Loaded(year: year, recomputed: r.recomputed, stillProvisional: r.stillProvisional))
        }
    }

    enum Docs {
        static func lodge(agent: Bool) -> Schema {
            var props: [(String, Schema)] = [
                ("kind", .oneOf(ComplaintKind.self)), ("topic", .oneOf(ComplaintTopic.self)), ("channel", .oneOf(ComplaintChannel.self)),
                ("summary", .filled(2000)), ("regionCode", .string(pattern: "^[0-9]{6}$")), ("venueId", .text), ("useId", .text),
            ]
            if agent { props.append(("receivedAt", .dateTime)) }
            return .object(props, required: ["kind", "topic", "channel", "summary"])
        }
        static let lodgeErrors: [DomainError.Code] = [.useNotFound, .venueNotFound, .invalidReceivedAt, .invalidRegionCode]
        static let lodged = Schema.object([("complaintId", .text), ("dueAt", .dateTime), ("dueAtProvisional", .boolean),
                                           ("status", .string(values: ["open"])), ("forwardedTo", .nullable(.text))],
                                          required: ["complaintId", "dueAt", "status"])
        static let rate = Schema.object([("satisfied", .boolean)], required: ["satisfied"])
    }
}
