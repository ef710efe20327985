import Crypto
import Foundation
import OneCardCore
import OneCardStore

/// The HR&SS electronic file library (GD art. 15; API.md "Entitlements and records"): a department with the `hrss`
/// scope writes a person's records; the holder lists them, each with a proof signed by this node's current key in
/// `/api/v1/trust/jwks`, and countersigns their labour contracts (free to the worker: 电子劳动合同订立指引 art. 6).
///
/// The proof is signed when it is served, not stored: the payload carries the node's time of writing (`iat`) and each
/// signature's time, so it says the same whenever it is signed, and a fresh download always verifies against the JWKS
/// in force even after the key rotated (a retired key leaves the JWKS once its QR tokens lapse).
struct RecordService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let signingKeys: SigningKeyStore
    let region: String
    /// Signs record-share links (`RecordShareLink`).
    let shareKey: SymmetricKey

    struct Input: Sendable {
        var type: HRRecord.Kind
        var title: String
        var issuer: String
        var issuedAt: CalendarDay
        var validUntil: CalendarDay?
        var details: String?
        var employerUscc: String?
        var startsOn: CalendarDay?
        var endsOn: CalendarDay?
    }

    /// A record with its proof.
    struct Signed: Sendable { let record: HRRecord; let proof: String }

    /// Writes a record on a person. For a labour contract the department records the employer's confirmation: the
    /// employer's signature, by its unified social credit code, at the node's time now; the worker signs later.
    func create(personId: Person.ID, _ i: Input, by identity: Identity) async throws -> Signed {
        guard identity.role == .department, identity.scope == .hrss else {
            throw DomainError(.forbidden, "writing a record in the HR&SS file library needs a department user with the hrss scope")
        }
        try HRRecordRules.check(type: i.type, issuedAt: i.issuedAt, validUntil: i.validUntil, employerUscc: i.employerUscc, startsOn: i.startsOn,
                                endsOn: i.endsOn)
        let now = clock.now()
        let contract = i.type == .labourContract
            ? HRRecord.Contract(employerUscc: try UnifiedSocialCreditCode(i.employerUscc ?? "").value, startsOn: i.startsOn!, endsOn: i.endsOn,
                                employerSignedAt: now, employerSignedVia: identity.actor)
            : nil
        let record = HRRecord(id: random.uuid(), personId: personId, type: i.type, title: i.title, issuer: i.issuer, issuedAt: i.issuedAt,
                              validUntil: i.validUntil, details: i.details, contract: contract, recordedBy: identity.actor, recordedAt: now)
        let person = try await store.write { s in
            guard let p = try await s.persons.find(personId) else { throw DomainError(.personNotFound, "no person \(personId)") }
            try await s.records.insert(record)
            try await s.audit.append(at: now, actor: identity.actor, action: "record_written", subject: "person:\(personId)",
                                     purpose: "\(i.type.rawValue) \(record.id)")
            return p
        }
        return Signed(record: record, proof: try sign(record, person))
    }

    /// The holder's records with their proofs, the latest first.
    func mine(personId: Person.ID) async throws -> [Signed] {
        let (person, records) = try await store.read { s in (try await s.persons.find(personId), try await s.records.list(personId: personId)) }
        guard let person else { return [] }
        return try records.map { Signed(record: $0, proof: try sign($0, person)) }
    }

    /// The worker countersigns their labour contract as a holder, at the node's time now (the contract's trusted time);
    /// then it is in effect. Another person's record is not found; a record that is no contract cannot be signed.
    func countersign(_ recordId: String, by identity: Identity) async throws -> Signed {
        guard let personId = identity.personId else { throw DomainError.forbidden }
        let now = clock.now()
        let (record, person) = try await store.write { s in
            guard let r = try await s.records.find(recordId), r.personId == personId, let p = try await s.persons.find(personId) else {
                throw DomainError(.recordNotFound, "no record \(recordId) of yours")
            }
            guard r.type == .labourContract else { throw DomainError(.actionNotApplicable, "only a labour_contract is signed by the worker") }
            guard try await s.records.countersign(recordId, at: now) else {
                throw DomainError(.contractAlreadySigned, "you signed this contract already")
            }
            try await s.audit.append(at: now, actor: identity.actor, action: "contract_countersigned", subject: "person:\(personId)", purpose: recordId)
            var signed = r
            signed.contract?.workerSignedAt = now
            return (signed, p)
        }
        return Signed(record: record, proof: try sign(record, person))
    }

    /// The holder shares one record with a department or an employer: a `record_share` consent naming the grantee (which
    /// the holder may withdraw like any other, ending the link at once) and a link valid for `minutes`. Audited.
    func share(_ recordId: String, grantee: String, minutes: Int, by identity: Identity) async throws -> (RecordShare, String) {
        guard let personId = identity.personId else { throw DomainError.forbidden }
        let now = clock.now()
        let share = RecordShare(id: random.uuid(), recordId: recordId, personId: personId, consentId: random.uuid(), grantee: grantee, createdAt: now,
                                expiresAt: now.addingTimeInterval(Double(minutes) * 60))
        try await store.write { s in
            guard let r = try await s.records.find(recordId), r.personId == personId else {
                throw DomainError(.recordNotFound, "no record \(recordId) of yours")
            }
            try await s.consents.insert(Consent(id: share.consentId, personId: personId, purpose: .recordShare, grantee: grantee, grantedAt: now))
            try await s.records.insertShare(share)
            try await s.audit.append(at: now, actor: identity.actor, action: "record_shared", subject: "person:\(personId)",
                                     purpose: "\(recordId) with \(grantee) until \(Timestamp.format(share.expiresAt))")
        }
        return (share, RecordShareLink.make(shareId: share.id, expiresAt: share.expiresAt, key: shareKey))
    }

    /// Anyone holding a genuine link reads the record and its proof until the link's end, while the holder's consent is
    /// in force; each read is kept and audited on the holder, who sees it.
    func readShared(_ token: String) async throws -> Signed {
        let now = clock.now()
        let shareId: String
        do { shareId = try RecordShareLink.open(token, at: now, key: shareKey) } catch {
            if error == .expired { throw DomainError(.shareLinkExpired, "the link has expired") }
            throw DomainError(.shareLinkInvalid, "not a record-share link of this node")
        }
        let (record, person) = try await store.write { s in
            guard let sh = try await s.records.findShare(shareId), let r = try await s.records.find(sh.recordId),
                  let p = try await s.persons.find(sh.personId) else {
                throw DomainError(.shareLinkInvalid, "the shared record is no longer held")
            }
            guard let c = try await s.consents.find(sh.consentId), c.withdrawnAt == nil else {
                throw DomainError(.shareLinkExpired, "the holder withdrew the consent to share this record")
            }
            try await s.records.recordRead(shareId: shareId, at: now)
            try await s.audit.append(at: now, actor: "public:record-share", action: "record_share_read", subject: "person:\(sh.personId)",
                                     purpose: "\(sh.recordId) by \(sh.grantee)")
            return (r, p)
        }
        return Signed(record: record, proof: try sign(record, person))
    }

    func shares(personId: Person.ID) async throws -> [RecordShare] {
        try await store.read { try await $0.records.shares(personId: personId) }
    }

    private func sign(_ r: HRRecord, _ p: Person) throws -> String {
        try RecordProof.sign(RecordProof.payload(r, iss: region, name: p.name, idNumber: p.idNumber.value), key: signingKeys.ring.current)
    }
}
