import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Risk alerts for the auditor, and the node's incident mode (API.md "Risk, audit, incident").
struct RiskController {
    let risk: RiskService
    let incident: IncidentService

    func register(_ api: API) {
        api.add(.get,  "/api/v1/risk/alerts",                roles: [.auditor], alerts)
        api.add(.get,  "/api/v1/risk/alerts/{alertId}",      roles: [.auditor], showAlert)
        api.add(.post, "/api/v1/risk/alerts/{alertId}/resolve", roles: [.auditor], resolve)
        api.add(.post, "/api/v1/risk/alerts/{alertId}/actions", roles: [.auditor], act)
        api.add(.get,  "/api/v1/incident", roles: [.admin, .auditor, .agent, .department], showIncident)
        api.add(.put,  "/api/v1/incident", roles: [.admin], setIncident)
    }

    struct AlertView: Encodable, Sendable {
        static let schema = Schema.named("RiskAlert", .object([
            ("alertId", .text), ("rule", .oneOf(RiskRule.self)), ("severity", .oneOf(RiskSeverity.self)), ("status", .oneOf(RiskAlert.Status.self)),
            ("at", .dateTime), ("raisedAt", .dateTime),
            ("evidence", .object([("subject", .text), ("summary", .text), ("uses", .array(.text)), ("payments", .array(.text))],
                                 required: ["subject", "summary", "uses", "payments"])),
            ("assignee", .nullable(.text)), ("actions", .array(.text)), ("resolution", .nullable(.text)), ("resolvedBy", .nullable(.text)),
            ("resolvedAt", .nullable(.dateTime)),
        ], required: ["alertId", "rule", "severity", "status", "at", "raisedAt", "evidence", "actions"]))

        struct Evidence: Encodable, Sendable { let subject: String, summary: String, uses: [String], payments: [String] }
        let alertId: String, rule: String, severity: String, status: String, at: String, raisedAt: String
        let evidence: Evidence
        let assignee: String?, actions: [String], resolution: String?, resolvedBy: String?, resolvedAt: String?

        init(_ a: RiskAlert) {
            alertId = a.id; rule = a.rule.rawValue; severity = a.severity.rawValue; status = a.status.rawValue
            at = Timestamp.format(a.at); raisedAt = Timestamp.format(a.raisedAt)
            evidence = Evidence(subject: a.subject, summary: a.summary, uses: a.useIds, payments: a.paymentIds)
            assignee = a.assignee; actions = a.actions; resolution = a.resolution; resolvedBy = a.resolvedBy
            resolvedAt = a.resolvedAt.map(Timestamp.format)
        }
    }

    var alerts: Handler {
        Handler("Risk alerts, newest first (open and resolved unless a status is given)",
                tag: "risk",
                query: [.oneOf("status", "only alerts with this status", RiskAlert.Status.self), .oneOf("rule", "only alerts of this rule", RiskRule.self),
                        .integer("limit", "at most this many (default 200)", minimum: 1, maximum: 1000)],
                success: (200, "Alerts", .object([("alerts", .array(AlertView.schema))], required: ["alerts"]))) { request, _ in
            let q = request.uri.queryParameters
            let list = try await risk.alerts(status: q.get("status").flatMap(RiskAlert.Status.init(rawValue:)), rule: q.get("rule").flatMap(RiskRule.init(rawValue:)),
                                             limit: q.get("limit").flatMap { Int($0) } ?? 200)
            return JSONResponse(["alerts": list.map(AlertView.init)])
        }
    }

    var showAlert: Handler {
        Handler("One alert with its evidence, actions and resolution", tag: "risk",
                success: (200, "The alert", AlertView.schema), errors: [.alertNotFound]) { _, context in
            JSONResponse(AlertView(try await risk.alert(context.parameters.get("alertId") ?? "")))
        }
    }

    struct ResolveInput: Decodable { let resolution: String }

    var resolve: Handler {
        Handler("Resolve an alert with what was found (once; audited)", tag: "risk",
                request: .object([("resolution", .line(500))], required: ["resolution"]),
                success: (200, "The resolved alert", AlertView.schema), errors: [.alertNotFound, .alertResolved]) { request, context in
            let i = try await request.decodeJSON(as: ResolveInput.self, context: context)
            try TextRule.check(i.resolution, "resolution", max: 500, notBlank: true, oneLine: true)
            return JSONResponse(AlertView(try await risk.resolve(context.parameters.get("alertId") ?? "", resolution: i.resolution.trimmingCharacters(in: .whitespaces),
                                                                 by: context.identity!.actor)))
        }
    }

    struct ActionInput: Decodable { let action: String }

    var act: Handler {
        Handler("Act on an open alert: assign (take it), hold_payment / release_payment (its payment lines; the executor waits for held "
                + "lines), require_online / lift_online (the card's QR codes and chip refused offline through the revocation feed), "
                + "suspend_terminal (revoke the terminal's key). Audited.",
                tag: "risk",
                request: .object([("action", .oneOf(RiskService.Action.self))], required: ["action"]),
                success: (200, "The alert with the action noted", AlertView.schema),
                errors: [.alertNotFound, .alertResolved, .actionNotApplicable, .terminalNotFound]) { request, context in
            let i = try await request.decodeJSON(as: ActionInput.self, context: context)
            let action: RiskService.Action = try parseEnum(i.action, "action")
            return JSONResponse(AlertView(try await risk.act(context.parameters.get("alertId") ?? "", action, by: context.identity!.actor)))
        }
    }

    struct IncidentView: Encodable, Sendable {
        static let schema = Schema.named("Incident", .object([
            ("active", .boolean), ("reason", .nullable(.text)), ("since", .nullable(.dateTime)), ("by", .nullable(.text)),
        ], required: ["active"]))
        let active: Bool, reason: String?, since: String?, by: String?
        init(_ s: IncidentService.State) { active = s.active; reason = s.reason; since = s.since.map(Timestamp.format); by = s.by }
    }

    var showIncident: Handler {
        Handler("Whether the node is in incident mode, since when, why and by whom", tag: "risk",
                success: (200, "The incident state", IncidentView.schema)) { _, _ in
            JSONResponse(IncidentView(try await incident.current()))
        }
    }

    struct IncidentInput: Decodable { let active: Bool; let reason: String }

    var setIncident: Handler {
        Handler("Switch incident mode on or off, with a reason (audited). On: every venue must verify online (the signed revocation "
                + "feed says incident: true and offline gates refuse with online_check_required), the QR signing key is rotated, unmasked "
                + "staff reads are frozen (incident_mode).",
                tag: "risk",
                request: .object([("active", .boolean), ("reason", .line(500))], required: ["active", "reason"]),
                success: (200, "The incident state", IncidentView.schema)) { request, context in
            let i = try await request.decodeJSON(as: IncidentInput.self, context: context)
            try TextRule.check(i.reason, "reason", max: 500, notBlank: true, oneLine: true)
            return JSONResponse(IncidentView(try await incident.set(active: i.active, reason: i.reason.trimmingCharacters(in: .whitespaces),
                                                                   by: context.identity!.actor)))
        }
    }
}
