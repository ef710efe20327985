import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Enforcement cases for the supervisor (`auditor`), and the signed public credit feed (API.md "cases", "credit").
struct CasesController {
    let cases: CaseService

    func register(_ api: API) {
        api.add(.post, "/api/v1/cases",                roles: [.auditor], openCase)
        api.add(.get,  "/api/v1/cases",                roles: [.auditor], listCases)
        api.add(.get,  "/api/v1/cases/{id}",           roles: [.auditor], showCase)
        api.add(.post, "/api/v1/cases/{id}/order",     roles: [.auditor], orderCase)
        api.add(.post, "/api/v1/cases/{id}/decide",    roles: [.auditor], decideCase)
        api.add(.post, "/api/v1/cases/{id}/payments",  roles: [.auditor], recordPayment)
        api.add(.post, "/api/v1/cases/{id}/repair",    roles: [.auditor], repairRecord)
        api.add(.post, "/api/v1/cases/{id}/bank-action", roles: [.auditor], bankAction)
        api.add(.get,  "/api/v1/credit/feed",          roles: .anyone,    creditFeed)
        api.add(.get,  "/api/v1/me/credit-records",    roles: [.holder],  myRecords)
    }

    struct OpenInput: Decodable {
        struct Party: Decodable { let personId: String?; let uscc: String?; let name: String? }
        let type: String, party: Party, summary: String, evidence: [String]?, actEndedOn: String?
    }
    struct OrderInput: Decodable { let dueAt: String }
    struct BankActionInput: Decodable { let action: String; let bankCode: String; let successorCode: String?; let choiceDays: Int? }

    var bankAction: Handler {
        Handler("A bank_breach case, after its order to correct, suspends the bank's new business or terminates its agreement with a "
                    + "successor (GD art. 20): the bank flows' rules, a migration plan and the holders told, in the case's transaction",
                tag: "cases",
                request: .object([("action", .oneOf(CaseService.BankAction.self)), ("bankCode", .line(32)), ("successorCode", .line(32)),
                                  ("choiceDays", .integerIn(minimum: 0, maximum: 365))], required: ["action", "bankCode"]),
                success: (200, "The case and the bank as they now stand", .object([("case", CaseView.schema), ("bank", RegistryController.BankView.schema)],
                                                                                 required: ["case", "bank"])),
                errors: [.caseNotFound, .actionNotApplicable, .orderRequired, .bankNotFound, .invalidSuccessor, .successorRequired, .invalidTransition]) { request, context in
            let i = try await request.decodeJSON(as: BankActionInput.self, context: context)
            let action: CaseService.BankAction = try parseEnum(i.action, "action")
            let (c, bank) = try await cases.bankAction(context.parameters.get("id") ?? "", action, bankCode: i.bankCode, successorCode: i.successorCode,
                                                       choiceDays: i.choiceDays, actor: context.identity!.actor)
            struct View: Encodable { let `case`: CaseView; let bank: RegistryController.BankView }
            return JSONResponse(View(case: CaseView(try await cases.detail(c.id)), bank: RegistryController.BankView(bank)))
        }
    }
    struct DecideInput: Decodable { let serious: Bool; let fineFen: Int64? }
    struct PaymentInput: Decodable { let amountFen: Int64; let paidAt: String }

    struct CaseView: Encodable, Sendable {
        static let schema = Schema.named("EnforcementCase", .object([
            ("caseId", .text), ("type", .oneOf(CaseType.self)),
            ("party", .object([("personId", .text), ("uscc", .text), ("name", .text)], required: [])),
            ("summary", .text), ("evidence", .array(.text)), ("status", .oneOf(CaseStatus.self)), ("openedAt", .dateTime),
            ("orderDueAt", .nullable(.dateTime)), ("serious", .nullable(.boolean)), ("fineFen", .nullable(.integer)),
            ("decidedAt", .nullable(.dateTime)), ("paymentDueAt", .nullable(.dateTime)), ("surchargeFen", .integer), ("paidFen", .integer),
            ("creditRecord", .nullable(.object([("class", .oneOf(CreditClass.self)), ("publishedFrom", .date), ("repairEligibleFrom", .date),
                                                 ("publishedUntil", .date), ("repairedOn", .nullable(.date))],
                                                required: ["class", "publishedFrom", "repairEligibleFrom", "publishedUntil"]))),
        ], required: ["caseId", "type", "party", "summary", "evidence", "status", "openedAt", "surchargeFen", "paidFen"]))

