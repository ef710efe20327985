import Foundation
import Logging
import Metrics
import OneCardCore
import OneCardStore

/// Transit across provinces (issue 13; JJJ art. 12: cards with the transit function ride buses and rail across the
/// three): a card of another province riding here is judged by its issuer (who alone can check its chip or open its QR
/// code's pseudonym), priced here by this region's fares and concessions (the venue region's policy), and charged by its
/// issuer through the holder's account (`transit_charge` → `transit_result`, once per trip id); each node computes its
/// side of the daily inter-region statement and sends it to the other (`transit_statement`).
///
/// Rules chosen where the sources are silent:
/// - A tap of another province's credential is resolved with its issuer when the batch arrives (`transit-rider`, through
///   the hub); when the issuer cannot be asked, the whole batch is refused `federation_unavailable` (503) and nothing is
///   recorded: the gate keeps its journal and uploads again, so no tap is lost and none is doubled.
/// - The issuer answers with the card number (the riding node pairs taps by it, as it does for its own cards), the card's
///   status and transit function as of the tap, and its entitlements then; a lost card's trip is disputed, not charged.
/// - A trip of another province's card is sent to its issuer when priced and never taken back (a late tap-out joins it).
extension TransitService {
    var federation: FederationService { acceptance.federation }

    /// The issuer's answer about a transit tap of one of its cards or QR codes elsewhere.
    struct RiderAnswer: Codable, Sendable, Equatable {
        var valid: Bool
        var reason: String?
        var cardNumber: String?
        var issuerRegion: String?
        var status: String?
        var transit: Bool?
        var entitlements: [String]
    }

    // MARK: as the riding node

    /// Asks the issuers of the other provinces' credentials among `inputs` (taps not recorded before) how each card stood
    /// at its tap; returns the answers by index into `inputs`.
    func resolveForeignRiders(_ inputs: [TapInput], verified: [VerifiedCredential], at times: [Date]) async throws -> [Int: RiderAnswer] {
        guard federation.isFederated else { return [:] }
        var candidates: [Int] = []
        for (n, v) in verified.enumerated() {
            if v.foreignIssuer != nil, v.failure == nil, inputs[n].credential.kind == "qr" { candidates.append(n) }
            if v.failure == .chipAuthFailed, inputs[n].credential.kind == "card" { candidates.append(n) }
        }
        guard !candidates.isEmpty else { return [:] }
        let tapIds = candidates.map { inputs[$0].tapId }
        let numbers = candidates.compactMap { inputs[$0].credential.cardNumber.flatMap { try? CardNumber($0) } }
        let (recorded, local) = try await store.read { s in
            (try await s.transit.recordedTapIds(tapIds), Set(try await s.transit.cards(numbers: numbers).map(\.number.rawValue)))
        }
        var answers: [Int: RiderAnswer] = [:]
        for n in candidates where !recorded.contains(inputs[n].tapId) {
            let c = inputs[n].credential
            // A wrong chip answer from one of this node's own cards is simply wrong.
            if c.kind == "card", let number = c.cardNumber, local.contains(number) { continue }
            var body = ["kind": c.kind, "at": Timestamp.formatMillis(times[n]), "region": region]
            if let t = c.token { body["token"] = t }
            if let ch = c.challenge { body["challenge"] = ch }
            if let r = c.response { body["response"] = r }
            let answer = try await federation.forward(.init(cardNumber: c.kind == "card" ? c.cardNumber ?? "" : "", region: verified[n].foreignIssuer,
                                                            action: .transitRider, body: body, actor: "terminal", channel: "transit"))
            switch answer.status {
            case 200: answers[n] = try answer.decode(RiderAnswer.self)
            case 404: answers[n] = RiderAnswer(valid: false, reason: (c.kind == "card" ? DenialCode.chipAuthFailed : .tokenInvalid).rawValue, entitlements: [])
            default:
                throw answer.problem.code == .federationUnavailable ? answer.problem
                    : DomainError(.federationUnavailable, "the card's issuer answered \(answer.status); upload the taps again later")
            }
        }
        return answers
    }

    /// A card of another province as its issuer described it: what the tap's judgement and the trip's pricing look at.
    static func foreignCard(_ a: RiderAnswer, at: Date) -> (Card, CardHistory.State)? {
        guard a.valid, let raw = a.cardNumber, let number = try? CardNumber(raw), let issuer = a.issuerRegion, RegionCode.isProvinceCode(issuer) else { return nil }
        let card = foreignCard(number, issuer: issuer, at: at)
        return (card, CardHistory.State(status: a.status.flatMap(CardStatus.init(rawValue:)), transit: a.transit ?? false))
    }

