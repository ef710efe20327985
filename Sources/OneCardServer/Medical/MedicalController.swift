import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Cross-province direct medical settlement (API.md "Medical settlement"): the treatment place's catalogue and the
/// insured place's policies (admin), insured persons (department, scope `medical_security`), filings (agent, holder),
/// settlement and reversal at a hospital's terminal, the holder's own view, and the monthly clearing.
struct MedicalController {
    let medical: MedicalService

    struct ItemInput: Decodable {
        let code: String; let name: String; let category: MedicalCategory; let preselfpayPercent: Percent?; let priceCapFen: Int64?
    }
    struct PolicyInput: Decodable {
        let scheme: MedicalScheme; let care: MedicalCare; let deductibleFirstFen: Int64; let deductibleLaterFen: Int64
        let ratioPercentByLevel: ByLevel<Percent>; let retireeUpliftPercent: Percent; let annualCapFen: Int64?
        let temporary: TemporaryReduction; let filingFreeRegions: [String]; let effectiveFrom: CalendarDay?
    }
    struct InsuredInput: Decodable { let scheme: MedicalScheme; let insuredRegion: String; let retired: Bool; let accountBalanceFen: Int64? }
    struct FilingInput: Decodable { let personId: String?; let kind: FilingKind; let treatmentRegion: String; let from: CalendarDay; let to: CalendarDay? }
    struct SettlementInput: Decodable {
        let credential: AcceptanceController.CredentialInput; let care: MedicalCare; let hospitalLevel: HospitalLevel; let emergency: Bool
        let items: [MedicalBillLine]
    }

    func register(_ api: API) {
        api.add(.get,  "/api/v1/medical/catalogue",                   roles: .anyone,              publishedCatalogue)
        api.add(.post, "/api/v1/medical/catalogue/items",             roles: [.admin],             draftItem)
        api.add(.get,  "/api/v1/medical/catalogue/drafts",            roles: [.admin],             listDrafts)
        api.add(.post, "/api/v1/medical/catalogue/publish",           roles: [.admin],             publish)
        api.add(.put,  "/api/v1/medical/policies/{regionCode}",       roles: [.admin],             putPolicy)
        api.add(.get,  "/api/v1/medical/policies/{regionCode}",       roles: [.admin, .auditor, .department], showPolicies)
        api.add(.put,  "/api/v1/medical/insureds/{personId}",         roles: [.department],        putInsured)
        api.add(.post, "/api/v1/medical/filings",                     roles: [.agent],             fileAtCounter)
        api.add(.post, "/api/v1/me/medical/filings",                  roles: [.holder],            fileOnline)
        api.add(.get,  "/api/v1/me/medical/filings",                  roles: [.holder],            myFilings)
        api.add(.get,  "/api/v1/me/medical",                          roles: [.holder],            myMedical)
        api.add(.post, "/api/v1/medical/settlements",                 roles: [.terminal],          settle)
        api.add(.post, "/api/v1/medical/settlements/{id}/reverse",    roles: [.terminal],          reverse)
        api.add(.get,  "/api/v1/medical/clearing",                    roles: [.admin, .auditor],   clearing)
        api.add(.post, "/api/v1/medical/clearing/statements",         roles: [.admin],             sendStatements)
        api.add(.get,  "/api/v1/medical/clearing/reconciliations",    roles: [.admin, .auditor],   reconciliations)
    }

    // MARK: handlers

    var publishedCatalogue: Handler {
        Handler("The treatment place's published medical catalogue (public)",
                tag: "medical",
                success: (200, "The published version (0 and no items before the first)",
                          .object([("version", .integer), ("publishedAt", .nullable(.dateTime)), ("items", .array(Docs.item))], required: ["version", "items"]))) { _, _ in
            let c = try await medical.catalogue()
            return try Response.json(CatalogueView(version: c.version?.version ?? 0, publishedAt: c.version.map { Timestamp.format($0.publishedAt) }, items: c.items))
        }
    }

    var draftItem: Handler {
        Handler("Draft an item of the treatment place's catalogue (added or changed in the next published version)",
                tag: "medical",
                request: Docs.itemInput,
                success: (201, "The drafted item", Docs.item),
                errors: [.preselfpayOnlyForCategoryB]) { request, context in
            let i = try await request.decodeJSON(as: ItemInput.self, context: context)
            let item = try await medical.draft(MedicalCatalogueItem(code: i.code, name: i.name, category: i.category, preselfpayPercent: i.preselfpayPercent,
                                                                    priceCapFen: i.priceCapFen), by: context.identity!.actor)
            return JSONResponse(item, status: .created)
        }
    }

