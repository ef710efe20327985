import Foundation
import Logging
import NIOHTTP1
import OneCardCore

/// The platform's only way to a bank: HTTP with a deadline per call, retries with jittered exponential
/// back-off on transient failures (connection refused, timeout, 5xx), and a circuit breaker per bank
/// endpoint so a bank that is down is not hammered. One per application (`AppServices.bankGateway`), so two
/// applications in one process (tests, benchmarks) do not share breakers.
public actor BankGateway {
    public struct Credit: Codable, Sendable { public var paymentId: String; public var account: String; public var amountFen: Int64 }
    public struct Result: Codable, Sendable { public var paymentId: String; public var outcome: BankOutcome; public var reason: String? }

    public enum Failure: Error, CustomStringConvertible {
        /// Try again later; nothing is known to have happened.
        case unavailable(String)
        /// The bank refused the whole request; nothing was credited.
        case refused(String)
        public var description: String {
            switch self { case .unavailable(let s): "bank unavailable: \(s)"; case .refused(let s): "bank refused: \(s)" }
        }
    }

    private var breakers: [String: CircuitBreaker] = [:]
    let http: HTTPClient1
    let backoff: Backoff
    let attempts: Int

    public init(timeout: Duration = .seconds(10), backoff: Backoff = Backoff(base: 0.05, cap: 1), attempts: Int = 6) {
        self.http = HTTPClient1(timeout: timeout); self.backoff = backoff; self.attempts = attempts
    }

    /// Sends a batch credit; the bank answers each payment once and the same answer again for a repeat.
    public func credit(endpoint: String, _ credits: [Credit]) async throws -> [Result] {
        try await exchange(endpoint: endpoint, path: "credits", body: Data(BankWire.credits(credits)), read: BankWire.readResults)
    }

    /// A debit of a card's account (a transit trip: API.md "Transit", bank-sim `POST /debits`), one per `debitId`.
    public struct Debit: Codable, Sendable { public var debitId: String; public var account: String; public var amountFen: Int64 }
    public struct DebitResult: Codable, Sendable {
        public var debitId: String
        /// `ok`, `insufficient_funds` (nothing taken; ask again later), or `duplicate` (taken before under this id).
        public var status: String
    }
    struct DebitRequest: Codable { var debits: [Debit] }
    struct DebitReply: Codable { var results: [DebitResult] }

    /// Sends debits; the bank takes each `debitId` at most once and answers a repeat `duplicate`.
    public func debit(endpoint: String, _ debits: [Debit]) async throws -> [DebitResult] {
        try await exchange(endpoint: endpoint, path: "debits", body: try JSONEncoder().encode(DebitRequest(debits: debits))) {
            try? JSONDecoder().decode(DebitReply.self, from: $0).results
        }
    }

    /// One request to a bank with retries on transient failures and the endpoint's circuit breaker; `read` makes the
    /// answer of a 200 reply's body (nil: not an answer, tried again like a 5xx).
    private func exchange<Answer>(endpoint: String, path: String, body: Data, read: (Data) -> Answer?) async throws -> Answer {
        let url = endpoint.hasSuffix("/") ? endpoint + path : endpoint + "/" + path
        var lastError = "no attempt"
        for attempt in 1...attempts {
            guard allow(endpoint) else { throw Failure.unavailable("circuit open for \(endpoint) after \(lastError)") }
            do {
                let r = try await http.send("POST", url, headers: [("Content-Type", "application/json")], body: body)
                if r.status == 200, let reply = read(r.body) {
                    breakers[endpoint, default: CircuitBreaker()].succeeded()
                    return reply
                }
                if r.status >= 500 || r.status == 429 || r.status == 200 {
                    lastError = "HTTP \(r.status)"
                } else {
                    breakers[endpoint, default: CircuitBreaker()].succeeded()
                    throw Failure.refused("HTTP \(r.status): \(String(decoding: r.body.prefix(200), as: UTF8.self))")
                }
            } catch let f as Failure {
                throw f
            } catch {
                lastError = "\(error)"
            }
            breakers[endpoint, default: CircuitBreaker()].failed(now: Date())
            if attempt < attempts {
                try await Task.sleep(for: .seconds(backoff.delay(attempt: attempt, unit: Double.random(in: 0.5...1))))
            }
        }
        throw Failure.unavailable(lastError)
    }

    private func allow(_ endpoint: String) -> Bool {
        breakers[endpoint, default: CircuitBreaker()].allow(now: Date())
    }

    /// The breaker's state for an endpoint (tests and metrics).
    public func breaker(_ endpoint: String) -> CircuitBreaker { breakers[endpoint, default: CircuitBreaker()] }
}
