#!/usr/bin/env python3
"""ACME (RFC 8555, HTTP-01) against a real Pebble, offline, as
../../shared/ACME-TESTING.md describes: the gateway's HTTP listener answers
Pebble's validation requests itself. Two pebble-challtestsrv instances give
a split-horizon DNS: "public" is what Pebble's VA resolves through,
"internal" is the gateway's [acme] resolver for its pre-flight checks.

Checks: issuance for two names through the CLI and through the API, served
by SNI and verified against Pebble's root and intermediate; the account
stored and reused after a restart; a restart in the middle of an order; a
name whose DNS points elsewhere (awaiting_dns, then issued once DNS is
fixed, with no action); a validation failure (the token answered 404) that
fails with Pebble's detail and retries with exponential backoff; automatic
certificates for an application's names; renewal of a 90-second
certificate hot-swapped while handshakes run, with none failing; badNonce
at 25 % (five times Pebble's default) still issuing; a CA that forgot the
account; badNonce at 100 % failing once, clearly, without looping; ARI
(RFC 9773) through a front that adds renewalInfo, which pebble 2.4 lacks."""

import base64
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from admin_client import AdminClient
from harness import Daemon, Instance, Tap, openssl
from pebble import AriShim, ChallTestSrv, FrontServer, Pebble

if shutil.which("pebble") is None or shutil.which("pebble-challtestsrv") is None:
    print("1..0 # SKIP pebble is not installed (tools/install-deps.sh --test installs it)")
    sys.exit(0)

t = Tap()
W = tempfile.mkdtemp(prefix="postern-acme-")
BACKOFF_ENV = {"POSTERN_TEST_ACME_BACKOFF_MS": "2000"}
PASSWORD = "correct horse battery"
procs = []  # everything to stop at the end, newest first
instances = []  # their directories are removed at the end


def setup_instance(resolver, env, validity=None, pebble_env=None, name="main",
                   dns=None):
    """An instance whose HTTP port is Pebble's httpPort, its pebble, and the
    [acme] section; returns (inst, pebble, daemon)."""
    inst = Instance(password=PASSWORD, extra_conf="level = debug\n")
    instances.append(inst)
    peb = Pebble(W, name, inst.http_port, dns, validity=validity, env=pebble_env)
    procs.insert(0, peb)
    with open(inst.conf, "a") as f:
        f.write("[acme]\ndirectory_url = %s\nemail = ops@example.org\nca_bundle = %s\n"
                "resolver = %s\n" % (peb.directory, peb.ca, resolver))
    gw = Daemon(inst, env)
    return inst, peb, gw


def cert(inst, cid):
    return inst.cli_json("cert", "show", str(cid))


def create(inst, domain, *sans):
    args = ["cert", "acme", "--domain", domain]
    for s in sans:
        args += ["--san", s]
    return inst.cli_json(*args)["id"]


def wait_cert(inst, cid, pred, timeout=40):
    deadline = time.time() + timeout
    while True:
        j = cert(inst, cid)
        if pred(j) or time.time() > deadline:
            return j
        time.sleep(0.25)


def issued(j):
    return j["status"] in ("ok", "expiring") and j["deployed"]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def served_chain(port, name):
    """PEM blocks the gateway sends for SNI name."""
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", name, "-showcerts"], input="", capture_output=True,
                       text=True, timeout=10)
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.stdout,
                      re.S)


def verify_served(inst, name, root):
    """(ok, output): a handshake for name verifies against Pebble's root
    with the chain the gateway sends, host name checked."""
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % inst.https_port,
                        "-servername", name, "-CAfile", root, "-verify_return_error",
                        "-verify_hostname", name], input="", capture_output=True, text=True,
                       timeout=10)
    out = r.stdout + r.stderr
    return r.returncode == 0 and "Verify return code: 0 (ok)" in out, out


def account_row(inst):
    db = sqlite3.connect(os.path.join(inst.data, "postern.db"))
    try:
        return db.execute("SELECT directory_url, kid, length(sealed_key) FROM acme_accounts"
                          ).fetchall()
    finally:
        db.close()


def failures_logged(gw, cid):
    """[(logged at, retry at)] of every failure of certificate cid."""
    out = []
    pat = re.compile(r"^(\S+) \[warn\] acme: certificate %d failed: .*\(retrying at (\S+)\)$"
                     % cid)
    for line in gw.output().splitlines():
        m = pat.match(line)
        if m:
            out.append(tuple(time.mktime(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))
                             for v in m.groups()))
    return out