    /// A stand-in for another province's card: its number, issuer and a person id of this node's own making.
    static func foreignCard(_ number: CardNumber, issuer: String, at: Date) -> Card {
        Card(number: number, identificationCode: "", personId: Person.ID("foreign:\(issuer):\(number.rawValue)"), applicationId: nil,
             issuerRegion: issuer, status: .active, transit: true, financial: false, bankCode: nil, accountNumber: nil, pinHash: nil, issuedAt: at,
             expiresAt: at)
    }

    /// Sends each priced trip of another province's card to its issuer, in the caller's transaction (`transit_charge`).
    func sendForCharging(_ trips: [TransitTrip], operators: [TransitOperator.Code: TransitOperator], at now: Date, in s: StoreSession) async throws {
        for t in trips where t.issuerRegion != nil && t.status != .disputed {
            let remote = TransitRemoteTrip(
                tripId: t.id, cardNumber: t.cardNumber.rawValue, rideRegion: t.regionCode, operatorCode: t.operatorCode.rawValue,
                operatorName: operators[t.operatorCode]?.name ?? t.operatorCode.rawValue, mode: t.mode.rawValue, entryStation: t.entryStation,
                exitStation: t.exitStation, route: t.route, startedAt: Timestamp.formatMillis(t.startedAt), endedAt: t.endedAt.map(Timestamp.formatMillis),
                serviceDay: t.serviceDay.description, breakdown: t.breakdown)
            try await federation.enqueue(.transitCharge, id: "transit-charge-\(t.id)", to: t.issuerRegion, payload: .init(transitTrip: remote), at: now, in: s)
        }
    }

    /// The issuer's outcome for a trip of its card ridden here (message `transit_result`), in the receiving transaction.
    static func receiveResult(_ r: TransitChargeResult, from issuer: String, at: Date, in s: StoreSession) async throws {
        guard let status = r.tripStatus else { throw DomainError(.invalidMessage, "payload.transitResult.status: charged, unpaid or refused") }
        _ = try await s.transit.settleRemote(tripId: r.tripId, issuer: issuer, to: status, reason: r.reason, at: at)
    }

    // MARK: as the issuer

    /// As a card's issuer: a transit tap of its card or QR code at another province's gate, judged as of the tap — the
    /// credential (a chip's challenge is spent here, so it is never taken twice anywhere), how the card stood then, and the
    /// entitlements the riding region's concessions look at.
    func answerTransitRider(_ body: [String: String], cardNumber: String) async throws -> RiderAnswer {
        guard let at = body["at"].flatMap(Timestamp.parse), let rideRegion = body["region"], (try? RegionCode(rideRegion)) != nil else {
            throw DomainError(.invalidMessage, "a transit tap names its time (at) and the riding region")
        }
        let credential = try AcceptanceService.parse(kind: body["kind"] ?? "", token: body["token"], cardNumber: cardNumber.isEmpty ? nil : cardNumber,
                                                     challenge: body["challenge"], response: body["response"])
        let verified = acceptance.verify(credential, at: at)
        guard verified.failure == nil, let number = verified.cardNumber else {
            return RiderAnswer(valid: false, reason: (verified.failure ?? .tokenInvalid).rawValue, entitlements: [])
        }
        let now = clock.now()
        let lapse = policy.temporaryLossLapseDays
        let tiers = policy.ageTiers
        return try await store.write { s in
            guard let card = try await s.cards.find(number) else { return RiderAnswer(valid: false, reason: DenialCode.chipAuthFailed.rawValue, entitlements: []) }
            if let hash = verified.challengeHash, try await !s.uses.markChallengeUsed(cardNumber: number, challengeHash: hash, at: now) {
                return RiderAnswer(valid: false, reason: DenialCode.tokenReplayed.rawValue, entitlements: [])
            }
            let state = CardHistory(card: card, events: try await s.events.list(cardNumbers: [number]), lapseDays: lapse).state(at: at)
            // As of the tap, from the holder's age and certificates (one rule with this node's own venues and gates).
            let entitlements = try await EntitlementSources.load([card.personId], now: now, in: s).codes(card.personId, at: at, tiers: tiers)
            try await s.audit.append(at: now, actor: "federation:\(rideRegion)", action: "transit_rider_checked", subject: "card:\(number.hash)",
                                     purpose: "transit tap in \(rideRegion)")
            return RiderAnswer(valid: true, reason: nil, cardNumber: number.rawValue, issuerRegion: card.issuerRegion, status: state.status?.rawValue,
                               transit: state.transit, entitlements: entitlements)
        }
    }

