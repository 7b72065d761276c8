#!/usr/bin/env python3
"""The firewall through the real daemon (SPEC section 6), with real
backends and clients on several loopback addresses: WAF modes, body
inspection, rule hot reload, a pathological pattern, rate limits over
several connections and both workers, IP lists (IPv4 and IPv6),
trusted_proxies and spoofing, the ACME path, events and their filters,
and secrets kept out of events and the data directory."""

import glob
import json
import os
import socket
import threading
import time

from admin_client import AdminClient
from backends import Backend
from harness import Daemon, Instance, Tap, status_of

t = Tap()
PASSWORD = "correct horse battery"
inst = Instance(password=PASSWORD)
with open(inst.conf) as f:
    conf = f.read()
conf = conf.replace("http_listen = 127.0.0.1:", "http_listen = [::]:")
conf = conf.replace("workers = 2\n", "workers = 2\ntrusted_proxies = 127.0.0.2, 2001:db8:ffff::/48\n"
                    "waf_body_limit = 16k\n")
with open(inst.conf, "w") as f:
    f.write(conf)

A = Backend("A")
api = AdminClient(inst.admin_port)
APPS = {}


def app(name, domain, **fields):
    body = {"name": name, "domains": [domain], "backends": [{"url": A.url, "weight": 1}]}
    body.update(fields)
    r = api.post("/api/v1/applications", body)
    if r.status != 201:
        raise AssertionError("create %s: %s %s" % (name, r.status, r.body))
    APPS[name] = r.json()["id"]
    return r.json()


def request(host, target="/", method="GET", headers=None, body=b"", source="127.0.0.1",
            family=socket.AF_INET, timeout=10.0, raw_head=None):
    """One request on a fresh connection from a chosen source address;
    returns (status, headers dict (lowercase names), body)."""
    head = raw_head
    if head is None:
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + host, "Connection: close"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        if body and not any(k.lower() in ("content-length", "transfer-encoding")
                            for k in (headers or {})):
            lines.append("Content-Length: %d" % len(body))
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    dest = ("::1", inst.http_port) if family == socket.AF_INET6 else ("127.0.0.1", inst.http_port)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect(dest)
        s.sendall(head + body)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    head_part, _, rest = out.partition(b"\r\n\r\n")
    hdrs = {}
    for line in head_part.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        hdrs[k.decode().strip().lower()] = v.decode().strip()
    return status_of(out), hdrs, rest


def echo(resp):
    """The backend's JSON description of the request it got."""
    return json.loads(resp[2])


def header_of(info, name):
    for k, v in info["headers"]:
        if k.lower() == name.lower():
            return v
    return None


def events(**filters):
    q = "&".join("%s=%s" % (k, v) for k, v in filters.items())
    r = api.get("/api/v1/events" + ("?" + q if q else ""))
    if r.status != 200:
        raise AssertionError("events: %s %s" % (r.status, r.body))
    return r.json()["events"]


def wait_event(pred, timeout=3.0, **filters):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for e in events(**filters):
            if pred(e):
                return e
        time.sleep(0.1)
    return None


def setup():
    r = api.login("admin", PASSWORD)
    if r.status != 200:
        raise AssertionError("login: %s" % r.body)
    app("guard", "guard.test", waf="block")
    app("watch", "watch.test", waf="detect")
    app("open", "open.test", waf="off")
    app("rl", "rl.test", rate_limit={"requests": 5, "per_seconds": 60, "burst": 1,
                                     "block_seconds": 2})
    app("rlpath", "rlpath.test", rate_limit={"requests": 2, "per_seconds": 60, "key": "ip_path",
                                             "block_seconds": 60})
    app("rllog", "rllog.test", rate_limit={"requests": 1, "per_seconds": 60, "action": "log"})
    app("lists", "lists.test", waf="block", ip_deny=["127.0.0.3", "::1", "2001:db8:bad::/48"],
        ip_allow=["127.0.0.4/32"], rate_limit={"requests": 1, "per_seconds": 60})


ATTACK = "/search?q=1%27%20OR%20%271%27%3D%271"


