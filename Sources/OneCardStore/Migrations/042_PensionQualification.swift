/// The yearly pension qualification check and reported deaths (issue 15; API.md "Entitlements and records").
///
/// - `pension_qualifications`: one row per pensioner, made when their first pension payment is sent: the day of that
///   payment, the last confirmation, the due day it gives (`PensionCheck.dueOn` under the pack when written, so the
///   reminder job finds who is due by index) and the due day last reminded of.
/// - `pension_confirmations`: every confirmation (online, counter, home visit, relative, passive with its evidence).
/// - `deaths`: a reported death, once per person; its card is cancelled (reason `death`) and payments not yet sent stop.
/// - `payments.held_at`: when a payment was held for an overdue check (the back-pay limit counts from it).
let m042PensionQualification = Migration("042_pension_qualification", [
    """
    CREATE TABLE pension_qualifications (
        person_id TEXT PRIMARY KEY,
        first_paid_on TEXT NOT NULL,
        last_confirmed_at BIGINT,
        last_method TEXT,
        due_on TEXT NOT NULL,
        reminded_for TEXT,
        updated_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX pension_qualifications_due ON pension_qualifications (due_on)",
    """
    CREATE TABLE pension_confirmations (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        method TEXT NOT NULL,
        actor TEXT NOT NULL,
        evidence TEXT,
        recorded_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX pension_confirmations_person ON pension_confirmations (person_id, at)",
    """
    CREATE TABLE deaths (
        person_id TEXT PRIMARY KEY,
        died_on TEXT NOT NULL,
        reported_by TEXT NOT NULL,
        reported_at BIGINT NOT NULL
    )
    """,
    "ALTER TABLE payments ADD COLUMN held_at BIGINT",
])
