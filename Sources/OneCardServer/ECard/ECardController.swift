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
        let ecardId: String, status: String, cardNumber: String, deviceId: String, issuedAt: String
        init(_ e: ECard) {
            ecardId = e.id; status = e.status.rawValue; cardNumber = e.cardNumber; deviceId = e.deviceId; issuedAt = Timestamp.format(e.issuedAt)
        }
    }

    func register(_ api: API) {
        let ecard = api.schema("ECard", .object([
            ("ecardId", .text), ("status", .string(values: ["active", "suspended"])), ("cardNumber", .text), ("deviceId", .text), ("issuedAt", .dateTime),
        ], required: ["ecardId", "status"]))
        let qr = api.schema("QRToken", .object([("token", .text), ("expiresAt", .dateTime)], required: ["token", "expiresAt"]))
        let qrErrors: [DomainError.Code] = [.noEcard, .noCard, .cardNotActive]

        api.add(Endpoint(method: .post, path: "/api/v1/me/ecard", summary: "Issue my e-card, bound to this device (a new device replaces the old binding)",
                         tag: "ecard", roles: [.holder], request: .object([("deviceId", .text)], required: ["deviceId"]),
                         success: (201, "The e-card", ecard), errors: [.noCard, .cardNotActive])) { request, context in
            let i = try await request.decodeJSON(as: DeviceInput.self, context: context)
            let e = try await ecards.issue(personId: context.identity!.personId!, deviceId: i.deviceId,
                                                    actor: Actor(name: context.identity!.actor, channel: "mobile"))
            return JSONResponse(ECardView(e), status: .created)
        }

        api.add(Endpoint(method: .get, path: "/api/v1/me/ecard", summary: "My e-card", tag: "ecard", roles: [.holder],
                         success: (200, "The e-card", ecard), errors: [.noEcard])) { _, context in
            JSONResponse(ECardView(try await ecards.ecard(personId: context.identity!.personId!)))
        }

        api.add(Endpoint(method: .post, path: "/api/v1/me/ecard/qr", summary: "A fresh QR token (JWS, EdDSA, 60 s)", tag: "ecard", roles: [.holder],
                         success: (200, "The token", qr), errors: qrErrors)) { _, context in
            let t = try await ecards.qrToken(personId: context.identity!.personId!)
            return JSONResponse(["token": t.token, "expiresAt": Timestamp.format(t.expiresAt)])
        }

        for (suffix, type) in [("png", "image/png"), ("svg", "image/svg+xml")] {
            api.add(Endpoint(method: .get, path: "/api/v1/me/ecard/qr.\(suffix)", summary: "A QR image of a fresh token (error correction M)",
                             tag: "ecard", roles: [.holder], success: (200, "The QR code; X-Token-Expires-At says until when", nil),
                             successContentType: type, errors: qrErrors)) { _, context in
                let t = try await ecards.qrToken(personId: context.identity!.personId!)
                let code = try QRCode(t.token)
                var headers = HTTPFields()
                headers[.contentType] = type
                headers[.cacheControl] = "no-store"
                headers[HTTPField.Name("X-Token-Expires-At")!] = Timestamp.format(t.expiresAt)
                let body = suffix == "png" ? code.png() : Data(code.svg(title: "电子社保卡二维码 / e-card QR code").utf8)
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
        }

        let jwk = api.schema("JWK", .object([
            ("kty", .string(values: ["OKP"])), ("crv", .string(values: ["Ed25519"])), ("x", .text), ("kid", .text), ("use", .string(values: ["sig"])), ("iss", .text),
        ], required: ["kty", "crv", "x", "kid", "use", "iss"]))
        api.add(Endpoint(method: .get, path: "/api/v1/trust/jwks", summary: "Public keys of every issuing region this node trusts (cacheable)",
                         tag: "trust", roles: nil, success: (200, "JWKS", .object([("keys", .array(jwk))], required: ["keys"])))) { _, _ in
            var r = try Response.json(ecards.trustList())
            r.headers[.cacheControl] = "public, max-age=300"
            return r
        }

        let entry = api.schema("RevocationEntry", .object([
            ("cardHash", .text), ("jti", .text), ("status", .oneOf(RevocationStatus.self)), ("at", .dateTime),
        ], required: ["status", "at"]))
        let since: [QueryParameter] = [.integer("since", "the seq of the last list you applied (default 0)", minimum: 0)]
        api.add(Endpoint(method: .get, path: "/api/v1/trust/revocations", summary: "Cards (by SHA-256 of the number) and QR tokens whose status changed after `since`",
                         tag: "trust", roles: nil, query: since,
                         success: (200, "Revocation delta", .object([("seq", .integer), ("iss", .text), ("entries", .array(entry))], required: ["seq", "entries"])),
                         errors: [.invalidValue])) { request, _ in
            var r = try Response.json(try await ecards.revocations(since: try Self.since(request)))
            r.headers[.cacheControl] = "public, max-age=15"
            return r
        }

        api.add(Endpoint(method: .get, path: "/api/v1/trust/revocations.jws", summary: "The same delta signed by this node (JWS, typ onecard-revocations+jwt)",
                         tag: "trust", roles: nil, query: since, success: (200, "Compact JWS", nil), successContentType: "application/jose",
                         errors: [.invalidValue])) { request, _ in
            let signed = try await ecards.signedRevocations(since: try Self.since(request))
            var headers = HTTPFields()
            headers[.contentType] = "application/jose"
            headers[.cacheControl] = "public, max-age=15"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: signed)))
        }
    }

    static func since(_ request: Request) throws(DomainError) -> Int64 {
        let raw = request.uri.queryParameters.get("since") ?? "0"
        guard let since = Int64(raw), since >= 0 else { throw DomainError(.invalidValue, "since: a non-negative integer") }
        return since
    }
}
