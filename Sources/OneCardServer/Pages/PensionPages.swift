import Foundation
import Hummingbird
import OneCardCore

/// The pension qualification check in pages: the holder sees when the check is due, what is held, and confirms online
/// (`/me/pension`); an agent finds a pensioner by ID number, confirms them at the counter or on a home visit, and records
/// a death (`/agent/pension`). The same service as the API (`PensionService`).
struct PensionPages {
    let pension: PensionService
    let registry: RegistryService
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/pension") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            return try await minePage(me, context)
        }
        pages.post("/me/pension/confirm") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let (_, released, _) = try await pension.confirm(me.personId!, method: .online, actor: me.actor)
            return try await minePage(me, context, released: released)
        }

        pages.get("/agent/pension") { _, context in
            _ = try context.require([.agent], signIn: AgentPages.signIn)
            return renderer.page("agent-pension", title: context.t("pen_agent_title"), Self.agentBase(context), context: context)
        }
        pages.post("/agent/pension/find") { _, context in
            _ = try context.require([.agent], signIn: AgentPages.signIn)
            let idNumber = try context.form.required("idNumber").trimmingCharacters(in: .whitespaces).uppercased()
            try TextRule.check(idNumber, "idNumber", max: 40)
            guard let person = try await registry.person(idNumber: idNumber) else { throw DomainError(.personNotFound, "no person with that ID number") }
            return try await agentPage(person, context)
        }
        pages.post("/agent/pension/confirm") { _, context in
            let me = try context.require([.agent], signIn: AgentPages.signIn)
            let method: PensionConfirmationMethod = try parseEnum(try context.form.required("method"), "method")
            guard method == .counter || method == .homeVisit else { throw DomainError.invalidField("method", "counter or home_visit") }
            let person = try await personOnForm(context)
            let (_, released, _) = try await pension.confirm(person.id, method: method, actor: me.actor)
            return try await agentPage(person, context, notice: Self.releasedText(released, context))
        }
        pages.post("/agent/pension/death") { _, context in
            let me = try context.require([.agent], signIn: AgentPages.signIn)
            guard let day = CalendarDay(try context.form.required("date")) else { throw DomainError.invalidField("date", "a date YYYY-MM-DD") }
            let person = try await personOnForm(context)
            let r = try await pension.reportDeath(person.id, diedOn: day, actor: Actor(name: me.actor, channel: "counter"))
            var d = Self.agentBase(context)
            d["notice"] = Self.fill(context.t("pen_death_done"), ["day": r.diedOn.description, "card": r.cardCancelled?.rawValue ?? "—",
                                                                  "stopped": "\(r.paymentsStopped)"])
            return renderer.page("agent-pension", title: context.t("pen_agent_title"), d, context: context)
        }
    }

    private func personOnForm(_ context: PageContext) async throws -> Person {
        try await registry.person(Person.ID(try context.form.required("personId")))
    }

    static func agentBase(_ context: PageContext) -> [String: Any] {
        ["methods": [PensionConfirmationMethod.counter, .homeVisit].map { ["value": $0.rawValue, "label": context.t("pen_method_\($0.rawValue)")] }]
    }

    static func releasedText(_ r: PensionService.Released, _ context: PageContext) -> String {
        r.count == 0 && r.closed == 0 ? context.t("pen_confirmed")
            : fill(context.t("pen_released"), ["count": "\(r.count)", "amount": DepartmentPages.yuan(r.fen, context), "closed": "\(r.closed)"])
    }

    /// A sentence with its `{name}` parameters filled in.
    static func fill(_ text: String, _ values: [String: String]) -> String {
        values.reduce(text) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
    }

    /// The standing as both pages show it.
    static func standingView(_ s: PensionService.Standing, _ context: PageContext) -> [String: Any] {
        ["status": context.t("pen_status_\(s.status.rawValue)"), "statusCode": s.status.rawValue, "overdue": s.status == .overdue,
         "dueOn": s.dueOn.description, "firstPaidOn": s.qualification.firstPaidOn.description,
         "lastConfirmed": s.qualification.lastConfirmedAt.map(PageTime.dateTime) ?? context.t("pen_never"),
         "lastMethod": s.qualification.lastMethod.map { context.t("pen_method_\($0.rawValue)") } ?? "—",
         "passive": s.passiveConsent ? context.t("pen_passive_on") : context.t("pen_passive_off"),
         "hasHeld": s.heldCount > 0, "heldCount": s.heldCount, "heldAmount": DepartmentPages.yuan(s.heldFen, context)]
    }

    private func minePage(_ me: Identity, _ context: PageContext, released: PensionService.Released? = nil) async throws -> Response {
        var d: [String: Any] = [:]
        do {
            d["standing"] = Self.standingView(try await pension.standing(me.personId!), context)
        } catch let e as DomainError where e.code == .pensionNotFound {
            d["none"] = true
        }
        if let released { d["notice"] = Self.releasedText(released, context) }
        return renderer.page("me-pension", title: context.t("pen_title"), d, context: context)
    }

    private func agentPage(_ person: Person, _ context: PageContext, notice: String? = nil) async throws -> Response {
        var d = Self.agentBase(context)
        d["person"] = ["id": person.id.rawValue, "name": Mask.name(person.name), "idNumber": Mask.idNumber(person.idNumber.value)]
        do {
            d["standing"] = Self.standingView(try await pension.standing(person.id), context)
        } catch let e as DomainError where e.code == .pensionNotFound {
            d["noPension"] = true
        } catch let e as DomainError where e.code == .personDeceased {
            d["deceased"] = true
        }
        if let notice { d["notice"] = notice }
        return renderer.page("agent-pension", title: context.t("pen_agent_title"), d, context: context)
    }
}
