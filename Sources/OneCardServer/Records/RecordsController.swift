import Foundation
import Hummingbird
import OneCardCore

/// The HR&SS electronic file library (API.md "Entitlements and records": GD art. 15). API.md fixes the department's
/// `POST /api/v1/records` and the holder's list; the worker's countersignature of a labour contract follows the holder's
/// paths (`/api/v1/me/records/{recordId}/sign`); so does sharing one record (`.../share`, the link read at the public
/// `/api/v1/record-shares/{token}`, the holder's shares and their reads at `/api/v1/me/record-shares`).
struct RecordsController {
    let records: RecordService

    func register(_ api: API) {
        api.add(.post, "/api/v1/records",                   roles: [.department], create)
        api.add(.get,  "/api/v1/me/records",                roles: [.holder],     mine)
        api.add(.post, "/api/v1/me/records/{recordId}/sign", roles: [.holder],    sign)
        api.add(.post, "/api/v1/me/records/{recordId}/share", roles: [.holder],   share)
        api.add(.get,  "/api/v1/me/record-shares",           roles: [.holder],     shares)
        api.add(.get,  "/api/v1/record-shares/{token}",      roles: .anyone,       readShared)
    }

    struct ContractView: Encodable, Sendable {
        static let schema = Schema.named("LabourContractTerms", .object([
            ("employerUscc", .text), ("startsOn", .date), ("endsOn", .nullable(.date)), ("employerSignedAt", .dateTime),
            ("workerSignedAt", .nullable(.dateTime)), ("inEffect", .boolean),
        ], required: ["employerUscc", "startsOn", "employerSignedAt", "inEffect"]))
        let employerUscc: String, startsOn: String, endsOn: String?, employerSignedAt: String, workerSignedAt: String?, inEffect: Bool
        init(_ c: HRRecord.Contract) {
            employerUscc = c.employerUscc; startsOn = c.startsOn.description; endsOn = c.endsOn?.description
            employerSignedAt = Timestamp.format(c.employerSignedAt); workerSignedAt = c.workerSignedAt.map(Timestamp.format); inEffect = c.signedByBoth
        }
    }

    struct View: Encodable, Sendable {
        static let schema = Schema.named("HRRecord", .object([
            ("recordId", .text), ("type", .oneOf(HRRecord.Kind.self)), ("title", .text), ("issuer", .text), ("issuedAt", .date),
            ("validUntil", .nullable(.date)), ("details", .nullable(.text)), ("contract", .nullable(ContractView.schema)),
            ("proof", .string(pattern: "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$")),
        ], required: ["recordId", "type", "title", "issuer", "issuedAt", "proof"]))
        let recordId: String, type: String, title: String, issuer: String, issuedAt: String, validUntil: String?, details: String?
        let contract: ContractView?, proof: String
        init(_ s: RecordService.Signed) {
            let r = s.record
            recordId = r.id; type = r.type.rawValue; title = r.title; issuer = r.issuer; issuedAt = r.issuedAt.description
            validUntil = r.validUntil?.description; details = r.details; contract = r.contract.map(ContractView.init); proof = s.proof
        }
    }

    struct Input: Decodable {
        let personId: String; let type: String; let title: String; let issuer: String; let issuedAt: String; let validUntil: String?
        let details: String?; let employerUscc: String?; let startsOn: String?; let endsOn: String?
    }

    static func day(_ text: String?, _ field: String) throws -> CalendarDay? {
        guard let text else { return nil }
        guard let d = CalendarDay(text) else { throw DomainError.invalidField(field, "a date YYYY-MM-DD") }
        return d
    }

