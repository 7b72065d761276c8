#!/usr/bin/env python3
"""The daemon's life: graceful drain on SIGTERM (a request in flight
finishes, new connections are refused, exit 0), SIGHUP reloads the config
and reopens logs without dropping connections, a port in use is a clear
start-up error, access logs in both formats, and bulk import."""

import json
import os
import signal
import socket
import subprocess
import threading
import time

from backends import Backend
from harness import POSTERN, Daemon, Instance, Pki, Tap, served_subject

t = Tap()
A = Backend("A")


def make(extra=""):
    inst = Instance()
    with open(inst.conf) as f:
        conf = f.read()
    with open(inst.conf, "w") as f:
        f.write(conf.replace("workers = 2\n", "workers = 2\n" + extra).replace(
            "access_log =\n", "access_log = %s\n" % inst.path("access.log")))
    inst.cli("app", "add", "--name", "a", "--domain", "a.test", "--backend", A.url)
    return inst


def slow_request(inst, out):
    try:
        s = socket.create_connection(("127.0.0.1", inst.http_port), timeout=10)
        s.sendall(b"GET /slow?s=1.5 HTTP/1.1\r\nHost: a.test\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and data.endswith(b"}"):
                break
        out["resp"] = data
        s.close()
    except Exception as e:  # noqa: BLE001
        out["error"] = repr(e)


def test_drain():
    inst = make("drain_timeout = 10s\n")
    d = Daemon(inst)
    out = {}
    th = threading.Thread(target=slow_request, args=(inst, out))
    th.start()
    time.sleep(0.4)
    t0 = time.time()
    d.send(signal.SIGTERM)
    time.sleep(0.3)
    refused = False
    try:
        socket.create_connection(("127.0.0.1", inst.http_port), timeout=1).close()
    except OSError:
        refused = True
    th.join()
    rc = d.stop()
    t.ok(refused, "after SIGTERM new connections are refused")
    t.ok(out.get("resp", b"").startswith(b"HTTP/1.1 200") and b"Connection: close" in out["resp"],
         "the request in flight completes (with Connection: close)", out)
    t.eq(rc, 0, "exit status 0 after draining")
    t.ok(time.time() - t0 < 5, "drained in %.1f s" % (time.time() - t0))
    inst.cleanup()


def test_drain_timeout():
    inst = make("drain_timeout = 1s\n")
    d = Daemon(inst)
    out = {}
    s = socket.create_connection(("127.0.0.1", inst.http_port), timeout=10)
    s.sendall(b"GET /slow?s=5 HTTP/1.1\r\nHost: a.test\r\n\r\n")
    time.sleep(0.3)
    t0 = time.time()
    rc = d.stop()
    dt = time.time() - t0
    t.ok(rc == 0 and dt < 3.5, "drain_timeout bounds the wait (%.1f s), exit %s" % (dt, rc))
    s.close()
    inst.cleanup()


def test_sighup():
    inst = make()
    inst.cli("cert", "selfsign", "--domain", "one.test")
    inst.cli("cert", "selfsign", "--domain", "two.test")
    d = Daemon(inst)
    keep = socket.create_connection(("127.0.0.1", inst.http_port), timeout=5)
    t.eq(served_subject(inst.https_port, "zzz.test"), None, "no default certificate yet")
    with open(inst.conf, "a") as f:
        pass
    conf = open(inst.conf).read().replace("workers = 2\n",
                                          "workers = 2\ndefault_certificate = two.test\n")
    open(inst.conf, "w").write(conf)
    os.rename(inst.path("access.log"), inst.path("access.log.1"))
    d.send(signal.SIGHUP)
    deadline = time.time() + 3
    while time.time() < deadline and served_subject(inst.https_port, "zzz.test") != "two.test":
        time.sleep(0.1)
    t.eq(served_subject(inst.https_port, "zzz.test"), "two.test",
         "SIGHUP: the new default_certificate serves")
    keep.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    data = keep.recv(65536)
    t.ok(data.startswith(b"HTTP/1.1 200"), "a connection opened before SIGHUP still works")
    keep.close()
    time.sleep(0.5)
    t.ok(os.path.exists(inst.path("access.log")), "SIGHUP reopened the access log")
    t.ok("config reloaded" in d.output(), "and says so in the error log")
    bad = open(inst.conf).read() + "nonsense line\n"
    open(inst.conf, "w").write(bad)
    d.send(signal.SIGHUP)
    time.sleep(0.5)
    t.ok(d.proc.poll() is None and "keeping the running config" in d.output(),
         "a broken config on SIGHUP is refused and the daemon keeps running")
    t.eq(d.stop(), 0, "exit 0")
    inst.cleanup()


