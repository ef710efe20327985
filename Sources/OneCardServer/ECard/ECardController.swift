import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OneCardCore
import OneCardStore

/// The holder's e-card and QR codes, and the public trust list and revocation list that let venues
/// verify QR codes offline.
struct ECardController {
    let ecards: ECardService

    struct DeviceInput: Decodable { let deviceId: String }

    struct ECardView: Encodable, Sendable {
        static let schema = Schema.named("ECard", .object([
                ("ecardId", .text), ("status", .string(values: ["active", "suspended"])), ("cardNumber", .text), ("deviceId", .text), ("issuedAt", .dateTime),
            ], required: ["ecardId", "status"]))

        let ecardId: String, status: String, cardNumber: String, deviceId: String, issuedAt: String
        init(_ e: ECard) {
            ecardId = e.id; status = e.status.rawValue; cardNumber = e.cardNumber.rawValue; deviceId = e.deviceId; issuedAt = Timestamp.format(e.issuedAt)
        }
    }

    func register(_ api: API) {
        api.add(.post, "/api/v1/me/ecard",              roles: [.holder], issueECard)
        api.add(.get,  "/api/v1/me/ecard",              roles: [.holder], myECard)
        api.add(.post, "/api/v1/me/ecard/qr",           roles: [.holder], qrToken)
        api.add(.get,  "/api/v1/trust/jwks",            roles: .anyone,   trustList)
        api.add(.get,  "/api/v1/trust/jwks.jws",        roles: .anyone,   nationalTrustList)
        api.add(.get,  "/api/v1/trust/revocations",     roles: .anyone,   revocations)
        api.add(.get,  "/api/v1/trust/revocations.jws", roles: .anyone,   signedRevocations)
        api.add(.get,  "/api/v1/trust/revocations/snapshot", roles: .anyone, revocationSnapshot)
        api.add(.get,  "/api/v1/me/ecard/qr.png",       roles: [.holder], qrImage(.png))
        api.add(.get,  "/api/v1/me/ecard/qr.svg",       roles: [.holder], qrImage(.svg))
    }

    // MARK: handlers

    enum ImageFormat: String { case png, svg }

