import Foundation
import Hummingbird
import OneCardCore

/// The pension qualification check and reported deaths (API.md "Entitlements and records"). API.md fixes the holder's
/// `GET /me/pension` and `POST /me/pension/confirm`, the agent's `POST /pension/confirmations` and
/// `POST /persons/{personId}/death`; an agent or department also reads a person's standing
/// (`GET /persons/{personId}/pension`), and a relative with an active family link confirms for them
/// (`POST /me/relatives/{personId}/pension/confirm`, 亲情代办).
struct PensionController {
    let pension: PensionService

    func register(_ api: API) {
        api.add(.get,  "/api/v1/me/pension",                               roles: [.holder],              mine)
        api.add(.post, "/api/v1/me/pension/confirm",                       roles: [.holder],              confirmMine)
        api.add(.post, "/api/v1/me/relatives/{personId}/pension/confirm",  roles: [.holder],              confirmRelative)
        api.add(.post, "/api/v1/pension/confirmations",                    roles: [.agent],               confirmAtCounter)
        api.add(.get,  "/api/v1/persons/{personId}/pension",               roles: [.agent, .department],  standingOf)
        api.add(.post, "/api/v1/persons/{personId}/death",                 roles: [.agent],               death)
    }

    static let standingFields: [(String, Schema)] = [
        ("personId", .text), ("status", .oneOf(PensionStatus.self)), ("lastConfirmedAt", .nullable(.dateTime)),
        ("lastMethod", .nullable(.oneOf(PensionConfirmationMethod.self))), ("dueOn", .date), ("dueAt", .dateTime), ("firstPaidOn", .date),
        ("passiveConsent", .boolean), ("held", .object([("count", .integer), ("amountFen", .integer)], required: ["count", "amountFen"])),
    ]
    static let standingRequired = ["personId", "status", "dueOn", "dueAt", "firstPaidOn", "passiveConsent", "held"]
    static let standingSchema = Schema.named("PensionStanding", .object(standingFields, required: standingRequired))

    static let releasedSchema = Schema.object([("count", .integer), ("amountFen", .integer), ("closedBeyondLimit", .integer)],
                                              required: ["count", "amountFen", "closedBeyondLimit"])

    struct StandingView: Encodable, Sendable {
        struct Held: Encodable, Sendable { let count: Int; let amountFen: Int64 }
        struct Released: Encodable, Sendable { let count: Int; let amountFen: Int64; let closedBeyondLimit: Int }
        let personId: String, status: String, lastConfirmedAt: String?, lastMethod: String?, dueOn: String, dueAt: String, firstPaidOn: String
        let passiveConsent: Bool, held: Held
        var released: Released? = nil
        var confirmationId: String? = nil

        init(_ s: PensionService.Standing, released r: PensionService.Released? = nil, confirmationId: String? = nil) {
            personId = s.qualification.personId.rawValue; status = s.status.rawValue
            lastConfirmedAt = s.qualification.lastConfirmedAt.map(Timestamp.format); lastMethod = s.qualification.lastMethod?.rawValue
            dueOn = s.dueOn.description
            // The check is good until the due day ends in China (24:00 CST), given in UTC like every deadline.
            dueAt = Timestamp.format(ChinaStandardTime.endOfDay(s.dueOn))
            firstPaidOn = s.qualification.firstPaidOn.description
            passiveConsent = s.passiveConsent; held = Held(count: s.heldCount, amountFen: s.heldFen)
            released = r.map { Released(count: $0.count, amountFen: $0.fen, closedBeyondLimit: $0.closed) }
            self.confirmationId = confirmationId
        }
    }

    static let confirmedSchema = Schema.named("PensionConfirmed", .object(standingFields + [("released", releasedSchema), ("confirmationId", .text)],
                                                                         required: standingRequired + ["released"]))

    var mine: Handler {
        Handler("My pension qualification check: when I last confirmed, when the next is due (dueAt: the end of the due day, CST, in UTC), "
                    + "and what is held because it is overdue",
                tag: "pension",
                success: (200, "My standing", Self.standingSchema),
                errors: [.pensionNotFound, .personDeceased]) { _, context in
            JSONResponse(StandingView(try await pension.standing(context.identity!.personId!)))
        }
    }

