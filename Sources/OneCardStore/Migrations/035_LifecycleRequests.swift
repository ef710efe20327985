/// Card lifecycle steps taken with an `Idempotency-Key`: a client that lost the answer (a failover cut the connection
/// after the commit) retries with the same key and gets the first answer back instead of a second step or a 409.
/// Keyed by who asked and their key; the step and card it was used for, and what it left (status, replacement card).
let m035LifecycleRequests = Migration("035_lifecycle_requests", [
    """
    CREATE TABLE lifecycle_requests (actor TEXT NOT NULL, idempotency_key TEXT NOT NULL, card_number TEXT NOT NULL, action TEXT NOT NULL,
        status TEXT NOT NULL, replacement TEXT, at BIGINT NOT NULL, PRIMARY KEY (actor, idempotency_key))
    """,
])
