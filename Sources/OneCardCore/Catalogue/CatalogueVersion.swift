import Foundation

/// A published version of the catalogue.
public struct CatalogueVersion: Sendable, Equatable {
    public var version: Int64
    public var publishedAt: Date
    public var publishedBy: String

    public init(version: Int64, publishedAt: Date, publishedBy: String) {
        self.version = version; self.publishedAt = publishedAt; self.publishedBy = publishedBy
    }
}

/// A pending change: an item to add or change (`upsert`), or a code to withdraw.
public struct CatalogueDraft: Sendable, Equatable {
    public enum Action: String, Sendable { case upsert, withdraw }
    public var code: String
    public var action: Action
    public var item: CatalogueItem?
    public var draftedBy: String
    public var draftedAt: Date

    public init(code: String, action: Action, item: CatalogueItem?, draftedBy: String, draftedAt: Date) {
        self.code = code; self.action = action; self.item = item; self.draftedBy = draftedBy; self.draftedAt = draftedAt
    }
}
