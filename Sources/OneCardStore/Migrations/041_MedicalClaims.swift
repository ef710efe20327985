/// Manual medical claims (issue 14, 社会保险经办条例 art. 20): a stay paid in full, claimed back at the insured place.
///
/// - `medical_claims`: the claim, its bill (JSON), its deadline, the decision's split (JSON) and the payment to the card's
///   account (sealed), one row per claim; paid once under `claim-<id>` at the bank.
let m041MedicalClaims = Migration("041_medical_claims", [
    """
    CREATE TABLE medical_claims (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        treatment_region TEXT NOT NULL,
        hospital_level INTEGER NOT NULL,
        care TEXT NOT NULL,
        admitted_on TEXT NOT NULL,
        discharged_on TEXT NOT NULL,
        items TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        due_at BIGINT NOT NULL,
        due_provisional BIGINT NOT NULL,
        lodged_by TEXT NOT NULL,
        status TEXT NOT NULL,
        decided_at BIGINT,
        decided_by TEXT,
        split TEXT,
        policy_version INTEGER,
        bank_code TEXT,
        account_enc TEXT,
        paid_at BIGINT,
        reason TEXT
    )
    """,
    "CREATE INDEX medical_claims_person ON medical_claims (person_id, received_at)",
    "CREATE INDEX medical_claims_status ON medical_claims (status, due_at)",
])
