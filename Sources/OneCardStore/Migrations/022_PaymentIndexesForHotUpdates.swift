/// The payments table rebuilt for a million-payment batch; the same columns and rows.
///
/// - State changes touch no index, so PostgreSQL can make them heap-only (HOT) updates: the new version of the row
///   goes on the same page and no index entry is written. Every payment changes state at least twice (`sent`, then
///   `paid`); with `state` in an index each change inserted an entry into every index of a million-row table. The
///   executor pages through a batch by `(batch_id, line)` and filters on state (it knows from the running totals how
///   many payments are pending or in flight, so it stops when it has seen them).
/// - `(person_id, batch_id)` both keeps one payment per person per batch and finds a holder's payments, in place of
///   two indexes.
/// - No foreign keys: on PostgreSQL checking `person_id` and `batch_id` took 60 % of the time of inserting a payment
///   (a lookup and a row lock on the person for every row). A payment is only ever inserted by an upload that has just
///   found its person and made its batch, and neither persons nor batches are ever deleted.
/// - Pages are left half empty on PostgreSQL so each row's next version fits beside it (HOT needs room on the page);
///   the versions a committed change left behind are pruned when the page is next written.
let m022PaymentIndexesForHotUpdates = Migration("022_payments_for_large_batches", [
    """
    CREATE TABLE payments_rebuilt (
        id TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL,
        line BIGINT NOT NULL,
        person_id TEXT NOT NULL,
        amount_fen BIGINT NOT NULL,
        state TEXT NOT NULL,
        attempt BIGINT NOT NULL,
        batch_account_fp TEXT NOT NULL,
        bank_code TEXT,
        account_enc TEXT,
        account_masked TEXT,
        reason TEXT,
        sent_at BIGINT,
        settled_at BIGINT,
        updated_at BIGINT NOT NULL
    )
    """,
    Dialect.postgresOnly + "ALTER TABLE payments_rebuilt SET (fillfactor = 50)",
    """
    INSERT INTO payments_rebuilt (id, batch_id, line, person_id, amount_fen, state, attempt, batch_account_fp, bank_code, account_enc,
        account_masked, reason, sent_at, settled_at, updated_at)
    SELECT id, batch_id, line, person_id, amount_fen, state, attempt, batch_account_fp, bank_code, account_enc,
        account_masked, reason, sent_at, settled_at, updated_at FROM payments
    """,
    "DROP TABLE payments",
    "ALTER TABLE payments_rebuilt RENAME TO payments",
    Dialect.postgresOnly + "ALTER INDEX payments_rebuilt_pkey RENAME TO payments_pkey",
    "CREATE UNIQUE INDEX payments_person_batch ON payments (person_id, batch_id)",
    "CREATE UNIQUE INDEX payments_batch_line ON payments (batch_id, line)",
])
