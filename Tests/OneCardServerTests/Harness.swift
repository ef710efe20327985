import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// A decoded reply: status, problem code and JSON body.
struct Reply: @unchecked Sendable, CustomStringConvertible {
    let status: Int
    let contentType: String
    let body: Data
    /// The response's header fields.
    var headers = HTTPFields()
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var code: String? { json["code"] as? String }
    subscript(key: String) -> Any? { json[key] }
    func string(_ key: String) -> String? { json[key] as? String }
    var description: String { "\(status) \(String(decoding: body, as: UTF8.self).prefix(400))" }
}

/// The platform in-process, on a fresh database, with a clock the test moves and an admin and an
/// agent signed in.
struct Harness: Sendable {
    let services: AppServices
    let clock: ManualClock
    let client: any TestClientProtocol
    let admin: String
    let agent: String
    /// The server's own `/openapi.json`; every reply of `call` is checked against it.
    let contract: ContractChecker

    static let start = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18

    /// `hub`: the node has joined that hub (nothing answers there unless the test starts something).
    static func run(_ engine: Engine, region: String = "110000", hub: HubLink? = nil, _ body: @Sendable (Harness) async throws -> Void) async throws {
        let db = try await TestDatabase.make(engine)
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-keys-\(UUID().uuidString)")
        let clock = ManualClock(start)
        let services: AppServices
        do {
            // Sessions outlive the clock jumps of lapse tests; expiry has its own test.
            var config = try ServerConfiguration(database: db.url, region: region, dataDir: dataDir, bcryptCost: 4,
                                                 sessionLifetime: 60 * 86_400, logLevel: .warning)
            // A handler answering a code its endpoint does not document fails the test (500 undocumented_error).
            config.strictContract = true
            config.hub = hub
            services = try await OneCardApp.services(config, clock: clock.clock, logger: TestDatabase.logger)
        } catch { await db.remove(); try? FileManager.default.removeItem(at: dataDir); throw error }
        do {
            try await services.store.migrate()
            _ = try await services.createStaffUser(username: "admin", password: "admin-password", role: .admin)
            _ = try await services.createStaffUser(username: "agent", password: "agent-password", role: .agent)
            let admin = try await services.accounts.staffToken(username: "admin", password: "admin-password").accessToken
            let agent = try await services.accounts.staffToken(username: "agent", password: "agent-password").accessToken
            let (router, _) = OneCardApp.router(services)
            let app = Application(router: router)
            try await app.test(.router) { client in
                let document = try await client.execute(uri: "/openapi.json", method: .get, headers: [:], body: nil)
                let contract = try ContractChecker(document: Data(buffer: document.body))
                try await body(Harness(services: services, clock: clock, client: client, admin: admin, agent: agent, contract: contract))
            }
        } catch {
            await services.store.close(); await db.remove(); try? FileManager.default.removeItem(at: dataDir)
            throw error
        }
        await services.store.close()
        await db.remove()
        try? FileManager.default.removeItem(at: dataDir)
    }

