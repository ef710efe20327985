import Crypto
import Foundation
import OneCardCore
import OneCardStore

/// Direct settlement of another province's insured person (issue 14, 跨省异地就医直接结算): "就医地目录、参保地政策".
/// The treatment node classifies the bill by its own catalogue and asks the insured node synchronously through the hub
/// (`/federation/v1/forward`, action `medical-settle`); the insured node applies its policy, its filings, the personal
/// account and its year-to-date counters, records the stay once per settlement id, and answers the split; the treatment
/// node records the same record for its hospital and clearing. The settlement id is derived from the hospital's terminal
/// and Idempotency-Key, so a retried request asks the same question and gets the first answer.
///
/// When the hub or the insured node does not answer, the hospital gets 503 `federation_unavailable` and this node records
/// nothing. If the insured node did record the stay and only its answer was lost, the hospital's retry with the same key
/// completes the treatment side with that same record; a stay never completed here shows in the month's reconciliation as
/// an id only the insured node has (`onlyThere`).
extension MedicalService {
    /// Where another province's credential is settled: the card number its issuer holds, or (a QR code) the issuing region.
    struct Insurer: Sendable { var cardNumber: String; var region: String? }

    var federation: FederationService { acceptance.federation }

    /// The issuer of a credential that is not this node's: a QR code signed by another member, or a physical card this
    /// node does not know (its chip key is its issuer's alone). Nil for this node's own, or without a hub.
    func foreignInsurer(_ credential: AcceptanceService.Credential, _ verified: VerifiedCredential) async throws -> Insurer? {
        guard federation.isFederated else { return nil }
        switch credential {
        case .qr:
            return verified.foreignIssuer.map { Insurer(cardNumber: "", region: $0) }
        case .card(let raw, _, _):
            guard verified.failure == .chipAuthFailed, let n = try? CardNumber(raw), try await store.read({ try await $0.cards.find(n) }) == nil else { return nil }
            return Insurer(cardNumber: n.rawValue, region: nil)
        case .partner:
            // Partner codes are taken at venue items only (`POST /api/v1/acceptances`), never for a settlement.
            return nil
        }
    }

