import Foundation
import Hummingbird
import OneCardCore

/// The node's key generations and their rotation (issue 17). API.md is silent on the path; `keys rotate` on the command
/// line does the same.
struct KeysController {
    let keys: KeyService

    func register(_ api: API) {
        api.add(.get,  "/api/v1/keys",        roles: [.admin, .auditor], show)
        api.add(.post, "/api/v1/keys/rotate", roles: [.admin],           rotate)
    }

    struct View: Encodable, Sendable {
        static let schema = Schema.named("KeyGenerations", .object([
            ("sessions", .integer), ("personalData", .integer), ("pendingReencryption", .integer), ("qrKeyId", .text),
        ], required: ["sessions", "personalData", "pendingReencryption"]))
        let sessions: Int, personalData: Int, pendingReencryption: Int, qrKeyId: String?
        init(_ s: KeyService.Status) { sessions = s.sessions; personalData = s.personalData; pendingReencryption = s.pending; qrKeyId = s.qrKeyId }
    }

    var show: Handler {
        Handler("The generations of the session-signing and personal-data keys in force, and how many values still wait to be re-sealed",
                tag: "keys", success: (200, "Generations", View.schema)) { _, _ in
            JSONResponse(View(try await keys.status()))
        }
    }

    struct Input: Decodable { let key: String }

    var rotate: Handler {
        Handler("Rotate a key without downtime: sessions (tokens of the previous key stay good until they expire), personal_data "
                    + "(new values sealed under the new key at once, older ones re-sealed in the background) or qr (a new QR signing key, "
                    + "taken by every process of the node within 5 s; the old one stays published until its tokens expire); audited",
                tag: "keys", request: .object([("key", .oneOf(KeyService.Key.self))], required: ["key"]),
                success: (200, "Generations", View.schema)) { request, context in
            let i = try await request.decodeJSON(as: Input.self, context: context)
            let key: KeyService.Key = try parseEnum(i.key, "key")
            return JSONResponse(View(try await keys.rotate(key, actor: context.identity!.actor)))
        }
    }
}
