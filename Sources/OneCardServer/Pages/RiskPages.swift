import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// The auditor's risk alerts (`/risk`: evidence, actions, resolution, as `/api/v1/risk/alerts`) and the administrator's
/// incident switch (`/admin/incident`, as `PUT /api/v1/incident`).
struct RiskPages {
    let risk: RiskService
    let incident: IncidentService
    let renderer: PageRenderer

    static let signIn = "/staff/signin"

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/risk") { _, context in
            _ = try context.require([.auditor], signIn: Self.signIn)
            return try await riskPage(context)
        }
        pages.post("/risk/:alertId/act") { _, context in
            let me = try context.require([.auditor], signIn: Self.signIn)
            let action: RiskService.Action = try parseEnum(try context.form.required("action"), "action")
            _ = try await risk.act(context.parameters.get("alertId") ?? "", action, by: me.actor)
            return Response.seeOther("/risk")
        }
        pages.post("/risk/:alertId/resolve") { _, context in
            let me = try context.require([.auditor], signIn: Self.signIn)
            let resolution = try context.form.required("resolution")
            try TextRule.check(resolution, "resolution", max: 500, notBlank: true, oneLine: true)
            _ = try await risk.resolve(context.parameters.get("alertId") ?? "", resolution: resolution.trimmingCharacters(in: .whitespaces), by: me.actor)
            return Response.seeOther("/risk")
        }
        pages.get("/admin/incident") { _, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            return try await incidentPage(context)
        }
        pages.post("/admin/incident") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let reason = try context.form.required("reason")
            try TextRule.check(reason, "reason", max: 500, notBlank: true, oneLine: true)
            _ = try await incident.set(active: context.form["active"] == "true", reason: reason.trimmingCharacters(in: .whitespaces), by: me.actor)
            return Response.seeOther("/admin/incident")
        }
    }

    private func riskPage(_ context: PageContext) async throws -> Response {
        let all = try await risk.alerts(status: nil, rule: nil, limit: 300)
        func view(_ a: RiskAlert) -> [String: Any] {
            let actions = RiskService.Action.allCases.filter { action in
                switch action {
                case .assign: a.assignee == nil
                case .holdPayment, .releasePayment: !a.paymentIds.isEmpty
                case .requireOnline, .liftOnline: a.subject.hasPrefix("card:")
                case .suspendTerminal: a.subject.hasPrefix("terminal:")
                }
            }
            return [
                "id": a.id, "rule": a.rule.rawValue, "ruleName": context.t("risk_rule_\(a.rule.rawValue)"), "severity": a.severity.rawValue,
                "at": PageTime.dateTime(a.at), "summary": a.summary, "subject": a.subject,
                "uses": a.useIds.joined(separator: ", "), "payments": a.paymentIds.joined(separator: ", "),
                "hasUses": !a.useIds.isEmpty, "hasPayments": !a.paymentIds.isEmpty,
                "assignee": a.assignee ?? "", "done": a.actions, "hasDone": !a.actions.isEmpty,
                "resolution": a.resolution ?? "", "resolvedBy": a.resolvedBy ?? "",
                "actions": actions.map { ["value": $0.rawValue, "label": context.t("risk_action_\($0.rawValue)")] },
            ]
        }
        let open = all.filter { $0.status == .open }, resolved = all.filter { $0.status == .resolved }
        return renderer.page("risk", title: context.t("risk_title"), [
            "open": open.map(view), "hasOpen": !open.isEmpty, "resolved": resolved.map(view), "hasResolved": !resolved.isEmpty,
        ], context: context)
    }

    private func incidentPage(_ context: PageContext) async throws -> Response {
        let state = try await incident.current()
        return renderer.page("admin-incident", title: context.t("incident_title"), [
            "active": state.active, "reason": state.reason ?? "", "since": state.since.map(PageTime.dateTime) ?? "", "by": state.by ?? "",
        ], context: context)
    }
}
