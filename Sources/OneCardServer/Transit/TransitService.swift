import Foundation
import Hummingbird
import Logging
import Metrics
import OneCardCore
import OneCardStore

/// Transit (issue 13; API.md "Transit"): the card's transit function, operators and their fare tables, taps uploaded
/// by gates (recorded once each, judged as of their time), trips paired and priced by the fare table in force at their
/// start and the ride region's concessions, each charged once to the card's account through the bank interface, and
/// the daily clearing per operator.
struct TransitService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    /// Every region's pack: a ride's concessions are those of the operator's region (issue 13).
    let policies: PolicyBook
    /// The node's own pack (loss lapse period, age tiers of its holders).
    let policy: JurisdictionPolicy
    /// The node's region: a card of another province is not this node's to charge (cross-province rides: federation).
    let region: String
    /// Credentials are verified exactly as at acceptance (signature and expiry of a QR token, a chip's answer).
    let acceptance: AcceptanceService
    let gateway: BankGateway
    let logger: Logger
    /// Tells the background worker there are trips to price or charge.
    let work: WorkSignal

    // MARK: the card's transit function

    /// Loads or removes the card's transit function, with its event (the card's issuer decides; no change, no event).
    func setTransit(_ number: CardNumber, _ transit: Bool, actor: Actor) async throws -> Card {
        let at = clock.now()
        let region = region
        return try await store.write { s in
            guard var card = try await s.cards.find(number, lock: true) else { throw DomainError(.cardNotFound, "no card \(number)") }
            guard card.issuerRegion == region else {
                throw DomainError(.notIssuer, "card \(number) was issued by region \(card.issuerRegion); ask that region's node")
            }
            guard card.status.isLive else {
                throw DomainError.invalidTransition("a card that is \(card.status.rawValue) has no functions to change")
            }
            guard card.transit != transit else { return card }
            card.transit = transit
            try await s.cards.setTransit(number, transit)
            try await s.events.append(CardEvent(at: at, type: transit ? CardHistory.transitLoaded : CardHistory.transitRemoved, actor: actor.name,
                                                channel: actor.channel, reason: nil, cardNumber: number, applicationId: nil))
            return card
        }
    }

    // MARK: operators

    struct OperatorInput: Decodable, Sendable {
        struct Account: Decodable, Sendable { let bankCode: String; let accountNumber: String }
        init(code: String, name: String, regionCode: String, mode: String, account: Account, fareTable: FareTableInput) {
            self.code = code; self.name = name; self.regionCode = regionCode; self.mode = mode; self.account = account; self.fareTable = fareTable
        }
        let code: String
        let name: String
        let regionCode: String
        let mode: String
        let account: Account
        let fareTable: FareTableInput
    }

    /// A fare table as sent: what is wrong with it is the table's problem (`invalid_fare_table`), not the request's form,
    /// since which fields a table needs depends on its `model`.
    struct FareTableInput: Decodable, Sendable {
        let table: Result<FareTable, DomainError>
        init(_ table: FareTable) { self.table = .success(table) }
        init(from decoder: any Decoder) throws {
            do { table = .success(try FareTable(from: decoder)) } catch let e as DecodingError {
                table = .failure(DomainError(.invalidFareTable, Request.problem(for: e).detail))
            }
        }

        /// The table, checked: it can price every trip.
        func checked() throws(DomainError) -> FareTable {
            let t = try table.get()
            do { try t.validate() } catch { throw DomainError(.invalidFareTable, error.detail) }
            return t
        }
    }

    /// Registers an operator with its first fare table (admin), audited.
    func createOperator(_ i: OperatorInput, by actor: String) async throws -> TransitOperator {
        guard TransitOperator.validCode(i.code) else { throw DomainError.invalidField("code", "1 to 40 of A-Z a-z 0-9 - _") }
        try TextRule.check(i.name, "name", max: 100, notBlank: true, oneLine: true)
        let regionCode = try RegionCode(i.regionCode)
        let mode: TransitMode = try parseEnum(i.mode, "mode")
        guard BankSimulator.validAccount(i.account.accountNumber) else { throw DomainError.invalidField("account.accountNumber", "10 to 30 digits") }
        var table = try i.fareTable.checked()
        table.version = 1
        let at = clock.now()
        let op = TransitOperator(code: .init(i.code), name: i.name, regionCode: regionCode.rawValue, mode: mode, bankCode: i.account.bankCode,
                                 accountNumber: i.account.accountNumber, createdAt: at, fares: FareSchedule(versions: [table]))
        do {
            return try await store.write { s in
                guard try await s.banks.find(op.bankCode) != nil else { throw DomainError(.unknownBank, "account.bankCode: no cooperating bank \(op.bankCode)") }
                if try await s.transit.find(operator: op.code) != nil { throw DomainError(.operatorExists, "operator \(op.code) exists") }
                try await s.transit.insert(op, by: actor)
                try await s.audit.append(at: at, actor: actor, action: "transit_operator_created", subject: "operator:\(op.code)", purpose: nil)
                return op
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.operatorExists, "operator \(op.code) exists")
        }
    }

    /// Adds a version of an operator's fare table (admin), audited. Trips already priced keep their version.
    func addFareTable(_ code: String, _ input: FareTableInput, explicitVersion: Bool, by actor: String) async throws -> TransitOperator {
        let table = try input.checked()
        let at = clock.now()
        do {
            return try await store.write { s in
                guard var op = try await s.transit.find(operator: .init(code)) else { throw DomainError(.operatorNotFound, "no operator \(code)") }
                let next = try op.nextVersion(of: table, explicit: explicitVersion)
                try await s.transit.insert(next, operator: op.code, by: actor, at: at)
                try await s.audit.append(at: at, actor: actor, action: "transit_fare_table_added", subject: "operator:\(op.code):v\(next.version)",
                                         purpose: nil)
                op.fares.versions.append(next)
                return op
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.invalidTransition, "another version of this operator's fare table was added at the same time; try again")
        }
    }

    func operators() async throws -> [TransitOperator] {
        try await store.read { try await $0.transit.operators() }
    }

    // MARK: taps

    struct TapInput: Decodable, Sendable {
        let tapId: String
        let at: String
        let `operator`: String
        let station: String?
        let route: String?
        let distanceKm: Double?
        let direction: String
        let credential: AcceptanceController.CredentialInput
    }

    struct TapsResult: Sendable {
        var accepted: Int
        var duplicates: Int
        var rejected: [(tapId: String, reason: String)]
    }

    /// A tap checked for form, with its credential verified as of its time.
    private struct Checked: Sendable {
        var tapId: String
        var at: Date
        var operatorCode: TransitOperator.Code
        var station: String?
        var route: String?
        var distanceKm: Double?
        var direction: TapDirection
        var kind: UseKind
        var verified: VerifiedCredential
        /// Another province's card as its issuer described it at the tap (issue 13: cross-province rides).
        var foreign: (card: Card, state: CardHistory.State, entitlements: [String])? = nil
    }

    /// Records a gate's batch of taps (terminal). The whole batch is checked first — a malformed one is refused and nothing
    /// is recorded — then recorded in one transaction: a tap id recorded before (or twice in the batch) is a duplicate and
    /// never a second charge; each new tap is taken or rejected as of its `at`. Taken taps are then paired and priced.
    func recordTaps(terminal: Identity, _ inputs: [TapInput]) async throws -> TapsResult {
        guard let venueId = terminal.venueId else { throw DomainError.forbidden }
        guard (1...1000).contains(inputs.count) else { throw DomainError.invalidField("taps", "1 to 1000 per upload") }
        let now = clock.now()
        var checked: [Checked] = []
        checked.reserveCapacity(inputs.count)
        for (n, i) in inputs.enumerated() {
            let field = "taps[\(n)]"
            guard (1...100).contains(i.tapId.utf8.count), i.tapId.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw DomainError.invalidField("\(field).tapId", "1 to 100 printable ASCII characters without spaces")
            }
            guard let at = Timestamp.parse(i.at) else { throw DomainError.invalidField("\(field).at", "an RFC 3339 time") }
            guard TransitOperator.validCode(i.operator) else { throw DomainError.invalidField("\(field).operator", "an operator code") }
            let direction: TapDirection = try parseEnum(i.direction, "\(field).direction")
            for (name, value) in [("station", i.station), ("route", i.route)] {
                if let value { try TextRule.check(value, "\(field).\(name)", max: 60, notBlank: true, oneLine: true) }
            }
            if let km = i.distanceKm, !(km.isFinite && (0...1000).contains(km)) { throw DomainError.invalidField("\(field).distanceKm", "0 to 1000") }
            let credential = try AcceptanceController.credential(i.credential)
            let kind: UseKind = if case .qr = credential { .qr } else { .card }
            checked.append(Checked(tapId: i.tapId, at: at, operatorCode: .init(i.operator), station: i.station, route: i.route, distanceKm: i.distanceKm,
                                   direction: direction, kind: kind, verified: acceptance.verify(credential, at: at)))
        }
        // Other provinces' cards and QR codes: their issuers judge them as of the tap (outside the transaction).
        for (n, answer) in try await resolveForeignRiders(inputs, verified: checked.map(\.verified), at: checked.map(\.at)) {
            if let (card, state) = Self.foreignCard(answer, at: checked[n].at) {
                checked[n].verified.cardNumber = card.number
                checked[n].verified.failure = nil
                checked[n].verified.foreignIssuer = card.issuerRegion
                checked[n].foreign = (card, state, answer.entitlements)
            } else {
                var failed = VerifiedCredential.failed(answer.reason.flatMap(DenialCode.init(rawValue:)) ?? .chipAuthFailed, form: checked[n].verified.form)
                failed.foreignIssuer = checked[n].verified.foreignIssuer ?? answer.issuerRegion
                checked[n].verified = failed
            }
        }
        let lapseDays = policy.temporaryLossLapseDays
        let tiers = policy.ageTiers
        let batch = checked
        let (result, touched) = try await store.write { s -> (TapsResult, [TouchedKey]) in
            guard let venue = try await s.venues.find(venueId) else { throw DomainError(.venueNotFound, "the terminal's venue is gone") }
            guard venue.type == .transit else { throw DomainError(.venueNotPermitted, "taps come from terminals of transit venues") }
            var operators: [TransitOperator.Code: TransitOperator] = [:]
            for o in try await s.transit.operators(codes: Array(Set(batch.map(\.operatorCode)))) { operators[o.code] = o }
            if let unknown = batch.first(where: { operators[$0.operatorCode] == nil }) {
                throw DomainError(.unknownOperator, "no operator \(unknown.operatorCode)")
            }
            // Duplicates: recorded before, or repeated within the batch.
            let recorded = try await s.transit.recordedTapIds(batch.map(\.tapId))
            var seen = Set<String>()
            var fresh: [Checked] = []
            var duplicates = 0
            for c in batch {
                if recorded.contains(c.tapId) || !seen.insert(c.tapId).inserted { duplicates += 1 } else { fresh.append(c) }
            }
            // What the judgement needs, loaded in a few queries for the whole batch.
            var cards: [CardNumber: Card] = [:]
            for c in try await s.transit.cards(numbers: Array(Set(fresh.compactMap(\.verified.cardNumber)))) { cards[c.number] = c }
            let events = Dictionary(grouping: try await s.events.list(cardNumbers: Array(cards.keys)), by: { $0.cardNumber! })
            let holders = try await EntitlementSources.load(cards.values.map(\.personId), now: now, in: s)
            let unpaid = try await s.transit.unpaidSince(persons: Array(Set(cards.values.map(\.personId))))
            // A chip's challenge is never taken twice; a QR token passes an operator's gates once each way.
            var challengeAt: [Int] = []
            var challenges: [(UseRecord.ChallengeUse, at: Date)] = []
            for (n, c) in fresh.enumerated() {
                guard let number = c.verified.cardNumber, cards[number] != nil, let hash = c.verified.challengeHash else { continue }
                challengeAt.append(n)
                challenges.append((UseRecord.ChallengeUse(cardNumber: number, challengeHash: hash), c.at))
            }
            let spentChallenges = Set(zip(challengeAt, try await s.uses.markChallengesUsed(challenges)).filter(\.1).map(\.0))
            var passedTokens = try await s.transit.acceptedTokens(jtis: fresh.compactMap { $0.kind == .qr ? $0.verified.jti : nil })

            var taps: [TransitTap] = []
            var rejected: [(tapId: String, reason: String)] = []
            var touched = Set<TouchedKey>()
            for (n, c) in fresh.enumerated() {
                let op = operators[c.operatorCode]!
                let card = c.foreign?.card ?? c.verified.cardNumber.flatMap { cards[$0] }
                let tokenKey = c.verified.jti.map { "\($0)|\(c.operatorCode)|\(c.direction.rawValue)" }
                let replayed = spentChallenges.contains(n) || (c.kind == .qr && tokenKey.map { passedTokens.contains($0) } ?? false)
                let judgement = TapRules.judge(TapFacts(
                    direction: c.direction, at: c.at, station: c.station, distanceKm: c.distanceKm, credential: c.verified, card: card,
                    stateAtTap: c.foreign?.state ?? card.map { CardHistory(card: $0, events: events[$0.number] ?? [], lapseDays: lapseDays).state(at: c.at) },
                    replayed: replayed, table: op.fares.table(at: c.at), unpaidSince: card.flatMap { unpaid[$0.personId] }, receivedAt: now))
                let entitlements: [String] = if judgement.rejection != nil || card == nil { [] }
                    else if let foreign = c.foreign { foreign.entitlements }
                    // This node's card: the holder's entitlements as of the tap (a certificate revoked before it gives none,
                    // whatever a QR token issued earlier still carries; an offline gate's taps are judged so on arrival).
                    else { holders.codes(card!.personId, at: c.at, tiers: tiers) }
                if judgement.rejection == nil, let tokenKey { passedTokens.insert(tokenKey) }
                if let reason = judgement.rejection { rejected.append((c.tapId, reason)) }
                else if let card { touched.insert(TouchedKey(card: card.number, operatorCode: c.operatorCode)) }
                taps.append(TransitTap(
                    id: c.tapId, terminalId: Terminal.ID(terminal.subject), operatorCode: c.operatorCode, station: c.station, route: c.route,
                    distanceKm: c.distanceKm, direction: c.direction, at: c.at, kind: c.kind, cardNumber: card?.number, personId: card?.personId,
                    entitlements: entitlements, rejection: judgement.rejection, lostAtTime: judgement.lostAtTime,
                    jti: c.kind == .qr ? c.verified.jti : nil))
                taps[taps.count - 1].issuerRegion = c.foreign?.card.issuerRegion
            }
            try await s.transit.insert(taps, receivedAt: now)
            return (TapsResult(accepted: taps.count - rejected.count, duplicates: duplicates, rejected: rejected), Array(touched))
        }
        Counter(label: "onecard_transit_taps_total", dimensions: [("outcome", "accepted")]).increment(by: result.accepted)
        Counter(label: "onecard_transit_taps_total", dimensions: [("outcome", "rejected")]).increment(by: result.rejected.count)
        Counter(label: "onecard_transit_taps_total", dimensions: [("outcome", "duplicate")]).increment(by: result.duplicates)
        // Pair and price what the batch closed at once; anything left (a failure here, a trip closed later by time) the
        // background worker does.
        do { _ = try await settle(touched) } catch { logger.warning("transit pairing after an upload failed; the worker retries: \(error)") }
        work.signal()
        return result
    }

    /// A card at an operator: the unit taps are paired in.
    struct TouchedKey: Hashable, Sendable {
        var card: CardNumber
        var operatorCode: TransitOperator.Code
    }

    // MARK: pairing and pricing

    /// Pairs and prices the taps waiting for `keys` (nil: every card with taps in no trip yet made more than a moment
    /// ago). Returns the trips made.
    @discardableResult
    func settle(_ given: [TouchedKey]? = nil) async throws -> Int {
        var keys = given ?? []
        if given == nil {
            // Only taps old enough to be closed by time (the shortest limit of any operator's table in force) are looked at
            // again; an exit waiting for its entry is older still.
            let now = clock.now()
            let operators = try await store.read { s in try await s.transit.operators() }
            let shortest = operators.compactMap { $0.fares.table(at: now).map { $0.maxMinutesInside ?? TripPairing.defaultLimitMinutes } }.min()
                ?? TripPairing.defaultLimitMinutes
            let cutoff = now.addingTimeInterval(-Double(shortest) * 60)
            keys = try await store.read { s in try await s.transit.unpairedKeys(before: cutoff, limit: 5000) }
                .map { TouchedKey(card: $0.card, operatorCode: $0.operator) }
        }
        // A holder's keys stay in one transaction, so that pricing sees each of their trips in time order.
        let cards = Array(Set(keys.map(\.card))).sorted { $0.rawValue < $1.rawValue }
        var made = 0
        for start in stride(from: 0, to: cards.count, by: 500) {
            let chunk = Set(cards[start..<min(start + 500, cards.count)])
            made += try await settle(cards: Array(chunk), keys: Set(keys.filter { chunk.contains($0.card) }))
        }
        if made > 0 { Counter(label: "onecard_transit_trips_total").increment(by: made) }
        return made
    }

    /// Some cards' waiting taps, in one transaction and a handful of statements whatever their number: late taps inside a
    /// closed trip join it (a late tap-out completes a trip closed without one, if it is not charged); the rest are paired
    /// per card and operator; the trips closed are priced in time order, each seeing the ones before, and recorded with
    /// their taps.
    private func settle(cards: [CardNumber], keys: Set<TouchedKey>) async throws -> Int {
        let now = clock.now()
        let random = random
        let policies = policies
        return try await store.write { s -> Int in
            // Another upload or the worker may be pairing the same cards right now: each waits for the other, then sees
            // the taps it put in trips (PostgreSQL; the transaction is SQLite's only writer anyway).
            try await s.transit.holdForPairing(cards: cards)
            func load() async throws -> [TransitTap] {
                try await s.transit.unpairedTaps(cards: cards).filter { t in t.cardNumber.map { keys.contains(TouchedKey(card: $0, operatorCode: t.operatorCode)) } ?? false }
            }
            var taps = try await load()
            guard let first = taps.map(\.at).min(), let last = taps.map(\.at).max() else { return 0 }
            var spans: [TouchedKey: [TripPairing.Span]] = [:]
            for (card, op, span) in try await s.transit.spans(cards: cards, from: first, through: last) {
                spans[TouchedKey(card: card, operatorCode: op), default: []].append(span)
            }
            // A late tap-out completes a trip closed without one that is not charged yet: it is paired again.
            var reopened = false
            for t in taps where t.direction == .out {
                let key = TouchedKey(card: t.cardNumber!, operatorCode: t.operatorCode)
                if let trip = TripPairing.reopened(by: TripPairing.Tap(id: t.id, at: t.at, direction: t.direction), among: spans[key] ?? []),
                   try await s.transit.reopen(trip) {
                    reopened = true
                    spans[key]?.removeAll { $0.tripId == trip }
                }
            }
            if reopened { taps = try await load() }
            var operators: [TransitOperator.Code: TransitOperator] = [:]
            for o in try await s.transit.operators(codes: Array(Set(taps.map(\.operatorCode)))) { operators[o.code] = o }
            var cardsByNumber: [CardNumber: Card] = [:]
            for c in try await s.transit.cards(numbers: cards) { cardsByNumber[c.number] = c }
            for t in taps where t.issuerRegion != nil && cardsByNumber[t.cardNumber!] == nil {
                cardsByNumber[t.cardNumber!] = Self.foreignCard(t.cardNumber!, issuer: t.issuerRegion!, at: t.at)
            }

            // Pair per card and operator; late taps inside a closed trip join it.
            var assignments: [(tapId: String, tripId: String)] = []
            var paired: [(trip: TripPairing.Trip, key: TouchedKey, taps: [String: TransitTap])] = []
            for (key, keyTaps) in Dictionary(grouping: taps, by: { TouchedKey(card: $0.cardNumber!, operatorCode: $0.operatorCode) }) {
                guard let op = operators[key.operatorCode] else { continue }
                var loose: [TripPairing.Tap] = []
                for t in keyTaps {
                    let tap = TripPairing.Tap(id: t.id, at: t.at, direction: t.direction)
                    if let trip = TripPairing.closedTrip(containing: tap, among: spans[key] ?? []) { assignments.append((t.id, trip)) } else { loose.append(tap) }
                }
                let byId = Dictionary(uniqueKeysWithValues: keyTaps.map { ($0.id, $0) })
                for trip in TripPairing.pair(loose, now: now, limitMinutes: { op.fares.table(at: $0)?.maxMinutesInside }).trips {
                    paired.append((trip, key, byId))
                }
            }
            // Price in time order, each trip seeing the holder's trips before it.
            paired.sort { ($0.trip.startedAt, $0.key.operatorCode.rawValue) < ($1.trip.startedAt, $1.key.operatorCode.rawValue) }
            let persons = Array(Set(taps.compactMap(\.personId)))
            var history = TripHistory(try await s.transit.history(persons: persons, since: TripHistory.reachesBack(for: paired.first?.trip.startedAt ?? now)))
            var made: [TransitTrip] = []
            for (trip, key, byId) in paired {
                let entry = trip.entry.flatMap { byId[$0.id] }, exit = trip.exit.flatMap { byId[$0.id] }
                guard let personId = (entry ?? exit)?.personId, let card = cardsByNumber[key.card], let op = operators[key.operatorCode] else { continue }
                var priced = price(trip, entry: entry, exit: exit, card: card, personId: personId, op: op, policies: policies, history: history,
                                   id: random.uuid(), now: now)
                priced.issuerRegion = (entry ?? exit)?.issuerRegion
                history.add(TripHistory.Entry(priced))
                made.append(priced)
                for tap in [entry, exit].compactMap({ $0 }) { assignments.append((tap.id, priced.id)) }
            }
            try await s.transit.insert(made, at: now)
            try await s.transit.assign(assignments)
            // Other provinces' cards: charged by their issuers, sent in this transaction with the trips.
            try await sendForCharging(made, operators: operators, at: now, in: s)
            return made.count
        }
    }

    /// The price of a paired trip: the fare table in force at its start, the operator's discounts with what was paid this
    /// month and the trip before, and the concession of the region where the ride happens with the holder's entitlements
    /// at the time and the free rides used this month.
    private func price(_ paired: TripPairing.Trip, entry: TransitTap?, exit: TransitTap?, card: Card, personId: Person.ID, op: TransitOperator,
                       policies: PolicyBook, history: TripHistory, id: String, now: Date) -> TransitTrip {
        let start = paired.startedAt
        let lost = (entry?.lostAtTime ?? false) || (exit?.lostAtTime ?? false)
        func trip(_ b: FareBreakdown, version: Int, status: TripStatus, reason: String?, grant: ConcessionGrant?) -> TransitTrip {
            TransitTrip(id: id, cardNumber: card.number, personId: personId, operatorCode: op.code, mode: op.mode, regionCode: op.regionCode,
                        entryTapId: entry?.id, exitTapId: exit?.id, entryStation: entry?.station, exitStation: exit?.station,
                        route: entry?.route ?? exit?.route, startedAt: start, endedAt: paired.endedAt, fareVersion: version, breakdown: b,
                        quotaPool: status == .disputed ? nil : grant?.quotaPool, quotaUnits: status == .disputed ? 0 : grant?.quotaUnits ?? 0,
                        status: status, reason: reason, chargedAt: status == .charged ? now : nil)
        }
        guard let table = op.fares.table(at: start) else {
            return trip(.unpriced, version: 0, status: .disputed, reason: TapRejection.noFareTable, grant: nil)
        }
        let entitlements = (entry ?? exit)?.entitlements ?? []
        let grant = TransitConcessions.grant(
            rules: TransitConcessions.rules(forRideIn: op.regionCode, book: policies),
            for: ConcessionFacts(entitlements: entitlements, cardIssuer: card.issuerRegion, rideRegion: op.regionCode, mode: op.mode, startedAt: start,
                                 quotaUsed: history.quotaUsed(personId, month: start)))
        let breakdown: FareBreakdown
        do {
            breakdown = try TripPricing.price(
                paired, mode: op.mode, entryStation: entry?.station, exitStation: exit?.station, measuredKm: exit?.distanceKm, table: table,
                monthToDateFen: history.monthToDate(personId, operator: op.code, before: start),
                previous: history.previous(personId, provincePrefix: String(op.regionCode.prefix(2)), before: start), concession: grant)
        } catch {
            // Taps are checked against the table when they arrive, so this is a table changed since: kept, not charged.
            return trip(.unpriced, version: table.version, status: .disputed, reason: "unpriced: \(error.detail)", grant: nil)
        }
        if lost { return trip(breakdown, version: table.version, status: .disputed, reason: "card_lost_before_tap", grant: grant) }
        return trip(breakdown, version: table.version, status: breakdown.chargedFen == 0 ? .charged : .priced, reason: nil, grant: grant)
    }

    // MARK: charging

    /// Charges what is due, each trip once: a trip is marked `charging` with the account it goes to in a committed
    /// transaction before the bank is called under the trip's debit id, so after a crash it is asked again under the same
    /// id and the bank answers `duplicate` rather than taking it twice. Returns how many trips were sent, and whether
    /// every bank answered.
    @discardableResult
    func chargeDue(limit: Int = 500) async throws -> (sent: Int, reachedAll: Bool) {
        let now = clock.now()
        struct Item: Sendable { var trip: TransitTrip; var bankCode: String; var account: String; var endpoint: String }
        let items = try await store.write { s -> [Item] in
            let due = try await s.transit.due(now: now, missingTapsBefore: now.addingTimeInterval(-TransitCharging.missingTapGrace), limit: limit)
            guard !due.isEmpty else { return [] }
            var banks: [String: Bank] = [:]
            for b in try await s.banks.list() { banks[b.code] = b }
            let live = try await s.transit.liveAccounts(persons: due.filter { $0.status != .charging || $0.accountNumber == nil }.map(\.personId))
            var items: [Item] = []
            var unpaid: [String: [(TransitTrip)]] = [:]
            for trip in due {
                // A debit once sent goes on to the same account under the same id; a new one to the holder's card's account now.
                let destination = trip.status == .charging ? trip.bankCode.flatMap { b in trip.accountNumber.map { (b, $0) } } : nil
                guard let (bankCode, account) = destination ?? live[trip.personId].map({ ($0.bankCode, $0.account) }) else {
                    unpaid["no_account", default: []].append(trip); continue
                }
                guard let endpoint = banks[bankCode]?.endpoint else { unpaid["bank_not_connected", default: []].append(trip); continue }
                items.append(Item(trip: trip, bankCode: bankCode, account: account, endpoint: endpoint))
            }
            for (reason, trips) in unpaid {
                for (attempts, group) in Dictionary(grouping: trips, by: \.attempts) {
                    try await s.transit.settle(group.map(\.id), to: .unpaid, reason: reason, nextAttemptAt: Self.nextAttempt(attempts: attempts, now), at: now)
                }
            }
            try await s.transit.markCharging(items.map { ($0.trip.id, $0.bankCode, $0.account) }, at: now)
            return items
        }
        var reachedAll = true
        for (endpoint, group) in Dictionary(grouping: items, by: \.endpoint) {
            let results: [BankGateway.DebitResult]
            do {
                results = try await gateway.debit(endpoint: endpoint, group.map {
                    BankGateway.Debit(debitId: $0.trip.debitId, account: $0.account, amountFen: Int64($0.trip.breakdown.chargedFen))
                })
            } catch {
                logger.warning("bank unavailable for transit debits; they stay in flight", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                reachedAll = false
                continue
            }
            let byDebit = Dictionary(group.map { ($0.trip.debitId, $0.trip) }, uniquingKeysWith: { a, _ in a })
            let at = clock.now()
            // An answer this node does not know leaves the trip in flight: asked again next time under the same id.
            let charged = results.filter { $0.status == "ok" || $0.status == "duplicate" }.compactMap { byDebit[$0.debitId]?.id }
            let short = results.filter { $0.status == "insufficient_funds" }.compactMap { byDebit[$0.debitId] }
            try await store.write { s in
                try await s.transit.settle(charged, to: .charged, reason: nil, nextAttemptAt: nil, at: at)
                for (attempts, trips) in Dictionary(grouping: short, by: \.attempts) {
                    try await s.transit.settle(trips.map(\.id), to: .unpaid, reason: TapRejection.insufficientFunds,
                                               nextAttemptAt: Self.nextAttempt(attempts: attempts, at), at: at)
                }
            }
            Counter(label: "onecard_transit_debits_total", dimensions: [("outcome", "ok")]).increment(by: results.filter { $0.status != "insufficient_funds" }.count)
        }
        return (items.count, reachedAll)
    }

    /// When a trip that has failed `attempts` times before is asked for again.
    static func nextAttempt(attempts: Int, _ now: Date) -> Date {
        now.addingTimeInterval(TransitCharging.retryDelay(attempts: attempts + 1))
    }

    // MARK: reading

    /// A trip with its operator's name.
    struct TripWithOperator: Sendable {
        var trip: TransitTrip
        var operatorName: String?
    }

    /// The holder's trips, newest first (the API and the page).
    func trips(personId: Person.ID) async throws -> [TripWithOperator] {
        try await store.read { s in
            let trips = try await s.transit.trips(person: personId)
            var names: [TransitOperator.Code: String] = [:]
            for o in try await s.transit.operators(codes: Array(Set(trips.map(\.operatorCode)))) { names[o.code] = o.name }
            // Trips ridden in other provinces, as their riding nodes priced them and this node charged them (issue 13).
            let remote = try await s.transit.remoteTrips(person: personId).compactMap { r -> TripWithOperator? in
                guard let number = try? CardNumber(r.trip.cardNumber), let start = Timestamp.parse(r.trip.startedAt) else { return nil }
                var t = TransitTrip(id: r.trip.tripId, cardNumber: number, personId: r.personId, operatorCode: .init(r.trip.operatorCode),
                                    mode: TransitMode(rawValue: r.trip.mode) ?? .bus, regionCode: r.trip.rideRegion, entryTapId: nil, exitTapId: nil,
                                    entryStation: r.trip.entryStation, exitStation: r.trip.exitStation, route: r.trip.route, startedAt: start,
                                    endedAt: r.trip.endedAt.flatMap(Timestamp.parse), fareVersion: 0, breakdown: r.trip.breakdown, quotaPool: nil,
                                    quotaUnits: 0, status: r.status, attempts: r.attempts, reason: r.reason, chargedAt: r.chargedAt)
                t.serviceDay = CalendarDay(r.trip.serviceDay) ?? t.serviceDay
                return TripWithOperator(trip: t, operatorName: r.trip.operatorName)
            }
            return (trips.map { TripWithOperator(trip: $0, operatorName: names[$0.operatorCode]) } + remote)
                .sorted { $0.trip.startedAt > $1.trip.startedAt }
        }
    }

    /// One operator's clearing for one service day (China Standard Time).
    func clearing(operator code: String, day: CalendarDay) async throws -> TransitClearing {
        try await store.read { s in
            guard let op = try await s.transit.find(operator: .init(code)) else { throw DomainError(.operatorNotFound, "no operator \(code)") }
            return TransitClearing(operatorCode: op.code, day: day, totals: try await s.transit.clearing(operator: op.code, day: day))
        }
    }
}
