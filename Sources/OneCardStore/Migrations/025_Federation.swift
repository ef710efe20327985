/// Federation (API.md "Federation"): what a node keeps of its exchange with the hub, and what the hub keeps of its
/// members. Both run the same migrations; a node's hub tables and the hub's node tables stay empty.
let m025Federation = Migration("025_federation", [
    // Numbers handed out under a row lock, so a number is taken and committed in the same order: a reader that saw
    // seq N has seen every seq below N (a SERIAL on PostgreSQL may commit 7 before 6, and a cursor would skip 6).
    "CREATE TABLE sequence_heads (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    // The list's numbers now come from `sequence_heads`, no longer from the column's own identity.
    Dialect.postgresOnly + "ALTER TABLE revocations ALTER COLUMN seq DROP IDENTITY IF EXISTS",
    "INSERT INTO sequence_heads (name, value) SELECT 'revocations', COALESCE(MAX(seq), 0) FROM revocations",
    "INSERT INTO sequence_heads (name, value) VALUES ('national_revocations', 0)",
    "INSERT INTO sequence_heads (name, value) VALUES ('trust_list_version', 0)",
    // A revocation entry about another region's card or token, merged from the national list (null: this node's own).
    "ALTER TABLE revocations ADD COLUMN iss TEXT",
    // Small named values: the hub's last trust list, the national revocation cursor, the push cursor.
    "CREATE TABLE federation_state (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT NOT NULL)",
    // What this node (or the hub) owes another party, written in the transaction of the change that caused it and
    // deleted from the queue only when acknowledged.
    """
    CREATE TABLE federation_outbox (
        id TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at BIGINT NOT NULL,
        delivered_at BIGINT,
        answer TEXT,
        last_error TEXT
    )
    """,
    "CREATE INDEX federation_outbox_due ON federation_outbox (delivered_at, next_at)",
    // Messages received, by sender and id, with the answer given: a redelivery is answered the same and changes nothing.
    """
    CREATE TABLE federation_inbox (
        sender TEXT NOT NULL,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        answer TEXT NOT NULL,
        PRIMARY KEY (sender, id)
    )
    """,
    // Signature nonces seen within the allowed clock skew (replays are refused).
    """
    CREATE TABLE federation_nonces (
        key_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (key_id, nonce)
    )
    """,
    // Every signed message exchanged, with its signature, as evidence (read by an auditor).
    """
    CREATE TABLE federation_messages (
        seq SERIAL_PK,
        at BIGINT NOT NULL,
        direction TEXT NOT NULL,
        peer TEXT NOT NULL,
        method TEXT NOT NULL,
        uri TEXT NOT NULL,
        status INTEGER NOT NULL,
        request_signature_input TEXT,
        request_signature TEXT,
        response_signature_input TEXT,
        response_signature TEXT,
        request_body TEXT NOT NULL,
        response_body TEXT NOT NULL
    )
    """,
    "CREATE INDEX federation_messages_at ON federation_messages (at)",
    // The hub: its members (provincial nodes and cross-border partners) with their federation keys.
    """
    CREATE TABLE hub_members (
        region TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        public_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        added_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )
    """,
    // Each member's published QR signing keys (JWK JSON).
    "CREATE TABLE hub_keys (region TEXT NOT NULL, kid TEXT NOT NULL, jwk TEXT NOT NULL, PRIMARY KEY (region, kid))",
    // The national revocation list: every member's entries in one sequence; (region, region_seq) makes a redelivery a no-op.
    """
    CREATE TABLE hub_revocations (
        seq BIGINT PRIMARY KEY,
        region TEXT NOT NULL,
        region_seq BIGINT NOT NULL,
        card_hash TEXT,
        jti TEXT,
        status TEXT NOT NULL,
        at BIGINT NOT NULL,
        UNIQUE (region, region_seq)
    )
    """,
    // One person, one card: who holds a person's claim, under the members' pseudonymous key (no ID number, no name).
    """
    CREATE TABLE hub_claims (
        person_key TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        state TEXT NOT NULL,
        card_hash TEXT,
        updated_at BIGINT NOT NULL
    )
    """,
    // Which region issued a card (by SHA-256 of its number): where lifecycle requests and chip checks are routed.
    "CREATE TABLE hub_cards (card_hash TEXT PRIMARY KEY, region TEXT NOT NULL, at BIGINT NOT NULL)",
    // Alliance lists (京津冀, 长三角, 川渝, 粤港澳) kept at the hub: the published list of each, and the changes its
    // members propose, each published once every admitted member region of the alliance has approved it.
    "CREATE TABLE hub_alliances (code TEXT PRIMARY KEY, version BIGINT NOT NULL, items TEXT NOT NULL, published_at BIGINT NOT NULL)",
    """
    CREATE TABLE hub_alliance_proposals (
        id TEXT PRIMARY KEY,
        alliance TEXT NOT NULL,
        region TEXT NOT NULL,
        change TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        published_at BIGINT
    )
    """,
    "CREATE TABLE hub_alliance_approvals (proposal_id TEXT NOT NULL, region TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (proposal_id, region))",
])