    var listDrafts: Handler {
        Handler("Medical catalogue items awaiting publication",
                tag: "medical",
                success: (200, "Drafts", .object([("drafts", .array(Docs.item))], required: ["drafts"]))) { _, _ in
            JSONResponse(["drafts": try await medical.drafts()])
        }
    }

    var publish: Handler {
        Handler("Publish every drafted medical catalogue item as the next numbered version",
                tag: "medical",
                success: (200, "The new version", .object([("version", .integer), ("publishedAt", .dateTime), ("publishedBy", .text)], required: ["version"])),
                errors: [.nothingToPublish]) { _, context in
            let v = try await medical.publish(by: context.identity!.actor)
            return try Response.json(CatalogueController.VersionView(version: v.version, publishedAt: Timestamp.format(v.publishedAt), publishedBy: v.publishedBy))
        }
    }

    var putPolicy: Handler {
        Handler("Set the insured place's policy for a scheme and care: each PUT is a new version (presets are version 1)",
                tag: "medical",
                request: Docs.policyInput,
                success: (200, "The version stored", .object([("policyVersion", .integer)], required: ["policyVersion"])),
                errors: [.reductionBeyondMaximum, .invalidRegionCode, .invalidIdNumber]) { request, context in
            let region = context.parameters.get("regionCode") ?? ""
            _ = try RegionCode(region)
            let i = try await request.decodeJSON(as: PolicyInput.self, context: context)
            let policy = MedicalPolicy(regionCode: region, scheme: i.scheme, care: i.care, effectiveFrom: i.effectiveFrom, deductibleFirstFen: i.deductibleFirstFen,
                                       deductibleLaterFen: i.deductibleLaterFen, ratioPercentByLevel: i.ratioPercentByLevel,
                                       retireeUpliftPercent: i.retireeUpliftPercent, annualCapFen: i.annualCapFen, temporary: i.temporary,
                                       filingFreeRegions: i.filingFreeRegions, source: "admin")
            let version = try await medical.putPolicy(policy, region: region, by: context.identity!.actor)
            return JSONResponse(["policyVersion": version])
        }
    }

    var showPolicies: Handler {
        Handler("The insured place's policies in force today for a region (its own, its prefecture's or its province's; stored or preset)",
                tag: "medical",
                success: (200, "Policies", .object([("policies", .array(Docs.policy))], required: ["policies"])),
                errors: [.invalidRegionCode, .invalidIdNumber]) { _, context in
            JSONResponse(["policies": try await medical.policies(region: context.parameters.get("regionCode") ?? "")])
        }
    }

    var putInsured: Handler {
        Handler("Record a person's basic medical insurance (the medical security department: scope medical_security)",
                tag: "medical",
                request: .object([("scheme", .oneOf(MedicalScheme.self)), ("insuredRegion", Docs.region), ("retired", .boolean),
                                  ("accountBalanceFen", .integerIn(minimum: 0, maximum: Docs.maxFen))],
                                 required: ["scheme", "insuredRegion", "retired"]),
                success: (200, "The insured person", Docs.insured),
                errors: [.personNotFound, .invalidRegionCode, .invalidIdNumber, .accountNotForScheme]) { request, context in
            let i = try await request.decodeJSON(as: InsuredInput.self, context: context)
            let personId = Person.ID(context.parameters.get("personId") ?? "")
            let saved = try await medical.putInsured(MedicalInsured(personId: personId, scheme: i.scheme, insuredRegion: i.insuredRegion, retired: i.retired,
                                                                    accountBalanceFen: i.accountBalanceFen), by: context.identity!)
            return JSONResponse(InsuredView(saved))
        }
    }

