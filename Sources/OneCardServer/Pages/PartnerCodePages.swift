import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Codes of other platforms: the holder links and unlinks accounts (`/me/linked-codes`); an administrator registers
/// partners, their keys and items, and suspends or resumes them (`/admin/code-issuers`).
struct PartnerCodePages {
    let partners: PartnerCodeService
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/linked-codes") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let issuers = try await partners.issuers()
            let names = Dictionary(issuers.map { ($0.code, $0.name) }, uniquingKeysWith: { a, _ in a })
            let links = try await partners.links(personId: me.personId!)
            return renderer.page("me-linked-codes", title: context.t("pc_title"), [
                "links": links.map { l -> [String: Any] in
                    ["id": l.id, "issuer": names[l.issuer] ?? l.issuer, "account": Mask.account(l.account), "linkedAt": PageTime.dateTime(l.linkedAt),
                     "unlinkedAt": l.unlinkedAt.map(PageTime.dateTime) ?? "", "live": l.unlinkedAt == nil]
                },
                "hasLinks": !links.isEmpty,
                "issuers": issuers.filter { $0.status == .active }.map { ["code": $0.code, "name": $0.name] },
                "hasIssuers": issuers.contains { $0.status == .active },
            ], context: context)
        }
        pages.post("/me/linked-codes") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let issuer = try context.form.required("issuer")
            let token = try context.form.required("token").trimmingCharacters(in: .whitespacesAndNewlines)
            guard CodeIssuer.validCode(issuer) else { throw DomainError.invalidField("issuer", "a registered partner code") }
            guard (1...8192).contains(token.utf8.count) else { throw DomainError.invalidField("token", "1 to 8192 characters") }
            _ = try await partners.link(personId: me.personId!, issuer: issuer, token: token, actor: me.actor)
            return Response.seeOther("/me/linked-codes")
        }
        pages.post("/me/linked-codes/:linkId/unlink") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            _ = try await partners.unlink(personId: me.personId!, linkId: context.parameters.get("linkId") ?? "", actor: me.actor)
            return Response.seeOther("/me/linked-codes")
        }

        pages.get("/admin/code-issuers") { _, context in
            let me = try context.require([.admin, .auditor], signIn: AdminPages.signIn)
            let issuers = try await partners.issuers()
            return renderer.page("admin-code-issuers", title: context.t("pc_admin_title"), [
                "issuers": issuers.map { i -> [String: Any] in
                    ["code": i.code, "name": i.name, "items": i.itemCodes.joined(separator: ", "), "keys": i.keys.map { $0.kid ?? "—" }.joined(separator: ", "),
                     "status": context.t("pc_status_\(i.status.rawValue)"), "active": i.status == .active, "changedAt": PageTime.dateTime(i.changedAt)]
                },
                "hasIssuers": !issuers.isEmpty,
                "canChange": me.role == .admin,
            ], context: context)
        }
        pages.post("/admin/code-issuers") { _, context in
            let me = try context.require([.admin], signIn: AdminPages.signIn)
            let code = try context.form.required("code").trimmingCharacters(in: .whitespaces)
            let name = try context.form.required("name").trimmingCharacters(in: .whitespaces)
            let listed = try context.form.required("itemCodes").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
            guard CodeIssuer.validCode(code) else { throw DomainError.invalidField("code", "2 to 40 letters, digits, '-', '_' or '.'") }
            try TextRule.check(name, "name", max: 100, notBlank: true, oneLine: true)
            let items = try PartnerCodeController.checkItemCodes(listed)
            guard let document = try? JSONDecoder().decode(PartnerKey.Document.self, from: Data(try context.form.required("jwks").utf8)) else {
                throw DomainError(.invalidJwks, "jwks: a JSON Web Key Set {\"keys\":[...]}")
            }
            _ = try await partners.register(.init(code: code, name: name, keys: try PartnerKey.parse(document), itemCodes: items), by: me)
            return Response.seeOther("/admin/code-issuers")
        }
        pages.post("/admin/code-issuers/:code/status") { _, context in
            let me = try context.require([.admin], signIn: AdminPages.signIn)
            let status: CodeIssuer.Status = try parseEnum(try context.form.required("status"), "status")
            _ = try await partners.change(context.parameters.get("code") ?? "", .init(status: status), by: me)
            return Response.seeOther("/admin/code-issuers")
        }
    }
}
