import Foundation
import OneCardCore

/// Everything held about a holder, as one JSON document (PIPL art. 45: a person may obtain a copy of their
/// data). `GET /api/v1/me/export` and the "download my data" page both send it, built from `HolderService.export`.
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
    let trips: [TransitController.TripView]
    /// The holder's own certificates, with their numbers (their data, PIPL art. 45).
    let certificates: [CertificateController.ExportView]
    let records: [RecordsController.View]
    struct Confirmation: Encodable, Sendable {
        static let schema = Schema.object([("at", .dateTime), ("method", .oneOf(PensionConfirmationMethod.self)), ("actor", .text), ("evidence", .nullable(.text))],
                                          required: ["at", "method", "actor"])
        let at: String, method: String, actor: String, evidence: String?
    }
    struct Pension: Encodable, Sendable { let standing: PensionController.StandingView; let confirmations: [Confirmation] }
    /// The pension qualification check, for a pensioner (issue 15).
    let pension: Pension?

    init(_ d: HolderService.Export) {
        exportedAt = Timestamp.format(d.at)
        person = RegistryController.PersonView(d.person, unmasked: true)
        card = d.card.map(CardsController.CardView.init)
        applications = d.applications.map { CardsController.ApplicationView($0, now: d.at) }
        events = d.events.map(CardsController.EventView.init)
        ecard = d.ecard.map(ECardController.ECardView.init)
        uses = d.uses.map(AcceptanceController.UseView.init)
        payments = d.payments.map { PaymentsController.PaymentView($0.0, programmeId: $0.1, programme: $0.2) }
        notifications = d.notices.map { PaymentsController.Notice($0) }
        trips = d.trips.map { TransitController.TripView(.init(trip: $0, operatorName: nil)) }
        certificates = d.certificates.map(CertificateController.ExportView.init)
        records = d.records.map(RecordsController.View.init)
        pension = d.pension.map { p in
            Pension(standing: PensionController.StandingView(p), confirmations: d.pensionConfirmations.map {
                Confirmation(at: Timestamp.format($0.at), method: $0.method, actor: $0.actor, evidence: $0.evidence)
            })
        }
    }

    /// The document as OpenAPI describes it; its parts are the schemas of the endpoints that serve each one alone.
    static let schema = Schema.object([
        ("exportedAt", .dateTime), ("person", .ref("Person")), ("card", .nullable(.ref("Card"))), ("applications", .array(.ref("CardApplication"))),
        ("events", .array(.ref("CardEvent"))), ("ecard", .nullable(.ref("ECard"))), ("uses", .array(.ref("Use"))), ("payments", .array(.ref("Payment"))),
        ("notifications", .array(.ref("Notification"))), ("trips", .array(.ref("Trip"))), ("certificates", .array(CertificateController.ExportView.schema)),
        ("records", .array(.ref("HRRecord"))),
        ("pension", .object([("standing", .ref("PensionStanding")), ("confirmations", .array(Confirmation.schema))], required: ["standing", "confirmations"])),
    ], required: ["exportedAt", "person", "applications", "events", "uses", "payments", "notifications", "trips", "certificates", "records"])
}
