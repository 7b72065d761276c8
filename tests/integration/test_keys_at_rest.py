#!/usr/bin/env python3
"""Private keys never reach the disk unencrypted: after importing and
issuing keys, the database, its WAL and every file in the data dir hold
neither "PRIVATE KEY" text nor any 16-byte slice of a key's raw DER."""

import base64
import os
import sqlite3

from harness import Instance, Pki, Tap, openssl

t = Tap()
inst = Instance()
pki = Pki(inst.dir)
pki.ca("Root CA")


def key_der(path):
    pem = open(path).read()
    body = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))
    return base64.b64decode(body)


def data_files():
    out = []
    for root, _, files in os.walk(inst.data):
        out += [os.path.join(root, f) for f in files]
    return out


def test_no_plaintext_keys():
    # Hold a connection open so the last CLI process does not checkpoint and
    # delete the WAL: the scan must see the WAL as a crash would leave it.
    inst.cli("cert", "list")
    holder = sqlite3.connect(os.path.join(inst.data, "postern.db"))
    holder.execute("SELECT count(*) FROM certificates").fetchall()
    ders = []
    for i, kind in enumerate(("ec", 2048, "ec")):
        cert, key = pki.leaf("k%d" % i, "k%d.example.com" % i, ["k%d.example.com" % i],
                             "Root CA", kind=kind)
        r = inst.cli("cert", "import", "--domain", "k%d.example.com" % i, "--cert", cert,
                     "--key", key)
        t.ok(r.returncode == 0, "import key %d (%s)" % (i, kind), r.stderr)
        ders.append(key_der(key))
        # the same key in PKCS#1/SEC1 form: its DER differs, check it too
        trad = openssl("pkey", "-in", key, "-traditional")
        body = "".join(l for l in trad.splitlines() if l and not l.startswith("-----"))
        ders.append(base64.b64decode(body))
    r = inst.cli("cert", "selfsign", "--domain", "self.example.com")
    t.ok(r.returncode == 0, "issue a self-signed certificate (new key + test CA key)")
    files = data_files()
    wal = [f for f in files if f.endswith("-wal")]
    t.ok(len(wal) == 1 and os.path.getsize(wal[0]) > 0, "the WAL is there to scan: %s" %
         ", ".join(sorted(os.path.basename(f) for f in files)))
    blobs = {f: open(f, "rb").read() for f in files if not f.endswith("instance.key")}
    t.ok(all(b"PRIVATE KEY" not in b for b in blobs.values()),
         "no 'PRIVATE KEY' text in any data file")
    found = []
    for n, der in enumerate(ders):
        slices = [der[i:i + 16] for i in range(0, len(der) - 16, 4)]
        for f, b in blobs.items():
            if any(s in b for s in slices):
                found.append((n, f))
    t.eq(found, [], "no 16-byte slice of any key's DER in any data file")
    holder.close()


for fn in (test_no_plaintext_keys,):
    t.run(fn)
inst.cleanup()
t.done()
