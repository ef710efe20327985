import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OneCardCore
import OneCardTestSupport
import Testing

/// Issue 16's done-when, across provinces (JJJ art. 23): a Beijing holder's e-card is refused at the Tianjin museum;
/// from "who checked my card" at Beijing the holder complains about that use; the complaint reaches Tianjin through the
/// hub, tied to the museum's own use record, due by Tianjin's deadline; Tianjin's staff answer it; the answer shows at
/// Beijing; the holder rates it there and Tianjin closes it. Every step arrives once.
@Suite("Federation: a complaint about another province travels there and back", .serialized)
struct FederationComplaintTests {
    static let beijing = FederationHarness.beijing, tianjin = FederationHarness.tianjin

    @Test(arguments: Engine.available)
    func aRefusalInTianjinIsComplainedAboutInBeijingAnsweredInTianjinAndRatedInBeijing(_ engine: Engine) async throws {
        try await FederationHarness.with(engine) { fed in
            let beijing = fed[Self.beijing], tianjin = fed[Self.tianjin]
            // setup: a Beijing holder's e-card QR code at the Tianjin museum, whose item is Tianjin's own: refused
            let holderID = try #require(beijing.holderID(1))
            let holder = try #require(try await beijing.http.call("POST", "/api/v1/auth/holder-token", json: [
                "idNumber": holderID, "password": "holder-demo-1"])["accessToken"] as? String)
            _ = try await beijing.http.call("POST", "/api/v1/me/ecard", token: holder, json: ["deviceId": "phone-1"])
            let token = try #require(try await beijing.http.call("POST", "/api/v1/me/ecard/qr", token: holder)["token"] as? String)
            let museumKey = try #require(tianjin.terminalKey(venue: "博物馆"))
            let refused = try await tianjin.http.call("POST", "/api/v1/acceptances", token: museumKey, json: [
                "itemCode": "12-MUS-001", "credential": ["kind": "qr", "token": token],
            ], headers: [("Idempotency-Key", "museum-1")])
            #expect(refused["decision"] as? String == "denied" && refused["reason"] != nil, "\(refused)")
            var use: [String: Any] = [:]
            try await eventually("the refusal reaches the holder's \"who checked my card\"") {
                let uses = try await beijing.http.call("GET", "/api/v1/me/uses", token: holder)["uses"] as? [[String: Any]] ?? []
                use = uses.first { $0["decision"] as? String == "denied" && ($0["regionCode"] as? String)?.hasPrefix("12") == true } ?? [:]
                return !use.isEmpty
            }
            let useId = try #require(use["useId"] as? String)

            // action: the holder complains at Beijing about that use
            let lodged = try await beijing.http.call("POST", "/api/v1/me/complaints", token: holder, json: [
                "kind": "complaint", "topic": "card_refused", "channel": "online", "summary": "天津博物馆不接受我的电子社保卡", "useId": useId,
            ])
            #expect(lodged.status == 201 && lodged["status"] as? String == "open" && lodged["forwardedTo"] as? String == "120000", "\(lodged)")
            let id = try #require(lodged["complaintId"] as? String)

            // validate: it reaches Tianjin, tied to the museum's use, due by Tianjin's deadline, and Beijing shows that deadline
            var tianjinId = ""
            try await eventually("the complaint reaches Tianjin") {
                let list = try await tianjin.http.call("GET", "/api/v1/complaints", token: tianjin.agent)["complaints"] as? [[String: Any]] ?? []
                tianjinId = list.first { $0["originComplaintId"] as? String == id }?["complaintId"] as? String ?? ""
                return !tianjinId.isEmpty
            }
            let there = try await tianjin.http.call("GET", "/api/v1/complaints/\(tianjinId)", token: tianjin.agent)
            #expect(there["originRegion"] as? String == Self.beijing && there["useId"] is String && there["venueId"] is String, "\(there)")
            let tianjinDue = try #require(there["dueAt"] as? String)
            try await eventually("Beijing shows Tianjin's deadline") {
                try await beijing.http.call("GET", "/api/v1/me/complaints/\(id)", token: holder)["dueAt"] as? String == tianjinDue
            }

            // action: Tianjin's staff assign and answer it
            #expect(try await tianjin.http.call("POST", "/api/v1/complaints/\(tianjinId)/assign", token: tianjin.agent, json: ["to": "agent"])["status"] as? String == "assigned")
            let answered = try await tianjin.http.call("POST", "/api/v1/complaints/\(tianjinId)/answer", token: tianjin.agent,
                                                       json: ["text": "已责令博物馆改正，并向您致歉"])
            #expect(answered["status"] as? String == "answered" && answered["overdue"] as? Bool == false, "\(answered)")

            // validate: the holder sees the answer at Beijing, within the deadline
            try await eventually("the answer reaches Beijing") {
                let mine = try await beijing.http.call("GET", "/api/v1/me/complaints", token: holder)["complaints"] as? [[String: Any]] ?? []
                return mine.contains { $0["complaintId"] as? String == id && $0["status"] as? String == "answered"
                    && $0["answer"] as? String == "已责令博物馆改正，并向您致歉" && $0["overdue"] as? Bool == false }
            }

            // action: the holder rates it at Beijing
            let rated = try await beijing.http.call("POST", "/api/v1/me/complaints/\(id)/rate", token: holder, json: ["satisfied": true])
            #expect(rated["status"] as? String == "closed", "\(rated)")

            // validate: Tianjin closes it; each side has the thread once
            try await eventually("the rating reaches Tianjin") {
                try await tianjin.http.call("GET", "/api/v1/complaints/\(tianjinId)", token: tianjin.agent)["status"] as? String == "closed"
            }
            try await fed.waitUntilSettled()
            let here = try await beijing.http.call("GET", "/api/v1/me/complaints/\(id)", token: holder)
            #expect((here["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String } == ["lodged", "forwarded", "answered", "rated", "closed"], "\(here)")
            let final = try await tianjin.http.call("GET", "/api/v1/complaints/\(tianjinId)", token: tianjin.agent)
            #expect((final["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
                    == ["lodged", "forwarded", "lodged", "assigned", "answered", "rated", "closed"], "\(final)")
            let all = try await tianjin.http.call("GET", "/api/v1/complaints", token: tianjin.agent)["complaints"] as? [[String: Any]] ?? []
            #expect(all.filter { $0["originComplaintId"] as? String == id }.count == 1, "\(all)")
        }
    }

    /// Waits up to 20 s for `condition`, recording an issue naming `what` if it never holds.
    func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("not within 20 s: \(what)")
    }
}
