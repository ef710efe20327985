import Foundation
import Hummingbird
import NIOCore
import OneCardCore
import OneCardStore

/// Programmes, payment batches and the holder's payments and notifications.
struct PaymentsController {
    let payments: PaymentService

    struct ProgrammeInput: Decodable { let name: String; let kind: String; let department: String; let legalBasis: String; let fundingAccount: String? }
    struct LinesInput: Decodable {
        struct Line: Decodable { let idNumber: String; let name: String; let amountFen: Int64 }
        let lines: [Line]
    }

    struct BatchView: Encodable, Sendable {
        static let schema = Schema.named("PaymentBatch", .object([
                ("batchId", .text), ("programmeId", .text), ("status", .oneOf(BatchStatus.self)), ("uploadedBy", .text), ("approvedBy", .nullable(.text)),
                ("createdAt", .dateTime), ("approvedAt", .nullable(.dateTime)), ("completedAt", .nullable(.dateTime)),
                ("requestedCount", .integer), ("rejectedLines", .integer),
                ("counts", .object(PaymentState.allCases.map { ($0.rawValue, Schema.integer) }, required: PaymentState.allCases.map(\.rawValue))),
                ("totals", .object([("requestedFen", .integer), ("paidFen", .integer), ("failedFen", .integer), ("returnedFen", .integer),
                                    ("pendingFen", .integer), ("heldFen", .integer), ("sentFen", .integer)], required: ["requestedFen", "paidFen", "failedFen", "returnedFen"])),
            ], required: ["batchId", "programmeId", "status", "counts", "totals"]))

        struct Counts: Encodable, Sendable { let pending: Int, held: Int, sent: Int, paid: Int, failed: Int, returned: Int }
        struct Totals: Encodable, Sendable {
            let requestedFen: Int64, paidFen: Int64, failedFen: Int64, returnedFen: Int64, pendingFen: Int64, heldFen: Int64, sentFen: Int64
        }
        let batchId: String, programmeId: String, status: String, uploadedBy: String, approvedBy: String?
        let createdAt: String, approvedAt: String?, completedAt: String?, requestedCount: Int, rejectedLines: Int
        let counts: Counts, totals: Totals
        init(_ b: PaymentBatch, _ t: BatchTotals) {
            batchId = b.id.rawValue; programmeId = b.programmeId.rawValue; status = b.status.rawValue; uploadedBy = b.uploadedBy; approvedBy = b.approvedBy
            createdAt = Timestamp.format(b.createdAt); approvedAt = b.approvedAt.map(Timestamp.format); completedAt = b.completedAt.map(Timestamp.format)
            requestedCount = t.requestedCount; rejectedLines = b.rejectedCount
            counts = Counts(pending: t.count[.pending] ?? 0, held: t.count[.held] ?? 0, sent: t.count[.sent] ?? 0, paid: t.count[.paid] ?? 0,
                            failed: t.count[.failed] ?? 0, returned: t.count[.returned] ?? 0)
            totals = Totals(requestedFen: t.requestedFen, paidFen: t.fen[.paid] ?? 0, failedFen: t.fen[.failed] ?? 0,
                            returnedFen: t.fen[.returned] ?? 0, pendingFen: t.fen[.pending] ?? 0,
                            heldFen: t.fen[.held] ?? 0, sentFen: t.fen[.sent] ?? 0)
        }
    }

    struct PaymentView: Encodable, Sendable {
        static let schema = Schema.named("Payment", .object([
                ("paymentId", .text), ("line", .integer), ("personId", .text), ("amountFen", .integer), ("state", .oneOf(PaymentState.self)),
                ("attempt", .integer), ("bankCode", .nullable(.text)), ("accountMasked", .nullable(.text)), ("reason", .nullable(.text)),
                ("sentAt", .nullable(.dateTime)), ("settledAt", .nullable(.dateTime)), ("programmeId", .text), ("programme", .text),
            ], required: ["paymentId", "amountFen", "state"]))

        let paymentId: String, line: Int, personId: String, amountFen: Int64, state: String, attempt: Int
        let bankCode: String?, accountMasked: String?, reason: String?, sentAt: String?, settledAt: String?
        var programmeId: String? = nil, programme: String? = nil
        init(_ p: Payment) {
            paymentId = p.id; line = p.line; personId = p.personId.rawValue; amountFen = p.amountFen; state = p.state.rawValue; attempt = p.attempt
            bankCode = p.bankCode; accountMasked = p.accountMasked; reason = p.reason
            sentAt = p.sentAt.map(Timestamp.format); settledAt = p.settledAt.map(Timestamp.format)
        }
        /// A payment with its programme (the holder's own list).
        init(_ p: Payment, programmeId: Programme.ID, programme: String) {
            self.init(p)
            self.programmeId = programmeId.rawValue; self.programme = programme
        }
    }

