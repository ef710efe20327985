"""Verifies a OneCard QR token with an independent JOSE implementation (joserfc) and a published JWKS.

Usage: verify_jws.py JWKS_FILE TOKEN — prints {"header":…,"claims":…} and exits 0 when the signature
verifies; exits 1 with the error otherwise.
"""
import json
import sys

from joserfc import jws
from joserfc.jwk import KeySet


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        key_set = KeySet.import_key_set(json.load(f))
    try:
        obj = jws.deserialize_compact(sys.argv[2], key_set, algorithms=["EdDSA"])
    except Exception as error:  # any failure is a refusal
        print(json.dumps({"error": type(error).__name__, "detail": str(error)}))
        return 1
    print(json.dumps({"header": obj.protected, "claims": json.loads(obj.payload)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
