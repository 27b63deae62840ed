#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A registry token endpoint for tests (what ghcr.io/token is to GHCR): over https on loopback,
it answers GET /token?service=...&scope=repository:NAME:pull with a JWT (ES256, its
certificate in the x5c header) that docker-registry's token authentication accepts, granting
pull on NAME to anyone, except for repositories under private/ (401, as GHCR answers an
anonymous pull of a private package). Each request is logged as one JSON line
({"user_agent", "service", "scope", "granted"}). Listens on a free port and prints "ready PORT".

  registry-token.py --cert PEM --key PEM --sign-cert PEM --sign-key PEM
                    --issuer ISS --service SVC --log FILE
"""
import argparse
import base64
import http.server
import json
import os
import ssl
import sys
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(args, key, cert_der, name):
    now = int(time.time())
    header = {"alg": "ES256", "typ": "JWT", "x5c": [base64.b64encode(cert_der).decode()]}
    claims = {"iss": args.issuer, "sub": "", "aud": args.service, "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(),
              "access": [{"type": "repository", "name": name, "actions": ["pull"]}]}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return signing_input.decode() + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    for a in ["cert", "key", "sign-cert", "sign-key", "issuer", "service", "log"]:
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    with open(args.sign_key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(args.sign_cert, "rb") as f:
        cert_der = x509.load_pem_x509_certificate(f.read()).public_bytes(
            serialization.Encoding.DER)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            scope = q.get("scope", [""])[0]
            parts = scope.split(":")
            name = parts[1] if len(parts) == 3 and parts[0] == "repository" else None
            granted = (url.path == "/token" and name is not None and
                       q.get("service", [""])[0] == args.service and
                       not name.startswith("private/"))
            with open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps({"user_agent": self.headers.get("User-Agent", ""),
                                      "service": q.get("service", [""])[0], "scope": scope,
                                      "granted": granted}) + "\n")
            if not granted:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps({"token": jwt(args, key, cert_der, name), "expires_in": 300})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("ready", server.server_address[1], flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