    struct Page: Encodable, Sendable { let payments: [PaymentView]; let next: Int? }
    struct Notice: Encodable, Sendable {
        let at: String, kind: String, message: String, paymentId: String?
        init(_ n: HolderNotice, lang: Lang = .zh) {
            at = Timestamp.format(n.at); kind = n.kind.rawValue; message = Messages.notice(n.kind, n.parameters, lang); paymentId = n.paymentId
        }
    }

    struct UploadView: Encodable, Sendable {
        struct Rejected: Encodable, Sendable { let line: Int; let reason: String }
        let batchId: String, accepted: Int, rejected: [Rejected]
    }

    func register(_ api: API) {
        api.add(.post, "/api/v1/programmes",              roles: Docs.staff,              createProgramme)
        api.add(.post, "/api/v1/programmes/{id}/batches", roles: Docs.staff,              uploadBatch)
        api.add(.post, "/api/v1/batches/{id}/approve",    roles: Docs.staff,              approveBatch)
        api.add(.post, "/api/v1/batches/{id}/execute",    roles: Docs.staff,              executeBatch)
        api.add(.post, "/api/v1/batches/{id}/retry",      roles: Docs.staff,              retryBatch)
        api.add(.get,  "/api/v1/batches/{id}",            roles: Docs.staff + [.auditor], showBatch)
        api.add(.get,  "/api/v1/batches/{id}/payments",   roles: Docs.staff + [.auditor], batchPayments)
        api.add(.get,  "/api/v1/me/payments",             roles: [.holder],          myPayments)
        api.add(.get,  "/api/v1/me/notifications",        roles: [.holder],          myNotifications)
    }

    // MARK: handlers

    var createProgramme: Handler {
        Handler("Create a benefit programme",
                tag: "payments",
                request: .object([("name", .filled(100)), ("kind", .oneOf(ProgrammeKind.self)), ("department", .filled(100)), ("legalBasis", .filled(300)),
                                  ("fundingAccount", .string(pattern: "^[0-9]{10,30}$"))], required: ["name", "kind", "department", "legalBasis"]),
                success: (201, "Created", .object([("programmeId", .text)], required: ["programmeId"]))) { request, context in
            let i = try await request.decodeJSON(as: ProgrammeInput.self, context: context)
            let p = try await payments.createProgramme(name: i.name, kind: try parseEnum(i.kind, "kind"), department: i.department,
                                                                legalBasis: i.legalBasis, fundingAccount: i.fundingAccount, actor: context.identity!.actor)
            return JSONResponse(["programmeId": p.id.rawValue], status: .created)
        }
    }

    var uploadBatch: Handler {
        Handler("Upload a batch: JSON {lines:[{idNumber,name,amountFen}]} or text/csv with header idNumber,name,amountFen (streamed)",
                tag: "payments",
                request: .object([("lines", .array(.object([("idNumber", .text), ("name", .text), ("amountFen", .integer)],
                    required: ["idNumber", "name", "amountFen"])))], required: ["lines"]),
                success: (201, "The batch, with every rejected line and why", .object([
                       ("batchId", .text), ("accepted", .integer),
                       ("rejected", .array(.object([("line", .integer), ("reason", .text)], required: ["line", "reason"]))),
                    ], required: ["batchId", "accepted", "rejected"])),
                errors: [.programmeNotFound, .uploadInProgress, .invalidCsvHeader, .emptyBatch],
                extraHeaders: [("Idempotency-Key", "repeat an upload safely: the same key returns the first batch and its answer", false)]) { request, context in
            let id = Programme.ID(context.parameters.get("id") ?? "")
            let actor = context.identity!.actor
            let type = (request.headers[.contentType] ?? "").lowercased()
            let key = try idempotencyKey(request)
            let result: PaymentService.UploadResult
            if type.hasPrefix("text/csv") {
                result = try await payments.upload(request.body, programmeId: id, actor: actor, idempotencyKey: key)
            } else {
                let input = try await request.decodeJSON(as: LinesInput.self, context: context)
                guard !input.lines.isEmpty else { throw DomainError(.emptyBatch, "lines: at least one") }
                switch try await payments.beginUpload(programmeId: id, actor: actor, idempotencyKey: key) {
                case .repeated(let earlier): result = earlier
                case .new(let upload):
                    do {
                        for (n, l) in input.lines.enumerated() {
                            try await upload.add(BatchLine(line: n + 1, idNumber: l.idNumber, name: l.name, amountFen: l.amountFen))
                        }
                        result = try await payments.finishUpload(upload, actor: actor)
                    } catch {
                        await payments.abandonUpload(upload, actor: actor, reason: "\(error)")
                        throw error
                    }
                }
            }
            return JSONResponse(UploadView(batchId: result.batchId.rawValue, accepted: result.accepted,
                                           rejected: result.rejected.map { .init(line: $0.line, reason: $0.reason) }), status: .created)
        }
    }

