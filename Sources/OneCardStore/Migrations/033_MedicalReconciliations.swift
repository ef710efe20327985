/// Cross-province medical settlement (issue 14): what another province's month statement said and how it compared
/// with this node's own record (the latest statement per month and counterpart wins; a statement is sent again after a
/// correction). Settlements made for or by another province reuse `medical_settlements` (029): the treatment node keeps
/// them under the hospital's terminal, the insured node under `federation:<treatment province>` with the settlement id
/// as its key, so each id is recorded once on each side.
let m033MedicalReconciliations = Migration("033_medical_reconciliations", [
    """
    CREATE TABLE medical_reconciliations (
        month TEXT NOT NULL,
        counterpart TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        statement TEXT NOT NULL,
        result TEXT NOT NULL,
        PRIMARY KEY (month, counterpart)
    )
    """,
])
