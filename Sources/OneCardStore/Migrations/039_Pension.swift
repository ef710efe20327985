/// Products and bills on the card (issue 15, Beijing Minsheng art. 2: 公园年票, 生活缴费).
///
/// - `billers`: registered billers (water, electricity, gas, heating, phone) and the account their payments go to.
/// - `bill_payments`: a holder's bill, recorded `paying` with the debited account before the bank is called, one per
///   person and Idempotency-Key; the customer reference and the account are sealed.
/// - `passes`: products bought for a year, one live (`charging` or `active`) pass per person, product and year.
let m039Pension = Migration("039_pension", [
    """
    CREATE TABLE billers (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        bank_code TEXT NOT NULL,
        account_number TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE bill_payments (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        biller TEXT NOT NULL,
        customer_ref_enc TEXT NOT NULL,
        amount_fen BIGINT NOT NULL,
        status TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        bank_code TEXT NOT NULL,
        account_enc TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        settled_at BIGINT
    )
    """,
    "CREATE UNIQUE INDEX bill_payments_key ON bill_payments (person_id, idempotency_key)",
    "CREATE INDEX bill_payments_status ON bill_payments (status, created_at)",
    """
    CREATE TABLE passes (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        product TEXT NOT NULL,
        year INTEGER NOT NULL,
        valid_from TEXT NOT NULL,
        valid_to TEXT NOT NULL,
        charged_fen BIGINT NOT NULL,
        status TEXT NOT NULL,
        bank_code TEXT NOT NULL,
        account_enc TEXT NOT NULL,
        bought_at BIGINT NOT NULL,
        settled_at BIGINT
    )
    """,
    "CREATE UNIQUE INDEX passes_live ON passes (person_id, product, year) WHERE status <> 'failed'",
    "CREATE INDEX passes_person ON passes (person_id, valid_to)",
])
