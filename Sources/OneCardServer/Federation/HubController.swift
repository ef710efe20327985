import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OneCardCore
import OneCardStore

/// The hub's `/federation/v1` routes. Every one but the public trust list is signed both ways (RFC 9421).
struct HubController {
    let hub: HubService
    let caller: FederationCaller
    let exchange: SignedEndpoint

    func register(_ api: API) {
        api.add(.get,  "/federation/v1/trust-list",  roles: .anyone, trustList)
        api.add(.get,  "/federation/v1/revocations", roles: .anyone, revocations)
        api.add(.post, "/federation/v1/revocations", roles: .anyone, pushRevocations)
        api.add(.put,  "/federation/v1/keys",        roles: .anyone, publishKeys)
        api.add(.post, "/federation/v1/messages",    roles: .anyone, message)
        api.add(.get,  "/federation/v1/members",     roles: .anyone, members)
        api.add(.post, "/federation/v1/forward",     roles: .anyone, forward)
        api.add(.get,  "/federation/v1/alliances",   roles: .anyone, alliances)
        api.add(.get,  "/federation/v1/audit-checkpoints", roles: .anyone, auditCheckpoints)
        api.add(.post, "/federation/v1/alliances/{code}/proposals", roles: .anyone, propose)
        api.add(.post, "/federation/v1/alliances/{code}/proposals/{proposalId}/approve", roles: .anyone, approve)
    }

    /// A signed handler: verifies the member's signature, then runs `body`.
    private func signed(_ summary: String, request: Schema? = nil, query: [QueryParameter] = [], success: (Int, String, Schema?),
                        contentType: String = "application/json", errors: [DomainError.Code] = [],
                        _ body: @escaping @Sendable (SignedEndpoint.Incoming, AppContext) async throws -> SignedEndpoint.Reply) -> Handler {
        var h = Handler(summary, tag: "federation", request: request, query: query, success: success, successContentType: contentType,
                        errors: errors + [.memberNotFound, .memberNotPermitted],
                        extraHeaders: Docs.signatureHeaders) { [exchange] request, context in
            try await exchange.handle(request, context: context) { incoming in try await body(incoming, context) }
        }
        h.signed = true
        return h
    }