class HandshakeLoop(threading.Thread):
    """TLS handshakes for name, one after another, each verified against
    Pebble's root; counts failures and the serials seen."""

    def __init__(self, port, name, root):
        super().__init__(daemon=True)
        self.port, self.name = port, name
        self.ctx = ssl.create_default_context(cafile=root)
        self.ok = 0
        self.failed = []
        self.serials = []
        self.running = True
        self.start()

    def run(self):
        while self.running:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
                    with self.ctx.wrap_socket(raw, server_hostname=self.name) as s:
                        serial = s.getpeercert()["serialNumber"]
                if not self.serials or self.serials[-1] != serial:
                    self.serials.append(serial)
                self.ok += 1
            except (OSError, ssl.SSLError) as e:
                self.failed.append(repr(e))
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.join(10)


# ---- the main pebble: 90-second certificates, so renewal is seen in the run

public = ChallTestSrv(W, "public")
internal = ChallTestSrv(W, "internal")
procs += [public, internal]
inst, peb, gw = setup_instance(internal.dns, BACKOFF_ENV, validity=90, dns=public.dns)
root = write(os.path.join(W, "root.pem"), peb.mgmt("/roots/0"))
inter = write(os.path.join(W, "inter.pem"), peb.mgmt("/intermediates/0"))
state = {}


def test_issue_cli():
    cid = create(inst, "a.test", "b.test")
    state["a"] = cid
    t.eq(cert(inst, cid)["status"], "pending", "cert acme creates a pending record")
    j = wait_cert(inst, cid, issued)
    t.ok(issued(j), "two names issued through the CLI and deployed", j)
    t.eq(sorted(j["sans"]), ["a.test", "b.test"], "the certificate has both names")
    t.ok(j["issuer_cn"].startswith("Pebble Intermediate CA"), "issued by Pebble's intermediate",
         j["issuer_cn"])
    t.ok(j["renewal"]["next_attempt"] is not None and j["renewal"]["last_error"] is None,
         "renewal.next_attempt is set and last_error is empty", j["renewal"])
    for name in ("a.test", "b.test"):
        ok, out = verify_served(inst, name, root)
        t.ok(ok, "served by SNI %s: verifies against Pebble's root, host name checked" % name,
             out)
    chain = served_chain(inst.https_port, "a.test")
    leaf = write(os.path.join(W, "leaf-a.pem"), chain[0] + "\n")
    r = subprocess.run(["openssl", "verify", "-CAfile", root, "-untrusted", inter, leaf],
                       capture_output=True, text=True)
    t.ok(len(chain) == 2 and r.returncode == 0,
         "the gateway sends leaf + intermediate; openssl verify with the management API's root "
         "and intermediate", r.stdout + r.stderr)
    state["fp_a"] = j["fingerprint_sha256"]
    state["serial_a"] = openssl("x509", "-in", leaf, "-noout", "-serial").strip().split("=")[1]


def test_account():
    rows = account_row(inst)
    t.ok(len(rows) == 1 and rows[0][0] == peb.directory and
         rows[0][1].startswith("https://127.0.0.1:%d/my-account/" % peb.port) and rows[0][2] > 40,
         "one account for the directory, with its kid and sealed key stored", rows)
    t.eq(peb.count("POST /sign-me-up"), 1, "one newAccount request so far")
    state["kid"] = rows[0][1] if rows else None


def test_restart_mid_order():
    global gw
    slow = FrontServer("127.0.0.4", inst.http_port, "slow", target_port=inst.http_port)
    procs.insert(0, slow)
    public.add_a("slow.test", ["127.0.0.4"])  # Pebble's path to the name takes 3 s
    orders = peb.count("POST /order-plz")
    cid = create(inst, "slow.test")
    deadline = time.time() + 20
    while "certificate %d: validation" % cid not in gw.output() and time.time() < deadline:
        time.sleep(0.05)
    t.ok(time.time() < deadline, "the order reached validation")
    t.eq(gw.stop(), 0, "the gateway stops cleanly in the middle of an order")
    j = cert(inst, cid)
    t.ok(j["status"] == "pending" and j["expires_on"] is None,
         "stopped in the middle of the order: still pending, no certificate", j)
    gw = Daemon(inst, BACKOFF_ENV)
    j = wait_cert(inst, cid, issued, timeout=40)
    t.ok(issued(j), "after the restart the order starts again and the certificate is issued",
         j["status_detail"])
    t.ok(peb.count("POST /order-plz") >= orders + 2, "a new order was placed after the restart")
    t.eq(peb.count("POST /sign-me-up"), 1, "the account was reused after the restart")
    t.eq(account_row(inst)[0][1], state.get("kid"), "the stored kid is unchanged")
    public.clear_a("slow.test")


