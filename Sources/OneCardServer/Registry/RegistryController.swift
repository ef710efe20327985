import Foundation
import HTTPTypes
import Hummingbird
import OneCardCore

/// Persons, outlets and banks.
struct RegistryController {
    let registry: RegistryService
    let holders: HolderService

    struct PersonInput: Decodable { let idType: String; let idNumber: String; let name: String; let phone: String; let address: String? }
    struct LookupInput: Decodable { let idType: String?; let idNumber: String }

    struct PersonView: Encodable, Sendable {
        static let schema = Schema.named("Person", Schema.object([
            ("personId", .text), ("idType", .oneOf(IDType.self)), ("idNumberMasked", .text), ("nameMasked", .text), ("phoneMasked", .text),
            ("birthDate", .date), ("sex", .string(values: ["male", "female"])), ("regionCode", .text), ("createdAt", .dateTime),
            ("idNumber", .text), ("name", .text), ("phone", .text), ("address", .text),
        ], required: ["personId", "idType", "idNumberMasked", "nameMasked", "birthDate", "sex", "regionCode"]))

        let personId: String, idType: String, idNumberMasked: String, nameMasked: String, phoneMasked: String
        let birthDate: String, sex: String, regionCode: String, createdAt: String
        // Present only in an unmasked, audited read.
        var idNumber: String? = nil, name: String? = nil, phone: String? = nil, address: String? = nil

        init(_ p: Person, unmasked: Bool = false) {
            personId = p.id.rawValue; idType = p.idNumber.type.rawValue; idNumberMasked = Mask.idNumber(p.idNumber.value)
            nameMasked = Mask.name(p.name); phoneMasked = Mask.phone(p.phone); birthDate = p.idNumber.birthDate.description
            sex = p.idNumber.sex.rawValue; regionCode = p.idNumber.regionCode; createdAt = Timestamp.format(p.createdAt)
            if unmasked { idNumber = p.idNumber.value; name = p.name; phone = p.phone; address = p.address }
        }
    }

    struct OutletInput: Decodable { let name: String; let regionCode: String; let address: String; let services: [String]; let hours: String; let accessibility: [String]? }
    struct BankInput: Decodable { let code: String; let name: String; let agreementFrom: CalendarDay; let agreementTo: CalendarDay; let endpoint: String? }

    func register(_ api: API) {
        api.add(.post, "/api/v1/persons",            roles: [.agent, .admin],                    registerPerson)
        api.add(.post, "/api/v1/persons/lookup",     roles: [.agent, .admin],                    lookupPerson)
        api.add(.get,  "/api/v1/persons/{personId}", roles: [.agent, .admin, .auditor, .holder], showPerson)
        api.add(.get,  "/api/v1/me/export",          roles: [.holder],                           myData)
        api.add(.post, "/api/v1/outlets",            roles: [.admin],                            createOutlet)
        api.add(.get,  "/api/v1/outlets",            roles: .anyone,                             listOutlets)
        api.add(.post, "/api/v1/banks",              roles: [.admin],                            createBank)
        api.add(.get,  "/api/v1/banks",              roles: .anyone,                             listBanks)
    }

    // MARK: handlers

    var registerPerson: Handler {
        Handler("Register a person with a validated identity number",
                tag: "persons",
                request: Docs.personInput,
                success: (201, "Registered (masked view)", PersonView.schema),
                errors: [.invalidIdNumber, .personExists]) { request, context in
            let input = try await request.decodeJSON(as: PersonInput.self, context: context)
            let p = try await registry.registerPerson(
                idType: try parseEnum(input.idType, "idType"), idNumber: input.idNumber, name: input.name, phone: input.phone,
                address: input.address, actor: context.identity!.actor)
            return JSONResponse(PersonView(p), status: .created)
        }
    }

    /// The agent desk's look-up by ID number (the blind index), as the `/agent` page's "find by ID number": the number in
    /// the body, never in a URL that logs and proxies keep.
    var lookupPerson: Handler {
        Handler("Find a person by ID number (masked; the read is audited)",
                tag: "persons",
                request: Docs.lookupInput,
                success: (200, "The person", PersonView.schema),
                errors: [.invalidIdNumber, .personNotFound]) { request, context in
            let input = try await request.decodeJSON(as: LookupInput.self, context: context)
            let idType: IDType = try input.idType.map { try parseEnum($0, "idType") } ?? .resident
            return JSONResponse(PersonView(try await registry.person(idType: idType, idNumber: input.idNumber, readBy: context.identity!.actor)))
        }
    }

    var showPerson: Handler {
        Handler("A person, masked; unmask=true with X-Purpose for the full record (audited)",
                tag: "persons",
                query: [.boolean("unmask", "true for the full record; needs X-Purpose and is audited")],
                success: (200, "The person", PersonView.schema),
                errors: [.purposeRequired, .personNotFound, .incidentMode],
                extraHeaders: [("X-Purpose", "why the full record is read (required with unmask=true)", false)]) { request, context in
            let id = Person.ID(context.parameters.get("personId") ?? "")
            let identity = context.identity!
            if identity.role == .holder, identity.personId != id { throw DomainError.forbidden }
            if request.uri.queryParameters.get("unmask") == "true" {
                guard let purpose = request.headers[.purpose]?.trimmingCharacters(in: .whitespaces), !purpose.isEmpty else {
                    throw DomainError(.purposeRequired, "an unmasked read needs an X-Purpose header saying why")
                }
                guard purpose.count <= 200 else { throw DomainError(.invalidField, "X-Purpose: at most 200 characters") }
                return JSONResponse(PersonView(try await registry.unmaskedPerson(id, purpose: purpose, actor: identity.actor,
                                                                                    staff: identity.role != .holder && identity.role != .auditor), unmasked: true))
            }
            // A holder reading themselves is not audited; staff reads are, masked or not.
            return JSONResponse(PersonView(identity.role == .holder ? try await registry.person(id) : try await registry.person(id, readBy: identity.actor)))
        }
    }

