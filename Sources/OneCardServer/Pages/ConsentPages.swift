import Foundation
import Hummingbird
import OneCardCore

/// The holder's consents: what they allowed, to whom, since when; give one, withdraw one (`/me/consents`).
struct ConsentPages {
    let consents: ConsentService
    let renderer: PageRenderer

    static let signIn = "/signin"

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/consents") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            let list = try await consents.list(personId: me.personId!)
            return renderer.page("me-consents", title: context.t("consents_title"), [
                "consents": list.map { c -> [String: Any] in
                    ["id": c.id, "purpose": context.t("consent_purpose_\(c.purpose.rawValue)"), "grantee": c.grantee ?? "",
                     "grantedAt": PageTime.dateTime(c.grantedAt), "withdrawnAt": c.withdrawnAt.map(PageTime.dateTime) ?? "", "inForce": c.withdrawnAt == nil]
                },
                "hasConsents": !list.isEmpty,
                "purposes": Consent.Purpose.allCases.map { ["value": $0.rawValue, "label": context.t("consent_purpose_\($0.rawValue)")] },
            ], context: context)
        }
        pages.post("/me/consents") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            let purpose: Consent.Purpose = try parseEnum(try context.form.required("purpose"), "purpose")
            let grantee = context.form["grantee"].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
            if let grantee { try TextRule.check(grantee, "grantee", max: 100, notBlank: true, oneLine: true) }
            _ = try await consents.grant(personId: me.personId!, purpose: purpose, grantee: grantee, actor: me.actor)
            return Response.seeOther("/me/consents")
        }
        pages.post("/me/consents/:consentId/withdraw") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            _ = try await consents.withdraw(context.parameters.get("consentId") ?? "", personId: me.personId!, actor: me.actor)
            return Response.seeOther("/me/consents")
        }
    }
}