def test_awaiting_dns():
    for dns in (public, internal):
        dns.add_a("elsewhere.test", ["127.0.0.2"])
    orders = peb.count("POST /order-plz")
    cid = create(inst, "elsewhere.test")
    j = wait_cert(inst, cid, lambda j: j["status"] == "awaiting_dns", timeout=20)
    t.eq(j["status"], "awaiting_dns", "a name pointed elsewhere waits for DNS")
    t.ok("elsewhere.test does not reach this gateway" in j["status_detail"] and
         "CNAME or A record" in j["status_detail"] and "checking again at" in j["status_detail"],
         "status_detail says what to point where and when it checks again", j["status_detail"])
    t.ok(j["renewal"]["last_error"] and j["renewal"]["next_attempt"],
         "renewal.last_error and next_attempt are set", j["renewal"])
    t.eq(peb.count("POST /order-plz"), orders, "no order is placed while the DNS is wrong")
    for dns in (public, internal):
        dns.clear_a("elsewhere.test")
    j = wait_cert(inst, cid, issued, timeout=40)
    t.ok(issued(j), "once the DNS points here, it is issued with no action", j["status_detail"])


def test_validation_404():
    front = FrontServer("127.0.0.3", inst.http_port, "404")
    procs.insert(0, front)
    public.add_a("split.test", ["127.0.0.3"])  # the gateway's own resolver says 127.0.0.1
    cid = create(inst, "split.test")
    j = wait_cert(inst, cid, lambda j: j["status"] == "failed", timeout=30)
    t.eq(j["status"], "failed", "a challenge answered 404 by another host fails the order")
    t.ok("urn:ietf:params:acme:error:unauthorized" in j["status_detail"] and
         "404" in j["status_detail"] and "retrying at" in j["status_detail"],
         "status_detail carries Pebble's problem type and detail", j["status_detail"])
    t.ok(j["renewal"]["last_error"] and "404" in j["renewal"]["last_error"],
         "renewal.last_error holds the problem", j["renewal"])
    deadline = time.time() + 30
    while len(failures_logged(gw, cid)) < 3 and time.time() < deadline:
        time.sleep(0.25)
    fails = failures_logged(gw, cid)
    delays = [retry - at for at, retry in fails]
    t.ok(len(delays) >= 3 and 1 <= delays[0] <= 3 and 3 <= delays[1] <= 5 and
         7 <= delays[2] <= 9, "retries back off exponentially (2 s, 4 s, 8 s with the test base)",
         delays)
    t.ok(front.hits >= 3 * 3, "Pebble's VA really asked the other host each time", front.hits)
    public.clear_a("split.test")
    j = wait_cert(inst, cid, issued, timeout=40)
    t.ok(issued(j), "after the fix the next retry issues it", j["status_detail"])


def test_issue_api():
    api = AdminClient(inst.admin_port)
    r = api.login("admin", PASSWORD)
    t.eq(r.status, 200, "API login")
    r = api.post("/api/v1/certificates", {"source": "acme", "domain": "api.test",
                                          "sans": ["www.api.test"]})
    t.eq(r.status, 202, "POST /api/v1/certificates with source acme is accepted")
    cid = r.json()["id"] if r.status == 202 else 0
    j = wait_cert(inst, cid, issued) if cid else {}
    t.ok(cid and issued(j) and sorted(j["sans"]) == ["api.test", "www.api.test"],
         "two names issued through the API", j)
    ok, out = verify_served(inst, "www.api.test", root)
    t.ok(ok, "served by SNI www.api.test and verified against Pebble's root", out)


