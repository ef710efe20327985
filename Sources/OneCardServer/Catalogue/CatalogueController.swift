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
        ("code", .text), ("name", .text), ("domain", .oneOf(Domain.self)), ("scenario", .text),
        ("cardForms", .array(.oneOf(CardForm.self))), ("level", .oneOf(CatalogueLevel.self)),
        ("regions", .array(.string(pattern: "^[0-9]{6}$"))), ("issuers", .array(.text)), ("venueTypes", .array(.oneOf(VenueType.self))),
        ("legalBasis", .text), ("effectiveFrom", .date),
    ], required: ["code", "name", "domain", "scenario", "cardForms", "level", "regions", "issuers", "venueTypes", "legalBasis", "effectiveFrom"])

    func register(_ api: API) {
        let item = api.schema("CatalogueItem", Self.itemSchema)
        let filters: [QueryParameter] = [.oneOf("domain", "only this domain", Domain.self),
                       .text("region", "only items offered in or within this 6-digit region", pattern: "^[0-9]{6}$"),
                       .oneOf("alliance", "the alliance's joint list", PolicyBook.alliances.map(\.code)), .oneOf("format", "csv for text/csv", ["csv"])]

        api.add(Endpoint(method: .get, path: "/api/v1/catalogue", summary: "The published application catalogue (public)", tag: "catalogue",
                         roles: nil, query: filters,
                         success: (200, "The published version", .object([("version", .integer), ("publishedAt", .nullable(.dateTime)), ("items", .array(item))], required: ["version", "items"])),
                         otherSuccessContentTypes: ["text/csv"], errors: [.invalidValue, .invalidRegionCode])) { request, _ in
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

        api.add(Endpoint(method: .get, path: "/api/v1/catalogue/versions", summary: "Every published version (public)", tag: "catalogue", roles: nil,
                         success: (200, "Versions", .object([("versions", .array(.object([("version", .integer), ("publishedAt", .dateTime), ("publishedBy", .text)], required: ["version", "publishedAt"])))], required: ["versions"])))) { _, _ in
            let versions = try await catalogue.versions()
            return JSONResponse(["versions": versions.map { VersionView(version: $0.version, publishedAt: Timestamp.format($0.publishedAt), publishedBy: $0.publishedBy) }])
        }

        api.add(Endpoint(method: .get, path: "/api/v1/catalogue/versions/{version}/changes", summary: "What a version added, changed and withdrew (public)",
                         tag: "catalogue", roles: nil,
                         success: (200, "Changes", .object([("version", .integer), ("publishedAt", .dateTime), ("added", .array(item)),
                                                            ("changed", .array(.object([("before", item), ("after", item)], required: ["before", "after"]))),
                                                            ("withdrawn", .array(item))], required: ["version", "added", "changed", "withdrawn"])),
                         errors: [.versionNotFound])) { _, context in
            guard let v = Int64(context.parameters.get("version") ?? "") else { throw DomainError(.versionNotFound, "versions are numbers") }
            let (version, diff) = try await catalogue.changes(version: v)
            return try Response.json(ChangesView(version: version.version, publishedAt: Timestamp.format(version.publishedAt), added: diff.added,
                                                 changed: diff.changed.map { ChangeView(before: $0.before, after: $0.after) }, withdrawn: diff.withdrawn))
        }

        let draft = api.schema("CatalogueDraft", .object([("code", .text), ("action", .string(values: ["upsert", "withdraw"])), ("item", .nullable(item)),
                                                           ("draftedBy", .text), ("draftedAt", .dateTime)], required: ["code", "action"]))
        api.add(Endpoint(method: .post, path: "/api/v1/catalogue/items", summary: "Draft a change: {item} adds or changes an item, {code, withdraw:true} withdraws one",
                         tag: "catalogue", roles: [.admin],
                         request: .object([("item", item), ("code", .text), ("withdraw", .boolean)], required: []),
                         success: (201, "The draft change", draft), errors: [.itemNotInCatalogue, .invalidRegionCode])) { request, context in
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

        api.add(Endpoint(method: .get, path: "/api/v1/catalogue/drafts", summary: "Draft changes awaiting publication", tag: "catalogue", roles: [.admin],
                         success: (200, "Drafts", .object([("drafts", .array(draft))], required: ["drafts"])))) { _, _ in
            JSONResponse(["drafts": try await catalogue.drafts().map(DraftView.init)])
        }

        api.add(Endpoint(method: .delete, path: "/api/v1/catalogue/drafts/{code}", summary: "Discard a draft change", tag: "catalogue", roles: [.admin],
                         success: (204, "Discarded", nil), errors: [.draftNotFound])) { _, context in
            let code = context.parameters.get("code") ?? ""
            try await catalogue.discardDraft(code: code)
            return Response(status: .noContent)
        }

        api.add(Endpoint(method: .post, path: "/api/v1/catalogue/publish", summary: "Publish every draft as the next numbered version", tag: "catalogue",
                         roles: [.admin], success: (200, "The new version", .object([("version", .integer), ("publishedAt", .dateTime), ("publishedBy", .text)], required: ["version"])),
                         errors: [.nothingToPublish])) { _, context in
            let v = try await catalogue.publish(by: context.identity!.actor)
            return try Response.json(VersionView(version: v.version, publishedAt: Timestamp.format(v.publishedAt), publishedBy: v.publishedBy))
        }

        let credential = api.schema("Credential", .object([
            ("credentialId", .text), ("name", .text), ("domain", .oneOf(Domain.self)), ("regions", .array(.text)), ("nationalMandate", .boolean),
            ("status", .string(values: ["registered", "for_fusion"])), ("duplicates", .array(.text)),
        ], required: ["credentialId", "status", "duplicates"]))
        api.add(Endpoint(method: .post, path: "/api/v1/credentials", summary: "Register a department's planned card, certificate or code (checked against the catalogue)",
                         tag: "catalogue", roles: [.department, .admin],
                         request: .object([("name", .text), ("domain", .oneOf(Domain.self)), ("regions", .array(.text)), ("nationalMandate", .boolean)],
                                          required: ["name", "domain", "regions", "nationalMandate"]),
                         success: (201, "Registered, or recorded for fusion into the card when nationally mandated", credential),
                         errors: [.duplicatesCatalogue, .invalidRegionCode])) { request, context in
            let c = try await request.decodeJSON(as: CredentialRegistration.self, context: context)
            let r = try await catalogue.registerCredential(c, by: context.identity!.actor)
            return JSONResponse(CredentialView(credentialId: r.id, name: c.name, domain: c.domain.rawValue, regions: c.regions,
                                               nationalMandate: c.nationalMandate, status: r.status, duplicates: r.duplicates), status: .created)
        }

        api.add(Endpoint(method: .get, path: "/api/v1/credentials", summary: "Registered credentials", tag: "catalogue", roles: [.department, .admin, .auditor],
                         success: (200, "Credentials", .object([("credentials", .array(credential))], required: ["credentials"])))) { _, _ in
            let list = try await catalogue.credentials()
            return JSONResponse(["credentials": list.map {
                CredentialView(credentialId: $0.id, name: $0.registration.name, domain: $0.registration.domain.rawValue, regions: $0.registration.regions,
                               nationalMandate: $0.registration.nationalMandate, status: $0.status, duplicates: $0.duplicates)
            }])
        }
    }

    struct CatalogueView: Encodable { let version: Int64; let publishedAt: String?; let items: [CatalogueItem] }
    struct VersionView: Encodable, Sendable { let version: Int64; let publishedAt: String; let publishedBy: String }
    struct ChangeView: Encodable { let before: CatalogueItem; let after: CatalogueItem }
    struct ChangesView: Encodable { let version: Int64; let publishedAt: String; let added: [CatalogueItem]; let changed: [ChangeView]; let withdrawn: [CatalogueItem] }
    struct CredentialView: Encodable, Sendable {
        let credentialId: String, name: String, domain: String, regions: [String], nationalMandate: Bool, status: String, duplicates: [String]
    }
    struct DraftView: Encodable, Sendable {
        let code: String, action: String, item: CatalogueItem?, draftedBy: String, draftedAt: String
        init(_ d: CatalogueDraft) { code = d.code; action = d.action.rawValue; item = d.item; draftedBy = d.draftedBy; draftedAt = Timestamp.format(d.draftedAt) }
    }

    /// RFC 4180 CSV with a header row; lists are joined with `|`.
    static func csv(_ items: [CatalogueItem]) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = ["code,name,domain,scenario,cardForms,level,regions,issuers,venueTypes,legalBasis,effectiveFrom"]
        for i in items {
            lines.append([i.code, i.name, i.domain.rawValue, i.scenario, i.cardForms.map(\.rawValue).joined(separator: "|"), i.level.rawValue,
                          i.regions.joined(separator: "|"), i.issuers.joined(separator: "|"), i.venueTypes.map(\.rawValue).joined(separator: "|"),
                          i.legalBasis, i.effectiveFrom.description].map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
