import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Manual medical claims (API.md "Medical settlement": `POST /api/v1/me/medical/claims`, `POST /api/v1/medical/claims`,
/// `POST /api/v1/medical/claims/{id}/decide`).
struct MedicalClaimsController {
    let claims: MedicalClaimService

    func register(_ api: API) {
        api.add(.post, "/api/v1/me/medical/claims",            roles: [.holder],           lodgeMine)
        api.add(.get,  "/api/v1/me/medical/claims",            roles: [.holder],           mine)
        api.add(.post, "/api/v1/medical/claims",               roles: [.agent],            lodgeAtCounter)
        api.add(.get,  "/api/v1/medical/claims",               roles: [.agent, .auditor],  worklist)
        api.add(.post, "/api/v1/medical/claims/{id}/decide",   roles: [.agent],            decide)
    }

    struct Input: Decodable {
        let personId: String?; let treatmentRegion: String; let hospitalLevel: HospitalLevel; let care: MedicalCare
        let admittedOn: CalendarDay; let dischargedOn: CalendarDay; let items: [MedicalBillLine]
    }

    struct View: Encodable, Sendable {
        static let schema = Schema.named("MedicalClaim", .object([
            ("claimId", .text), ("status", .oneOf(MedicalClaim.Status.self)), ("treatmentRegion", .text), ("hospitalLevel", .integer),
            ("care", .oneOf(MedicalCare.self)), ("admittedOn", .date), ("dischargedOn", .date), ("receivedAt", .dateTime), ("dueAt", .dateTime),
            ("dueAtProvisional", .boolean), ("filing", .nullable(.oneOf(SettlementFiling.self))), ("medfeeSumamt", .integer),
            ("fundPaySumamt", .nullable(.integer)), ("psnPartAmt", .nullable(.integer)), ("policyVersion", .nullable(.integer)),
            ("decidedAt", .nullable(.dateTime)), ("paidAt", .nullable(.dateTime)), ("accountMasked", .nullable(.text)), ("reason", .nullable(.text)),
        ], required: ["claimId", "status", "treatmentRegion", "hospitalLevel", "care", "admittedOn", "dischargedOn", "receivedAt", "dueAt",
                      "dueAtProvisional", "medfeeSumamt"]))
        let claimId: String, status: String, treatmentRegion: String, hospitalLevel: Int, care: String, admittedOn: String, dischargedOn: String
        let receivedAt: String, dueAt: String, dueAtProvisional: Bool, filing: String?, medfeeSumamt: Int64, fundPaySumamt: Int64?, psnPartAmt: Int64?
        let policyVersion: Int?, decidedAt: String?, paidAt: String?, accountMasked: String?, reason: String?
        init(_ c: MedicalClaim) {
            claimId = c.id; status = c.status.rawValue; treatmentRegion = c.treatmentRegion; hospitalLevel = c.hospitalLevel.rawValue
            care = c.care.rawValue; admittedOn = c.admittedOn.description; dischargedOn = c.dischargedOn.description
            receivedAt = Timestamp.format(c.receivedAt); dueAt = Timestamp.format(c.dueAt); dueAtProvisional = c.dueProvisional
            filing = c.split?.filing.rawValue; medfeeSumamt = c.split?.medfeeSumamt ?? c.items.reduce(0) { $0 + $1.amountFen }
            fundPaySumamt = c.split?.fundPaySumamt; psnPartAmt = c.split?.psnPartAmt; policyVersion = c.policyVersion
            decidedAt = c.decidedAt.map(Timestamp.format); paidAt = c.paidAt.map(Timestamp.format); accountMasked = c.account.map(Mask.account)
            reason = c.reason
        }
    }

    static func request(agent: Bool) -> Schema {
        var props: [(String, Schema)] = [
            ("treatmentRegion", MedicalController.Docs.region), ("hospitalLevel", .integerIn(minimum: 1, maximum: 3)), ("care", .oneOf(MedicalCare.self)),
            ("admittedOn", .date), ("dischargedOn", .date),
            ("items", .array(.object([("code", .text(1, 64)), ("amountFen", .integerIn(minimum: 0, maximum: MedicalController.Docs.maxFen)),
                                      ("quantity", .integerIn(minimum: 1, maximum: 1_000_000))], required: ["code", "amountFen", "quantity"]),
                             minItems: 1, maxItems: MedicalSettlementRules.maximumLines)),
        ]
        if agent { props.insert(("personId", .text(1, 100)), at: 0) }
        return .object(props, required: (agent ? ["personId"] : []) + ["treatmentRegion", "hospitalLevel", "care", "admittedOn", "dischargedOn", "items"])
    }

    static let errors: [DomainError.Code] = [.notInsured, .invalidRegionCode, .invalidTimeRange, .billTooLarge]

    func lodge(_ i: Input, personId: Person.ID, actor: String) async throws -> Response {
        let c = try await claims.lodge(personId: personId, .init(treatmentRegion: i.treatmentRegion, hospitalLevel: i.hospitalLevel, care: i.care,
                                                                  admittedOn: i.admittedOn, dischargedOn: i.dischargedOn, items: i.items), actor: actor)
        return try Response.json(View(c), status: .created)
    }

    var lodgeMine: Handler {
        Handler("Claim back a stay I paid in full (unfiled, or a hospital without direct settlement): the insured place decides within 30 "
                + "working days (社会保险经办条例 art. 20) and pays the fund's share to my card's account",
                tag: "medical", request: Self.request(agent: false), success: (201, "The claim, with its deadline", View.schema),
                errors: Self.errors) { request, context in
            let i = try await request.decodeJSON(as: Input.self, context: context)
            return try await lodge(i, personId: context.identity!.personId!, actor: context.identity!.actor)
        }
    }

    var lodgeAtCounter: Handler {
        Handler("Lodge a manual claim at the counter for an insured person", tag: "medical", request: Self.request(agent: true),
                success: (201, "The claim, with its deadline", View.schema), errors: Self.errors) { request, context in
            let i = try await request.decodeJSON(as: Input.self, context: context)
            guard let personId = i.personId, (1...100).contains(personId.count) else { throw DomainError.invalidField("personId", "required") }
            return try await lodge(i, personId: Person.ID(personId), actor: context.identity!.actor)
        }
    }

    var mine: Handler {
        Handler("My manual claims, newest first", tag: "medical",
                success: (200, "Claims", .object([("claims", .array(View.schema))], required: ["claims"]))) { _, context in
            try Response.json(["claims": try await claims.claims(personId: context.identity!.personId!).map(View.init)])
        }
    }

    var worklist: Handler {
        Handler("Claims waiting for a decision or for the bank, the earliest deadline first", tag: "medical",
                success: (200, "Claims", .object([("claims", .array(View.schema))], required: ["claims"]))) { _, _ in
            try Response.json(["claims": try await claims.worklist().map(View.init)])
        }
    }

    var decide: Handler {
        Handler("Decide a claim under the insured place's policy in force at discharge (an unfiled stay as other temporary); the fund's share "
                + "is paid to the card's bank account once (status paid, or approved while the bank has not answered)",
                tag: "medical", success: (200, "The decided claim", View.schema),
                errors: [.claimNotFound, .claimDecided, .notInsured, .medicalPolicyNotFound, .noCard]) { _, context in
            try Response.json(View(try await claims.decide(context.parameters.get("id") ?? "", actor: context.identity!.actor)))
        }
    }
}