    var fileAtCounter: Handler {
        Handler("File (备案) a person's treatment in another province at a counter",
                tag: "medical",
                request: Docs.filingInput(withPerson: true),
                success: (201, "Filed", .object([("filingId", .text)], required: ["filingId"])),
                errors: [.personNotFound, .invalidRegionCode, .invalidIdNumber, .invalidTimeRange]) { request, context in
            let i = try await request.decodeJSON(as: FilingInput.self, context: context)
            guard let person = i.personId else { throw DomainError.invalidField("personId", "required") }
            let f = try await medical.file(MedicalFiling(kind: i.kind, treatmentRegion: i.treatmentRegion, from: i.from, to: i.to), personId: Person.ID(person),
                                           channel: "counter", by: context.identity!.actor)
            return JSONResponse(["filingId": f.id], status: .created)
        }
    }

    var fileOnline: Handler {
        Handler("File (备案) my treatment in another province online",
                tag: "me",
                request: Docs.filingInput(withPerson: false),
                success: (201, "Filed", .object([("filingId", .text)], required: ["filingId"])),
                errors: [.personNotFound, .invalidRegionCode, .invalidIdNumber, .invalidTimeRange]) { request, context in
            let i = try await request.decodeJSON(as: FilingInput.self, context: context)
            let f = try await medical.file(MedicalFiling(kind: i.kind, treatmentRegion: i.treatmentRegion, from: i.from, to: i.to),
                                           personId: context.identity!.personId!, channel: "online", by: context.identity!.actor)
            return JSONResponse(["filingId": f.id], status: .created)
        }
    }

    var myFilings: Handler {
        Handler("My filings",
                tag: "me",
                success: (200, "Filings, oldest first", .object([("filings", .array(Docs.filing))], required: ["filings"]))) { _, context in
            JSONResponse(["filings": try await medical.overview(personId: context.identity!.personId!).filings.map(FilingView.init)])
        }
    }

    var myMedical: Handler {
        Handler("My medical insurance: the insured record (null when none), filings and settlements",
                tag: "me",
                success: (200, "My insurance", .object([("insured", .nullable(Docs.insured)), ("filings", .array(Docs.filing)),
                                                        ("settlements", .array(Docs.settlement))], required: ["insured", "filings", "settlements"]))) { _, context in
            let o = try await medical.overview(personId: context.identity!.personId!)
            return try Response.json(OverviewView(insured: o.insured.map(InsuredView.init), filings: o.filings.map(FilingView.init),
                                                  settlements: o.settlements.map { SettlementView($0.record, at: $0.at) }))
        }
    }

    var settle: Handler {
        Handler("Settle a hospital bill directly with the card or QR code (the split under the insured place's policy and this treatment place's catalogue)",
                tag: "medical",
                request: .object([("credential", AcceptanceController.Docs.credential), ("care", .oneOf(MedicalCare.self)),
                                  ("hospitalLevel", .integerIn(minimum: 1, maximum: 3)), ("emergency", .boolean),
                                  ("items", .array(.object([("code", .text(1, 64)), ("amountFen", .integerIn(minimum: 0, maximum: Docs.maxFen)),
                                                            ("quantity", .integerIn(minimum: 1, maximum: 1_000_000))],
                                                           required: ["code", "amountFen", "quantity"]), minItems: 1, maxItems: MedicalSettlementRules.maximumLines))],
                                 required: ["credential", "care", "hospitalLevel", "emergency", "items"]),
                success: (201, "The settlement (a repeat of the Idempotency-Key answers the same record)", Docs.settlement),
                errors: [.idempotencyKeyRequired, .credentialRefused, .notInsured, .medicalPolicyNotFound, .venueNotPermitted, .venueNotFound, .billTooLarge,
                         .federationUnavailable],
                extraHeaders: [("Idempotency-Key", "one per bill; a repeat answers the first settlement", true)]) { request, context in
            guard let key = request.headers[.idempotencyKey], (1...200).contains(key.count) else {
                throw DomainError(.idempotencyKeyRequired, "send an Idempotency-Key header (1 to 200 characters)")
            }
            let i = try await request.decodeJSON(as: SettlementInput.self, context: context, fast: SettlementInput.read)
            let record = try await medical.settle(terminal: context.identity!, idempotencyKey: key, .init(
                credential: try AcceptanceController.credential(i.credential), care: i.care, hospitalLevel: i.hospitalLevel, emergency: i.emergency,
                lines: i.items))
            return Response.json(bytes: SettlementView(record, at: nil).json, status: .created)
        }
    }

