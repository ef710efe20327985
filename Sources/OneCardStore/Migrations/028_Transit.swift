/// Transit (issue 13; API.md "Transit"): operators with versioned fare tables, taps recorded once each, trips priced once
/// and charged once through the bank interface.
let m028Transit = Migration("028_transit", [
    """
    CREATE TABLE transit_operators (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        region_code TEXT NOT NULL,
        mode TEXT NOT NULL,
        bank_code TEXT NOT NULL,
        account_enc TEXT NOT NULL,
        account_masked TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )
    """,
    // One row per version; the table is the API's JSON (Core `FareTable`), its day kept apart for reading it in order.
    """
    CREATE TABLE transit_fare_tables (
        operator_code TEXT NOT NULL REFERENCES transit_operators(code),
        version BIGINT NOT NULL,
        effective_from TEXT NOT NULL,
        body TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (operator_code, version)
    )
    """,
    // Every tap a terminal uploaded, accepted or rejected, once per tap id (a repeat is a duplicate). `trip_id` is set
    // when pairing puts the tap in a trip; accepted taps without one are what pairing looks at next.
    """
    CREATE TABLE transit_taps (
        tap_id TEXT PRIMARY KEY,
        terminal_id TEXT NOT NULL,
        operator_code TEXT NOT NULL REFERENCES transit_operators(code),
        station TEXT,
        route TEXT,
        distance_m BIGINT,
        direction TEXT NOT NULL,
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        card_number TEXT,
        person_id TEXT,
        entitlements TEXT NOT NULL,
        rejection TEXT,
        lost_at_time BIGINT NOT NULL,
        jti TEXT,
        trip_id TEXT,
        received_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX transit_taps_card ON transit_taps (card_number, operator_code, at)",
    "CREATE INDEX transit_taps_unpaired ON transit_taps (trip_id, rejection)",
    // One QR token passes an operator's gates once each way.
    "CREATE INDEX transit_taps_jti ON transit_taps (jti, operator_code, direction)",
    """
    CREATE TABLE transit_trips (
        trip_id TEXT PRIMARY KEY,
        card_number TEXT NOT NULL,
        person_id TEXT NOT NULL,
        operator_code TEXT NOT NULL REFERENCES transit_operators(code),
        mode TEXT NOT NULL,
        region_code TEXT NOT NULL,
        entry_tap_id TEXT,
        exit_tap_id TEXT,
        entry_station TEXT,
        exit_station TEXT,
        route TEXT,
        started_at BIGINT NOT NULL,
        ended_at BIGINT,
        service_day TEXT NOT NULL,
        month TEXT NOT NULL,
        fare_version BIGINT NOT NULL,
        basis TEXT NOT NULL,
        distance_m BIGINT,
        full_fare_fen BIGINT NOT NULL,
        card_discount_fen BIGINT NOT NULL,
        concession_code TEXT,
        concession_basis TEXT,
        concession_fen BIGINT NOT NULL,
        charged_fen BIGINT NOT NULL,
        breakdown TEXT NOT NULL,
        quota_pool TEXT,
        quota_units BIGINT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        next_attempt_at BIGINT,
        reason TEXT,
        bank_code TEXT,
        account_enc TEXT,
        charged_at BIGINT,
        updated_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX transit_trips_person ON transit_trips (person_id, started_at)",
    "CREATE INDEX transit_trips_card ON transit_trips (card_number, operator_code, started_at)",
    "CREATE INDEX transit_trips_status ON transit_trips (status, next_attempt_at)",
    "CREATE INDEX transit_trips_clearing ON transit_trips (operator_code, service_day)",
])
