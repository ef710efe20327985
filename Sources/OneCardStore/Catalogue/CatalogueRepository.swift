import Foundation
import OneCardCore
import SQLKit

public struct CatalogueRepository: Sendable {
    let db: any SQLDatabase
    static let encoder: JSONEncoder = { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]; return e }()

    public func saveDraft(_ d: CatalogueDraft) async throws {
        let json = try d.item.map { String(decoding: try Self.encoder.encode($0), as: UTF8.self) }
        try await db.raw("DELETE FROM catalogue_drafts WHERE code = \(bind: d.code)").run()
        try await db.raw("""
            INSERT INTO catalogue_drafts (code, action, item, drafted_by, drafted_at)
            VALUES (\(bind: d.code), \(bind: d.action.rawValue), \(bind: json), \(bind: d.draftedBy), \(bind: d.draftedAt.millis))
            """).run()
    }

    public func drafts() async throws -> [CatalogueDraft] {
        try await db.raw("SELECT * FROM catalogue_drafts ORDER BY code").all().map { r in
            CatalogueDraft(code: try r.string("code"), action: CatalogueDraft.Action(rawValue: try r.string("action")) ?? .upsert,
                           item: try r.optionalString("item").map { try JSONDecoder().decode(CatalogueItem.self, from: Data($0.utf8)) },
                           draftedBy: try r.string("drafted_by"), draftedAt: try r.date("drafted_at"))
        }
    }

    public func discardDraft(code: String) async throws -> Bool {
        let exists = try await db.raw("SELECT code FROM catalogue_drafts WHERE code = \(bind: code)").first() != nil
        try await db.raw("DELETE FROM catalogue_drafts WHERE code = \(bind: code)").run()
        return exists
    }

    public func clearDrafts() async throws { try await db.raw("DELETE FROM catalogue_drafts").run() }

    public func latestVersion() async throws -> CatalogueVersion? {
        try await db.raw("SELECT * FROM catalogue_versions ORDER BY version DESC LIMIT 1").first().map(Self.decodeVersion)
    }

    public func version(_ v: Int64) async throws -> CatalogueVersion? {
        try await db.raw("SELECT * FROM catalogue_versions WHERE version = \(bind: v)").first().map(Self.decodeVersion)
    }

    public func versions() async throws -> [CatalogueVersion] {
        try await db.raw("SELECT * FROM catalogue_versions ORDER BY version").all().map(Self.decodeVersion)
    }

    /// Publishes `items` as version `v` (the caller holds the write transaction).
    public func publish(version v: Int64, items: [CatalogueItem], at: Date, by: String) async throws {
        try await db.raw("INSERT INTO catalogue_versions (version, published_at, published_by) VALUES (\(bind: v), \(bind: at.millis), \(bind: by))").run()
        for item in items {
            try await db.raw("""
                INSERT INTO catalogue_items (version, code, item) VALUES (\(bind: v), \(bind: item.code), \(bind: String(decoding: try Self.encoder.encode(item), as: UTF8.self)))
                """).run()
        }
    }

    public func items(version v: Int64) async throws -> [CatalogueItem] {
        try await db.raw("SELECT item FROM catalogue_items WHERE version = \(bind: v) ORDER BY code").all().map {
            try JSONDecoder().decode(CatalogueItem.self, from: Data(try $0.string("item").utf8))
        }
    }

    public func item(version v: Int64, code: String) async throws -> CatalogueItem? {
        try await db.raw("SELECT item FROM catalogue_items WHERE version = \(bind: v) AND code = \(bind: code)").first().map {
            try JSONDecoder().decode(CatalogueItem.self, from: Data(try $0.string("item").utf8))
        }
    }

    /// Several items of one version in one query.
    public func items(version v: Int64, codes: [String]) async throws -> [CatalogueItem] {
        guard !codes.isEmpty else { return [] }
        return try await db.raw("SELECT item FROM catalogue_items WHERE version = \(bind: v) AND code IN (\(binds: codes))").all().map {
            try JSONDecoder().decode(CatalogueItem.self, from: Data(try $0.string("item").utf8))
        }
    }

    static func decodeVersion(_ r: any SQLRow) throws -> CatalogueVersion {
        CatalogueVersion(version: try r.int("version"), publishedAt: try r.date("published_at"), publishedBy: try r.string("published_by"))
    }

    public func registerCredential(id: String, _ c: CredentialRegistration, status: String, duplicates: [String], by: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO credentials (id, name, domain, regions, national_mandate, status, duplicates, registered_by, registered_at)
            VALUES (\(bind: id), \(bind: c.name), \(bind: c.domain.rawValue), \(bind: JSONColumn.encode(c.regions)), \(bind: c.nationalMandate.int),
                    \(bind: status), \(bind: JSONColumn.encode(duplicates)), \(bind: by), \(bind: at.millis))
            """).run()
    }

    public func credentials() async throws -> [(id: String, registration: CredentialRegistration, status: String, duplicates: [String])] {
        try await db.raw("SELECT * FROM credentials ORDER BY registered_at, id").all().map { r in
            (try r.string("id"),
             CredentialRegistration(name: try r.string("name"), domain: Domain(rawValue: try r.string("domain")) ?? .other,
                                    regions: JSONColumn.decode(try r.string("regions")), nationalMandate: try r.bool("national_mandate")),
             try r.string("status"), JSONColumn.decode(try r.string("duplicates")))
        }
    }
}
