import Crypto
import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// A node's federation routes: its status and evidence for staff, and what the hub asks of it as a card's issuer.
struct FederationController {
    let federation: FederationService
    let cards: CardService
    let acceptance: AcceptanceService
    /// Answers, as the insured place, the medical settlements another province's hospitals ask of it.
    let medical: MedicalService
    let transit: TransitService

    func register(_ api: API) {
        api.add(.get,  "/api/v1/federation/status",                     roles: [.admin, .auditor], status)
        api.add(.get,  "/api/v1/federation/messages",                   roles: [.auditor],         evidence)
        api.add(.post, "/federation/v1/cards/{cardNumber}/{action}",    roles: .anyone,            issuerRequest)
        api.add(.post, "/federation/v1/messages",                       roles: .anyone,            relayedMessage)
        api.add(.get,  "/api/v1/alliances",                             roles: [.admin, .auditor], alliances)
        api.add(.post, "/api/v1/alliances/{code}/proposals",            roles: [.admin],           propose)
        api.add(.post, "/api/v1/alliances/{code}/proposals/{proposalId}/approve", roles: [.admin], approve)
    }

    struct StatusView: Encodable {
        struct Hub: Encodable { let url: String; let reachable: Bool }
        struct Outbox: Encodable { let pending: Int; let oldestAt: String? }
        let region: String
        let hub: Hub?
        let members: [Federation.Member]
        let outbox: Outbox
        let trustListVersion: Int64?
        let revocationSeq: Int64?

        static let schema = Schema.named("FederationStatus", .object([
            ("region", .text),
            ("hub", .object([("url", .text), ("reachable", .boolean)], required: ["url", "reachable"])),
            ("members", .array(HubController.Docs.member)),
            ("outbox", .object([("pending", .integer), ("oldestAt", .dateTime)], required: ["pending"])),
            ("trustListVersion", .integer), ("revocationSeq", .integer),
        ], required: ["region", "members", "outbox"]))
    }

    var status: Handler {
        Handler("This node's place in the federation: hub reachable, members, outbox depth, trust list and revocation versions",
                tag: "federation", success: (200, "Status (no hub: the node works alone; oldestAt only while something waits)", StatusView.schema)) { _, _ in
            let s = try await federation.status()
            return JSONResponse(StatusView(region: federation.region, hub: s.hubURL.map { .init(url: $0, reachable: s.reachable) }, members: s.members,
                                           outbox: .init(pending: s.pending, oldestAt: s.oldestAt.map(Timestamp.format)),
                                           trustListVersion: s.trustListVersion, revocationSeq: s.revocationSeq))
        }
    }

    struct EvidenceView: Encodable, Sendable {
        let seq: Int64, at: String, direction: String, peer: String, method: String, uri: String, status: Int
        let requestSignatureInput: String?, requestSignature: String?, responseSignatureInput: String?, responseSignature: String?
        let requestBody: String, responseBody: String
        init(_ e: FederationEvidence) {
            seq = e.seq; at = Timestamp.format(e.at); direction = e.direction.rawValue; peer = e.peer; method = e.method; uri = e.uri; status = e.status
            requestSignatureInput = e.requestSignatureInput; requestSignature = e.requestSignature
            responseSignatureInput = e.responseSignatureInput; responseSignature = e.responseSignature
            requestBody = e.requestBody; responseBody = e.responseBody
        }
        static let schema = Schema.named("FederationEvidence", .object([
            ("seq", .integer), ("at", .dateTime), ("direction", .string(values: ["in", "out"])), ("peer", .text), ("method", .text), ("uri", .text),
            ("status", .integer), ("requestSignatureInput", .nullable(.text)), ("requestSignature", .nullable(.text)),
            ("responseSignatureInput", .nullable(.text)), ("responseSignature", .nullable(.text)), ("requestBody", .text), ("responseBody", .text),
        ], required: ["seq", "at", "direction", "peer", "method", "uri", "status", "requestBody", "responseBody"]))
    }