    var reverse: Handler {
        Handler("Reverse a settlement made at this hospital (红冲): a new record negating every amount; the account and counters restored",
                tag: "medical",
                success: (201, "The reversal", Docs.settlement),
                errors: [.settlementNotFound, .alreadyReversed, .invalidTransition, .federationUnavailable]) { _, context in
            let record = try await medical.reverse(terminal: context.identity!, settlementId: context.parameters.get("id") ?? "")
            return Response.json(bytes: SettlementView(record, at: nil).json, status: .created)
        }
    }

    var clearing: Handler {
        Handler("A month's clearing between insured and treatment provinces (China Standard Time months): the fund's share owed per pair",
                tag: "medical",
                query: [.text("month", "YYYY-MM, from 2000-01; absent: the current month (China Standard Time)", pattern: "^[2-9][0-9]{3}-(0[1-9]|1[0-2])$")],
                success: (200, "Pairs where the provinces differ, and each province's net position (sums to zero)", .object([
                    ("month", .text), ("setlym", .text),
                    ("pairs", .array(.object([("insuredRegion", .text), ("treatmentRegion", .text), ("settlements", .integer), ("fundFen", .integer),
                                              ("medfeeSumamt", .integer), ("acctPay", .integer), ("cashPayamt", .integer)],
                                             required: ["insuredRegion", "treatmentRegion", "settlements", "fundFen"]))),
                    ("net", .anyObject)], required: ["month", "pairs", "net"]))) { request, _ in
            return try Response.json(try await medical.clearing(month: request.uri.queryParameters.get("month") ?? medical.currentMonth))
        }
    }

    struct StatementsInput: Decodable { let month: String }

    var sendStatements: Handler {
        Handler("Send this node's month statement of cross-province settlements to every province it shares them with (signed, through the hub); each receiver reconciles it with its own record",
                tag: "medical",
                request: .object([("month", .string(pattern: "^[2-9][0-9]{3}-(0[1-9]|1[0-2])$"))], required: ["month"]),
                success: (202, "Queued for delivery (until each province acknowledges)", .object([("month", .text), ("sentTo", .array(.text))], required: ["month", "sentTo"])),
                errors: [.notFederated, .invalidValue]) { request, context in
            let i = try await request.decodeJSON(as: StatementsInput.self, context: context)
            let sent = try await medical.sendStatements(month: i.month, by: context.identity!.actor)
            return try Response.json(StatementsView(month: i.month, sentTo: sent), status: .accepted)
        }
    }

    var reconciliations: Handler {
        Handler("The month's statements other provinces sent, each compared with this node's record: matched, or the settlement ids that differ",
                tag: "medical",
                query: [.text("month", "YYYY-MM, from 2000-01; absent: the current month (China Standard Time)", pattern: "^[2-9][0-9]{3}-(0[1-9]|1[0-2])$")],
                success: (200, "One reconciliation per province that sent a statement (the latest)", .object([
                    ("month", .text), ("reconciliations", .array(Docs.reconciliation))], required: ["month", "reconciliations"])),
                errors: [.invalidValue]) { request, _ in
            let month = request.uri.queryParameters.get("month") ?? medical.currentMonth
            let list = try await medical.reconciliations(month: month).map { ReconciliationView($0.0, receivedAt: $0.1) }
            return try Response.json(ReconciliationsView(month: month, reconciliations: list))
        }
    }

    // MARK: views

    struct StatementsView: Encodable { let month: String; let sentTo: [String] }
    struct ReconciliationsView: Encodable { let month: String; let reconciliations: [ReconciliationView] }
    struct ReconciliationView: Encodable {
        let counterpart: String, status: String, receivedAt: String, pairs: [MedicalReconciliation.Pair]
        let onlyHere: [String], onlyThere: [String], differing: [String]
        init(_ r: MedicalReconciliation, receivedAt: Date) {
            counterpart = r.counterpart; status = r.status; self.receivedAt = Timestamp.format(receivedAt); pairs = r.pairs
            onlyHere = r.onlyHere; onlyThere = r.onlyThere; differing = r.differing
        }
    }

    struct CatalogueView: Encodable { let version: Int64; let publishedAt: String?; let items: [MedicalCatalogueItem] }

