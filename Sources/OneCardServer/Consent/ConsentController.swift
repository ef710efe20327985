import Foundation
import Hummingbird
import OneCardCore

/// A holder's consents (API.md "Entitlements and records": `/api/v1/me/consents`).
struct ConsentController {
    let consents: ConsentService

    func register(_ api: API) {
        api.add(.post,   "/api/v1/me/consents",             roles: [.holder], grant)
        api.add(.get,    "/api/v1/me/consents",             roles: [.holder], list)
        api.add(.delete, "/api/v1/me/consents/{consentId}", roles: [.holder], withdraw)
    }

    struct View: Encodable, Sendable {
        static let schema = Schema.named("Consent", .object([
            ("consentId", .text), ("purpose", .oneOf(Consent.Purpose.self)), ("grantee", .nullable(.text)), ("grantedAt", .dateTime),
            ("withdrawnAt", .nullable(.dateTime)), ("inForce", .boolean),
        ], required: ["consentId", "purpose", "grantedAt", "inForce"]))
        let consentId: String, purpose: String, grantee: String?, grantedAt: String, withdrawnAt: String?, inForce: Bool
        init(_ c: Consent) {
            consentId = c.id; purpose = c.purpose.rawValue; grantee = c.grantee; grantedAt = Timestamp.format(c.grantedAt)
            withdrawnAt = c.withdrawnAt.map(Timestamp.format); inForce = c.withdrawnAt == nil
        }
    }

    struct Input: Decodable { let purpose: String; let grantee: String? }

    var grant: Handler {
        Handler("Give a consent (PIPL): pension_passive_confirmation, elicence_check, family_service or record_share, optionally to one grantee",
                tag: "consents",
                request: .object([("purpose", .oneOf(Consent.Purpose.self)), ("grantee", .line(100))], required: ["purpose"]),
                success: (201, "The consent", View.schema)) { request, context in
            let i = try await request.decodeJSON(as: Input.self, context: context)
            let purpose: Consent.Purpose = try parseEnum(i.purpose, "purpose")
            if let g = i.grantee { try TextRule.check(g, "grantee", max: 100, notBlank: true, oneLine: true) }
            let identity = context.identity!
            let c = try await consents.grant(personId: identity.personId!, purpose: purpose,
                                             grantee: i.grantee?.trimmingCharacters(in: .whitespaces), actor: identity.actor)
            return JSONResponse(View(c), status: .created)
        }
    }

    var list: Handler {
        Handler("My consents, newest first, withdrawn ones with when", tag: "consents",
                success: (200, "Consents", .object([("consents", .array(View.schema))], required: ["consents"]))) { _, context in
            JSONResponse(["consents": try await consents.list(personId: context.identity!.personId!).map(View.init)])
        }
    }

    var withdraw: Handler {
        Handler("Withdraw a consent: processing that needs it stops from now on; the record is kept with when it was withdrawn",
                tag: "consents", success: (200, "The withdrawn consent", View.schema),
                errors: [.consentNotFound, .consentWithdrawn]) { _, context in
            let identity = context.identity!
            return JSONResponse(View(try await consents.withdraw(context.parameters.get("consentId") ?? "", personId: identity.personId!, actor: identity.actor)))
        }
    }
}