    /// A trip of this node's card ridden elsewhere (message `transit_charge`), in the receiving transaction: recorded once
    /// per trip id, to be charged by the worker; a free ride is settled at once; a card not this node's is refused.
    static func receiveCharge(_ t: TransitRemoteTrip, from rideRegion: String, region: String, federation: FederationService, at: Date,
                              in s: StoreSession) async throws {
        if let problem = t.problem { throw DomainError(.invalidMessage, "payload.transitTrip: \(problem)") }
        guard t.rideRegion == rideRegion else { throw DomainError(.invalidMessage, "payload.transitTrip.rideRegion: the sender's region") }
        if try await s.transit.findRemote(t.tripId) != nil { return }
        guard let number = try? CardNumber(t.cardNumber), let card = try await s.cards.find(number), card.issuerRegion == region else {
            try await federation.enqueue(.transitResult, id: "transit-result-\(t.tripId)-refused", to: rideRegion,
                                         payload: .init(transitResult: .init(tripId: t.tripId, status: "refused", chargedFen: 0, reason: "card_not_found")),
                                         at: at, in: s)
            return
        }
        let free = t.breakdown.chargedFen == 0
        _ = try await s.transit.insertRemote(StoredRemoteTrip(trip: t, personId: card.personId, status: free ? .charged : .priced,
                                                              chargedAt: free ? at : nil), at: at)
        if free {
            try await federation.enqueue(.transitResult, id: "transit-result-\(t.tripId)-charged", to: rideRegion,
                                         payload: .init(transitResult: .init(tripId: t.tripId, status: "charged", chargedFen: 0, reason: nil)), at: at, in: s)
        }
    }

    /// Charges this node's cards' trips ridden elsewhere, each once under its debit id (marked `charging` with its account
    /// before the bank is called, as for trips here), and reports each outcome to the riding node in the same transaction
    /// as it is recorded.
    @discardableResult
    func chargeRemoteDue(limit: Int = 500) async throws -> Int {
        let now = clock.now()
        struct Item: Sendable { var trip: StoredRemoteTrip; var bankCode: String; var account: String; var endpoint: String }
        let federation = federation
        let items = try await store.write { s -> [Item] in
            let due = try await s.transit.remoteDue(now: now, limit: limit)
            guard !due.isEmpty else { return [] }
            var banks: [String: Bank] = [:]
            for b in try await s.banks.list() { banks[b.code] = b }
            let live = try await s.transit.liveAccounts(persons: due.map(\.personId))
            var items: [Item] = []
            for trip in due {
                let destination = trip.status == .charging ? trip.bankCode.flatMap { b in trip.accountNumber.map { (b, $0) } } : nil
                guard let (bankCode, account) = destination ?? live[trip.personId].map({ ($0.bankCode, $0.account) }),
                      let endpoint = banks[bankCode]?.endpoint else {
                    let changed = try await s.transit.settleRemoteCharge([trip.trip.tripId], to: .unpaid, reason: "no_account",
                                                                         nextAttemptAt: Self.nextAttempt(attempts: trip.attempts, now), at: now)
                    if trip.status != .unpaid { try await Self.report(changed, status: "unpaid", reason: "no_account", of: [trip], federation, at: now, in: s) }
                    continue
                }
                items.append(Item(trip: trip, bankCode: bankCode, account: account, endpoint: endpoint))
            }
            try await s.transit.markRemoteCharging(items.map { ($0.trip.trip.tripId, $0.bankCode, $0.account) }, at: now)
            return items
        }
        for (endpoint, group) in Dictionary(grouping: items, by: \.endpoint) {
            let results: [BankGateway.DebitResult]
            do {
                results = try await gateway.debit(endpoint: endpoint, group.map {
                    BankGateway.Debit(debitId: $0.trip.debitId, account: $0.account, amountFen: Int64($0.trip.trip.breakdown.chargedFen))
                })
            } catch {
                logger.warning("bank unavailable for debits of trips ridden elsewhere; they stay in flight", metadata: ["error": "\(error)"])
                continue
            }
            let byDebit = Dictionary(group.map { ($0.trip.debitId, $0.trip) }, uniquingKeysWith: { a, _ in a })
            let charged = results.filter { $0.status == "ok" || $0.status == "duplicate" }.compactMap { byDebit[$0.debitId] }
            let short = results.filter { $0.status == "insufficient_funds" }.compactMap { byDebit[$0.debitId] }
            let at = clock.now()
            try await store.write { s in
                let done = try await s.transit.settleRemoteCharge(charged.map(\.trip.tripId), to: .charged, reason: nil, nextAttemptAt: nil, at: at)
                try await Self.report(done, status: "charged", reason: nil, of: charged, federation, at: at, in: s)
                for trip in short {
                    let changed = try await s.transit.settleRemoteCharge([trip.trip.tripId], to: .unpaid, reason: TapRejection.insufficientFunds,
                                                                         nextAttemptAt: Self.nextAttempt(attempts: trip.attempts, at), at: at)
                    // Reported once when it becomes unpaid (retries change nothing the riding node shows), again when charged.
                    if trip.status != .unpaid {
                        try await Self.report(changed, status: "unpaid", reason: TapRejection.insufficientFunds, of: [trip], federation, at: at, in: s)
                    }
                }
            }
        }
        return items.count
    }

