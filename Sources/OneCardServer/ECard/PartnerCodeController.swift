import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Codes of other platforms (API.md "Entitlements and records": `/api/v1/code-issuers`, `/api/v1/me/linked-codes`).
struct PartnerCodeController {
    let partners: PartnerCodeService

    func register(_ api: API) {
        api.add(.post,   "/api/v1/code-issuers",                 roles: [.admin],  registerIssuer)
        api.add(.get,    "/api/v1/code-issuers",                 roles: .anyone,   listIssuers)
        api.add(.patch,  "/api/v1/code-issuers/{code}",          roles: [.admin],  changeIssuer)
        api.add(.post,   "/api/v1/me/linked-codes",              roles: [.holder], link)
        api.add(.get,    "/api/v1/me/linked-codes",              roles: [.holder], myLinks)
        api.add(.delete, "/api/v1/me/linked-codes/{linkId}",     roles: [.holder], unlink)
    }

    static let jwksSchema = Schema.object([("keys", .array(.object([
        ("kty", .text), ("crv", .text), ("x", .text), ("kid", .text), ("use", .text),
    ], required: []), minItems: 1, maxItems: 10))], required: ["keys"])

    struct IssuerView: Encodable, Sendable {
        static let schema = Schema.named("CodeIssuer", .object([
            ("code", .text), ("name", .text), ("jwks", jwksSchema), ("itemCodes", .array(.text)), ("status", .oneOf(CodeIssuer.Status.self)),
            ("registeredAt", .dateTime), ("changedAt", .dateTime),
        ], required: ["code", "name", "jwks", "itemCodes", "status", "registeredAt", "changedAt"]))
        let code: String, name: String, jwks: PartnerKey.Document, itemCodes: [String], status: String, registeredAt: String, changedAt: String
        init(_ i: CodeIssuer) {
            code = i.code; name = i.name; jwks = PartnerKey.document(i.keys); itemCodes = i.itemCodes; status = i.status.rawValue
            registeredAt = Timestamp.format(i.registeredAt); changedAt = Timestamp.format(i.changedAt)
        }
    }

    struct RegisterInput: Decodable { let code: String; let name: String; let jwks: PartnerKey.Document; let itemCodes: [String] }

    /// 1 to 50 item codes of 1 to 40 characters; a code named twice counts once (the document cannot say "distinct").
    static func checkItemCodes(_ codes: [String]) throws(DomainError) -> [String] {
        guard (1...50).contains(codes.count), codes.allSatisfy({ (1...40).contains($0.count) }) else {
            throw .invalidField("itemCodes", "1 to 50 catalogue item codes")
        }
        var seen = Set<String>()
        return codes.filter { seen.insert($0).inserted }
    }

    var registerIssuer: Handler {
        Handler("Register another platform's code (多码融合): its Ed25519 public keys and the catalogue items it may open. Its tokens are "
                + "compact JWS (EdDSA or Ed25519) with iss = code, sub = the account there, exp at most 300 s ahead; jti optional",
                tag: "partner-codes",
                request: .object([("code", .string(pattern: "^[A-Za-z0-9._-]{2,40}$")), ("name", .line(100)), ("jwks", Self.jwksSchema),
                                  ("itemCodes", .array(.text(1, 40), minItems: 1, maxItems: 50))],
                                 required: ["code", "name", "jwks", "itemCodes"]),
                success: (201, "The registered code", IssuerView.schema),
                errors: [.codeIssuerExists, .invalidJwks, .itemNotInCatalogue]) { request, context in
            let i = try await request.decodeJSON(as: RegisterInput.self, context: context)
            guard CodeIssuer.validCode(i.code) else { throw DomainError.invalidField("code", "2 to 40 letters, digits, '-', '_' or '.'") }
            try TextRule.check(i.name, "name", max: 100, notBlank: true, oneLine: true)
            let items = try Self.checkItemCodes(i.itemCodes)
            let issuer = try await partners.register(.init(code: i.code, name: i.name.trimmingCharacters(in: .whitespaces),
                                                           keys: try PartnerKey.parse(i.jwks), itemCodes: items), by: context.identity!)
            return JSONResponse(IssuerView(issuer), status: .created)
        }
    }

    var listIssuers: Handler {
        Handler("Registered codes of other platforms, with their public keys and the items they open", tag: "partner-codes",
                success: (200, "Partner codes", .object([("issuers", .array(IssuerView.schema))], required: ["issuers"]))) { _, _ in
            JSONResponse(["issuers": try await partners.issuers().map(IssuerView.init)])
        }
    }

