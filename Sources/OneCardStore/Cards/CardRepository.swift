import Foundation
import OneCardCore
import SQLKit

/// Cards; the bank account number is encrypted at rest and kept masked beside it.
public struct CardRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect
    let cipher: FieldCipher

    /// A card's row with its account sealed, made ahead of its transaction (see `PersonRepository.Sealed`).
    public struct Sealed: Sendable {
        let number: String, identificationCode: String, personId: String, applicationId: String?, issuerRegion: String, status: String
        let transit: Int64, financial: Int64, bankCode: String?, accountEnc: String?, accountMasked: String?, pinHash: String?
        let issuedAt: Int64, expiresAt: Int64, lostAt: Int64?, replacedBy: String?, replaces: String?
    }

    public static func seal(_ c: Card, cipher: FieldCipher) -> Sealed {
        Sealed(number: c.number.rawValue, identificationCode: c.identificationCode, personId: c.personId.rawValue, applicationId: c.applicationId,
               issuerRegion: c.issuerRegion, status: c.status.rawValue, transit: c.transit.int, financial: c.financial.int, bankCode: c.bankCode,
               accountEnc: c.accountNumber.map { cipher.seal($0, field: "account") }, accountMasked: c.accountNumber.map(Mask.account),
               pinHash: c.pinHash, issuedAt: c.issuedAt.millis, expiresAt: c.expiresAt.millis, lostAt: c.lostAt?.millis,
               replacedBy: c.replacedBy?.rawValue, replaces: c.replaces?.rawValue)
    }

    public func insert(_ c: Card) async throws {
        try await insert(sealed: [Self.seal(c, cipher: cipher)])
    }

    /// Inserts sealed cards, many rows per statement.
    public func insert(sealed rows: [Sealed]) async throws {
        for part in stride(from: 0, to: rows.count, by: 1000) {
            var insert = db.insert(into: "cards").columns(
                "card_number", "identification_code", "person_id", "application_id", "issuer_region", "status", "transit", "financial",
                "bank_code", "account_enc", "account_masked", "pin_hash", "issued_at", "expires_at", "lost_at", "replaced_by", "replaces")
            for r in rows[part..<min(part + 1000, rows.count)] {
                insert = insert.values([SQLBind(r.number), SQLBind(r.identificationCode), SQLBind(r.personId), SQLBind(r.applicationId),
                                        SQLBind(r.issuerRegion), SQLBind(r.status), SQLBind(r.transit), SQLBind(r.financial), SQLBind(r.bankCode),
                                        SQLBind(r.accountEnc), SQLBind(r.accountMasked), SQLBind(r.pinHash), SQLBind(r.issuedAt),
                                        SQLBind(r.expiresAt), SQLBind(r.lostAt), SQLBind(r.replacedBy), SQLBind(r.replaces)])
            }
            try await insert.run()
        }
    }

    /// The highest card number starting with `letter` (where a bulk load of synthetic residents left off).
    public func highest(startingWith letter: String) async throws -> CardNumber? {
        // ':' follows '9' in ASCII: every number starting with the letter sorts between the two bounds.
        // Not `.map { try CardNumber(…) }`: Swift 6.3's optimizer crashed splitting this coroutine and `existing(numbers:)`
        // with that closure in them (signal 11 in LLVM's CoroSplit, release builds only); `cardNumber(_:)` reads the same.
        guard let row = try await db.raw("""
            SELECT card_number FROM cards WHERE card_number >= \(bind: letter) AND card_number < \(bind: letter + ":")
            ORDER BY card_number DESC LIMIT 1
            """).first() else { return nil }
        return try row.cardNumber("card_number")
    }

    /// Which of these card numbers are already taken.
    public func existing(numbers: [CardNumber]) async throws -> Set<CardNumber> {
        guard !numbers.isEmpty else { return [] }
        var keys = SQLQueryString("")
        for (i, n) in numbers.enumerated() { keys += i == 0 ? "(\(bind: n.rawValue))" : ", (\(bind: n.rawValue))" }
        var taken = Set<CardNumber>()
        for row in try await db.raw("SELECT c.card_number FROM (VALUES \(keys)) AS k JOIN cards c ON c.card_number = k.column1").all() {
            taken.insert(try row.cardNumber("card_number"))
        }
        return taken
    }

    /// Reads a card; `lock` takes a row lock for a read-modify-write in a transaction.
    public func find(_ number: CardNumber, lock: Bool = false) async throws -> Card? {
        try await db.raw("SELECT * FROM cards WHERE card_number = \(bind: number)\(unsafeRaw: lock ? dialect.forUpdate : "")")
            .first().map(decode)
    }

    /// Several cards in one query (acceptances decided together).
    public func find(numbers: [CardNumber]) async throws -> [Card] {
        guard !numbers.isEmpty else { return [] }
        return try await db.raw("SELECT * FROM cards WHERE card_number \(dialect.oneOf(numbers.map(\.rawValue)))").all().map(decode)
    }

    /// Writes the mutable part of a card back.
    public func update(_ c: Card) async throws {
        try await db.raw("""
            UPDATE cards SET status = \(bind: c.status.rawValue), pin_hash = \(bind: c.pinHash), lost_at = \(bind: c.lostAt?.millis),
                replaced_by = \(bind: c.replacedBy), bank_code = \(bind: c.bankCode),
                account_enc = \(bind: c.accountNumber.map { cipher.seal($0, field: "account") }),
                account_masked = \(bind: c.accountNumber.map(Mask.account)), financial = \(bind: c.financial.int)
            WHERE card_number = \(bind: c.number)
            """).run()
    }

    /// Loads or removes the card's transit function (API.md "Transit": `POST …/functions`).
    public func setTransit(_ number: CardNumber, _ transit: Bool) async throws {
        try await db.raw("UPDATE cards SET transit = \(bind: transit.int) WHERE card_number = \(bind: number)").run()
    }

    /// The person's one live card (not cancelled, not replaced), if any.
    public func live(personId: Person.ID) async throws -> Card? {
        try await db.raw("""
            SELECT * FROM cards WHERE person_id = \(bind: personId) AND status NOT IN ('cancelled', 'replaced')
            """).first().map(decode)
    }

    /// Live cards (not cancelled, not replaced) after `number` in number order, with their holders: a page of a walk
    /// over every live card (the federation's one-time registration of cards issued before a node joined).
    public func livePage(after number: String, limit: Int) async throws -> [(number: CardNumber, personId: Person.ID)] {
        try await db.raw("""
            SELECT card_number, person_id FROM cards WHERE card_number > \(bind: number) AND status NOT IN ('cancelled', 'replaced')
            ORDER BY card_number LIMIT \(bind: limit)
            """).all().map { (try $0.cardNumber("card_number"), try $0.id("person_id")) }
    }

    /// Every card a person has held, newest first.
    public func list(personId: Person.ID) async throws -> [Card] {
        try await db.raw("SELECT * FROM cards WHERE person_id = \(bind: personId) ORDER BY issued_at DESC").all().map(decode)
    }

    /// Card numbers whose temporary loss report was made before `cutoff`.
    public func temporarilyLost(before cutoff: Date) async throws -> [CardNumber] {
        try await db.raw("""
            SELECT card_number FROM cards WHERE status = 'temporarily_lost' AND lost_at <= \(bind: cutoff.millis) ORDER BY lost_at
            """).all().map { try $0.cardNumber("card_number") }
    }

    public func count(status: CardStatus) async throws -> Int {
        Int(try await db.raw("SELECT COUNT(*) AS n FROM cards WHERE status = \(bind: status.rawValue)").first()?.int("n") ?? 0)
    }

    func decode(_ r: any SQLRow) throws -> Card {
        Card(number: try r.cardNumber("card_number"), identificationCode: try r.string("identification_code"),
             personId: try r.id("person_id"), applicationId: try r.optionalString("application_id"),
             issuerRegion: try r.string("issuer_region"), status: CardStatus(rawValue: try r.string("status")) ?? .cancelled,
             transit: try r.bool("transit"), financial: try r.bool("financial"), bankCode: try r.optionalString("bank_code"),
             accountNumber: try r.optionalString("account_enc").map { try cipher.open($0, field: "account") },
             pinHash: try r.optionalString("pin_hash"), issuedAt: try r.date("issued_at"), expiresAt: try r.date("expires_at"),
             lostAt: try r.optionalDate("lost_at"), replacedBy: try r.optionalCardNumber("replaced_by"), replaces: try r.optionalCardNumber("replaces"))
    }
}