    /// The settlement id a hospital's request has at both nodes: the same for every retry with the same key.
    static func crossProvinceId(_ parts: String...) -> String {
        let digest = Array(SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8)))
        let hex = Hex.encode(Data(digest.prefix(16)))
        let c = Array(hex)
        return [c[0..<8], c[8..<12], c[12..<16], c[16..<20], c[20..<32]].map { String($0) }.joined(separator: "-")
    }

    /// A record this node keeps for its hospital of a settlement the insured place made: the person is the insured place's.
    static func isSettledElsewhere(_ r: MedicalSettlementRecord) -> Bool { r.personId.rawValue.hasPrefix(insuredElsewherePrefix) }
    static let insuredElsewherePrefix = "insured:"

    static func credentialBody(_ credential: AcceptanceService.Credential) -> [String: String] {
        switch credential {
        case .qr(let token): ["kind": "qr", "token": token]
        case let .card(number, challenge, response):
            ["kind": "card", "cardNumber": number, "challenge": challenge.base64EncodedString(), "response": response.base64EncodedString()]
        case let .partner(issuer, token): ["kind": "partner_qr", "issuer": issuer, "token": token]
        }
    }

    /// The insured place's refusal as this node's own answer: the codes the settlement documents pass, anything else is
    /// the federation failing.
    static let passedOnSettling: [DomainError.Code] = [.credentialRefused, .notInsured, .medicalPolicyNotFound, .billTooLarge, .federationUnavailable]
    static let passedOnReversing: [DomainError.Code] = [.settlementNotFound, .alreadyReversed, .invalidTransition, .federationUnavailable]

    static func passedOn(_ answer: SignedAnswer, _ passed: [DomainError.Code]) -> DomainError {
        struct P: Decodable { var code: String?; var detail: String?; var reason: String? }
        let p = try? JSONDecoder().decode(P.self, from: answer.body)
        guard let code = passed.first(where: { $0.rawValue == p?.code }) else {
            if answer.status == 404, passed.contains(.credentialRefused) { return DomainError(.credentialRefused, "no province knows this card", extensions: ["reason": DenialCode.chipAuthFailed.rawValue]) }
            return DomainError(.federationUnavailable, "the insured place answered \(answer.status) \(p?.code ?? "")")
        }
        var e = DomainError(code, "the insured place: \(p?.detail ?? "")")
        if let reason = p?.reason { e.extensions["reason"] = reason }
        return e
    }

    func settleElsewhere(terminal: Identity, terminalId: Terminal.ID, venueId: Venue.ID, key: String, insurer: Insurer, _ input: SettlementInput,
                         at now: Date) async throws -> MedicalSettlementRecord {
        let (venue, catalogue) = try await store.read { s in
            guard let venue = try await s.venues.find(venueId) else { throw DomainError(.venueNotFound, "the terminal's venue is gone") }
            guard venue.type == .hospital else { throw DomainError(.venueNotPermitted, "medical settlement is for a hospital's terminal") }
            return (venue, try await Self.catalogue(for: input.lines, treatmentRegion: venue.regionCode, in: s))
        }
        guard input.lines.count <= MedicalSettlementRules.maximumLines else { throw DomainError(.billTooLarge, "at most \(MedicalSettlementRules.maximumLines) lines") }
        let id = Self.crossProvinceId("settle", federation.region, terminalId.rawValue, key)
        let question = Federation.MedicalForward(settlementId: id, at: Timestamp.format(now), treatmentRegion: venue.regionCode, venueName: venue.name,
                                                 care: input.care, hospitalLevel: input.hospitalLevel, emergency: input.emergency, lines: input.lines,
                                                 catalogueVersion: catalogue.version, catalogue: catalogue.items.values.sorted { $0.code < $1.code })
        let answer = try await federation.forward(.init(cardNumber: insurer.cardNumber, region: insurer.region, action: .medicalSettle,
                                                        body: Self.credentialBody(input.credential), actor: terminal.actor, channel: "venue", medical: question))
        guard answer.status == 200 || answer.status == 201 else { throw Self.passedOn(answer, Self.passedOnSettling) }
        var record = try answer.decode(MedicalSettlementRecord.self)
        guard record.settlementId == id, record.reverses == nil,
              RegionTable.province(of: record.treatmentRegion) == RegionTable.province(of: venue.regionCode) else {
            throw DomainError(.federationUnavailable, "the insured place answered another settlement")
        }
        // The insured place's person id means nothing here; the record says which province insures them.
        record.personId = Person.ID(Self.insuredElsewherePrefix + record.insuredRegion)
        let stored = record
        do {
            return try await store.write { s in
                if let earlier = try await s.medical.settlement(terminalId: terminalId, idempotencyKey: key) { return earlier.record }
                try await s.medical.insertSettlement(StoredMedicalSettlement(record: stored, terminalId: terminalId, idempotencyKey: key, venueId: venue.id,
                                                                             settlementYear: CalendarDay(now).year, at: now))
                try await s.audit.append(at: now, actor: terminal.actor, action: "medical_settled_elsewhere", subject: "medical_settlement:\(id)",
                                         purpose: "insured in \(stored.insuredRegion), at \(venue.name): \(stored.split.filing.rawValue)")
                return stored
            }
        } catch where Store.isUniqueViolation(error) {
            if let earlier = try await store.read({ try await $0.medical.settlement(terminalId: terminalId, idempotencyKey: key) }) { return earlier.record }
            throw error
        }
    }

    func reverseElsewhere(terminal: Identity, original: StoredMedicalSettlement, at now: Date) async throws -> MedicalSettlementRecord {
        let settlementId = original.record.settlementId
        guard try await store.read({ try await $0.medical.reversal(of: settlementId) }) == nil else {
            throw DomainError(.alreadyReversed, "settlement \(settlementId) is already reversed")
        }
        let venueName = try await store.read { try await $0.venues.find(original.venueId)?.name } ?? original.venueId.rawValue
        let reversalId = Self.crossProvinceId("reverse", federation.region, settlementId)
        let question = Federation.MedicalForward(settlementId: reversalId, reverses: settlementId, at: Timestamp.format(now),
                                                 treatmentRegion: original.record.treatmentRegion, venueName: venueName)
        let answer = try await federation.forward(.init(cardNumber: "", region: RegionTable.province(of: original.record.insuredRegion), action: .medicalReverse,
                                                        body: [:], actor: terminal.actor, channel: "venue", medical: question))
        guard answer.status == 200 || answer.status == 201 else { throw Self.passedOn(answer, Self.passedOnReversing) }
        var record = try answer.decode(MedicalSettlementRecord.self)
        guard record.settlementId == reversalId, record.reverses == settlementId else {
            throw DomainError(.federationUnavailable, "the insured place answered another reversal")
        }
        record.personId = original.record.personId
        let stored = record
        do {
            return try await store.write { s in
                try await s.medical.insertSettlement(StoredMedicalSettlement(record: stored, terminalId: Terminal.ID(terminal.subject),
                                                                             idempotencyKey: Self.reversalKey(settlementId), venueId: original.venueId,
                                                                             settlementYear: original.settlementYear, at: now))
                try await s.audit.append(at: now, actor: terminal.actor, action: "medical_settlement_reversed_elsewhere", subject: "medical_settlement:\(settlementId)",
                                         purpose: "reversed by \(reversalId) at the insured place \(stored.insuredRegion)")
                return stored
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.alreadyReversed, "settlement \(settlementId) is already reversed")
        }
    }

    // MARK: as the insured place

    /// The question a treatment node asked through the hub, checked: the treatment province must be the one the hub
    /// authenticated (it appends the signer to the actor), and the time near this node's.
    private func checked(_ f: Federation.Forwarded, now: Date) throws -> (Federation.MedicalForward, Date, String) {
        guard let m = f.medical, !m.settlementId.isEmpty, m.settlementId.count <= 100, (try? RegionCode(m.treatmentRegion)) != nil,
              !m.venueName.isEmpty, let at = Timestamp.parse(m.at), abs(at.timeIntervalSince(now)) <= 600 else {
            throw DomainError(.invalidMessage, "medical: settlementId, at (within 10 minutes), treatmentRegion and venueName")
        }
        let province = RegionTable.province(of: m.treatmentRegion)
        guard f.actor.hasSuffix("(\(province))"), province != RegionTable.province(of: federation.region) else {
            throw DomainError(.invalidMessage, "medical: the treatment region is the sending member's, another province")
        }
        return (m, at, province)
    }

    /// As the insured place: settles a bill another province's hospital presented, once per settlement id.
    func answerSettlement(_ f: Federation.Forwarded) async throws -> MedicalSettlementRecord {
        let now = clock.now()
        let (m, at, province) = try checked(f, now: now)
        guard let care = m.care, let level = m.hospitalLevel, let emergency = m.emergency, let lines = m.lines, let items = m.catalogue else {
            throw DomainError(.invalidMessage, "medical: care, hospitalLevel, emergency, lines and catalogue")
        }
        let credential = try AcceptanceService.parse(kind: f.body["kind"] ?? "", token: f.body["token"], cardNumber: f.cardNumber.isEmpty ? nil : f.cardNumber,
                                                     challenge: f.body["challenge"], response: f.body["response"])
        let verified = acceptance.verify(credential, at: now)
        let terminalId = Terminal.ID(FederationService.reportedTerminalPrefix + province)
        let venueId = Venue.ID(String("\(m.treatmentRegion):\(m.venueName)".prefix(200)))
        let catalogue = MedicalCatalogue(treatmentRegion: m.treatmentRegion, version: m.catalogueVersion ?? 0, items: items)
        let input = SettlementInput(credential: credential, care: care, hospitalLevel: level, emergency: emergency, lines: lines)
        let presets = presets
        do {
            return try await store.write { s in
                if let earlier = try await s.medical.settlement(terminalId: terminalId, idempotencyKey: m.settlementId) { return earlier.record }
                let (card, denial) = try await AcceptanceService.presented(verified, tokenUse: (venueId, Self.settlementItemCode), at: now, in: s)
                return try await Self.settleInsured(InsuredBill(card: card, denial: denial, catalogue: catalogue, input: input, id: m.settlementId,
                                                                terminalId: terminalId, key: m.settlementId, venueId: venueId,
                                                                venueName: "\(m.venueName) (\(province))", actor: f.actor, at: at), presets: presets, in: s)
            }
        } catch where Store.isUniqueViolation(error) {
            if let earlier = try await store.read({ try await $0.medical.settlement(terminalId: terminalId, idempotencyKey: m.settlementId) }) { return earlier.record }
            throw error
        }
    }

    /// As the insured place: reverses a settlement it made for the asking province, once (a retry of the same reversal
    /// id answers the reversal made).
    func answerReversal(_ f: Federation.Forwarded) async throws -> MedicalSettlementRecord {
        let now = clock.now()
        let (m, at, province) = try checked(f, now: now)
        guard let original = m.reverses else { throw DomainError(.invalidMessage, "medical.reverses: the settlement reversed") }
        let terminalId = Terminal.ID(FederationService.reportedTerminalPrefix + province)
        do {
            return try await store.write { s in
                guard let stored = try await s.medical.settlement(original), stored.terminalId == terminalId else {
                    throw DomainError(.settlementNotFound, "no settlement \(original) made for \(province)")
                }
                if let earlier = try await s.medical.reversal(of: original) {
                    guard earlier.record.settlementId == m.settlementId else { throw DomainError(.alreadyReversed, "settlement \(original) is already reversed") }
                    return earlier.record
                }
                return try await Self.reverseRecord(original, reversalId: m.settlementId, terminalId: terminalId, venueId: stored.venueId,
                                                    actor: f.actor, at: at, in: s)
            }
        } catch where Store.isUniqueViolation(error) {
            if let earlier = try await store.read({ try await $0.medical.reversal(of: original) }), earlier.record.settlementId == m.settlementId {
                return earlier.record
            }
            throw DomainError(.alreadyReversed, "settlement \(original) is already reversed")
        }
    }

    // MARK: statements and reconciliation

    /// Sends this node's statement of a month to every province it shares settlements with (through the hub's outbox,
    /// delivered until acknowledged). Answers the provinces written to.
    func sendStatements(month: String, by actor: String) async throws -> [String] {
        guard federation.isFederated else { throw DomainError(.notFederated, "this node has joined no hub") }
        do { _ = try MedicalClearing.clear(month: month, records: []) } catch { throw DomainError(.invalidValue, "month: YYYY-MM from 2000-01") }
        let fed = federation, region = fed.region, at = clock.now()
        return try await store.write { s in
            let records = try await s.medical.crossProvinceRecords(month: month)
            let counterparts = MedicalStatement.counterparts(region: region, records: records)
            for other in counterparts {
                let statement = try MedicalStatement.make(month: month, region: region, counterpart: other, records: records)
                try await fed.enqueue(.medicalStatement, to: other, payload: .init(medicalStatement: statement), at: at, in: s)
            }
            try await s.audit.append(at: at, actor: actor, action: "medical_statements_sent", subject: "medical_clearing:\(month)",
                                     purpose: counterparts.joined(separator: ","))
            return counterparts
        }
    }

    /// Compares another province's statement with this node's record of the same month and pairs, and keeps the result.
    static func reconcile(_ theirs: MedicalStatement, region: String, at: Date, in s: StoreSession) async throws {
        let records = try await s.medical.crossProvinceRecords(month: theirs.month)
        let ours: MedicalStatement
        do { ours = try MedicalStatement.make(month: theirs.month, region: region, counterpart: theirs.region, records: records) } catch {
            throw DomainError(.invalidMessage, "payload.medicalStatement.month: YYYY-MM")
        }
        try await s.medical.saveReconciliation(MedicalReconciliation.reconcile(ours: ours, theirs: theirs), statement: theirs, at: at)
    }

    func reconciliations(month: String) async throws -> [(MedicalReconciliation, Date)] {
        do { _ = try MedicalClearing.clear(month: month, records: []) } catch { throw DomainError(.invalidValue, "month: YYYY-MM from 2000-01") }
        return try await store.read { try await $0.medical.reconciliations(month: month) }
    }
}
