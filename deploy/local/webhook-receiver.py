#!/usr/bin/env python3
"""A CRM's webhook endpoint in a few lines: verifies the connector's signed
webhooks per the Standard Webhooks specification, independently of the
connector's own Go code, and prints each verified event as one JSON line.

    webhook-receiver.py PORT SECRET_FILE [OUT_FILE]

SECRET_FILE holds the signing secret that `connector webhook add` printed
(whsec_...). A request with a wrong or missing signature, or a timestamp more
than five minutes away, is answered 401 and logged; a verified one 204.
"""
import base64
import hashlib
import hmac
import http.server
import json
import sys
import time

TOLERANCE = 300  # seconds, as the specification suggests


def verify(secret, headers, body):
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(sig, expected)
        for version, _, sig in (s.partition(",") for s in signatures.split())
    )


def main():
    port, secret = int(sys.argv[1]), open(sys.argv[2]).read().strip()
    out = open(sys.argv[3], "a", buffering=1) if len(sys.argv) > 3 else sys.stdout

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if not verify(secret, self.headers, body):
                sys.stderr.write(f"rejected: bad signature for {self.headers.get('webhook-id')}\n")
                self.send_response(401)
                self.end_headers()
                return
            event = json.loads(body)
            out.write(json.dumps({"verified": True, "webhook-id": self.headers["webhook-id"], **event}) + "\n")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # quiet: one line per event is enough
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