    var approveBatch: Handler {
        Handler("Approve a batch (four eyes: not by its uploader)",
                tag: "payments",
                success: (200, "Approved", BatchView.schema),
                errors: [.batchNotFound, .fourEyesRequired, .invalidTransition]) { _, context in
            let b = try await payments.approve(PaymentBatch.ID(context.parameters.get("id") ?? ""), actor: context.identity!.actor)
            return JSONResponse(try await view(b))
        }
    }

    var executeBatch: Handler {
        Handler("Execute an approved batch: payments go to each holder's current account, exactly once; poll GET /batches/{id}",
                tag: "payments",
                success: (202, "Executing", BatchView.schema),
                errors: [.batchNotFound, .batchNotApproved]) { _, context in
            let b = try await payments.execute(PaymentBatch.ID(context.parameters.get("id") ?? ""), actor: context.identity!.actor)
            return JSONResponse(try await view(b), status: .accepted)
        }
    }

    var retryBatch: Handler {
        Handler("Send failed and returned payments again (after the cause is fixed), as new attempts",
                tag: "payments",
                success: (202, "Retrying", .object([("retried", .integer)], required: ["retried"])),
                errors: [.batchNotFound, .batchNotExecuted]) { _, context in
            let n = try await payments.retry(PaymentBatch.ID(context.parameters.get("id") ?? ""), actor: context.identity!.actor)
            return JSONResponse(["retried": n], status: .accepted)
        }
    }

    var showBatch: Handler {
        Handler("A batch's status, counts and totals (which always add up)",
                tag: "payments",
                success: (200, "The batch", BatchView.schema),
                errors: [.batchNotFound]) { _, context in
            JSONResponse(try await view(try await payments.batch(PaymentBatch.ID(context.parameters.get("id") ?? ""))))
        }
    }

    var batchPayments: Handler {
        Handler("A batch's payments with state, bank and masked account",
                tag: "payments",
                query: [.integer("after", "line number to continue after (paging)", minimum: 0), .integer("limit", "at most this many (1 to 1000, default 200)", minimum: 1, maximum: 1000)],
                success: (200, "Payments", .object([("payments", .array(PaymentView.schema)), ("next", .nullable(.integer))], required: ["payments"])),
                errors: [.batchNotFound]) { request, context in
            let id = PaymentBatch.ID(context.parameters.get("id") ?? "")
            _ = try await payments.batch(id)
            let after = try intQuery(request, "after", default: 0, range: 0...Int.max)
            let limit = try intQuery(request, "limit", default: 200, range: 1...1000)
            let list = try await payments.payments(batchId: id, afterLine: after, limit: limit)
            return JSONResponse(Page(payments: list.map(PaymentView.init), next: list.count == limit ? list.last?.line : nil))
        }
    }

    var myPayments: Handler {
        Handler("My payments and their outcome",
                tag: "me",
                success: (200, "My payments", .object([("payments", .array(PaymentView.schema))], required: ["payments"]))) { _, context in
            JSONResponse(["payments": try await Self.payments(personId: context.identity!.personId!, payments: payments)])
        }
    }

    var myNotifications: Handler {
        Handler("Notices to me (payment to a changed account, returned payment, bank terminated or migrated)",
                tag: "me",
                success: (200, "Notices", .object([("notifications", .array(Schema.named("Notification", .object([
                       ("at", .dateTime), ("kind", .text), ("message", .text), ("paymentId", .nullable(.text)),
                    ], required: ["at", "kind", "message"]))))], required: ["notifications"]))) { request, context in
            let lang = Lang(acceptLanguage: request.headers[.acceptLanguage])
            return JSONResponse(["notifications": try await Self.notifications(personId: context.identity!.personId!, lang: lang, payments: payments)])
        }
    }

    /// Schemas, roles and error lists several handlers share.
    enum Docs {
        static let staff: Roles = [.department, .admin]
    }

    /// A person's payments with their programme (for `/me/payments` and the data export).
    static func payments(personId: Person.ID, payments: PaymentService) async throws -> [PaymentView] {
        try await payments.payments(personId: personId).map { PaymentView($0.0, programmeId: $0.1, programme: $0.2) }
    }

    /// The notices sent to a person, in words in `lang` (for `/me/notifications`, `/me/payments` and the data export).
    static func notifications(personId: Person.ID, lang: Lang = .zh, payments: PaymentService) async throws -> [Notice] {
        try await payments.notifications(personId: personId).map { Notice($0, lang: lang) }
    }

    func view(_ b: PaymentBatch) async throws -> BatchView {
        BatchView(b, try await payments.totals(batchId: b.id))
    }

    func intQuery(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let n = Int(text), range.contains(n) else { throw DomainError(.invalidValue, "\(name): an integer in \(range)") }
        return n
    }

    func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[.idempotencyKey]?.trimmingCharacters(in: .whitespaces), !key.isEmpty else { return nil }
        guard key.count <= 200 else { throw DomainError(.invalidField, "Idempotency-Key: at most 200 characters") }
        return key
    }
}