def test_port_in_use():
    inst = make()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    blocker.bind(("127.0.0.1", inst.https_port))
    blocker.listen(1)
    r = subprocess.run([POSTERN, "-c", inst.conf], capture_output=True, text=True, timeout=20,
                       env=inst.env())
    blocker.close()
    t.ok(r.returncode == 1 and ("127.0.0.1:%d" % inst.https_port) in r.stderr,
         "a port in use: exit 1 naming the address", r.stderr)
    inst.cleanup()


def test_access_log():
    for fmt in ("combined", "json"):
        inst = make("")
        conf = open(inst.conf).read().replace("[log]\n", "[log]\naccess_log_format = %s\n" % fmt)
        open(inst.conf, "w").write(conf)
        d = Daemon(inst)
        s = socket.create_connection(("127.0.0.1", inst.http_port), timeout=5)
        s.sendall(b"GET /logged?q=1 HTTP/1.1\r\nHost: a.test\r\nUser-Agent: tester\"x\r\n"
                  b"Connection: close\r\n\r\n")
        while s.recv(65536):
            pass
        s.close()
        time.sleep(0.5)
        d.stop()
        lines = open(inst.path("access.log")).read().splitlines()
        if fmt == "combined":
            t.ok(len(lines) == 1 and lines[0].startswith("127.0.0.1 - - [") and
                 '"GET /logged?q=1 HTTP/1.1" 200' in lines[0] and 'tester\\x22x' in lines[0],
                 "combined access log line (untrusted quote escaped)", lines)
        else:
            rec = json.loads(lines[0]) if lines else {}
            t.ok(rec.get("status") == 200 and rec.get("target") == "/logged?q=1" and
                 rec.get("app") == "a" and rec.get("user_agent") == 'tester"x',
                 "JSON access log line", lines)
        inst.cleanup()


def test_import_list():
    inst = make()
    pki = Pki(inst.dir)
    pki.ca("Bulk CA")
    lines = []
    for i in range(30):
        cert, key = pki.leaf("b%d" % i, "b%d.bulk.test" % i, ["b%d.bulk.test" % i], "Bulk CA")
        pem = inst.path("b%d.pem" % i)
        open(pem, "w").write(open(cert).read() + open(key).read())
        lines.append(pem + ("" if i % 2 else " b%d.bulk.test" % i))
    lst = inst.path("list")
    open(lst, "w").write("# bulk\n" + "\n".join(lines) + "\n")
    r = inst.cli("cert", "import-list", lst)
    t.ok(r.returncode == 0 and "imported 30 certificates" in r.stdout, "import-list", r.stderr)
    t.eq(len(inst.cli_json("cert", "list")["certificates"]), 30, "30 certificates stored")
    open(lst, "a").write(inst.path("nonexistent.pem") + "\n")
    r = inst.cli("cert", "import-list", lst)
    t.ok(r.returncode == 1 and "line 32" in r.stderr, "a bad line fails naming it", r.stderr)
    t.eq(len(inst.cli_json("cert", "list")["certificates"]), 30,
         "all or nothing: none of the second list was stored")
    inst.cleanup()


for fn in (test_drain, test_drain_timeout, test_sighup, test_port_in_use, test_access_log,
           test_import_list):
    t.run(fn)
A.stop()
t.done()