    var myData: Handler {
        Handler("Everything held about me, as JSON (the read is audited)",
                tag: "me",
                success: (200, "My data", Schema.named("HolderExport", HolderExport.schema))) { _, context in
            let identity = context.identity!
            return JSONResponse(try await HolderExport(holders.export(personId: identity.personId!, actor: identity.actor)))
        }
    }

    var createOutlet: Handler {
        Handler("Publish a service outlet",
                tag: "outlets",
                request: Schema.named("OutletInput", Docs.outletInput),
                success: (201, "Created", .object([("outletId", .text)], required: ["outletId"])),
                errors: [.invalidRegionCode]) { request, context in
            let i = try await request.decodeJSON(as: OutletInput.self, context: context)
            let o = try await registry.createOutlet(Outlet(id: "", name: i.name, regionCode: i.regionCode, address: i.address,
                                                                    services: i.services, hours: i.hours, accessibility: i.accessibility ?? []))
            return JSONResponse(["outletId": o.id], status: .created)
        }
    }

    var listOutlets: Handler {
        Handler("Every outlet with hours, services and accessibility (public)",
                tag: "outlets",
                success: (200, "Outlets", .object([("outlets", .array(OutletView.schema))], required: ["outlets"]))) { _, _ in
            let list = try await registry.outlets()
            return JSONResponse(["outlets": list.map(OutletView.init)])
        }
    }

    var createBank: Handler {
        Handler("Add a cooperating bank with its agreement",
                tag: "banks",
                request: Schema.named("BankInput", Docs.bankInput),
                success: (201, "Created", BankView.schema),
                errors: [.bankExists, .invalidAgreementPeriod]) { request, context in
            let i = try await request.decodeJSON(as: BankInput.self, context: context)
            let b = try await registry.createBank(Bank(code: i.code, name: i.name, agreementFrom: i.agreementFrom, agreementTo: i.agreementTo,
                                                                endpoint: i.endpoint, status: .active))
            return JSONResponse(BankView(b), status: .created)
        }
    }

    var listBanks: Handler {
        Handler("Cooperating banks (public)",
                tag: "banks",
                success: (200, "Banks", .object([("banks", .array(BankView.schema))], required: ["banks"]))) { _, _ in
            let list = try await registry.banks()
            return JSONResponse(["banks": list.map(BankView.init)])
        }
    }

    /// Schemas, roles and error lists several handlers share.
    enum Docs {
        static let personInput = Schema.named("PersonInput", .object([
                ("idType", .oneOf(IDType.self)), ("idNumber", .string(pattern: "^[0-9]{17}[0-9Xx]$")), ("name", .line(64)), ("phone", AuthController.Docs.phone),
                ("address", .text(0, 200)),
            ], required: ["idType", "idNumber", "name", "phone"]))
        static let lookupInput = Schema.named("PersonLookup", .object([
                ("idType", .oneOf(IDType.self)), ("idNumber", .text(1, 40)),
            ], required: ["idNumber"]))
        static let outletInput = Schema.object([
                ("name", .text(1, 100)), ("regionCode", .string(pattern: "^[0-9]{6}$")), ("address", .text(1, 200)),
                ("services", .array(.string(values: Outlet.knownServices), minItems: 1)), ("hours", .text(1, 200)),
                ("accessibility", .array(.text(1, 60), maxItems: 20)),
            ], required: ["name", "regionCode", "address", "services", "hours"])
        static let bankInput = Schema.object([
                ("code", .string(pattern: "^[A-Z0-9_]{2,20}$")), ("name", .text(1, 100)), ("agreementFrom", .date), ("agreementTo", .date),
                ("endpoint", .string(format: "uri", pattern: "^https?://[^/?#:]+")),
            ], required: ["code", "name", "agreementFrom", "agreementTo"])
    }

    struct OutletView: Encodable, Sendable {
        static let schema = Schema.named("Outlet", .object([
                ("outletId", .text), ("name", .text), ("regionCode", .text), ("address", .text),
                ("services", .array(.text)), ("hours", .text), ("accessibility", .array(.text)),
            ], required: ["outletId", "name", "regionCode", "address", "services", "hours", "accessibility"]))

        let outletId: String, name: String, regionCode: String, address: String, services: [String], hours: String, accessibility: [String]
        init(_ o: Outlet) {
            outletId = o.id; name = o.name; regionCode = o.regionCode; address = o.address; services = o.services; hours = o.hours; accessibility = o.accessibility
        }
    }

    struct BankView: Encodable, Sendable {
        static let schema = Schema.named("Bank", .object([
                ("code", .text), ("name", .text), ("agreementFrom", .date), ("agreementTo", .date), ("endpoint", .nullable(.text)),
                ("status", .oneOf(Bank.Status.self)),
            ], required: ["code", "name", "agreementFrom", "agreementTo", "status"]))

        let code: String, name: String, agreementFrom: String, agreementTo: String, endpoint: String?, status: String
        init(_ b: Bank) {
            code = b.code; name = b.name; agreementFrom = b.agreementFrom.description; agreementTo = b.agreementTo.description
            endpoint = b.endpoint; status = b.status.rawValue
        }
    }
}