        struct Party: Encodable, Sendable { let personId: String?, uscc: String?, name: String? }
        struct Record: Encodable, Sendable {
            let `class`: String, publishedFrom: String, repairEligibleFrom: String, publishedUntil: String, repairedOn: String?
        }
        let caseId: String, type: String, party: Party, summary: String, evidence: [String], status: String, openedAt: String
        let orderDueAt: String?, serious: Bool?, fineFen: Int64?, decidedAt: String?, paymentDueAt: String?
        let surchargeFen: Int64, paidFen: Int64, creditRecord: Record?

        init(_ d: CaseService.Detail) {
            let c = d.c
            caseId = c.id; type = c.type.rawValue; summary = c.summary; evidence = c.evidence; status = c.status.rawValue
            switch c.party {
            case .person(let id): party = Party(personId: id.rawValue, uscc: nil, name: nil)
            case .organisation(let uscc, let name): party = Party(personId: nil, uscc: uscc, name: name)
            }
            openedAt = Timestamp.format(c.openedAt); orderDueAt = c.orderDueAt.map(Timestamp.format); serious = c.serious; fineFen = c.fineFen
            decidedAt = c.decidedAt.map(Timestamp.format); paymentDueAt = c.paymentDueAt.map(Timestamp.format)
            surchargeFen = d.surchargeFen; paidFen = d.paidFen
            creditRecord = d.record.map { Record(class: $0.recordClass.rawValue, publishedFrom: $0.publishedFrom.description,
                                                 repairEligibleFrom: $0.repairEligibleFrom.description, publishedUntil: $0.publishedUntil.description,
                                                 repairedOn: c.repairedOn?.description) }
        }
    }

    var openCase: Handler {
        Handler("Open a case against a person or an organisation (by its unified social credit code); not for an act beyond the limitation period",
                tag: "cases",
                request: .object([
                    ("type", .oneOf(CaseType.self)),
                    ("party", .either([.object([("personId", .text)], required: ["personId"]),
                                       .object([("uscc", .string(pattern: "^[0-9A-HJ-NPQRTUWXY]{18}$")), ("name", .filled(200))], required: ["uscc", "name"])])),
                    ("summary", .filled(2000)), ("evidence", .array(.text(1, 200), maxItems: 100)), ("actEndedOn", .date),
                ], required: ["type", "party", "summary"]),
                success: (201, "Opened", .object([("caseId", .text), ("status", .only("open"))], required: ["caseId", "status"])),
                errors: [.personNotFound, .invalidUscc, .limitationExpired, .invalidTimeRange]) { request, context in
            let i = try await request.decodeJSON(as: OpenInput.self, context: context)
            guard let type = CaseType(rawValue: i.type) else { throw DomainError.invalidField("type", "one of \(CaseType.allCases.map(\.rawValue).joined(separator: ", "))") }
            let party: EnforcementCase.Party
            if let personId = i.party.personId {
                party = .person(Person.ID(personId))
            } else if let uscc = i.party.uscc, let name = i.party.name {
                try TextRule.check(name, "party.name", max: 200, notBlank: true)
                party = .organisation(uscc: try UnifiedSocialCreditCode(uscc).value, name: name)
            } else {
                throw DomainError.invalidField("party", "{personId} or {uscc,name}")
            }
            var ended: CalendarDay?
            if let raw = i.actEndedOn {
                guard let d = CalendarDay(raw) else { throw DomainError(.invalidTimeRange, "actEndedOn: no such day") }
                ended = d
            }
            let c = try await cases.open(.init(type: type, party: party, summary: i.summary, evidence: i.evidence ?? [], actEndedOn: ended),
                                         actor: context.identity!.actor)
            struct Opened: Encodable, Sendable { let caseId: String, status: String }
            return JSONResponse(Opened(caseId: c.id, status: c.status.rawValue), status: .created)
        }
    }

