import Crypto
import Foundation

/// A record in the HR&SS electronic file library (人力资源社会保障电子文件库, GD art. 15): employment and unemployment
/// registration, vocational training and skill evaluation, professional titles and qualifications, and electronic labour
/// contracts. A department with the `hrss` scope writes it; the node signs it (`RecordProof`) so anyone can verify it
/// offline against the published JWKS.
public struct HRRecord: Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case employment, unemployment, training, skill, title
        case labourContract = "labour_contract"
    }

    /// The terms and the two parties' signatures of an electronic labour contract (电子劳动合同订立指引, 人社厅发〔2021〕54号):
    /// it takes effect when both parties have signed, under a trusted time. The employer signs by its unified social credit
    /// code, its confirmation recorded by the HR&SS department that writes the record (the department's user and the
    /// node's time are the employer's signature's evidence); the worker countersigns as a holder, in their own session.
    public struct Contract: Sendable, Equatable {
        public var employerUscc: String
        public var startsOn: CalendarDay
        /// Nil: an open-ended contract (无固定期限).
        public var endsOn: CalendarDay?
        /// When the node recorded the employer's confirmation (the trusted time of the employer's signature).
        public var employerSignedAt: Date
        /// The department user who recorded it.
        public var employerSignedVia: String
        /// When the worker countersigned (the trusted time of the worker's signature); nil while awaiting it.
        public var workerSignedAt: Date?

        public init(employerUscc: String, startsOn: CalendarDay, endsOn: CalendarDay?, employerSignedAt: Date, employerSignedVia: String,
                    workerSignedAt: Date? = nil) {
            self.employerUscc = employerUscc; self.startsOn = startsOn; self.endsOn = endsOn; self.employerSignedAt = employerSignedAt
            self.employerSignedVia = employerSignedVia; self.workerSignedAt = workerSignedAt
        }

        /// In effect only once both parties have signed (指引: both reliable e-signatures and a trusted timestamp).
        public var signedByBoth: Bool { workerSignedAt != nil }

        /// The end of the contract's last day (24:00 CST): the retention period starts here (劳动合同法 art. 50 ¶3).
        public var endsAt: Date? { endsOn.map(ChinaStandardTime.endOfDay) }
    }

    public var id: String
    public var personId: Person.ID
    public var type: Kind
    public var title: String
    /// The body that issued the registration, certificate or title (for a contract: the employer's name).
    public var issuer: String
    public var issuedAt: CalendarDay
    public var validUntil: CalendarDay?
    /// Free detail (a skill grade, a training course): sealed at rest, it may say more about the person.
    public var details: String?
    public var contract: Contract?
    public var recordedBy: String
    /// The node's time when the record was written: the trusted time the proof carries (`iat`).
    public var recordedAt: Date

    public init(id: String, personId: Person.ID, type: Kind, title: String, issuer: String, issuedAt: CalendarDay, validUntil: CalendarDay?,
                details: String?, contract: Contract?, recordedBy: String, recordedAt: Date) {
        self.id = id; self.personId = personId; self.type = type; self.title = title; self.issuer = issuer; self.issuedAt = issuedAt
        self.validUntil = validUntil; self.details = details; self.contract = contract; self.recordedBy = recordedBy; self.recordedAt = recordedAt
    }
}

/// The rules a new record must satisfy, in one place.
public enum HRRecordRules {
    /// A labour contract needs its employer and start (and an end not before the start); other records carry no contract
    /// terms; a validity end is not before the issue day.
    public static func check(type: HRRecord.Kind, issuedAt: CalendarDay, validUntil: CalendarDay?, employerUscc: String?, startsOn: CalendarDay?,
                             endsOn: CalendarDay?) throws(DomainError) {
        if let validUntil, validUntil < issuedAt { throw DomainError(.invalidTimeRange, "validUntil is before issuedAt") }
        if type == .labourContract {
            guard let employerUscc, startsOn != nil else {
                throw DomainError(.contractTermsRequired, "a labour_contract needs employerUscc and startsOn (endsOn for a fixed term)")
            }
            _ = try UnifiedSocialCreditCode(employerUscc)
            if let startsOn, let endsOn, endsOn < startsOn { throw DomainError(.invalidTimeRange, "endsOn is before startsOn") }
        } else if employerUscc != nil || startsOn != nil || endsOn != nil {
            throw DomainError(.contractTermsRequired, "employerUscc, startsOn and endsOn belong to a labour_contract only")
        }
    }
}

