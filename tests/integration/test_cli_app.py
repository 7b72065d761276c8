#!/usr/bin/env python3
"""Application commands through the real binary: add, list (--json is the
API object), validation errors, domain conflicts, delete."""

from harness import Instance, Tap

t = Tap()
inst = Instance()


def apps():
    return inst.cli_json("app", "list")["applications"]


def test_add_and_list():
    r = inst.cli("app", "add", "--name", "shop", "--domain", "Shop.Example.com.", "--domain",
                 "*.shop.example.com", "--backend", "http://127.0.0.1:8081", "--backend",
                 "http://127.0.0.1:8082,weight=3", "--balance", "weighted", "--https-redirect",
                 "--health-path", "/healthz", "--health-interval", "5")
    t.ok(r.returncode == 0 and "added application" in r.stdout, "app add", r.stderr)
    lst = apps()
    t.eq(len(lst), 1, "one application listed")
    a = lst[0]
    t.eq(sorted(a.keys()), sorted(["id", "name", "domains", "backends", "balance",
                                   "https_redirect", "auto_certificate", "client_ip_header",
                                   "health_check", "certificate_id", "waf", "rate_limit",
                                   "ip_allow", "ip_deny"]),
         "application object has the SPEC fields (sections 5 and 6)")
    t.eq([a["waf"], a["rate_limit"], a["ip_allow"], a["ip_deny"]], ["off", None, [], []],
         "firewall settings default to off, no rate limit, empty IP lists")
    t.eq(a["name"], "shop", "name")
    t.eq(a["domains"], ["shop.example.com", "*.shop.example.com"],
         "domains normalised (lowercase, no trailing dot), in order")
    t.eq(a["backends"], [{"url": "http://127.0.0.1:8081", "weight": 1},
                         {"url": "http://127.0.0.1:8082", "weight": 3}], "backends and weights")
    t.eq(a["balance"], "weighted", "balance")
    t.eq(a["https_redirect"], True, "https_redirect")
    t.eq(a["auto_certificate"], False, "auto_certificate default false")
    t.eq(a["client_ip_header"], "X-Forwarded-For", "client_ip_header default")
    t.eq(a["health_check"], {"path": "/healthz", "interval_s": 5}, "health check")
    t.eq(a["certificate_id"], None, "no certificate covers it yet")


def test_certificate_id():
    c = inst.cli_json("cert", "selfsign", "--domain", "shop.example.com")
    a = apps()[0]
    t.eq(a["certificate_id"], c["id"], "certificate_id is the certificate serving the domain")
    r = inst.cli("app", "list")
    t.ok(r.returncode == 0 and "shop" in r.stdout and "http://127.0.0.1:8081" in r.stdout,
         "table output")


def expect_fail(code, desc, *args):
    before = len(apps())
    r = inst.cli("app", "add", *args)
    t.ok(r.returncode == 1 and ("error %s:" % code) in r.stderr, "%s -> %s" % (desc, code),
         r.stderr)
    t.eq(len(apps()), before, "%s: nothing stored" % desc)
    return r


def test_validation():
    b = ["--backend", "http://127.0.0.1:9000"]
    r = expect_fail("conflict", "domain owned by another application", "--name", "other",
                    "--domain", "shop.example.com", *b)
    t.ok("shop" in r.stderr, "conflict message names the owner", r.stderr)
    expect_fail("conflict", "duplicate name", "--name", "shop", "--domain", "x.example.com", *b)
    expect_fail("invalid_application", "bad domain", "--name", "x", "--domain", "-bad-.com", *b)
    expect_fail("invalid_application", "https backend", "--name", "x", "--domain", "x.test",
                "--backend", "https://127.0.0.1:9000")
    expect_fail("invalid_application", "backend without port", "--name", "x", "--domain",
                "x.test", "--backend", "http://127.0.0.1")
    expect_fail("invalid_application", "backend with a path", "--name", "x", "--domain",
                "x.test", "--backend", "http://127.0.0.1:80/app")
    expect_fail("invalid_application", "unknown balance", "--name", "x", "--domain", "x.test",
                "--balance", "random", *b)
    expect_fail("invalid_application", "weight 0", "--name", "x", "--domain", "x.test",
                "--backend", "http://127.0.0.1:9000,weight=0")
    expect_fail("invalid_application", "same domain twice", "--name", "x", "--domain",
                "x.test", "--domain", "X.test", *b)
    r = inst.cli("app", "add", "--name", "x")
    t.ok(r.returncode == 2, "missing --domain/--backend: usage error")


def test_delete():
    r = inst.cli("app", "add", "--name", "blog", "--domain", "blog.example.com", "--backend",
                 "http://[::1]:8080", "--json")
    t.ok(r.returncode == 0, "add an application with an IPv6 backend", r.stderr)
    ids = [a["id"] for a in apps()]
    r = inst.cli("app", "delete", str(ids[-1]))
    t.ok(r.returncode == 0, "delete it")
    t.eq([a["id"] for a in apps()], ids[:-1], "it is gone")
    r = inst.cli("app", "add", "--name", "blog2", "--domain", "blog.example.com", "--backend",
                 "http://127.0.0.1:8080")
    t.ok(r.returncode == 0, "its domain is free again", r.stderr)
    r = inst.cli("app", "delete", "999")
    t.ok(r.returncode == 1 and "not_found" in r.stderr, "delete unknown: not_found")


for fn in (test_add_and_list, test_certificate_id, test_validation, test_delete):
    t.run(fn)
inst.cleanup()
t.done()