    struct InsuredView: Encodable, Sendable {
        let personId: String, scheme: MedicalScheme, insuredRegion: String, retired: Bool, accountBalanceFen: Int64?
        init(_ i: MedicalInsured) {
            personId = i.personId.rawValue; scheme = i.scheme; insuredRegion = i.insuredRegion; retired = i.retired; accountBalanceFen = i.accountBalanceFen
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(personId, forKey: .personId); try c.encode(scheme, forKey: .scheme); try c.encode(insuredRegion, forKey: .insuredRegion)
            try c.encode(retired, forKey: .retired); try c.encode(accountBalanceFen, forKey: .accountBalanceFen)
        }
        enum CodingKeys: String, CodingKey { case personId, scheme, insuredRegion, retired, accountBalanceFen }
    }

    struct FilingView: Encodable, Sendable {
        let filingId: String, kind: FilingKind, treatmentRegion: String, from: String, to: String?, lastDay: String?, channel: String, createdAt: String
        init(_ f: StoredMedicalFiling) {
            filingId = f.id; kind = f.filing.kind; treatmentRegion = f.filing.treatmentRegion; from = f.filing.from.description
            to = f.filing.to?.description; lastDay = f.filing.lastDay?.description; channel = f.channel; createdAt = Timestamp.format(f.createdAt)
        }
    }

    /// A settlement or reversal in the national interface's terms; `balc` and `reverses` are null when there is none.
    struct SettlementView: Encodable, Sendable {
        let record: MedicalSettlementRecord
        let at: Date?
        init(_ record: MedicalSettlementRecord, at: Date?) { self.record = record; self.at = at }

        enum Key: String, CodingKey {
            case settlementId, reverses, filing, medfeeSumamt, fulamtOwnpayAmt, overlmtSelfpay, preselfpayAmt, inscpScpAmt, actPayDedc, hifpPay
            case poolPropSelfpay, fundPaySumamt, psnPartAmt, acctPay, psnCashPay, balc, policyVersion, care, hospitalLevel, insuredRegion, treatmentRegion
            case lines, at
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            let s = record.split
            try c.encode(record.settlementId, forKey: .settlementId); try c.encode(record.reverses, forKey: .reverses)
            try c.encode(s.filing, forKey: .filing); try c.encode(s.medfeeSumamt, forKey: .medfeeSumamt)
            try c.encode(s.fulamtOwnpayAmt, forKey: .fulamtOwnpayAmt); try c.encode(s.overlmtSelfpay, forKey: .overlmtSelfpay)
            try c.encode(s.preselfpayAmt, forKey: .preselfpayAmt); try c.encode(s.inscpScpAmt, forKey: .inscpScpAmt)
            try c.encode(s.actPayDedc, forKey: .actPayDedc); try c.encode(s.hifpPay, forKey: .hifpPay); try c.encode(s.poolPropSelfpay, forKey: .poolPropSelfpay)
            try c.encode(s.fundPaySumamt, forKey: .fundPaySumamt); try c.encode(s.psnPartAmt, forKey: .psnPartAmt); try c.encode(s.acctPay, forKey: .acctPay)
            try c.encode(s.psnCashPay, forKey: .psnCashPay); try c.encode(s.balc, forKey: .balc); try c.encode(record.policyVersion, forKey: .policyVersion)
            try c.encode(record.care, forKey: .care); try c.encode(record.hospitalLevel.rawValue, forKey: .hospitalLevel)
            try c.encode(record.insuredRegion, forKey: .insuredRegion); try c.encode(record.treatmentRegion, forKey: .treatmentRegion)
            try c.encode(s.lines, forKey: .lines)
            if let at { try c.encode(Timestamp.format(at), forKey: .at) }
        }

