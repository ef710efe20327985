/// An offline gate's decision is kept under `offline:<decisionId>`, apart from the Idempotency-Keys of online
/// acceptances at the same terminal: a key used for both answered an online acceptance with the gate's decision.
let m024OfflineDecisionKeysApart = Migration("024_offline_decision_keys_apart", [
    "UPDATE uses SET idempotency_key = 'offline:' || idempotency_key WHERE kind = 'qr_offline' AND idempotency_key NOT LIKE 'offline:%'",
])
