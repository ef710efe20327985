let m002CreateCards = Migration("002_create_cards", [
    """
    CREATE TABLE card_applications (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES persons(id),
        channel TEXT NOT NULL,
        apply_outlet_id TEXT REFERENCES outlets(id),
        pickup_outlet_id TEXT REFERENCES outlets(id),
        delivery TEXT NOT NULL,
        bank_code TEXT NOT NULL REFERENCES banks(code),
        status TEXT NOT NULL,
        remote BIGINT NOT NULL,
        submitted_at BIGINT NOT NULL,
        due_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        reason TEXT,
        card_number TEXT UNIQUE
    )
    """,
    // One open application per person, enforced by the database as well as the service.
    "CREATE UNIQUE INDEX card_applications_one_open ON card_applications (person_id) WHERE status IN ('submitted', 'approved', 'produced', 'ready')",
    "CREATE INDEX card_applications_status ON card_applications (status, due_at)",
    """
    CREATE TABLE cards (
        card_number TEXT PRIMARY KEY,
        identification_code TEXT NOT NULL UNIQUE,
        person_id TEXT NOT NULL REFERENCES persons(id),
        application_id TEXT REFERENCES card_applications(id),
        issuer_region TEXT NOT NULL,
        status TEXT NOT NULL,
        transit BIGINT NOT NULL,
        financial BIGINT NOT NULL,
        bank_code TEXT REFERENCES banks(code),
        account_enc TEXT,
        account_masked TEXT,
        pin_hash TEXT,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        lost_at BIGINT,
        replaced_by TEXT,
        replaces TEXT
    )
    """,
    // One person, one card (一人一卡): at most one card that is not cancelled or replaced.
    "CREATE UNIQUE INDEX cards_one_live_per_person ON cards (person_id) WHERE status NOT IN ('cancelled', 'replaced')",
    "CREATE INDEX cards_status_lost ON cards (status, lost_at)",
    """
    CREATE TABLE card_events (
        seq SERIAL_PK,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        actor TEXT NOT NULL,
        channel TEXT NOT NULL,
        reason TEXT,
        card_number TEXT,
        application_id TEXT
    )
    """,
    "CREATE INDEX card_events_card ON card_events (card_number, seq)",
    "CREATE INDEX card_events_application ON card_events (application_id, seq)",
])
