import Foundation
import OneCardCore
import OneCardStore

/// The application catalogue: drafts, numbered publications, the changes between versions, and the
/// registry of departments' own credentials (BJ art. 8 and 17, CQ art. 7 and 14, GD catalogue articles).
struct CatalogueService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let policy: JurisdictionPolicy

    struct Published: Sendable { var version: CatalogueVersion?; var items: [CatalogueItem] }

    func published() async throws -> Published {
        try await store.read { s in
            guard let v = try await s.catalogue.latestVersion() else { return Published(version: nil, items: []) }
            return Published(version: v, items: try await s.catalogue.items(version: v.version))
        }
    }

    /// The items of one domain and offered in or within one region (a province code covers its cities
    /// and counties), for the public catalogue in JSON, CSV and on its page.
    static func filter(_ items: [CatalogueItem], domain: Domain?, region: String?) throws -> [CatalogueItem] {
        var items = items
        if let domain { items = items.filter { $0.domain == domain } }
        if let region {
            _ = try RegionCode(region)
            items = items.filter { $0.regions.contains { RegionCoverage.overlaps($0, region) } }
        }
        return items
    }

    /// The published item with `code`, if the current version lists it.
    func publishedItem(_ code: String, in s: StoreSession) async throws -> CatalogueItem? {
        guard let v = try await s.catalogue.latestVersion() else { return nil }
        return try await s.catalogue.item(version: v.version, code: code)
    }

    /// Every published version, newest first.
    func versions() async throws -> [CatalogueVersion] {
        try await store.read { try await $0.catalogue.versions() }
    }

    /// Draft changes awaiting publication.
    func drafts() async throws -> [CatalogueDraft] {
        try await store.read { try await $0.catalogue.drafts() }
    }

    /// Discards the draft change of one item.
    func discardDraft(code: String) async throws {
        guard try await store.write({ try await $0.catalogue.discardDraft(code: code) }) else {
            throw DomainError(.draftNotFound, "no draft for \(code)")
        }
    }

    /// Departments' registered cards, certificates and codes.
    func credentials() async throws -> [(id: String, registration: CredentialRegistration, status: String, duplicates: [String])] {
        try await store.read { try await $0.catalogue.credentials() }
    }

    func draft(_ item: CatalogueItem, by actor: String) async throws -> CatalogueDraft {
        try item.validate()
        let d = CatalogueDraft(code: item.code, action: .upsert, item: item, draftedBy: actor, draftedAt: clock.now())
        try await store.write { s in try await s.catalogue.saveDraft(d) }
        return d
    }

    func draftWithdrawal(code: String, by actor: String) async throws -> CatalogueDraft {
        let d = CatalogueDraft(code: code, action: .withdraw, item: nil, draftedBy: actor, draftedAt: clock.now())
        try await store.write { s in
            guard try await publishedItem(code, in: s) != nil else {
                throw DomainError(.itemNotInCatalogue, "\(code) is not in the published catalogue")
            }
            try await s.catalogue.saveDraft(d)
        }
        return d
    }

    /// Applies every draft to the latest version and publishes the result as the next version.
    func publish(by actor: String) async throws -> CatalogueVersion {
        let at = clock.now()
        return try await store.write { s in
            let drafts = try await s.catalogue.drafts()
            guard !drafts.isEmpty else { throw DomainError(.nothingToPublish, "there are no draft changes") }
            let latest = try await s.catalogue.latestVersion()
            var items: [String: CatalogueItem] = [:]
            if let latest { for item in try await s.catalogue.items(version: latest.version) { items[item.code] = item } }
            for d in drafts {
                switch d.action {
                case .upsert: items[d.code] = d.item
                case .withdraw: items[d.code] = nil
                }
            }
            let v = CatalogueVersion(version: (latest?.version ?? 0) + 1, publishedAt: at, publishedBy: actor)
            try await s.catalogue.publish(version: v.version, items: items.values.sorted { $0.code < $1.code }, at: at, by: actor)
            try await s.catalogue.clearDrafts()
            try await s.audit.append(at: at, actor: actor, action: "catalogue_published", subject: "catalogue:\(v.version)", purpose: nil)
            return v
        }
    }

    /// Makes an alliance's list, as the hub published it, part of this node's catalogue: the alliance's items are
    /// replaced by the list's and, when that changes anything, the result is published as the next version (the
    /// node's own drafts stay drafts). A list version applied before is not applied again.
    @discardableResult
    func applyAlliance(_ alliance: Alliance, version: Int64, items: [CatalogueItem]) async throws -> CatalogueVersion? {
        let at = clock.now()
        let actor = "hub:\(alliance.code)@\(version)"
        let stateName = "alliance:\(alliance.code)"
        return try await store.write { s in
            if let applied = try await s.federation.state(stateName).flatMap({ Int64($0) }), applied >= version { return nil }
            let latest = try await s.catalogue.latestVersion()
            let current = latest == nil ? [] : try await s.catalogue.items(version: latest!.version)
            let isAlliancesItem = { (i: CatalogueItem) in i.level == .alliance && i.regions.allSatisfy(alliance.contains) }
            let listed = Set(items.map(\.code))
            var next = current.filter { !isAlliancesItem($0) && !listed.contains($0.code) }
            next += items.filter { (try? $0.validate()) != nil }
            next.sort { $0.code < $1.code }
            try await s.federation.setState(stateName, String(version), at: at)
            guard next != current.sorted(by: { $0.code < $1.code }) else { return nil }
            let v = CatalogueVersion(version: (latest?.version ?? 0) + 1, publishedAt: at, publishedBy: actor)
            try await s.catalogue.publish(version: v.version, items: next, at: at, by: actor)
            try await s.audit.append(at: at, actor: actor, action: "catalogue_published", subject: "catalogue:\(v.version)", purpose: "alliance list \(alliance.name) v\(version)")
            return v
        }
    }

    /// Publishes the jurisdiction pack's seed list as the first version (used by `--demo`).
    func seedIfEmpty(by actor: String) async throws {
        guard try await published().version == nil else { return }
        for item in policy.seedCatalogue { _ = try await draft(item, by: actor) }
        if !policy.seedCatalogue.isEmpty { _ = try await publish(by: actor) }
    }

    func changes(version v: Int64) async throws -> (CatalogueVersion, CatalogueDiff) {
        let (_, version, diff) = try await compare(from: v - 1, to: v)
        return (version, diff)
    }

    /// What differs between two published versions, in either order; version 0 is the empty catalogue before the first.
    func compare(from a: Int64, to b: Int64) async throws -> (from: CatalogueVersion?, to: CatalogueVersion, diff: CatalogueDiff) {
        try await store.read { s in
            func find(_ v: Int64) async throws -> CatalogueVersion {
                guard let version = try await s.catalogue.version(v) else { throw DomainError(.versionNotFound, "no catalogue version \(v)") }
                return version
            }
            let to = try await find(b)
            let from: CatalogueVersion? = if a == 0 { nil } else { try await find(a) }
            let before: [CatalogueItem] = if a == 0 { [] } else { try await s.catalogue.items(version: a) }
            return (from, to, CatalogueDiff(from: before, to: try await s.catalogue.items(version: b)))
        }
    }

    /// Registers a department's planned card, certificate or code; one that duplicates a catalogued
    /// function is refused unless nationally mandated, when it is recorded for fusion into the card
    /// (多卡集成、多码融合; BJ art. 17, CQ art. 7).
    func registerCredential(_ c: CredentialRegistration, by actor: String) async throws -> (id: String, status: String, duplicates: [String]) {
        try TextRule.check(c.name, "name", max: 100)
        guard !c.regions.isEmpty, c.regions.allSatisfy(RegionTable.shared.contains) else {
            throw DomainError(.invalidRegionCode, "regions: one or more GB/T 2260 codes")
        }
        let items = try await published().items
        let duplicates = c.duplicates(in: items).map(\.code)
        if !duplicates.isEmpty, !c.nationalMandate {
            throw DomainError(.duplicatesCatalogue, "the social security card already serves this: \(duplicates.joined(separator: ", ")); use the card instead of a new credential")
        }
        let id = random.uuid()
        let status = duplicates.isEmpty ? "registered" : "for_fusion"
        try await store.write { s in
            try await s.catalogue.registerCredential(id: id, c, status: status, duplicates: duplicates, by: actor, at: clock.now())
        }
        return (id, status, duplicates)
    }
}
