let m005CreateCatalogueAndVenues = Migration("005_create_catalogue_and_venues", [
    // Pending changes to the catalogue: an item to add or change, or a code to withdraw.
    """
    CREATE TABLE catalogue_drafts (
        code TEXT PRIMARY KEY,
        action TEXT NOT NULL,
        item TEXT,
        drafted_by TEXT NOT NULL,
        drafted_at BIGINT NOT NULL
    )
    """,
    "CREATE TABLE catalogue_versions (version BIGINT PRIMARY KEY, published_at BIGINT NOT NULL, published_by TEXT NOT NULL)",
    // The full list as published in each version, so any two versions can be compared.
    """
    CREATE TABLE catalogue_items (
        version BIGINT NOT NULL REFERENCES catalogue_versions(version),
        code TEXT NOT NULL,
        item TEXT NOT NULL,
        PRIMARY KEY (version, code)
    )
    """,
    """
    CREATE TABLE credentials (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        domain TEXT NOT NULL,
        regions TEXT NOT NULL,
        national_mandate BIGINT NOT NULL,
        status TEXT NOT NULL,
        duplicates TEXT NOT NULL,
        registered_by TEXT NOT NULL,
        registered_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE venues (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        operator_uscc TEXT NOT NULL,
        type TEXT NOT NULL,
        region_code TEXT NOT NULL,
        address TEXT NOT NULL,
        accessibility TEXT NOT NULL,
        unified_logo BIGINT NOT NULL,
        item_codes TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
    // Terminal API keys are stored as SHA-256 of the secret; the key itself is shown once.
    """
    CREATE TABLE terminals (
        id TEXT PRIMARY KEY,
        venue_id TEXT NOT NULL REFERENCES venues(id),
        key_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    )
    """,
    // Every acceptance answer, once per terminal and Idempotency-Key; the response is kept verbatim.
    """
    CREATE TABLE uses (
        id TEXT PRIMARY KEY,
        terminal_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        venue_id TEXT NOT NULL,
        item_code TEXT NOT NULL,
        kind TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT,
        card_number TEXT,
        person_id TEXT,
        cross_region BIGINT NOT NULL,
        charged_fen BIGINT NOT NULL,
        disclosed TEXT,
        at BIGINT NOT NULL,
        response TEXT NOT NULL,
        UNIQUE (terminal_id, idempotency_key)
    )
    """,
    "CREATE INDEX uses_person ON uses (person_id, at)",
    // A QR token is accepted once per venue item; a card challenge is never reused for that card.
    "CREATE TABLE accepted_tokens (jti TEXT NOT NULL, venue_id TEXT NOT NULL, item_code TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (jti, venue_id, item_code))",
    "CREATE TABLE card_challenges (card_number TEXT NOT NULL, challenge_hash TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (card_number, challenge_hash))",
])
