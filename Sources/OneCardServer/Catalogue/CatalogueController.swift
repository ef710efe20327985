import Foundation
import Hummingbird
import NIOCore
import OneCardCore
import OneCardStore

/// The public catalogue (JSON and CSV, filtered by domain, region and alliance), its versions and
/// changes, drafting and publication, and the credential registry.
struct CatalogueController {
    let catalogue: CatalogueService

    struct DraftInput: Decodable {
        let item: CatalogueItem?
        let code: String?
        let withdraw: Bool?
    }

    static let itemSchema = Schema.object([
        ("code", .string(pattern: "^[A-Z0-9._-]{2,40}$")), ("name", .text(1, 100)), ("domain", .oneOf(Domain.self)), ("scenario", .text(1, 500)),
        ("cardForms", .array(.oneOf(CardForm.self), minItems: 1)), ("level", .oneOf(CatalogueLevel.self)),
        ("regions", .array(.string(pattern: "^[0-9]{6}$"), minItems: 1)), ("issuers", .array(.string(pattern: "^([0-9]{6}|\\*)$"), minItems: 1)),
        ("venueTypes", .array(.oneOf(VenueType.self), minItems: 1)), ("legalBasis", .text(1, 300)), ("effectiveFrom", .date),
        ("requires", .array(.string(pattern: Entitlement.requirablePattern), maxItems: 10)),
    ], required: ["code", "name", "domain", "scenario", "cardForms", "level", "regions", "issuers", "venueTypes", "legalBasis", "effectiveFrom"])

    func register(_ api: API) {
        api.add(.get,    "/api/v1/catalogue",                            roles: .anyone,                         publishedCatalogue)
        api.add(.get,    "/api/v1/catalogue/versions",                   roles: .anyone,                         listVersions)
        api.add(.get,    "/api/v1/catalogue/versions/{version}/changes", roles: .anyone,                         versionChanges)
        api.add(.post,   "/api/v1/catalogue/items",                      roles: [.admin],                        draftChange)
        api.add(.get,    "/api/v1/catalogue/drafts",                     roles: [.admin],                        listDrafts)
        api.add(.delete, "/api/v1/catalogue/drafts/{code}",              roles: [.admin],                        discardDraft)
        api.add(.post,   "/api/v1/catalogue/publish",                    roles: [.admin],                        publish)
        api.add(.post,   "/api/v1/credentials",                          roles: [.department, .admin],           registerCredential)
        api.add(.get,    "/api/v1/credentials",                          roles: [.department, .admin, .auditor], listCredentials)
    }

    // MARK: handlers

