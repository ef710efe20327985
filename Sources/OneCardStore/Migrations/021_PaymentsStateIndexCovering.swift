/// A batch's counts and sums by state (`GET /api/v1/batches/{id}`, polled while it executes) are read from the
/// index alone: with `amount_fen` in it, a million-payment batch is counted without touching the table.
let m021PaymentsStateIndexCovering = Migration("021_payments_state_index_covering", [
    "DROP INDEX payments_batch_state",
    "CREATE INDEX payments_batch_state ON payments (batch_id, state, line, amount_fen)",
])