    struct ChangeInput: Decodable { let name: String?; let jwks: PartnerKey.Document?; let itemCodes: [String]?; let status: String? }

    var changeIssuer: Handler {
        Handler("Change a partner code: new keys (its rotation), items, name, or status (suspended stops its codes at once)",
                tag: "partner-codes",
                request: .object([("name", .line(100)), ("jwks", Self.jwksSchema), ("itemCodes", .array(.text(1, 40), minItems: 1, maxItems: 50)),
                                  ("status", .oneOf(CodeIssuer.Status.self))], required: []),
                success: (200, "The partner code", IssuerView.schema),
                errors: [.codeIssuerNotFound, .invalidJwks, .itemNotInCatalogue]) { request, context in
            let i = try await request.decodeJSON(as: ChangeInput.self, context: context)
            if let name = i.name { try TextRule.check(name, "name", max: 100, notBlank: true, oneLine: true) }
            let items = try i.itemCodes.map { codes throws(DomainError) in try Self.checkItemCodes(codes) }
            let status: CodeIssuer.Status? = try i.status.map { try parseEnum($0, "status") }
            let keys = try i.jwks.map { doc throws(DomainError) in try PartnerKey.parse(doc) }
            return JSONResponse(IssuerView(try await partners.change(
                context.parameters.get("code") ?? "",
                .init(name: i.name?.trimmingCharacters(in: .whitespaces), keys: keys, itemCodes: items, status: status), by: context.identity!)))
        }
    }

    struct LinkView: Encodable, Sendable {
        static let schema = Schema.named("LinkedCode", .object([
            ("linkId", .text), ("issuer", .text), ("accountMasked", .text), ("linkedAt", .dateTime), ("unlinkedAt", .nullable(.dateTime)),
        ], required: ["linkId", "issuer", "accountMasked", "linkedAt"]))
        let linkId: String, issuer: String, accountMasked: String, linkedAt: String, unlinkedAt: String?
        init(_ l: PartnerCodeRepository.Link) {
            linkId = l.id; issuer = l.issuer; accountMasked = Mask.account(l.account); linkedAt = Timestamp.format(l.linkedAt)
            unlinkedAt = l.unlinkedAt.map(Timestamp.format)
        }
    }

    struct LinkInput: Decodable { let issuer: String; let token: String }

    var link: Handler {
        Handler("Link my account at another platform to my card, proved by a code (token) that platform issued me; venues then accept "
                + "that platform's code for its items as my card. Linking the same account again answers the same link",
                tag: "partner-codes",
                request: .object([("issuer", .string(pattern: "^[A-Za-z0-9._-]{2,40}$")), ("token", .text(1, 8192))], required: ["issuer", "token"]),
                success: (201, "The link", LinkView.schema),
                errors: [.codeIssuerNotFound, .partnerTokenInvalid, .codeAlreadyLinked]) { request, context in
            let i = try await request.decodeJSON(as: LinkInput.self, context: context)
            guard CodeIssuer.validCode(i.issuer) else { throw DomainError.invalidField("issuer", "2 to 40 letters, digits, '-', '_' or '.'") }
            guard (1...8192).contains(i.token.utf8.count) else { throw DomainError.invalidField("token", "1 to 8192 characters") }
            let identity = context.identity!
            let (l, _) = try await partners.link(personId: identity.personId!, issuer: i.issuer, token: i.token, actor: identity.actor)
            return JSONResponse(LinkView(l), status: .created)
        }
    }

    var myLinks: Handler {
        Handler("My linked codes of other platforms, ended ones with when", tag: "partner-codes",
                success: (200, "Links", .object([("links", .array(LinkView.schema))], required: ["links"]))) { _, context in
            JSONResponse(["links": try await partners.links(personId: context.identity!.personId!).map(LinkView.init)])
        }
    }

    var unlink: Handler {
        Handler("Unlink a code of another platform: it opens nothing for my card from now on", tag: "partner-codes",
                success: (200, "The ended link", LinkView.schema), errors: [.linkedCodeNotFound]) { _, context in
            let identity = context.identity!
            return JSONResponse(LinkView(try await partners.unlink(personId: identity.personId!, linkId: context.parameters.get("linkId") ?? "",
                                                                   actor: identity.actor)))
        }
    }
}
