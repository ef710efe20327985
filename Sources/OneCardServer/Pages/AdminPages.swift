import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// The administrator's pages: the catalogue editor (draft, withdraw, publish, compare versions),
/// venues and terminals (the key shown once), outlets, banks, staff users and the node's place in the federation.
struct AdminPages {
    let registry: RegistryService
    let accounts: AccountService
    let banking: BankService
    let catalogue: CatalogueService
    let venues: VenueService
    let federation: FederationService
    let policy: JurisdictionPolicy
    let clock: Clock
    let renderer: PageRenderer

    static let signIn = "/staff/signin"

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/admin") { _, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            return renderer.page("admin", title: context.t("admin_title"), context: context)
        }

        // MARK: catalogue
        pages.get("/admin/catalogue") { request, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            return try await cataloguePage(context, edit: request.uri.queryParameters.get("edit"))
        }

        pages.post("/admin/catalogue/draft") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let f = context.form
            func list(_ name: String) -> [String] { (f[name] ?? "").split(whereSeparator: { $0 == " " || $0 == "," || $0 == "，" }).map(String.init) }
            guard let effective = CalendarDay(try f.required("effectiveFrom")) else { throw DomainError.invalidField("effectiveFrom", "a date YYYY-MM-DD") }
            var item = CatalogueItem(
                code: try f.required("code"), name: try f.required("name"), domain: try parseEnum(try f.required("domain"), "domain"),
                scenario: try f.required("scenario"), cardForms: try f.all("cardForms").map { try parseEnum($0, "cardForms") },
                level: try parseEnum(try f.required("level"), "level"), regions: list("regions"), issuers: list("issuers"),
                venueTypes: try f.all("venueTypes").map { try parseEnum($0, "venueTypes") }, legalBasis: try f.required("legalBasis"),
                effectiveFrom: effective)
            let requires = list("requires")
            item.requires = requires.isEmpty ? nil : requires
            _ = try await catalogue.draft(item, by: me.actor)
            return Response.seeOther("/admin/catalogue")
        }

        pages.post("/admin/catalogue/withdraw") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            _ = try await catalogue.draftWithdrawal(code: try context.form.required("code"), by: me.actor)
            return Response.seeOther("/admin/catalogue")
        }

        pages.post("/admin/catalogue/discard") { _, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            let code = try context.form.required("code")
            try await catalogue.discardDraft(code: code)
            return Response.seeOther("/admin/catalogue")
        }

        pages.post("/admin/catalogue/publish") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let v = try await catalogue.publish(by: me.actor)
            return Response.seeOther("/catalogue/versions/\(v.version)")
        }

        // MARK: venues and terminals
        pages.get("/admin/venues") { _, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            return try await venuesPage(context)
        }

        pages.post("/admin/venues") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let f = context.form
            _ = try await venues.create(.init(
                name: try f.required("name"), operatorUscc: try f.required("operatorUscc").uppercased(), type: try parseEnum(try f.required("type"), "type"),
                regionCode: try f.required("regionCode"), address: try f.required("address"),
                accessibility: f.list("accessibility"),
                unifiedLogo: f["unifiedLogo"] == "true", itemCodes: f.all("itemCodes")), by: me.actor)
            return Response.seeOther("/admin/venues")
        }

        pages.post("/admin/venues/{venueId}/terminals") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let venue = try await venues.venue(Venue.ID(context.parameters.get("venueId") ?? ""))
            let t = try await venues.createTerminal(venueId: venue.id, by: me.actor)
            return renderer.page("terminal-key", title: context.t("terminal_key_title"), [
                "venue": venue.name, "terminalId": t.id.rawValue, "apiKey": t.apiKey,
            ], context: context, back: "/admin/venues")
        }

        pages.post("/admin/venues/{venueId}/terminals/{terminalId}/revoke") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            try await venues.revokeTerminal(venueId: Venue.ID(context.parameters.get("venueId") ?? ""), terminalId: Terminal.ID(context.parameters.get("terminalId") ?? ""), by: me.actor)
            return Response.seeOther("/admin/venues")
        }

        // MARK: outlets, banks, users
        pages.get("/admin/outlets") { request, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            return try await outletsPage(context, edit: request.uri.queryParameters.get("edit"))
        }

        // Hours, services and accessibility change; the outlet keeps its id and region.
        pages.post("/admin/outlets/{outletId}") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let f = context.form
            _ = try await registry.updateOutlet(context.parameters.get("outletId") ?? "", name: try f.required("name"), address: try f.required("address"),
                                                         services: f.all("services"), hours: try f.required("hours"), accessibility: f.list("accessibility"),
                                                         actor: me.actor)
            return Response.seeOther("/admin/outlets")
        }

        pages.post("/admin/outlets") { _, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            let f = context.form
            _ = try await registry.createOutlet(Outlet(
                id: "", name: try f.required("name"), regionCode: try f.required("regionCode"), address: try f.required("address"),
                services: f.all("services"), hours: try f.required("hours"),
                accessibility: f.list("accessibility")))
            return Response.seeOther("/admin/outlets")
        }

        pages.get("/admin/banks") { _, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            return try await banksPage(context)
        }

        pages.post("/admin/banks") { _, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            let f = context.form
            guard let from = CalendarDay(try f.required("agreementFrom")) else { throw DomainError.invalidField("agreementFrom", "a date YYYY-MM-DD") }
            guard let to = CalendarDay(try f.required("agreementTo")) else { throw DomainError.invalidField("agreementTo", "a date YYYY-MM-DD") }
            _ = try await registry.createBank(Bank(code: try f.required("code").uppercased(), name: try f.required("name"),
                                                            agreementFrom: from, agreementTo: to, endpoint: f["endpoint"], status: .active))
            return Response.seeOther("/admin/banks")
        }

        // Suspend, lift a suspension or terminate with a successor: the same service as `PATCH /api/v1/banks/{code}`.
        pages.post("/admin/banks/{code}/status") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let f = context.form
            let status: Bank.Status = try parseEnum(try f.required("status"), "status")
            var choiceDays: Int?
            if let raw = f["choiceDays"] {
                guard let days = Int(raw) else { throw DomainError.invalidField("choiceDays", "0 to 365") }
                choiceDays = days
            }
            _ = try await banking.update(context.parameters.get("code") ?? "", status: status, successorCode: f["successorBankCode"],
                                                  choiceDays: choiceDays, endpoint: nil, actor: me.actor)
            return Response.seeOther("/admin/banks")
        }

        // The successor now, before the holders' choice period ends (as `POST /api/v1/banks/{code}/migration/apply` with early=true).
        pages.post("/admin/banks/{code}/migration/apply") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            _ = try await banking.applyMigration(context.parameters.get("code") ?? "", actor: Actor(name: me.actor, channel: "admin"), early: true)
            return Response.seeOther("/admin/banks")
        }

        pages.get("/admin/users") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let users = try await accounts.staffUsers()
            return renderer.page("admin-users", title: context.t("admin_users"), [
                "users": users.map { ["username": $0.username, "role": context.t("role_\($0.role.rawValue)"), "disabled": $0.disabled,
                                      "createdAt": PageTime.dateTime($0.createdAt), "canDisable": !$0.disabled && $0.username != me.subject] as [String: Any] },
                "roles": Role.staff.map { ["value": $0.rawValue, "label": context.t("role_\($0.rawValue)")] },
            ], context: context)
        }

        pages.post("/admin/users") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            let f = context.form
            guard let role = Role(rawValue: try f.required("role")), Role.staff.contains(role) else {
                throw DomainError(.invalidValue, "role: one of \(Role.staff.map(\.rawValue).joined(separator: ", "))")
            }
            _ = try await accounts.createStaff(username: try f.required("username"), password: try f.required("password"), role: role, by: me.actor)
            return Response.seeOther("/admin/users")
        }

        // MARK: federation
        // The same status as `GET /api/v1/federation/status`.
        pages.get("/admin/federation") { _, context in
            _ = try context.require([.admin], signIn: Self.signIn)
            return try await federationPage(context)
        }

        pages.post("/admin/users/{username}/disable") { _, context in
            let me = try context.require([.admin], signIn: Self.signIn)
            _ = try await accounts.disableStaff(username: context.parameters.get("username") ?? "", by: me)
            return Response.seeOther("/admin/users")
        }
    }

    func cataloguePage(_ context: PageContext, edit: String?) async throws -> Response {
        let published = try await catalogue.published()
        let (drafts, versions) = (try await catalogue.drafts(), try await catalogue.versions())
        let editing = edit.flatMap { code in published.items.first { $0.code == code } }
        let form: [String: Any] = [
            "code": editing?.code ?? "", "name": editing?.name ?? "", "scenario": editing?.scenario ?? "",
            "regions": editing?.regions.joined(separator: " ") ?? policy.regionCode, "issuers": editing?.issuers.joined(separator: " ") ?? "*",
            "legalBasis": editing?.legalBasis ?? "", "requires": editing?.requires?.joined(separator: " ") ?? "", "effectiveFrom": editing?.effectiveFrom.description ?? CalendarDay(clock.now()).description,
            "domains": Domain.allCases.map { ["value": $0.rawValue, "label": context.t("domain_\($0.rawValue)"), "selected": $0 == editing?.domain] as [String: Any] },
            "levels": CatalogueLevel.allCases.map { ["value": $0.rawValue, "label": context.t("level_\($0.rawValue)"), "selected": $0 == (editing?.level ?? .provincial)] as [String: Any] },
            "forms": CardForm.allCases.map { ["value": $0.rawValue, "label": context.t("form_\($0.rawValue)"), "checked": editing?.cardForms.contains($0) ?? true] as [String: Any] },
            "venueTypes": VenueType.allCases.map { ["value": $0.rawValue, "label": context.t("vt_\($0.rawValue)"), "checked": editing?.venueTypes.contains($0) ?? false] as [String: Any] },
        ]
        return renderer.page("admin-catalogue", title: context.t("admin_catalogue"), [
            "drafts": drafts.map { d -> [String: Any] in
                ["code": d.code, "action": context.t(d.action == .upsert ? "draft_upsert" : "draft_withdraw"), "name": d.item?.name ?? "",
                 "by": d.draftedBy, "at": PageTime.dateTime(d.draftedAt)]
            },
            "hasDrafts": !drafts.isEmpty,
            "items": published.items.map { ["code": $0.code, "name": $0.name, "domain": context.t("domain_\($0.domain.rawValue)")] },
            "version": published.version?.version ?? 0,
            "versions": versions.reversed().map { ["version": $0.version, "publishedAt": PageTime.dateTime($0.publishedAt), "by": $0.publishedBy] as [String: Any] },
            "compare": PagesController.compareView(versions),
            "form": form,
        ], context: context)
    }

    /// Every outlet, and the form that publishes a new one or, with `edit`, changes one.
    func outletsPage(_ context: PageContext, edit: String?) async throws -> Response {
        let outlets = try await registry.outlets()
        let editing = edit.flatMap { id in outlets.first { $0.id == id } }
        return renderer.page("admin-outlets", title: context.t("admin_outlets"), [
            "outlets": outlets.map { ["id": $0.id, "name": $0.name, "address": $0.address, "hours": $0.hours, "regionCode": $0.regionCode,
                                      "services": $0.services.map { context.t("svc_\($0)") }.joined(separator: "、"),
                                      "accessibility": $0.accessibility.joined(separator: "、")] },
            "editing": editing != nil,
            "form": [
                "action": editing.map { "/admin/outlets/\($0.id)" } ?? "/admin/outlets", "heading": context.t(editing == nil ? "outlet_create" : "outlet_edit"),
                "name": editing?.name ?? "", "address": editing?.address ?? "", "hours": editing?.hours ?? "", "regionCode": editing?.regionCode ?? "",
                "accessibility": editing?.accessibility.joined(separator: "、") ?? "",
                "services": Outlet.knownServices.map { ["value": $0, "label": context.t("svc_\($0)"), "checked": editing?.services.contains($0) ?? false] as [String: Any] },
            ] as [String: Any],
        ], context: context, back: editing.map { "/admin/outlets?edit=\($0.id)" })
    }

    /// Every bank with the changes its status allows (the rule is `BankStatusChange`); a terminated bank shows its migration plan.
    func banksPage(_ context: PageContext) async throws -> Response {
        let banks = try await registry.banks()
        var rows: [[String: Any]] = []
        for b in banks {
            func allowed(_ to: Bank.Status) -> Bool {
                (try? BankStatusChange.check(from: b.status, to: to, successor: to == .terminated ? banks.first { $0.code != b.code && $0.status == .active } : nil, code: b.code)) != nil
            }
            var row: [String: Any] = [
                "code": b.code, "name": b.name, "from": b.agreementFrom.description, "to": b.agreementTo.description,
                "status": context.t("bank_\(b.status.rawValue)"), "statusCode": b.status.rawValue, "ok": b.status == .active,
                "canSuspend": allowed(.suspended), "canReactivate": allowed(.active), "canTerminate": allowed(.terminated),
                "successors": banks.filter { $0.code != b.code && $0.status == .active }.map { ["code": $0.code, "name": $0.name] },
                "defaultChoiceDays": BankService.defaultChoiceDays,
            ]
            if b.status == .terminated, let report = try? await banking.migration(b.code) {
                let m = report.migration
                row["migration"] = [
                    "successor": m.successorCode, "chooseBy": PageTime.dateTime(m.chooseBy), "applied": m.status == .applied,
                    "pending": report.cards.filter { $0.status == .pending }.count, "chosen": report.cards.filter { $0.status == .chosen }.count,
                    "moved": report.cards.filter { $0.status == .moved }.count, "held": report.heldPayments,
                ] as [String: Any]
            }
            rows.append(row)
        }
        return renderer.page("admin-banks", title: context.t("admin_banks"), ["banks": rows], context: context)
    }

    /// Whether the node has joined a hub and how the exchange with it stands; a message waiting in the outbox is highlighted.
    func federationPage(_ context: PageContext) async throws -> Response {
        let s = try await federation.status()
        func word(_ prefix: String, _ value: String) -> String { Messages.table(context.lang)["\(prefix)_\(value)"] ?? value }
        return renderer.page("admin-federation", title: context.t("admin_federation"), [
            "region": "\(PageRegion.name(federation.region))（\(federation.region)）",
            "joined": s.hubURL != nil, "hubURL": s.hubURL ?? "", "reachable": s.reachable, "reachableCode": s.reachable ? "true" : "false",
            "pending": s.pending, "waiting": s.pending > 0, "oldestAt": s.oldestAt.map(PageTime.dateTime) ?? "",
            "trustListVersion": s.trustListVersion.map(String.init) ?? context.t("fed_not_yet"),
            "revocationSeq": s.revocationSeq.map(String.init) ?? context.t("fed_not_yet"),
            "members": s.members.map { m -> [String: Any] in
                ["region": m.region, "name": PageRegion.name(m.region), "url": m.url, "kind": word("fed_kind", m.kind),
                 "status": word("fed_member", m.status), "statusCode": m.status, "ok": m.status == "active", "thisNode": m.region == federation.region]
            },
            "hasMembers": !s.members.isEmpty,
        ], context: context)
    }

    func venuesPage(_ context: PageContext) async throws -> Response {
        let published = try await catalogue.published()
        let list = try await venues.listWithTerminals()
        return renderer.page("admin-venues", title: context.t("admin_venues"), [
            "venues": list.map { v, terminals -> [String: Any] in
                ["id": v.id.rawValue, "venueId": v.id.rawValue, "name": v.name, "type": context.t("vt_\(v.type.rawValue)"), "regionCode": v.regionCode, "address": v.address,
                 "items": v.itemCodes.joined(separator: " "), "uscc": v.operatorUscc,
                 "terminals": terminals.map { t -> [String: Any] in
                     ["id": t.id.rawValue, "createdAt": PageTime.dateTime(t.createdAt), "revoked": t.revokedAt != nil]
                 },
                 "hasTerminals": !terminals.isEmpty]
            },
            "types": VenueType.allCases.map { ["value": $0.rawValue, "label": context.t("vt_\($0.rawValue)")] },
            "items": published.items.map { ["code": $0.code, "name": $0.name] },
        ], context: context)
    }
}
