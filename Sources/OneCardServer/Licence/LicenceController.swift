import Foundation
import Hummingbird
import OneCardCore

/// E-licences (API.md "Entitlements and records": GD art. 9).
struct LicenceController {
    let licences: LicenceService

    func register(_ api: API) {
        api.add(.post, "/api/v1/persons/{personId}/licences", roles: [.department], link)
        api.add(.get,  "/api/v1/me/licences",                 roles: [.holder],     mine)
        api.add(.post, "/api/v1/licence-checks",              roles: [.terminal],   check)
    }

    struct View: Encodable, Sendable {
        static let schema = Schema.named("Licence", .object([
            ("licenceId", .text), ("type", .oneOf(Licence.Kind.self)), ("class", .text), ("validTo", .date), ("issuer", .text), ("numberMasked", .text),
        ], required: ["licenceId", "type", "class", "validTo", "issuer", "numberMasked"]))
        let licenceId: String, type: String, `class`: String, validTo: String, issuer: String, numberMasked: String
        init(_ l: Licence) {
            licenceId = l.id; type = l.type.rawValue; `class` = l.licenceClass; validTo = l.validTo.description; issuer = l.issuer
            numberMasked = Mask.account(l.number)
        }
    }

    struct LinkInput: Decodable { let type: String; let number: String; let `class`: String; let validTo: String; let issuer: String }

    var link: Handler {
        Handler("Link an e-licence the issuing department confirms (department, scope public_security)",
                tag: "licences",
                request: .object([("type", .oneOf(Licence.Kind.self)), ("number", .string(pattern: "^[0-9A-Za-z]{6,30}$")),
                                  ("class", .string(pattern: "^[A-Za-z0-9]{1,8}$")), ("validTo", .date), ("issuer", .line(100))],
                                 required: ["type", "number", "class", "validTo", "issuer"]),
                success: (201, "The licence, its number masked", View.schema),
                errors: [.personNotFound, .invalidLicenceClass]) { request, context in
            let i = try await request.decodeJSON(as: LinkInput.self, context: context)
            let type: Licence.Kind = try parseEnum(i.type, "type")
            guard i.number.count >= 6, i.number.count <= 30, i.number.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw DomainError.invalidField("number", "6 to 30 letters and digits")
            }
            guard let validTo = CalendarDay(i.validTo) else { throw DomainError.invalidField("validTo", "a date YYYY-MM-DD") }
            try TextRule.check(i.issuer, "issuer", max: 100, notBlank: true, oneLine: true)
            let l = try await licences.link(personId: Person.ID(context.parameters.get("personId") ?? ""),
                                            .init(type: type, number: i.number.uppercased(), licenceClass: i.class, validTo: validTo,
                                                  issuer: i.issuer.trimmingCharacters(in: .whitespaces)),
                                            by: context.identity!)
            return JSONResponse(View(l), status: .created)
        }
    }

    var mine: Handler {
        Handler("My linked e-licences", tag: "licences",
                success: (200, "Licences", .object([("licences", .array(View.schema))], required: ["licences"]))) { _, context in
            JSONResponse(["licences": try await licences.licences(personId: context.identity!.personId!).map(View.init)])
        }
    }

    struct CheckInput: Decodable { let credential: AcceptanceController.CredentialInput; let type: String; let `class`: String? }

    var check: Handler {
        Handler("A government venue checks the presented card's holder's e-licence: valid or not, its class and end date, nothing "
                + "more; needs the holder's elicence_check consent (403 consent_required otherwise); audited",
                tag: "licences",
                request: .object([("credential", AcceptanceController.Docs.credential), ("type", .oneOf(Licence.Kind.self)),
                                  ("class", .string(pattern: "^[A-Za-z0-9]{1,4}$"))], required: ["credential", "type"]),
                success: (200, "The answer", .object([("valid", .boolean), ("class", .nullable(.text)), ("validTo", .nullable(.date)),
                                                       ("reason", .nullable(.text))], required: ["valid"])),
                errors: [.venueNotPermitted, .venueNotFound, .consentRequired]) { request, context in
            let i = try await request.decodeJSON(as: CheckInput.self, context: context)
            let type: Licence.Kind = try parseEnum(i.type, "type")
            if let c = i.class, !(1...4).contains(c.count) || !c.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                throw DomainError.invalidField("class", "1 to 4 letters and digits, e.g. C1")
            }
            return JSONResponse(try await licences.check(terminal: context.identity!, credential: try AcceptanceController.credential(i.credential),
                                                         type: type, wanted: i.class?.uppercased()))
        }
    }
}
