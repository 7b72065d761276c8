#!/usr/bin/env python3
"""Certificate commands through the real binary: import, list --json
checked against the openssl command's view of the same files, every
upload error code (nothing stored), self-signed test certificates verified
by openssl, delete."""

import calendar
import os
import subprocess
import time

from harness import Instance, Pki, Tap, openssl, x509_field

t = Tap()
inst = Instance()
pki = Pki(inst.dir)
pki.ca("Root CA")
pki.ca("Issuing CA", issuer="Root CA")
LEAF, LEAF_KEY = pki.leaf("www", "www.example.com", ["www.example.com", "example.com"],
                          "Issuing CA")
INTER = pki.p("Issuing CA.pem")
ROOT = pki.p("Root CA.pem")


def openssl_time(text):
    return calendar.timegm(time.strptime(text.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT"))


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def certs():
    return inst.cli_json("cert", "list")["certificates"]


def test_import_and_list():
    r = inst.cli("cert", "import", "--domain", "www.example.com", "--cert", LEAF, "--key",
                 LEAF_KEY, "--ca", INTER, "--json")
    t.ok(r.returncode == 0, "import a leaf with its intermediate", r.stderr)
    lst = certs()
    t.eq(len(lst), 1, "list --json has one certificate")
    c = lst[0]
    t.eq(sorted(c.keys()), sorted(["id", "domain", "source", "name", "subject_cn", "sans",
                                   "issuer_cn", "key_type", "fingerprint_sha256", "issued_on",
                                   "expires_on", "status", "status_detail", "deployed",
                                   "renewal"]), "CERT has exactly the SPEC fields")
    t.eq(c["domain"], "www.example.com", "domain")
    t.eq(c["source"], "user", "source user")
    t.eq(c["name"], "User Provided", "name is the console label")
    t.eq(c["subject_cn"], "www.example.com", "subject_cn")
    t.eq(sorted(c["sans"]), ["example.com", "www.example.com"], "sans as in the certificate")
    t.eq(c["issuer_cn"], "Issuing CA", "issuer_cn")
    t.eq(c["key_type"], "ECDSA P-256", "key_type")
    fp = x509_field(LEAF, "-fingerprint", "-sha256").split("=", 1)[1]
    t.eq(c["fingerprint_sha256"], fp, "fingerprint matches openssl x509 -fingerprint -sha256")
    t.eq(c["issued_on"], iso(openssl_time(x509_field(LEAF, "-startdate"))),
         "issued_on matches notBefore")
    t.eq(c["expires_on"], iso(openssl_time(x509_field(LEAF, "-enddate"))),
         "expires_on matches notAfter")
    t.eq(c["status"], "ok", "status ok")
    t.eq(c["deployed"], False, "not deployed without a running gateway")
    t.eq(c["renewal"], {"auto": False, "next_attempt": None, "last_error": None},
         "renewal of a user certificate")
    t.ok("PRIVATE" not in r.stdout and "PRIVATE" not in r.stderr, "no key material printed")
    r = inst.cli("cert", "list")
    t.ok(r.returncode == 0 and "DOMAIN" in r.stdout and "www.example.com" in r.stdout and
         "User Provided" in r.stdout, "table output has the columns and the row")


def test_chain_reordered_and_root_dropped():
    bundle = inst.path("bundle.pem")
    with open(bundle, "w") as f:  # leaf, then root before intermediate: wrong order
        f.write(open(LEAF).read() + open(ROOT).read() + open(INTER).read())
    r = inst.cli("cert", "import", "--domain", "example.com", "--cert", bundle, "--key",
                 LEAF_KEY, "--json")
    t.ok(r.returncode == 0, "chain in the wrong order with its root is accepted", r.stderr)
    import json
    cid = json.loads(r.stdout)["id"]
    show = inst.cli_json("cert", "show", str(cid))
    t.eq(show["status"], "ok", "example.com is covered by a SAN")
    db = os.path.join(inst.data, "postern.db")
    out = subprocess.run(["sqlite3", db, "SELECT chain_pem FROM certificates WHERE id=%d" % cid],
                         capture_output=True, text=True).stdout
    blocks = ["-----BEGIN CERTIFICATE-----" + b for b in out.split("-----BEGIN CERTIFICATE-----")[1:]]
    subjects = [openssl("x509", "-noout", "-subject", stdin=b).strip() for b in blocks]
    t.eq(subjects, ["subject=CN = www.example.com", "subject=CN = Issuing CA"],
         "stored chain is leaf then intermediate, root dropped")


def expect_error(code, desc, *args, field=None):
    before = len(certs())
    r = inst.cli("cert", "import", *args)
    t.ok(r.returncode == 1 and ("error %s:" % code) in r.stderr, "%s -> %s" % (desc, code),
         r.stderr)
    if field:
        t.ok(field in r.stderr, "%s: message names the %s" % (desc, field), r.stderr)
    t.eq(len(certs()), before, "%s: nothing stored" % desc)


def test_upload_errors():
    d = ["--domain", "www.example.com"]
    trunc = inst.path("trunc.pem")
    with open(trunc, "w") as f:
        f.write(open(LEAF).read()[:200])
    expect_error("invalid_pem", "truncated certificate", *d, "--cert", trunc, "--key", LEAF_KEY,
                 field="certificate")
    badb64 = inst.path("badb64.pem")
    with open(badb64, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n!!!notbase64***\n-----END CERTIFICATE-----\n")
    expect_error("invalid_pem", "bad base64", *d, "--cert", badb64, "--key", LEAF_KEY)
    expect_error("invalid_pem", "key in the certificate field", *d, "--cert", LEAF_KEY,
                 "--key", LEAF_KEY)
    enc = inst.path("enc.key")
    openssl("pkcs8", "-topk8", "-in", LEAF_KEY, "-out", enc, "-passout", "pass:secret")
    expect_error("encrypted_key", "encrypted PKCS#8 key", *d, "--cert", LEAF, "--key", enc,
                 field="private_key")
    other = pki.key("other")
    expect_error("key_mismatch", "key of another certificate", *d, "--cert", LEAF, "--key",
                 other)
    pki.ca("Unrelated CA")
    expect_error("chain_mismatch", "CA that did not issue the leaf", *d, "--cert", LEAF,
                 "--key", LEAF_KEY, "--ca", pki.p("Unrelated CA.pem"))
    weak, weak_key = pki.leaf("weak", "weak.example.com", ["weak.example.com"], "Issuing CA",
                              kind=1024)
    expect_error("unsupported_key", "RSA 1024", "--domain", "weak.example.com", "--cert", weak,
                 "--key", weak_key)
    expect_error("invalid_domain", "bad domain", "--domain", "bad..domain", "--cert", LEAF,
                 "--key", LEAF_KEY)


def test_flagged_statuses():
    old, old_key = pki.expired_leaf("old", "old.example.com", "Issuing CA")
    r = inst.cli("cert", "import", "--domain", "old.example.com", "--cert", old, "--key",
                 old_key, "--json")
    t.ok(r.returncode == 0, "an expired certificate is accepted", r.stderr)
    import json
    t.eq(json.loads(r.stdout)["status"], "expired", "and flagged expired")
    r = inst.cli("cert", "import", "--domain", "other.example.org", "--cert", LEAF, "--key",
                 LEAF_KEY, "--json")
    c = json.loads(r.stdout)
    t.eq(c["status"], "domain_mismatch", "a certificate that does not cover its domain")
    t.ok("other.example.org" in c["status_detail"], "status_detail names the domain")
    rsa, rsa_key = pki.leaf("rsa", "rsa.example.com", ["rsa.example.com"], "Issuing CA",
                            kind=2048)
    r = inst.cli("cert", "import", "--domain", "rsa.example.com", "--cert", rsa, "--key",
                 rsa_key, "--json")
    t.ok(r.returncode == 0 and json.loads(r.stdout)["key_type"] == "RSA 2048",
         "RSA 2048 accepted with key_type 'RSA 2048'", r.stderr)
    rsa_trad = inst.path("rsa-trad.key")
    openssl("pkey", "-in", rsa_key, "-traditional", "-out", rsa_trad)
    t.ok("BEGIN RSA PRIVATE KEY" in open(rsa_trad).read(), "made an RSA PRIVATE KEY block")
    r = inst.cli("cert", "import", "--domain", "rsa.example.com", "--cert", rsa, "--key",
                 rsa_trad)
    t.ok(r.returncode == 0, "RSA PRIVATE KEY block accepted", r.stderr)
    ec_trad = inst.path("ec-trad.key")
    openssl("ec", "-in", LEAF_KEY, "-out", ec_trad)
    t.ok("BEGIN EC PRIVATE KEY" in open(ec_trad).read(), "made an EC PRIVATE KEY block")
    r = inst.cli("cert", "import", "--domain", "www.example.com", "--cert", LEAF, "--key",
                 ec_trad)
    t.ok(r.returncode == 0, "EC PRIVATE KEY block accepted", r.stderr)


def test_selfsign_and_test_ca():
    r = inst.cli("cert", "selfsign", "--domain", "dev.example.test", "--san", "api.example.test",
                 "--san", "*.apps.example.test", "--json")
    t.ok(r.returncode == 0, "selfsign with extra names", r.stderr)
    import json
    c = json.loads(r.stdout)
    t.eq(c["source"], "self_signed", "source self_signed")
    t.eq(c["name"], "Self-Signed", "label Self-Signed")
    t.eq(sorted(c["sans"]), ["*.apps.example.test", "api.example.test", "dev.example.test"],
         "SANs = domain + extra names")
    t.eq(c["key_type"], "ECDSA P-256", "self-signed key is ECDSA P-256")
    t.eq(c["status"], "ok", "status ok")
    t.ok(c["issuer_cn"].startswith("postern test CA"), "issued by the instance test CA")
    days = (time.mktime(time.strptime(c["expires_on"], "%Y-%m-%dT%H:%M:%SZ")) -
            time.mktime(time.strptime(c["issued_on"], "%Y-%m-%dT%H:%M:%SZ"))) / 86400
    t.ok(364.9 < days < 365.1, "valid 365 days (%.2f)" % days)
    ca = inst.cli("cert", "test-ca")
    t.ok(ca.returncode == 0 and "BEGIN CERTIFICATE" in ca.stdout, "cert test-ca prints the CA")
    ca_path = inst.path("test-ca.pem")
    with open(ca_path, "w") as f:
        f.write(ca.stdout)
    db = os.path.join(inst.data, "postern.db")
    chain = subprocess.run(["sqlite3", db, "SELECT chain_pem FROM certificates WHERE id=%d"
                            % c["id"]], capture_output=True, text=True).stdout
    leaf = inst.path("dev.pem")
    with open(leaf, "w") as f:
        f.write(chain)
    v = subprocess.run(["openssl", "verify", "-purpose", "sslserver", "-CAfile", ca_path, leaf],
                       capture_output=True, text=True)
    t.ok(v.returncode == 0 and ": OK" in v.stdout, "openssl verify -CAfile test CA accepts it",
         v.stderr)
    text = openssl("x509", "-in", leaf, "-noout", "-text")
    t.ok("TLS Web Server Authentication" in text, "serverAuth EKU present")
    r2 = inst.cli_json("cert", "selfsign", "--domain", "second.example.test")
    t.eq(r2["issuer_cn"], c["issuer_cn"], "the same test CA issues the next one")
    ca2 = inst.cli("cert", "test-ca").stdout
    t.eq(ca2, ca.stdout, "test CA is created once and kept")


def test_delete():
    before = certs()
    victim = before[0]["id"]
    r = inst.cli("cert", "delete", str(victim))
    t.ok(r.returncode == 0, "delete an existing certificate", r.stderr)
    after = certs()
    t.eq(len(after), len(before) - 1, "one fewer certificate")
    t.ok(all(c["id"] != victim for c in after), "the deleted id is gone")
    r = inst.cli("cert", "show", str(victim))
    t.ok(r.returncode == 1 and "not_found" in r.stderr, "show a deleted id: not_found")


for fn in (test_import_and_list, test_chain_reordered_and_root_dropped, test_upload_errors,
           test_flagged_statuses, test_selfsign_and_test_ca, test_delete):
    t.run(fn)
inst.cleanup()
t.done()
