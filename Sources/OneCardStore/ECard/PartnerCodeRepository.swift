import Foundation
import OneCardCore
import SQLKit

/// Registered codes of other platforms and the accounts holders linked to their cards.
public struct PartnerCodeRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    public func insert(_ i: CodeIssuer) async throws {
        try await db.raw("""
            INSERT INTO code_issuers (code, name, jwks, item_codes, status, registered_at, changed_at)
            VALUES (\(bind: i.code), \(bind: i.name), \(bind: try Self.json(i.keys)), \(bind: try Self.json(i.itemCodes)), \(bind: i.status.rawValue),
                    \(bind: i.registeredAt.millis), \(bind: i.changedAt.millis))
            """).run()
    }

    public func update(_ i: CodeIssuer) async throws {
        try await db.raw("""
            UPDATE code_issuers SET name = \(bind: i.name), jwks = \(bind: try Self.json(i.keys)), item_codes = \(bind: try Self.json(i.itemCodes)),
                   status = \(bind: i.status.rawValue), changed_at = \(bind: i.changedAt.millis)
            WHERE code = \(bind: i.code)
            """).run()
    }

    public func issuer(_ code: String) async throws -> CodeIssuer? {
        try await db.raw("SELECT * FROM code_issuers WHERE code = \(bind: code)").first().map(decodeIssuer)
    }

    public func issuers() async throws -> [CodeIssuer] {
        try await db.raw("SELECT * FROM code_issuers ORDER BY code").all().map(decodeIssuer)
    }

    /// One holder's link of an account at a partner.
    public struct Link: Sendable, Equatable {
        public var id: String
        public var issuer: String
        public var account: String
        public var personId: Person.ID
        public var linkedAt: Date
        public var unlinkedAt: Date?
        public init(id: String, issuer: String, account: String, personId: Person.ID, linkedAt: Date, unlinkedAt: Date? = nil) {
            self.id = id; self.issuer = issuer; self.account = account; self.personId = personId; self.linkedAt = linkedAt; self.unlinkedAt = unlinkedAt
        }
    }

    /// The account's blind index: its bytes in hex, so accounts differing only in case stay apart.
    func index(issuer: String, account: String) -> String { cipher.blindIndex(issuer + ":" + Hex.encode(Data(account.utf8)), field: "partner_account") }

    public func insert(_ l: Link) async throws {
        try await db.raw("""
            INSERT INTO linked_codes (id, issuer, account_index, account_enc, person_id, linked_at)
            VALUES (\(bind: l.id), \(bind: l.issuer), \(bind: index(issuer: l.issuer, account: l.account)),
                    \(bind: cipher.seal(l.account, field: "partner_account")), \(bind: l.personId), \(bind: l.linkedAt.millis))
            """).run()
    }

    /// The live link of an account at a partner.
    public func link(issuer: String, account: String) async throws -> Link? {
        try await db.raw("""
            SELECT * FROM linked_codes WHERE issuer = \(bind: issuer) AND account_index = \(bind: index(issuer: issuer, account: account))
              AND unlinked_at IS NULL
            """).first().map(decodeLink)
    }

    public func link(id: String) async throws -> Link? {
        try await db.raw("SELECT * FROM linked_codes WHERE id = \(bind: id)").first().map(decodeLink)
    }

    /// A person's links, live and ended, the latest first.
    public func links(personId: Person.ID) async throws -> [Link] {
        try await db.raw("SELECT * FROM linked_codes WHERE person_id = \(bind: personId) ORDER BY linked_at DESC, id").all().map(decodeLink)
    }

    /// Ends a live link; false when it had ended already.
    public func unlink(id: String, at: Date) async throws -> Bool {
        let rows = try await db.raw("""
            UPDATE linked_codes SET unlinked_at = \(bind: at.millis) WHERE id = \(bind: id) AND unlinked_at IS NULL RETURNING id
            """).all()
        return !rows.isEmpty
    }

    static func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try CatalogueRepository.encoder.encode(value), as: UTF8.self) }

    func decodeIssuer(_ r: any SQLRow) throws -> CodeIssuer {
        CodeIssuer(code: try r.string("code"), name: try r.string("name"),
                   keys: try JSONDecoder().decode([PartnerKey].self, from: Data(try r.string("jwks").utf8)),
                   itemCodes: try JSONDecoder().decode([String].self, from: Data(try r.string("item_codes").utf8)),
                   status: CodeIssuer.Status(rawValue: try r.string("status")) ?? .suspended,
                   registeredAt: try r.date("registered_at"), changedAt: try r.date("changed_at"))
    }

    func decodeLink(_ r: any SQLRow) throws -> Link {
        Link(id: try r.string("id"), issuer: try r.string("issuer"), account: try cipher.open(try r.string("account_enc"), field: "partner_account"),
             personId: try r.id("person_id"), linkedAt: try r.date("linked_at"), unlinkedAt: try r.optionalDate("unlinked_at"))
    }
}