def test_auto_certificate():
    """The CNAME flow: an application with auto_certificate gets a
    certificate for each of its names that nothing covers yet."""
    before = [c["id"] for c in inst.cli_json("cert", "list")["certificates"]]
    r = inst.cli("app", "add", "--name", "shop", "--domain", "shop.test", "--domain",
                 "*.shop.test", "--domain", "a.test", "--backend", "http://127.0.0.1:9",
                 "--auto-certificate")
    t.ok(r.returncode == 0, "app add --auto-certificate", r.stderr)
    deadline = time.time() + 40
    new = []
    while time.time() < deadline:
        new = [c for c in inst.cli_json("cert", "list")["certificates"] if c["id"] not in before]
        if new and all(issued(c) for c in new):
            break
        time.sleep(0.5)
    t.eq(sorted(c["domain"] for c in new), ["shop.test"],
         "one record, for shop.test: a.test is covered already, *.shop.test needs DNS-01")
    t.ok(new and all(c["source"] == "acme" and issued(c) for c in new),
         "it is issued and deployed with no further action", new)
    ok, out = verify_served(inst, "shop.test", root)
    t.ok(ok, "shop.test is served with a certificate Pebble's root verifies", out)


def test_renewal(loop):
    cid = state["a"]
    before = state["fp_a"]  # as first issued: the renewal may have happened already
    j = wait_cert(inst, cid, lambda j: j["fingerprint_sha256"] != before and j["deployed"],
                  timeout=100)
    time.sleep(1.5)  # handshakes on the new certificate too
    loop.stop()
    t.ok(j["fingerprint_sha256"] != before and issued(j),
         "the 90-second certificate was renewed automatically (1/3 of its life left)", j)
    t.ok(len(loop.serials) >= 2, "handshakes saw the old and then the new certificate",
         loop.serials)
    t.ok(loop.serials and loop.serials[0] == state["serial_a"],
         "the loop started while the first certificate served", (loop.serials, state))
    t.ok(not loop.failed and loop.ok > 20, "no handshake failed during the hot swap (%d ok)"
         % loop.ok, loop.failed[:5])
    ok, out = verify_served(inst, "b.test", root)
    t.ok(ok, "the renewed certificate verifies against Pebble's root", out)


# ---- badNonce: other pebbles, other gateways

def test_bad_nonce_25():
    inst2, peb2, gw2 = setup_instance(internal.dns, BACKOFF_ENV, name="nonce25",
                                      pebble_env={"PEBBLE_WFE_NONCEREJECT": "25"},
                                      dns=public.dns)
    procs.insert(0, gw2)
    cid = create(inst2, "n1.test", "n2.test")
    j = wait_cert(inst2, cid, issued, timeout=60)
    retries = gw2.output().count("badNonce, retrying")
    t.ok(issued(j), "with 25 %% of nonces refused the certificate is still issued "
         "(%d badNonce retries)" % retries, j["status_detail"])
    # the CA forgets every account (a reset test CA): the stored kid is
    # refused, so the client registers the same key again and goes on
    kid = account_row(inst2)[0][1]
    peb2.restart()
    cid = create(inst2, "n3.test")
    j = wait_cert(inst2, cid, issued, timeout=40)
    t.ok(issued(j), "after the CA forgot the account, the next order still issues",
         j["status_detail"])
    t.ok("no longer knows account" in gw2.output() and account_row(inst2)[0][1] != kid,
         "the account was registered again and its new kid stored", account_row(inst2))
    t.eq(gw2.stop(), 0, "that gateway stops cleanly")


def test_bad_nonce_100():
    inst3, peb3, gw3 = setup_instance(internal.dns, {}, name="nonce100",
                                      pebble_env={"PEBBLE_WFE_NONCEREJECT": "100"},
                                      dns=public.dns)
    procs.insert(0, gw3)
    cid = create(inst3, "z.test")
    j = wait_cert(inst3, cid, lambda j: j["status"] == "failed", timeout=30)
    now = time.time()
    t.eq(j["status"], "failed", "with every nonce refused the order fails")
    t.ok("badNonce" in j["status_detail"] and "retrying at" in j["status_detail"],
         "status_detail names badNonce and the retry time", j["status_detail"])
    next_at = time.mktime(time.strptime(j["renewal"]["next_attempt"], "%Y-%m-%dT%H:%M:%SZ"))
    t.ok(40 <= next_at - now <= 62, "the retry waits the backoff base (1 minute)",
         next_at - now)
    posts = peb3.count("POST /sign-me-up")
    t.eq(posts, 11, "newAccount was tried once plus 10 badNonce retries")
    time.sleep(5)
    t.eq(peb3.count("POST /sign-me-up"), posts, "and then nothing more: no loop")
    t.eq(peb3.count("POST /order-plz"), 0, "no order was attempted without an account")
    t.eq(gw3.stop(), 0, "that gateway stops cleanly")