def test_modes():
    hits = A.hits
    s, h, b = request("guard.test", ATTACK)
    t.eq(s, 403, "block mode: an SQL injection gets 403")
    ref = h.get("x-postern-event", "")
    t.ok(len(ref) == 16 and ref.encode() in b, "the 403 page names the event id",
         b.decode(errors="replace"))
    t.eq(A.hits, hits, "the blocked request never reached the backend")
    e = wait_event(lambda e: e["id"] == ref)
    t.ok(e is not None and e["action"] == "block" and e["kind"] == "waf" and
         e["application_id"] == APPS["guard"] and e["client_ip"] == "127.0.0.1" and
         e["method"] == "GET" and e["path"] == "/search" and e["rule_id"] is not None and
         "1' or '1'='1" in e["excerpt"].lower(),
         "the event: time, application, client, rule, target, method, path, excerpt", e)
    t.eq(request("guard.test", "/search?q=select%20a%20plan")[0], 200,
         "a search for 'select a plan' passes")
    s = request("watch.test", ATTACK)[0]
    t.eq(s, 200, "detect mode: the attack is proxied")
    t.ok(wait_event(lambda e: e["application_id"] == APPS["watch"] and e["action"] == "log")
         is not None, "detect mode: the hit is recorded as log")
    t.eq(request("open.test", ATTACK)[0], 200, "off mode: proxied")
    time.sleep(0.5)
    t.ok(not events(application_id=APPS["open"]), "off mode: no event")


def test_bodies():
    hits = A.hits
    form = b"user=bob&comment=" + b"1%27%20UNION%20SELECT%20password%20FROM%20users--"
    s = request("guard.test", "/post", "POST", {"Content-Type": "application/x-www-form-urlencoded"},
                form)[0]
    t.eq(s, 403, "an injection in a urlencoded body gets 403")
    t.eq(A.hits, hits, "no body byte reached the backend")
    js = json.dumps({"user": {"name": "x", "bio": "<script>alert(document.cookie)</script>"}})
    t.eq(request("guard.test", "/api", "POST", {"Content-Type": "application/json"},
                 js.encode())[0], 403, "XSS in a nested JSON string gets 403")
    ok_js = json.dumps({"name": "Miles O'Brien", "plan": "select a plan",
                        "file": "report.final.v2.pdf"}).encode()
    r = request("guard.test", "/api", "POST", {"Content-Type": "application/json"}, ok_js)
    t.ok(r[0] == 200 and echo(r)["body_len"] == len(ok_js), "JSON with an apostrophe passes whole")
    big = b"a=" + b"x" * (1024 * 1024)
    r = request("guard.test", "/upload", "POST",
                {"Content-Type": "application/x-www-form-urlencoded"}, big)
    import hashlib
    t.ok(r[0] == 200 and echo(r)["body_sha256"] == hashlib.sha256(big).hexdigest(),
         "a 1 MiB form body beyond the inspection limit streams through whole")
    chunked = b"b\r\nq=%3Cscript\r\n7\r\n%3Ealert\r\n0\r\n\r\n"
    s = request("guard.test", "/c", "POST", {"Content-Type": "application/x-www-form-urlencoded",
                                             "Transfer-Encoding": "chunked"}, chunked)[0]
    t.eq(s, 403, "an attack split over chunks is reassembled and blocked")
    ok_chunked = b"5\r\nq=abc\r\n0\r\n\r\n"
    r = request("guard.test", "/c", "POST", {"Content-Type": "application/x-www-form-urlencoded",
                                             "Transfer-Encoding": "chunked"}, ok_chunked)
    t.ok(r[0] == 200 and echo(r)["body_len"] == 5, "a benign chunked body is forwarded")
    # Expect: 100-continue: the gateway asks for the body it inspects
    s = socket.create_connection(("127.0.0.1", inst.http_port), timeout=5)
    body = b"q=hello"
    s.sendall(b"POST /e HTTP/1.1\r\nHost: guard.test\r\nContent-Type: "
              b"application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: 7"
              b"\r\nConnection: close\r\n\r\n")
    first = s.recv(100)
    s.sendall(body)
    rest = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        rest += c
    s.close()
    t.ok(first.startswith(b"HTTP/1.1 100 Continue") and b"HTTP/1.1 200" in first + rest and
         (first + rest).count(b"100 Continue") == 1, "Expect: 100-continue with inspection",
         first + rest[:200])


