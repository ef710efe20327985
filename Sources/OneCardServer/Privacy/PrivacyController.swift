import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// The holder's correction and deletion requests and the retention job (issue 17, PIPL). API.md is silent on the paths;
/// they follow the consents' (`/api/v1/me/...` for the holder) and the complaints' worklist (`/api/v1/...` for staff).
struct PrivacyController {
    let requests: DataRequestService
    let retention: RetentionService
    let clock: Clock

    func register(_ api: API) {
        api.add(.post, "/api/v1/me/data-requests",              roles: [.holder],                    submit)
        api.add(.get,  "/api/v1/me/data-requests",              roles: [.holder],                    mine)
        api.add(.get,  "/api/v1/data-requests",                 roles: [.agent, .admin, .auditor],   worklist)
        api.add(.get,  "/api/v1/data-requests/{requestId}",     roles: [.agent],                     show)
        api.add(.post, "/api/v1/data-requests/{requestId}/decide", roles: [.agent],                  decide)
        api.add(.get,  "/api/v1/retention",                     roles: [.admin, .auditor],           rules)
        api.add(.post, "/api/v1/retention/run",                 roles: [.admin],                     run)
    }

    struct View: Encodable, Sendable {
        static let schema = Schema.named("DataRequest", .object([
            ("requestId", .text), ("personId", .text), ("kind", .oneOf(DataRequest.Kind.self)), ("field", .oneOf(DataRequest.Field.self)),
            ("value", .nullable(.text)), ("reason", .text), ("status", .oneOf(DataRequest.Status.self)), ("receivedAt", .dateTime),
            ("dueAt", .dateTime), ("dueAtProvisional", .boolean), ("overdue", .boolean), ("decidedAt", .nullable(.dateTime)),
            ("decidedBy", .nullable(.text)), ("note", .nullable(.text)),
        ], required: ["requestId", "personId", "kind", "field", "status", "receivedAt", "dueAt", "dueAtProvisional", "overdue"]))
        let requestId: String, personId: String, kind: String, field: String, value: String?, reason: String?, status: String
        let receivedAt: String, dueAt: String, dueAtProvisional: Bool, overdue: Bool, decidedAt: String?, decidedBy: String?, note: String?
        /// `full`: with the value and the holder's words (the holder's own, or the agent's audited read).
        init(_ r: DataRequest, now: Date, full: Bool) {
            requestId = r.id; personId = r.personId.rawValue; kind = r.kind.rawValue; field = r.field.rawValue
            value = full ? r.value : nil; reason = full ? r.reason : nil; status = r.status.rawValue
            receivedAt = Timestamp.format(r.receivedAt); dueAt = Timestamp.format(r.dueAt); dueAtProvisional = r.dueProvisional
            overdue = r.isOverdue(at: now); decidedAt = r.decidedAt.map(Timestamp.format); decidedBy = r.decidedBy; note = r.note
        }
    }

    struct Input: Decodable { let kind: String; let field: String; let value: String?; let reason: String }
    struct Decision: Decodable { let outcome: String; let note: String? }

    var submit: Handler {
        Handler("Ask to correct or delete my personal data (PIPL arts. 46–47): decided by an agent within the region's working days; "
                    + "the name and phone cannot be deleted while the card exists (not_deletable)",
                tag: "data-requests",
                request: .object([("kind", .oneOf(DataRequest.Kind.self)), ("field", .oneOf(DataRequest.Field.self)), ("value", .line(200)),
                                  ("reason", .filled(1000))], required: ["kind", "field", "reason"]),
                success: (201, "The request", View.schema), errors: [.notDeletable, .valueRequired, .valueInvalid]) { request, context in
            let i = try await request.decodeJSON(as: Input.self, context: context)
            let kind: DataRequest.Kind = try parseEnum(i.kind, "kind")
            let field: DataRequest.Field = try parseEnum(i.field, "field")
            let identity = context.identity!
            let r = try await requests.submit(.init(kind: kind, field: field, value: i.value, reason: i.reason), personId: identity.personId!,
                                              actor: identity.actor)
            return JSONResponse(View(r, now: clock.now(), full: true), status: .created)
        }
    }

