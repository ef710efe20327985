/// Signed checkpoints of the audit chain's head (issue 17): the head's number and hash signed with the node's key now
/// and then, so a tail rewritten with fresh hashes (and a fresh head) no longer matches what was signed earlier.
let m026AuditCheckpoints = Migration("026_audit_checkpoints", [
    """
    CREATE TABLE audit_checkpoints (
        seq BIGINT PRIMARY KEY,
        hash TEXT NOT NULL,
        at BIGINT NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL
    )
    """,
    // The hub's copy of every member's signed checkpoints: a member that rewrites its own log cannot rewrite these.
    """
    CREATE TABLE hub_audit_checkpoints (
        region TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        at BIGINT NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (region, seq)
    )
    """,
])
