import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// The holder's correction and deletion requests (`/me/data-requests`), the agents' queue of them
/// (`/agent/data-requests`), and the retention rules with the job's last runs (`/admin/retention`).
struct PrivacyPages {
    let requests: DataRequestService
    let retention: RetentionService
    let clock: Clock
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/data-requests") { _, context in
            let me = try context.require([.holder], signIn: "/signin")
            let list = try await requests.mine(personId: me.personId!)
            return renderer.page("me-data-requests", title: context.t("dr_title"), [
                "requests": list.map { row($0, context, full: true) },
                "hasRequests": !list.isEmpty,
                "kinds": DataRequest.Kind.allCases.map { ["value": $0.rawValue, "label": context.t("dr_kind_\($0.rawValue)")] },
                "fields": DataRequest.Field.allCases.map { ["value": $0.rawValue, "label": context.t("dr_field_\($0.rawValue)")] },
            ], context: context)
        }
        pages.post("/me/data-requests") { _, context in
            let me = try context.require([.holder], signIn: "/signin")
            let kind: DataRequest.Kind = try parseEnum(try context.form.required("kind"), "kind")
            let field: DataRequest.Field = try parseEnum(try context.form.required("field"), "field")
            let value = context.form["value"].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
            _ = try await requests.submit(.init(kind: kind, field: field, value: value, reason: try context.form.required("reason")),
                                          personId: me.personId!, actor: me.actor)
            return Response.seeOther("/me/data-requests")
        }
        pages.get("/agent/data-requests") { _, context in
            _ = try context.require([.agent], signIn: AgentPages.signIn)
            let list = try await requests.list(status: .open, overdue: false)
            return renderer.page("agent-data-requests", title: context.t("dr_queue_title"), [
                "requests": list.map { row($0, context, full: false) }, "hasRequests": !list.isEmpty,
            ], context: context)
        }
        pages.get("/agent/data-requests/:id") { _, context in
            let me = try context.require([.agent], signIn: AgentPages.signIn)
            let r = try await requests.show(context.parameters.get("id") ?? "", actor: me.actor)
            var d = row(r, context, full: true)
            d["personId"] = r.personId.rawValue
            d["isOpen"] = r.status == .open
            return renderer.page("agent-data-request", title: context.t("dr_one_title"), ["request": d], context: context)
        }
        pages.post("/agent/data-requests/:id/decide") { _, context in
            let me = try context.require([.agent], signIn: AgentPages.signIn)
            let id = context.parameters.get("id") ?? ""
            let outcome: DataRequest.Status = try parseEnum(try context.form.required("outcome"), "outcome")
            let note = context.form["note"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
            _ = try await requests.decide(id, outcome: outcome, note: note, actor: me.actor)
            return Response.seeOther("/agent/data-requests/\(id)")
        }
        pages.get("/admin/retention") { _, context in
            let me = try context.require([.admin, .auditor], signIn: AdminPages.signIn)
            let runs = try await retention.runs()
            let rules = retention.privacy.retention.map { r -> [String: Any] in
                let run = runs.first { $0.record == r.record }
                return ["record": r.record.rawValue, "label": context.t("ret_record_\(r.record.rawValue)"),
                        "action": context.t("ret_action_\(r.record.action)"), "keepDays": r.keepDays, "basis": r.basis,
                        "lastRunAt": run.map { PageTime.dateTime($0.lastRunAt) } ?? "—", "affected": run.map { String($0.affected) } ?? "—"]
            }
            return renderer.page("admin-retention", title: context.t("ret_title"), ["rules": rules, "canRun": me.role == .admin], context: context)
        }
        pages.post("/admin/retention/run") { _, context in
            let me = try context.require([.admin], signIn: AdminPages.signIn)
            _ = try await retention.run(actor: me.actor)
            return Response.seeOther("/admin/retention")
        }
    }

    private func row(_ r: DataRequest, _ context: PageContext, full: Bool) -> [String: Any] {
        var d: [String: Any] = [
            "id": r.id, "kind": context.t("dr_kind_\(r.kind.rawValue)"), "field": context.t("dr_field_\(r.field.rawValue)"),
            "receivedAt": PageTime.dateTime(r.receivedAt), "dueAt": PageTime.dateTime(r.dueAt), "status": context.t("dr_status_\(r.status.rawValue)"),
            "overdue": r.isOverdue(at: clock.now()), "note": r.note ?? "",
        ]
        if full { d["value"] = r.value ?? ""; d["reason"] = r.reason }
        return d
    }
}