/// The signed form of a record: a compact JWS (`typ` `onecard-record+jwt`) by a key of the node's published JWKS.
///
/// What the payload carries, and why no more (PIPL art. 6, minimum necessary): the record itself (type, title, issuer,
/// days, details, a contract's terms and both signatures with their trusted times) and, to tie it to the person who
/// shows it, the holder's masked name and masked ID number — enough for a reader to match the person in front of them
/// against their ID card, not enough to learn the ID number from the proof. `sub` is the platform's opaque person id
/// (no meaning outside the node). No phone, address, card number or account.
public enum RecordProof {
    public static let type = "onecard-record+jwt"

    public struct Payload: Encodable, Sendable {
        public struct Holder: Encodable, Sendable { public let nameMasked: String; public let idNumberMasked: String }
        public struct Signature: Encodable, Sendable { public let party: String; public let signedAt: Int64; public let by: String }
        public struct Terms: Encodable, Sendable {
            public let employerUscc: String; public let startsOn: String; public let endsOn: String?
            public let signatures: [Signature]; public let inEffect: Bool
        }
        public let iss: String, sub: String, jti: String, iat: Int64
        public let type: String, title: String, issuer: String, issuedAt: String, validUntil: String?, details: String?
        public let holder: Holder
        public let contract: Terms?
    }

    /// The payload of `record` issued by region `iss` for the holder named `name` with ID number `idNumber`.
    public static func payload(_ r: HRRecord, iss: String, name: String, idNumber: String) -> Payload {
        let terms = r.contract.map { c in
            Payload.Terms(employerUscc: c.employerUscc, startsOn: c.startsOn.description, endsOn: c.endsOn?.description,
                          signatures: [Payload.Signature(party: "employer", signedAt: Int64(c.employerSignedAt.timeIntervalSince1970), by: c.employerUscc)]
                              + (c.workerSignedAt.map { [Payload.Signature(party: "worker", signedAt: Int64($0.timeIntervalSince1970), by: r.personId.rawValue)] } ?? []),
                          inEffect: c.signedByBoth)
        }
        return Payload(iss: iss, sub: r.personId.rawValue, jti: r.id, iat: Int64(r.recordedAt.timeIntervalSince1970), type: r.type.rawValue,
                       title: r.title, issuer: r.issuer, issuedAt: r.issuedAt.description, validUntil: r.validUntil?.description, details: r.details,
                       holder: .init(nameMasked: Mask.name(name), idNumberMasked: Mask.idNumber(idNumber)), contract: terms)
    }

    /// The compact JWS of `payload` under `key`. Ed25519 signatures are deterministic: the same record under the same key
    /// always gives the same proof.
    public static func sign(_ payload: Payload, key: SigningKey) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try CompactJWS.sign(encodedHeader: CompactJWS.encodedHeader(kid: key.kid, typ: type), payloadJSON: [UInt8](try encoder.encode(payload)),
                                   key: key.privateKey)
    }
}

/// A short-lived link by which a holder shares one record with a department or an employer: `SHAREID.EXP.MAC`, the MAC
/// an HMAC-SHA256 by the node's record-share key over `SHAREID.EXP` (EXP in Unix seconds). A changed id or end fails the
/// MAC; the share itself (and the consent it rests on) is looked up when the link is read.
public enum RecordShareLink {
    /// How long a link lives unless the holder asks otherwise, and the longest they may ask (short-lived: a day).
    public static let defaultMinutes = 60
    public static let maxMinutes = 1440

    public static func make(shareId: String, expiresAt: Date, key: SymmetricKey) -> String {
        let body = "\(shareId).\(Int64(expiresAt.timeIntervalSince1970))"
        return body + "." + Base64URL.encode(Array(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: key)))
    }

    public enum Failure: Error, Equatable { case invalid, expired }

    /// The share id of a genuine link not yet past its end at `now`.
    public static func open(_ token: String, at now: Date, key: SymmetricKey) throws(Failure) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, let exp = Int64(parts[1]), let mac = Base64URL.decode(parts[2]),
              HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data("\(parts[0]).\(parts[1])".utf8), using: key)
        else { throw .invalid }
        guard Double(exp) > now.timeIntervalSince1970 else { throw .expired }
        return String(parts[0])
    }
}

/// One share of a record, and when it was read.
public struct RecordShare: Sendable, Equatable {
    public var id: String
    public var recordId: String
    public var personId: Person.ID
    /// The consent (`record_share`) the share rests on: withdrawing it ends the link at once.
    public var consentId: String
    /// Whom the holder shares it with, in their words (a department or an employer).
    public var grantee: String
    public var createdAt: Date
    public var expiresAt: Date
    public var reads: [Date]

    public init(id: String, recordId: String, personId: Person.ID, consentId: String, grantee: String, createdAt: Date, expiresAt: Date, reads: [Date] = []) {
        self.id = id; self.recordId = recordId; self.personId = personId; self.consentId = consentId; self.grantee = grantee
        self.createdAt = createdAt; self.expiresAt = expiresAt; self.reads = reads
    }
}