    var listCases: Handler {
        Handler("Cases, newest first", tag: "cases",
                success: (200, "Cases", .object([("cases", .array(.object([("caseId", .text), ("type", .oneOf(CaseType.self)),
                                                                            ("status", .oneOf(CaseStatus.self)), ("openedAt", .dateTime)],
                                                                           required: ["caseId", "type", "status", "openedAt"])))], required: ["cases"]))) { _, _ in
            struct Row: Encodable, Sendable { let caseId: String, type: String, status: String, openedAt: String }
            return JSONResponse(["cases": try await cases.list().map { Row(caseId: $0.id, type: $0.type.rawValue, status: $0.status.rawValue, openedAt: Timestamp.format($0.openedAt)) }])
        }
    }

    var showCase: Handler {
        Handler("A case with its fine, payment deadline, late surcharge (3 % a day, at most the fine) and integrity record", tag: "cases",
                success: (200, "The case", CaseView.schema), errors: [.caseNotFound]) { _, context in
            JSONResponse(CaseView(try await cases.detail(context.parameters.get("id") ?? "")))
        }
    }

    var orderCase: Handler {
        Handler("Order the party to correct by dueAt (责令限期改正)", tag: "cases",
                request: .object([("dueAt", .dateTime)], required: ["dueAt"]), success: (200, "The case", CaseView.schema),
                errors: [.caseNotFound, .invalidTransition, .invalidTimeRange]) { request, context in
            let i = try await request.decodeJSON(as: OrderInput.self, context: context)
            guard let due = Timestamp.parse(i.dueAt) else { throw DomainError(.invalidTimeRange, "dueAt: no such time") }
            let c = try await cases.order(context.parameters.get("id") ?? "", dueAt: due, actor: context.identity!.actor)
            return JSONResponse(CaseView(try await cases.detail(c.id)))
        }
    }

    var decideCase: Handler {
        Handler("Decide: no prior order → order_required; a fine the pack does not allow (type, or not serious) → fine_not_allowed; outside the range → fine_out_of_range",
                tag: "cases",
                request: .object([("serious", .boolean), ("fineFen", .integerIn(minimum: 1, maximum: Int(CaseService.maxAmountFen)))], required: ["serious"]),
                success: (200, "Decided", .object([("status", .only("decided")), ("fineFen", .nullable(.integer)), ("paymentDueAt", .nullable(.dateTime))],
                                                  required: ["status", "fineFen", "paymentDueAt"])),
                errors: [.caseNotFound, .invalidTransition, .orderRequired, .fineNotAllowed, .fineOutOfRange]) { request, context in
            let i = try await request.decodeJSON(as: DecideInput.self, context: context)
            let c = try await cases.decide(context.parameters.get("id") ?? "", serious: i.serious, fineFen: i.fineFen, actor: context.identity!.actor)
            struct Decided: Encodable, Sendable {
                let status: String, fineFen: Int64?, paymentDueAt: String?
                func encode(to encoder: any Encoder) throws {
                    var k = encoder.container(keyedBy: CodingKeys.self)
                    try k.encode(status, forKey: .status); try k.encode(fineFen, forKey: .fineFen); try k.encode(paymentDueAt, forKey: .paymentDueAt)
                }
                enum CodingKeys: String, CodingKey { case status, fineFen, paymentDueAt }
            }
            return JSONResponse(Decided(status: c.status.rawValue, fineFen: c.fineFen, paymentDueAt: c.paymentDueAt.map(Timestamp.format)))
        }
    }

