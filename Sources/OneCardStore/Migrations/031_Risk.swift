/// Risk monitoring and incident mode (issue 17).
///
/// - `uses.recorded_at`: when the node recorded a use (an offline gate's decision arrives later than its `at`); the
///   risk monitor reads uses in that order, so a late upload is judged too. Earlier rows take their `at`.
/// - `risk_alerts`: one row per finding, unique by `dedupe_key`, so a rescan or a second process adds nothing.
/// - `risk_state`: the monitor's cursor.
/// - `payments.risk_hold`: the alert holding a payment line until an auditor releases it (the executor waits).
/// - `card_online_only`: cards whose QR codes and chip must be checked online (an alert's action).
/// - `node_settings`: incident mode and who set it.
/// - `consents`: holders' consents (PIPL), kept after withdrawal.
/// - `licences`: e-licences linked to persons (GD art. 9), the number sealed.
let m031Risk = Migration("031_risk", [
    "ALTER TABLE uses ADD COLUMN recorded_at BIGINT",
    "UPDATE uses SET recorded_at = at",
    "CREATE INDEX uses_recorded ON uses (recorded_at)",
    "CREATE INDEX uses_card_at ON uses (card_number, at)",
    "CREATE INDEX uses_terminal_at ON uses (terminal_id, at)",
    """
    CREATE TABLE risk_alerts (
        id TEXT PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL,
        subject TEXT NOT NULL,
        at BIGINT NOT NULL,
        raised_at BIGINT NOT NULL,
        summary TEXT NOT NULL,
        use_ids TEXT NOT NULL,
        payment_ids TEXT NOT NULL,
        assignee TEXT,
        actions TEXT NOT NULL,
        resolution TEXT,
        resolved_by TEXT,
        resolved_at BIGINT
    )
    """,
    "CREATE INDEX risk_alerts_status ON risk_alerts (status, raised_at)",
    "CREATE TABLE risk_state (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "ALTER TABLE payments ADD COLUMN risk_hold TEXT",
    "CREATE TABLE card_online_only (card_number TEXT PRIMARY KEY, alert_id TEXT, set_by TEXT NOT NULL, set_at BIGINT NOT NULL)",
    "CREATE TABLE node_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_by TEXT NOT NULL, updated_at BIGINT NOT NULL)",
    """
    CREATE TABLE consents (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        grantee TEXT,
        granted_at BIGINT NOT NULL,
        withdrawn_at BIGINT
    )
    """,
    "CREATE INDEX consents_person ON consents (person_id, purpose)",
    """
    CREATE TABLE licences (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        type TEXT NOT NULL,
        number_enc TEXT NOT NULL,
        licence_class TEXT NOT NULL,
        valid_to TEXT NOT NULL,
        issuer TEXT NOT NULL,
        linked_by TEXT NOT NULL,
        linked_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX licences_person ON licences (person_id, type)",
])
