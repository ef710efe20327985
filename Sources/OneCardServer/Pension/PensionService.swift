import Foundation
import OneCardCore
import OneCardStore

/// The yearly pension qualification check (待遇资格认证; API.md "Entitlements and records"; wave2-facts §6.1) and reported
/// deaths. A pensioner is anyone a `pension` programme's payment was sent to; their next check is due by `PensionCheck`.
/// They confirm online (the holder), at a counter or on a home visit (an agent), through a relative (family service), or
/// silently from recent card use when they consented to that (`pension_passive_confirmation`: 社会保险经办条例 art. 26's
/// data matching). The executor holds the pension payments of an overdue pensioner (`holdOverdue`); a confirmation
/// releases them as back pay, once. A reported death cancels the card and closes every payment not yet sent.
struct PensionService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let policy: PensionQualificationPolicy
    let cards: CardService
    let paymentWork: WorkSignal

    var now: Date { clock.now() }

    /// Where a pensioner stands, and what is held.
    struct Standing: Sendable {
        let qualification: PensionQualification
        let dueOn: CalendarDay
        let status: PensionStatus
        let passiveConsent: Bool
        let heldCount: Int
        let heldFen: Int64
    }

    /// What a confirmation released: back pay, and what the region's back-pay limit closed instead.
    struct Released: Sendable, Equatable {
        var count = 0, fen: Int64 = 0, closed = 0
    }

    /// What the holder's data export carries: the standing (nil for a person who receives no pension here) and every
    /// confirmation.
    func exported(_ personId: Person.ID) async throws -> (Standing?, [PensionRepository.Confirmation]) {
        let (policy, at) = (policy, now)
        return try await store.read { s in
            guard let q = try await s.pension.find(personId) else { return (nil, []) }
            return (try await Self.standing(q, at: at, policy: policy, in: s), try await s.pension.confirmations(personId))
        }
    }

    func standing(_ personId: Person.ID) async throws -> Standing {
        let (policy, at) = (policy, now)
        return try await store.read { s in
            guard try await s.pension.death(personId) == nil else { throw DomainError(.personDeceased, "a death is recorded for this person") }
            guard let q = try await s.pension.find(personId) else { throw DomainError(.pensionNotFound, "no pension is paid to this person here") }
            return try await Self.standing(q, at: at, policy: policy, in: s)
        }
    }

    private static func standing(_ q: PensionQualification, at: Date, policy: PensionQualificationPolicy, in s: StoreSession) async throws -> Standing {
        let held = try await s.payments.held(personId: q.personId)
        return Standing(qualification: q, dueOn: PensionCheck.dueOn(q, policy: policy), status: PensionCheck.status(q, at: at, policy: policy),
                        passiveConsent: try await ConsentService.allows(q.personId, .pensionPassiveConfirmation, at: at, in: s),
                        heldCount: held.count, heldFen: held.reduce(0) { $0 + $1.amountFen })
    }

    /// A confirmation by the holder (online), an agent (counter, home visit) or a relative with an active family link.
    func confirm(_ personId: Person.ID, method: PensionConfirmationMethod, actor: String) async throws -> (Standing, Released, confirmationId: String) {
        let (policy, at, random) = (policy, now, random)
        let id = random.uuid()
        let result = try await store.write { s -> (Standing, Released) in
            guard try await s.pension.death(personId) == nil else { throw DomainError(.personDeceased, "a death is recorded for this person") }
            guard let q = try await s.pension.find(personId, lock: true) else { throw DomainError(.pensionNotFound, "no pension is paid to this person here") }
            let released = try await Self.confirm(q, id: id, at: at, method: method, actor: actor, evidence: nil, policy: policy, in: s)
            return (try await Self.standing(try await s.pension.find(personId) ?? q, at: at, policy: policy, in: s), released)
        }
        if result.1.count > 0 { paymentWork.signal() }
        return (result.0, result.1, id)
    }

    /// A relative confirms for the holder's relative (亲情代办, allowed in Shandong: wave2-facts §6.1), through an active
    /// family link; recorded on both persons like every act of family service.
    func confirmForRelative(holder identity: Identity, relativeId: Person.ID) async throws -> (Standing, Released) {
        guard let holderId = identity.personId else { throw DomainError.forbidden }
        let link = try await store.read { try await $0.family.active(holder: holderId, relative: relativeId) }
        guard let link else { throw DomainError(.relativeLinkNotFound, "no active family link to that person") }
        let (standing, released, _) = try await confirm(relativeId, method: .relative, actor: identity.actor)
        let (at, random) = (now, random)
        try await store.write { s in try await FamilyService.record(link, "pension_confirmed", actor: identity.actor, at: at, random: random, in: s) }
        return (standing, released)
    }

    /// Records a confirmation and releases what was held: back pay within the region's limit goes back to `pending` for
    /// the executor (the same payment, never sent, so the bank sees it once), batches that had completed open again, and
    /// the holder is told. The one place a confirmation happens, whatever its channel.
    static func confirm(_ q: PensionQualification, id: String, at: Date, method: PensionConfirmationMethod, actor: String, evidence: String?,
                        policy: PensionQualificationPolicy, recordedAt: Date? = nil, in s: StoreSession) async throws -> Released {
        let recorded = recordedAt ?? at
        try await s.pension.insertConfirmation(id: id, personId: q.personId, at: at, method: method, actor: actor, evidence: evidence, recordedAt: recorded)
        try await s.audit.append(at: recorded, actor: actor, action: "pension_confirmed", subject: "person:\(q.personId)",
                                 purpose: evidence.map { "\(method.rawValue): \($0)" } ?? method.rawValue)
        guard let next = PensionCheck.confirm(q, at: at, method: method) else { return Released() }
        let dueOn = PensionCheck.dueOn(next, policy: policy)
        try await s.pension.save(next, dueOn: dueOn, at: recorded)
        let held = try await s.payments.held(personId: q.personId)
        guard !held.isEmpty else { return Released() }
        let cutoff = PensionCheck.backPayCutoff(confirmedAt: at, policy: policy)
        let beyond = held.filter { h in cutoff.map { h.heldAt < $0 } ?? false }
        let back = held.filter { h in !beyond.contains { $0.id == h.id } }
        var released = Released()
        released.count = try await s.payments.release(back.map(\.id), at: recorded)
        released.fen = released.count == back.count ? back.reduce(0) { $0 + $1.amountFen } : 0
        if !beyond.isEmpty {
            try await s.payments.settle(beyond.map(\.id), to: .failed, reason: "back_pay_limit", from: .held, at: recorded)
            released.closed = beyond.count
        }
        for batchId in Set(back.map(\.batchId)).sorted() {
            guard var b = try await s.payments.batch(batchId, lock: true), b.status == .completed else { continue }
            b.status = .executing
            b.completedAt = nil
            try await s.payments.update(b)
            try await s.audit.append(at: recorded, actor: actor, action: "batch_reopened", subject: "batch:\(batchId)", purpose: "pension back pay")
        }
        try await s.payments.notify(personId: q.personId, at: recorded, kind: .pensionResumed,
                                    parameters: ["method": method.rawValue, "count": "\(released.count)", "amountFen": "\(released.fen)",
                                                 "dueOn": dueOn.description, "closed": "\(released.closed)"])
        return released
    }

    /// Silent authentication (社会保险经办条例 art. 26, 信息比对): with the holder's consent in force, their latest card use
    /// after the last confirmation confirms them as of that use. Returns whether it did.
    static func matchPassive(_ q: PensionQualification, at: Date, policy: PensionQualificationPolicy, random: RandomSource,
                             in s: StoreSession) async throws -> PensionQualification? {
        guard try await ConsentService.allows(q.personId, .pensionPassiveConfirmation, at: at, in: s) else { return nil }
        let since = q.lastConfirmedAt ?? ChinaStandardTime.startOfDay(q.firstPaidOn)
        guard let activity = try await s.pension.latestActivity(q.personId, after: since), activity.at <= at else { return nil }
        _ = try await confirm(q, id: random.uuid(), at: activity.at, method: .passive, actor: "system", evidence: activity.kind,
                              policy: policy, recordedAt: at, in: s)
        return PensionCheck.confirm(q, at: activity.at, method: .passive)
    }

    /// Called by the payment executor for a chunk of a `pension` programme's pending payments: makes the first
    /// payment's pensioners known (their cycle starts from it), confirms consenting pensioners from recent use, and holds
    /// the payments of those still overdue (`held`, told). Returns the ids held.
    static func holdOverdue(_ due: [Payment.Due], programme: String, at: Date, policy: PensionQualificationPolicy, random: RandomSource,
                            in s: StoreSession) async throws -> Set<String> {
        let persons = Set(due.map(\.personId))
        var known = try await s.pension.find(persons, lock: true)
        for p in persons where known[p] == nil {
            let q = PensionQualification(personId: p, firstPaidOn: ChinaStandardTime.day(of: at), lastConfirmedAt: nil, lastMethod: nil, remindedFor: nil)
            try await s.pension.save(q, dueOn: PensionCheck.dueOn(q, policy: policy), at: at)
            known[p] = q
        }
        var held: [String] = []
        for payment in due {
            guard var q = known[payment.personId], PensionCheck.status(q, at: at, policy: policy) == .overdue else { continue }
            if let confirmed = try await matchPassive(q, at: at, policy: policy, random: random, in: s) {
                known[payment.personId] = confirmed
                q = confirmed
                if PensionCheck.status(q, at: at, policy: policy) != .overdue { continue }
            }
            held.append(payment.id)
            try await s.payments.notify(personId: payment.personId, at: at, kind: .pensionHeld,
                                        parameters: ["programme": programme, "amountFen": "\(payment.amountFen)",
                                                     "dueOn": PensionCheck.dueOn(q, policy: policy).description], paymentId: payment.id)
            try await s.audit.append(at: at, actor: "system", action: "pension_payment_held", subject: "person:\(payment.personId)", purpose: payment.id)
        }
        try await s.payments.hold(held, reason: "qualification_overdue", at: at)
        return Set(held)
    }

    /// The reminder job: pensioners whose check falls due within the reminder period (or is overdue) and who were not
    /// reminded of that due day: a consenting pensioner's recent use confirms them instead; the others are told once
    /// per cycle. Returns how many were reminded.
    @discardableResult
    func remind(limit: Int = 500) async throws -> Int {
        let (policy, at, random) = (policy, now, random)
        let horizon = ChinaStandardTime.day(of: at).addingDays(policy.reminderDays)
        return try await store.write { s in
            var reminded = 0
            for q in try await s.pension.unreminded(dueBy: horizon, limit: limit) {
                guard try await s.pension.death(q.personId) == nil else {
                    var done = q
                    done.remindedFor = PensionCheck.dueOn(q, policy: policy)
                    try await s.pension.save(done, dueOn: PensionCheck.dueOn(q, policy: policy), at: at)
                    continue
                }
                if let confirmed = try await Self.matchPassive(q, at: at, policy: policy, random: random, in: s),
                   !PensionCheck.reminderOwed(confirmed, at: at, policy: policy) { continue }
                guard let current = try await s.pension.find(q.personId) else { continue }
                let dueOn = PensionCheck.dueOn(current, policy: policy)
                guard PensionCheck.reminderOwed(current, at: at, policy: policy) else {
                    // Stored under another due day (the pack's interval changed): the index is brought up to date.
                    try await s.pension.save(current, dueOn: dueOn, at: at)
                    continue
                }
                var next = current
                next.remindedFor = dueOn
                try await s.pension.save(next, dueOn: dueOn, at: at)
                try await s.payments.notify(personId: q.personId, at: at, kind: .pensionCheckDue, parameters: ["dueOn": dueOn.description])
                reminded += 1
            }
            return reminded
        }
    }

    /// What a death report did.
    struct DeathRecorded: Sendable { let diedOn: CalendarDay; let cardCancelled: CardNumber?; let paymentsStopped: Int }

    /// A reported death (社会保险经办条例 art. 25): recorded once; every payment of the person not yet sent closes `failed`
    /// (`deceased`), future batch lines are refused `deceased` (`PayeeCheck`), and the live card is cancelled with reason
    /// `death` through the card lifecycle (its revocation reaches gates as any cancellation does). A repeated report of the
    /// same day answers the same and finishes what a crash may have left (the card); another day is 409 `person_deceased`.
    func reportDeath(_ personId: Person.ID, diedOn: CalendarDay, actor: Actor) async throws -> DeathRecorded {
        let at = now
        let stopped = try await store.write { s -> Int in
            guard let person = try await s.persons.find(personId) else { throw DomainError(.personNotFound, "no person \(personId)") }
            try DeathReport.check(diedOn: diedOn, birthDate: person.idNumber.birthDate, today: ChinaStandardTime.day(of: at))
            if let recorded = try await s.pension.death(personId) {
                guard recorded == diedOn else { throw DomainError(.personDeceased, "a death on \(recorded) is recorded for this person") }
                return 0
            }
            _ = try await s.pension.recordDeath(personId, diedOn: diedOn, by: actor.name, at: at)
            let n = try await s.payments.stop(personId: personId, reason: "deceased", at: at)
            try await s.audit.append(at: at, actor: actor.name, action: "death_recorded", subject: "person:\(personId)",
                                     purpose: "died \(diedOn); \(n) payments stopped")
            return n
        }
        var cancelled: CardNumber?
        if let card = try await cards.liveCard(personId: personId), card.issuerRegion == cards.region {
            _ = try await cards.transition(card.number, .cancel(.death), actor: actor, idempotencyKey: "death:\(personId.rawValue)")
            cancelled = card.number
        }
        return DeathRecorded(diedOn: diedOn, cardCancelled: cancelled, paymentsStopped: stopped)
    }
}
