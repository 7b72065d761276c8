#!/usr/bin/env python3
"""The admin listener with [admin] tls = on: a certificate for localhost
and the listen address issued by the instance test CA (verified by a
client that trusts only that CA), kept across restarts, TLS 1.2+, HSTS and
Secure cookies; a wildcard listen address; and tls = off refused on a
non-loopback address."""

import subprocess
import ssl

from admin_client import AdminClient, read, served_pem
from harness import POSTERN, Daemon, Instance, Tap, free_port, wait_port

PASSWORD = "correct horse battery"
t = Tap()


def tls_instance(listen_host="127.0.0.1"):
    ti = Instance(password=PASSWORD)
    with open(ti.conf) as f:
        text = f.read()
    text = text.replace("tls = off", "tls = on")
    text = text.replace("listen = 127.0.0.1:%d" % ti.admin_port,
                        "listen = %s:%d" % (listen_host, ti.admin_port))
    with open(ti.conf, "w") as f:
        f.write(text)
    return ti


def trust(ti):
    ca = ti.path("ca.pem")
    with open(ca, "w") as f:
        f.write(ti.cli("cert", "test-ca").stdout)
    return ssl.create_default_context(cafile=ca)


def stop_clean(d, what):
    rc = d.stop()
    log = read(d.log_path)
    t.ok(rc == 0 and "Sanitizer" not in log and "runtime error" not in log,
         "%s: the daemon exits cleanly" % what, log[-3000:])


def test_loopback():
    ti = tls_instance()
    d = Daemon(ti)
    try:
        wait_port(ti.admin_port)
        ctx = trust(ti)
        for host in ("localhost", "127.0.0.1"):
            c = AdminClient(ti.admin_port, host=host, context=ctx)
            r = c.get("/")
            t.eq(r.status, 200, "admin TLS verifies against the test CA as %s" % host)
        t.eq(r.header("Strict-Transport-Security"), "max-age=31536000", "HSTS under TLS")
        r = c.login("admin", PASSWORD)
        t.ok(r.status == 200 and "; Secure" in (r.header("Set-Cookie") or ""),
             "the session cookie is Secure under TLS", r)
        r = c.get("/api/v1/status")
        t.ok(r.status == 200 and r.header("Strict-Transport-Security"), "the API over TLS", r)
        t.eq(c.delete("/api/v1/session").status, 204, "sign out over TLS")
        out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % ti.admin_port,
                              "-tls1_1"], input="", capture_output=True, text=True, timeout=10)
        t.ok(out.returncode != 0, "TLS 1.1 is refused")
        wrong = ssl.create_default_context()
        try:
            AdminClient(ti.admin_port, host="localhost", context=wrong).get("/")
            t.ok(False, "a client that does not trust the test CA is refused")
        except ssl.SSLError:
            t.ok(True, "a client that does not trust the test CA is refused")
        first = served_pem(ti.admin_port, "localhost")
    finally:
        stop_clean(d, "tls = on")
    d = Daemon(ti)
    try:
        wait_port(ti.admin_port)
        t.eq(served_pem(ti.admin_port, "localhost"), first,
             "the admin certificate is kept across restarts")
    finally:
        stop_clean(d, "restart")
    ti.cleanup()


def test_wildcard_address():
    ti = tls_instance("0.0.0.0")
    d = Daemon(ti)
    try:
        wait_port(ti.admin_port)
        ctx = trust(ti)
        for host in ("localhost", "127.0.0.1"):
            r = AdminClient(ti.admin_port, host=host, context=ctx).get("/")
            t.eq(r.status, 200, "listening on 0.0.0.0: verifies as %s" % host)
    finally:
        stop_clean(d, "0.0.0.0")
    ti.cleanup()


def test_plain_refused_off_loopback():
    ti = Instance(password=PASSWORD)
    port = free_port()
    with open(ti.conf) as f:
        text = f.read()
    with open(ti.conf, "w") as f:
        f.write(text.replace("listen = 127.0.0.1:%d" % ti.admin_port, "listen = 0.0.0.0:%d" % port))
    out = subprocess.run([POSTERN, "-c", ti.conf], capture_output=True, text=True, timeout=20,
                         env=ti.env())
    t.ok(out.returncode != 0 and "loopback" in out.stderr,
         "tls = off on a non-loopback address refuses to start", out.stderr)
    ti.cleanup()


t.run(test_loopback)
t.run(test_wildcard_address)
t.run(test_plain_refused_off_loopback)
t.done()