    var trustList: Handler {
        Handler("The national trust list: every member's QR signing keys (alg Ed25519, iss), a JWS signed by the hub",
                tag: "federation", success: (200, "Compact JWS (typ onecard-trust-list+jwt) of {version,issuedAt,expiresAt,keys}", nil),
                successContentType: "application/jose") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/jose"
            headers[.cacheControl] = "public, max-age=5"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try await hub.signedTrustList())))
        }
    }

    var revocations: Handler {
        signed("The national revocation list after `since`, one sequence for every region, a JWS signed by the hub",
               query: Docs.since, success: (200, "Compact JWS (typ onecard-national-revocations+jwt) of {seq,entries:[{seq,iss,cardHash|jti,status,at}]}", nil),
               contentType: "application/jose", errors: [.invalidValue]) { incoming, _ in
            .jose(try await hub.signedRevocations(since: try ECardController.since(incoming.request)))
        }
    }

    var pushRevocations: Handler {
        signed("A member pushes its own revocation entries, each with its own sequence number (a redelivery adds nothing)",
               request: Docs.pushed, success: (200, "What was added", Docs.pushAnswer), errors: [.invalidMessage]) { incoming, _ in
            let pushed = try FederationJSON.decode(Federation.PushedRevocations.self, incoming.body)
            return .json(try await hub.pushRevocations(from: incoming.signer, pushed.entries))
        }
    }

    var publishKeys: Handler {
        signed("A member publishes its current QR signing keys (replacing those it published before)",
               request: .object([("keys", .array(ECardController.Docs.jwk, maxItems: 16))], required: ["keys"]),
               success: (200, "The trust list version", .object([("version", .integer)], required: ["version"])), errors: [.invalidMessage]) { incoming, _ in
            let keys = try FederationJSON.decode(Federation.PublishKeys.self, incoming.body)
            return .json(Federation.Published(version: try await hub.publishKeys(from: incoming.signer, keys.keys)))
        }
    }

    var message: Handler {
        signed("A member's message (claim, card, release, use, audit_checkpoint; complaint and complaint_update relayed to the province concerned), acted on once per id",
               request: Docs.envelope, success: (200, "The receipt (the same for a redelivery)", Docs.receipt), errors: [.invalidMessage]) { incoming, _ in
            let envelope = try FederationJSON.decode(Federation.Envelope.self, incoming.body)
            return .json(try await hub.receive(from: incoming.signer, envelope))
        }
    }

    var members: Handler {
        signed("The members of the federation", success: (200, "Members", .array(Docs.member))) { _, _ in
            .json(try await hub.members().map { Federation.Member(region: $0.region, url: $0.url, kind: $0.kind.rawValue, status: $0.status.rawValue) })
        }
    }

    var auditCheckpoints: Handler {
        signed("The signed heads of the calling member's audit chain the hub keeps (the member verifies its chain against them: a "
                   + "rewritten tail is found even where its own copies were removed)",
               success: (200, "Checkpoints, by number", .array(Docs.checkpoint))) { incoming, _ in
            .json(try await hub.auditCheckpoints(region: incoming.signer).map(Federation.Checkpoint.init))
        }
    }

    var forward: Handler {
        signed("A request about a card of another member, forwarded to its issuer; the issuer's answer is returned",
               request: Docs.forwarded, success: (200, "The issuer's answer, status and body as it gave them", .anyObject),
               errors: [.invalidMessage, .cardNotFound, .federationUnavailable]) { incoming, _ in
            let f = try FederationJSON.decode(Federation.Forwarded.self, incoming.body)
            let from = try await hub.member(incoming.signer)
            if from.kind == .partner, !f.action.forPartners { throw DomainError(.memberNotPermitted, "a cross-border partner may only view cards and check chips") }
            // A QR code names no card, only its issuing region: an identity check with one is routed by region.
            let issuer = f.cardNumber.isEmpty && f.action.routedByRegion ? try await hub.member(f.region ?? "") : try await hub.issuer(of: f.cardNumber)
            guard issuer.status == .active, let key = try await hub.memberKey(issuer.region) else {
                throw DomainError(.federationUnavailable, "the issuing member \(issuer.region) is suspended")
            }
            var relayed = f
            relayed.actor = "\(f.actor) (\(incoming.signer))"
            let path = "/federation/v1/cards/\(f.cardNumber.isEmpty ? "qr" : f.cardNumber)/\(f.action.rawValue)"
            let answer = try await caller.call("POST", issuer.url + path, body: FederationJSON.encode(relayed), peer: issuer.region, peerKey: key)
            return SignedEndpoint.Reply(status: answer.status, body: answer.body, contentType: answer.status >= 400 ? "application/problem+json" : "application/json")
        }
    }

    var alliances: Handler {
        signed("The alliances the calling member belongs to: each published list, its version, its members and its proposals",
               success: (200, "Alliance lists", .array(Docs.allianceList))) { incoming, _ in
            .json(try await hub.alliances(for: incoming.signer))
        }
    }

    var propose: Handler {
        signed("A member proposes a change to its alliance's list (published once every member region has approved)",
               request: Docs.allianceChange, success: (201, "The proposal, with the proposer's approval", Docs.proposal),
               errors: [.invalidMessage, .notFound, .itemNotInCatalogue, .invalidField, .invalidRegionCode]) { incoming, context in
            let change = try FederationJSON.decode(Federation.AllianceChange.self, incoming.body)
            return .json(try await hub.propose(from: incoming.signer, alliance: context.parameters.get("code") ?? "", change), status: 201)
        }
    }

    var approve: Handler {
        signed("A member approves a proposed change to its alliance's list; the last approval publishes it",
               success: (200, "The proposal", Docs.proposal), errors: [.notFound]) { incoming, context in
            .json(try await hub.approve(from: incoming.signer, alliance: context.parameters.get("code") ?? "",
                                        proposal: context.parameters.get("proposalId") ?? ""))
        }
    }

    enum Docs {
        static let proposal = Schema.named("AllianceProposal", .object([
            ("proposalId", .text), ("alliance", .text), ("proposedBy", .text), ("code", .text), ("item", .anyObject),
            ("status", .string(values: ["open", "published"])), ("approvals", .array(.text)), ("needed", .array(.text)),
        ], required: ["proposalId", "alliance", "proposedBy", "code", "status", "approvals", "needed"]))
        static let allianceList = Schema.named("AllianceList", .object([
            ("code", .text), ("name", .text), ("version", .integer), ("items", .array(.anyObject)), ("members", .array(.text)),
            ("proposals", .array(proposal)),
        ], required: ["code", "name", "version", "items", "members", "proposals"]))
        static let allianceChange = Schema.named("AllianceChange", .object([
            ("item", .anyObject), ("code", .text), ("withdraw", .boolean),
        ], required: []))
        static let signatureHeaders: [(name: String, description: String, required: Bool)] = [
            ("Signature-Input", "RFC 9421 sig1=(\"@method\" \"@target-uri\" [\"content-digest\"]);created;nonce;keyid;alg=\"ed25519\"", false),
            ("Signature", "RFC 9421 sig1=:base64:", false),
            ("Content-Digest", "RFC 9530 sha-256=:base64: of the body", false),
        ]
        static let since: [QueryParameter] = [.integer("since", "the national seq of the last entry applied (default 0)", minimum: 0)]
        static let pushed = Schema.named("PushedRevocations", .object([
            ("entries", .array(.object([
                ("seq", .integerIn(minimum: 1, maximum: nil)), ("cardHash", .text), ("jti", .text), ("status", .oneOf(RevocationStatus.self)), ("at", .dateTime),
            ], required: ["seq", "status", "at"]), maxItems: 5000)),
        ], required: ["entries"]))
        static let pushAnswer = Schema.named("PushAnswer", .object([("added", .integer), ("lastSeq", .integer)], required: ["added", "lastSeq"]))
        static let envelope = Schema.named("FederationMessage", .object([
            ("id", .line(128)), ("kind", .string(values: ["claim", "card", "release", "use", "audit_checkpoint", "medical_statement", "complaint", "complaint_update", "transit_charge", "transit_result", "transit_statement"])), ("to", .text), ("from", .text),
            ("payload", .object([("personKey", .text), ("cardHash", .text), ("previousCardHash", .text), ("use", .anyObject), ("checkpoint", .anyObject),
                                ("medicalStatement", .anyObject), ("complaint", Docs.forwardedComplaint), ("complaintUpdate", Docs.complaintUpdate),
                                ("transitTrip", .anyObject), ("transitResult", .anyObject), ("transitStatement", .anyObject)],
                                required: [])),
        ], required: ["id", "kind", "payload"]))
        static let checkpoint = Schema.named("AuditCheckpoint", .object([
            ("seq", .integer), ("hash", .text), ("atMillis", .integer), ("keyId", .text), ("signature", .text),
        ], required: ["seq", "hash", "atMillis", "keyId", "signature"]))
        static let complaintEvent = Schema.object([("at", .dateTime), ("type", .text), ("actor", .text), ("note", .nullable(.text))],
                                                  required: ["at", "type", "actor"])
        /// `complaint`: a complaint about the receiving province, lodged at the sender's (JJJ art. 23).
        static let forwardedComplaint = Schema.named("ForwardedComplaint", .object([
            ("complaintId", .text), ("kind", .text), ("topic", .text), ("channel", .text), ("summary", .text), ("regionCode", .nullable(.text)),
            ("receivedAt", .dateTime), ("useId", .nullable(.text)), ("venueName", .nullable(.text)), ("events", .array(complaintEvent)),
        ], required: ["complaintId", "kind", "topic", "channel", "summary", "receivedAt", "events"]))
        /// `complaint_update`: a step on a forwarded complaint (answered, returned, rated) or the handling province's deadline.
        static let complaintUpdate = Schema.named("ComplaintUpdate", .object([
            ("complaintId", .text), ("event", complaintEvent), ("answer", .nullable(.text)), ("satisfied", .nullable(.boolean)),
            ("dueAt", .nullable(.dateTime)),
        ], required: ["complaintId"]))
        static let receipt = Schema.named("FederationReceipt", .object([("granted", .boolean), ("region", .text)], required: []))
        static let member = Schema.named("FederationMember", .object([
            ("region", .text), ("url", .text), ("kind", .string(values: ["province", "partner"])), ("status", .string(values: ["active", "suspended"])),
        ], required: ["region", "url", "kind", "status"]))
        static let forwarded = Schema.named("ForwardedCardRequest", .object([
            ("cardNumber", .text), ("region", .text), ("action", .string(values: Federation.CardRequest.allCases.map(\.rawValue))),
            ("body", .anyObject), ("actor", .line(200)), ("channel", .line(32)), ("medical", .anyObject),
        ], required: ["cardNumber", "action", "body", "actor", "channel"]))
    }
}
