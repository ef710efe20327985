/// Certificates loaded on the card and the concessions they give (issue 15).
///
/// - `certificates`: elderly, disability and veteran certificates a department loads on a person (GD art. 7), the number
///   sealed; revoked ones are kept with `revoked_at` (a use judged as of an earlier time still had them).
/// - `uses`: the concession a use got at a venue and its basis, shown to the holder.
let m037Certificates = Migration("037_certificates", [
    """
    CREATE TABLE certificates (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        type TEXT NOT NULL,
        number_enc TEXT,
        category BIGINT,
        grade BIGINT,
        valid_from TEXT NOT NULL,
        valid_to TEXT,
        loaded_by TEXT NOT NULL,
        loaded_at BIGINT NOT NULL,
        revoked_at BIGINT,
        revoked_by TEXT
    )
    """,
    "CREATE INDEX certificates_person ON certificates (person_id, loaded_at)",
    "ALTER TABLE uses ADD COLUMN concession_code TEXT",
    "ALTER TABLE uses ADD COLUMN concession_basis TEXT",
    "ALTER TABLE uses ADD COLUMN concession_fen BIGINT",
    "ALTER TABLE uses ADD COLUMN concession_companions BIGINT",
])