    var mine: Handler {
        Handler("My correction and deletion requests, newest first", tag: "data-requests",
                success: (200, "Requests", .object([("requests", .array(View.schema))], required: ["requests"]))) { _, context in
            let now = clock.now()
            return JSONResponse(["requests": try await requests.mine(personId: context.identity!.personId!).map { View($0, now: now, full: true) }])
        }
    }

    var worklist: Handler {
        Handler("Correction and deletion requests, the earliest deadline first, without the holder's words (read one to see them); "
                    + "overdue=true: open past their deadline",
                tag: "data-requests",
                query: [.oneOf("status", "only this status", DataRequest.Status.self), .boolean("overdue", "only those open past their deadline")],
                success: (200, "Requests", .object([("requests", .array(View.schema))], required: ["requests"])),
                errors: [.invalidValue]) { request, context in
            let q = request.uri.queryParameters
            let status: DataRequest.Status? = try q.get("status").map { try parseEnum($0, "status") }
            let now = clock.now()
            return JSONResponse(["requests": try await requests.list(status: status, overdue: q.get("overdue") == "true").map { View($0, now: now, full: false) }])
        }
    }

    var show: Handler {
        Handler("One request in full, to decide it (audited as a read of the holder's personal data)", tag: "data-requests",
                success: (200, "The request", View.schema), errors: [.dataRequestNotFound]) { _, context in
            let r = try await requests.show(context.parameters.get("requestId") ?? "", actor: context.identity!.actor)
            return JSONResponse(View(r, now: clock.now(), full: true))
        }
    }

    var decide: Handler {
        Handler("Decide a request: done (a correction or deletion of a field is applied to the person record at once) or refused with its reasons "
                    + "(PIPL art. 50)",
                tag: "data-requests",
                request: .object([("outcome", .string(values: ["done", "refused"])), ("note", .filled(1000))], required: ["outcome"]),
                success: (200, "The decided request", View.schema), errors: [.dataRequestNotFound, .requestDecided, .noteRequired]) { request, context in
            let d = try await request.decodeJSON(as: Decision.self, context: context)
            let outcome: DataRequest.Status = try parseEnum(d.outcome, "outcome")
            let r = try await requests.decide(context.parameters.get("requestId") ?? "", outcome: outcome, note: d.note, actor: context.identity!.actor)
            return JSONResponse(View(r, now: clock.now(), full: true))
        }
    }

    struct RuleView: Encodable, Sendable {
        static let schema = Schema.named("RetentionRule", .object([
            ("record", .oneOf(RetentionRule.Record.self)), ("action", .string(values: ["delete", "anonymise"])), ("keepDays", .integer), ("basis", .text),
            ("lastRunAt", .nullable(.dateTime)), ("cutoff", .nullable(.dateTime)), ("affected", .nullable(.integer)), ("totalAffected", .nullable(.integer)),
        ], required: ["record", "action", "keepDays", "basis"]))
        let record: String, action: String, keepDays: Int, basis: String, lastRunAt: String?, cutoff: String?, affected: Int?, totalAffected: Int?
    }

    static func ruleViews(_ rules: [RetentionRule], _ runs: [RetentionRepository.Run]) -> [RuleView] {
        rules.map { r in
            let run = runs.first { $0.record == r.record }
            return RuleView(record: r.record.rawValue, action: r.record.action, keepDays: r.keepDays, basis: r.basis,
                            lastRunAt: run.map { Timestamp.format($0.lastRunAt) }, cutoff: run.map { Timestamp.format($0.cutoff) },
                            affected: run?.affected, totalAffected: run?.totalAffected)
        }
    }

    var rules: Handler {
        Handler("The retention rules in force (the region's pack) with the job's last run per record type", tag: "retention",
                success: (200, "Rules", .object([("rules", .array(RuleView.schema))], required: ["rules"]))) { _, _ in
            JSONResponse(["rules": Self.ruleViews(retention.privacy.retention, try await retention.runs())])
        }
    }

    var run: Handler {
        Handler("Run the retention job now (it also runs daily): what expired is deleted or anonymised, each type audited", tag: "retention",
                success: (200, "What the run changed", .object([("rules", .array(RuleView.schema))], required: ["rules"]))) { _, context in
            _ = try await retention.run(actor: context.identity!.actor)
            return JSONResponse(["rules": Self.ruleViews(retention.privacy.retention, try await retention.runs())])
        }
    }
}