    /// Sends a request; `body` is raw JSON text (so tests can send malformed bodies too).
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: String? = nil,
              headers: [String: String] = [:]) async throws -> Reply {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        if body != nil { fields[.contentType] = "application/json" }
        for (k, v) in headers { fields[HTTPField.Name(k)!] = v }
        let response = try await client.execute(uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) })
        let reply = Reply(status: Int(response.status.code), contentType: response.headers[.contentType] ?? "", body: Data(buffer: response.body),
                          headers: response.headers)
        // Every reply of a documented operation must match the document: status, media type, body schema.
        for issue in contract.check(method: method.rawValue, path: uri, status: reply.status, contentType: reply.contentType, body: reply.body) {
            Issue.record("contract: \(issue)")
        }
        return reply
    }

    func call(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: [String: Any]) async throws -> Reply {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try await call(method, uri, token: token, body: String(decoding: data, as: UTF8.self))
    }

    // MARK: helpers per endpoint

    func createOutlet(region: String = "110105", name: String = "朝阳区社保卡服务中心") async throws -> String {
        let r = try await call(.post, "/api/v1/outlets", token: admin, json: [
            "name": name, "regionCode": region, "address": "朝阳路 1 号", "services": ["apply", "pickup"], "hours": "09:00-17:00",
            "accessibility": ["无障碍通道"],
        ])
        #expect(r.status == 201, "\(r)")
        return try #require(r.string("outletId"))
    }

    /// A cooperating bank; with an `endpoint` (a running bank-sim) payments can be sent to it.
    func createBank(_ code: String = "ICBC", to: String = "2030-12-31", endpoint: String? = nil) async throws {
        let names = ["ICBC": "中国工商银行", "CCB": "中国建设银行", "BOC": "中国银行"]
        var body: [String: Any] = ["code": code, "name": names[code] ?? "\(code) 银行", "agreementFrom": "2024-01-01", "agreementTo": to]
        if let endpoint { body["endpoint"] = endpoint }
        let r = try await call(.post, "/api/v1/banks", token: admin, json: body)
        #expect(r.status == 201, "\(r)")
    }

    func createPerson(idNumber: String = TestIDs.resident(), name: String = "王秀梅") async throws -> String {
        let r = try await call(.post, "/api/v1/persons", token: agent, json: ["idType": "resident", "idNumber": idNumber, "name": name, "phone": "13800001234"])
        #expect(r.status == 201, "\(r)")
        return try #require(r.string("personId"))
    }

    func apply(person: String, outlet: String, bank: String = "ICBC") async throws -> Reply {
        try await call(.post, "/api/v1/card-applications", token: agent, json: [
            "personId": person, "channel": "counter", "applyOutletId": outlet, "bankCode": bank,
        ])
    }

    func step(_ application: String, _ step: String, json: [String: Any]? = nil) async throws -> Reply {
        if let json { return try await call(.post, "/api/v1/card-applications/\(application)/\(step)", token: agent, json: json) }
        return try await call(.post, "/api/v1/card-applications/\(application)/\(step)", token: agent)
    }

    /// The agent takes a submitted application through approve → produce → ready → collect: the card number.
    func approveAndCollect(_ application: String) async throws -> String {
        var number = ""
        for s in ["approve", "produce", "ready", "collect"] {
            let r = try await step(application, s)
            #expect(r.status == 200, "\(s): \(r)")
            if s == "produce" { number = try #require(r.string("cardNumber")) }
        }
        return number
    }

    /// A person with an issued card: returns (personId, cardNumber).
    func issuedCard(idNumber: String = TestIDs.resident(), name: String = "王秀梅", outlet given: String? = nil,
                    bank: String = "ICBC") async throws -> (String, String) {
        let outlet: String
        if let given { outlet = given } else { outlet = try await createOutlet() }
        let person = try await createPerson(idNumber: idNumber, name: name)
        let app = try await apply(person: person, outlet: outlet, bank: bank)
        #expect(app.status == 201, "\(app)")
        return (person, try await approveAndCollect(try #require(app.string("applicationId"))))
    }

    /// A person with an issued and activated card: returns (personId, cardNumber).
    func activeCard(idNumber: String = TestIDs.resident(), name: String = "王秀梅", outlet: String? = nil) async throws -> (String, String) {
        let (person, number) = try await issuedCard(idNumber: idNumber, name: name, outlet: outlet)
        let r = try await call(.post, "/api/v1/cards/\(number)/activate", token: agent, json: ["pin": "246810"])
        #expect(r.string("status") == "active", "\(r)")
        return (person, number)
    }

    func eventTypes(_ card: String) async throws -> [String] {
        let r = try await call(.get, "/api/v1/cards/\(card)/events", token: agent)
        return (r["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
    }

    func count(_ table: String) async throws -> Int {
        try await services.store.read { s in Int(try await s.db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()!.decode(column: "n", as: Int64.self)) }
    }
}

extension Harness {
    /// The person with `idNumber` opens an online account and signs in: the holder's access token.
    func signUpHolder(idNumber: String, name: String = "王秀梅", password: String = "holder-password") async throws -> String {
        let signUp = try await call(.post, "/api/v1/holders", json: ["idType": "resident", "idNumber": idNumber, "name": name, "phone": "13800001234",
                                                                 "password": password])
        #expect(signUp.status == 201, "\(signUp)")
        return try #require(try await call(.post, "/api/v1/auth/holder-token", json: ["idNumber": idNumber, "password": password]).string("accessToken"))
    }

    /// A signed-in holder with an active card: (holder token, personId, cardNumber).
    func holderWithCard(idNumber: String = TestIDs.resident(sequence: "555"), name: String = "王秀梅") async throws -> (String, String, String) {
        let (person, number) = try await activeCard(idNumber: idNumber, name: name)
        return (try await signUpHolder(idNumber: idNumber, name: name), person, number)
    }

    /// A signed-in holder with an active card and an e-card on "phone-1": (holder token, personId, cardNumber).
    func holderWithECard(idNumber: String = TestIDs.resident(sequence: "777"), name: String = "王秀梅") async throws -> (String, String, String) {
        let (token, person, number) = try await holderWithCard(idNumber: idNumber, name: name)
        let ecard = try await call(.post, "/api/v1/me/ecard", token: token, json: ["deviceId": "phone-1"])
        #expect(ecard.status == 201, "\(ecard)")
        return (token, person, number)
    }

    func qrToken(_ holder: String) async throws -> String {
        try #require(try await call(.post, "/api/v1/me/ecard/qr", token: holder).string("token"))
    }
}
