#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A plain HTTP upstream for the egress tests, run inside the test's own "world" namespace.

    upstream.py LOG PORT...

Listens on every PORT (IPv4 and IPv6), prints "ready" once all are bound, and appends one
line per request to LOG: "<client> <method> <host> <path>". Routes:

    GET  /size/N      N bytes, with Content-Length
    GET  /chunked/N   N bytes, chunked (no length known in advance)
    GET  /headers     the request headers, one per line
    POST *            reads the body; replies with the number of bytes read
    *                 1024 bytes
"""
import http.server
import socket
import socketserver
import sys
import threading

CHUNK = b"x" * 65536
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self):
        with LOCK, open(sys.argv[1], "a", encoding="utf-8") as f:
            f.write("%s %s %s %s\n" % (self.client_address[0], self.command,
                                       self.headers.get("Host", "-"), self.path))

    def send_bytes(self, n, chunked=False):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        try:
            while n > 0:
                k = min(n, len(CHUNK))
                if chunked:
                    self.wfile.write(b"%x\r\n" % k + CHUNK[:k] + b"\r\n")
                else:
                    self.wfile.write(CHUNK[:k])
                n -= k
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.record()
        parts = self.path.split("/")
        if len(parts) == 3 and parts[1] in ("size", "chunked") and parts[2].isdigit():
            self.send_bytes(int(parts[2]), chunked=parts[1] == "chunked")
        elif self.path == "/headers":
            body = "".join("%s: %s\n" % kv for kv in self.headers.items()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_bytes(1024)

    def do_POST(self):  # noqa: N802
        self.record()
        n = int(self.headers.get("Content-Length", "0"))
        got = 0
        while got < n:
            data = self.rfile.read(min(65536, n - got))
            if not data:
                break
            got += len(data)
        body = str(got).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main():
    servers = [Server(("::", int(p)), Handler) for p in sys.argv[2:]]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
