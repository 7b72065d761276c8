#!/usr/bin/env python3
"""The reverse proxy through the real daemon with real backends: routing,
404/421, forwarded headers, hop-by-hop removal, keep-alive and pooling,
chunked bodies both ways, a 100 MB response with flat memory, WebSocket,
load balancing (each mode), health checks, 502/504, the HTTPS redirect and the ACME
challenge path."""

import base64
import hashlib
import http.client
import json
import os
import socket
import threading
import time

from backends import Backend, Silent, closed_port
from harness import Daemon, Instance, Tap, https_context, raw_request, served_subject, status_of

t = Tap()
inst = Instance(extra_conf="")
with open(inst.conf) as f:
    conf = f.read()
with open(inst.conf, "w") as f:
    f.write(conf.replace("workers = 2\n", "workers = 2\nbackend_timeout = 2s\n"))

A, B, C = Backend("A"), Backend("B"), Backend("C")
SILENT = Silent()
DOWN = closed_port()


def cli_ok(*args):
    r = inst.cli(*args)
    if r.returncode != 0:
        raise AssertionError("%s: %s" % (args, r.stderr))


def setup():
    cli_ok("cert", "selfsign", "--domain", "shop.test")
    cli_ok("cert", "selfsign", "--domain", "blog.test", "--san", "*.blog.test")
    cli_ok("app", "add", "--name", "shop", "--domain", "shop.test", "--backend", A.url)
    cli_ok("app", "add", "--name", "blog", "--domain", "blog.test", "--domain", "*.blog.test",
           "--backend", B.url)
    cli_ok("app", "add", "--name", "rr", "--domain", "rr.test", "--backend", A.url,
           "--backend", B.url)
    cli_ok("app", "add", "--name", "weighted", "--domain", "w.test", "--backend", A.url,
           "--backend", B.url + ",weight=3", "--balance", "weighted")
    cli_ok("app", "add", "--name", "iphash", "--domain", "ip.test", "--backend", A.url,
           "--backend", B.url, "--backend", C.url, "--balance", "ip_hash")
    cli_ok("app", "add", "--name", "leastconn", "--domain", "lc.test", "--backend", A.url,
           "--backend", B.url, "--balance", "least_conn")
    cli_ok("app", "add", "--name", "health", "--domain", "health.test", "--backend", A.url,
           "--backend", C.url, "--health-path", "/healthz", "--health-interval", "1")
    cli_ok("app", "add", "--name", "down", "--domain", "down.test", "--backend",
           "http://127.0.0.1:%d" % DOWN)
    cli_ok("app", "add", "--name", "silent", "--domain", "silent.test", "--backend", SILENT.url)
    cli_ok("app", "add", "--name", "secure", "--domain", "secure.test", "--backend", A.url,
           "--https-redirect")


class SNIConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with a chosen SNI (independent of Host)."""

    def __init__(self, sni):
        super().__init__("127.0.0.1", inst.https_port, timeout=10, context=https_context())
        self.sni = sni

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.sni)


def https(host, path="/", method="GET", body=None, headers=None, sni=None, conn=None,
          chunked=False):
    c = conn or SNIConnection(sni or host)
    h = {"Host": host}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h, encode_chunked=chunked)
    r = c.getresponse()
    data = r.read()
    return r, data, c


def http_get(host, path="/", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", inst.http_port, timeout=10)
    h = {"Host": host}
    h.update(headers or {})
    c.request("GET", path, headers=h)
    r = c.getresponse()
    return r, r.read()


def hdr(info, name):
    return [v for k, v in info["headers"] if k.lower() == name.lower()]


def test_routing():
    r, data, _ = https("shop.test", "/hello?x=1")
    info = json.loads(data)
    t.ok(r.status == 200 and info["server"] == "A", "shop.test reaches backend A")
    t.eq(info["path"], "/hello?x=1", "path and query forwarded unchanged")
    r, data, _ = https("x.blog.test", "/", sni="x.blog.test")
    t.ok(r.status == 200 and json.loads(data)["server"] == "B", "wildcard *.blog.test -> B")
    r, data = http_get("nowhere.test")
    t.eq(r.status, 404, "unknown host: 404")
    r, data, _ = https("blog.test", "/", sni="shop.test")
    t.eq(r.status, 421, "Host not covered by the certificate on this connection: 421")
    r, data = http_get("shop.test", "/plain")
    t.ok(r.status == 200 and json.loads(data)["server"] == "A", "plain HTTP is proxied too")


def test_forwarded_headers():
    r, data, _ = https("shop.test", "/", headers={
        "X-Forwarded-For": "6.6.6.6", "Connection": "X-Drop-Me", "X-Drop-Me": "1",
        "Keep-Alive": "timeout=1", "X-Normal": "kept", "Proxy-Connection": "keep-alive"})
    info = json.loads(data)
    t.eq(hdr(info, "X-Forwarded-For"), ["127.0.0.1"],
         "X-Forwarded-For is the real peer; a claimed address is not passed on")
    t.eq(hdr(info, "X-Forwarded-Proto"), ["https"], "X-Forwarded-Proto https")
    t.eq(hdr(info, "X-Forwarded-Host"), ["shop.test"], "X-Forwarded-Host")
    t.eq(hdr(info, "X-Drop-Me") + hdr(info, "Keep-Alive") + hdr(info, "Proxy-Connection"), [],
         "hop-by-hop headers and those named in Connection are removed")
    t.eq(hdr(info, "X-Normal"), ["kept"], "end-to-end headers are kept")
    # a head larger than the buffer it is built in (4 KiB), in one field and in many
    big = {"X-Big": "b" * 6000}
    big.update({"X-Many-%d" % i: "m%d" % i * 40 for i in range(60)})
    r, data, _ = https("shop.test", "/big-head", headers=big)
    info = json.loads(data)
    t.ok(hdr(info, "X-Big") == ["b" * 6000] and
         all(hdr(info, "X-Many-%d" % i) == ["m%d" % i * 40] for i in range(60)) and
         hdr(info, "X-Forwarded-Host") == ["shop.test"],
         "a 12 KiB request head (a 6,000-byte field and 60 more) reaches the backend whole")
    r, data, _ = https("shop.test", "/hop")
    t.ok(r.getheader("X-Secret") is None and r.getheader("Keep-Alive") is None and
         r.getheader("X-Kept") == "yes", "response hop-by-hop headers removed",
         r.getheaders())
    r, data = http_get("shop.test", "/")
    t.eq(hdr(json.loads(data), "X-Forwarded-Proto"), ["http"], "X-Forwarded-Proto http")


def test_keepalive_and_pool():
    before = len(A.connections)
    _, _, conn = https("shop.test", "/one")
    ok = True
    for i in range(5):
        r, data, _ = https("shop.test", "/again%d" % i, conn=conn)
        ok = ok and r.status == 200
    t.ok(ok, "six requests on one client connection")
    t.ok(len(A.connections) - before <= 2,
         "the backend saw at most 2 new connections for 6 requests (pool): %d" %
         (len(A.connections) - before))


def test_bodies():
    body = os.urandom(300000)
    r, data, _ = https("shop.test", "/upload", method="POST", body=body)
    info = json.loads(data)
    t.ok(info["body_len"] == len(body) and info["body_sha256"] == hashlib.sha256(body).hexdigest(),
         "Content-Length upload arrives intact")

    def gen():
        for i in range(0, len(body), 7000):
            yield body[i:i + 7000]
    r, data, _ = https("shop.test", "/chunked-up", method="POST", body=gen(),
                       headers={"Transfer-Encoding": "chunked"}, chunked=True)
    info = json.loads(data)
    t.ok(info["body_len"] == len(body) and info["body_sha256"] == hashlib.sha256(body).hexdigest(),
         "chunked upload arrives intact")
    r, data, _ = https("shop.test", "/chunked")
    t.ok(r.status == 200 and data == b"hello chunked world\n", "chunked response relayed")
    raw = raw_request(inst.http_port, b"GET /chunked HTTP/1.0\r\nHost: shop.test\r\n\r\n")
    t.ok(b"Transfer-Encoding" not in raw and raw.endswith(b"hello chunked world\n"),
         "HTTP/1.0 client gets the chunked body de-chunked", raw[-200:])
    r, data, _ = https("shop.test", "/close")
    t.ok(r.status == 200 and data == b"until close\n", "response delimited by close")
    r, data, _ = https("shop.test", "/x", method="HEAD")
    t.ok(r.status == 200 and data == b"", "HEAD: no body")


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_large_response():
    pid = daemon.proc.pid
    before = rss_kib(pid)
    sock = socket.create_connection(("127.0.0.1", inst.https_port), timeout=30)
    s = https_context().wrap_socket(sock, server_hostname="shop.test")
    n = 100 * 1024 * 1024
    s.sendall(b"GET /big?n=%d HTTP/1.1\r\nHost: shop.test\r\n\r\n" % n)
    got, peak = 0, before
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(65536)
    got = len(head) - head.index(b"\r\n\r\n") - 4
    while got < n:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
        if got % (8 << 20) < len(chunk):
            peak = max(peak, rss_kib(pid))
            time.sleep(0.01)  # a slow-ish reader: backpressure must hold memory flat
    s.close()
    t.eq(got, n, "100 MB response streamed completely")
    t.ok(peak - before < 20 * 1024, "RSS grew by %d KiB while streaming (< 20 MiB)" %
         (peak - before))


def test_websocket():
    sock = socket.create_connection(("127.0.0.1", inst.https_port), timeout=10)
    s = https_context().wrap_socket(sock, server_hostname="shop.test")
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws HTTP/1.1\r\nHost: shop.test\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    t.ok(head.startswith(b"HTTP/1.1 101"), "WebSocket upgrade: 101", head)
    msg = b"hello through postern"
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
    frame = s.recv(4096)
    t.eq(frame[2:], msg, "WebSocket frame echoed through the tunnel")
    s.close()


def servers(host, n, path="/"):
    out = []
    for _ in range(n):
        r, data = http_get(host, path)
        out.append(json.loads(data)["server"] if r.status == 200 else r.status)
    return out


def test_balancing():
    seq = servers("rr.test", 6)
    t.ok(sorted(seq) == ["A", "A", "A", "B", "B", "B"] and seq[0] != seq[1],
         "round_robin alternates: %s" % seq)
    seq = servers("w.test", 40)
    t.eq((seq.count("A"), seq.count("B")), (10, 30), "weighted 1:3")
    seq = servers("ip.test", 10)
    t.ok(len(set(seq)) == 1, "ip_hash: one client always reaches one backend: %s" % seq[:3])


def test_least_conn():
    slow = {}

    def hold():
        r, data = http_get("lc.test", "/slow?s=1.5")
        slow["server"] = json.loads(data)["server"] if r.status == 200 else r.status

    th = threading.Thread(target=hold)
    th.start()
    time.sleep(0.4)  # the slow request is in flight on one backend
    seq = servers("lc.test", 6)
    th.join()
    t.ok(len(set(seq)) == 1 and seq[0] in ("A", "B") and seq[0] != slow.get("server"),
         "least_conn: while one backend holds a request, the new ones go to the other: "
         "%s (slow one on %s)" % (seq, slow.get("server")))
    seq = servers("lc.test", 6)
    t.eq(sorted(set(seq)), ["A", "B"], "least_conn: equal loads rotate: %s" % seq)


def test_health():
    C.healthy = False
    time.sleep(2.5)
    seq = servers("health.test", 6)
    t.eq(set(seq), {"A"}, "an unhealthy backend gets no requests: %s" % seq)
    C.healthy = True
    time.sleep(2.5)
    seq = servers("health.test", 6)
    t.ok("C" in seq, "a recovered backend is used again within an interval: %s" % seq)


def test_errors():
    r, _ = http_get("down.test")
    t.eq(r.status, 502, "backend refused: 502")
    t0 = time.time()
    r, _ = http_get("silent.test")
    dt = time.time() - t0
    t.ok(r.status == 504 and 1.5 < dt < 5, "backend silent past backend_timeout: 504 (%.1f s)" % dt)


def test_redirect_and_challenge():
    r, _ = http_get("secure.test", "/a/b?c=d")
    t.eq(r.status, 301, "https_redirect: 301")
    t.eq(r.getheader("Location"), "https://secure.test:%d/a/b?c=d" % inst.https_port,
         "Location keeps path and query and names the HTTPS port")
    r, data = http_get("secure.test", "/.well-known/acme-challenge/tok_en-1")
    t.ok(r.status == 200 and data == b"tok_en-1.thumbprint",
         "ACME challenge answered, not redirected", (r.status, data))
    r, data = http_get("any.host.example", "/.well-known/acme-challenge/tok_en-1")
    t.ok(r.status == 200 and data == b"tok_en-1.thumbprint", "for any Host")
    r, _ = http_get("secure.test", "/.well-known/acme-challenge/unknown")
    t.eq(r.status, 404, "unknown token: 404")


def test_unresolvable_backend():
    cli_ok("app", "add", "--name", "typo", "--domain", "typo.test", "--backend",
           "http://no-such-host.invalid:8080")
    cli_ok("cert", "selfsign", "--domain", "after-typo.test")
    t0 = time.time()
    served = None
    while time.time() - t0 < 3:
        served = served_subject(inst.https_port, "after-typo.test")
        if served == "after-typo.test":
            break
        time.sleep(0.1)
    t.ok(served == "after-typo.test",
         "a backend name that does not resolve does not hold back other changes (%.1f s)"
         % (time.time() - t0))
    r, _ = http_get("typo.test")
    t.eq(r.status, 502, "its application answers 502 until the name resolves")


setup()
daemon = Daemon(inst, env={"POSTERN_TEST_ACME_TOKENS": "tok_en-1=tok_en-1.thumbprint"})
try:
    for fn in (test_routing, test_forwarded_headers, test_keepalive_and_pool, test_bodies,
               test_large_response, test_websocket, test_balancing, test_least_conn,
               test_health, test_errors,
               test_redirect_and_challenge, test_unresolvable_backend):
        t.run(fn)
finally:
    rc = daemon.stop()
t.eq(rc, 0, "daemon exits 0 on SIGTERM")
for b in (A, B, C, SILENT):
    b.stop()
inst.cleanup()
t.done()
