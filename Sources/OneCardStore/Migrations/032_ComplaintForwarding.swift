/// Complaints forwarded between provinces through the hub (issue 16, JJJ art. 23): the province a complaint went to,
/// and on the receiving side the province it came from with its id there (one complaint per origin, so a redelivered
/// message cannot make a second one).
let m032ComplaintForwarding = Migration("032_complaint_forwarding", [
    "ALTER TABLE complaints ADD COLUMN forwarded_to TEXT",
    "ALTER TABLE complaints ADD COLUMN origin_region TEXT",
    "ALTER TABLE complaints ADD COLUMN origin_complaint_id TEXT",
    "CREATE UNIQUE INDEX complaints_origin ON complaints (origin_region, origin_complaint_id)",
])
