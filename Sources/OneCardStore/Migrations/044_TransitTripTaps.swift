/// A tap is in one trip at most (issue 13: "taps never lost or doubled"). Two uploads settling the same card at once on
/// PostgreSQL once both paired the same waiting taps and each recorded and charged its own trip (62 doubled trips in a
/// million taps, found by `Benchmarks/transit.sh`). `TransitService` now holds a per-card lock while it pairs; these
/// indexes are the guarantee under it: a second trip claiming a tap fails its whole transaction, which changes nothing.
let m044TransitTripTaps = Migration("044_transit_trip_taps", [
    "CREATE UNIQUE INDEX transit_trips_entry_tap ON transit_trips (entry_tap_id) WHERE entry_tap_id IS NOT NULL",
    "CREATE UNIQUE INDEX transit_trips_exit_tap ON transit_trips (exit_tap_id) WHERE exit_tap_id IS NOT NULL",
])
