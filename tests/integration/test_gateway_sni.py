#!/usr/bin/env python3
"""TLS termination with the SNI cache, through the real daemon and
openssl s_client: exact, wildcard (one label), default, no match (alert),
two certificates for one name, an RSA + ECDSA pair, hot swap within 1 s
with zero failed handshakes, and the deployed flag."""

import json
import os
import socket
import subprocess
import threading
import time

from harness import Daemon, Instance, Pki, Tap, served_subject, s_client, https_context

t = Tap()
inst = Instance(extra_conf="")
with open(inst.conf) as f:
    conf = f.read()
with open(inst.conf, "w") as f:
    f.write(conf.replace("workers = 2\n", "workers = 2\ndefault_certificate = default.test\n"))
pki = Pki(inst.dir)
pki.ca("Test Root")


def cli_ok(*args):
    r = inst.cli(*args)
    if r.returncode != 0:
        raise AssertionError("%s: %s" % (args, r.stderr))
    return r


def setup():
    cli_ok("cert", "selfsign", "--domain", "a.test")
    cli_ok("cert", "selfsign", "--domain", "wild.test", "--san", "*.wild.test")
    cli_ok("cert", "selfsign", "--domain", "default.test")
    ec, ec_key = pki.leaf("dual-ec", "dual.test ECDSA", ["dual.test"], "Test Root")
    rsa, rsa_key = pki.leaf("dual-rsa", "dual.test RSA", ["dual.test"], "Test Root", kind=2048)
    cli_ok("cert", "import", "--domain", "dual.test", "--cert", ec, "--key", ec_key)
    cli_ok("cert", "import", "--domain", "dual.test", "--cert", rsa, "--key", rsa_key)
    short, short_key = pki.leaf("two-short", "two.test short", ["two.test"], "Test Root", days=30)
    long_, long_key = pki.leaf("two-long", "two.test long", ["two.test"], "Test Root", days=90)
    cli_ok("cert", "import", "--domain", "two.test", "--cert", long_, "--key", long_key)
    cli_ok("cert", "import", "--domain", "two.test", "--cert", short, "--key", short_key)
    old, old_key = pki.expired_leaf("old", "old.test", "Test Root")
    cli_ok("cert", "import", "--domain", "old.test", "--cert", old, "--key", old_key)
    now, now_key = pki.leaf("old-valid", "old.test valid", ["old.test"], "Test Root", days=5)
    cli_ok("cert", "import", "--domain", "old.test", "--cert", now, "--key", now_key)


def test_selection(port):
    t.eq(served_subject(port, "a.test"), "a.test", "exact name")
    t.eq(served_subject(port, "A.TEST"), "a.test", "SNI is case-insensitive")
    t.eq(served_subject(port, "x.wild.test"), "wild.test", "wildcard covers one label")
    t.eq(served_subject(port, "y.x.wild.test"), "default.test",
         "wildcard does not cover two labels: default certificate")
    t.eq(served_subject(port, "wild.test"), "wild.test", "the bare parent is its own SAN")
    t.eq(served_subject(port, "unknown.test"), "default.test", "unknown name: default")
    t.eq(served_subject(port, None), "default.test", "no SNI: default")
    t.eq(served_subject(port, "two.test"), "two.test long",
         "two certificates for one name: the latest expiry wins")
    t.eq(served_subject(port, "old.test"), "old.test valid",
         "an expired certificate loses to a valid one")
    t.eq(served_subject(port, "dual.test", ["-sigalgs", "ECDSA+SHA256", "-tls1_2", "-cipher",
                                            "ECDHE-ECDSA-AES128-GCM-SHA256"]),
         "dual.test ECDSA", "ECDSA-capable client gets the ECDSA certificate")
    t.eq(served_subject(port, "dual.test", ["-sigalgs", "RSA-PSS+SHA256:RSA+SHA256", "-tls1_2",
                                            "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]),
         "dual.test RSA", "RSA-only client gets the RSA certificate")
    rc, out = s_client(port, "a.test", ["-tls1_1"])
    t.ok(rc != 0, "TLS 1.1 refused")
    ctx = https_context()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="a.test") as s:
            t.eq(s.selected_alpn_protocol(), "http/1.1", "ALPN: http/1.1 chosen over h2")
    ctx = https_context()
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="a.test") as s:
            t.eq(s.selected_alpn_protocol(), None, "ALPN with only h2 offered: no ALPN, no failure")


