let m020CreatePayments = Migration("020_create_payments", [
    """
    CREATE TABLE programmes (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        department TEXT NOT NULL,
        legal_basis TEXT NOT NULL,
        funding_account_enc TEXT,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE payment_batches (
        id TEXT PRIMARY KEY,
        programme_id TEXT NOT NULL REFERENCES programmes(id),
        status TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        approved_by TEXT,
        created_at BIGINT NOT NULL,
        approved_at BIGINT,
        completed_at BIGINT,
        rejected_count BIGINT NOT NULL,
        idempotency_key TEXT
    )
    """,
    "CREATE INDEX payment_batches_status ON payment_batches (status)",
    // An upload repeated with the same Idempotency-Key returns the first batch instead of making a second one.
    "CREATE UNIQUE INDEX payment_batches_idempotency ON payment_batches (programme_id, idempotency_key)",
    """
    CREATE TABLE batch_rejections (
        batch_id TEXT NOT NULL REFERENCES payment_batches(id),
        line BIGINT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (batch_id, line)
    )
    """,
    // A payment row is committed (pending) before anything is sent and marked sent, with the account it
    // goes to, before the bank is called: the outbox that makes execution resumable after a crash.
    """
    CREATE TABLE payments (
        id TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL REFERENCES payment_batches(id),
        line BIGINT NOT NULL,
        person_id TEXT NOT NULL REFERENCES persons(id),
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
    // One payment per person per batch: a repeated line is refused, never paid twice.
    "CREATE UNIQUE INDEX payments_batch_person ON payments (batch_id, person_id)",
    "CREATE INDEX payments_batch_state ON payments (batch_id, state, line)",
    "CREATE INDEX payments_person ON payments (person_id)",
    """
    CREATE TABLE notifications (
        seq SERIAL_PK,
        person_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        payment_id TEXT
    )
    """,
    "CREATE INDEX notifications_person ON notifications (person_id, seq)",
    """
    CREATE TABLE bank_migrations (
        bank_code TEXT PRIMARY KEY REFERENCES banks(code),
        successor_code TEXT NOT NULL REFERENCES banks(code),
        choose_by BIGINT NOT NULL,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        applied_at BIGINT
    )
    """,
    """
    CREATE TABLE bank_migration_cards (
        bank_code TEXT NOT NULL,
        card_number TEXT NOT NULL,
        person_id TEXT NOT NULL,
        status TEXT NOT NULL,
        new_bank_code TEXT,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (bank_code, card_number)
    )
    """,
])
