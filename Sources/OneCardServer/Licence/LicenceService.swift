import Foundation
import OneCardCore
import OneCardStore

/// E-licences on the card (GD art. 9): the issuing department (scope `public_security`) links a licence it confirms;
/// the holder sees theirs; a government venue's terminal asks whether the presented card's holder has a valid licence
/// of a type (and class) and learns that, the class and the end date — only with the holder's `elicence_check` consent
/// in force, every check audited and listed in "who checked my card".
struct LicenceService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let acceptance: AcceptanceService

    struct Input: Sendable { var type: Licence.Kind; var number: String; var licenceClass: String; var validTo: CalendarDay; var issuer: String }

    func link(personId: Person.ID, _ i: Input, by identity: Identity) async throws -> Licence {
        guard identity.role == .department, identity.scope == .publicSecurity else {
            throw DomainError(.forbidden, "linking a licence needs a department user with the public_security scope")
        }
        guard DrivingClass.parse(i.licenceClass) != nil else {
            throw DomainError(.invalidLicenceClass, "class: the classes printed on a driving licence, e.g. C1 or A2D")
        }
        let l = Licence(id: random.uuid(), personId: personId, type: i.type, number: i.number, licenceClass: i.licenceClass.uppercased(),
                        validTo: i.validTo, issuer: i.issuer, linkedBy: identity.actor, linkedAt: clock.now())
        try await store.write { s in
            guard try await s.persons.find(personId) != nil else { throw DomainError(.personNotFound, "no person \(personId)") }
            try await s.licences.insert(l)
            try await s.audit.append(at: l.linkedAt, actor: identity.actor, action: "licence_linked", subject: "person:\(personId)", purpose: i.type.rawValue)
        }
        return l
    }

    func licences(personId: Person.ID) async throws -> [Licence] {
        try await store.read { try await $0.licences.list(personId: personId) }
    }

    struct CheckAnswer: Encodable, Sendable {
        var valid: Bool
        var `class`: String?
        var validTo: String?
        /// Why the card or code itself was refused (an acceptance denial code), when it was.
        var reason: String?
    }

    /// A government venue checks the presented card's holder's licence.
    func check(terminal: Identity, credential: AcceptanceService.Credential, type: Licence.Kind, wanted: String?) async throws -> CheckAnswer {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        let now = clock.now()
        let verified = acceptance.verify(credential, at: now)
        let random = random
        return try await store.write { s in
            guard let venue = try await s.venues.find(venueId) else { throw DomainError(.venueNotFound, "the terminal's venue is gone") }
            guard venue.type == .government else { throw DomainError(.venueNotPermitted, "licence checks are for government venues") }
            let (card, denial) = try await AcceptanceService.presented(verified, at: now, in: s)
            guard let card, denial == nil else { return CheckAnswer(valid: false, reason: denial?.rawValue ?? DenialCode.tokenInvalid.rawValue) }
            guard try await ConsentService.allows(card.personId, .elicenceCheck, at: now, in: s) else {
                throw DomainError(.consentRequired, "the holder has not consented to e-licence checks (or withdrew it)")
            }
            let today = CalendarDay(now)
            let held = try await s.licences.list(personId: card.personId).first { $0.type == type }
            let valid = held.map { l in l.validTo >= today && (wanted.map { DrivingClass.permits(l.licenceClass, $0) } ?? true) } ?? false
            try await s.audit.append(at: now, actor: terminal.actor, action: "licence_checked", subject: "person:\(card.personId)",
                                     purpose: "\(venue.name): \(type.rawValue)\(wanted.map { " \($0)" } ?? "")")
            try await s.uses.insert(UseRecord(
                id: random.uuid(), terminalId: Terminal.ID(terminal.subject), idempotencyKey: "licence:" + random.uuid(), venueId: venue.id,
                itemCode: "licence_check", kind: .identityCheck, decision: valid ? .verified : .denied, reason: valid ? nil : "licence_not_valid",
                cardNumber: card.number, personId: card.personId, crossRegion: false, chargedFen: 0, disclosed: .masked, at: now, response: "{}"))
            return CheckAnswer(valid: valid, class: held?.licenceClass, validTo: held?.validTo.description)
        }
    }
}