def test_deployed():
    lst = inst.cli_json("cert", "list")["certificates"]
    t.ok(all(c["deployed"] for c in lst), "every certificate shows deployed=true",
         [(c["id"], c["deployed"]) for c in lst])


def handshake_loop(port, stop, counts):
    ctx = https_context()
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                with ctx.wrap_socket(s, server_hostname="a.test"):
                    counts["ok"] += 1
        except Exception as e:  # noqa: BLE001
            counts["fail"] += 1
            counts["last"] = repr(e)


def test_hot_swap(port):
    stop = threading.Event()
    counts = {"ok": 0, "fail": 0}
    th = threading.Thread(target=handshake_loop, args=(port, stop, counts))
    th.start()
    time.sleep(0.3)
    t0 = time.time()
    r = inst.cli("cert", "selfsign", "--domain", "new.test", "--json")
    new_id = json.loads(r.stdout)["id"]
    served = None
    while time.time() - t0 < 3:
        served = served_subject(port, "new.test")
        if served == "new.test":
            break
        time.sleep(0.05)
    dt = time.time() - t0
    t.ok(served == "new.test" and dt < 1.5, "a new certificate serves within 1 s (%.2f s)" % dt)
    show = inst.cli_json("cert", "show", str(new_id))
    t.eq(show["deployed"], True, "it shows deployed")
    t0 = time.time()
    inst.cli("cert", "delete", str(new_id))
    while time.time() - t0 < 3 and served_subject(port, "new.test") == "new.test":
        time.sleep(0.05)
    dt = time.time() - t0
    t.ok(served_subject(port, "new.test") == "default.test" and dt < 1.5,
         "a deleted certificate stops serving within 1 s (%.2f s)" % dt)
    stop.set()
    th.join()
    t.ok(counts["ok"] > 20 and counts["fail"] == 0,
         "handshake loop during the swaps: %d ok, %d failed" % (counts["ok"], counts["fail"]),
         counts.get("last"))


def test_no_default_alert():
    other = Instance()
    r = other.cli("cert", "selfsign", "--domain", "only.test")
    d = Daemon(other)
    try:
        rc, out = s_client(other.https_port, "nothing.test")
        t.ok(rc != 0 and "unrecognized name" in out.lower(),
             "no match and no default: unrecognized_name alert", out)
        t.eq(served_subject(other.https_port, "only.test"), "only.test", "its own name serves")
    finally:
        d.stop()
        other.cleanup()


def test_moved_key_not_deployed():
    other = Instance()
    other.cli("cert", "selfsign", "--domain", "k1.test")
    other.cli("cert", "selfsign", "--domain", "k2.test")
    db = os.path.join(other.data, "postern.db")
    subprocess.run(["sqlite3", db, "UPDATE certificates SET sealed_key=(SELECT sealed_key FROM "
                    "certificates WHERE domain='k1.test') WHERE domain='k2.test'"], check=True)
    d = Daemon(other)
    try:
        t.eq(served_subject(other.https_port, "k1.test"), "k1.test", "the intact record serves")
        rc, out = s_client(other.https_port, "k2.test")
        t.ok(rc != 0, "a sealed key moved to another record does not open: not served")
        lst = {c["domain"]: c["deployed"] for c in other.cli_json("cert", "list")["certificates"]}
        t.eq(lst, {"k1.test": True, "k2.test": False}, "deployed reflects it")
        t.ok("is not deployed" in d.output(), "the daemon logs why", d.output())
    finally:
        d.stop()
        other.cleanup()


setup()
daemon = Daemon(inst)
try:
    t.run(lambda: test_selection(inst.https_port))
    t.run(test_deployed)
    t.run(lambda: test_hot_swap(inst.https_port))
finally:
    rc = daemon.stop()
t.eq(rc, 0, "SIGTERM: exit 0")
t.run(test_no_default_alert)
t.run(test_moved_key_not_deployed)
inst.cleanup()
t.done()
