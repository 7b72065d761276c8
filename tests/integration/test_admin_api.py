#!/usr/bin/env python3
"""The admin JSON API (SPEC section 5) against the real daemon: sign-in,
sessions and CSRF, lockout, API tokens, strict bodies and their limits,
certificates (upload, self-signed, ACME, replace, delete, chain, test CA)
served by SNI within 1 s, applications routed within 1 s, status,
Prometheus metrics, the audit log and security headers (TLS on the admin
listener: test_admin_tls.py). No response may ever contain a private key."""

import hashlib
import os
import re
import socket
import sqlite3
import subprocess
import time

import admin_client
from admin_client import AdminClient, fingerprint_of_pem, openssl_dates, read, served_pem, \
    wait_for
from backends import Backend
from harness import Daemon, Instance, Pki, Tap, openssl, raw_request, status_of, wait_port

PASSWORD = "correct horse battery"
LOCKOUT_S = 6
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

t = Tap()
inst = Instance(password=PASSWORD)
with open(inst.conf) as f:
    conf = f.read()
with open(inst.conf, "w") as f:
    f.write(conf.replace("workers = 2\n", "workers = 2\nheader_timeout = 2s\n"))
pki = Pki(inst.dir)
pki.ca("Upload Root")
pki.ca("Other Root")
daemon = Daemon(inst, env={"POSTERN_TEST_LOCKOUT_SECONDS": str(LOCKOUT_S)})
wait_port(inst.admin_port)
api = AdminClient(inst.admin_port)
BACKEND = Backend("A")
STATE = {}


def error_is(r, status, code, field=None, what=""):
    ok = r.status == status and r.code == code and (field is None or r.field == field)
    return t.ok(ok, "%s -> %d %s%s" % (what, status, code, " (field %s)" % field if field else ""),
                repr(r))


def upload(name, domain, cn=None, sans=None, issuer="Upload Root", kind="ec"):
    cert, key = pki.leaf(name, cn or domain, sans if sans is not None else [domain], issuer,
                         kind=kind)
    return {"domain": domain, "source": "user", "certificate": read(cert),
            "private_key": read(key), "ca_certificate": read(pki.p(issuer + ".pem"))}, cert


def served_fingerprint(name):
    pem = served_pem(inst.https_port, name)
    return fingerprint_of_pem(pem, openssl) if pem else None


# ---- tests


def test_headers_and_console():
    r = api.get("/", auth=False)
    t.eq(r.status, 200, "GET / serves the console without signing in")
    t.ok(r.header("Content-Type", ).startswith("text/html"), "the console is HTML")
    t.eq(r.header("Content-Security-Policy"), CSP, "CSP on the console")
    t.eq(r.header("X-Frame-Options"), "DENY", "X-Frame-Options DENY")
    t.eq(r.header("X-Content-Type-Options"), "nosniff", "X-Content-Type-Options nosniff")
    t.eq(r.header("Referrer-Policy"), "no-referrer", "Referrer-Policy no-referrer")
    t.eq(r.header("Strict-Transport-Security"), None, "no HSTS without TLS")
    r = api.get("/api/v1/status", auth=False)
    t.eq(r.status, 401, "the API needs authentication")
    t.ok(r.header("Content-Security-Policy") == CSP and r.header("X-Frame-Options") == "DENY" and
         r.header("X-Content-Type-Options") == "nosniff" and
         r.header("Referrer-Policy") == "no-referrer", "security headers on an error response")
    t.eq(r.header("Cache-Control"), "no-store", "API responses are not cached")
    t.ok((r.header("WWW-Authenticate") or "").startswith("Bearer"), "401 names the scheme")
    t.eq(api.get("/certificates", auth=False).status, 200, "a console page path serves the app")
    error_is(api.get("/nothing.js", auth=False), 404, "not_found", what="missing console file")
    out = raw_request(inst.admin_port, b"GARBAGE\r\n\r\n")
    t.eq(status_of(out), 400, "malformed HTTP -> 400")
    t.ok(b"X-Frame-Options: DENY" in out and b"bad_request" in out,
         "the 400 has the security headers and a JSON error", out)


