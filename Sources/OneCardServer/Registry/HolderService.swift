import Foundation
import OneCardCore
import OneCardStore

/// Everything held about one holder, gathered for them (PIPL art. 45: a person may obtain a copy of their data).
struct HolderService: Sendable {
    let store: Store
    let clock: Clock
    let registry: RegistryService
    let cards: CardService
    let payments: PaymentService
    let acceptance: AcceptanceService
    let records: RecordService
    let pension: PensionService

    /// What the export carries, as the domain knows it.
    struct Export: Sendable {
        var at: Date
        var person: Person
        var card: Card?
        var applications: [CardApplication]
        var events: [CardEvent]
        var ecard: ECard?
        var uses: [AcceptanceService.UseWithVenue]
        var payments: [(Payment, Programme.ID, String)]
        var notices: [HolderNotice]
        /// Transit trips (issue 13).
        var trips: [TransitTrip] = []
        /// Certificates loaded on the person, revoked ones too (issue 15).
        var certificates: [Certificate] = []
        /// The HR&SS electronic file library's records with their proofs (issue 15).
        var records: [RecordService.Signed] = []
        /// The pension qualification check and its confirmations (issue 15).
        var pension: PensionService.Standing? = nil
        var pensionConfirmations: [PensionRepository.Confirmation] = []
    }

    /// Reading the full record is audited like any unmasked read of a person.
    func export(personId: Person.ID, actor: String) async throws -> Export {
        let person = try await registry.unmaskedPerson(personId, purpose: "holder data export", actor: actor, staff: false)
        let card = try await cards.liveCard(personId: personId)
        var events: [CardEvent] = []
        if let card { events = try await cards.events(card.number) }
        let (standing, confirmations) = try await pension.exported(personId)
        return Export(at: clock.now(), person: person, card: card, applications: try await cards.applications(personId: personId), events: events,
                    ecard: try await store.read { try await $0.ecards.find(personId: personId) },
                    uses: try await acceptance.uses(personId: personId), payments: try await payments.payments(personId: personId),
                    notices: try await payments.notifications(personId: personId),
                    trips: try await store.read { try await $0.transit.trips(person: personId, limit: 100_000) },
                    certificates: try await store.read { try await $0.certificates.list(personId: personId) },
                    records: try await records.mine(personId: personId), pension: standing, pensionConfirmations: confirmations)
    }
}