        /// The bytes `Response.json(self)` writes, written by hand: the answer at a hospital's counter, where
        /// `JSONEncoder` was 8 % of the server's CPU under load (Benchmarks/RESULTS.md, medical settlement).
        var json: [UInt8] {
            let s = record.split
            var w = JSONWriter(capacity: 600 + s.lines.count * 160)
            w.raw("{\"acctPay\":"); w.int(s.acctPay)
            w.raw(",\"actPayDedc\":"); w.int(s.actPayDedc)
            if let at { w.raw(",\"at\":"); w.string(Timestamp.format(at)) }
            w.raw(",\"balc\":"); if let balc = s.balc { w.int(balc) } else { w.raw("null") }
            w.raw(",\"care\":"); w.string(record.care.rawValue)
            w.raw(",\"filing\":"); w.string(s.filing.rawValue)
            w.raw(",\"fulamtOwnpayAmt\":"); w.int(s.fulamtOwnpayAmt)
            w.raw(",\"fundPaySumamt\":"); w.int(s.fundPaySumamt)
            w.raw(",\"hifpPay\":"); w.int(s.hifpPay)
            w.raw(",\"hospitalLevel\":"); w.int(Int64(record.hospitalLevel.rawValue))
            w.raw(",\"inscpScpAmt\":"); w.int(s.inscpScpAmt)
            w.raw(",\"insuredRegion\":"); w.string(record.insuredRegion)
            w.raw(",\"lines\":"); MedicalLineSplit.write(s.lines, to: &w)
            w.raw(",\"medfeeSumamt\":"); w.int(s.medfeeSumamt)
            w.raw(",\"overlmtSelfpay\":"); w.int(s.overlmtSelfpay)
            w.raw(",\"policyVersion\":"); w.int(Int64(record.policyVersion))
            w.raw(",\"poolPropSelfpay\":"); s.poolPropSelfpay.write(to: &w)
            w.raw(",\"preselfpayAmt\":"); w.int(s.preselfpayAmt)
            w.raw(",\"psnCashPay\":"); w.int(s.psnCashPay)
            w.raw(",\"psnPartAmt\":"); w.int(s.psnPartAmt)
            w.raw(",\"reverses\":"); if let r = record.reverses { w.string(r) } else { w.raw("null") }
            w.raw(",\"settlementId\":"); w.string(record.settlementId)
            w.raw(",\"treatmentRegion\":"); w.string(record.treatmentRegion)
            w.raw("}")
            return w.bytes
        }
    }

