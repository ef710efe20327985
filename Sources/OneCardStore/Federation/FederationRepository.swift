import Foundation
import OneCardCore
import SQLKit

/// Numbers taken under a row lock held until commit (`sequence_heads`): committed in the order they were taken.
struct SequenceHeads: Sendable {
    let db: any SQLDatabase

    func next(_ name: String) async throws -> Int64 {
        guard let row = try await db.raw("UPDATE sequence_heads SET value = value + 1 WHERE name = \(bind: name) RETURNING value").first() else {
            throw ConfigurationError("sequence \(name) is missing; run the migrations")
        }
        return try row.int("value")
    }

    func current(_ name: String) async throws -> Int64 {
        try await db.raw("SELECT value FROM sequence_heads WHERE name = \(bind: name)").first().map { try $0.int("value") } ?? 0
    }
}

/// A message owed to another federation party, kept until acknowledged.
public struct OutboxMessage: Sendable, Equatable {
    public var id: String
    /// `hub`, or a member region the hub relays to.
    public var target: String
    public var kind: String
    /// JSON.
    public var payload: String
    public var createdAt: Date
    public var attempts: Int
    public var nextAt: Date
    public var deliveredAt: Date?
    public var answer: String?
    public var lastError: String?

    public init(id: String, target: String, kind: String, payload: String, createdAt: Date) {
        self.id = id; self.target = target; self.kind = kind; self.payload = payload; self.createdAt = createdAt
        attempts = 0; nextAt = createdAt
    }
}

/// One signed exchange kept as evidence.
public struct FederationEvidence: Sendable, Equatable {
    public enum Direction: String, Sendable { case incoming = "in", outgoing = "out" }
    public var seq: Int64
    public var at: Date
    public var direction: Direction
    public var peer: String
    public var method: String
    public var uri: String
    public var status: Int
    public var requestSignatureInput: String?
    public var requestSignature: String?
    public var responseSignatureInput: String?
    public var responseSignature: String?
    public var requestBody: String
    public var responseBody: String

    public init(at: Date, direction: Direction, peer: String, method: String, uri: String, status: Int, requestSignatureInput: String?,
                requestSignature: String?, responseSignatureInput: String?, responseSignature: String?, requestBody: String, responseBody: String) {
        seq = 0; self.at = at; self.direction = direction; self.peer = peer; self.method = method; self.uri = uri; self.status = status
        self.requestSignatureInput = requestSignatureInput; self.requestSignature = requestSignature
        self.responseSignatureInput = responseSignatureInput; self.responseSignature = responseSignature
        self.requestBody = requestBody; self.responseBody = responseBody
    }
}

