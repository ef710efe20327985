import Foundation
import HTTPTypes
import Logging
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// Helpers for disbursement tests: departments, holders with cards, bank-sims in-process.
extension Harness {
    /// A new staff user with `role`, signed in to the API: their access token (password "<username>-password").
    func signedInStaff(_ username: String, _ role: Role) async throws -> String {
        _ = try await services.createStaffUser(username: username, password: "\(username)-password", role: role)
        return try await services.accounts.staffToken(username: username, password: "\(username)-password").accessToken
    }

    /// A holder with an issued card at `bank` and an online account: (idNumber, cardNumber, holderToken).
    func payee(_ n: Int, bank: String, outlet: String, name: String = "王秀梅") async throws -> Payee {
        let id = TestIDs.resident(sequence: String(format: "%03d", n))
        let (_, number) = try await issuedCard(idNumber: id, name: name, outlet: outlet, bank: bank)
        return (id, number, try await signUpHolder(idNumber: id, name: name, password: "holder-password-1"))
    }

    func programme(_ token: String) async throws -> String {
        let r = try await call(.post, "/api/v1/programmes", token: token, json: [
            "name": "耕地地力保护补贴", "kind": "subsidy", "department": "农业农村局", "legalBasis": "广东省社会保障卡一卡通条例第八条",
        ])
        #expect(r.status == 201, "\(r)")
        return try #require(r.string("programmeId"))
    }

    /// Uploads a batch of (idNumber, name, amountFen) lines to a programme as JSON.
    func uploadBatch(_ programme: String, token: String, lines: [(String, String, Int)]) async throws -> Reply {
        try await call(.post, "/api/v1/programmes/\(programme)/batches", token: token,
                       json: ["lines": lines.map { ["idNumber": $0.0, "name": $0.1, "amountFen": $0.2] }])
    }

    /// POST /api/v1/batches/{id}/approve as the department user with `token`.
    func approveBatch(_ id: String, by token: String) async throws -> Reply {
        try await call(.post, "/api/v1/batches/\(id)/approve", token: token)
    }

    /// POST /api/v1/batches/{id}/execute as the department user with `token`.
    func executeBatch(_ id: String, by token: String) async throws -> Reply {
        try await call(.post, "/api/v1/batches/\(id)/execute", token: token)
    }

    func batch(_ id: String) async throws -> [String: Any] {
        let r = try await call(.get, "/api/v1/batches/\(id)", token: admin)
        #expect(r.status == 200, "\(r)")
        return r.json
    }

    func counts(_ id: String) async throws -> [String: Int] { (try await batch(id))["counts"] as? [String: Int] ?? [:] }

    func account(_ card: String) async throws -> String {
        try #require(try await services.store.read { try await $0.cards.find(try CardNumber(card)) }?.accountNumber)
    }

    var executor: PaymentExecutor { services.paymentExecutor(chunk: 3) }
}

/// A holder who can be paid: ID number, card number and the holder's access token (password "holder-password-1").
typealias Payee = (idNumber: String, card: String, token: String)

/// The set-up of every test that pays through banks: a bank-sim in this process for each of `banks`, the
/// platform on `engine` with each bank connected to its sim, one outlet, and `payees` holders with cards
/// and online accounts at the first bank (ID numbers with sequence 001, 002, …).
struct BanksAndPayees: Sendable {
    let h: Harness
    let outlet: String
    let sims: [String: BankSimulator.Running]
    let payees: [Payee]

    /// The bank-sim of `code`.
    func sim(_ code: String) -> BankSimulator.Running { sims[code]! }

    static func run(_ engine: Engine, banks: [String] = ["ICBC", "CCB"], payees: Int = 3,
                    _ body: @Sendable (BanksAndPayees) async throws -> Void) async throws {
        var started: [String: BankSimulator.Running] = [:]
        do {
            for code in banks { started[code] = try await BankSimulator.start(.init(bank: code, port: 0, storePath: nil), logger: TestDatabase.logger) }
            let sims = started
            try await Harness.run(engine) { h in
                for code in banks { try await h.createBank(code, endpoint: sims[code]!.url) }
                let outlet = try await h.createOutlet()
                var list: [Payee] = []
                for n in 1...payees { list.append(try await h.payee(n, bank: banks[0], outlet: outlet)) }
                try await body(BanksAndPayees(h: h, outlet: outlet, sims: sims, payees: list))
            }
        } catch {
            for sim in started.values { await sim.stop() }
            throw error
        }
        for sim in started.values { await sim.stop() }
    }
}

/// A bank-sim running in this process for the length of `body`.
func withBank(_ code: String, failRate: Double = 0, loseReplyRate: Double = 0,
              _ body: @Sendable (BankSimulator.Running) async throws -> Void) async throws {
    let bank = try await BankSimulator.start(.init(bank: code, port: 0, storePath: nil, failRate: failRate, loseReplyRate: loseReplyRate),
                                             logger: TestDatabase.logger)
    do { try await body(bank) } catch { await bank.stop(); throw error }
    await bank.stop()
}

extension HTTPClient1 {
    /// A test's own call to a simulator (a bank's balance, an account closed): patient. The test command's first pass
    /// runs hundreds of suites on two cores, where one answer may wait its turn for more than the platform's 10 s
    /// deadline (CI stop 24: two such calls timed out); the platform's own calls keep their deadlines.
    static let toSimulator = HTTPClient1(timeout: .seconds(60))
}
