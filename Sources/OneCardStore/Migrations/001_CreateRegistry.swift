let m001CreateRegistry = Migration("001_create_registry", [
    """
    CREATE TABLE staff_users (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        disabled BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE persons (
        id TEXT PRIMARY KEY,
        id_type TEXT NOT NULL,
        id_index TEXT NOT NULL UNIQUE,
        id_number_enc TEXT NOT NULL,
        name_enc TEXT NOT NULL,
        phone_enc TEXT NOT NULL,
        address_enc TEXT,
        birth_date TEXT NOT NULL,
        sex TEXT NOT NULL,
        region_code TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE holder_accounts (
        person_id TEXT PRIMARY KEY REFERENCES persons(id),
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE outlets (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        region_code TEXT NOT NULL,
        address TEXT NOT NULL,
        services TEXT NOT NULL,
        hours TEXT NOT NULL,
        accessibility TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE banks (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        agreement_from TEXT NOT NULL,
        agreement_to TEXT NOT NULL,
        endpoint TEXT,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
])
