import Foundation
import Hummingbird
import OneCardCore

/// Certificates as entitlements and shared entitlement data (API.md "Entitlements and records"; GD art. 7, BJM art. 10).
struct CertificateController {
    let certificates: CertificateService

    func register(_ api: API) {
        api.add(.post,   "/api/v1/persons/{personId}/certificates",                 roles: [.department], load)
        api.add(.delete, "/api/v1/persons/{personId}/certificates/{certificateId}", roles: [.department], revoke)
        api.add(.get,    "/api/v1/persons/{personId}/entitlements",                 roles: [.department], shared)
    }

    /// A certificate as a department sees it: never its number (the venue and the reader need only its type and validity).
    struct View: Encodable, Sendable {
        static let schema = Schema.named("Certificate", .object([
            ("certificateId", .text), ("type", .oneOf(Certificate.Kind.self)), ("validFrom", .date), ("validTo", .nullable(.date)),
            ("revokedAt", .nullable(.dateTime)), ("entitlements", .array(.text)),
        ], required: ["certificateId", "type", "validFrom", "entitlements"]))
        let certificateId: String, type: String, validFrom: String, validTo: String?, revokedAt: String?, entitlements: [String]
        init(_ c: Certificate) {
            certificateId = c.id; type = c.type.rawValue; validFrom = c.validFrom.description; validTo = c.validTo?.description
            revokedAt = c.revokedAt.map(Timestamp.format); entitlements = c.entitlements
        }
    }

    /// A certificate in the holder's own data export: with its number and details (their data).
    struct ExportView: Encodable, Sendable {
        static let schema = Schema.object([
            ("certificateId", .text), ("type", .oneOf(Certificate.Kind.self)), ("number", .text), ("category", .integer), ("grade", .integer),
            ("validFrom", .date), ("validTo", .date), ("revokedAt", .dateTime),
        ], required: ["certificateId", "type", "validFrom"])
        let certificateId: String, type: String, number: String?, category: Int?, grade: Int?, validFrom: String, validTo: String?, revokedAt: String?
        init(_ c: Certificate) {
            certificateId = c.id; type = c.type.rawValue; number = c.number; category = c.category; grade = c.grade
            validFrom = c.validFrom.description; validTo = c.validTo?.description; revokedAt = c.revokedAt.map(Timestamp.format)
        }
    }

    struct LoadInput: Decodable {
        let type: String; let number: String?; let category: Int?; let grade: Int?; let validFrom: String; let validTo: String?
    }

    /// Letters and digits: an ID number with its category and grade (and `B1`–`B9`), or another certificate's number.
    static let numberPattern = "^[0-9A-Za-z]{4,40}$"

