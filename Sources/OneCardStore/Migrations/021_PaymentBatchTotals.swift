/// A batch's counts and sums by payment state, kept up to date in the transaction of every state change, so the
/// batch status (`GET /api/v1/batches/{id}`, polled while a batch executes) is read in O(1) instead of counting a
/// million payments; on PostgreSQL the count was 70 ms per 100,000 payments per poll.
let m021PaymentBatchTotals = Migration("021_payment_batch_totals", [
    """
    CREATE TABLE payment_batch_totals (
        batch_id TEXT NOT NULL REFERENCES payment_batches(id),
        state TEXT NOT NULL,
        n BIGINT NOT NULL,
        fen BIGINT NOT NULL,
        PRIMARY KEY (batch_id, state)
    )
    """,
    """
    INSERT INTO payment_batch_totals (batch_id, state, n, fen)
    SELECT batch_id, state, COUNT(*), CAST(SUM(amount_fen) AS BIGINT) FROM payments GROUP BY batch_id, state
    """,
])
