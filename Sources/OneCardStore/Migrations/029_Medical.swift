/// Cross-province direct medical settlement (API.md "Medical settlement"): the treatment place's catalogue in numbered
/// versions, the insured place's policies in versions per (region, scheme, care), insured persons, filings, settlements
/// and their reversals (never edited), and the insured place's year-to-date counters. Also the department users' scope
/// (API.md "Entitlements and records"), which insured persons are the first to need.
let m029Medical = Migration("029_medical", [
    "ALTER TABLE staff_users ADD COLUMN scope TEXT",
    "CREATE TABLE medical_catalogue_drafts (code TEXT PRIMARY KEY, item TEXT NOT NULL, drafted_by TEXT NOT NULL, drafted_at BIGINT NOT NULL)",
    "CREATE TABLE medical_catalogue_versions (version BIGINT PRIMARY KEY, published_at BIGINT NOT NULL, published_by TEXT NOT NULL)",
    """
    CREATE TABLE medical_catalogue_items (
        version BIGINT NOT NULL,
        code TEXT NOT NULL,
        item TEXT NOT NULL,
        PRIMARY KEY (version, code)
    )
    """,
    // Every PUT is a new version; presets are version 1 and are not stored (an admin's first PUT is version 2).
    """
    CREATE TABLE medical_policies (
        region_code TEXT NOT NULL,
        scheme TEXT NOT NULL,
        care TEXT NOT NULL,
        policy_version BIGINT NOT NULL,
        policy TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (region_code, scheme, care, policy_version)
    )
    """,
    """
    CREATE TABLE medical_insureds (
        person_id TEXT PRIMARY KEY,
        scheme TEXT NOT NULL,
        insured_region TEXT NOT NULL,
        retired BIGINT NOT NULL,
        account_balance_fen BIGINT,
        updated_by TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE medical_filings (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        treatment_region TEXT NOT NULL,
        from_day TEXT NOT NULL,
        to_day TEXT,
        channel TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX medical_filings_person ON medical_filings (person_id)",
    // `record` is the stored MedicalSettlementRecord (JSON); `reverses` is unique, so a settlement is reversed at most once
    // even by two racing requests.
    """
    CREATE TABLE medical_settlements (
        id TEXT PRIMARY KEY,
        terminal_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        venue_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        reverses TEXT UNIQUE,
        insured_region TEXT NOT NULL,
        treatment_region TEXT NOT NULL,
        care TEXT NOT NULL,
        settlement_year BIGINT NOT NULL,
        month TEXT NOT NULL,
        at BIGINT NOT NULL,
        record TEXT NOT NULL,
        UNIQUE (terminal_id, idempotency_key)
    )
    """,
    "CREATE INDEX medical_settlements_person ON medical_settlements (person_id, at)",
    "CREATE INDEX medical_settlements_month ON medical_settlements (month)",
    """
    CREATE TABLE medical_year_to_date (
        person_id TEXT NOT NULL,
        care TEXT NOT NULL,
        settlement_year BIGINT NOT NULL,
        stays BIGINT NOT NULL,
        deductible_fen BIGINT NOT NULL,
        fund_fen BIGINT NOT NULL,
        PRIMARY KEY (person_id, care, settlement_year)
    )
    """,
])