    private static func report(_ changed: [String], status: String, reason: String?, of trips: [StoredRemoteTrip], _ federation: FederationService,
                               at: Date, in s: StoreSession) async throws {
        let byId = Dictionary(trips.map { ($0.trip.tripId, $0) }, uniquingKeysWith: { a, _ in a })
        for id in changed {
            guard let t = byId[id] else { continue }
            try await federation.enqueue(.transitResult, id: "transit-result-\(id)-\(status)", to: t.trip.rideRegion,
                                         payload: .init(transitResult: .init(tripId: id, status: status,
                                                                             chargedFen: status == "charged" ? Int64(t.trip.breakdown.chargedFen) : 0,
                                                                             reason: reason)), at: at, in: s)
        }
    }

    // MARK: the inter-region statement

    /// Both directions between this node and `counterpart` on `day`: this node's side computed now, the counterpart's as
    /// last received, and their difference.
    func interRegion(day: CalendarDay, counterpart: String) async throws -> (ours: InterRegionStatement.Side, theirs: InterRegionStatement.Side?,
                                                                            lines: [InterRegionStatement.Line]) {
        let code = try RegionCode(counterpart).rawValue
        guard RegionCode.isProvinceCode(code), code != region else { throw DomainError(.invalidRegionCode, "region: another province's code, such as 120000 (not this node's own, nor a city)") }
        let region = region
        let at = clock.now()
        return try await store.read { s in
            let ours = InterRegionStatement.Side(day: day.description, region: region, counterpart: code,
                                                 ridesHere: try await s.transit.ridesHere(issuer: code, day: day, rideRegion: region),
                                                 ridesThere: try await s.transit.ridesThere(rideRegion: code, day: day, issuer: region),
                                                 computedAt: Timestamp.formatMillis(at))
            let theirs = try await s.transit.statementSide(from: code, day: day)
            return (ours, theirs, InterRegionStatement.reconcile(ours: ours, theirs: theirs))
        }
    }

    /// Computes this node's side for `day` and sends it to the counterpart through the hub (admin), audited.
    func sendStatement(day: CalendarDay, counterpart: String, by actor: String) async throws -> InterRegionStatement.Side {
        guard federation.isFederated else { throw DomainError(.notFederated, "the statement goes through the national hub; this node has joined none") }
        let side = try await interRegion(day: day, counterpart: counterpart).ours
        let at = clock.now()
        try await store.write { s in
            try await federation.enqueue(.transitStatement, id: "transit-statement-\(side.day)-\(Int64(at.timeIntervalSince1970 * 1000))", to: side.counterpart,
                                         payload: .init(transitStatement: side), at: at, in: s)
            try await s.audit.append(at: at, actor: actor, action: "transit_statement_sent", subject: "region:\(side.counterpart):\(side.day)", purpose: nil)
        }
        return side
    }

    /// The counterpart's side (message `transit_statement`), in the receiving transaction: kept if it is about this node.
    static func receiveStatement(_ side: InterRegionStatement.Side, from sender: String, region: String, messageId: String, at: Date,
                                 in s: StoreSession) async throws {
        guard side.region == sender, side.counterpart == region, CalendarDay(side.day) != nil,
              side.ridesHere.rideRegion == sender, side.ridesThere.issuerRegion == sender else {
            throw DomainError(.invalidMessage, "payload.transitStatement: the sender's side of a day with this region")
        }
        if let earlier = try await s.transit.statementSide(from: sender, day: CalendarDay(side.day)!), earlier.computedAt > side.computedAt { return }
        try await s.transit.keepStatementSide(side, messageId: messageId, at: at)
    }
}