    /// A QR image of a fresh token, as PNG or SVG.
    func qrImage(_ format: ImageFormat) -> Handler {
        let type = format == .png ? "image/png" : "image/svg+xml"
        return Handler("A QR image of a fresh token (error correction M)", tag: "ecard",
                       success: (200, "The QR code; X-Token-Expires-At says until when", nil), successContentType: type,
                       errors: Docs.qrErrors) { _, context in
            let t = try await ecards.qrToken(personId: context.identity!.personId!)
            let code = try QRCode(t.token)
            var headers = HTTPFields()
            headers[.contentType] = type
            headers[.cacheControl] = "no-store"
            headers[HTTPField.Name("X-Token-Expires-At")!] = Timestamp.format(t.expiresAt)
            let body = format == .png ? code.png() : Data(code.svg(title: "电子社保卡二维码 / e-card QR code").utf8)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    var issueECard: Handler {
        Handler("Issue my e-card, bound to this device (a new device replaces the old binding)",
                tag: "ecard",
                request: .object([("deviceId", .asciiLine(128))], required: ["deviceId"]),
                success: (201, "The e-card", ECardView.schema),
                errors: [.noCard, .cardNotActive]) { request, context in
            let i = try await request.decodeJSON(as: DeviceInput.self, context: context)
            let e = try await ecards.issue(personId: context.identity!.personId!, deviceId: i.deviceId,
                                                    actor: Actor(name: context.identity!.actor, channel: "mobile"))
            return JSONResponse(ECardView(e), status: .created)
        }
    }

    var myECard: Handler {
        Handler("My e-card", tag: "ecard", success: (200, "The e-card", ECardView.schema), errors: [.noEcard]) { _, context in
            JSONResponse(ECardView(try await ecards.ecard(personId: context.identity!.personId!)))
        }
    }

    var qrToken: Handler {
        Handler("A fresh QR token (JWS, EdDSA, 60 s)",
                tag: "ecard",
                success: (200, "The token", Docs.qr),
                errors: Docs.qrErrors) { _, context in
            let t = try await ecards.qrToken(personId: context.identity!.personId!)
            return JSONResponse(["token": t.token, "expiresAt": Timestamp.format(t.expiresAt)])
        }
    }

    var trustList: Handler {
        Handler("Public keys of every issuing region this node trusts (cacheable)",
                tag: "trust",
                success: (200, "JWKS", .object([("keys", .array(Docs.jwk))], required: ["keys"]))) { _, _ in
            var r = try Response.json(ecards.trustList())
            r.headers[.cacheControl] = "public, max-age=300"
            return r
        }
    }

    var nationalTrustList: Handler {
        Handler("The national trust list as the hub signed it (JWS, typ onecard-trust-list+jwt): verify it with the hub's key",
                tag: "trust",
                success: (200, "Compact JWS of {version,issuedAt,expiresAt,keys}", nil),
                successContentType: "application/jose",
                errors: [.notFederated]) { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/jose"
            headers[.cacheControl] = "public, max-age=5"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try ecards.signedNationalTrustList())))
        }
    }

    var revocations: Handler {
        Handler("Cards (by SHA-256 of the number) and QR tokens whose status changed after `since`",
                tag: "trust",
                query: Docs.since,
                success: (200, "Revocation delta", .object([("seq", .integer), ("iss", .text), ("entries", .array(Docs.entry)), ("incident", .boolean)], required: ["seq", "entries"])),
                errors: [.invalidValue]) { request, _ in
            var r = try Response.json(try await ecards.revocations(since: try Self.since(request)))
            r.headers[.cacheControl] = "public, max-age=15"
            return r
        }
    }

    var signedRevocations: Handler {
        Handler("The same delta signed by this node (JWS, typ onecard-revocations+jwt)",
                tag: "trust",
                query: Docs.since,
                success: (200, "Compact JWS", nil),
                successContentType: "application/jose",
                errors: [.invalidValue]) { request, _ in
            let signed = try await ecards.signedRevocations(since: try Self.since(request))
            var headers = HTTPFields()
            headers[.contentType] = "application/jose"
            headers[.cacheControl] = "public, max-age=15"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: signed)))
        }
    }

    var revocationSnapshot: Handler {
        Handler("The whole card list as the gate's own compact table, complete up to `seq`: a gate starting from empty loads it, then follows `since=seq`",
                tag: "trust",
                success: (200, "The signed header (compact JWS, typ onecard-revocations-snapshot+jwt: {seq,iss,cards,sha256,tokens,incident?}, "
                          + "`sha256` the table's SHA-256), a line feed, then the table (\"OCRVTAB1\", count, 2^20+1 bucket offsets, 5-byte words, SHA-256)", nil),
                successContentType: RevocationSnapshot.mediaType) { _, _ in
            let body = try await ecards.revocationSnapshot()
            var headers = HTTPFields()
            headers[.contentType] = RevocationSnapshot.mediaType
            headers[.cacheControl] = "public, max-age=60"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// Schemas, roles and error lists several handlers share.
    enum Docs {
        static let qr = Schema.named("QRToken", .object([("token", .text), ("expiresAt", .dateTime)], required: ["token", "expiresAt"]))
        static let qrErrors: [DomainError.Code] = [.noEcard, .noCard, .cardNotActive]
        static let jwk = Schema.named("JWK", .object([
                ("kty", .string(values: ["OKP"])), ("crv", .string(values: ["Ed25519"])), ("x", .text), ("kid", .text), ("use", .string(values: ["sig"])), ("iss", .text),
            ], required: ["kty", "crv", "x", "kid", "use", "iss"]))
        static let entry = Schema.named("RevocationEntry", .object([
                ("cardHash", .text), ("jti", .text), ("status", .oneOf(RevocationStatus.self)), ("at", .dateTime),
            ], required: ["status", "at"]))
        static let since: [QueryParameter] = [.integer("since", "the seq of the last list you applied (default 0)", minimum: 0)]
    }

    static func since(_ request: Request) throws(DomainError) -> Int64 {
        let raw = request.uri.queryParameters.get("since") ?? "0"
        guard let since = Int64(raw), since >= 0 else { throw DomainError(.invalidValue, "since: a non-negative integer") }
        return since
    }
}