    var evidence: Handler {
        Handler("Every signed message exchanged with the hub, newest first, with both signatures (X-Road's evidence habit)",
                tag: "federation",
                query: [.text("peer", "only messages with this party (hub, or a region code)", pattern: "^(hub|[0-9]{6})$"),
                        .integer("before", "only messages before this seq (paging)", minimum: 1),
                        .integer("limit", "at most this many (default 100)", minimum: 1, maximum: 500)],
                success: (200, "Messages", .object([("messages", .array(EvidenceView.schema))], required: ["messages"]))) { request, _ in
            let q = request.uri.queryParameters
            let list = try await federation.evidence(peer: q.get("peer"), before: q.get("before").flatMap { Int64($0) },
                                                     limit: q.get("limit").flatMap { Int($0) } ?? 100)
            return JSONResponse(["messages": list.map(EvidenceView.init)])
        }
    }

    var alliances: Handler {
        Handler("The alliances this node's region belongs to, as the national hub keeps them: published lists, members, proposals",
                tag: "federation", success: (200, "Alliance lists", .object([("alliances", .array(HubController.Docs.allianceList))], required: ["alliances"])),
                errors: [.notFederated, .federationUnavailable]) { _, _ in
            let lists = try await federation.alliances()
            return SignedEndpoint.Reply.json(["alliances": lists]).response
        }
    }

    var propose: Handler {
        Handler("Propose a change to an alliance's list at the hub (an item, or {code, withdraw:true}); published once every member region approves",
                tag: "federation", request: HubController.Docs.allianceChange, success: (201, "The proposal", HubController.Docs.proposal),
                errors: [.notFederated, .federationUnavailable, .notFound, .itemNotInCatalogue, .invalidMessage, .memberNotPermitted, .invalidRegionCode]) { request, context in
            let body = Data(buffer: try await request.body.collect(upTo: context.maxUploadSize))
            guard (try? JSONSerialization.jsonObject(with: body)) is [String: Any] else { throw DomainError(.malformedJson, "the body is not a JSON object") }
            let code = context.parameters.get("code") ?? ""
            return try await passThrough(try await federation.allianceRequest("/federation/v1/alliances/\(code)/proposals", body: body))
        }
    }

    var approve: Handler {
        Handler("Approve a proposed change to an alliance's list; the last member's approval publishes it, and members apply it to their catalogues",
                tag: "federation", success: (200, "The proposal", HubController.Docs.proposal),
                errors: [.notFederated, .federationUnavailable, .notFound, .memberNotPermitted]) { _, context in
            let code = context.parameters.get("code") ?? "", id = context.parameters.get("proposalId") ?? ""
            return try await passThrough(try await federation.allianceRequest("/federation/v1/alliances/\(code)/proposals/\(id)/approve", body: nil))
        }
    }

    /// The hub's answer as this node's; a list just published is applied here at once.
    private func passThrough(_ answer: SignedAnswer) async throws -> Response {
        guard answer.status < 400 else { throw answer.problem }
        if (try? JSONDecoder().decode(Federation.Proposal.self, from: answer.body))?.status == "published" {
            try? await federation.pullAlliances()
        }
        return SignedEndpoint.Reply(status: answer.status, body: answer.body, contentType: "application/json").response
    }

    private var fromHub: SignedEndpoint {
        let hubKey = federation.link?.key.key
        return SignedEndpoint(keys: { id in id == "hub" ? hubKey : nil }, signer: federation.signer, records: federation.records, clock: federation.clock)
    }

    /// Another member's message relayed by the hub (a use of one of this node's cards elsewhere).
    var relayedMessage: Handler {
        var h = Handler("A message another member sent through the hub (a use of this node's card in another province; a complaint about this province, or a step on one forwarded from here), acted on once per id",
                        tag: "federation", request: HubController.Docs.envelope, success: (200, "The receipt", HubController.Docs.receipt),
                        errors: [.invalidMessage], extraHeaders: HubController.Docs.signatureHeaders) { request, context in
            try await fromHub.handle(request, context: context) { incoming in
                .json(try await federation.receive(try FederationJSON.decode(Federation.Envelope.self, incoming.body)))
            }
        }
        h.signed = true
        return h
    }

