import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OneCardCore
import OneCardStore

/// The resident's pages: my card, apply online and follow progress, the e-card with its live QR code,
/// loss report with a confirmation step, who checked my card, and my data as JSON.
struct ResidentPages {
    let cards: CardService
    let ecards: ECardService
    let registry: RegistryService
    let payments: PaymentService
    let acceptance: AcceptanceService
    let holders: HolderService
    let certificates: CertificateService
    let policy: JurisdictionPolicy
    let clock: Clock
    let renderer: PageRenderer

    static let signIn = "/signin"

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me") { request, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            let personId = me.personId!
            let card = try await cards.liveCard(personId: personId)
            let apps = try await cards.applications(personId: personId)
            let banks = try await registry.banks()
            let now = clock.now()
            var d: [String: Any] = ["hasCard": card != nil]
            if let card {
                d["card"] = Self.cardView(card, banks: banks, context)
                d["cardActive"] = card.status == .active
                d["canReportLoss"] = (try? CardLifecycle.next(from: card.status, .reportLoss(.temporary))) != nil
            }
            d["applications"] = apps.map { Self.applicationView($0, now: now, context) }
            d["hasApplications"] = !apps.isEmpty
            d["canApply"] = card == nil && !apps.contains { $0.status.isOpen }
            if let notice = request.uri.queryParameters.get("notice"), ["loss_done", "apply_done"].contains(notice) {
                d["notice"] = context.t(notice)
            }
            d["hasNotice"] = d["notice"] != nil
            // The holder's entitlements on the card now (age and certificates; what a venue learns from it).
            let entitlements = try await certificates.entitlements(personId: personId)
            d["entitlements"] = entitlements.map { context.t("ent_\($0)") }
            d["hasEntitlements"] = !entitlements.isEmpty
            return renderer.page("me", title: context.t("me_title"), d, context: context)
        }

        pages.get("/me/apply") { _, context in
            _ = try context.require([.holder], signIn: Self.signIn)
            return try await applyPage(context)
        }

        pages.post("/me/apply") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            let form = context.form
            let delivery: Delivery = try parseEnum(form["delivery"] ?? "pickup", "delivery")
            _ = try await cards.submit(.init(
                personId: me.personId!, channel: .web, applyOutletId: nil, pickupOutletId: delivery == .pickup ? try form.required("pickupOutletId") : form["pickupOutletId"],
                bankCode: try form.required("bankCode"), delivery: delivery), actor: Actor(name: me.actor, channel: "web"))
            return Response.seeOther("/me?notice=apply_done")
        }

        pages.get("/me/ecard") { request, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            return try await ecardPage(me, context, autoRefresh: request.uri.queryParameters.get("refresh") != "off")
        }

        pages.post("/me/ecard") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            _ = try await ecards.issue(personId: me.personId!, deviceId: try context.form.required("deviceId"),
                                                actor: Actor(name: me.actor, channel: "web"))
            return Response.seeOther("/me/ecard")
        }

        pages.get("/me/report-loss") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            guard try await cards.liveCard(personId: me.personId!) != nil else { throw DomainError(.noCard, "you hold no card") }
            return renderer.page("loss", title: context.t("loss_title"), [
                "temporary": String(format: context.t("loss_temporary"), policy.temporaryLossLapseDays),
            ], context: context)
        }

        // The confirmation step: nothing changes until the resident confirms.
        pages.post("/me/report-loss/confirm") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            let kind: LossKind = try parseEnum(try context.form.required("kind"), "kind")
            guard let card = try await cards.liveCard(personId: me.personId!) else { throw DomainError(.noCard, "you hold no card") }
            let banks = try await registry.banks()
            return renderer.page("loss-confirm", title: context.t("loss_confirm_title"), [
                "kind": kind.rawValue,
                "kindLabel": kind == .temporary ? String(format: context.t("loss_temporary"), policy.temporaryLossLapseDays) : context.t("loss_formal"),
                "card": Self.cardView(card, banks: banks, context),
            ], context: context, back: "/me/report-loss")
        }

        pages.post("/me/report-loss") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            let kind: LossKind = try parseEnum(try context.form.required("kind"), "kind")
            guard let card = try await cards.liveCard(personId: me.personId!) else { throw DomainError(.noCard, "you hold no card") }
            _ = try await cards.transition(card.number, .reportLoss(kind), actor: Actor(name: me.actor, channel: "web"))
            return Response.seeOther("/me?notice=loss_done")
        }

        pages.get("/me/uses") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            let uses = try await usesView(personId: me.personId!, context)
            return renderer.page("uses", title: context.t("uses_title"), ["uses": uses, "none": uses.isEmpty], context: context)
        }

        // My payments and the notices about them: the same functions as `GET /api/v1/me/payments` and `/me/notifications`.
        pages.get("/me/payments") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            return try await paymentsPage(personId: me.personId!, context)
        }

        // Everything held about the resident, as JSON: the same document as `GET /api/v1/me/export` (the read is audited).
        pages.get("/me/export") { _, context in
            let me = try context.require([.holder], signIn: Self.signIn)
            var response = try Response.json(HolderExport(try await holders.export(personId: me.personId!, actor: me.actor)))
            response.headers[.contentDisposition] = "attachment; filename=\"onecard-my-data.json\""
            return response
        }
    }

    static func cardView(_ card: Card, banks: [Bank], _ context: PageContext) -> [String: Any] {
        let bank = banks.first { $0.code == card.bankCode }
        var functions: [String] = []
        if card.transit { functions.append(context.t("fn_transit")) }
        if card.financial { functions.append(context.t("fn_financial")) }
        let issuer = PageRegion.name(card.issuerRegion)
        return ["number": card.number.rawValue, "status": context.t("status_\(card.status.rawValue)"), "statusCode": card.status.rawValue,
                "ok": card.status == .active, "issuer": "\(issuer)（\(card.issuerRegion)）",
                "functions": functions.isEmpty ? context.t("none") : functions.joined(separator: "、"),
                "bank": bank?.name ?? card.bankCode ?? context.t("none"), "account": card.accountNumber.map(Mask.account) ?? context.t("none"),
                "issuedAt": PageTime.date(card.issuedAt), "expiresAt": PageTime.date(card.expiresAt)]
    }

    static func applicationView(_ a: CardApplication, now: Date, _ context: PageContext) -> [String: Any] {
        let overdue = a.status.isOpen && now > a.dueAt
        let order: [ApplicationStatus] = [.submitted, .approved, .produced, .ready, .collected]
        let reached = order.firstIndex(of: a.status) ?? 0
        return ["id": a.id, "status": context.t("app_\(a.status.rawValue)"), "rejected": a.status == .rejected,
                "submittedAt": PageTime.dateTime(a.submittedAt), "dueAt": PageTime.dateTime(a.dueAt), "overdue": overdue,
                "open": a.status.isOpen, "reason": a.reason ?? "", "hasReason": a.reason != nil, "remote": a.remote,
                "channel": context.t("ch_\(a.channel.rawValue)"), "delivery": context.t("delivery_\(a.delivery.rawValue)"),
                "steps": a.status == .rejected ? [] : order.enumerated().map { i, s in
                    ["label": context.t("app_\(s.rawValue)"), "done": i < reached, "current": i == reached] as [String: Any]
                }]
    }

    func applyPage(_ context: PageContext) async throws -> Response {
        let (outlets, banks) = (try await registry.outlets(), try await registry.banks())
        let today = CalendarDay(clock.now())
        return renderer.page("apply", title: context.t("apply_title"), [
            "outlets": outlets.filter { $0.services.contains("pickup") }.map { ["id": $0.id, "name": $0.name, "address": $0.address] },
            "banks": banks.filter { $0.acceptsNewCards(on: today) }.map { ["code": $0.code, "name": $0.name] },
            "timeLimit": String(format: context.t("guide_time_limit_text"), policy.applicationTimeLimitDays),
        ], context: context)
    }

    /// The QR code expires after a minute, so the page refreshes itself before then (every 50 s, without
    /// JavaScript); the resident can turn that off (WCAG 2.2.1) and refresh by hand.
    func ecardPage(_ me: Identity, _ context: PageContext, autoRefresh: Bool) async throws -> Response {
        let personId = me.personId!
        do {
            _ = try await ecards.ecard(personId: personId)
        } catch let e as DomainError where e.code == .noEcard || e.code == .noCard {
            return renderer.page("ecard", title: context.t("ecard_title"), ["open": true, "noCard": e.code == .noCard], context: context)
        }
        let token: IssuedQRToken
        do {
            token = try await ecards.qrToken(personId: personId)
        } catch let e as DomainError where e.code == .cardNotActive {
            return renderer.page("ecard", title: context.t("ecard_title"), [
                "inactive": true, "reason": Messages.reason(e.code.rawValue, context.lang), "code": e.code.rawValue,
            ], context: context)
        }
        let png = try QRCode(token.token).png(scale: 6)
        let seconds = max(0, Int(token.expiresAt.timeIntervalSince(clock.now()).rounded(.down)))
        return renderer.page("ecard", title: context.t("ecard_title"), [
            "qr": true, "png": png.base64EncodedString(), "expires": PageTime.time(token.expiresAt), "expiresISO": Timestamp.format(token.expiresAt),
            "seconds": seconds, "autoRefresh": autoRefresh,
        ], context: context, back: autoRefresh ? "/me/ecard" : "/me/ecard?refresh=off", extraHead: autoRefresh ? "50" : nil)
    }

    func paymentsPage(personId: Person.ID, _ context: PageContext) async throws -> Response {
        let mine = try await PaymentsController.payments(personId: personId, payments: payments)
        let notices = try await PaymentsController.notifications(personId: personId, lang: context.lang, payments: self.payments)
        func when(_ text: String?) -> String? { text.flatMap(Timestamp.parse).map(PageTime.dateTime) }
        return renderer.page("me-payments", title: context.t("me_payments_title"), [
            "payments": mine.map { p -> [String: Any] in
                let state = PaymentState(rawValue: p.state)
                return ["id": p.paymentId, "programme": p.programme ?? "", "amount": DepartmentPages.yuan(p.amountFen, context),
                        "state": context.t("ps_\(p.state)"), "stateCode": p.state, "ok": state == .paid, "bad": state?.isRetryable ?? false,
                        "reason": p.reason.map { DepartmentPages.paymentReason($0, context) } ?? "", "hasReason": p.reason != nil,
                        "bank": p.bankCode ?? "", "account": p.accountMasked ?? "—", "date": when(p.settledAt) ?? when(p.sentAt) ?? "—"]
            },
            "hasPayments": !mine.isEmpty,
            "notices": notices.map { n -> [String: Any] in
                ["kind": n.kind, "label": Messages.table(context.lang)["notice_\(n.kind)"] ?? context.t("notice"), "at": when(n.at) ?? n.at,
                 "message": n.message]
            },
            "hasNotices": !notices.isEmpty,
        ], context: context)
    }

    func usesView(personId: Person.ID, _ context: PageContext) async throws -> [[String: Any]] {
        try await acceptance.uses(personId: personId).map { uv in
            let (u, v) = (uv.use, uv.venue)
            let ok = u.decision == .accepted || u.decision == .verified
            // A use in another province (reported by its platform through the hub, or at a venue there) names the province.
            let place = v?.name ?? u.venueId.rawValue
            let province = v.map { PageRegion.name(RegionTable.province(of: $0.regionCode)) }
            return [
                "useId": u.id, "at": PageTime.dateTime(u.at), "venue": u.crossRegion ? province.map { "\($0) · \(place)" } ?? place : place,
                "crossProvince": u.crossRegion, "venueType": v.map { context.t("vt_\($0.type.rawValue)") } ?? "",
                "what": u.kind == .identityCheck ? context.t("kind_identity_check") : "\(u.itemCode) · \(context.t("kind_\(u.kind.rawValue)"))",
                "ok": ok, "decision": context.t("decision_\(u.decision.rawValue)"), "reason": u.reason.map { Messages.reason($0, context.lang) } ?? "",
                "disclosed": u.disclosed.map { context.t("disclosed_\($0.rawValue)") } ?? context.t("none"),
                "charged": u.chargedFen > 0 || u.concession != nil ? "¥" + Yuan.format(u.chargedFen) : "",
                "hasConcession": u.concession != nil, "concessionBasis": u.concession?.basis ?? "",
                "concessionAmount": u.concession.map { "¥" + Yuan.format($0.amountFen) } ?? "",
                "companions": u.concession.map { $0.companions > 0 ? context.t("uses_companions").replacingOccurrences(of: "{n}", with: String($0.companions)) : "" } ?? "",
            ]
        }
    }
}