    var load: Handler {
        Handler("Load a certificate on a person (department: elderly needs the civil_affairs scope, disability "
                + "disabled_persons_federation, veteran veterans_affairs; 403 otherwise). A disability certificate has category 1–7 "
                + "and grade 1–4, and its number is the holder's ID number followed by the category and grade digits",
                tag: "certificates",
                request: .object([("type", .oneOf(Certificate.Kind.self)), ("number", .string(pattern: Self.numberPattern)),
                                   ("category", .integerIn(minimum: 1, maximum: 7)), ("grade", .integerIn(minimum: 1, maximum: 4)),
                                   ("validFrom", .date), ("validTo", .date)], required: ["type", "validFrom"]),
                success: (201, "The certificate and the person's entitlements now",
                          .object([("certificateId", .text), ("entitlements", .array(.text))], required: ["certificateId", "entitlements"])),
                errors: [.personNotFound, .certificateDetailsInvalid, .certificateNumberMismatch, .certificateValidityInvalid]) { request, context in
            let i = try await request.decodeJSON(as: LoadInput.self, context: context)
            let type: Certificate.Kind = try parseEnum(i.type, "type")
            if let n = i.number, !((4...40).contains(n.count) && n.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })) {
                throw DomainError.invalidField("number", "4 to 40 letters and digits")
            }
            if let c = i.category, !(1...7).contains(c) { throw DomainError.invalidField("category", "1 to 7") }
            if let g = i.grade, !(1...4).contains(g) { throw DomainError.invalidField("grade", "1 to 4") }
            guard let validFrom = CalendarDay(i.validFrom) else { throw DomainError.invalidField("validFrom", "a date YYYY-MM-DD") }
            let validTo: CalendarDay?
            if let t = i.validTo {
                guard let day = CalendarDay(t) else { throw DomainError.invalidField("validTo", "a date YYYY-MM-DD") }
                validTo = day
            } else { validTo = nil }
            let (c, entitlements) = try await certificates.load(
                personId: Person.ID(context.parameters.get("personId") ?? ""),
                .init(type: type, number: i.number?.uppercased(), category: i.category, grade: i.grade, validFrom: validFrom, validTo: validTo),
                by: context.identity!)
            return try Response.json(["certificateId": .string(c.id), "entitlements": .array(entitlements.map { .string($0) })] as JSONValue,
                                     status: .created)
        }
    }

    var revoke: Handler {
        Handler("Revoke a certificate (kept, with revokedAt; the issuing department's scope only). Its entitlements stop at once "
                + "online, and the holder's outstanding QR codes are listed by jti in the revocation feed for offline gates",
                tag: "certificates",
                success: (200, "The revoked certificate", View.schema),
                errors: [.certificateNotFound, .certificateRevoked]) { _, context in
            let c = try await certificates.revoke(personId: Person.ID(context.parameters.get("personId") ?? ""),
                                                  certificateId: context.parameters.get("certificateId") ?? "", by: context.identity!)
            return JSONResponse(View(c))
        }
    }

    var shared: Handler {
        Handler("A person's certificates in force, entitlements and passes, for a department instead of paper (any scope; "
                + "X-Purpose required, audited as an unmasked read)",
                tag: "certificates",
                success: (200, "Certificates in force (type and end only), entitlement codes, passes", .object([
                    ("certificates", .array(.object([("certificateId", .text), ("type", .oneOf(Certificate.Kind.self)), ("validTo", .nullable(.date))],
                                                    required: ["certificateId", "type", "validTo"]))),
                    ("entitlements", .array(.text)),
                    ("passes", .array(.object([("passId", .text), ("product", .text), ("validTo", .date)], required: ["passId", "product", "validTo"]))),
                ], required: ["certificates", "entitlements", "passes"])),
                errors: [.purposeRequired, .personNotFound, .incidentMode],
                extraHeaders: [("X-Purpose", "why the entitlements are read (audited)", true)]) { request, context in
            guard let purpose = request.headers[.purpose]?.trimmingCharacters(in: .whitespaces), !purpose.isEmpty else {
                throw DomainError(.purposeRequired, "reading a person's entitlements needs an X-Purpose header saying why")
            }
            // The header has no length in the document: an over-long purpose is the same domain refusal as a missing one.
            guard purpose.count <= 200 else { throw DomainError(.purposeRequired, "X-Purpose: a purpose of 1 to 200 characters") }
            let r = try await certificates.sharedEntitlements(personId: Person.ID(context.parameters.get("personId") ?? ""), purpose: purpose,
                                                              by: context.identity!)
            let list: [JSONValue] = r.certificates.map { c in
                ["certificateId": .string(c.id), "type": .string(c.type.rawValue), "validTo": c.validTo.map { .string($0.description) } ?? .null]
            }
            let passes: [JSONValue] = r.passes.map { p in
                ["passId": .string(p.id), "product": .string(p.product), "validTo": .string(p.validTo.description)]
            }
            return try Response.json(["certificates": .array(list), "entitlements": .array(r.entitlements.map { .string($0) }),
                                      "passes": .array(passes)] as JSONValue)
        }
    }
}