/// What a node (or the hub) keeps of its signed exchange: state values, the outbox, the inbox, nonces, evidence.
public struct FederationRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect

    // MARK: state

    public func state(_ name: String) async throws -> String? {
        try await db.raw("SELECT value FROM federation_state WHERE name = \(bind: name)").first().map { try $0.string("value") }
    }

    public func setState(_ name: String, _ value: String, at: Date) async throws {
        try await db.raw("""
            INSERT INTO federation_state (name, value, updated_at) VALUES (\(bind: name), \(bind: value), \(bind: at.millis))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """).run()
    }

    // MARK: outbox

    public func enqueue(_ m: OutboxMessage) async throws {
        try await db.raw("""
            INSERT INTO federation_outbox (id, target, kind, payload, created_at, attempts, next_at)
            VALUES (\(bind: m.id), \(bind: m.target), \(bind: m.kind), \(bind: m.payload), \(bind: m.createdAt.millis), 0, \(bind: m.nextAt.millis))
            """).run()
    }

    /// Undelivered messages due at `now`, oldest first.
    public func due(now: Date, limit: Int = 50) async throws -> [OutboxMessage] {
        try await db.raw("""
            SELECT * FROM federation_outbox WHERE delivered_at IS NULL AND next_at <= \(bind: now.millis) ORDER BY created_at, id LIMIT \(bind: limit)
            """).all().map(Self.decodeOutbox)
    }

    public func outboxMessage(_ id: String) async throws -> OutboxMessage? {
        try await db.raw("SELECT * FROM federation_outbox WHERE id = \(bind: id)").first().map(Self.decodeOutbox)
    }

    public func delivered(_ id: String, at: Date, answer: String) async throws {
        try await db.raw("""
            UPDATE federation_outbox SET delivered_at = \(bind: at.millis), answer = \(bind: answer), last_error = NULL
            WHERE id = \(bind: id) AND delivered_at IS NULL
            """).run()
    }

    public func failed(_ id: String, error: String, retryAt: Date) async throws {
        try await db.raw("""
            UPDATE federation_outbox SET attempts = attempts + 1, next_at = \(bind: retryAt.millis), last_error = \(bind: String(error.prefix(500)))
            WHERE id = \(bind: id) AND delivered_at IS NULL
            """).run()
    }

    /// How many messages wait and since when.
    public func outboxDepth() async throws -> (pending: Int, oldest: Date?) {
        guard let r = try await db.raw("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM federation_outbox WHERE delivered_at IS NULL").first() else {
            return (0, nil)
        }
        return (Int(try r.int("n")), try r.optionalDate("oldest"))
    }

    static func decodeOutbox(_ r: any SQLRow) throws -> OutboxMessage {
        var m = OutboxMessage(id: try r.string("id"), target: try r.string("target"), kind: try r.string("kind"), payload: try r.string("payload"),
                              createdAt: try r.date("created_at"))
        m.attempts = Int(try r.int("attempts"))
        m.nextAt = try r.date("next_at")
        m.deliveredAt = try r.optionalDate("delivered_at")
        m.answer = try r.optionalString("answer")
        m.lastError = try r.optionalString("last_error")
        return m
    }

    // MARK: inbox

    /// The answer already given to message `id` from `sender`, if it was received before.
    public func received(sender: String, id: String) async throws -> String? {
        try await db.raw("SELECT answer FROM federation_inbox WHERE sender = \(bind: sender) AND id = \(bind: id)").first().map { try $0.string("answer") }
    }

    public func receive(sender: String, id: String, kind: String, at: Date, answer: String) async throws {
        try await db.raw("""
            INSERT INTO federation_inbox (sender, id, kind, received_at, answer) VALUES (\(bind: sender), \(bind: id), \(bind: kind), \(bind: at.millis), \(bind: answer))
            """).run()
    }

    // MARK: nonces

    /// Records a nonce; false when it was seen before.
    public func firstUse(keyID: String, nonce: String, created: Date) async throws -> Bool {
        let rows = try await db.raw("""
            INSERT INTO federation_nonces (key_id, nonce, created_at) VALUES (\(bind: keyID), \(bind: nonce), \(bind: created.millis))
            ON CONFLICT (key_id, nonce) DO NOTHING RETURNING nonce
            """).all()
        return !rows.isEmpty
    }

    /// Forgets nonces whose `created` is before `cutoff` (they would be refused as expired anyway).
    public func pruneNonces(before cutoff: Date) async throws {
        try await db.raw("DELETE FROM federation_nonces WHERE created_at < \(bind: cutoff.millis)").run()
    }

    // MARK: evidence

    public func keep(_ e: FederationEvidence) async throws {
        try await db.raw("""
            INSERT INTO federation_messages (at, direction, peer, method, uri, status, request_signature_input, request_signature,
                response_signature_input, response_signature, request_body, response_body)
            VALUES (\(bind: e.at.millis), \(bind: e.direction.rawValue), \(bind: e.peer), \(bind: e.method), \(bind: e.uri), \(bind: e.status),
                \(bind: e.requestSignatureInput), \(bind: e.requestSignature), \(bind: e.responseSignatureInput), \(bind: e.responseSignature),
                \(bind: e.requestBody), \(bind: e.responseBody))
            """).run()
    }

    /// The newest messages first, optionally only those exchanged with `peer`.
    public func evidence(peer: String? = nil, before: Int64? = nil, limit: Int = 100) async throws -> [FederationEvidence] {
        let before = before ?? Int64.max
        let rows = try await db.raw(peer.map { peer in
            "SELECT * FROM federation_messages WHERE peer = \(bind: peer) AND seq < \(bind: before) ORDER BY seq DESC LIMIT \(bind: limit)"
        } ?? "SELECT * FROM federation_messages WHERE seq < \(bind: before) ORDER BY seq DESC LIMIT \(bind: limit)").all()
        return try rows.map { r in
            var e = FederationEvidence(
                at: try r.date("at"), direction: FederationEvidence.Direction(rawValue: try r.string("direction")) ?? .incoming, peer: try r.string("peer"),
                method: try r.string("method"), uri: try r.string("uri"), status: Int(try r.int("status")),
                requestSignatureInput: try r.optionalString("request_signature_input"), requestSignature: try r.optionalString("request_signature"),
                responseSignatureInput: try r.optionalString("response_signature_input"), responseSignature: try r.optionalString("response_signature"),
                requestBody: try r.string("request_body"), responseBody: try r.string("response_body"))
            e.seq = try r.int("seq")
            return e
        }
    }
}
