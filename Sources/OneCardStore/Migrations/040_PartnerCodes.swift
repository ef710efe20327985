/// Codes of other platforms (多码融合, issue 15).
///
/// - `code_issuers`: registered partner codes, their public keys (JWKS) and the items they open.
/// - `linked_codes`: a holder's account at a partner linked to the person; the account is sealed, and found by its
///   blind index, one live link per partner account and per person and partner.
let m040PartnerCodes = Migration("040_partner_codes", [
    """
    CREATE TABLE code_issuers (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        jwks TEXT NOT NULL,
        item_codes TEXT NOT NULL,
        status TEXT NOT NULL,
        registered_at BIGINT NOT NULL,
        changed_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE linked_codes (
        id TEXT PRIMARY KEY,
        issuer TEXT NOT NULL,
        account_index TEXT NOT NULL,
        account_enc TEXT NOT NULL,
        person_id TEXT NOT NULL,
        linked_at BIGINT NOT NULL,
        unlinked_at BIGINT
    )
    """,
    "CREATE UNIQUE INDEX linked_codes_account ON linked_codes (issuer, account_index) WHERE unlinked_at IS NULL",
    "CREATE UNIQUE INDEX linked_codes_person ON linked_codes (person_id, issuer) WHERE unlinked_at IS NULL",
    "CREATE INDEX linked_codes_person_all ON linked_codes (person_id, linked_at)",
])