/// Card and application events, in the order they happened.
public struct EventRepository: Sendable {
    let db: any SQLDatabase

    public func append(_ e: CardEvent) async throws {
        try await append([e])
    }

    /// Appends events in this order, many rows per statement.
    public func append(_ events: [CardEvent]) async throws {
        for part in stride(from: 0, to: events.count, by: 1000) {
            var insert = db.insert(into: "card_events").columns("at", "type", "actor", "channel", "reason", "card_number", "application_id")
            for e in events[part..<min(part + 1000, events.count)] {
                insert = insert.values([SQLBind(e.at.millis), SQLBind(e.type), SQLBind(e.actor), SQLBind(e.channel), SQLBind(e.reason),
                                        SQLBind(e.cardNumber?.rawValue), SQLBind(e.applicationId)])
            }
            try await insert.run()
        }
    }

    /// A card's history, including the application it came from.
    public func list(cardNumber: CardNumber, applicationId: CardApplication.ID?) async throws -> [CardEvent] {
        try await db.raw("""
            SELECT * FROM card_events WHERE card_number = \(bind: cardNumber)
               OR (application_id IS NOT NULL AND application_id = \(bind: applicationId ?? "")) ORDER BY seq
            """).all().map(Self.decode)
    }

    /// Several cards' own events in one query, in order (taps judged as of their time).
    public func list(cardNumbers: [CardNumber]) async throws -> [CardEvent] {
        guard !cardNumbers.isEmpty else { return [] }
        return try await db.raw("SELECT * FROM card_events WHERE card_number IN (\(binds: Array(Set(cardNumbers)))) ORDER BY seq").all().map(Self.decode)
    }

    public func list(applicationId: String) async throws -> [CardEvent] {
        try await db.raw("SELECT * FROM card_events WHERE application_id = \(bind: applicationId) ORDER BY seq").all().map(Self.decode)
    }

    static func decode(_ r: any SQLRow) throws -> CardEvent {
        CardEvent(at: try r.date("at"), type: try r.string("type"), actor: try r.string("actor"), channel: try r.string("channel"),
                  reason: try r.optionalString("reason"), cardNumber: try r.optionalCardNumber("card_number"),
                  applicationId: try r.optionalString("application_id"))
    }
}
