import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Complaints and enforcement in the browser: the holder lodges, follows and rates their own complaints (also
/// straight from a use on "who checked my card"); agents and departments work the list with overdue items marked;
/// the supervisor opens, orders and decides cases. The same service methods as `/api/v1/complaints` and `/api/v1/cases`.
struct ServicePages {
    let complaints: ComplaintService
    let cases: CaseService
    let stats: StatsService
    let clock: Clock
    let renderer: PageRenderer

    static let holderSignIn = "/signin"
    static let staffSignIn = "/staff/signin"
    static let worklistRoles: [Role] = [.agent, .department, .admin, .auditor]

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/complaints") { request, context in
            let me = try context.require([.holder], signIn: Self.holderSignIn)
            return try await mine(me, context, useId: request.uri.queryParameters.get("use"))
        }
        pages.post("/me/complaints") { _, context in
            let me = try context.require([.holder], signIn: Self.holderSignIn)
            let f = context.form
            do {
                let c = try await complaints.lodge(.init(kind: try parseEnum(try f.required("kind"), "kind"), topic: try parseEnum(try f.required("topic"), "topic"),
                                                         channel: .online, summary: try f.required("summary"), useId: f["useId"]),
                                                   personId: me.personId, actor: me.actor)
                return Response.seeOther("/me/complaints/\(c.id)?notice=lodged")
            } catch let e as DomainError {
                return try await mine(me, context, useId: f["useId"], error: e)
            }
        }
        pages.get("/me/complaints/:id") { request, context in
            let me = try context.require([.holder], signIn: Self.holderSignIn)
            let (c, events) = try await complaints.complaint(context.parameters.get("id") ?? "", personId: me.personId)
            return detail(c, events, context, holder: true, notice: request.uri.queryParameters.get("notice") == "lodged" ? context.t("c_lodged") : nil)
        }
        pages.post("/me/complaints/:id/rate") { _, context in
            let me = try context.require([.holder], signIn: Self.holderSignIn)
            let id = context.parameters.get("id") ?? ""
            _ = try await complaints.step(id, .rate(context.form["satisfied"] == "true"), actor: me.actor, role: .holder, personId: me.personId)
            return Response.seeOther("/me/complaints/\(id)")
        }

        pages.get("/complaints") { request, context in
            let me = try context.require(Self.worklistRoles, signIn: Self.staffSignIn)
            let overdue = request.uri.queryParameters.get("overdue") == "true"
            let list = try await complaints.list(status: nil, overdue: overdue, assignee: me.role == .department ? me.subject : nil)
            let now = clock.now()
            return renderer.page("complaints", title: context.t("c_worklist_title"), [
                "overdueOnly": overdue, "none": list.isEmpty,
                "rows": list.map { c -> [String: Any] in
                    ["id": c.id, "kind": context.t("ck_\(c.kind.rawValue)"), "topic": context.t("ct_\(c.topic.rawValue)"), "channel": c.channel.rawValue,
                     "status": context.t("cs_\(c.progress.status.rawValue)"), "assignee": c.progress.assignee ?? "—", "due": Self.due(c.dueAt),
                     "provisional": c.dueProvisional, "overdue": c.isOverdue(now: now), "received": PageTime.dateTime(c.receivedAt)]
                },
            ], context: context)
        }
        pages.get("/complaints/:id") { _, context in
            let me = try context.require(Self.worklistRoles, signIn: Self.staffSignIn)
            let (c, events) = try await complaints.complaint(context.parameters.get("id") ?? "")
            if me.role == .department, c.progress.assignee != me.subject { throw DomainError(.complaintNotFound, "not assigned to you") }
            return detail(c, events, context, holder: false, role: me.role)
        }
        pages.post("/complaints/:id/assign") { _, context in
            let me = try context.require([.agent, .admin], signIn: Self.staffSignIn)
            return try await staffStep(.assign(to: try context.form.required("to")), me, context)
        }
        pages.post("/complaints/:id/answer") { _, context in
            let me = try context.require([.agent, .department], signIn: Self.staffSignIn)
            return try await staffStep(.answer(try context.form.required("text")), me, context)
        }
        pages.post("/complaints/:id/return") { _, context in
            let me = try context.require([.agent, .admin], signIn: Self.staffSignIn)
            return try await staffStep(.returnToOrigin(try context.form.required("reason")), me, context)
        }

        pages.get("/stats") { request, context in
            _ = try context.require([.auditor, .admin], signIn: Self.staffSignIn)
            return try await statsPage(request, context)
        }

        pages.get("/cases") { _, context in
            _ = try context.require([.auditor], signIn: Self.staffSignIn)
            return try await caseList(context)
        }
        pages.post("/cases") { _, context in
            let me = try context.require([.auditor], signIn: Self.staffSignIn)
            let f = context.form
            do {
                let party: EnforcementCase.Party
                if let person = f["personId"] { party = .person(Person.ID(person)) } else {
                    party = .organisation(uscc: try UnifiedSocialCreditCode(try f.required("uscc")).value, name: try f.required("name"))
                }
                let c = try await cases.open(.init(type: try parseEnum(try f.required("type"), "type"), party: party, summary: try f.required("summary"),
                                                   evidence: [], actEndedOn: nil), actor: me.actor)
                return Response.seeOther("/cases/\(c.id)")
            } catch let e as DomainError {
                return try await caseList(context, error: e)
            }
        }
        pages.get("/cases/:id") { _, context in
            _ = try context.require([.auditor], signIn: Self.staffSignIn)
            return try await caseDetail(context.parameters.get("id") ?? "", context)
        }
        pages.post("/cases/:id/:step") { _, context in
            let me = try context.require([.auditor], signIn: Self.staffSignIn)
            let id = context.parameters.get("id") ?? "", f = context.form
            do {
                switch context.parameters.get("step") {
                case "order":
                    guard let day = CalendarDay(try f.required("dueOn")) else { throw DomainError(.invalidTimeRange, "dueOn: no such day") }
                    _ = try await cases.order(id, dueAt: ChinaStandardTime.endOfDay(day), actor: me.actor)
                case "decide":
                    let fine = try f["fineYuan"].map { raw throws(DomainError) -> Int64 in
                        guard let y = Int64(raw), y > 0, y < 100_000_000 else { throw DomainError.invalidField("fineYuan", "whole yuan") }
                        return y * 100
                    }
                    _ = try await cases.decide(id, serious: f["serious"] == "true", fineFen: fine, actor: me.actor)
                case "payments":
                    guard let yuan = Int64(try f.required("amountYuan")), yuan > 0, yuan < 100_000_000 else { throw DomainError.invalidField("amountYuan", "whole yuan") }
                    guard let day = CalendarDay(try f.required("paidOn")) else { throw DomainError(.invalidTimeRange, "paidOn: no such day") }
                    let paidAt = min(ChinaStandardTime.startOfDay(day).addingTimeInterval(12 * 3600), clock.now())
                    _ = try await cases.pay(id, amountFen: yuan * 100, paidAt: paidAt, key: f["_key"], actor: me.actor)
                default:
                    throw DomainError.notFound("step")
                }
                return Response.seeOther("/cases/\(id)")
            } catch let e as DomainError {
                return try await caseDetail(id, context, error: e)
            }
        }
    }

    /// The statistics page: the same figures as `GET /api/v1/stats`, each chart an SVG bar chart with a text table beside it.
    func statsPage(_ request: Request, _ context: PageContext) async throws -> Response {
        let q = request.uri.queryParameters
        let today = ChinaStandardTime.day(of: clock.now())
        let from = q.get("from").flatMap(CalendarDay.init) ?? CalendarDay(year: today.year, month: today.month, day: 1)!
        let to = q.get("to").flatMap(CalendarDay.init) ?? today
        let by: StatisticsGrain = q.get("by").flatMap(StatisticsGrain.init(rawValue:)) ?? .day
        var error: DomainError?
        var r: StatisticsReport?
        do { r = try await stats.report(from: from, to: to, by: by) } catch let e as DomainError { error = e }
        let view = r.map { Self.statsView($0, lang: context.lang) }
        return renderer.page("stats", title: context.t("st_title"), [
            "from": from.description, "to": to.description, "byDay": by == .day, "byMonth": by == .month,
            "charts": view?["charts"] ?? [[String: Any]](), "figures": view?["figures"] ?? [[String: Any]](), "hasReport": r != nil,
            "pdf": "/api/v1/stats/report.pdf?from=\(from)&to=\(to)&lang=\(context.lang.rawValue)",
        ].merging(PagesController.errorView(error, context), uniquingKeysWith: { a, _ in a }), context: context)
    }

    /// The figures and charts of a report, labelled in `lang`: what the statistics page shows and the printed oversight
    /// report prints (one composition for both).
    static func statsView(_ r: StatisticsReport, lang: Lang) -> [String: Any] {
        func t(_ key: String) -> String { Messages.text(key, lang) }
        func sorted(_ d: [String: Int64]) -> [(String, Int64)] { d.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
        func pct(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
        func yuan(_ fen: Int64) -> String { String(format: "%.2f", Double(fen) / 100) }
        return [
            "charts": [
                chart("uses-by-period", t("st_uses_by_period"), r.series.map { ($0.period, $0.uses) }),
                chart("uses-by-domain", t("st_uses_by_domain"), sorted(r.uses.byDomain)),
                chart("uses-by-region", t("st_uses_by_region"), sorted(r.uses.byRegion)),
                chart("cards-by-status", t("st_cards_by_status"), sorted(r.cards.byStatus)),
                chart("complaints-by-kind", t("st_complaints_by_kind"), sorted(r.complaints.byKind)),
            ],
            "figures": [
                ["label": t("st_cards_issued"), "value": r.cards.byStatus.values.reduce(0, +), "id": "cards-issued"],
                ["label": t("st_uses_total"), "value": r.uses.total, "id": "uses-total"],
                ["label": t("st_cross_region"), "value": r.uses.crossRegion, "id": "cross-region"],
                ["label": t("st_ecards_active"), "value": r.ecards.active, "id": "ecards-active"],
                ["label": t("st_complaints_total"), "value": r.complaints.total, "id": "complaints-total"],
                ["label": t("st_on_time"), "value": pct(r.complaints.onTimeRate), "id": "on-time"],
                ["label": t("st_satisfied"), "value": pct(r.complaints.satisfiedRate), "id": "satisfied"],
                ["label": t("st_cases"), "value": r.cases.total, "id": "cases"],
                ["label": t("st_fines"), "value": yuan(r.cases.fineFen), "id": "fines"],
                ["label": t("st_payments"), "value": r.payments.count, "id": "payments"],
                ["label": t("st_paid"), "value": yuan(r.payments.paidFen), "id": "paid"],
            ] as [[String: Any]],
            "series": r.series.map { ["period": $0.period, "uses": $0.uses, "complaints": $0.complaints, "payments": $0.payments] },
        ]
    }

    /// A horizontal bar chart as inline SVG (role img, named by its heading, described by the table beside it).
    static func chart(_ id: String, _ title: String, _ values: [(String, Int64)]) -> [String: Any] {
        let maxValue = max(values.map(\.1).max() ?? 0, 1)
        let rowHeight = 22, labelWidth = 120, barWidth = 360
        var svg = ""
        for (i, (label, value)) in values.enumerated() {
            let y = i * rowHeight
            let w = value > 0 ? max(Int(Double(value) / Double(maxValue) * Double(barWidth)), 1) : 0
            svg += "<text x=\"0\" y=\"\(y + 15)\">\(Self.escape(label))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 4)\" width=\"\(w)\" height=\"14\" class=\"bar\"></rect>"
            svg += "<text x=\"\(labelWidth + w + 6)\" y=\"\(y + 15)\">\(value)</text>"
        }
        return ["id": id, "title": title, "height": max(values.count * rowHeight, rowHeight), "width": labelWidth + barWidth + 60,
                "svg": svg, "rows": values.map { ["label": $0.0, "value": $0.1] }, "empty": values.isEmpty]
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A due time shown as its day and 24:00 (it is the first instant of the next day).
    static func due(_ dueAt: Date) -> String { "\(ChinaStandardTime.day(of: dueAt.addingTimeInterval(-1))) 24:00" }

    func mine(_ me: Identity, _ context: PageContext, useId: String?, error: DomainError? = nil) async throws -> Response {
        let list = try await complaints.mine(me.personId!)
        let now = clock.now()
        return renderer.page("me-complaints", title: context.t("me_complaints"), [
            "useId": useId ?? "", "hasUse": useId != nil, "none": list.isEmpty,
            "kinds": ComplaintKind.allCases.map { ["value": $0.rawValue, "label": context.t("ck_\($0.rawValue)"), "selected": $0 == .complaint] },
            "topics": ComplaintTopic.allCases.map { ["value": $0.rawValue, "label": context.t("ct_\($0.rawValue)"), "selected": useId != nil && $0 == .cardRefused] },
            "rows": list.map { c -> [String: Any] in
                ["id": c.id, "kind": context.t("ck_\(c.kind.rawValue)"), "topic": context.t("ct_\(c.topic.rawValue)"),
                 "status": context.t("cs_\(c.progress.status.rawValue)"), "due": Self.due(c.dueAt), "overdue": c.isOverdue(now: now),
                 "received": PageTime.dateTime(c.receivedAt)]
            },
        ].merging(PagesController.errorView(error, context), uniquingKeysWith: { a, _ in a }), context: context)
    }

    func detail(_ c: Complaint, _ events: [ComplaintEvent], _ context: PageContext, holder: Bool, role: Role? = nil, notice: String? = nil,
                error: DomainError? = nil) -> Response {
        let status = c.progress.status
        return renderer.page("complaint", title: context.t("c_title"), [
            "id": c.id, "kind": context.t("ck_\(c.kind.rawValue)"), "topic": context.t("ct_\(c.topic.rawValue)"), "channel": c.channel.rawValue,
            "summary": c.summary, "status": context.t("cs_\(status.rawValue)"), "assignee": c.progress.assignee ?? "—",
            "received": PageTime.dateTime(c.receivedAt), "due": Self.due(c.dueAt), "provisional": c.dueProvisional,
            "overdue": c.isOverdue(now: clock.now()), "answer": c.answer ?? "", "hasAnswer": c.answer != nil,
            "notice": notice ?? "", "hasNotice": notice != nil, "holder": holder,
            "canRate": holder && status == .answered,
            "canAssign": !holder && c.forwardedTo == nil && (role == .agent || role == .admin) && (status == .open || status == .assigned),
            "canAnswer": !holder && c.forwardedTo == nil && (role == .agent || role == .department) && [.open, .assigned, .reopened].contains(status),
            "canReturn": !holder && c.originRegion != nil && (role == .agent || role == .admin) && (status == .open || status == .assigned),
            "forwardedTo": c.forwardedTo.map(PageRegion.name) ?? "", "hasForwardedTo": c.forwardedTo != nil,
            "origin": c.originRegion.map(PageRegion.name) ?? "", "hasOrigin": c.originRegion != nil,
            "events": events.map { ["at": PageTime.dateTime($0.at), "type": context.t("ce_\($0.type.rawValue)"), "actor": $0.actor, "note": $0.note ?? ""] },
            "back": holder ? "/me/complaints" : "/complaints",
        ].merging(PagesController.errorView(error, context), uniquingKeysWith: { a, _ in a }), context: context)
    }

    func staffStep(_ step: ComplaintService.Step, _ me: Identity, _ context: PageContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        do {
            _ = try await complaints.step(id, step, actor: me.actor, role: me.role, personId: nil)
            return Response.seeOther("/complaints/\(id)")
        } catch let e as DomainError {
            let (c, events) = try await complaints.complaint(id)
            return detail(c, events, context, holder: false, role: me.role, error: e)
        }
    }

    func caseList(_ context: PageContext, error: DomainError? = nil) async throws -> Response {
        let list = try await cases.list()
        return renderer.page("cases", title: context.t("case_title"), [
            "none": list.isEmpty,
            "types": CaseType.allCases.map { ["value": $0.rawValue, "label": context.t("cty_\($0.rawValue)")] },
            "rows": list.map { ["id": $0.id, "type": context.t("cty_\($0.type.rawValue)"), "status": context.t("cst_\($0.status.rawValue)"),
                                "opened": PageTime.dateTime($0.openedAt)] },
        ].merging(PagesController.errorView(error, context), uniquingKeysWith: { a, _ in a }), context: context)
    }

    func caseDetail(_ id: EnforcementCase.ID, _ context: PageContext, error: DomainError? = nil) async throws -> Response {
        let d = try await cases.detail(id)
        let c = d.c
        func yuan(_ fen: Int64) -> String { String(format: "%.2f", Double(fen) / 100) }
        let party: String = switch c.party {
        case .person(let p): p.rawValue
        case .organisation(let uscc, let name): "\(name)（\(uscc)）"
        }
        return renderer.page("case", title: context.t("case_title"), [
            "id": c.id, "type": context.t("cty_\(c.type.rawValue)"), "party": party, "summary": c.summary,
            "status": context.t("cst_\(c.status.rawValue)"), "opened": PageTime.dateTime(c.openedAt),
            "orderDue": c.orderDueAt.map(Self.due) ?? "", "hasOrder": c.orderDueAt != nil,
            "canOrder": c.status == .open, "canDecide": c.status != .decided, "decided": c.status == .decided,
            "hasFine": c.fineFen != nil, "fine": c.fineFen.map(yuan) ?? "", "paymentDue": c.paymentDueAt.map(Self.due) ?? "",
            "paid": yuan(d.paidFen), "surcharge": yuan(d.surchargeFen),
            "hasRecord": d.record != nil, "recordClass": d.record?.recordClass.rawValue ?? "",
            "recordUntil": d.record.map { $0.endOfPublication(repairedOn: c.repairedOn).description } ?? "",
            "repairFrom": d.record?.repairEligibleFrom.description ?? "", "today": ChinaStandardTime.day(of: clock.now()).description,
            "payKey": UUID().uuidString,
        ].merging(PagesController.errorView(error, context), uniquingKeysWith: { a, _ in a }), context: context)
    }
}
