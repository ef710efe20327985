import Foundation
import OneCardCore

/// The bodies exchanged under `/federation/v1` (API.md "Federation"), shared by the hub and the nodes.
enum Federation {
    /// `PUT /federation/v1/keys`: a member publishes its QR signing keys.
    struct PublishKeys: Codable, Sendable { var keys: [JWK] }
    struct Published: Codable, Sendable { var version: Int64 }

    /// `POST /federation/v1/revocations`: a member pushes its own entries, each with its own number.
    struct PushedRevocations: Codable, Sendable {
        struct Line: Codable, Sendable {
            var seq: Int64
            var entry: RevocationEntry
            private enum CodingKeys: String, CodingKey { case seq }
            init(seq: Int64, entry: RevocationEntry) { self.seq = seq; self.entry = entry }
            init(from decoder: any Decoder) throws {
                seq = try decoder.container(keyedBy: CodingKeys.self).decode(Int64.self, forKey: .seq)
                entry = try RevocationEntry(from: decoder)
            }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(seq, forKey: .seq)
                try entry.encode(to: encoder)
            }
        }
        var entries: [Line]
    }
    struct PushAnswer: Codable, Sendable, Equatable { var added: Int; var lastSeq: Int64 }

    /// `POST /federation/v1/messages`: one message a member owes the hub (or another member through the hub),
    /// delivered until acknowledged; the receiver answers a redelivered `id` as it answered the first time.
    struct Envelope: Codable, Sendable {
        var id: String
        var kind: Kind
        /// The region the message is for; absent for the hub itself.
        var to: String?
        /// On a message the hub relays: the member that sent it, as the hub authenticated it (set by the hub; ignored from members).
        var from: String? = nil
        var payload: Payload
    }

    enum Kind: String, Codable, Sendable {
        /// Claim a person for an application (一人一卡).
        case claim
        /// The person's card was issued (or replaced): the claim now follows that card, and the hub's directory routes it.
        case card
        /// Give up the claim (application rejected, card cancelled).
        case release
        /// An acceptance or identity check of another region's card or QR code, reported to its issuer.
        case use
        /// The member's audit chain head, signed with its key: the hub keeps a copy the member cannot rewrite.
        case auditCheckpoint = "audit_checkpoint"
        /// A province's month statement of the medical settlements it shares with the receiving province (issue 14).
        case medicalStatement = "medical_statement"
        /// A complaint about the receiving province, lodged at the sender's, with its history (JJJ art. 23: forwarded to the province concerned).
        case complaint
        /// A step on a forwarded complaint told to the other side: the handling province's answer or return, the complainant's rating.
        case complaintUpdate = "complaint_update"
        /// A trip of another member's card ridden here, priced by this region's fares and concessions: its issuer charges
        /// the holder's account once per trip id and answers with `transit_result` (issue 13).
        case transitCharge = "transit_charge"
        /// The issuer's outcome of a `transit_charge`: charged (or unpaid for now) — the riding node settles its trip.
        case transitResult = "transit_result"
        /// One side of a day's inter-region transit statement (issue 13), as the sending node computed it.
        case transitStatement = "transit_statement"
    }

    /// Every field a message kind may carry; which ones are required depends on the kind.
    struct Payload: Codable, Sendable, Equatable {
        var personKey: String?
        var cardHash: String?
        var previousCardHash: String?
        /// `use`: what happened, where, when.
        var use: ReportedUse?
        /// `audit_checkpoint`: the signed head.
        var checkpoint: Checkpoint?
        /// `medical_statement`: the sender's month statement.
        var medicalStatement: MedicalStatement?
        /// `complaint`: the complaint forwarded.
        var complaint: ForwardedComplaint?
        /// `complaint_update`: a step on it.
        var complaintUpdate: ComplaintUpdate?
        /// `transit_charge`: the priced trip.
        var transitTrip: TransitRemoteTrip?
        /// `transit_result`: the issuer's outcome.
        var transitResult: TransitChargeResult?
        /// `transit_statement`: the sender's side.
        var transitStatement: InterRegionStatement.Side?
    }

    /// A complaint forwarded to the province concerned, as lodged at the sender's (no personal data: the complainant
    /// stays at their own province, which relays the answer).
    struct ForwardedComplaint: Codable, Sendable, Equatable {
        /// Its id at the sender's: answers and ratings travel by it.
        var complaintId: String
        var kind: String
        var topic: String
        var channel: String
        var summary: String
        var regionCode: String?
        /// RFC 3339.
        var receivedAt: String
        /// The use it is about, by its id at the receiving province (the one that recorded it), and where it happened.
        var useId: String?
        var venueName: String?
        /// Its history at the sender's.
        var events: [Event]
    }

    struct Event: Codable, Sendable, Equatable {
        var at: String
        var type: String
        var actor: String
        var note: String?
    }

    /// A step on a forwarded complaint: `answered` (with `answer`), `returned` (with the reason in `event.note`),
    /// `rated` (with `satisfied`); with no event, the handling province's deadline for it (`dueAt`).
    struct ComplaintUpdate: Codable, Sendable, Equatable {
        /// The complaint's id where it was lodged.
        var complaintId: String
        var event: Event?
        var answer: String?
        var satisfied: Bool?
        /// RFC 3339: the handling province's deadline.
        var dueAt: String?
    }

    struct Checkpoint: Codable, Sendable, Equatable {
        var seq: Int64
        var hash: String
        var atMillis: Int64
        var keyId: String
        var signature: String

        init(_ c: AuditChain.Checkpoint) { seq = c.seq; hash = c.hash; atMillis = c.atMillis; keyId = c.keyID; signature = c.signature }
        var checkpoint: AuditChain.Checkpoint { .init(seq: seq, hash: hash, atMillis: atMillis, keyID: keyId, signature: signature) }
    }

    /// A use of a foreign card or QR code, as its issuer learns it.
    struct ReportedUse: Codable, Sendable, Equatable {
        var useId: String
        /// RFC 3339.
        var at: String
        /// The region where it happened (the reporting member).
        var region: String
        var venueName: String
        var venueType: String
        var itemCode: String
        var kind: String
        var decision: String
        var reason: String?
        /// The QR token's `sub` and `jti` (only the issuer can open them) or the card's hash.
        var sub: String?
        var jti: String?
        var cardHash: String?
    }

    /// The answer to a message.
    struct Receipt: Codable, Sendable, Equatable {
        /// `claim`: whether the person is this member's to serve; when not, `region` holds them.
        var granted: Bool?
        var region: String?
    }

    /// `POST /federation/v1/forward` (member → hub) and `POST /federation/v1/cards/{n}/{action}` (hub → issuer).
    struct Forwarded: Codable, Sendable {
        /// The card the request is about; for an identity check with a QR code (which names no card), empty, and
        /// `region` names the issuer instead.
        var cardNumber: String
        var region: String? = nil
        var action: CardRequest
        /// The original request body (JSON object) for the issuer's endpoint.
        var body: [String: String]
        /// Who asked, at which member: written into the issuer's card event.
        var actor: String
        var channel: String
        /// `medical-settle` and `medical-reverse`: the bill or the reversal asked of the insured place.
        var medical: MedicalForward? = nil
    }

    /// A settlement asked of the insured place by the treatment place (就医地目录、参保地政策): the bill's lines with the
    /// treatment place's catalogue entries for their codes (that catalogue decides each line's category), the
    /// settlement id the treatment node chose for the hospital's Idempotency-Key (the insured node records each id once,
    /// so a retried question is answered with the first answer), and for a reversal the id it reverses.
    struct MedicalForward: Codable, Sendable {
        var settlementId: String
        var reverses: String? = nil
        /// RFC 3339: when the hospital settled (both nodes clear it in the same month).
        var at: String
        var treatmentRegion: String
        var venueName: String
        var care: MedicalCare?
        var hospitalLevel: HospitalLevel?
        var emergency: Bool?
        var lines: [MedicalBillLine]?
        var catalogueVersion: Int?
        var catalogue: [MedicalCatalogueItem]?
    }

    enum CardRequest: String, Codable, Sendable, CaseIterable {
        case view, events
        case reportLoss = "report-loss", unlock, replace, cancel
        /// A chip challenge–response of a physical card, checked by its issuer (only it can derive the chip key).
        case chipCheck = "chip-check"
        /// An identity check at a hotel or government counter: the issuer verifies the card or QR code and discloses
        /// (and audits) what the venue type may see.
        case identity
        /// A medical settlement of a person the issuer insures, or its reversal (issue 14): the issuer applies its policy
        /// and its year-to-date counters.
        case medicalSettle = "medical-settle", medicalReverse = "medical-reverse"
        /// A transit tap of the card or QR code at another province's gate: the issuer checks the credential as of the tap
        /// (a chip's answer, a QR code's pseudonym), and says how the card stood then and which entitlements it had.
        case transitRider = "transit-rider"

        /// What a cross-border partner may ask (it verifies; it services no card).
        var forPartners: Bool { self == .view || self == .chipCheck || self == .identity }
        /// Routed by `region` when the request names no card (a QR code; a medical reversal, which names the settlement).
        var routedByRegion: Bool { [.identity, .transitRider, .medicalSettle, .medicalReverse].contains(self) }
    }

    /// A change to an alliance's list: an item to add or change, or `{code, withdraw:true}`.
    struct AllianceChange: Codable, Sendable {
        var item: CatalogueItem?
        var code: String?
        var withdraw: Bool?
    }

    struct Proposal: Codable, Sendable, Equatable {
        var proposalId: String
        var alliance: String
        var proposedBy: String
        var code: String
        var item: CatalogueItem?
        var status: String
        var approvals: [String]
        /// The member regions whose approval publishes it.
        var needed: [String]
    }

    /// `GET /federation/v1/alliances`: the alliances a member belongs to, as the hub keeps them.
    struct AllianceList: Codable, Sendable, Equatable {
        var code: String
        var name: String
        var version: Int64
        var items: [CatalogueItem]
        var members: [String]
        var proposals: [Proposal]
    }

    /// `GET /federation/v1/members`.
    struct Member: Codable, Sendable, Equatable { var region: String; var url: String; var kind: String; var status: String }
}
