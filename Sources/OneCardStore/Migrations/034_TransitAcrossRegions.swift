/// Transit across provinces (issue 13): a card of another province riding here, and this node's cards riding elsewhere.
///
/// - `transit_taps.issuer_region`, `transit_trips.issuer_region`: the province that issued a card riding here (NULL: this
///   node's own card). Such trips are charged through their issuer (federation), never through this node's banks.
/// - `transit_remote_trips`: this node's cards' trips in another province, as the riding node priced them; charged here
///   once each (debit id per trip) and the outcome reported back.
/// - `transit_statement_sides`: the other node's signed side of a day's inter-region statement, kept as received.
let m034TransitAcrossRegions = Migration("034_transit_across_regions", [
    "ALTER TABLE transit_taps ADD COLUMN issuer_region TEXT",
    "ALTER TABLE transit_trips ADD COLUMN issuer_region TEXT",
    "CREATE INDEX transit_trips_interregion ON transit_trips (issuer_region, service_day)",
    """
    CREATE TABLE transit_remote_trips (
        trip_id TEXT PRIMARY KEY,
        ride_region TEXT NOT NULL,
        card_number TEXT NOT NULL,
        person_id TEXT NOT NULL,
        operator_code TEXT NOT NULL,
        operator_name TEXT NOT NULL,
        mode TEXT NOT NULL,
        entry_station TEXT,
        exit_station TEXT,
        route TEXT,
        started_at BIGINT NOT NULL,
        ended_at BIGINT,
        service_day TEXT NOT NULL,
        breakdown TEXT NOT NULL,
        charged_fen BIGINT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        next_attempt_at BIGINT,
        reason TEXT,
        bank_code TEXT,
        account_enc TEXT,
        charged_at BIGINT,
        received_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )
    """,
    "CREATE INDEX transit_remote_trips_person ON transit_remote_trips (person_id, started_at)",
    "CREATE INDEX transit_remote_trips_status ON transit_remote_trips (status, next_attempt_at)",
    "CREATE INDEX transit_remote_trips_day ON transit_remote_trips (ride_region, service_day)",
    """
    CREATE TABLE transit_statement_sides (
        from_region TEXT NOT NULL,
        service_day TEXT NOT NULL,
        body TEXT NOT NULL,
        message_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (from_region, service_day)
    )
    """,
])
