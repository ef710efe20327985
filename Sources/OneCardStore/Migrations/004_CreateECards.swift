let m004CreateECards = Migration("004_create_ecards", [
    // One electronic card per person, bound to one device, following its physical card.
    """
    CREATE TABLE ecards (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL UNIQUE REFERENCES persons(id),
        card_number TEXT NOT NULL,
        device_id TEXT NOT NULL,
        status TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX ecards_card ON ecards (card_number)",
    // QR tokens issued, so that the tokens still in flight when a card is revoked are revoked too.
    """
    CREATE TABLE qr_tokens (
        jti TEXT PRIMARY KEY,
        card_number TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX qr_tokens_card ON qr_tokens (card_number, expires_at)",
    // The public revocation list: a monotonically increasing sequence of status changes.
    """
    CREATE TABLE revocations (
        seq SERIAL_PK,
        card_hash TEXT,
        jti TEXT,
        status TEXT NOT NULL,
        at BIGINT NOT NULL
    )
    """,
])
