"""Signs and verifies federation messages with an independent RFC 9421 implementation
(PyPI http-message-signatures), to check OneCard's own against it in both directions.

Reads one JSON request on stdin and writes one JSON answer on stdout:
  {"op": "verify-request", "publicKey": B64URL, "method", "url", "headers": [[name, value], …], "body": B64}
  {"op": "verify-response", "publicKey": B64URL, "status", "headers", "body"}
    → exit 0 with {"keyid", "created", "nonce", "alg", "components"} when the signature (and the
      Content-Digest, which it must cover when there is a body) verifies; exit 1 with {"error"} otherwise.
  {"op": "sign-request", "privateKey": B64URL (the 32-byte seed), "keyid", "nonce", "method", "url", "body"}
  {"op": "sign-response", "privateKey", "keyid", "nonce", "status", "body"}
    → exit 0 with {"headers": [[name, value], …]}: Content-Digest (when there is a body, always for a
      response), Signature-Input and Signature under label sig1, covering what OneCard's profile covers.
"""
import base64
import datetime
import json
import sys

from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Request:
    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


class Response:
    def __init__(self, status, headers):
        self.status_code, self.headers = status, headers


def verify(req: dict) -> dict:
    public_key = ed25519.Ed25519PublicKey.from_public_bytes(b64url(req["publicKey"]))
    headers = {}
    for name, value in req["headers"]:
        headers[name] = value if name not in headers else headers[name] + ", " + value
    body = base64.b64decode(req.get("body", ""))
    if req["op"] == "verify-request":
        message = Request(req["method"], req["url"], headers)
        required = ["@method", "@target-uri"] + (["content-digest"] if body else [])
    else:
        message = Response(req["status"], headers)
        required = ["@status", "content-digest"]

    class AnyKeyID(MappingKeyResolver):
        def resolve_public_key(self, key_id):
            return public_key

    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=AnyKeyID(public_keys={}, private_keys={}))
    (result,) = verifier.verify(message, max_age=datetime.timedelta(seconds=300), require_components=required, body=body)
    if result.parameters.get("alg") != "ed25519" or "nonce" not in result.parameters:
        raise ValueError("alg and nonce are required")
    return {
        "label": result.label,
        "keyid": result.parameters["keyid"],
        "created": result.parameters["created"],
        "nonce": result.parameters["nonce"],
        "alg": result.parameters["alg"],
        "components": [json.loads(c) for c in result.covered_components if c != '"@signature-params"'],
    }


def sign(req: dict) -> dict:
    private_key = ed25519.Ed25519PrivateKey.from_private_bytes(b64url(req["privateKey"]))
    body = base64.b64decode(req.get("body", ""))
    headers: dict = {}
    if req["op"] == "sign-request":
        message = Request(req["method"], req["url"], headers)
        components = ["@method", "@target-uri"]
        digest_body = body if body else None
    else:
        message = Response(req["status"], headers)
        components = ["@status"]
        digest_body = body
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={req["keyid"]: private_key}),
    )
    signer.sign(message, key_id=req["keyid"], nonce=req["nonce"], label="sig1", covered_component_ids=components, body=digest_body)
    return {"headers": [[name, value] for name, value in headers.items()]}


def main() -> int:
    req = json.load(sys.stdin)
    try:
        answer = verify(req) if req["op"].startswith("verify") else sign(req)
    except Exception as error:  # any failure is a refusal
        print(json.dumps({"error": type(error).__name__, "detail": str(error)}))
        return 1
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