    var publishedCatalogue: Handler {
        Handler("The published application catalogue (public)",
                tag: "catalogue",
                query: Docs.filters,
                success: (200, "The published version", .object([("version", .integer), ("publishedAt", .nullable(.dateTime)), ("items", .array(Docs.item))], required: ["version", "items"])),
                otherSuccessContentTypes: ["text/csv"],
                errors: [.invalidValue, .invalidRegionCode]) { request, _ in
            let published = try await catalogue.published()
            let q = request.uri.queryParameters
            var items = published.items
            let domain: Domain? = try q.get("domain").map { try parseEnum($0, "domain") }
            items = try CatalogueService.filter(items, domain: domain, region: q.get("region"))
            if let code = q.get("alliance") {
                guard let alliance = PolicyBook.alliances.first(where: { $0.code == code }) else {
                    throw DomainError(.invalidValue, "alliance: one of \(PolicyBook.alliances.map(\.code).joined(separator: ", "))")
                }
                items = items.filter { $0.level == .alliance && $0.regions.allSatisfy(alliance.contains) }
            }
            if q.get("format") == "csv" {
                var headers = HTTPFields()
                headers[.contentType] = "text/csv; charset=utf-8"
                headers[.contentDisposition] = "attachment; filename=\"onecard-catalogue-v\(published.version?.version ?? 0).csv\""
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Self.csv(items))))
            }
            return try Response.json(CatalogueView(version: published.version?.version ?? 0,
                                                   publishedAt: published.version.map { Timestamp.format($0.publishedAt) }, items: items))
        }
    }

    var listVersions: Handler {
        Handler("Every published version (public)",
                tag: "catalogue",
                success: (200, "Versions", .object([("versions", .array(.object([("version", .integer), ("publishedAt", .dateTime), ("publishedBy", .text)], required: ["version", "publishedAt"])))], required: ["versions"]))) { _, _ in
            let versions = try await catalogue.versions()
            return JSONResponse(["versions": versions.map { VersionView(version: $0.version, publishedAt: Timestamp.format($0.publishedAt), publishedBy: $0.publishedBy) }])
        }
    }

    var versionChanges: Handler {
        Handler("What a version added, changed and withdrew (public)",
                tag: "catalogue",
                success: (200, "Changes", .object([("version", .integer), ("publishedAt", .dateTime), ("added", .array(Docs.item)),
                    ("changed", .array(.object([("before", Docs.item), ("after", Docs.item)], required: ["before", "after"]))),
                    ("withdrawn", .array(Docs.item))], required: ["version", "added", "changed", "withdrawn"])),
                errors: [.versionNotFound]) { _, context in
            guard let v = Int64(context.parameters.get("version") ?? "") else { throw DomainError(.versionNotFound, "versions are numbers") }
            let (version, diff) = try await catalogue.changes(version: v)
            return try Response.json(ChangesView(version: version.version, publishedAt: Timestamp.format(version.publishedAt), added: diff.added,
                                                 changed: diff.changed.map { ChangeView(before: $0.before, after: $0.after) }, withdrawn: diff.withdrawn))
        }
    }

    var draftChange: Handler {
        Handler("Draft a change: {item} adds or changes an item, {code, withdraw:true} withdraws one",
                tag: "catalogue",
                request: .either([.object([("item", Docs.item)], required: ["item"]),
                                  .object([("code", .text), ("withdraw", .only(true))], required: ["code", "withdraw"])]),
                success: (201, "The draft change", DraftView.schema),
                errors: [.itemNotInCatalogue, .invalidRegionCode]) { request, context in
            let input = try await request.decodeJSON(as: DraftInput.self, context: context)
            let actor = context.identity!.actor
            let d: CatalogueDraft
            if let item = input.item {
                d = try await catalogue.draft(item, by: actor)
            } else if let code = input.code, input.withdraw == true {
                d = try await catalogue.draftWithdrawal(code: code, by: actor)
            } else {
                throw DomainError(.invalidField, "send {item: …} or {code: …, withdraw: true}")
            }
            return JSONResponse(DraftView(d), status: .created)
        }
    }

    var listDrafts: Handler {
        Handler("Draft changes awaiting publication",
                tag: "catalogue",
                success: (200, "Drafts", .object([("drafts", .array(DraftView.schema))], required: ["drafts"]))) { _, _ in
            JSONResponse(["drafts": try await catalogue.drafts().map(DraftView.init)])
        }
    }

    var discardDraft: Handler {
        Handler("Discard a draft change", tag: "catalogue", success: (204, "Discarded", nil), errors: [.draftNotFound]) { _, context in
            let code = context.parameters.get("code") ?? ""
            try await catalogue.discardDraft(code: code)
            return Response(status: .noContent)
        }
    }

    var publish: Handler {
        Handler("Publish every draft as the next numbered version",
                tag: "catalogue",
                success: (200, "The new version", .object([("version", .integer), ("publishedAt", .dateTime), ("publishedBy", .text)], required: ["version"])),
                errors: [.nothingToPublish]) { _, context in
            let v = try await catalogue.publish(by: context.identity!.actor)
            return try Response.json(VersionView(version: v.version, publishedAt: Timestamp.format(v.publishedAt), publishedBy: v.publishedBy))
        }
    }

    var registerCredential: Handler {
        Handler("Register a department's planned card, certificate or code (checked against the catalogue)",
                tag: "catalogue",
                request: .object([("name", .text(1, 100)), ("domain", .oneOf(Domain.self)), ("regions", .array(.string(pattern: "^[0-9]{6}$"), minItems: 1)),
                                  ("nationalMandate", .boolean)],
                    required: ["name", "domain", "regions", "nationalMandate"]),
                success: (201, "Registered, or recorded for fusion into the card when nationally mandated", CredentialView.schema),
                errors: [.duplicatesCatalogue, .invalidRegionCode]) { request, context in
            let c = try await request.decodeJSON(as: CredentialRegistration.self, context: context)
            let r = try await catalogue.registerCredential(c, by: context.identity!.actor)
            return JSONResponse(CredentialView(credentialId: r.id, name: c.name, domain: c.domain.rawValue, regions: c.regions,
                                               nationalMandate: c.nationalMandate, status: r.status, duplicates: r.duplicates), status: .created)
        }
    }

    var listCredentials: Handler {
        Handler("Registered credentials",
                tag: "catalogue",
                success: (200, "Credentials", .object([("credentials", .array(CredentialView.schema))], required: ["credentials"]))) { _, _ in
            let list = try await catalogue.credentials()
            return JSONResponse(["credentials": list.map {
                CredentialView(credentialId: $0.id, name: $0.registration.name, domain: $0.registration.domain.rawValue, regions: $0.registration.regions,
                               nationalMandate: $0.registration.nationalMandate, status: $0.status, duplicates: $0.duplicates)
            }])
        }
    }

    /// Schemas, roles and error lists several handlers share.
    enum Docs {
        static let item = Schema.named("CatalogueItem", CatalogueController.itemSchema)
        static let filters: [QueryParameter] = [.oneOf("domain", "only this domain", Domain.self),
            .text("region", "only items offered in or within this 6-digit region", pattern: "^[0-9]{6}$"),
            .oneOf("alliance", "the alliance's joint list", PolicyBook.alliances.map(\.code)), .oneOf("format", "csv for text/csv", ["csv"])]
    }

    struct CatalogueView: Encodable { let version: Int64; let publishedAt: String?; let items: [CatalogueItem] }
    struct VersionView: Encodable, Sendable { let version: Int64; let publishedAt: String; let publishedBy: String }
    struct ChangeView: Encodable { let before: CatalogueItem; let after: CatalogueItem }
    struct ChangesView: Encodable { let version: Int64; let publishedAt: String; let added: [CatalogueItem]; let changed: [ChangeView]; let withdrawn: [CatalogueItem] }
    struct CredentialView: Encodable, Sendable {
        static let schema = Schema.named("Credential", .object([
                ("credentialId", .text), ("name", .text), ("domain", .oneOf(Domain.self)), ("regions", .array(.text)), ("nationalMandate", .boolean),
                ("status", .string(values: ["registered", "for_fusion"])), ("duplicates", .array(.text)),
            ], required: ["credentialId", "status", "duplicates"]))

        let credentialId: String, name: String, domain: String, regions: [String], nationalMandate: Bool, status: String, duplicates: [String]
    }
    struct DraftView: Encodable, Sendable {
        static let schema = Schema.named("CatalogueDraft", .object([("code", .text), ("action", .string(values: ["upsert", "withdraw"])), ("item", .nullable(Docs.item)),
            ("draftedBy", .text), ("draftedAt", .dateTime)], required: ["code", "action"]))

        let code: String, action: String, item: CatalogueItem?, draftedBy: String, draftedAt: String
        init(_ d: CatalogueDraft) { code = d.code; action = d.action.rawValue; item = d.item; draftedBy = d.draftedBy; draftedAt = Timestamp.format(d.draftedAt) }
    }

    /// RFC 4180 CSV with a header row; lists are joined with `|`.
    static func csv(_ items: [CatalogueItem]) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = ["code,name,domain,scenario,cardForms,level,regions,issuers,venueTypes,legalBasis,effectiveFrom,requires"]
        for i in items {
            lines.append([i.code, i.name, i.domain.rawValue, i.scenario, i.cardForms.map(\.rawValue).joined(separator: "|"), i.level.rawValue,
                          i.regions.joined(separator: "|"), i.issuers.joined(separator: "|"), i.venueTypes.map(\.rawValue).joined(separator: "|"),
                          i.legalBasis, i.effectiveFrom.description, (i.requires ?? []).joined(separator: "|")].map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
