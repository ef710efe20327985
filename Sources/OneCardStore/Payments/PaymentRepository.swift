import Foundation
import OneCardCore
import SQLKit

/// Programmes, batches, payments and the holder's notifications. Account numbers on payments are
/// encrypted at rest like the card's; the account a line was made against is kept only as a keyed
/// fingerprint, enough to tell that it changed before execution.
public struct PaymentRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect
    let cipher: FieldCipher

    // MARK: Programmes

    public func insert(_ p: Programme) async throws {
        try await db.raw("""
            INSERT INTO programmes (id, name, kind, department, legal_basis, funding_account_enc, created_by, created_at)
            VALUES (\(bind: p.id), \(bind: p.name), \(bind: p.kind.rawValue), \(bind: p.department), \(bind: p.legalBasis),
                    \(bind: p.fundingAccount.map { cipher.seal($0, field: "account") }), \(bind: p.createdBy), \(bind: p.createdAt.millis))
            """).run()
    }

    public func programme(_ id: Programme.ID) async throws -> Programme? {
        try await db.raw("SELECT * FROM programmes WHERE id = \(bind: id)").first().map { r in
            Programme(id: try r.id("id"), name: try r.string("name"), kind: ProgrammeKind(rawValue: try r.string("kind")) ?? .other,
                      department: try r.string("department"), legalBasis: try r.string("legal_basis"),
                      fundingAccount: try r.optionalString("funding_account_enc").map { try cipher.open($0, field: "account") },
                      createdBy: try r.string("created_by"), createdAt: try r.date("created_at"))
        }
    }

    // MARK: Batches

    public func insert(_ b: PaymentBatch, idempotencyKey: String? = nil) async throws {
        try await db.raw("""
            INSERT INTO payment_batches (id, programme_id, status, uploaded_by, approved_by, created_at, approved_at, completed_at, rejected_count,
                idempotency_key)
            VALUES (\(bind: b.id), \(bind: b.programmeId), \(bind: b.status.rawValue), \(bind: b.uploadedBy), \(bind: b.approvedBy),
                    \(bind: b.createdAt.millis), \(bind: b.approvedAt?.millis), \(bind: b.completedAt?.millis), \(bind: Int64(b.rejectedCount)),
                    \(bind: idempotencyKey))
            """).run()
    }

    /// The batch an earlier upload with this Idempotency-Key made, if any.
    public func batch(programmeId: Programme.ID, idempotencyKey: String) async throws -> PaymentBatch.ID? {
        try await db.raw("""
            SELECT id FROM payment_batches WHERE programme_id = \(bind: programmeId) AND idempotency_key = \(bind: idempotencyKey)
            """).first()?.id("id")
    }

    /// The lines an upload rejected, kept so a repeated upload gets the same answer.
    public func insertRejections(batchId: PaymentBatch.ID, _ lines: [RejectedLine]) async throws {
        for part in stride(from: 0, to: lines.count, by: 500) {
            var insert = db.insert(into: "batch_rejections").columns("batch_id", "line", "reason")
            for l in lines[part..<min(part + 500, lines.count)] { insert = insert.values([SQLBind(batchId), SQLBind(Int64(l.line)), SQLBind(l.reason)]) }
            try await insert.run()
        }
    }

    public func rejections(batchId: PaymentBatch.ID) async throws -> [RejectedLine] {
        try await db.raw("SELECT line, reason FROM batch_rejections WHERE batch_id = \(bind: batchId) ORDER BY line").all().map {
            RejectedLine(line: Int(try $0.int("line")), reason: try $0.string("reason"))
        }
    }

    public func count(batchId: PaymentBatch.ID) async throws -> Int {
        Int(try await db.raw("SELECT COUNT(*) AS n FROM payments WHERE batch_id = \(bind: batchId)").first()?.int("n") ?? 0)
    }

    public func batch(_ id: PaymentBatch.ID, lock: Bool = false) async throws -> PaymentBatch? {
        try await db.raw("SELECT * FROM payment_batches WHERE id = \(bind: id)\(unsafeRaw: lock ? dialect.forUpdate : "")").first().map { r in
            PaymentBatch(id: try r.id("id"), programmeId: try r.id("programme_id"),
                         status: BatchStatus(rawValue: try r.string("status")) ?? .uploading, uploadedBy: try r.string("uploaded_by"),
                         approvedBy: try r.optionalString("approved_by"), createdAt: try r.date("created_at"),
                         approvedAt: try r.optionalDate("approved_at"), completedAt: try r.optionalDate("completed_at"),
                         rejectedCount: Int(try r.int("rejected_count")))
        }
    }

    public func update(_ b: PaymentBatch) async throws {
        try await db.raw("""
            UPDATE payment_batches SET status = \(bind: b.status.rawValue), approved_by = \(bind: b.approvedBy),
                approved_at = \(bind: b.approvedAt?.millis), completed_at = \(bind: b.completedAt?.millis),
                rejected_count = \(bind: Int64(b.rejectedCount))
            WHERE id = \(bind: b.id)
            """).run()
    }

    /// Marks an upload that was cut off as abandoned and frees its Idempotency-Key, so the client can upload again
    /// with the same key. Only an upload still `uploading` changes; returns whether it did.
    @discardableResult
    public func abandon(_ batchId: PaymentBatch.ID) async throws -> Bool {
        !(try await db.raw("""
            UPDATE payment_batches SET status = 'abandoned', idempotency_key = NULL WHERE id = \(bind: batchId) AND status = 'uploading'
            RETURNING id
            """).all()).isEmpty
    }

    /// Uploads still `uploading` that began before `before` (cut off by a crash: no upload takes that long).
    public func uploads(startedBefore before: Date) async throws -> [PaymentBatch.ID] {
        try await db.raw("""
            SELECT id FROM payment_batches WHERE status = 'uploading' AND created_at < \(bind: before.millis) ORDER BY created_at, id
            """).all().map { try $0.id("id") }
    }

    /// Batches in a status, oldest first (the executor resumes `executing` ones after a restart).
    public func batches(status: BatchStatus) async throws -> [PaymentBatch.ID] {
        try await db.raw("SELECT id FROM payment_batches WHERE status = \(bind: status.rawValue) ORDER BY created_at, id")
            .all().map { try $0.id("id") }
    }

    // MARK: Payments

    public func fingerprint(bankCode: String, account: String) -> String {
        cipher.blindIndex("\(bankCode):\(account)", field: "payment_account")
    }

    /// Inserts payments (`pending`) in one statement. A person who already has a payment in the batch gets no second
    /// one (the unique index decides, in the same statement); returns the persons whose payment was inserted.
    /// PostgreSQL takes the lines as five arrays (`unnest`: seven binds in all, not nine a line), SQLite as a multi-row
    /// `VALUES`.
    @discardableResult
    public func insert(batchId: PaymentBatch.ID, _ payments: [Payment.New], at: Date) async throws -> Set<Person.ID> {
        guard !payments.isEmpty else { return [] }
        let rows: [any SQLRow]
        switch dialect {
        case .postgres:
            rows = try await db.raw("""
                INSERT INTO payments (id, batch_id, line, person_id, amount_fen, state, attempt, batch_account_fp, updated_at)
                SELECT u.id, \(bind: batchId), u.line, u.person_id, u.amount_fen, 'pending', 1, u.fp, \(bind: at.millis)
                FROM unnest(\(bind: payments.map(\.id))::text[], \(bind: payments.map { Int64($0.line) })::bigint[],
                            \(bind: payments.map(\.personId.rawValue))::text[], \(bind: payments.map(\.amountFen))::bigint[],
                            \(bind: payments.map { fingerprint(bankCode: $0.bankCode, account: $0.account) })::text[])
                    AS u(id, line, person_id, amount_fen, fp)
                ON CONFLICT (person_id, batch_id) DO NOTHING RETURNING person_id
                """).all()
        case .sqlite:
            var insert = db.insert(into: "payments").columns(
                "id", "batch_id", "line", "person_id", "amount_fen", "state", "attempt", "batch_account_fp", "updated_at")
            for p in payments {
                insert = insert.values([
                    SQLBind(p.id), SQLBind(batchId), SQLBind(Int64(p.line)), SQLBind(p.personId), SQLBind(p.amountFen),
                    SQLBind(PaymentState.pending.rawValue), SQLBind(Int64(1)), SQLBind(fingerprint(bankCode: p.bankCode, account: p.account)),
                    SQLBind(at.millis),
                ])
            }
            rows = try await insert.ignoringConflicts(with: ["person_id", "batch_id"]).returning("person_id").all()
        }
        let inserted: Set<Person.ID> = Set(try rows.map { try $0.id("person_id") })
        let fen = payments.reduce(Int64(0)) { inserted.contains($1.personId) ? $0 + $1.amountFen : $0 }
        try await addTotals(batchId: batchId, [.pending: (Int64(inserted.count), fen)])
        return inserted
    }

    /// The blind index an ID number is found by (`blindIndex` upper-cases it).
    public static func idIndex(_ idNumber: String, cipher: FieldCipher) -> String { cipher.blindIndex(idNumber, field: "id_number") }

    /// Payees by the blind index of their ID number (blind index → ID number, computed by the caller outside
    /// its transaction).
    public func payees(byIndex: [String: String]) async throws -> [String: Payment.Payee] {
        guard !byIndex.isEmpty else { return [:] }
        var out: [String: Payment.Payee] = [:]
        // Joined to the keys (an array on PostgreSQL, a VALUES list on SQLite) rather than `id_index IN (…)`: PostgreSQL
        // plans a thousand-element IN list as a scan of every person (67 ms a chunk at 200,000 persons, growing with the
        // register), a join as index lookups.
        let keys: SQLQueryString
        switch dialect {
        case .postgres: keys = "unnest(\(bind: Array(byIndex.keys))::text[]) AS k(column1)"
        case .sqlite:
            var values = SQLQueryString("")
            for (i, k) in byIndex.keys.enumerated() { values += i == 0 ? "(\(bind: k))" : ", (\(bind: k))" }
            keys = "(VALUES \(values)) AS k"
        }
        for r in try await db.raw("""
            SELECT p.id, p.id_index, p.name_enc, c.card_number, c.bank_code, c.account_enc, c.financial
            FROM \(keys) JOIN persons p ON p.id_index = k.column1
            LEFT JOIN cards c ON c.person_id = p.id AND c.status NOT IN ('cancelled', 'replaced')
            """).all() {
            guard let number = byIndex[try r.string("id_index")] else { continue }
            out[number] = Payment.Payee(personId: try r.id("id"), name: try cipher.open(try r.string("name_enc"), field: "name"),
                                cardNumber: try r.optionalString("card_number"), bankCode: try r.optionalString("bank_code"),
                                account: try r.optionalString("account_enc").map { try cipher.open($0, field: "account") },
                                financial: (try r.optionalInt("financial") ?? 0) != 0)
        }
        return out
    }

    /// The highest line number of a batch (0 when it has none).
    public func lastLine(batchId: PaymentBatch.ID) async throws -> Int {
        Int(try await db.raw("SELECT MAX(line) AS n FROM payments WHERE batch_id = \(bind: batchId)").first()?.optionalInt("n") ?? 0)
    }

    /// The pending payments of a batch in a window of lines with each holder's live card account, in one query. Only
    /// the columns routing needs are read, and only the account is decrypted.
    ///
    /// Paged by a window of lines, not `LIMIT`: a batch just uploaded is not yet in PostgreSQL's statistics, and with
    /// `ORDER BY line LIMIT n` it planned reading and sorting every remaining line of the batch for each chunk.
    public func pendingWithCards(batchId: PaymentBatch.ID, afterLine: Int, throughLine: Int) async throws -> [Payment.DueWithCard] {
        // Each line's live card by its person (one at most: `cards_one_live_per_person`). PostgreSQL planned the plain
        // join as a hash join over every card whenever it expected a full window of pending lines (a scan of the whole
        // register per chunk: 61 ms against 4 ms at 100,000 cards); `LATERAL … LIMIT 1` keeps it to one index look-up
        // a line. SQLite looks each card up by that index either way and has no `LATERAL`.
        let card: SQLQueryString = switch dialect {
        case .postgres:
            """
            LEFT JOIN LATERAL (SELECT card_number, financial, bank_code, account_enc FROM cards
                               WHERE person_id = pay.person_id AND status NOT IN ('cancelled', 'replaced') LIMIT 1) c ON TRUE
            """
        case .sqlite:
            "LEFT JOIN cards c ON c.person_id = pay.person_id AND c.status NOT IN ('cancelled', 'replaced')"
        }
        return try await db.raw("""
            SELECT pay.id AS pay_id, pay.line, pay.person_id AS pay_person, pay.amount_fen, pay.attempt, pay.batch_account_fp, pay.risk_hold,
                c.card_number, c.financial, c.bank_code, c.account_enc
            FROM payments pay \(card)
            WHERE pay.batch_id = \(bind: batchId) AND pay.line > \(bind: Int64(afterLine)) AND pay.line <= \(bind: Int64(throughLine))
                AND pay.state = 'pending'
            ORDER BY pay.line
            """).all().map { r in
            let due = Payment.Due(id: try r.string("pay_id"), line: Int(try r.int("line")), personId: try r.id("pay_person"),
                          amountFen: try r.int("amount_fen"), attempt: Int(try r.int("attempt")), accountFingerprint: try r.string("batch_account_fp"))
            let hold = try r.optionalString("risk_hold")
            guard try r.optionalString("card_number") != nil else { return Payment.DueWithCard(due: due, card: nil, accountSealed: nil, riskHold: hold) }
            let sealed = try r.optionalString("account_enc")
            return Payment.DueWithCard(due: due, card: .init(financial: try r.bool("financial"), bankCode: try r.optionalString("bank_code"),
                                                     accountNumber: try sealed.map { try cipher.open($0, field: "account") }),
                               accountSealed: sealed, riskHold: hold)
        }
    }

    /// `markSent` for many payments in one statement (`UPDATE … FROM` the lines, as arrays on PostgreSQL). A line
    /// changes only while it is still pending **and** the holder's live card still holds the sealed account and bank it
    /// was routed to (read before this transaction, `pendingWithCards`): a line another executor claimed first, or whose
    /// card's account changed since it was read, is left as it is. Returns the ids that changed; only those are sent.
    public func markSent(_ sends: [Payment.Destination], at: Date) async throws -> Set<String> {
        guard !sends.isEmpty else { return [] }
        let values: SQLQueryString
        switch dialect {
        case .postgres:
            values = """
                unnest(\(bind: sends.map(\.id))::text[], \(bind: sends.map(\.bankCode))::text[], \(bind: sends.map(\.accountSealed))::text[],
                       \(bind: sends.map(\.accountMasked))::text[]) AS v(column1, column2, column3, column4)
                """
        case .sqlite:
            var rows = SQLQueryString("")
            for (i, x) in sends.enumerated() {
                if i > 0 { rows += ", " }
                rows += "(\(bind: x.id), \(bind: x.bankCode), \(bind: x.accountSealed), \(bind: x.accountMasked))"
            }
            values = "(VALUES \(rows)) AS v"
        }
        var byBatch = BatchCounts()
        var changed = Set<String>()
        for r in try await db.raw("""
            UPDATE payments SET state = 'sent', bank_code = v.column2, account_enc = v.column3, account_masked = v.column4, reason = NULL,
                sent_at = \(bind: at.millis), updated_at = \(bind: at.millis)
            FROM \(values) WHERE payments.id = v.column1 AND payments.state = 'pending'
                AND EXISTS (SELECT 1 FROM cards c WHERE c.person_id = payments.person_id AND c.status NOT IN ('cancelled', 'replaced')
                            AND c.account_enc = v.column3 AND c.bank_code = v.column2)
            RETURNING payments.id, payments.batch_id, payments.amount_fen
            """).all() {
            changed.insert(try r.string("id"))
            try byBatch.count(r)
        }
        try await move(byBatch, from: .pending, to: .sent)
        return changed
    }

    /// Records where a payment goes before it is sent: committed first, so a crash after the bank call
    /// leaves a `sent` row that is asked about again, never a second payment.
    public func markSent(_ id: String, bankCode: String, account: String, at: Date) async throws {
        try await update("""
            UPDATE payments SET state = 'sent', bank_code = \(bind: bankCode), account_enc = \(bind: cipher.seal(account, field: "account")),
                account_masked = \(bind: Mask.account(account)), reason = NULL, sent_at = \(bind: at.millis), updated_at = \(bind: at.millis)
            WHERE id = \(bind: id) AND state = 'pending'
            RETURNING batch_id, amount_fen
            """, from: .pending, to: .sent)
    }

    /// Payments in flight in a window of lines (as `pendingWithCards`), in line order.
    public func sent(batchId: PaymentBatch.ID, afterLine: Int, throughLine: Int) async throws -> [Payment.InFlight] {
        try await db.raw("""
            SELECT id, line, person_id, amount_fen, attempt, bank_code, account_enc FROM payments
            WHERE batch_id = \(bind: batchId) AND line > \(bind: Int64(afterLine)) AND line <= \(bind: Int64(throughLine)) AND state = 'sent'
            ORDER BY line
            """).all().map { r in
            Payment.InFlight(id: try r.string("id"), personId: try r.id("person_id"), amountFen: try r.int("amount_fen"),
                     attempt: Int(try r.int("attempt")), bankCode: try r.string("bank_code"),
                     account: try cipher.open(try r.string("account_enc"), field: "account"))
        }
    }

    /// Settles payments; only a payment in `from` moves, so a repeated answer changes nothing.
    public func settle(_ ids: [String], to state: PaymentState, reason: String?, from: PaymentState, at: Date) async throws {
        guard !ids.isEmpty else { return }
        try await update("""
            UPDATE payments SET state = \(bind: state.rawValue), reason = \(bind: reason), settled_at = \(bind: at.millis), updated_at = \(bind: at.millis)
            WHERE state = \(bind: from.rawValue) AND id \(dialect.oneOf(ids))
            RETURNING batch_id, amount_fen
            """, from: from, to: state)
    }

    /// Puts failed and returned payments back to `pending` as a new attempt. Returns how many.
    public func retry(batchId: PaymentBatch.ID, at: Date) async throws -> Int {
        var n = 0
        for from in [PaymentState.failed, .returned] {
            n += try await update("""
                UPDATE payments SET state = 'pending', attempt = attempt + 1, settled_at = NULL, updated_at = \(bind: at.millis)
                WHERE batch_id = \(bind: batchId) AND state = \(bind: from.rawValue)
                RETURNING batch_id, amount_fen
                """, from: from, to: .pending)
        }
        return n
    }

    /// Holds pending payments (a pensioner's qualification check is overdue): `held`, with the time, left alone by the
    /// executor until a confirmation releases them. Returns how many.
    @discardableResult
    public func hold(_ ids: [String], reason: String, at: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await update("""
            UPDATE payments SET state = 'held', reason = \(bind: reason), held_at = \(bind: at.millis), updated_at = \(bind: at.millis)
            WHERE state = 'pending' AND id \(dialect.oneOf(ids))
            RETURNING batch_id, amount_fen
            """, from: .pending, to: .held)
    }

    /// A person's held payments: id, batch, amount and when each was held.
    public func held(personId: Person.ID) async throws -> [(id: String, batchId: PaymentBatch.ID, amountFen: Int64, heldAt: Date)] {
        try await db.raw("""
            SELECT id, batch_id, amount_fen, held_at FROM payments WHERE person_id = \(bind: personId) AND state = 'held' ORDER BY held_at, id
            """).all().map { (try $0.string("id"), try $0.id("batch_id"), try $0.int("amount_fen"), try $0.optionalDate("held_at") ?? Date(timeIntervalSince1970: 0)) }
    }

    /// Puts held payments back to `pending` (the same payment and attempt: it was never sent). Returns how many.
    @discardableResult
    public func release(_ ids: [String], at: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await update("""
            UPDATE payments SET state = 'pending', reason = NULL, updated_at = \(bind: at.millis)
            WHERE state = 'held' AND id \(dialect.oneOf(ids))
            RETURNING batch_id, amount_fen
            """, from: .held, to: .pending)
    }

    /// Closes a person's payments that were not sent yet (pending or held) as `failed` with `reason` (a reported death).
    /// Returns how many.
    @discardableResult
    public func stop(personId: Person.ID, reason: String, at: Date) async throws -> Int {
        var n = 0
        for from in [PaymentState.pending, .held] {
            n += try await update("""
                UPDATE payments SET state = 'failed', reason = \(bind: reason), settled_at = \(bind: at.millis), updated_at = \(bind: at.millis)
                WHERE person_id = \(bind: personId) AND state = \(bind: from.rawValue)
                RETURNING batch_id, amount_fen
                """, from: from, to: .failed)
        }
        return n
    }

    /// Runs an `UPDATE payments … RETURNING batch_id, amount_fen` and moves the payments it changed from one state to
    /// another in their batches' running totals. Returns how many changed. PostgreSQL sums them itself (the update in
    /// a `WITH`), so a thousand changed rows come back as one; SQLite cannot put an update in a `WITH`.
    @discardableResult
    private func update(_ update: SQLQueryString, from: PaymentState, to: PaymentState) async throws -> Int {
        var byBatch = BatchCounts()
        switch dialect {
        case .postgres:
            for r in try await db.raw("""
                WITH changed AS (\(update)) SELECT batch_id, COUNT(*) AS n, CAST(SUM(amount_fen) AS BIGINT) AS fen FROM changed GROUP BY batch_id
                """).all() {
                byBatch.counts[try r.id("batch_id")] = (try r.int("n"), try r.int("fen"))
            }
        case .sqlite:
            for r in try await db.raw(update).all() { try byBatch.count(r) }
        }
        if from != to { try await move(byBatch, from: from, to: to) }
        return byBatch.total
    }

    /// Payments changed per batch, counted from the `RETURNING batch_id, amount_fen` rows of an update.
    private struct BatchCounts {
        var counts: [PaymentBatch.ID: (n: Int64, fen: Int64)] = [:]
        var total: Int { Int(counts.values.reduce(0) { $0 + $1.n }) }
        mutating func count(_ row: any SQLRow) throws {
            let fen = try row.int("amount_fen")
            counts[try row.id("batch_id"), default: (0, 0)].n += 1
            counts[try row.id("batch_id"), default: (0, 0)].fen += fen
        }
    }

    /// Moves the counted payments from one state to another in their batches' running totals (batches in a fixed order).
    private func move(_ changed: BatchCounts, from: PaymentState, to: PaymentState) async throws {
        for (batchId, d) in changed.counts.sorted(by: { $0.key < $1.key }) {
            try await addTotals(batchId: batchId, [from: (-d.n, -d.fen), to: d])
        }
    }

    /// Adds to a batch's running totals (in the transaction that changed the payments). States are updated in
    /// one fixed order, so two transactions moving payments of the same batch never wait for each other in a cycle.
    private func addTotals(batchId: PaymentBatch.ID, _ deltas: [PaymentState: (n: Int64, fen: Int64)]) async throws {
        for (state, d) in deltas.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where d.n != 0 || d.fen != 0 {
            try await db.raw("""
                INSERT INTO payment_batch_totals (batch_id, state, n, fen) VALUES (\(bind: batchId), \(bind: state.rawValue), \(bind: d.n), \(bind: d.fen))
                ON CONFLICT (batch_id, state) DO UPDATE SET n = payment_batch_totals.n + excluded.n, fen = payment_batch_totals.fen + excluded.fen
                """).run()
        }
    }

    /// A batch's counts and sums by state, from its running totals.
    public func totals(batchId: PaymentBatch.ID) async throws -> BatchTotals {
        try Self.totals(try await db.raw("SELECT state, n, fen FROM payment_batch_totals WHERE batch_id = \(bind: batchId) AND n <> 0").all())
    }

    /// The same counted from the payments themselves (tests check the running totals against it).
    public func recount(batchId: PaymentBatch.ID) async throws -> BatchTotals {
        try Self.totals(try await db.raw("""
            SELECT state, COUNT(*) AS n, CAST(SUM(amount_fen) AS BIGINT) AS fen FROM payments WHERE batch_id = \(bind: batchId) GROUP BY state
            """).all())
    }

    private static func totals(_ rows: [any SQLRow]) throws -> BatchTotals {
        var totals = BatchTotals()
        for r in rows {
            guard let state = PaymentState(rawValue: try r.string("state")) else { continue }
            totals.add(state, count: Int(try r.int("n")), fen: try r.int("fen"))
        }
        return totals
    }

    public func list(batchId: PaymentBatch.ID, afterLine: Int, limit: Int) async throws -> [Payment] {
        try await db.raw("""
            SELECT * FROM payments WHERE batch_id = \(bind: batchId) AND line > \(bind: Int64(afterLine)) ORDER BY line LIMIT \(bind: Int64(limit))
            """).all().map(Self.decode)
    }

    /// A holder's payments, newest first, with the programme they come from.
    public func list(personId: Person.ID, limit: Int = 200) async throws -> [(Payment, Programme.ID, String)] {
        try await db.raw("""
            SELECT p.*, g.id AS programme_id, g.name AS programme_name FROM payments p
            JOIN payment_batches b ON b.id = p.batch_id JOIN programmes g ON g.id = b.programme_id
            WHERE p.person_id = \(bind: personId) ORDER BY p.updated_at DESC, p.id LIMIT \(bind: Int64(limit))
            """).all().map { r in (try Self.decode(r), try r.id("programme_id"), try r.string("programme_name")) }
    }

    static func decode(_ r: any SQLRow) throws -> Payment {
        Payment(id: try r.string("id"), batchId: try r.id("batch_id"), line: Int(try r.int("line")), personId: try r.id("person_id"),
                amountFen: try r.int("amount_fen"), state: PaymentState(rawValue: try r.string("state")) ?? .failed,
                attempt: Int(try r.int("attempt")), bankCode: try r.optionalString("bank_code"),
                accountMasked: try r.optionalString("account_masked"), reason: try r.optionalString("reason"),
                sentAt: try r.optionalDate("sent_at"), settledAt: try r.optionalDate("settled_at"))
    }

    /// Those of `personIds` whose card was cancelled because they died (one query for a chunk of lines; reported deaths
    /// are `PensionRepository.deaths`).
    public func deceased(_ personIds: some Collection<Person.ID>) async throws -> Set<Person.ID> {
        guard !personIds.isEmpty else { return [] }
        return Set(try await db.raw("""
            SELECT DISTINCT c.person_id FROM card_events e JOIN cards c ON c.card_number = e.card_number
            WHERE c.person_id \(dialect.oneOf(personIds.map(\.rawValue))) AND e.type = 'card_cancelled' AND e.reason = 'death'
            """).all().map { try $0.id("person_id") })
    }

    // MARK: Notifications

    /// Tells a holder something: the kind of notice and its parameters, put into words in the reader's language when read.
    public func notify(personId: Person.ID, at: Date, kind: HolderNotice.Kind, parameters: [String: String], paymentId: String? = nil) async throws {
        try await db.raw("""
            INSERT INTO notifications (person_id, at, kind, parameters, payment_id)
            VALUES (\(bind: personId), \(bind: at.millis), \(bind: kind.rawValue), \(bind: HolderNotice.encode(parameters)), \(bind: paymentId))
            """).run()
    }

    public func notifications(personId: Person.ID, limit: Int = 200) async throws -> [HolderNotice] {
        try await db.raw("""
            SELECT * FROM notifications WHERE person_id = \(bind: personId) ORDER BY seq DESC LIMIT \(bind: Int64(limit))
            """).all().map { r in
            HolderNotice(seq: try r.int("seq"), at: try r.date("at"), kind: HolderNotice.Kind(rawValue: try r.string("kind")) ?? .paymentFailed,
                   parameters: (try? JSONDecoder().decode([String: String].self, from: Data(try r.string("parameters").utf8))) ?? [:],
                   paymentId: try r.optionalString("payment_id"))
        }
    }
}
