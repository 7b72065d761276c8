#!/usr/bin/env python3
"""RSS of a TLS proxy holding N idle keep-alive connections (one request
each): bench/idle_conns.py PORT N PID. Run it against postern and against
nginx (with worker_connections above N: nginx otherwise closes idle
keep-alive connections) behind the same upstream; compare the growth."""
import socket, ssl, sys, time, subprocess
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def rss(p):
    tot = 0
    for line in open("/proc/%d/status" % p):
        if line.startswith("VmRSS"): tot += int(line.split()[1])
    return tot
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
before = rss(pid)
conns = []
t0 = time.time()
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="bench.test")
    s.sendall(b"GET /100 HTTP/1.1\r\nHost: bench.test\r\n\r\n")
    d = b""
    while not d.endswith(b"0123456789"):
        d += s.recv(4096)
    conns.append(s)
time.sleep(1)
after = rss(pid)
print("port %d: %d idle TLS keep-alive connections: RSS %d -> %d KiB (+%.1f KiB/conn) in %.0f s" % (port, n, before, after, (after - before) / n, time.time() - t0))
for s in conns: s.close()
