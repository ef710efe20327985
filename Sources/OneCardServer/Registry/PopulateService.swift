import Foundation
import OneCardCore
import OneCardStore

/// `onecard bench populate`: a province's register of synthetic residents (`SyntheticResidents`), each with an active
/// card, written as production writes them — the same sealed columns, blind index, identification code, bank account and
/// events — but many rows per statement in large transactions, sealed on every core, instead of one request per person.
///
/// Restartable: it starts after the highest synthetic card number present and skips any synthetic resident whose ID
/// number or card number is taken, so a re-run adds more and never duplicates an ID number. A batch commits whole or not at all.
/// A federated node's one-person-one-card claims are not sent for these cards (a load test runs a node alone).
public struct PopulateService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    /// The card rules (identification code, account, validity, region) this reuses.
    let cards: CardService

    public struct Report: Sendable {
        /// Residents added, and synthetic residents skipped because their ID or card number was taken.
        public let added: Int, skipped: Int
        /// The first and one-past-last synthetic resident numbers looked at.
        public let first: Int, next: Int
    }

    /// Adds `count` residents with active cards, `batch` per transaction; `progress` hears the running total after each.
    public func populate(persons count: Int, batch: Int = 10_000, pin: String = "123456",
                         progress: @Sendable (Int) -> Void = { _ in }) async throws -> Report {
        let pending = try await store.pendingMigrations()
        guard pending.isEmpty else {
            throw ConfigurationError("the database is not migrated (\(pending.count) pending, first \(pending[0])): run `onecard migrate` first")
        }
        let residents = SyntheticResidents(province: RegionTable.province(of: cards.region))
        // Where the last run left off: past the highest synthetic card number present.
        let (first, bank) = try await store.read { s in
            var first = 0
            for letter in SyntheticResidents.cardNumberLetters {
                if let number = try await s.cards.highest(startingWith: letter), let k = residents.index(of: number) { first = max(first, k + 1) }
            }
            return (first, try await s.banks.list().first { $0.status == .active })
        }
        let pinHash = try await cards.passwords.hash(pin)
        let cipher = store.cipher
        let at = clock.now()
        let expires = Card.expiry(issuedAt: at, years: cards.policy.cardValidityYears)
        let actor = Actor(name: "system:populate", channel: "counter")

        /// The residents `range`, sealed: half on each core.
        @Sendable func seal(_ range: Range<Int>) async -> [Row] {
            await withTaskGroup(of: (Int, [Row]).self) { group in
                let half = range.lowerBound + range.count / 2
                for (i, part) in [range.lowerBound..<half, half..<range.upperBound].enumerated() {
                    group.addTask {
                        (i, part.map { k in
                            let r = residents.resident(k)
                            let number = try! IdentityNumber(r.idNumber, type: .resident, today: CalendarDay(year: 9999, month: 12, day: 31)!)
                            let person = Person(id: Person.ID(random.uuid7(at: at)), idNumber: number, name: r.name, phone: r.phone,
                                                address: r.address, createdAt: at)
                            let account = bank.map { CardService.openAccount(bank: $0.code, random: random) }
                            let card = Card(number: r.cardNumber, identificationCode: CardService.identificationCode(region: cards.region,
                                            card: r.cardNumber.rawValue, keys: cards.keys),
                                            personId: person.id, applicationId: nil, issuerRegion: cards.region, status: .active,
                                            transit: true, financial: bank != nil, bankCode: bank?.code, accountNumber: account,
                                            pinHash: pinHash, issuedAt: at, expiresAt: expires)
                            return Row(person: PersonRepository.seal(person, cipher: cipher), card: CardRepository.seal(card, cipher: cipher),
                                       number: r.cardNumber)
                        })
                    }
                }
                var parts: [[Row]] = [[], []]
                for await (i, rows) in group { parts[i] = rows }
                return parts[0] + parts[1]
            }
        }

        var added = 0, skipped = 0, k = first
        let capacity = residents.capacity
        var sealing = Task { await seal(first..<min(first + batch, capacity)) }
        while added < count {
            guard k < capacity else { throw ConfigurationError("no synthetic resident is left (capacity \(capacity))") }
            let rows = await sealing.value
            let start = k, nextStart = k + rows.count
            // Seal the next batch on both cores while this one is written.
            sealing = Task { await seal(nextStart..<min(nextStart + batch, capacity)) }
            let wanted = Array(rows.prefix(count - added))
            let written = try await store.write { s -> Int in
                let indexes = try await s.persons.existing(indexes: wanted.map(\.person.idIndex))
                let numbers = try await s.cards.existing(numbers: wanted.map(\.number))
                let fresh = wanted.filter { !indexes.contains($0.person.idIndex) && !numbers.contains($0.number) }
                try await s.persons.insert(sealed: fresh.map(\.person))
                try await s.cards.insert(sealed: fresh.map(\.card))
                try await s.events.append(fresh.flatMap { row in
                    [CardEvent(at: at, type: "card_issued", actor: actor.name, channel: actor.channel, reason: nil, cardNumber: row.number, applicationId: nil),
                     CardEvent(at: at, type: CardAction.activate.eventType, actor: actor.name, channel: actor.channel, reason: nil,
                               cardNumber: row.number, applicationId: nil)]
                })
                return fresh.count
            }
            // The last batch may use only its first residents: the rest are left for the next run.
            k = wanted.count < rows.count ? start + wanted.count : nextStart
            added += written
            skipped += wanted.count - written
            progress(added)
        }
        sealing.cancel()
        let report = Report(added: added, skipped: skipped, first: first, next: k)
        let total = added
        _ = try await store.write { s in
            try await s.audit.append(at: clock.now(), actor: actor.name, action: "persons_populated",
                                     subject: "persons:synthetic:\(total)", purpose: nil)
        }
        return report
    }

    struct Row: Sendable {
        let person: PersonRepository.Sealed
        let card: CardRepository.Sealed
        let number: CardNumber
    }
}