    /// The hub forwards a request about one of this node's cards; the answer is what the local endpoint would give.
    var issuerRequest: Handler {
        var h = Handler("The hub asks this node, as the card's issuer, to show a card or its events, or to report it lost, unlock, replace or cancel it",
                        tag: "federation", request: HubController.Docs.forwarded,
                        success: (200, "As the node's own endpoint answers (201 for a replacement)", .anyObject),
                        errors: [.cardNotFound, .invalidTransition, .invalidMessage, .invalidValue, .memberNotPermitted, .credentialRefused, .notInsured,
                                 .medicalPolicyNotFound, .billTooLarge, .settlementNotFound, .alreadyReversed, .invalidField],
                        extraHeaders: HubController.Docs.signatureHeaders) { request, context in
            try await fromHub.handle(request, context: context) { incoming in
                let f = try FederationJSON.decode(Federation.Forwarded.self, incoming.body)
                guard let action = Federation.CardRequest(rawValue: context.parameters.get("action") ?? ""), action == f.action,
                      (f.cardNumber.isEmpty ? "qr" : f.cardNumber) == context.parameters.get("cardNumber") else {
                    throw DomainError(.invalidMessage, "the path and the body name different cards or actions")
                }
                return try await answerAsIssuer(f)
            }
        }
        h.signed = true
        return h
    }

    private func answerAsIssuer(_ f: Federation.Forwarded) async throws -> SignedEndpoint.Reply {
        let actor = Actor(name: String(f.actor.prefix(200)), channel: "federation")
        // A medical settlement or reversal is answered by the insured place's policy and counters (issue 14).
        if f.action == .medicalSettle { return .json(try await medical.answerSettlement(f), status: 201) }
        if f.action == .medicalReverse { return .json(try await medical.answerReversal(f), status: 201) }
        // An identity check with a QR code names no card; every other request names one of this node's.
        if f.action == .transitRider { return .json(try await transit.answerTransitRider(f.body, cardNumber: f.cardNumber)) }
        let number = f.action == .identity ? nil : try CardNumber.existing(f.cardNumber)
        guard let number else { return .json(try await acceptance.answerIdentityCheck(f.body, cardNumber: f.cardNumber, actor: f.actor)) }
        switch f.action {
        case .identity:
            return .json(try await acceptance.answerIdentityCheck(f.body, cardNumber: f.cardNumber, actor: f.actor))
        case .view:
            return .json(CardsController.CardView(try await cards.card(number)))
        case .events:
            return .json(["events": try await cards.events(number).map(CardsController.EventView.init)])
        case .reportLoss:
            let kind: LossKind = try parseEnum(f.body["kind"] ?? "", "kind")
            return .json(CardsController.CardView(try await cards.transition(number, .reportLoss(kind), actor: actor).card))
        case .unlock:
            return .json(CardsController.CardView(try await cards.transition(number, .unlock, actor: actor).card))
        case .replace:
            let reason: ReplaceReason = try parseEnum(f.body["reason"] ?? "", "reason")
            let r = try await cards.transition(number, .replace(reason), actor: actor)
            return .json(["cardNumber": r.replacement!.number.rawValue, "chipKey": r.chipKey!, "status": r.replacement!.status.rawValue], status: 201)
        case .cancel:
            let reason: CancelReason = try parseEnum(f.body["reason"] ?? "", "reason")
            return .json(CardsController.CardView(try await cards.transition(number, .cancel(reason), actor: actor).card))
        case .medicalSettle, .medicalReverse:
            throw DomainError(.invalidMessage, "a medical request carries medical")
        case .transitRider:
            return .json(try await transit.answerTransitRider(f.body, cardNumber: f.cardNumber))
        case .chipCheck:
            return .json(try await acceptance.answerChipCheck(number, challenge: f.body["challenge"] ?? "", response: f.body["response"] ?? ""))
        }
    }
}
