import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Family service pages: the holder's relatives and requests to them (`/me/relatives`: add, accept or decline, remove,
/// show a relative's QR code, see their uses, and every act on both sides), and the agent's queue of links to confirm in
/// person (`/agent/family`).
struct FamilyPages {
    let family: FamilyService
    let clock: Clock
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/relatives") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            return try await page(me, context)
        }
        pages.post("/me/relatives") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let relationship: RelativeLink.Relationship = try parseEnum(try context.form.required("relationship"), "relationship")
            let idNumber = try context.form.required("idNumber").trimmingCharacters(in: .whitespaces)
            let name = try context.form.required("name")
            try TextRule.check(idNumber, "idNumber", max: 40)
            try TextRule.check(name, "name", max: 50, notBlank: true, oneLine: true)
            _ = try await family.add(holder: me, idNumber: idNumber, name: name, relationship: relationship)
            return Response.seeOther("/me/relatives")
        }
        pages.post("/me/relatives/:id/accept") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            _ = try await family.answer(context.parameters.get("id") ?? "", accept: true, by: me)
            return Response.seeOther("/me/relatives")
        }
        pages.post("/me/relatives/:id/decline") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            _ = try await family.answer(context.parameters.get("id") ?? "", accept: false, by: me)
            return Response.seeOther("/me/relatives")
        }
        pages.post("/me/relatives/:id/remove") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            _ = try await family.remove(context.parameters.get("id") ?? "", by: me)
            return Response.seeOther("/me/relatives")
        }
        pages.post("/me/relatives/:id/qr") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let relative = Person.ID(context.parameters.get("id") ?? "")
            let token = try await family.qrToken(for: relative, by: me)
            let uses = try await family.uses(of: relative, by: me)
            return renderer.page("me-relative", title: context.t("fam_relative_title"), [
                "png": try QRCode(token.token).png(scale: 6).base64EncodedString(), "expires": PageTime.time(token.expiresAt),
                "expiresISO": Timestamp.format(token.expiresAt),
                "uses": uses.map { u -> [String: Any] in
                    ["at": PageTime.dateTime(u.use.at), "venue": u.venue?.name ?? "—", "item": u.use.itemCode, "decision": u.use.decision.rawValue]
                },
                "hasUses": !uses.isEmpty,
            ], context: context)
        }

        pages.get("/agent/family") { _, context in
            _ = try context.require([.agent], signIn: AgentPages.signIn)
            let pending = try await family.pending()
            return renderer.page("agent-family", title: context.t("fam_agent_title"), [
                "links": pending.map { p -> [String: Any] in
                    ["id": p.link.id, "holder": p.holder, "relative": p.relative, "relationship": context.t("fam_rel_\(p.link.relationship.rawValue)"),
                     "createdAt": PageTime.dateTime(p.link.createdAt)]
                },
                "hasLinks": !pending.isEmpty,
                "bases": RelativeLink.Basis.allCases.map { ["value": $0.rawValue, "label": context.t("fam_basis_\($0.rawValue)")] },
            ], context: context)
        }
        pages.post("/agent/family/:id/confirm") { _, context in
            let me = try context.require([.agent], signIn: AgentPages.signIn)
            let basis: RelativeLink.Basis = try parseEnum(try context.form.required("basis"), "basis")
            _ = try await family.confirm(context.parameters.get("id") ?? "", basis: basis, by: me)
            return Response.seeOther("/agent/family")
        }
    }

    private func page(_ me: Identity, _ context: PageContext) async throws -> Response {
        let (mine, toMe) = try await family.list(personId: me.personId!)
        let events = try await family.activity(personId: me.personId!)
        func row(_ l: FamilyService.LinkWithName, other: Person.ID) -> [String: Any] {
            ["id": l.link.id, "personId": other.rawValue, "name": l.nameMasked, "relationship": context.t("fam_rel_\(l.link.relationship.rawValue)"),
             "status": context.t("fam_status_\(l.link.status.rawValue)"), "active": l.link.status == .active, "pending": l.link.status == .pending]
        }
        return renderer.page("me-relatives", title: context.t("fam_title"), [
            "relatives": mine.map { row($0, other: $0.link.relativeId) }, "hasRelatives": !mine.isEmpty,
            "requests": toMe.map { row($0, other: $0.link.holderId) }, "hasRequests": !toMe.isEmpty,
            "relationships": RelativeLink.Relationship.allCases.map { ["value": $0.rawValue, "label": context.t("fam_rel_\($0.rawValue)")] },
            "events": events.prefix(50).map { e -> [String: Any] in
                ["at": PageTime.dateTime(e.at), "action": context.t("fam_act_\(e.action)"), "mine": e.holderId == me.personId]
            },
            "hasEvents": !events.isEmpty,
        ], context: context)
    }
}
