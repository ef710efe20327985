/// The QR signing key ring in the database (issue 18: every process of a node signs with the same current key, and a
/// rotation on one host reaches all within seconds).
///
/// - `qr_signing_keys`: each key of the ring, the private half sealed under the personal-data key (derived from the
///   node key, so a database copy alone signs nothing), its creation and retirement. The current key is the newest
///   one not retired. `node_settings` row `qr_signing_ring` (the current kid) is what processes lock to change it.
let m043QRSigningKeys = Migration("043_qr_signing_keys", [
    """
    CREATE TABLE qr_signing_keys (
        kid TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        private_enc TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
    )
    """,
])
