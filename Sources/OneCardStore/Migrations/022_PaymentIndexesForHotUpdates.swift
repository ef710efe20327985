/// Payment state changes touch no index, so PostgreSQL can make them heap-only (HOT) updates: the new version of the
/// row goes on the same page and no index entry is written. Every payment changes state at least twice (`sent`, then
/// `paid`); with `state` in an index each change inserted an entry into every index of a million-row table.
///
/// - The executor pages through a batch by `(batch_id, line)` and filters on state (it knows from the running totals
///   how many payments are pending or in flight, so it stops when it has seen them).
/// - `(person_id, batch_id)` both keeps one payment per person per batch and finds a holder's payments, in place of
///   two indexes.
/// - Pages are left half empty on PostgreSQL so each row's next version fits beside it (HOT needs room on the page);
///   the versions a committed change left behind are pruned when the page is next written.
let m022PaymentIndexesForHotUpdates = Migration("022_payment_indexes_for_hot_updates", [
    "DROP INDEX payments_batch_state",
    "DROP INDEX payments_person",
    "DROP INDEX payments_batch_person",
    "CREATE UNIQUE INDEX payments_person_batch ON payments (person_id, batch_id)",
    "CREATE UNIQUE INDEX payments_batch_line ON payments (batch_id, line)",
    Dialect.postgresOnly + "ALTER TABLE payments SET (fillfactor = 50)",
])
