/// Service and supervision (issue 16): complaints with their events, holiday calendar years loaded after release,
/// enforcement cases with their payments. Times are epoch milliseconds, money integer fen.
let m030Service = Migration("030_service", [
    """
    CREATE TABLE complaints (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        topic TEXT NOT NULL,
        channel TEXT NOT NULL,
        summary TEXT NOT NULL,
        region_code TEXT,
        venue_id TEXT,
        use_id TEXT,
        person_id TEXT,
        lodged_by TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        due_at BIGINT NOT NULL,
        due_provisional BIGINT NOT NULL,
        status TEXT NOT NULL,
        assignee TEXT,
        reopenings BIGINT NOT NULL,
        answer TEXT,
        answered_at BIGINT,
        satisfied BIGINT,
        closed_at BIGINT,
        created_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX complaints_person ON complaints (person_id, received_at)",
    "CREATE INDEX complaints_status ON complaints (status, due_at)",
    "CREATE INDEX complaints_received ON complaints (received_at, kind, due_at, answered_at, satisfied)",
    "CREATE TABLE complaint_events (complaint_id TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, type TEXT NOT NULL, actor TEXT NOT NULL, note TEXT, PRIMARY KEY (complaint_id, seq))",
    // A year's official holiday notice loaded by an administrator (it overrides the shipped file's year).
    "CREATE TABLE holiday_calendar_years (year BIGINT PRIMARY KEY, body TEXT NOT NULL, loaded_at BIGINT NOT NULL, loaded_by TEXT NOT NULL)",
    """
    CREATE TABLE enforcement_cases (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        party_kind TEXT NOT NULL,
        person_id TEXT,
        uscc TEXT,
        party_name TEXT,
        summary TEXT NOT NULL,
        evidence TEXT NOT NULL,
        status TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        opened_by TEXT NOT NULL,
        ordered_at BIGINT,
        order_due_at BIGINT,
        serious BIGINT,
        fine_fen BIGINT,
        decided_at BIGINT,
        payment_due_at BIGINT,
        credit_class TEXT,
        repaired_on TEXT
    )
    """,
    "CREATE INDEX enforcement_cases_decided ON enforcement_cases (decided_at)",
    "CREATE TABLE case_payments (id TEXT PRIMARY KEY, case_id TEXT NOT NULL, amount_fen BIGINT NOT NULL, paid_at BIGINT NOT NULL, recorded_at BIGINT NOT NULL, recorded_by TEXT NOT NULL)",
    "CREATE INDEX case_payments_case ON case_payments (case_id)",
    // Statistics (GET /api/v1/stats) count uses, complaints and paid payments by time range: without these, full scans.
    // `uses_item` covers the grouping by item, venue and region crossing in its own order (no sort of a million rows).
    "CREATE INDEX uses_at ON uses (at)",
    "CREATE INDEX uses_item ON uses (item_code, venue_id, cross_region, at)",
    "CREATE INDEX payments_settled ON payments (settled_at)",
    "CREATE INDEX cards_issued ON cards (issued_at)",
])