def test_login():
    error_is(api.login("admin", "wrong password"), 401, "invalid_credentials", what="bad password")
    error_is(api.login("nobody", PASSWORD), 401, "invalid_credentials", what="unknown user")
    error_is(api.post("/api/v1/session", {"username": "admin"}, auth=False), 400,
             "missing_field", "password", "login without password")
    r = api.login("admin", PASSWORD)
    t.eq(r.status, 200, "login with the right password")
    cookie = r.header("Set-Cookie") or ""
    t.ok(re.match(r"postern_session=[0-9a-f]{64}; ", cookie) is not None,
         "session cookie: a random 32-byte id", cookie)
    t.ok("HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie,
         "cookie is HttpOnly, SameSite=Strict, Path=/", cookie)
    t.ok("Secure" not in cookie, "no Secure flag without TLS", cookie)
    t.ok(re.fullmatch(r"[0-9a-f]{64}", api.csrf or "") is not None, "login returns a CSRF token")
    r = api.get("/api/v1/session")
    t.ok(r.status == 200 and r.json()["user"] == "admin" and r.json()["csrf_token"] == api.csrf,
         "GET /api/v1/session shows the user and the same CSRF token again", r)


def test_unauthorized():
    anon = AdminClient(inst.admin_port)
    error_is(anon.get("/api/v1/certificates"), 401, "unauthorized", what="no session")
    error_is(anon.get("/metrics"), 401, "unauthorized", what="metrics without auth")
    anon.cookie = "postern_session=" + "ab" * 32
    error_is(anon.get("/api/v1/certificates"), 401, "unauthorized", what="unknown session id")
    error_is(anon.get("/api/v1/certificates", headers={"Authorization": "Bearer pst_nope"}),
             401, "unauthorized", what="unknown bearer token")
    error_is(anon.get("/api/v1/certificates", headers={"Authorization": "Basic YTpi"}), 401,
             "unauthorized", what="Basic authorization")


def test_csrf():
    body = {"domain": "csrf.test", "source": "self_signed"}
    error_is(api.post("/api/v1/certificates", body, csrf=False), 403, "csrf_failed",
             what="POST with a session and no X-CSRF-Token")
    error_is(api.post("/api/v1/certificates", body, csrf=False,
                      headers={"X-CSRF-Token": "0" * 64}), 403, "csrf_failed",
             what="POST with a wrong X-CSRF-Token")
    error_is(api.delete("/api/v1/session", csrf=False), 403, "csrf_failed",
             what="logout without X-CSRF-Token")
    names = [c["domain"] for c in api.get("/api/v1/certificates").json()["certificates"]]
    t.ok("csrf.test" not in names, "nothing was created without the CSRF token")
    t.eq(api.get("/api/v1/certificates", csrf=False).status, 200, "GET needs no CSRF token")


def test_bodies():
    p = "/api/v1/certificates"
    error_is(api.post(p, raw=b'{"domain": "x.test", '), 400, "invalid_json", what="malformed JSON")
    error_is(api.post(p, raw=b'{"domain":"a.test","domain":"b.test","source":"acme"}'), 400,
             "invalid_json", what="duplicate key")
    error_is(api.post(p, raw=b"[1,2]"), 400, "invalid_type", what="a JSON array body")
    error_is(api.post(p, {"domain": "u.test", "source": "self_signed", "colour": "red"}), 400,
             "unknown_field", "colour", "unknown field")
    error_is(api.post(p, {"domain": 7, "source": "self_signed"}), 400, "invalid_type", "domain",
             "number for a string")
    error_is(api.post(p, {"domain": "u.test", "source": "self_signed", "sans": "x"}), 400,
             "invalid_type", "sans", "string for an array")
    error_is(api.post(p, {"source": "self_signed"}), 400, "missing_field", "domain",
             "missing domain")
    error_is(api.post(p, {"domain": "u.test", "source": "magic"}), 400, "invalid_value",
             "source", "unknown source")
    error_is(api.post(p, {"domain": "u.test", "source": "self_signed", "private_key": "x"}),
             400, "unknown_field", "private_key", "a key with a self-signed request")
    app = {"name": "x", "domains": ["x.test"], "backends": [{"url": BACKEND.url, "weight": "2"}]}
    error_is(api.post("/api/v1/applications", app), 400, "invalid_type", "backends[0].weight",
             "nested wrong type")
    app["backends"] = [{"url": BACKEND.url, "wieght": 2}]
    error_is(api.post("/api/v1/applications", app), 400, "unknown_field", "backends[0].wieght",
             "nested unknown field")
    app["backends"] = [{"url": BACKEND.url}]
    app["https_redirect"] = "yes"
    error_is(api.post("/api/v1/applications", app), 400, "invalid_type", "https_redirect",
             "string for a boolean")


