/// The holder's rights and data retention (issue 17, PIPL).
///
/// - `data_requests`: correction and deletion requests, the value and the holder's words sealed.
/// - `retention_runs`: per record type, the last run of the retention job, its cutoff and how many rows it changed.
let m036Privacy = Migration("036_privacy", [
    """
    CREATE TABLE data_requests (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        field TEXT NOT NULL,
        value_enc TEXT,
        reason_enc TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        due_at BIGINT NOT NULL,
        due_provisional BIGINT NOT NULL,
        status TEXT NOT NULL,
        decided_at BIGINT,
        decided_by TEXT,
        note TEXT
    )
    """,
    "CREATE INDEX data_requests_person ON data_requests (person_id, received_at)",
    "CREATE INDEX data_requests_status ON data_requests (status, due_at)",
    """
    CREATE TABLE retention_runs (
        record TEXT PRIMARY KEY,
        last_run_at BIGINT NOT NULL,
        cutoff BIGINT NOT NULL,
        affected BIGINT NOT NULL,
        total_affected BIGINT NOT NULL
    )
    """,
    "CREATE INDEX consents_withdrawn ON consents (withdrawn_at)",
])
