"""A stand-in hub for one test: a node is given it as --hub, and the first request the node sends is
verified with an independent RFC 9421 implementation (PyPI http-message-signatures, through
http_signatures.verify) against the node's public key.

  python3 fake_hub.py --public-key B64URL --keyid REGION

Prints `fake hub listening on http://127.0.0.1:PORT`, then, for the first request only, one line
`verification {JSON}` with {"verified": bool, "method", "targetUri", "headers", "body" (base64),
"keyid", "alg", "components", "error"?}. Every request is answered 503 (the node retries; nothing
else is wanted of it). A missing library prints Python's own "No module named …" and exits 3.
"""
import argparse
import base64
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    from http_signatures import verify
except ImportError as error:  # the test skips (or fails when the library is required)
    print(str(error), flush=True)
    sys.exit(3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--public-key", required=True, help="the node's federation key, base64url of the 32-byte Ed25519 public key")
    parser.add_argument("--keyid", required=True, help="the keyid the node must sign with (its region)")
    args = parser.parse_args()
    lock = threading.Lock()
    first = {"done": False}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):  # quiet: stdout carries only the two documented lines
            pass

        def handle_one(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                record = not first["done"]
                first["done"] = True
            if record:
                target = "http://" + (self.headers.get("Host") or "127.0.0.1") + self.path
                headers = [[name, value] for name, value in self.headers.items()]
                result = {"method": self.command, "targetUri": target, "headers": headers, "body": base64.b64encode(body).decode()}
                try:
                    checked = verify({"op": "verify-request", "publicKey": args.public_key, "method": self.command, "url": target,
                                      "headers": headers, "body": base64.b64encode(body).decode()})
                    result.update(checked)
                    result["verified"] = checked["keyid"] == args.keyid
                    if not result["verified"]:
                        result["error"] = "keyid %r is not %r" % (checked["keyid"], args.keyid)
                except Exception as error:  # any failure is a refusal
                    result.update({"verified": False, "error": "%s: %s" % (type(error).__name__, error)})
                print("verification " + json.dumps(result), flush=True)
            answer = b'{"type":"about:blank","status":503,"code":"federation_unavailable","detail":"a fake hub"}'
            self.send_response(503)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(answer)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_DELETE = handle_one

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("fake hub listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