def test_body_limit():
    small = b'{"domain":"limit.test","source":"self_signed"}'
    exact = small + b" " * (1024 * 1024 - len(small))
    r = api.post("/api/v1/certificates", raw=exact)
    t.eq(r.status, 201, "a body of exactly 1 MiB is accepted")
    error_is(api.post("/api/v1/certificates", raw=exact + b" "), 413, "body_too_large",
             what="a body of 1 MiB + 1 byte")
    sock = socket.create_connection(("127.0.0.1", inst.admin_port), timeout=10)
    head = ("POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nX-CSRF-Token: %s\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" % (api.cookie, api.csrf)).encode()
    sock.sendall(head)
    out = b""
    try:
        for _ in range(20):
            sock.sendall(b"10000\r\n" + b" " * 0x10000 + b"\r\n")
    except OSError:
        pass
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    sock.close()
    t.eq(status_of(out), 413, "a chunked body over 1 MiB -> 413")
    body = b'{"domain":"chunked.test","source":"self_signed"}'
    req = ("POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nX-CSRF-Token: %s\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % (api.cookie, api.csrf))
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
    t.eq(status_of(raw_request(inst.admin_port, req.encode() + chunks)), 201,
         "a chunked body is decoded")


def test_routing_errors():
    error_is(api.get("/api/v1/nothing"), 404, "not_found", what="unknown endpoint")
    r = api.request("PATCH", "/api/v1/certificates")
    error_is(r, 405, "method_not_allowed", what="PATCH on the certificates")
    t.eq(r.header("Allow"), "GET, HEAD, POST", "405 lists the allowed methods")
    error_is(api.get("/api/v1/certificates/99999"), 404, "not_found", what="unknown certificate")
    error_is(api.get("/api/v1/certificates/abc"), 404, "not_found", what="non-numeric id")
    error_is(api.get("/api/v1/applications/0"), 404, "not_found", what="id 0")


def test_upload():
    body, cert = upload("up", "up.test", sans=["up.test", "www.up.test"])
    r = api.post("/api/v1/certificates", body)
    t.eq(r.status, 201, "upload a certificate, key and CA -> 201")
    c = r.json()
    issued, expires = openssl_dates(cert, openssl)
    want = {"domain": "up.test", "source": "user", "name": "User Provided",
            "subject_cn": "up.test", "sans": ["up.test", "www.up.test"],
            "issuer_cn": "Upload Root", "key_type": "ECDSA P-256",
            "fingerprint_sha256": fingerprint_of_pem(read(cert), openssl),
            "issued_on": issued, "expires_on": expires, "status": "ok", "status_detail": "",
            "deployed": True,
            "renewal": {"auto": False, "next_attempt": None, "last_error": None}}
    for k, v in want.items():
        t.eq(c.get(k), v, "uploaded CERT field %s" % k)
    t.ok(isinstance(c.get("id"), int) and c["id"] > 0, "CERT id is a positive integer")
    fp, waited = wait_for(lambda: served_fingerprint("up.test") == want["fingerprint_sha256"])
    t.ok(fp, "the gateway serves the upload by SNI within 1 s (%.2f s)" % waited)
    r = api.get("/api/v1/certificates/%d/chain.pem" % c["id"])
    t.ok(r.status == 200 and r.header("Content-Type") == "application/x-pem-file",
         "chain.pem is a PEM download", r)
    t.eq(fingerprint_of_pem(r.body.decode(), openssl), want["fingerprint_sha256"],
         "chain.pem starts with the leaf")
    t.ok(b"PRIVATE KEY" not in r.body, "chain.pem holds no key")
    t.eq(api.get("/api/v1/certificates/%d" % c["id"]).json(), c, "GET one returns the same CERT")
    STATE["cert_id"] = c["id"]


def test_upload_errors():
    before = len(api.get("/api/v1/certificates").json()["certificates"])
    body, _ = upload("mm", "mm.test")
    _, other_key = pki.leaf("mm-other", "mm.test", ["mm.test"], "Upload Root")
    error_is(api.post("/api/v1/certificates", dict(body, private_key=read(other_key))), 400,
             "key_mismatch", "private_key", "mismatched key")
    error_is(api.post("/api/v1/certificates", dict(body, certificate="-----BEGIN CERTIFICATE"
                                                    "-----\nnope\n-----END CERTIFICATE-----\n")),
             400, "invalid_pem", "certificate", "garbage certificate")
    enc = pki.p("mm-enc.key")
    openssl("pkey", "-in", pki.p("mm.key"), "-aes256", "-passout", "pass:secret", "-out", enc)
    error_is(api.post("/api/v1/certificates", dict(body, private_key=read(enc))), 400,
             "encrypted_key", "private_key", "passphrase-protected key")
    error_is(api.post("/api/v1/certificates",
                      dict(body, ca_certificate=read(pki.p("Other Root.pem")))), 400,
             "chain_mismatch", "ca_certificate", "CA that did not issue the leaf")
    weak, _ = upload("weak", "weak.test", kind=1024)
    error_is(api.post("/api/v1/certificates", weak), 400, "unsupported_key", "private_key",
             "RSA 1024")
    error_is(api.post("/api/v1/certificates", dict(body, domain="bad domain!")), 400,
             "invalid_domain", "domain", "invalid domain")
    error_is(api.post("/api/v1/certificates", {"domain": "x.test", "source": "user",
                                               "certificate": "x"}), 400, "missing_field",
             "private_key", "user source without a key")
    t.eq(len(api.get("/api/v1/certificates").json()["certificates"]), before,
         "nothing is stored when an upload fails")


def test_replace_and_delete():
    cert_id = STATE["cert_id"]
    body, cert = upload("up2", "up.test", sans=["up.test"])
    new_fp = fingerprint_of_pem(read(cert), openssl)
    del body["domain"], body["source"]
    r = api.put("/api/v1/certificates/%d" % cert_id, body)
    t.ok(r.status == 200 and r.json()["fingerprint_sha256"] == new_fp and r.json()["deployed"],
         "PUT replaces the certificate -> 200 with the new one, deployed", r)
    fp, waited = wait_for(lambda: served_fingerprint("up.test") == new_fp)
    t.ok(fp, "the replacement is served within 1 s (%.2f s)" % waited)
    error_is(api.put("/api/v1/certificates/%d" % cert_id, dict(body, domain="other.test")), 400,
             "invalid_value", "domain", "PUT changing the domain")
    error_is(api.put("/api/v1/certificates/%d" % cert_id, dict(body, private_key="")), 400,
             "invalid_pem", "private_key", "PUT with an empty key")
    ss = api.post("/api/v1/certificates", {"domain": "ss.test", "source": "self_signed"}).json()
    error_is(api.put("/api/v1/certificates/%d" % ss["id"], body), 409, "wrong_source",
             what="PUT on a self-signed certificate")
    error_is(api.put("/api/v1/certificates/99999", body), 404, "not_found", what="PUT unknown")
    r = api.delete("/api/v1/certificates/%d" % cert_id)
    t.ok(r.status == 204 and r.body == b"", "DELETE -> 204 with no body", r)
    error_is(api.get("/api/v1/certificates/%d" % cert_id), 404, "not_found",
             what="GET after DELETE")
    gone, waited = wait_for(lambda: served_fingerprint("up.test") is None)
    t.ok(gone, "the deleted certificate stops serving within 1 s (%.2f s)" % waited)
    error_is(api.delete("/api/v1/certificates/%d" % cert_id), 404, "not_found",
             what="DELETE twice")


def test_self_signed_and_test_ca():
    r = api.post("/api/v1/certificates", {"domain": "dev.test", "source": "self_signed",
                                          "sans": ["api.dev.test"]})
    t.eq(r.status, 201, "self-signed -> 201")
    c = r.json()
    t.ok(c["name"] == "Self-Signed" and c["sans"] == ["dev.test", "api.dev.test"] and
         c["issuer_cn"].startswith("postern test CA") and c["status"] == "ok" and c["deployed"],
         "self-signed CERT fields", c)
    r = api.get("/api/v1/test-ca.pem")
    t.ok(r.status == 200 and r.body.startswith(b"-----BEGIN CERTIFICATE-----"),
         "test-ca.pem is a PEM certificate", r)
    ca = inst.path("test-ca.pem")
    with open(ca, "wb") as f:
        f.write(r.body)
    chain = api.get("/api/v1/certificates/%d/chain.pem" % c["id"]).body.decode()
    leaf = inst.path("dev.pem")
    with open(leaf, "w") as f:
        f.write(chain)
    out = subprocess.run(["openssl", "verify", "-CAfile", ca, leaf], capture_output=True,
                         text=True)
    t.ok(out.returncode == 0, "the test CA verifies the self-signed certificate", out.stderr)
    served, _ = wait_for(lambda: served_pem(inst.https_port, "api.dev.test"))
    t.ok(served is not None and fingerprint_of_pem(served, openssl) == c["fingerprint_sha256"],
         "the self-signed certificate is served for its extra name")


def test_acme():
    r = api.post("/api/v1/certificates", {"domain": "acme.test", "source": "acme"})
    t.eq(r.status, 202, "acme -> 202")
    c = r.json()
    t.ok(c["status"] == "pending" and c["deployed"] is False and c["renewal"]["auto"] is True and
         c["name"] == "Let's Encrypt" and c["fingerprint_sha256"] is None,
         "an ACME record starts pending, not deployed, auto-renewed", c)
    error_is(api.post("/api/v1/certificates", {"domain": "*.acme.test", "source": "acme"}), 400,
             "invalid_domain", "domain", "ACME for a wildcard (HTTP-01 cannot)")
    r = api.post("/api/v1/certificates/%d/renew" % c["id"])
    t.ok(r.status == 202 and r.json()["status"] == "pending", "renew an ACME one -> 202", r)
    ss = api.get("/api/v1/certificates").json()["certificates"][0]
    error_is(api.post("/api/v1/certificates/%d/renew" % ss["id"]), 409, "not_acme",
             what="renew a non-ACME certificate")
    error_is(api.get("/api/v1/certificates/%d/chain.pem" % c["id"]), 409, "not_ready",
             what="chain.pem before ACME has a certificate")


def test_applications():
    app = {"name": "shop", "domains": ["Shop.Test"], "backends": [{"url": BACKEND.url}],
           "health_check": {"path": "/healthz", "interval_s": 5}}
    api.post("/api/v1/certificates", {"domain": "shop.test", "source": "self_signed"})
    r = api.post("/api/v1/applications", app)
    t.eq(r.status, 201, "create an application -> 201")
    a = r.json()
    certs = {c["domain"]: c["id"] for c in api.get("/api/v1/certificates").json()["certificates"]}
    t.ok(a["domains"] == ["shop.test"] and a["balance"] == "round_robin" and
         a["backends"] == [{"url": BACKEND.url, "weight": 1}] and
         a["health_check"] == {"path": "/healthz", "interval_s": 5} and
         a["client_ip_header"] == "X-Forwarded-For" and a["https_redirect"] is False,
         "application fields, defaults and normalised domains", a)
    t.eq(a["certificate_id"], certs["shop.test"], "certificate_id is the one serving the domain")
    req = b"GET /x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n"
    ok, waited = wait_for(lambda: status_of(raw_request(inst.http_port, req)) == 200)
    t.ok(ok, "the gateway routes the new application within 1 s (%.2f s)" % waited)
    error_is(api.post("/api/v1/applications", dict(app, name="shop2")), 409, "conflict",
             "domains", "a domain another application has")
    error_is(api.post("/api/v1/applications", dict(app, name="bad", domains=["b.test"],
                                                   backends=[{"url": "ftp://x"}])), 400,
             "invalid_application", "backends", "a backend URL that is not http://host:port")
    error_is(api.post("/api/v1/applications", dict(app, name="bad", domains=["b..test"])), 400,
             "invalid_application", "domains", "an invalid domain")
    upd = dict(a, backends=[{"url": BACKEND.url, "weight": 3}], balance="weighted",
               https_redirect=True, health_check=None)
    r = api.put("/api/v1/applications/%d" % a["id"], upd)
    t.ok(r.status == 200 and r.json()["balance"] == "weighted" and
         r.json()["backends"][0]["weight"] == 3 and r.json()["health_check"] is None,
         "PUT replaces the application (read-only id and certificate_id accepted)", r)
    t.eq(api.get("/api/v1/applications/%d" % a["id"]).json(), r.json(), "GET one after PUT")
    lst = api.get("/api/v1/applications").json()["applications"]
    t.eq([x["id"] for x in lst], [a["id"]], "the list holds the application")
    t.eq(api.delete("/api/v1/applications/%d" % a["id"]).status, 204, "DELETE -> 204")
    error_is(api.get("/api/v1/applications/%d" % a["id"]), 404, "not_found",
             what="GET after DELETE")
    gone, waited = wait_for(lambda: status_of(raw_request(inst.http_port, req)) == 404)
    t.ok(gone, "the gateway stops routing it within 1 s (%.2f s)" % waited)


def test_status():
    r = api.get("/api/v1/status")
    s = r.json()
    certs = api.get("/api/v1/certificates").json()["certificates"]
    t.ok(r.status == 200 and isinstance(s["version"], str) and s["version"] and
         s["workers"] == 2 and s["uptime_s"] >= 0 and s["requests"] >= 2 and
         s["connections"] >= 0, "status: version, workers, uptime, requests, connections", s)
    by = {}
    for c in certs:
        by[c["status"]] = by.get(c["status"], 0) + 1
    t.eq({k: v for k, v in s["certificates_by_status"].items() if v}, by,
         "certificates by status match the list")


def test_metrics():
    r = api.get("/metrics")
    t.ok(r.status == 200 and r.header("Content-Type").startswith("text/plain; version=0.0.4"),
         "GET /metrics is the Prometheus text format", r)
    text = r.body.decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    certs = api.get("/api/v1/certificates").json()["certificates"]
    c = [x for x in certs if x["expires_on"]][0]
    key = 'postern_certificate_expiry_timestamp_seconds{id="%d",domain="%s"}' % (c["id"],
                                                                                  c["domain"])
    want = time.mktime(time.strptime(c["expires_on"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    t.eq(samples.get(key), want, "expiry timestamp of a certificate")
    ok = all(samples.get('postern_certificate_status{id="%d",domain="%s",status="%s"}' %
                         (x["id"], x["domain"], x["status"])) == 1 for x in certs)
    t.ok(ok, "postern_certificate_status is 1 for each certificate's status")
    t.ok(samples.get('postern_requests_total{class="2xx"}', -1) >= 1 and
         "postern_connections_open" in samples and "postern_tls_handshakes_total" in samples and
         "postern_tls_handshake_failures_total" in samples,
         "requests by class, open connections, TLS handshakes and failures")
    t.ok("acme" not in text.split("postern_certificate")[0], "no ACME metrics yet")
    if os.path.exists("/usr/bin/promtool"):
        out = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text,
                             capture_output=True, text=True)
        t.ok(out.returncode == 0, "promtool check metrics", out.stdout + out.stderr)
    else:
        t.ok(True, "promtool check metrics # SKIP no /usr/bin/promtool")


def test_audit():
    r = api.get("/api/v1/audit")
    rows = r.json()["audit"]
    t.ok(r.status == 200 and len(rows) > 5, "the audit log lists changes")
    t.eq([x["id"] for x in rows], sorted([x["id"] for x in rows], reverse=True),
         "newest first")
    create = [x for x in rows if x["action"] == "certificate.create"]
    t.ok(create and create[0]["actor"] == "admin" and create[0]["source"] == "127.0.0.1" and
         create[0]["target"].startswith("certificate/") and create[0]["at"].endswith("Z"),
         "who, what, when and from where", create[:1])
    t.ok(any(x["action"] == "session.create" for x in rows), "sign-ins are audited")
    t.eq(len(api.get("/api/v1/audit?limit=2").json()["audit"]), 2, "limit")
    error_is(api.get("/api/v1/audit?limit=0"), 400, "invalid_value", "limit", "limit=0")


def test_tokens():
    r = api.post("/api/v1/tokens", {"name": "ci"})
    tok = r.json()
    t.ok(r.status == 201 and re.fullmatch(r"pst_[0-9a-f]{64}", tok.get("token", "")) and
         tok["last_used"] is None, "create a token -> 201, shown once", r)
    lst = api.get("/api/v1/tokens")
    t.ok(tok["token"].encode() not in lst.body and b'"token"' not in lst.body and
         [x["name"] for x in lst.json()["tokens"]] == ["ci"], "the list never shows the token")
    bot = AdminClient(inst.admin_port)
    bot.token = tok["token"]
    t.eq(bot.get("/api/v1/certificates").status, 200, "Bearer token authenticates")
    r = bot.post("/api/v1/certificates", {"domain": "bot.test", "source": "self_signed"})
    t.eq(r.status, 201, "a token needs no CSRF token")
    rows = api.get("/api/v1/audit?limit=1").json()["audit"]
    t.ok(rows[0]["actor"] == "admin" and rows[0]["detail"].find("bot.test") >= 0,
         "token changes are audited as the token's user", rows)
    t.eq(bot.get("/metrics").status, 200, "a token reads /metrics")
    t.ok(api.get("/api/v1/tokens").json()["tokens"][0]["last_used"] is not None,
         "last_used is recorded")
    error_is(api.post("/api/v1/tokens", {"name": ""}), 400, "invalid_value", "name",
             "empty token name")
    t.eq(api.delete("/api/v1/tokens/%d" % tok["id"]).status, 204, "revoke -> 204")
    error_is(bot.get("/api/v1/certificates"), 401, "unauthorized", what="a revoked token")
    error_is(api.delete("/api/v1/tokens/%d" % tok["id"]), 404, "not_found", what="revoke twice")


def test_password():
    p = "/api/v1/account/password"
    error_is(api.put(p, {"current_password": "nope", "new_password": "long enough one"}), 400,
             "wrong_password", "current_password", "wrong current password")
    error_is(api.put(p, {"current_password": PASSWORD, "new_password": "short"}), 400,
             "weak_password", "new_password", "a short new password")
    t.eq(api.put(p, {"current_password": PASSWORD, "new_password": "a new password!"}).status,
         204, "change the password -> 204")
    other = AdminClient(inst.admin_port)
    t.eq(other.login("admin", PASSWORD).status, 401, "the old password no longer works")
    t.eq(other.login("admin", "a new password!").status, 200, "the new one does")
    t.eq(other.put(p, {"current_password": "a new password!", "new_password": PASSWORD}).status,
         204, "change it back")


def test_keepalive_and_timeouts():
    req = ("GET /api/v1/session HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n" % api.cookie).encode()
    out = raw_request(inst.admin_port, req + req.replace(b"GET", b"HEAD", 1), timeout=3)
    t.eq(out.count(b"HTTP/1.1 200 OK"), 2, "two pipelined requests on one connection")
    t.ok(out.rstrip().endswith(b"no-store"), "HEAD has headers but no body", out[-200:])
    sock = socket.create_connection(("127.0.0.1", inst.admin_port), timeout=10)
    sock.sendall(b"GET /api/v1/status HTTP/1.1\r\nHo")
    start = time.time()
    out = sock.recv(65536)
    sock.close()
    t.ok(status_of(out) == 408 and 1.5 <= time.time() - start < 5,
         "an unfinished head -> 408 after header_timeout", out)
    out = raw_request(inst.admin_port, b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 17000 +
                      b"\r\n\r\n")
    t.eq(status_of(out), 431, "a header block over 16 KiB -> 431")


def test_session_expiry_and_hashing():
    db = sqlite3.connect(os.path.join(inst.data, "postern.db"), timeout=10)
    for column, age, what in (("last_seen", 30 * 60 + 5, "idle for 30 minutes"),
                              ("created_at", 12 * 3600 + 5, "older than 12 hours")):
        c = AdminClient(inst.admin_port)
        c.login("admin", PASSWORD)
        h = hashlib.sha256(bytes.fromhex(c.cookie.split("=")[1])).hexdigest()
        t.eq(c.get("/api/v1/session").status, 200, "a fresh session works")
        db.execute("UPDATE sessions SET %s = %s - ? WHERE id_hash = ?" % (column, column),
                   (age, h))
        db.commit()
        error_is(c.get("/api/v1/session"), 401, "unauthorized", what="a session " + what)
        n = db.execute("SELECT count(*) FROM sessions WHERE id_hash = ?", (h,)).fetchone()[0]
        t.eq(n, 0, "the expired session (%s) is deleted" % what)
    db.close()
    tok = api.post("/api/v1/tokens", {"name": "hashing"}).json()
    stored = b""
    for suffix in ("", "-wal"):
        path = os.path.join(inst.data, "postern.db" + suffix)
        if os.path.exists(path):
            with open(path, "rb") as f:
                stored += f.read()
    secrets = [api.cookie.split("=")[1], api.csrf, tok["token"]]
    t.ok(all(x.encode() not in stored for x in secrets),
         "the database holds no session id, CSRF token or API token, only hashes")
    api.delete("/api/v1/tokens/%d" % tok["id"])


def test_logout():
    old = api.cookie
    r = api.delete("/api/v1/session")
    t.ok(r.status == 204 and "Max-Age=0" in (r.header("Set-Cookie") or ""),
         "logout -> 204 and the cookie is cleared", r)
    error_is(api.get("/api/v1/certificates", headers={"Cookie": old}), 401, "unauthorized",
             what="the old session after logout")
    t.eq(api.login("admin", PASSWORD).status, 200, "sign in again")


def test_lockout():
    times, statuses = [], []
    for _ in range(10):
        r = api.login("admin", "not the password")
        times.append(r.elapsed)
        statuses.append(r.status)
    t.eq(statuses, [401] * 9 + [429], "10 failures in a row lock sign-in (429 on the 10th)")
    # the 8th answer waits 1 s, the 10th 4 s (counted from the request's arrival)
    t.ok(times[7] >= 0.9 and times[9] >= 3.5, "answers slow down after 5 failures", times)
    r = api.login("admin", PASSWORD)
    error_is(r, 429, "locked_out", what="even the right password while locked")
    retry = int(r.header("Retry-After") or 0)
    t.ok(1 <= retry <= LOCKOUT_S, "Retry-After says when to come back", retry)
    error_is(AdminClient(inst.admin_port, source="127.0.0.2").login("admin", PASSWORD), 429,
             "locked_out", what="the user is locked from another address too")
    time.sleep(retry + 1)
    t.eq(api.login("admin", PASSWORD).status, 200, "the lockout lifts")
    far = AdminClient(inst.admin_port, source="127.0.0.3")
    statuses = [far.login("user%d" % i, "x").status for i in range(10)]
    t.eq(statuses[-1], 429, "10 failures from one address (many names) lock that address")
    error_is(far.login("admin", PASSWORD), 429, "locked_out", what="any user from that address")
    t.eq(AdminClient(inst.admin_port).login("admin", PASSWORD).status, 200,
         "other addresses still sign in")


PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{16}")


def test_no_private_keys():
    seen = admin_client.SEEN
    material = [b for b in seen if PEM_KEY.search(b)]
    t.ok(len(seen) > 100 and not material,
         "no response of %d held private key material" % len(seen), material[:1])
    named = [b for b in seen if b"PRIVATE KEY" in b]
    t.ok(not named, "no response of %d contains the words PRIVATE KEY" % len(seen), named[:1])
    t.ok("PRIVATE KEY" not in daemon.output(), "no log line contains PRIVATE KEY")


t.run(test_headers_and_console)
t.run(test_login)
t.run(test_unauthorized)
t.run(test_csrf)
t.run(test_bodies)
t.run(test_body_limit)
t.run(test_routing_errors)
t.run(test_upload_errors)
t.run(test_upload)
t.run(test_replace_and_delete)
t.run(test_self_signed_and_test_ca)
t.run(test_acme)
t.run(test_applications)
t.run(test_status)
t.run(test_metrics)
t.run(test_audit)
t.run(test_tokens)
t.run(test_password)
t.run(test_keepalive_and_timeouts)
t.run(test_session_expiry_and_hashing)
t.run(test_logout)
t.run(test_lockout)
t.run(test_no_private_keys)


def test_clean_exit():
    rc = daemon.stop()
    log = read(daemon.log_path)
    t.eq(rc, 0, "SIGTERM: the daemon exits 0 with admin connections open")
    t.ok("Sanitizer" not in log and "runtime error" not in log, "no sanitizer report", log[-3000:])


keep = socket.create_connection(("127.0.0.1", inst.admin_port))  # idle at shutdown
t.run(test_clean_exit)
keep.close()
BACKEND.stop()
inst.cleanup()
t.done()
