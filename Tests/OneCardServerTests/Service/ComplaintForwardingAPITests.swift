import Crypto
import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// A complaint about another province (JJJ art. 23), on each side of the hub: the holder's province forwards it with its
/// history and shows the other province's deadline and answer; the province concerned makes its own complaint of it,
/// answers or returns it, and takes the rating. Messages between them are acted on once per id.
@Suite("Complaints forwarded between provinces: the holder's side and the handling side")
struct ComplaintForwardingAPITests {
    static let beijing = "110000", tianjin = "120000"

    static func silentHub() throws -> HubLink {
        try HubLink(url: "http://127.0.0.1:9", key: FederationPublicKey(Curve25519.Signing.PrivateKey().publicKey),
                    personKeys: PersonKeyHasher(key: SymmetricKey(size: .bits256)))
    }

    /// What the node owes other provinces through the hub, by kind.
    static func outbox(_ h: Harness, kind: Federation.Kind) async throws -> [Federation.Envelope] {
        try await h.services.store.read { try await $0.federation.due(now: Date.distantFuture, limit: 500) }
            .filter { $0.kind == kind.rawValue }
            .map { try FederationJSON.decode(Federation.Envelope.self, Data($0.payload.utf8)) }
    }

    /// A message as the hub relays it from `from`.
    static func relayed(_ id: String, from: String, to: String, _ payload: Federation.Payload, kind: Federation.Kind) -> Federation.Envelope {
        Federation.Envelope(id: "\(from)-\(id)", kind: kind, to: to, from: from, payload: payload)
    }