def test_hot_reload_and_regex():
    rule = {"description": "no forbidden word", "conditions": [
        {"target": "args", "operator": "contains", "value": "forbidden-word",
         "transforms": ["lowercase"]}], "action": "block"}
    t.eq(request("guard.test", "/?x=Forbidden-Word")[0], 200, "before the rule: passes")
    r = api.post("/api/v1/waf/rules", rule)
    t.eq(r.status, 201, "custom rule created")
    rid = r.json()["id"]
    start = time.time()
    while time.time() - start < 3 and request("guard.test", "/?x=Forbidden-Word")[0] != 403:
        time.sleep(0.05)
    took = time.time() - start
    t.ok(took < 1.0, "the new rule blocks within 1 s (%.2f s)" % took)
    r = api.put("/api/v1/waf/rules/%d" % rid, dict(rule, enabled=False))
    start = time.time()
    while time.time() - start < 3 and request("guard.test", "/?x=Forbidden-Word")[0] != 200:
        time.sleep(0.05)
    t.ok(r.status == 200 and time.time() - start < 1.0, "disabled: passes again within 1 s")
    api.delete("/api/v1/waf/rules/%d" % rid)
    bad = dict(rule, conditions=[{"target": "args", "operator": "regex", "value": "(ab",
                                  "transforms": []}])
    r = api.post("/api/v1/waf/rules", bad)
    t.ok(r.status == 400 and r.code == "invalid_regex" and "offset" in r.json()["error"]["message"],
         "an invalid pattern is refused with invalid_regex and its offset", r.body)


def test_pathological():
    evil = {"description": "catastrophic", "conditions": [
        {"target": "args", "operator": "regex", "value": "^(a+)+$", "transforms": []}],
        "action": "block", "applications": [APPS["guard"]]}
    r = api.post("/api/v1/waf/rules", evil)
    rid = r.json()["id"]
    time.sleep(0.6)
    result = {}

    def slow():
        result["r"] = request("guard.test", "/?v=" + "a" * 6000 + "b", timeout=30)

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.05)
    times = []
    for _ in range(5):
        s0 = time.time()
        request("open.test", "/")
        times.append(time.time() - s0)
    th.join(30)
    t.ok(max(times) < 1.0, "other requests are answered while the pathological one is matched "
         "(slowest %.3f s)" % max(times))
    t.ok("r" in result and result["r"][0] in (200, 403), "the pathological request is answered",
         result.get("r", [None])[0])
    api.delete("/api/v1/waf/rules/%d" % rid)


