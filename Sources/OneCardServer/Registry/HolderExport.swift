import Foundation
import OneCardCore

/// Everything held about a holder, as one JSON document (PIPL art. 45: a person may obtain a copy of their
/// data). `GET /api/v1/me/export` and the "download my data" page both send what `make` builds, and reading
/// the full record is audited like any unmasked read of a person.
struct HolderExport: Encodable, Sendable {
    let exportedAt: String
    let person: RegistryController.PersonView
    let card: CardsController.CardView?
    let applications: [CardsController.ApplicationView]
    let events: [CardsController.EventView]
    let ecard: ECardController.ECardView?
    let uses: [AcceptanceController.UseView]
    let payments: [PaymentsController.PaymentView]
    let notifications: [PaymentsController.Notice]

    static func make(personId: String, actor: String, services: AppServices) async throws -> HolderExport {
        let person = try await services.registry.unmaskedPerson(personId, purpose: "holder data export", actor: actor)
        let now = services.clock.now()
        let card = try await services.cards.liveCard(personId: personId)
        let applications = try await services.cards.applications(personId: personId)
        var events: [CardEvent] = []
        if let card { events = try await services.cards.events(card.number) }
        let uses = try await AcceptanceController.useViews(personId: personId, services: services)
        let ecard = try await services.store.read { try await $0.ecards.find(personId: personId) }
        let payments = try await PaymentsController.payments(personId: personId, services: services)
        let notifications = try await PaymentsController.notifications(personId: personId, services: services)
        return HolderExport(
            exportedAt: Timestamp.format(now), person: RegistryController.PersonView(person, unmasked: true),
            card: card.map(CardsController.CardView.init), applications: applications.map { CardsController.ApplicationView($0, now: now) },
            events: events.map(CardsController.EventView.init), ecard: ecard.map(ECardController.ECardView.init), uses: uses,
            payments: payments, notifications: notifications)
    }

    /// The document as OpenAPI describes it; its parts are the schemas of the endpoints that serve each one alone.
    static let schema = Schema.object([
        ("exportedAt", .dateTime), ("person", .ref("Person")), ("card", .nullable(.ref("Card"))), ("applications", .array(.ref("CardApplication"))),
        ("events", .array(.ref("CardEvent"))), ("ecard", .nullable(.ref("ECard"))), ("uses", .array(.ref("Use"))), ("payments", .array(.ref("Payment"))),
        ("notifications", .array(.ref("Notification"))),
    ], required: ["exportedAt", "person", "applications", "events", "uses", "payments", "notifications"])
}
