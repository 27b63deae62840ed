# SPDX-License-Identifier: MIT
# New-connection latency to a TLS upstream, directly or through an HTTP proxy's CONNECT
# tunnel (bench/egress.sh). Each round is a fresh TCP connection, the CONNECT exchange when
# a proxy is given, a full TLS handshake (no session resumption) and one small GET read to
# its end. Prints the median seconds per round. Python's own start-up is outside the clock.
#
#   tls-connect.py CAFILE HOST PORT ADDR ROUNDS [PROXY_HOST:PROXY_PORT]
#
# ADDR is where a direct connection goes (the proxy resolves HOST itself).
import socket
import ssl
import statistics
import sys
import time


def read_head(sock):
    """Reads up to the end of an HTTP head; returns the head and what followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("connection closed inside the response head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def one(ctx, host, port, addr, proxy):
    if proxy:
        phost, pport = proxy.rsplit(":", 1)
        raw = socket.create_connection((phost, int(pport)))
        raw.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head, rest = read_head(raw)
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit("proxy refused the tunnel: " + head.split(b"\r\n")[0].decode())
        if rest:
            raise SystemExit("proxy sent bytes after its 200")
    else:
        raw = socket.create_connection((addr, port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls = ctx.wrap_socket(raw, server_hostname=host)
    tls.sendall(f"GET /1k HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    head, body = read_head(tls)
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit("upstream answered: " + head.split(b"\r\n")[0].decode())
    while True:
        chunk = tls.recv(65536)
        if not chunk:
            break
        body += chunk
    tls.close()
    if len(body) != 1024:
        raise SystemExit(f"short body: {len(body)} bytes")


def main():
    cafile, host, port, addr, rounds = sys.argv[1:6]
    proxy = sys.argv[6] if len(sys.argv) > 6 else ""
    ctx = ssl.create_default_context(cafile=cafile)
    times = []
    for _ in range(int(rounds)):
        t = time.perf_counter()
        one(ctx, host, int(port), addr, proxy)
        times.append(time.perf_counter() - t)
    print(f"{statistics.median(times):.9f}")


main()