    var create: Handler {
        Handler("Write a record in the person's HR&SS electronic file (department, scope hrss): a labour_contract adds the employer's "
                    + "unified social credit code and its days, and records the employer's signature at the node's time; the answer's proof "
                    + "is a compact JWS (typ onecard-record+jwt) by a key in /api/v1/trust/jwks",
                tag: "records",
                request: .object([("personId", .text(1, 100)), ("type", .oneOf(HRRecord.Kind.self)), ("title", .line(200)), ("issuer", .line(200)),
                                  ("issuedAt", .date), ("validUntil", .date), ("details", .filled(2000)),
                                  ("employerUscc", .string(pattern: "^[0-9A-Z]{18}$")), ("startsOn", .date), ("endsOn", .date)],
                                 required: ["personId", "type", "title", "issuer", "issuedAt"]),
                success: (201, "The record and its proof", .object([("recordId", .text), ("proof", .text)], required: ["recordId", "proof"])),
                errors: [.personNotFound, .invalidUscc, .contractTermsRequired, .invalidTimeRange]) { request, context in
            let i = try await request.decodeJSON(as: Input.self, context: context)
            let type: HRRecord.Kind = try parseEnum(i.type, "type")
            try TextRule.check(i.personId, "personId", max: 100)
            try TextRule.check(i.title, "title", max: 200, notBlank: true, oneLine: true)
            try TextRule.check(i.issuer, "issuer", max: 200, notBlank: true, oneLine: true)
            if let d = i.details { try TextRule.check(d, "details", max: 2000, notBlank: true) }
            if let u = i.employerUscc, u.count != 18 || !u.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isUppercase) }) {
                throw DomainError.invalidField("employerUscc", "18 digits and capital letters")
            }
            guard let issuedAt = try Self.day(i.issuedAt, "issuedAt") else { throw DomainError.invalidField("issuedAt", "a date YYYY-MM-DD") }
            let s = try await records.create(
                personId: Person.ID(i.personId),
                .init(type: type, title: i.title.trimmingCharacters(in: .whitespaces), issuer: i.issuer.trimmingCharacters(in: .whitespaces),
                      issuedAt: issuedAt, validUntil: try Self.day(i.validUntil, "validUntil"), details: i.details, employerUscc: i.employerUscc,
                      startsOn: try Self.day(i.startsOn, "startsOn"), endsOn: try Self.day(i.endsOn, "endsOn")),
                by: context.identity!)
            return JSONResponse(["recordId": s.record.id, "proof": s.proof], status: .created)
        }
    }

    var mine: Handler {
        Handler("My records in the HR&SS electronic file library, the latest first, each with its proof (verify it with /api/v1/trust/jwks)",
                tag: "records",
                success: (200, "Records", .object([("records", .array(View.schema))], required: ["records"]))) { _, context in
            JSONResponse(["records": try await records.mine(personId: context.identity!.personId!).map(View.init)])
        }
    }

    var sign: Handler {
        Handler("Countersign my labour contract (free to the worker): the node's time now is the worker's signature's trusted time, and the "
                    + "contract is in effect; the answer carries the new proof with both signatures",
                tag: "records",
                success: (200, "The signed contract", View.schema),
                errors: [.recordNotFound, .actionNotApplicable, .contractAlreadySigned]) { _, context in
            JSONResponse(View(try await records.countersign(context.parameters.get("recordId") ?? "", by: context.identity!)))
        }
    }

    struct ShareInput: Decodable { let grantee: String; let minutes: Int? }

    struct ShareView: Encodable, Sendable {
        static let schema = Schema.named("RecordShare", .object([
            ("shareId", .text), ("recordId", .text), ("grantee", .text), ("consentId", .text), ("createdAt", .dateTime), ("expiresAt", .dateTime),
            ("reads", .array(.dateTime)),
        ], required: ["shareId", "recordId", "grantee", "consentId", "createdAt", "expiresAt", "reads"]))
        let shareId: String, recordId: String, grantee: String, consentId: String, createdAt: String, expiresAt: String, reads: [String]
        init(_ s: RecordShare) {
            shareId = s.id; recordId = s.recordId; grantee = s.grantee; consentId = s.consentId; createdAt = Timestamp.format(s.createdAt)
            expiresAt = Timestamp.format(s.expiresAt); reads = s.reads.map(Timestamp.format)
        }
    }

    var share: Handler {
        Handler("Share one of my records with a department or an employer through a short-lived signed link (1 to 1440 minutes, 60 by "
                    + "default): it rests on a record_share consent naming the grantee (withdraw it to end the link at once); url is the path "
                    + "of the public read on this node",
                tag: "records",
                request: .object([("grantee", .line(100)), ("minutes", .integerIn(minimum: 1, maximum: RecordShareLink.maxMinutes))],
                                 required: ["grantee"]),
                success: (201, "The link", .object([("shareId", .text), ("consentId", .text), ("url", .text), ("expiresAt", .dateTime)],
                                                   required: ["shareId", "consentId", "url", "expiresAt"])),
                errors: [.recordNotFound]) { request, context in
            let i = try await request.decodeJSON(as: ShareInput.self, context: context)
            try TextRule.check(i.grantee, "grantee", max: 100, notBlank: true, oneLine: true)
            let minutes = i.minutes ?? RecordShareLink.defaultMinutes
            guard (1...RecordShareLink.maxMinutes).contains(minutes) else {
                throw DomainError.invalidField("minutes", "1 to \(RecordShareLink.maxMinutes)")
            }
            let (s, token) = try await records.share(context.parameters.get("recordId") ?? "", grantee: i.grantee.trimmingCharacters(in: .whitespaces),
                                                     minutes: minutes, by: context.identity!)
            return JSONResponse(["shareId": s.id, "consentId": s.consentId, "url": "/api/v1/record-shares/\(token)", "expiresAt": Timestamp.format(s.expiresAt)],
                                status: .created)
        }
    }

    var shares: Handler {
        Handler("My shared records, the latest first, each with every time its link was read", tag: "records",
                success: (200, "Shares", .object([("shares", .array(ShareView.schema))], required: ["shares"]))) { _, context in
            JSONResponse(["shares": try await records.shares(personId: context.identity!.personId!).map(ShareView.init)])
        }
    }

    var readShared: Handler {
        Handler("Read a record a holder shared (public, through the link): the record and its proof; a changed link is share_link_invalid, "
                    + "one past its end or whose consent was withdrawn share_link_expired; every read is kept and shown to the holder",
                tag: "records",
                success: (200, "The record", View.schema),
                errors: [.shareLinkInvalid, .shareLinkExpired]) { _, context in
            JSONResponse(View(try await records.readShared(context.parameters.get("token") ?? "")))
        }
    }
}