    @Test(arguments: Engine.available)
    func theHoldersProvinceForwardsAndShowsTheOtherProvincesDeadlineAndAnswer(_ engine: Engine) async throws {
        try await Harness.run(engine, region: Self.beijing, hub: try Self.silentHub()) { h in
            // setup: a resident with an online account (an application would wait for the hub, which does not answer here)
            let idNumber = TestIDs.resident(sequence: "778")
            _ = try await h.createPerson(idNumber: idNumber, name: "王秀梅")
            let holder = try await h.signUpHolder(idNumber: idNumber)

            // action: the holder complains about a venue in Tianjin (a city's code names its province)
            let lodged = try await h.call(.post, "/api/v1/me/complaints", token: holder, json: [
                "kind": "complaint", "topic": "card_refused", "channel": "online", "summary": "天津某博物馆拒绝社保卡", "regionCode": "120101",
            ])
            // validate: lodged open (API.md) and forwarded at once, with its history, to Tianjin
            #expect(lodged.status == 201 && lodged.string("status") == "open" && lodged.string("forwardedTo") == Self.tianjin, "\(lodged)")
            let id = try #require(lodged.string("complaintId"))
            let mine = try await h.call(.get, "/api/v1/me/complaints/\(id)", token: holder)
            #expect(mine.string("status") == "forwarded" && mine.string("forwardedTo") == Self.tianjin, "\(mine)")
            #expect((mine["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String } == ["lodged", "forwarded"], "\(mine)")
            let sent = try await Self.outbox(h, kind: .complaint)
            #expect(sent.count == 1 && sent.first?.to == Self.tianjin && sent.first?.id == "complaint-\(id)", "\(sent)")
            #expect(sent.first?.payload.complaint?.complaintId == id && sent.first?.payload.complaint?.events.map(\.type) == ["lodged", "forwarded"])
            let audited = try await h.services.store.read { try await $0.audit.list(subject: "complaint:\(id)") }.map(\.action)
            #expect(audited.contains("complaint_forwarded"), "\(audited)")
            // Beijing's staff neither assign nor answer what Tianjin handles
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/answer", token: h.agent, json: ["text": "我们来答"]).code == "invalid_transition")
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/assign", token: h.agent, json: ["to": "agent"]).code == "invalid_transition")

            // action: Tianjin's deadline, then its answer, arrive through the hub
            let deadline = Self.relayed("u-1", from: Self.tianjin, to: Self.beijing,
                                        .init(complaintUpdate: .init(complaintId: id, dueAt: "2026-12-10T16:00:00Z")), kind: .complaintUpdate)
            _ = try await h.services.federation.receive(deadline)
            let answer = Self.relayed("u-2", from: Self.tianjin, to: Self.beijing, .init(complaintUpdate: .init(
                complaintId: id, event: .init(at: "2026-11-19T02:00:00Z", type: "answered", actor: "agent:tj", note: "已责令改正"),
                answer: "已责令改正，向您致歉")), kind: .complaintUpdate)
            _ = try await h.services.federation.receive(answer)
            // a redelivery, and the same step from a province it was not forwarded to, change nothing
            _ = try await h.services.federation.receive(answer)
            _ = try await h.services.federation.receive(Self.relayed("u-3", from: "130000", to: Self.beijing, .init(complaintUpdate: .init(
                complaintId: id, event: .init(at: "2026-11-19T03:00:00Z", type: "returned", actor: "agent:hb", note: "x"))), kind: .complaintUpdate))

            // validate: the holder sees Tianjin's deadline and answer at their own province
            let answered = try await h.call(.get, "/api/v1/me/complaints/\(id)", token: holder)
            #expect(answered.string("status") == "answered" && answered.string("answer") == "已责令改正，向您致歉", "\(answered)")
            #expect(answered.string("dueAt") == "2026-12-10T16:00:00Z" && answered.string("answeredAt") == "2026-11-19T02:00:00Z", "\(answered)")
            let events = answered["events"] as? [[String: Any]] ?? []
            #expect(events.compactMap { $0["type"] as? String } == ["lodged", "forwarded", "answered"], "\(events)")
            #expect(events.last?["actor"] as? String == "120000 agent:tj", "\(events)")

            // action: the holder rates it here; the rating goes to Tianjin
            let rated = try await h.call(.post, "/api/v1/me/complaints/\(id)/rate", token: holder, json: ["satisfied": true])
            // validate
            #expect(rated.string("status") == "closed", "\(rated)")
            let updates = try await Self.outbox(h, kind: .complaintUpdate)
            #expect(updates.count == 1 && updates.first?.to == Self.tianjin && updates.first?.payload.complaintUpdate?.satisfied == true
                    && updates.first?.payload.complaintUpdate?.complaintId == id && updates.first?.payload.complaintUpdate?.event?.type == "rated", "\(updates)")
        }
    }

    @Test(arguments: Engine.available)
    func theProvinceConcernedHandlesItByItsOwnDeadlineAndTakesTheRating(_ engine: Engine) async throws {
        try await Harness.run(engine, region: Self.tianjin, hub: try Self.silentHub()) { h in
            // setup: a complaint lodged in Beijing (Wed 2026-11-18), forwarded here through the hub
            func forwarded(_ originId: String) -> Federation.Payload {
                .init(complaint: .init(complaintId: originId, kind: "complaint", topic: "card_refused", channel: "online", summary: "博物馆拒绝社保卡",
                                       regionCode: "120000", receivedAt: "2026-11-17T02:00:00Z", useId: nil, venueName: "天津博物馆",
                                       events: [.init(at: "2026-11-17T02:00:00Z", type: "lodged", actor: "holder:p1", note: "online"),
                                                .init(at: "2026-11-17T02:00:00Z", type: "forwarded", actor: "holder:p1", note: "120000")]))
            }
            let message = Self.relayed("complaint-bj-1", from: Self.beijing, to: Self.tianjin, forwarded("bj-1"), kind: .complaint)

            // action: it arrives, is redelivered, and arrives again under another message id
            _ = try await h.services.federation.receive(message)
            _ = try await h.services.federation.receive(message)
            _ = try await h.services.federation.receive(Self.relayed("complaint-bj-1-again", from: Self.beijing, to: Self.tianjin, forwarded("bj-1"), kind: .complaint))

            // validate: one complaint here, due 15 working days after the day it arrived (Wed 2026-11-18) by this province's calendar
            let list = try await h.call(.get, "/api/v1/complaints", token: h.agent)["complaints"] as? [[String: Any]] ?? []
            #expect(list.count == 1, "\(list)")
            let id = try #require(list.first?["complaintId"] as? String)
            let detail = try await h.call(.get, "/api/v1/complaints/\(id)", token: h.agent)
            #expect(detail.string("originRegion") == Self.beijing && detail.string("originComplaintId") == "bj-1" && detail.string("status") == "open", "\(detail)")
            #expect(detail.string("dueAt") == "2026-12-09T16:00:00Z", "\(detail)")
            #expect((detail["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String } == ["lodged", "forwarded", "lodged"], "\(detail)")
            // Beijing learns the deadline that applies, once
            var back = try await Self.outbox(h, kind: .complaintUpdate)
            #expect(back.count == 1 && back.first?.to == Self.beijing && back.first?.payload.complaintUpdate?.dueAt == "2026-12-09T16:00:00Z", "\(back)")

            // action: staff assign and answer as usual; a caller's rating is not theirs to record
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/assign", token: h.agent, json: ["to": "agent"]).string("status") == "assigned")
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/answer", token: h.agent, json: ["text": "已责令场馆改正"]).string("status") == "answered")
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/rate", token: h.agent, json: ["satisfied": true]).code == "invalid_transition")
            // validate: the answer goes back to Beijing
            back = try await Self.outbox(h, kind: .complaintUpdate)
            #expect(back.count == 2 && back.contains { $0.payload.complaintUpdate?.answer == "已责令场馆改正" && $0.payload.complaintUpdate?.complaintId == "bj-1" })

            // action: the holder's rating arrives: dissatisfied reopens it here, answered again, then satisfied closes it
            func rating(_ n: Int, _ satisfied: Bool) -> Federation.Envelope {
                Self.relayed("complaint-update-\(n)", from: Self.beijing, to: Self.tianjin, .init(complaintUpdate: .init(
                    complaintId: "bj-1", event: .init(at: "2026-11-19T02:00:00Z", type: "rated", actor: "holder:p1"), satisfied: satisfied)), kind: .complaintUpdate)
            }
            _ = try await h.services.federation.receive(rating(1, false))
            _ = try await h.services.federation.receive(rating(1, false))  // redelivered: not a second rating
            #expect(try await h.call(.get, "/api/v1/complaints/\(id)", token: h.agent).string("status") == "reopened")
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/answer", token: h.agent, json: ["text": "已当面致歉"]).string("status") == "answered")
            _ = try await h.services.federation.receive(rating(2, true))
            // validate
            let closed = try await h.call(.get, "/api/v1/complaints/\(id)", token: h.agent)
            #expect(closed.string("status") == "closed" && closed["satisfied"] as? Bool == true, "\(closed)")
            let types = (closed["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(types == ["lodged", "forwarded", "lodged", "assigned", "answered", "rated", "reopened", "answered", "rated", "closed"], "\(types)")

            // action: another forwarded complaint that is not this province's matter is returned, with the reason
            _ = try await h.services.federation.receive(Self.relayed("complaint-bj-2", from: Self.beijing, to: Self.tianjin, forwarded("bj-2"), kind: .complaint))
            let second = try #require((try await h.call(.get, "/api/v1/complaints?status=open", token: h.agent)["complaints"] as? [[String: Any]])?.first?["complaintId"] as? String)
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/return", token: h.agent, json: ["reason": "x"]).code == "invalid_transition")
            let returned = try await h.call(.post, "/api/v1/complaints/\(second)/return", token: h.agent, json: ["reason": "该场馆属河北省"])
            // validate: closed here, and Beijing told why
            #expect(returned.string("status") == "closed", "\(returned)")
            #expect((returned["events"] as? [[String: Any]])?.suffix(2).compactMap { $0["type"] as? String } == ["returned", "closed"], "\(returned)")
            back = try await Self.outbox(h, kind: .complaintUpdate)
            #expect(back.contains { $0.payload.complaintUpdate?.complaintId == "bj-2" && $0.payload.complaintUpdate?.event?.type == "returned"
                && $0.payload.complaintUpdate?.event?.note == "该场馆属河北省" }, "\(back)")

            // a malformed complaint is refused (the hub retries it; nothing is made of it)
            await #expect(throws: DomainError.self) {
                _ = try await h.services.federation.receive(Self.relayed("bad", from: Self.beijing, to: Self.tianjin,
                    .init(complaint: .init(complaintId: "bj-3", kind: "rant", topic: "other", channel: "online", summary: "x", regionCode: nil,
                                           receivedAt: "2026-11-17T02:00:00Z", useId: nil, venueName: nil, events: [])), kind: .complaint))
            }
        }
    }

    @Test(arguments: Engine.available)
    func aReturnedComplaintIsHandledAgainWhereItWasLodged(_ engine: Engine) async throws {
        try await Harness.run(engine, region: Self.beijing, hub: try Self.silentHub()) { h in
            // setup: an agent logs a 12345 call about Tianjin; it is forwarded
            let lodged = try await h.call(.post, "/api/v1/complaints", token: h.agent, json: [
                "kind": "consultation", "topic": "card", "channel": "12345", "summary": "在天津能否用社保卡乘地铁", "regionCode": "120000",
            ])
            let id = try #require(lodged.string("complaintId"), "\(lodged)")
            let due = try #require(lodged.string("dueAt"))
            // action: Tianjin moves the deadline, then returns it
            _ = try await h.services.federation.receive(Self.relayed("u-1", from: Self.tianjin, to: Self.beijing,
                                                                     .init(complaintUpdate: .init(complaintId: id, dueAt: "2026-12-30T16:00:00Z")), kind: .complaintUpdate))
            _ = try await h.services.federation.receive(Self.relayed("u-2", from: Self.tianjin, to: Self.beijing, .init(complaintUpdate: .init(
                complaintId: id, event: .init(at: "2026-11-18T08:00:00Z", type: "returned", actor: "agent:tj", note: "非本市事项"))), kind: .complaintUpdate))
            // validate: open here again, by this province's own deadline, and Beijing's staff answer it
            let back = try await h.call(.get, "/api/v1/complaints/\(id)", token: h.agent)
            #expect(back.string("status") == "open" && (back["forwardedTo"] as? String) == nil && back.string("dueAt") == due, "\(back)")
            #expect((back["events"] as? [[String: Any]])?.last?["note"] as? String == "非本市事项", "\(back)")
            #expect(try await h.call(.post, "/api/v1/complaints/\(id)/answer", token: h.agent, json: ["text": "可以"]).string("status") == "answered")
        }
    }
}