def test_rate_limit():
    # 5 per 60 s plus a burst of 1, spread over connections (and so workers)
    statuses = [request("rl.test", "/")[0] for _ in range(6)]
    t.eq(statuses, [200] * 6, "requests + burst pass")
    s, h, _ = request("rl.test", "/")
    t.ok(s == 429 and int(h.get("retry-after", "0")) >= 1, "the next gets 429 with Retry-After",
         (s, h))
    t.eq(request("rl.test", "/", source="127.0.0.5")[0], 200, "another client is not limited")
    e = wait_event(lambda e: e["kind"] == "rate_limit" and e["application_id"] == APPS["rl"])
    t.ok(e is not None and e["action"] == "block" and e["client_ip"] == "127.0.0.1",
         "a rate_limit event is recorded", e)
    time.sleep(2.2)
    t.eq(request("rl.test", "/")[0], 429, "still over the window's count after block_seconds")
    # ip_path: each path has its own count
    st = [request("rlpath.test", "/a")[0] for _ in range(3)] + [request("rlpath.test", "/b")[0]]
    t.eq(st, [200, 200, 429, 200], "ip_path keys count per path")
    st = [request("rllog.test", "/")[0] for _ in range(3)]
    t.eq(st, [200, 200, 200], "action log: nothing refused")
    t.ok(wait_event(lambda e: e["kind"] == "rate_limit" and e["action"] == "log",
                    application_id=APPS["rllog"]) is not None, "action log: recorded")

    # many parallel connections over both workers: at most requests + burst pass
    app("rlpar", "rlpar.test", rate_limit={"requests": 10, "per_seconds": 60, "burst": 0})
    time.sleep(0.6)
    results = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            s = request("rlpar.test", "/", source="127.0.0.6")[0]
            with lock:
                results.append(s)

    ths = [threading.Thread(target=worker) for _ in range(6)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    t.ok(results.count(200) == 10 and results.count(429) == 50,
         "60 requests from 6 parallel connections: exactly 10 pass (%d)" % results.count(200))


def test_ip_lists():
    s, h, _ = request("lists.test", "/", source="127.0.0.3")
    t.eq(s, 403, "ip_deny (IPv4) gets 403")
    t.ok(wait_event(lambda e: e["kind"] == "ip_deny" and e["client_ip"] == "127.0.0.3") is not None,
         "ip_deny event recorded")
    t.eq(request("lists.test", "/", source="::1", family=socket.AF_INET6)[0], 403,
         "ip_deny (IPv6, ::1) gets 403")
    t.eq(request("lists.test", ATTACK, source="127.0.0.4")[0], 200,
         "ip_allow skips the WAF")
    t.eq([request("lists.test", "/", source="127.0.0.4")[0] for _ in range(3)], [200] * 3,
         "ip_allow skips the rate limit")
    t.eq(request("lists.test", ATTACK, source="127.0.0.7")[0], 403,
         "another client is filtered (mapped IPv4 on a dual-stack listener)")


def test_trusted_proxies():
    r = request("open.test", "/", headers={"X-Forwarded-For": "198.51.100.7"})
    t.eq(header_of(echo(r), "X-Forwarded-For"), "127.0.0.1",
         "an untrusted peer's X-Forwarded-For is ignored")
    r = request("lists.test", ATTACK, headers={"X-Forwarded-For": "127.0.0.4"})
    t.eq(r[0], 403, "claiming the allowed address gains nothing")
    r = request("open.test", "/", source="127.0.0.2",
                headers={"X-Forwarded-For": "198.51.100.7, 127.0.0.2"})
    t.eq(header_of(echo(r), "X-Forwarded-For"), "198.51.100.7",
         "a trusted proxy's X-Forwarded-For gives the client (trusted hops skipped)")
    r = request("lists.test", ATTACK, source="127.0.0.2",
                headers={"X-Forwarded-For": "127.0.0.4, 203.0.113.9"})
    t.eq(r[0], 403, "the right-most untrusted address decides, not an earlier claim")
    e = wait_event(lambda e: e["client_ip"] == "203.0.113.9")
    t.ok(e is not None, "events record the client behind the trusted proxy", e)
    r = request("lists.test", "/", source="127.0.0.2",
                headers={"X-Forwarded-For": "2001:db8:bad::1"})
    t.eq(r[0], 403, "ip_deny on an IPv6 client behind a trusted proxy")
    r = request("lists.test", "/", source="127.0.0.2",
                headers={"X-Forwarded-For": "2001:db8:bad::1, 2001:db8:ffff::9"})
    t.eq(r[0], 403, "a trusted IPv6 hop is skipped too")


def test_challenge():
    s, _, b = request("lists.test", "/.well-known/acme-challenge/tok1", source="127.0.0.3")
    t.ok(s == 200 and b == b"tok1.answer", "ACME challenges are never filtered", (s, b))


def test_secrets():
    rule = {"description": "token probe", "conditions": [
        {"target": "headers", "operator": "contains", "value": "SECRETVALUE", "transforms": []}],
        "action": "block"}
    rid = api.post("/api/v1/waf/rules", rule).json()["id"]
    cookie_rule = {"description": "cookie probe", "conditions": [
        {"target": "cookies", "operator": "contains", "value": "COOKIESECRET", "transforms": []}],
        "action": "log"}
    cid = api.post("/api/v1/waf/rules", cookie_rule).json()["id"]
    time.sleep(0.6)
    s = request("guard.test", "/", headers={"Cookie": "sid=COOKIESECRET-456"})[0]
    t.eq(s, 200, "a log rule on cookies lets the request through")
    s = request("guard.test", "/", headers={"Authorization": "Bearer SECRETVALUE-123",
                                            "Cookie": "sid=COOKIESECRET-456"})[0]
    t.eq(s, 403, "a rule on headers matched the Authorization value")
    e = wait_event(lambda e: e["rule_id"] == rid)
    t.ok(e is not None and "SECRETVALUE" not in json.dumps(e) and e["excerpt"] == "[redacted]",
         "the event has no Authorization value", e)
    e = wait_event(lambda e: e["rule_id"] == cid)
    t.ok(e is not None and "COOKIESECRET-456" not in json.dumps(e), "the event has no cookie value",
         e)
    api.delete("/api/v1/waf/rules/%d" % rid)
    api.delete("/api/v1/waf/rules/%d" % cid)
    time.sleep(0.6)
    found = []
    for path in glob.glob(os.path.join(inst.data, "**"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                data = f.read()
            # the rules hold the probe words; the values sent must not appear
            if b"SECRETVALUE-123" in data or b"COOKIESECRET-456" in data:
                found.append(path)
    t.eq(found, [], "no file of the data directory holds the secrets")


def test_event_filters():
    all_ev = events(limit=1000)
    t.ok(len(all_ev) >= 5, "events listed (%d)" % len(all_ev))
    times = [e["time"] for e in all_ev]
    t.eq(times, sorted(times, reverse=True), "newest first")
    t.eq(len(events(limit=2)), 2, "limit")
    g = events(application_id=APPS["guard"])
    t.ok(g and all(e["application_id"] == APPS["guard"] for e in g), "application filter")
    rl = events(rule="rate_limit")
    t.ok(rl and all(e["kind"] == "rate_limit" for e in rl), "rule=rate_limit filter")
    rule_id = next(e["rule_id"] for e in all_ev if e["kind"] == "waf")
    byrule = events(rule=rule_id)
    t.ok(byrule and all(e["rule_id"] == rule_id for e in byrule), "rule id filter")
    t.eq(events(since=int(time.time()) + 3600), [], "since in the future: none")


def test_metrics():
    r = api.get("/metrics")
    values = {}
    for line in r.body.decode().splitlines():
        if line.startswith("postern_") and " " in line:
            k, v = line.rsplit(" ", 1)
            values[k] = float(v)
    t.ok(values.get("postern_waf_blocked_total", 0) >= 5 and
         values.get("postern_rate_limited_total", 0) >= 3 and
         values.get("postern_waf_match_limit_total", 0) >= 1 and
         values.get("postern_waf_events_dropped_total") == 0 and
         "postern_rate_limit_evictions_total" in values,
         "/metrics counts blocks, 429s, match-limit hits and no dropped event",
         {k: v for k, v in values.items() if "waf" in k or "rate" in k})


def test_retention():
    """Events older than [storage] event_retention (30 days) are removed at
    start and hourly; newer ones stay."""
    global daemon
    import sqlite3
    t.eq(daemon.stop(), 0, "daemon stops for the retention check")
    db = sqlite3.connect(os.path.join(inst.data, "postern.db"))
    now_ms = int(time.time() * 1000)
    for ref, age_days in (("00000000000000aa", 31), ("00000000000000bb", 29)):
        db.execute("INSERT INTO waf_events (ref, time_ms, application_id, rule_id, kind, blocked,"
                   " client_ip, target, method, path, excerpt) VALUES (?, ?, ?, 1001, 'waf', 1,"
                   " '192.0.2.1', 'args:q', 'GET', '/', 'x')",
                   (ref, now_ms - age_days * 86400 * 1000, APPS["guard"]))
    db.commit()
    db.close()
    daemon = Daemon(inst, env={"POSTERN_TEST_ACME_TOKENS": "tok1=tok1.answer"})
    api.login("admin", PASSWORD)
    deadline = time.time() + 3
    refs = set()
    while time.time() < deadline:
        refs = {e["id"] for e in events(limit=1000)}
        if "00000000000000aa" not in refs:
            break
        time.sleep(0.1)
    t.ok("00000000000000aa" not in refs and "00000000000000bb" in refs,
         "a 31-day-old event is removed, a 29-day-old one kept")


daemon = None
try:
    setup_done = False
    daemon = Daemon(inst, env={"POSTERN_TEST_ACME_TOKENS": "tok1=tok1.answer"})
    t.run(setup)
    for fn in (test_modes, test_bodies, test_hot_reload_and_regex, test_pathological,
               test_rate_limit, test_ip_lists, test_trusted_proxies, test_challenge,
               test_secrets, test_event_filters, test_metrics):
        t.run(fn)
    out = daemon.output()
    t.ok("match limit" in out.lower(), "hitting the match limit is logged")
    t.run(test_retention)
finally:
    if daemon is not None:
        code = daemon.stop()
        t.eq(code, 0, "daemon exits 0 on SIGTERM")
    A.stop()
    inst.cleanup()
t.done()