def ari_cert_id(leaf):
    """RFC 9773 certID of a PEM file: base64url(AKI keyid) "." base64url(serial DER)."""
    out = openssl("x509", "-in", leaf, "-noout", "-ext", "authorityKeyIdentifier", "-serial")
    aki = re.search(r"(?:keyid:)?((?:[0-9A-F]{2}:)+[0-9A-F]{2})", out).group(1)
    serial = bytes.fromhex(re.search(r"serial=([0-9A-F]+)", out).group(1))
    if serial[0] & 0x80:
        serial = b"\0" + serial
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    return b64(bytes.fromhex(aki.replace(":", ""))) + "." + b64(serial)


def test_ari():
    """RFC 9773 through a front that adds renewalInfo to a pebble issuing
    5-year certificates: only the server's window can make it renew now."""
    inst4 = Instance(password=PASSWORD, extra_conf="level = debug\n")
    instances.append(inst4)
    peb4 = Pebble(W, "ari", inst4.http_port, public.dns)
    shim = AriShim(peb4, window=(3, 6))
    procs[:0] = [shim, peb4]
    with open(inst4.conf, "a") as f:
        f.write("[acme]\ndirectory_url = %s\nca_bundle = %s\nresolver = %s\n"
                % (shim.directory, peb4.ca, internal.dns))
    gw4 = Daemon(inst4, BACKOFF_ENV)
    procs.insert(0, gw4)
    cid = create(inst4, "ari.test")
    j = wait_cert(inst4, cid, issued)
    t.ok(issued(j), "issued through the ARI-capable front", j["status_detail"])
    leaf = write(os.path.join(W, "leaf-ari.pem"), served_chain(inst4.https_port, "ari.test")[0])
    want = ari_cert_id(leaf)
    first = j["fingerprint_sha256"]
    j = wait_cert(inst4, cid, lambda j: j["fingerprint_sha256"] != first and j["deployed"],
                  timeout=40)
    t.ok(want in shim.asked, "renewalInfo was asked for the certificate's ARI id", shim.asked)
    t.ok(j["fingerprint_sha256"] != first and issued(j),
         "a 5-year certificate was renewed inside the server's suggested window", j)
    t.ok("suggests renewing it at" in gw4.output(), "the suggested time was taken")
    t.ok(len(shim.replaces) >= 2 and shim.replaces[0] is None and shim.replaces[1] == want,
         "the renewal's newOrder names the certificate it replaces", shim.replaces)
    time.sleep(2.5)
    t.eq(len(shim.replaces), 2, "the new certificate is not renewed again (its window is "
         "a month away)")
    t.eq(gw4.stop(), 0, "that gateway stops cleanly")


def timed(fn):
    """Run fn as a TAP group and note how long it took (a diagnostic)."""
    start = time.time()
    t.run(fn)
    sys.stdout.write("# %s: %.1f s\n" % (fn.__name__, time.time() - start))


def main():
    try:
        timed(test_issue_cli)
        timed(test_account)
        timed(test_restart_mid_order)
        loop = HandshakeLoop(inst.https_port, "a.test", root)
        timed(test_awaiting_dns)
        timed(test_validation_404)
        timed(test_issue_api)
        timed(test_auto_certificate)
        timed(test_bad_nonce_25)
        timed(test_bad_nonce_100)
        timed(test_ari)
        timed(lambda: test_renewal(loop))
        loop.stop()
        t.eq(gw.stop(), 0, "the main gateway stops cleanly (exit status 0)")
    finally:
        gw.stop()
        for p in procs:
            p.stop()
        if t.failed:
            sys.stdout.write("# logs kept in %s and %s\n"
                             % (W, " ".join(i.dir for i in instances)))
        else:
            shutil.rmtree(W, ignore_errors=True)
            for i in instances:
                i.cleanup()
    t.done()


main()