    struct OverviewView: Encodable { let insured: InsuredView?; let filings: [FilingView]; let settlements: [SettlementView]
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(insured, forKey: .insured); try c.encode(filings, forKey: .filings); try c.encode(settlements, forKey: .settlements)
        }
        enum CodingKeys: String, CodingKey { case insured, filings, settlements }
    }

    /// Schemas several handlers share.
    enum Docs {
        static let maxFen = Int(MedicalPolicy.maximumFen)
        static let region = Schema.string(pattern: "^[0-9]{6}$")
        static let percent = Schema.number(minimum: 0, maximum: 100)
        static let fen = Schema.integerIn(minimum: 0, maximum: maxFen)
        static let itemInput = Schema.object([
            ("code", .string(pattern: "^[A-Za-z0-9._-]{1,64}$")), ("name", .filled(100)), ("category", .oneOf(MedicalCategory.self)),
            ("preselfpayPercent", percent), ("priceCapFen", fen),
        ], required: ["code", "name", "category"])
        static let item = Schema.named("MedicalCatalogueItem", .object([
            ("code", .text), ("name", .text), ("category", .oneOf(MedicalCategory.self)), ("preselfpayPercent", .number(minimum: 0, maximum: 100)),
            ("priceCapFen", .integer),
        ], required: ["code", "name", "category"]))
        static let temporary = Schema.either([
            .object([("mode", .only("points")), ("referralPoints", percent), ("otherPoints", percent)], required: ["mode", "referralPoints", "otherPoints"]),
            .object([("mode", .only("multiplier")), ("otherMultiplierPercent", percent), ("referralMultiplierPercent", percent)],
                    required: ["mode", "otherMultiplierPercent"]),
        ])
        static let byLevel = Schema.object([("1", percent), ("2", percent), ("3", percent)], required: ["1", "2", "3"])
        static let policyInput = Schema.object([
            ("scheme", .oneOf(MedicalScheme.self)), ("care", .oneOf(MedicalCare.self)), ("deductibleFirstFen", fen), ("deductibleLaterFen", fen),
            ("ratioPercentByLevel", byLevel), ("retireeUpliftPercent", percent), ("annualCapFen", .nullable(fen)), ("temporary", temporary),
            ("filingFreeRegions", .array(region, maxItems: 100)), ("effectiveFrom", .date),
        ], required: ["scheme", "care", "deductibleFirstFen", "deductibleLaterFen", "ratioPercentByLevel", "retireeUpliftPercent", "temporary",
                      "filingFreeRegions"])
        static let policy = Schema.named("MedicalPolicy", .object([
            ("regionCode", .text), ("scheme", .oneOf(MedicalScheme.self)), ("care", .oneOf(MedicalCare.self)), ("policyVersion", .integer),
            ("deductibleFirstFen", .integer), ("deductibleLaterFen", .integer), ("ratioPercentByLevel", .anyObject), ("retireeUpliftPercent", .number(minimum: nil, maximum: nil)),
            ("annualCapFen", .nullable(.integer)), ("temporary", .anyObject), ("filingFreeRegions", .array(.text)),
            ("effectiveFrom", .date), ("deductibleByLevel", .anyObject), ("retiredDeductibleByLevel", .anyObject),
            ("deductibleBasis", .string(values: ["stay", "year"])), ("retiredRatioPercentByLevel", .anyObject),
            ("settlementYearStartMonth", .integerIn(minimum: 1, maximum: 12)), ("source", .text), ("notes", .array(.text)),
        ], required: ["regionCode", "scheme", "care", "policyVersion", "deductibleFirstFen", "deductibleLaterFen", "ratioPercentByLevel", "temporary"]))
        static let reconciliation = Schema.named("MedicalReconciliation", .object([
            ("counterpart", .text), ("status", .string(values: ["matched", "differs"])), ("receivedAt", .dateTime),
            ("pairs", .array(.object([("insuredRegion", .text), ("treatmentRegion", .text), ("settlements", .integer), ("fundFen", .integer),
                                      ("theirSettlements", .integer), ("theirFundFen", .integer)],
                                     required: ["insuredRegion", "treatmentRegion", "settlements", "fundFen", "theirSettlements", "theirFundFen"]))),
            ("onlyHere", .array(.text)), ("onlyThere", .array(.text)), ("differing", .array(.text)),
        ], required: ["counterpart", "status", "receivedAt", "pairs", "onlyHere", "onlyThere", "differing"]))
        static let insured = Schema.named("MedicalInsured", .object([
            ("personId", .text), ("scheme", .oneOf(MedicalScheme.self)), ("insuredRegion", .text), ("retired", .boolean),
            ("accountBalanceFen", .nullable(.integer)),
        ], required: ["personId", "scheme", "insuredRegion", "retired", "accountBalanceFen"]))
        static func filingInput(withPerson: Bool) -> Schema {
            let person: [(String, Schema)] = withPerson ? [("personId", Schema.text(1, 64))] : []
            let filing: [(String, Schema)] = [("kind", .oneOf(FilingKind.self)), ("treatmentRegion", region), ("from", .date), ("to", .date)]
            return .object(person + filing, required: (withPerson ? ["personId"] : []) + ["kind", "treatmentRegion", "from"])
        }
        static let filing = Schema.named("MedicalFiling", .object([
            ("filingId", .text), ("kind", .oneOf(FilingKind.self)), ("treatmentRegion", .text), ("from", .date), ("to", .date), ("lastDay", .date),
            ("channel", .string(values: ["online", "counter"])), ("createdAt", .dateTime),
        ], required: ["filingId", "kind", "treatmentRegion", "from", "channel", "createdAt"]))
        static let settlement: Schema = {
            var props: [(String, Schema)] = [("settlementId", .text), ("reverses", .nullable(.text)), ("filing", .oneOf(SettlementFiling.self))]
            for f in ["medfeeSumamt", "fulamtOwnpayAmt", "overlmtSelfpay", "preselfpayAmt", "inscpScpAmt", "actPayDedc", "hifpPay", "fundPaySumamt",
                      "psnPartAmt", "acctPay", "psnCashPay"] { props.append((f, .integer)) }
            props += [("poolPropSelfpay", .number(minimum: 0, maximum: 100)), ("balc", .nullable(.integer)), ("policyVersion", .integer),
                      ("care", .oneOf(MedicalCare.self)), ("hospitalLevel", .integer), ("insuredRegion", .text), ("treatmentRegion", .text),
                      ("lines", .array(.anyObject)), ("at", .dateTime)]
            return Schema.named("MedicalSettlement", .object(props, required: ["settlementId", "reverses", "filing", "medfeeSumamt", "fulamtOwnpayAmt",
                "overlmtSelfpay", "preselfpayAmt", "inscpScpAmt", "actPayDedc", "hifpPay", "poolPropSelfpay", "fundPaySumamt", "psnPartAmt", "acctPay",
                "psnCashPay", "balc", "policyVersion"]))
        }()
    }
}
