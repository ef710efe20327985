import Foundation
import Hummingbird
import OneCardCore

/// Transit pages: the resident's trips (entry, exit, distance, fare, discounts, concession with its basis, charge and
/// status) with the card's transit function switch, and the administrator's operators and daily clearing (the auditor
/// reads the clearing too). The same service methods as `GET /api/v1/me/trips`, `GET /api/v1/transit/operators` and
/// `GET /api/v1/transit/clearing`.
struct TransitPages {
    let transit: TransitService
    let cards: CardService
    let clock: Clock
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/trips") { _, context in
            let me = try context.require([.holder], signIn: ResidentPages.signIn)
            return try await tripsPage(me, context)
        }

        pages.post("/me/card/functions") { _, context in
            let me = try context.require([.holder], signIn: ResidentPages.signIn)
            guard let card = try await cards.liveCard(personId: me.personId!) else { throw DomainError(.noCard, "you hold no card") }
            _ = try await transit.setTransit(card.number, try context.form.required("transit") == "true", actor: Actor(name: me.actor, channel: "web"))
            return Response.seeOther("/me/trips")
        }

        pages.get("/admin/transit") { request, context in
            let me = try context.require([.admin, .auditor], signIn: AdminPages.signIn)
            return try await adminPage(me, context, operator: request.uri.queryParameters.get("operator"), date: request.uri.queryParameters.get("date"))
        }

        pages.post("/admin/transit/operators") { _, context in
            let me = try context.require([.admin], signIn: AdminPages.signIn)
            let f = context.form
            let table: TransitService.FareTableInput
            do { table = try JSONDecoder().decode(TransitService.FareTableInput.self, from: Data(try f.required("fareTable").utf8)) } catch let e as DomainError {
                throw e
            } catch {
                throw DomainError(.invalidFareTable, "fareTable: a fare table as JSON (API.md \"Transit\")")
            }
            _ = try await transit.createOperator(.init(
                code: try f.required("code"), name: try f.required("name"), regionCode: try f.required("regionCode"), mode: try f.required("mode"),
                account: .init(bankCode: try f.required("bankCode"), accountNumber: try f.required("accountNumber")), fareTable: table), by: me.actor)
            return Response.seeOther("/admin/transit")
        }
    }

    /// The words of a trip's status (`charged` is also a column's heading).
    static func statusKey(_ s: TripStatus) -> String { s == .charged ? "trip_charged_status" : "trip_\(s.rawValue)" }

    func tripsPage(_ me: Identity, _ context: PageContext) async throws -> Response {
        let card = try await cards.liveCard(personId: me.personId!)
        let trips = try await transit.trips(personId: me.personId!)
        let yuan = { (fen: Int) in DepartmentPages.yuan(Int64(fen), context) }
        return renderer.page("me-trips", title: context.t("trips_title"), [
            "hasCard": card != nil, "transitOn": card?.transit ?? false,
            "trips": trips.map { t -> [String: Any] in
                let trip = t.trip, b = trip.breakdown
                let status = trip.status.shown
                return [
                    "id": trip.id, "operator": t.operatorName ?? trip.operatorCode.rawValue, "mode": context.t("mode_\(trip.mode.rawValue)"),
                    "entry": trip.entryStation ?? "—", "exit": trip.exitStation ?? "—",
                    "startedAt": PageTime.dateTime(trip.startedAt), "endedAt": trip.endedAt.map(PageTime.dateTime) ?? "—",
                    "distance": b.distanceMetres.map { String(format: "%.1f km", Distance.km(metres: $0)) } ?? "—",
                    "basis": b.basis == .ridden ? "" : context.t("fare_basis_\(b.basis.rawValue)"),
                    "fullFare": yuan(b.fullFareFen),
                    // In the page's language: the kind and its percentage (the API carries Core's own basis text).
                    "discounts": b.discounts.map { ["label": context.t("discount_\($0.kind.rawValue)"), "amount": yuan($0.amountFen),
                                                    "basis": $0.percent.map { "\($0) %" } ?? ""] },
                    "hasDiscounts": !b.discounts.isEmpty,
                    "concession": b.concession.map { ["code": $0.code, "amount": yuan($0.amountFen), "basis": $0.basis] } as Any,
                    "charged": yuan(b.chargedFen), "status": context.t(Self.statusKey(status)), "statusCode": status.rawValue,
                    "ok": status == .charged, "bad": status == .unpaid || status == .disputed,
                    "reason": trip.reason.map { Messages.table(context.lang)["trip_reason_\($0)"] ?? $0 } ?? "", "hasReason": trip.reason != nil,
                ]
            },
            "none": trips.isEmpty,
        ], context: context, back: "/me")
    }

    func adminPage(_ me: Identity, _ context: PageContext, operator code: String?, date: String?) async throws -> Response {
        let operators = try await transit.operators()
        let today = CalendarDay(clock.now())
        var d: [String: Any] = [
            "isAdmin": me.role == .admin,
            "operators": operators.map { o -> [String: Any] in
                let current = o.fares.table(at: clock.now())
                return ["code": o.code.rawValue, "name": o.name, "region": "\(PageRegion.name(o.regionCode))（\(o.regionCode)）",
                        "mode": context.t("mode_\(o.mode.rawValue)"), "account": "\(o.bankCode) \(Mask.account(o.accountNumber))",
                        "versions": o.fares.versions.map { ["version": $0.version, "from": $0.effectiveFrom.description, "model": $0.model.name] },
                        "current": current.map { "v\($0.version)" } ?? "—", "selected": o.code.rawValue == code]
            },
            "hasOperators": !operators.isEmpty,
            "date": date ?? today.description,
            "modes": TransitMode.allCases.map { ["value": $0.rawValue, "label": context.t("mode_\($0.rawValue)")] },
        ]
        if let code, let raw = date {
            guard let day = CalendarDay(raw) else { throw DomainError(.invalidValue, "date: a day YYYY-MM-DD") }
            let c = try await transit.clearing(operator: code, day: day)
            let fen = { (v: Int64) in DepartmentPages.yuan(v, context) }
            d["clearing"] = [
                "operator": c.operatorCode.rawValue, "date": c.day.description, "trips": c.total.trips, "fullFare": fen(c.total.fullFareFen),
                "discount": fen(c.total.cardDiscountFen), "concession": fen(c.total.concessionFen), "charged": fen(c.total.chargedFen),
                "collected": fen(c.collectedFen), "owed": fen(c.owedToOperatorFen),
                "byStatus": TripStatus.allCases.compactMap { s -> [String: Any]? in
                    guard let t = c.byStatus[s] else { return nil }
                    return ["status": context.t(Self.statusKey(s)), "trips": t.trips, "charged": fen(t.chargedFen)]
                },
            ] as [String: Any]
        }
        return renderer.page("admin-transit", title: context.t("transit_admin_title"), d, context: context)
    }
}