    var recordPayment: Handler {
        Handler("Record a payment of the fine; with an Idempotency-Key a retry records it once", tag: "cases",
                request: .object([("amountFen", .integerIn(minimum: 1, maximum: Int(CaseService.maxAmountFen))), ("paidAt", .dateTime)], required: ["amountFen", "paidAt"]),
                success: (200, "The case", CaseView.schema),
                errors: [.caseNotFound, .nothingToPay, .invalidTimeRange],
                extraHeaders: [("Idempotency-Key", "the same key records the payment once", false)]) { request, context in
            let i = try await request.decodeJSON(as: PaymentInput.self, context: context)
            guard let paidAt = Timestamp.parse(i.paidAt) else { throw DomainError(.invalidTimeRange, "paidAt: no such time") }
            let key = request.headers[.idempotencyKey].flatMap { $0.isEmpty ? nil : String($0.prefix(100)) }
            let c = try await cases.pay(context.parameters.get("id") ?? "", amountFen: i.amountFen, paidAt: paidAt, key: key, actor: context.identity!.actor)
            return JSONResponse(CaseView(try await cases.detail(c.id)))
        }
    }

    var repairRecord: Handler {
        Handler("Grant credit repair (信用修复) after the minimum publicity period: publication ends today", tag: "cases",
                success: (200, "The case", CaseView.schema),
                errors: [.caseNotFound, .invalidTransition, .repairNotYetEligible]) { _, context in
            let c = try await cases.repair(context.parameters.get("id") ?? "", actor: context.identity!.actor)
            return JSONResponse(CaseView(try await cases.detail(c.id)))
        }
    }

    var myRecords: Handler {
        Handler("The holder's own integrity records (诚信档案): each decided fine with its class, publication dates and state",
                tag: "cases",
                success: (200, "Records", .object([("records", .array(.object([
                    ("caseId", .text), ("type", .oneOf(CaseType.self)), ("fineFen", .integer), ("decidedAt", .dateTime),
                    ("class", .oneOf(CreditClass.self)), ("publishedFrom", .date), ("repairEligibleFrom", .date), ("publishedUntil", .date),
                    ("repairedOn", .nullable(.date)), ("status", .string(values: ["published", "removed"])),
                ], required: ["caseId", "type", "fineFen", "decidedAt", "class", "publishedFrom", "repairEligibleFrom", "publishedUntil", "status"])))],
                required: ["records"]))) { _, context in
            struct Row: Encodable, Sendable {
                let caseId: String, type: String, fineFen: Int64, decidedAt: String, `class`: String, publishedFrom: String
                let repairEligibleFrom: String, publishedUntil: String, repairedOn: String?, status: String
            }
            let rows = try await cases.records(of: context.identity!.personId!).map { c, r, published in
                Row(caseId: c.id, type: c.type.rawValue, fineFen: c.fineFen ?? 0, decidedAt: c.decidedAt.map(Timestamp.format) ?? "",
                    class: r.recordClass.rawValue, publishedFrom: r.publishedFrom.description, repairEligibleFrom: r.repairEligibleFrom.description,
                    publishedUntil: r.endOfPublication(repairedOn: c.repairedOn).description, repairedOn: c.repairedOn?.description,
                    status: published ? "published" : "removed")
            }
            return JSONResponse(["records": rows])
        }
    }

    var creditFeed: Handler {
        Handler("Published fines and integrity records, and their removals, for the public credit platform: a compact JWS (typ onecard-credit+jwt) signed by a key in /api/v1/trust/jwks",
                tag: "cases",
                success: (200, "Compact JWS of {issuedAt,entries:[{caseId,type,party,fineFen,decidedAt,publishedUntil,status}]}", nil),
                successContentType: "application/jose") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/jose"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try await cases.signedFeed())))
        }
    }
}
