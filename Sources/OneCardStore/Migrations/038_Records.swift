/// The HR&SS electronic file library (GD art. 15) and family service (亲情服务), issue 15.
///
/// - `hr_records`: a person's employment, unemployment, training, skill, title and labour-contract records; the free
///   details sealed. A labour contract adds the employer's code, its days, both parties' signing times (the node's) and
///   `ends_at` (the end of its last day, CST), from which the retention job counts its two years.
/// - `record_shares`: a holder's short-lived links to one record, each resting on a `record_share` consent;
///   `record_share_reads`: every read of a link (the holder sees them).
/// - `relative_links`: a holder's links to relatives (pending, active, declined, removed); `family_events`: every act of
///   family service, kept on both persons.
let m038Records = Migration("038_records", [
    """
    CREATE TABLE hr_records (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        type TEXT NOT NULL,
        title TEXT NOT NULL,
        issuer TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        valid_until TEXT,
        details_enc TEXT,
        employer_uscc TEXT,
        starts_on TEXT,
        ends_on TEXT,
        ends_at BIGINT,
        employer_signed_at BIGINT,
        employer_signed_via TEXT,
        worker_signed_at BIGINT,
        recorded_by TEXT NOT NULL,
        recorded_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX hr_records_person ON hr_records (person_id, recorded_at)",
    "CREATE INDEX hr_records_contract_end ON hr_records (ends_at) WHERE type = 'labour_contract'",
    """
    CREATE TABLE record_shares (
        id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        consent_id TEXT NOT NULL,
        grantee TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX record_shares_person ON record_shares (person_id, created_at)",
    "CREATE INDEX record_shares_record ON record_shares (record_id)",
    """
    CREATE TABLE record_share_reads (
        share_id TEXT NOT NULL,
        at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX record_share_reads_share ON record_share_reads (share_id, at)",
    """
    CREATE TABLE relative_links (
        id TEXT PRIMARY KEY,
        holder_id TEXT NOT NULL,
        relative_id TEXT NOT NULL,
        relationship TEXT NOT NULL,
        status TEXT NOT NULL,
        confirmed_by TEXT,
        basis TEXT,
        created_at BIGINT NOT NULL,
        changed_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX relative_links_holder ON relative_links (holder_id, status)",
    "CREATE INDEX relative_links_relative ON relative_links (relative_id, status)",
    "CREATE UNIQUE INDEX relative_links_live ON relative_links (holder_id, relative_id) WHERE status IN ('pending', 'active')",
    """
    CREATE TABLE family_events (
        id TEXT PRIMARY KEY,
        link_id TEXT NOT NULL,
        holder_id TEXT NOT NULL,
        relative_id TEXT NOT NULL,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX family_events_holder ON family_events (holder_id, at)",
    "CREATE INDEX family_events_relative ON family_events (relative_id, at)",
])
