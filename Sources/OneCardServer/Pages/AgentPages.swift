import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// The card agency's desk: the application queue with deadlines and a button per step, registering a
/// person and applying at the counter on their behalf, finding a card by number or ID number (posted,
/// never in a URL), lifecycle actions with reasons, and a card's history.
struct AgentPages {
    let registry: RegistryService
    let cards: CardService
    let policy: JurisdictionPolicy
    let clock: Clock
    let renderer: PageRenderer

    static let signIn = "/staff/signin"
    static let staff: [Role] = [.agent, .admin]

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/agent") { request, context in
            _ = try context.require(Self.staff, signIn: Self.signIn)
            let notice = request.uri.queryParameters.get("notice").flatMap { ["application_submitted"].contains($0) ? context.t($0) : nil }
            return try await queuePage(context, notice: notice)
        }

        // Registering a person: the registry's own service, as `POST /api/v1/persons`; then straight on to the application.
        pages.get("/agent/persons/new") { _, context in
            _ = try context.require(Self.staff, signIn: Self.signIn)
            return personPage(context)
        }

        pages.post("/agent/persons") { _, context in
            let me = try context.require(Self.staff, signIn: Self.signIn)
            let f = context.form
            do {
                let person = try await registry.registerPerson(
                    idType: try parseEnum(try f.required("idType"), "idType"), idNumber: try f.required("idNumber").uppercased(),
                    name: try f.required("name"), phone: try f.required("phone"), address: f["address"], actor: me.actor)
                return try await applyPage(context, person: person, notice: context.t("person_registered"))
            } catch let e as DomainError {
                return personPage(context, error: e, form: f)
            }
        }

        // A counter application on a person's behalf: the same service as `POST /api/v1/card-applications`. The person
        // comes from the registration just made (their record id, hidden) or is found by the ID number typed in.
        pages.get("/agent/apply") { _, context in
            _ = try context.require(Self.staff, signIn: Self.signIn)
            return try await applyPage(context)
        }

        pages.post("/agent/apply") { _, context in
            let me = try context.require(Self.staff, signIn: Self.signIn)
            let f = context.form
            var person: Person?
            do {
                if let id = f["personId"] {
                    person = try await registry.person(Person.ID(id))
                } else {
                    let idNumber = try f.required("idNumber").uppercased()
                    person = try await registry.person(idNumber: idNumber)
                    guard person != nil else { throw DomainError(.personNotFound, "no person with that ID number; register them first") }
                }
                let delivery: Delivery = try parseEnum(f["delivery"] ?? "pickup", "delivery")
                _ = try await cards.submit(.init(
                    personId: person!.id, channel: .counter, applyOutletId: try f.required("applyOutletId"),
                    pickupOutletId: delivery == .pickup ? f["pickupOutletId"] : nil, bankCode: try f.required("bankCode"), delivery: delivery),
                    actor: Actor(name: me.actor, channel: "counter"))
                return Response.seeOther("/agent?notice=application_submitted")
            } catch let e as DomainError {
                return try await applyPage(context, person: person, error: e)
            }
        }

        pages.post("/agent/applications/{applicationId}/{step}") { _, context in
            let me = try context.require(Self.staff, signIn: Self.signIn)
            guard let step = ApplicationStep(rawValue: context.parameters.get("step") ?? "") else { throw HTTPError(.notFound) }
            let (app, produced) = try await cards.step(context.parameters.get("applicationId") ?? "", step, reason: context.form["reason"],
                                                                actor: Actor(name: me.actor, channel: "counter"))
            if let produced {
                return renderer.page("produced", title: context.t("produced_title"), [
                    "cardNumber": produced.cardNumber, "chipKey": produced.chipKey, "status": context.t("app_\(app.status.rawValue)"),
                ], context: context, back: "/agent")
            }
            return Response.seeOther("/agent")
        }

        // By number, a card this node does not hold is asked of its issuer through the hub (on a federated node).
        pages.post("/agent/find") { _, context in
            let me = try context.require(Self.staff, signIn: Self.signIn)
            let value = try context.form.required("value").uppercased()
            if context.form["by"] == "id" {
                guard let person = try await registry.person(idNumber: value),
                      let c = try await cards.liveCard(personId: person.id)
                else { throw DomainError(.cardNotFound, "no live card for that ID number") }
                return try await cardPage(c, context)
            }
            switch try await cards.deskCard(try .existing(value), actor: Actor(name: me.actor, channel: "counter")) {
            case .own(let card): return try await cardPage(card, context)
            case .issuer(let card): return try await issuerCardPage(card, context)
            }
        }

        // "Show full": the holder's record in clear, with the purpose written to the audit log.
        pages.post("/agent/person") { _, context in
            let me = try context.require(Self.staff, signIn: Self.signIn)
            let purpose = try context.form.required("purpose")
            guard purpose.count <= 200 else { throw DomainError.invalidField("purpose", "at most 200 characters") }
            let card = try await cards.card(try .existing(try context.form.required("cardNumber")))
            let person = try await registry.unmaskedPerson(card.personId, purpose: purpose, actor: me.actor)
            return try await cardPage(card, context, full: person)
        }

        pages.post("/agent/card") { _, context in
            let me = try context.require(Self.staff, signIn: Self.signIn)
            let form = context.form
            let number = try form.required("cardNumber")
            let action: CardAction
            var pin: PIN?
            switch try form.required("action") {
            case "activate": action = .activate; pin = try PIN(try form.required("pin"))
            case "report_loss": action = .reportLoss(try parseEnum(try form.required("kind"), "kind"))
            case "unlock": action = .unlock
            case "replace": action = .replace(try parseEnum(try form.required("reason"), "reason"))
            case "cancel": action = .cancel(try parseEnum(try form.required("reason"), "reason"))
            default: throw DomainError(.invalidValue, "action: activate, report_loss, unlock, replace or cancel")
            }
            // Another province's card: a loss report or unlock goes to its issuer, whose answer (or refusal) is shown.
            let (desk, result) = try await cards.deskTransition(try .existing(number), action, pin: pin, actor: Actor(name: me.actor, channel: "counter"))
            if let replacement = result?.replacement {
                return try await cardPage(replacement, context, notice: context.t("replaced_title"), chipKey: result?.chipKey)
            }
            switch desk {
            case .own(let card): return try await cardPage(card, context, notice: context.t("act_done"))
            case .issuer(let card): return try await issuerCardPage(card, context, notice: card.refusal == nil ? context.t("act_done") : nil)
            }
        }
    }

    func personPage(_ context: PageContext, error: DomainError? = nil, form: Form = Form()) -> Response {
        var d = PagesController.errorView(error, context)
        let chosen = form["idType"] ?? IDType.resident.rawValue
        d["idTypes"] = IDType.allCases.map { ["value": $0.rawValue, "label": context.t("idtype_\($0.rawValue)"), "selected": $0.rawValue == chosen] as [String: Any] }
        d["form"] = ["idNumber": form["idNumber"] ?? "", "name": form["name"] ?? "", "phone": form["phone"] ?? "", "address": form["address"] ?? ""]
        return renderer.page("agent-person", title: context.t("person_new_title"), d, context: context,
                             status: error.map { Problem.status(for: $0.kind) } ?? .ok, back: "/agent/persons/new")
    }

    /// The counter application form: the applying outlet (where the agent sits), pick-up or mail, the bank.
    func applyPage(_ context: PageContext, person: Person? = nil, notice: String? = nil, error: DomainError? = nil) async throws -> Response {
        let (outlets, banks) = (try await registry.outlets(), try await registry.banks())
        let today = CalendarDay(clock.now())
        let f = context.form
        var d = PagesController.errorView(error, context)
        if let person {
            d["person"] = ["id": person.id.rawValue, "label": "\(Mask.name(person.name))（\(Mask.idNumber(person.idNumber.value))）"]
        }
        d["notice"] = notice ?? ""
        d["hasNotice"] = notice != nil
        d["pickupChecked"] = f["delivery"] != "mail"
        d["applyOutlets"] = outlets.filter { $0.services.contains("apply") }.map {
            ["id": $0.id, "name": $0.name, "address": $0.address, "selected": $0.id == f["applyOutletId"]] as [String: Any]
        }
        d["pickupOutlets"] = outlets.filter { $0.services.contains("pickup") }.map {
            ["id": $0.id, "name": $0.name, "address": $0.address, "selected": $0.id == f["pickupOutletId"]] as [String: Any]
        }
        d["banks"] = banks.filter { $0.acceptsNewCards(on: today) }.map { ["code": $0.code, "name": $0.name, "selected": $0.code == f["bankCode"]] as [String: Any] }
        d["timeLimit"] = String(format: context.t("guide_time_limit_text"), policy.applicationTimeLimitDays)
        return renderer.page("agent-apply", title: context.t("agent_apply_title"), d, context: context,
                             status: error.map { Problem.status(for: $0.kind) } ?? .ok, back: "/agent/apply")
    }

    func queuePage(_ context: PageContext, notice: String? = nil) async throws -> Response {
        let apps = try await cards.queue(statuses: ApplicationStatus.allCases.filter(\.isOpen))
        let now = clock.now()
        let persons = try await registry.persons(ids: apps.map(\.personId))
        let rows: [[String: Any]] = apps.map { a in
            var row = ResidentPages.applicationView(a, now: now, context)
            let p = persons[a.personId]
            row["applicant"] = p.map { "\(Mask.name($0.name))（\(Mask.idNumber($0.idNumber.value))）" } ?? a.personId.rawValue
            row["cardNumber"] = a.cardNumber?.rawValue ?? ""
            row["hasCardNumber"] = a.cardNumber != nil
            // Only the steps the application's state allows (the rule lives in ApplicationLifecycle).
            row["actions"] = [ApplicationStep.approve, .produce, .ready, .collect].filter { (try? ApplicationLifecycle.next(from: a.status, $0)) != nil }
                .map { ["step": $0.rawValue, "label": context.t("step_\($0.rawValue)")] }
            row["canReject"] = (try? ApplicationLifecycle.next(from: a.status, .reject)) != nil
            return row
        }
        return renderer.page("agent", title: context.t("agent_title"), [
            "rows": rows, "none": rows.isEmpty, "notice": notice ?? "", "hasNotice": notice != nil,
        ], context: context, back: "/agent")
    }

    func cardPage(_ card: Card, _ context: PageContext, full: Person? = nil, notice: String? = nil, chipKey: String? = nil) async throws -> Response {
        let reader = context.identity?.actor ?? "staff"
        let (person, banks) = (try? await registry.person(card.personId, readBy: reader), try await registry.banks())
        let events = try await cards.events(card.number)
        func allowed(_ a: CardAction) -> Bool { (try? CardLifecycle.next(from: card.status, a)) != nil }
        var d: [String: Any] = [
            "own": true,
            "card": ResidentPages.cardView(card, banks: banks, context),
            "cardNumber": card.number.rawValue,
            "holder": person.map { "\(Mask.name($0.name))（\(Mask.idNumber($0.idNumber.value))）" } ?? "",
            "events": events.map { e -> [String: Any] in
                ["at": PageTime.dateTime(e.at), "type": e.type, "actor": e.actor, "channel": context.t("ch_\(e.channel)") == "ch_\(e.channel)" ? e.channel : context.t("ch_\(e.channel)"),
                 "reason": e.reason ?? ""]
            },
            "canActivate": allowed(.activate), "canReportLoss": allowed(.reportLoss(.temporary)), "canUnlock": allowed(.unlock),
            "canReplace": allowed(.replace(.lost)), "canCancel": allowed(.cancel(.other)),
            "replaceReasons": ReplaceReason.allCases.map { ["value": $0.rawValue, "label": context.t("rr_\($0.rawValue)")] },
            "cancelReasons": CancelReason.allCases.map { ["value": $0.rawValue, "label": context.t("cr_\($0.rawValue)")] },
            "notice": notice ?? "", "hasNotice": notice != nil, "chipKey": chipKey ?? "", "hasChipKey": chipKey != nil,
        ]
        if let full {
            d["full"] = ["name": full.name, "idNumber": full.idNumber.value, "phone": full.phone, "address": full.address ?? ""]
        }
        return renderer.page("card", title: context.t("card_title"), d, context: context, back: "/agent")
    }

    /// Another province's card as its issuer answered through the hub, said plainly on the page; only the loss report
    /// and the unlock its status allows are offered (they are forwarded too), and the issuer's refusal is shown.
    func issuerCardPage(_ card: IssuerCard, _ context: PageContext, notice: String? = nil) async throws -> Response {
        let banks = try await registry.banks()
        let c = card.card
        let region = PageRegion.name(c.issuerRegion)
        func allowed(_ a: CardAction) -> Bool { card.status.flatMap { try? CardLifecycle.next(from: $0, a) } != nil }
        func date(_ text: String, _ format: (Date) -> String) -> String { Timestamp.parse(text).map(format) ?? text }
        var functions: [String] = []
        if c.functions.transit { functions.append(context.t("fn_transit")) }
        if c.functions.financial { functions.append(context.t("fn_financial")) }
        var d = PagesController.errorView(card.refusal, context)
        d["isForwarded"] = true
        d["forwarded"] = context.t("card_forwarded").replacingOccurrences(of: "{region}", with: region).replacingOccurrences(of: "{code}", with: c.issuerRegion)
        let status: String = card.status.map { context.t("status_\($0.rawValue)") } ?? c.status
        let bank: String = c.bankCode.map { code in banks.first { $0.code == code }?.name ?? code } ?? context.t("none")
        let facts: [String: Any] = [
            "number": c.cardNumber, "status": status, "statusCode": c.status, "ok": card.status == .active, "issuer": "\(region)（\(c.issuerRegion)）",
            "functions": functions.isEmpty ? context.t("none") : functions.joined(separator: "、"), "bank": bank,
            "account": c.accountMasked ?? context.t("none"), "issuedAt": date(c.issuedAt, PageTime.date), "expiresAt": date(c.expiresAt, PageTime.date),
        ]
        d["card"] = facts
        d["cardNumber"] = c.cardNumber
        d["events"] = card.events.map { e -> [String: Any] in
            ["at": date(e.at, PageTime.dateTime), "type": e.type, "actor": e.actor,
             "channel": context.t("ch_\(e.channel)") == "ch_\(e.channel)" ? e.channel : context.t("ch_\(e.channel)"), "reason": e.reason ?? ""]
        }
        d["canReportLoss"] = allowed(.reportLoss(.temporary))
        d["canUnlock"] = allowed(.unlock)
        d["notice"] = notice ?? ""
        d["hasNotice"] = notice != nil
        return renderer.page("card", title: context.t("card_title"), d, context: context, back: "/agent")
    }
}
