import Foundation
import Hummingbird
import NIOCore
import OneCardCore
import OneCardStore

/// The department's pages for disbursement: programmes and their batches, a batch uploaded as CSV text
/// (through the API's own `text/csv` path, so every line gets the same checks and reasons), and a batch's
/// status, totals and payments with approval by a second person, execution and retry. The roles are the
/// API's: departments and administrators act; an auditor may read a batch.
struct DepartmentPages {
    let payments: PaymentService
    let registry: RegistryService
    let random: RandomSource
    let renderer: PageRenderer

    static let signIn = "/staff/signin"
    /// Who may create programmes, upload, approve, execute and retry (as `POST /api/v1/programmes` and `/batches`).
    static let staff: [Role] = [.department, .admin]
    /// Who may read a batch (as `GET /api/v1/batches/{id}`).
    static let readers: [Role] = staff + [.auditor]
    /// Payments shown per page of a batch.
    static let pageSize = 50
    /// Rejected lines shown on a batch page; the rest are counted.
    static let rejectionsShown = 200

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/department") { _, context in
            _ = try context.require(Self.readers, signIn: Self.signIn)
            return try await homePage(context)
        }

        pages.post("/department/programmes") { _, context in
            let me = try context.require(Self.staff, signIn: Self.signIn)
            let f = context.form
            do {
                let p = try await payments.createProgramme(name: try f.required("name"), kind: try parseEnum(try f.required("kind"), "kind"),
                                                           department: try f.required("department"), legalBasis: try f.required("legalBasis"),
                                                           fundingAccount: f["fundingAccount"], actor: me.actor)
                return Response.seeOther("/department/programmes/\(p.id)")
            } catch let e as DomainError {
                return try await homePage(context, error: e, form: f)
            }
        }

        pages.get("/department/programmes/{id}") { _, context in
            _ = try context.require(Self.readers, signIn: Self.signIn)
            return try await programmePage(try await payments.programme(Programme.ID(context.parameters.get("id") ?? "")), context)
        }

        // The CSV typed or pasted into the form goes through the API's streaming CSV upload; the hidden key makes a
        // form sent twice (a double click, a reload) return the first batch instead of making a second one.
        pages.post("/department/programmes/{id}/batches") { _, context in
            let me = try context.require(Self.staff, signIn: Self.signIn)
            let programme = try await payments.programme(Programme.ID(context.parameters.get("id") ?? ""))
            let f = context.form
            do {
                let text = try f.required("csv")
                let body = AsyncStream<ByteBuffer> { c in c.yield(ByteBuffer(string: text)); c.finish() }
                let result = try await payments.upload(body, programmeId: programme.id, actor: me.actor, idempotencyKey: f["uploadKey"])
                return Response.seeOther("/department/batches/\(result.batchId)?notice=batch_uploaded")
            } catch let e as DomainError {
                return try await programmePage(programme, context, error: e, csv: f["csv"] ?? "")
            }
        }

        pages.get("/department/batches/{id}") { request, context in
            _ = try context.require(Self.readers, signIn: Self.signIn)
            let q = request.uri.queryParameters
            let notice = q.get("notice").flatMap { ["batch_uploaded", "batch_approved", "batch_executing", "batch_retried"].contains($0) ? context.t($0) : nil }
            return try await batchPage(PaymentBatch.ID(context.parameters.get("id") ?? ""), context, after: q.get("after").flatMap { Int($0) } ?? 0, notice: notice)
        }

        // Approve, execute, retry: the API's services; a refusal (four eyes, wrong state) is shown on the batch page with the API's code.
        for action in ["approve", "execute", "retry"] {
            pages.post("/department/batches/{id}/\(action)") { _, context in
                let me = try context.require(Self.staff, signIn: Self.signIn)
                let id = PaymentBatch.ID(context.parameters.get("id") ?? "")
                do {
                    switch action {
                    case "approve": _ = try await payments.approve(id, actor: me.actor)
                    case "execute": _ = try await payments.execute(id, actor: me.actor)
                    default: _ = try await payments.retry(id, actor: me.actor)
                    }
                } catch let e as DomainError where e.code != .batchNotFound {
                    return try await batchPage(id, context, after: 0, error: e)
                }
                let notice = ["approve": "batch_approved", "execute": "batch_executing", "retry": "batch_retried"][action]!
                return Response.seeOther("/department/batches/\(id)?notice=\(notice)")
            }
        }
    }

    // MARK: pages

    /// Every programme with its batches, and the form that creates a programme.
    func homePage(_ context: PageContext, error: DomainError? = nil, form: Form = Form()) async throws -> Response {
        var list: [(Programme, [(PaymentBatch, BatchTotals)])] = []
        for p in try await payments.programmes() { list.append((p, try await payments.batchesWithTotals(programmeId: p.id))) }
        var d = PagesController.errorView(error, context)
        d["programmes"] = list.map { p, batches -> [String: Any] in
            var row = Self.programmeView(p, context)
            row["batches"] = batches.map { b, t -> [String: Any] in
                Self.batchSummary(b, context).merging([
                    "requestedCount": t.requestedCount, "requested": Self.yuan(t.requestedFen, context), "paid": Self.yuan(t.fen[.paid] ?? 0, context),
                    "paidCount": t.count[.paid] ?? 0,
                ]) { a, _ in a }
            }
            row["hasBatches"] = !batches.isEmpty
            return row
        }
        d["none"] = list.isEmpty
        d["canCreate"] = context.identity.map { Self.staff.contains($0.role) } ?? false
        let chosen = form["kind"] ?? ProgrammeKind.subsidy.rawValue
        d["kinds"] = ProgrammeKind.allCases.map { ["value": $0.rawValue, "label": context.t("pk_\($0.rawValue)"), "selected": $0.rawValue == chosen] as [String: Any] }
        d["form"] = ["name": form["name"] ?? "", "department": form["department"] ?? "", "legalBasis": form["legalBasis"] ?? "",
                     "fundingAccount": form["fundingAccount"] ?? ""]
        return renderer.page("department", title: context.t("department_title"), d, context: context,
                             status: error.map { Problem.status(for: $0.kind) } ?? .ok, back: "/department")
    }

    /// A programme, its batches and the upload form.
    func programmePage(_ p: Programme, _ context: PageContext, error: DomainError? = nil, csv: String = "") async throws -> Response {
        let batches = try await payments.batchesWithTotals(programmeId: p.id)
        var d = PagesController.errorView(error, context)
        d["programme"] = Self.programmeView(p, context)
        d["batches"] = batches.map { b, t in
            Self.batchSummary(b, context).merging(["requestedCount": t.requestedCount, "requested": Self.yuan(t.requestedFen, context)]) { a, _ in a }
        }
        d["hasBatches"] = !batches.isEmpty
        d["canUpload"] = context.identity.map { Self.staff.contains($0.role) } ?? false
        d["csv"] = csv.isEmpty ? BatchCSV.header.joined(separator: ",") + "\n" : csv
        d["uploadKey"] = random.uuid()
        return renderer.page("department-programme", title: p.name, d, context: context,
                             status: error.map { Problem.status(for: $0.kind) } ?? .ok, back: "/department/programmes/\(p.id)")
    }

    /// A batch: status, counts and totals in yuan, the lines its upload rejected, one page of payments (masked) and
    /// the actions its status allows.
    func batchPage(_ id: PaymentBatch.ID, _ context: PageContext, after: Int, error: DomainError? = nil, notice: String? = nil) async throws -> Response {
        let batch = try await payments.batch(id)
        let programme = try await payments.programme(batch.programmeId)
        let view = PaymentsController.BatchView(batch, try await payments.totals(batchId: id))
        let limit = Self.pageSize
        let rejected = try await payments.rejections(batchId: id)
        let list = try await payments.payments(batchId: id, afterLine: max(0, after), limit: limit)
        let persons = try await registry.persons(ids: list.map(\.personId))
        let canAct = context.identity.map { Self.staff.contains($0.role) } ?? false
        let c = view.counts, t = view.totals
        var d = PagesController.errorView(error, context)
        d["programme"] = Self.programmeView(programme, context)
        d["batch"] = Self.batchSummary(batch, context).merging([
            "uploadedBy": batch.uploadedBy, "approvedBy": batch.approvedBy ?? context.t("none"),
            "approvedAt": batch.approvedAt.map(PageTime.dateTime) ?? "—", "completedAt": batch.completedAt.map(PageTime.dateTime) ?? "—",
        ]) { a, _ in a }
        d["rows"] = [
            ("requested", view.requestedCount, t.requestedFen), ("ps_pending", c.pending, t.pendingFen), ("ps_held", c.held, t.heldFen),
            ("ps_sent", c.sent, t.sentFen),
            ("ps_paid", c.paid, t.paidFen), ("ps_failed", c.failed, t.failedFen), ("ps_returned", c.returned, t.returnedFen),
        ].map { key, n, fen -> [String: Any] in
            ["key": key, "label": context.t(key == "requested" ? "batch_requested" : key), "count": n, "yuan": Self.yuan(fen, context)]
        }
        d["rejected"] = rejected.prefix(Self.rejectionsShown).map { ["line": $0.line, "code": $0.reason, "reason": Self.lineReason($0.reason, context)] as [String: Any] }
        d["rejectedCount"] = rejected.count
        d["hasRejected"] = !rejected.isEmpty
        d["moreRejected"] = String(format: context.t("batch_more_rejected"), max(0, rejected.count - Self.rejectionsShown))
        d["hasMoreRejected"] = rejected.count > Self.rejectionsShown
        d["accepted"] = String(format: context.t("batch_accepted_text"), view.requestedCount, rejected.count)
        d["payments"] = list.map { p -> [String: Any] in
            let person = persons[p.personId]
            return ["line": p.line, "holder": person.map { "\(Mask.name($0.name))（\(Mask.idNumber($0.idNumber.value))）" } ?? "",
                    "amount": Self.yuan(p.amountFen, context), "state": context.t("ps_\(p.state.rawValue)"), "stateCode": p.state.rawValue,
                    "ok": p.state == .paid, "bad": p.state == .failed || p.state == .returned,
                    "bank": p.bankCode ?? "", "account": p.accountMasked ?? "—", "attempt": p.attempt,
                    "reason": p.reason.map { Self.paymentReason($0, context) } ?? "", "hasReason": p.reason != nil]
        }
        d["hasPayments"] = !list.isEmpty
        d["from"] = list.first?.line ?? 0
        d["to"] = list.last?.line ?? 0
        d["next"] = list.count == limit ? "/department/batches/\(id)?after=\(list.last!.line)" : ""
        d["hasNext"] = list.count == limit
        d["hasPrevious"] = after > 0
        d["first"] = "/department/batches/\(id)"
        d["canApprove"] = canAct && batch.status == .awaitingApproval
        d["canExecute"] = canAct && batch.status == .approved
        d["canRetry"] = canAct && (batch.status == .executing || batch.status == .completed) && c.failed + c.returned > 0
        d["isExecuting"] = batch.status == .executing
        d["notice"] = notice ?? ""
        d["hasNotice"] = notice != nil
        let title = "\(context.t("batch_title")) · \(programme.name)"
        return renderer.page("department-batch", title: title, d, context: context,
                             status: error.map { Problem.status(for: $0.kind) } ?? .ok, back: "/department/batches/\(id)")
    }

    // MARK: views

    static func programmeView(_ p: Programme, _ context: PageContext) -> [String: Any] {
        ["id": p.id.rawValue, "name": p.name, "kind": context.t("pk_\(p.kind.rawValue)"), "department": p.department, "legalBasis": p.legalBasis,
         "createdAt": PageTime.dateTime(p.createdAt), "createdBy": p.createdBy, "link": "/department/programmes/\(p.id)"]
    }

    static func batchSummary(_ b: PaymentBatch, _ context: PageContext) -> [String: Any] {
        ["id": b.id.rawValue, "link": "/department/batches/\(b.id)", "status": context.t("bs_\(b.status.rawValue)"), "statusCode": b.status.rawValue,
         "ok": b.status == .completed, "createdAt": PageTime.dateTime(b.createdAt), "rejectedLines": b.rejectedCount]
    }

    /// An amount in fen as yuan for people: "123.45 元" / "123.45 yuan".
    static func yuan(_ fen: Int64, _ context: PageContext) -> String {
        "\(Yuan.format(fen)) \(context.t("yuan"))"
    }

    /// Why a line of an upload was rejected, in words (the code is shown beside it).
    static func lineReason(_ code: String, _ context: PageContext) -> String {
        Messages.table(context.lang)["line_" + code] ?? Messages.reason(code, context.lang)
    }

    /// Why a payment failed or came back, in words.
    static func paymentReason(_ code: String, _ context: PageContext) -> String {
        Messages.table(context.lang)["payfail_" + code] ?? Messages.reason(code, context.lang)
    }
}
