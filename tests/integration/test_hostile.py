#!/usr/bin/env python3
"""Hostile input against the real daemon: every bad-input case of SPEC
section 4 gets its status and a closed connection, slowloris gets 408, and
no request-smuggling attempt reaches the backend as two requests."""

import socket
import time

from backends import Backend
from harness import Daemon, Instance, Tap, raw_request, status_of

t = Tap()
inst = Instance()
with open(inst.conf) as f:
    conf = f.read()
with open(inst.conf, "w") as f:
    f.write(conf.replace("workers = 2\n", "workers = 2\nheader_timeout = 2s\n"))
A = Backend("A")
inst.cli("app", "add", "--name", "a", "--domain", "a.test", "--backend", A.url)

H = b"Host: a.test\r\n"
SMUGGLE = b"GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n"

CASES = [
    ("CL and TE together",
     b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n" + SMUGGLE, 400),
    ("Transfer-Encoding: chunked, identity",
     b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + SMUGGLE, 400),
    ("Transfer-Encoding: identity",
     b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n\r\n" + SMUGGLE, 400),
    ("two Transfer-Encoding fields",
     b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n" + SMUGGLE, 400),
    ("duplicate Content-Length (same value)",
     b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello" + SMUGGLE, 400),
    ("duplicate Content-Length (different)",
     b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 44\r\n\r\nhello" + SMUGGLE, 400),
    ("Content-Length list", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5, 5\r\n\r\nhello", 400),
    ("Content-Length +5", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello", 400),
    ("Content-Length not a number", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\n", 400),
    ("space before the colon",
     b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLE, 400),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n  folded\r\n\r\n", 400),
    ("bare CR in a value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 400),
    ("bare CR as line end", b"GET / HTTP/1.1\r" + H + b"\r\n", 400),
    ("NUL in a value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("invalid chunk size",
     b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    ("oversized chunk size",
     b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
     b"10000000000000000\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk data without CRLF",
     b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400),
    ("missing Host in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Host fields", b"GET / HTTP/1.1\r\n" + H + b"Host: b.test\r\n\r\n", 400),
    ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("garbage request line", b"HELLO\r\n\r\n", 400),
    ("HTTP/2.0 request line", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("request line over 8 KiB", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("header block over 16 KiB",
     b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 200) for i in range(100)) + b"\r\n", 431),
]


def run_case(name, data, want):
    before = A.hits
    out = raw_request(inst.http_port, data, timeout=5)
    got = status_of(out)
    t.eq(got, want, "%s -> %d" % (name, want))
    # raw_request reads until EOF: the server closed the connection; a keep-alive
    # connection would have hit the 5 s timeout instead
    time.sleep(0.05)
    t.ok(A.hits - before <= 1, "%s: the backend got %d request(s), never two" %
         (name, A.hits - before))


def test_connection_closed_after_400():
    s = socket.create_connection(("127.0.0.1", inst.http_port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n  folded\r\n\r\n")
    t0 = time.time()
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    t.ok(status_of(data) == 400 and time.time() - t0 < 2 and b"Connection: close" in data,
         "after a 400 the gateway closes the connection at once")
    s.close()


def test_slowloris():
    s = socket.create_connection(("127.0.0.1", inst.http_port), timeout=10)
    t0 = time.time()
    s.sendall(b"GET / HTTP/1.1\r\n")
    data = b""
    try:
        for i in range(20):
            s.sendall(b"X-Slow-%d: 1\r\n" % i)
            time.sleep(0.25)
            s.setblocking(False)
            try:
                chunk = s.recv(4096)
                if chunk:
                    data += chunk
                    break
                break
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
    except (BrokenPipeError, ConnectionResetError):
        pass
    dt = time.time() - t0
    t.ok(status_of(data) == 408 and 1.5 < dt < 3.5,
         "slowloris: 408 after header_timeout (%.1f s)" % dt, data[:100])
    s.close()


def test_pipelined_requests_are_separate():
    before = A.hits
    out = raw_request(inst.http_port, b"GET /1 HTTP/1.1\r\n" + H + b"\r\n" +
                      b"GET /2 HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", timeout=5)
    t.ok(out.count(b"HTTP/1.1 200") == 2 and A.hits - before == 2,
         "two pipelined requests: two responses, in order")


daemon = Daemon(inst)
try:
    for case in CASES:
        t.run(lambda c=case: run_case(*c))
    t.run(test_connection_closed_after_400)
    t.run(test_slowloris)
    t.run(test_pipelined_requests_are_separate)
finally:
    daemon.stop()
A.stop()
inst.cleanup()
t.done()