    var confirmMine: Handler {
        Handler("Confirm my pension qualification online (self-service with the e-card); held payments are paid back once",
                tag: "pension",
                success: (200, "Confirmed, with what was released", Self.confirmedSchema),
                errors: [.pensionNotFound, .personDeceased]) { _, context in
            let (s, r, id) = try await pension.confirm(context.identity!.personId!, method: .online, actor: context.identity!.actor)
            return JSONResponse(StandingView(s, released: r, confirmationId: id))
        }
    }

    var confirmRelative: Handler {
        Handler("Confirm a relative's pension qualification for them (亲情代办) through an active family link; recorded on both persons",
                tag: "pension",
                success: (200, "Confirmed, with what was released", Self.confirmedSchema),
                errors: [.relativeLinkNotFound, .pensionNotFound, .personDeceased]) { _, context in
            let (s, r) = try await pension.confirmForRelative(holder: context.identity!, relativeId: Person.ID(context.parameters.get("personId") ?? ""))
            return JSONResponse(StandingView(s, released: r))
        }
    }

    struct CounterInput: Decodable { let personId: String; let method: String }

    var confirmAtCounter: Handler {
        Handler("Confirm a pensioner at a counter or on a home visit (the agent saw the person); held payments are paid back once",
                tag: "pension",
                request: .object([("personId", .text(1, 64)), ("method", .string(values: ["counter", "home_visit"]))], required: ["personId", "method"]),
                success: (201, "Confirmed, with what was released", Self.confirmedSchema),
                errors: [.pensionNotFound, .personDeceased]) { request, context in
            let i = try await request.decodeJSON(as: CounterInput.self, context: context)
            let method: PensionConfirmationMethod = try parseEnum(i.method, "method")
            guard method == .counter || method == .homeVisit else { throw DomainError.invalidField("method", "counter or home_visit") }
            let (s, r, id) = try await pension.confirm(Person.ID(i.personId), method: method, actor: context.identity!.actor)
            return JSONResponse(StandingView(s, released: r, confirmationId: id), status: .created)
        }
    }

    var standingOf: Handler {
        Handler("A pensioner's qualification check, as the counter sees it", tag: "pension",
                success: (200, "The standing", Self.standingSchema),
                errors: [.pensionNotFound, .personDeceased]) { _, context in
            JSONResponse(StandingView(try await pension.standing(Person.ID(context.parameters.get("personId") ?? ""))))
        }
    }

    struct DeathInput: Decodable { let date: String }

    var death: Handler {
        Handler("Record a person's death (社会保险经办条例 art. 25): the live card is cancelled (reason death), every payment not yet sent "
                    + "closes failed (deceased) and later batch lines are refused deceased. The same report again answers the same; "
                    + "another day is person_deceased",
                tag: "pension",
                request: .object([("date", .date)], required: ["date"]),
                success: (200, "Recorded", .object([("personId", .text), ("diedOn", .date), ("cardCancelled", .nullable(.text)),
                                                     ("paymentsStopped", .integer)], required: ["personId", "diedOn", "paymentsStopped"])),
                errors: [.personNotFound, .personDeceased, .invalidDeathDate]) { request, context in
            let i = try await request.decodeJSON(as: DeathInput.self, context: context)
            guard let day = CalendarDay(i.date) else { throw DomainError.invalidField("date", "a date YYYY-MM-DD") }
            let personId = Person.ID(context.parameters.get("personId") ?? "")
            let r = try await pension.reportDeath(personId, diedOn: day, actor: CardsController.actor(context))
            struct View: Encodable, Sendable { let personId: String; let diedOn: String; let cardCancelled: String?; let paymentsStopped: Int }
            return JSONResponse(View(personId: personId.rawValue, diedOn: r.diedOn.description, cardCancelled: r.cardCancelled?.rawValue,
                                     paymentsStopped: r.paymentsStopped))
        }
    }
}
