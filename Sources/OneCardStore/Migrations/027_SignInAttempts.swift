/// Failed sign-ins per account (keyed by a blind index, never the username or ID number in clear), so a lock holds
/// across every process of a node.
let m027SignInAttempts = Migration("027_sign_in_attempts", [
    "CREATE TABLE sign_in_attempts (account_key TEXT PRIMARY KEY, failures BIGINT NOT NULL, first_at BIGINT NOT NULL, locked_until BIGINT)",
])
