#!/usr/bin/env python3
"""First start, instance key handling, --version/--help and config errors,
through the real postern binary."""

import os
import stat
import subprocess

from harness import POSTERN, Instance, Tap

t = Tap()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_version_and_help():
    r = subprocess.run([POSTERN, "--version"], capture_output=True, text=True)
    t.ok(r.returncode == 0 and r.stdout.startswith("postern "), "--version prints postern X.Y.Z")
    r = subprocess.run([POSTERN, "--help"], capture_output=True, text=True)
    t.ok(r.returncode == 0 and "cert import" in r.stdout and "user passwd" in r.stdout,
         "--help lists the commands")
    r = subprocess.run([POSTERN], capture_output=True, text=True)
    t.ok(r.returncode == 2 and "usage" in r.stderr, "no arguments: usage on stderr, exit 2")


def test_first_start_generated_password():
    inst = Instance(password=None)
    r = inst.cli("cert", "list")
    t.ok(r.returncode == 0, "first command on an empty dir succeeds", r.stderr)
    t.ok(os.path.isdir(inst.data), "data directory created")
    t.eq(mode(inst.data), 0o700, "data directory is 0700")
    key = os.path.join(inst.data, "instance.key")
    t.ok(os.path.isfile(key), "instance key created")
    t.eq(mode(key), 0o600, "instance key is 0600")
    t.eq(os.path.getsize(key), 32, "instance key has 32 bytes")
    t.eq(mode(os.path.join(inst.data, "postern.db")), 0o600, "database is 0600")
    pwfile = os.path.join(inst.data, "initial-admin-password")
    t.ok(os.path.isfile(pwfile), "initial-admin-password written")
    t.eq(mode(pwfile), 0o600, "initial-admin-password is 0600")
    pw = open(pwfile).read().strip()
    t.ok(len(pw) >= 16, "generated password has at least 16 characters")
    t.ok(pw in r.stderr and "admin" in r.stderr, "generated password printed once on stderr")
    r2 = inst.cli("cert", "list")
    t.ok(r2.returncode == 0 and pw not in r2.stderr, "second start does not print it again")
    t.eq(open(pwfile).read().strip(), pw, "password file unchanged on second start")
    inst.cleanup()


def test_env_password_and_passwd():
    inst = Instance(password="from-the-environment")
    r = inst.cli("cert", "list")
    t.ok(r.returncode == 0, "start with POSTERN_ADMIN_PASSWORD", r.stderr)
    t.ok(not os.path.exists(os.path.join(inst.data, "initial-admin-password")),
         "no password file when the password comes from the environment")
    t.ok("from-the-environment" not in r.stderr, "the given password is not echoed")
    r = inst.cli("user", "passwd", "admin", stdin="a-new-password-123\n")
    t.ok(r.returncode == 0 and "changed" in r.stdout, "user passwd admin reads stdin", r.stderr)
    r = inst.cli("user", "passwd", "admin", stdin="short\n")
    t.ok(r.returncode == 1 and "weak_password" in r.stderr, "too short password refused")
    r = inst.cli("user", "passwd", "nobody", stdin="long-enough-pass\n")
    t.ok(r.returncode == 1 and "not_found" in r.stderr, "unknown user: not_found")
    inst.cleanup()


def test_wrong_and_missing_key():
    inst = Instance()
    t.ok(inst.cli("cert", "selfsign", "--domain", "a.test").returncode == 0,
         "a certificate exists before the key is swapped")
    key = os.path.join(inst.data, "instance.key")
    original = open(key, "rb").read()
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    r = inst.cli("cert", "list")
    t.ok(r.returncode == 1 and "instance_key" in r.stderr and "does not match" in r.stderr,
         "wrong instance key: refuse with a clear message", r.stderr)
    os.unlink(key)
    r = inst.cli("cert", "list")
    t.ok(r.returncode == 1 and "missing" in r.stderr, "missing instance key: refuse", r.stderr)
    t.ok(not os.path.exists(key), "a missing key is not silently re-created")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, original)
    os.close(fd)
    os.chmod(key, 0o644)
    r = inst.cli("cert", "list")
    t.ok(r.returncode == 1 and "chmod 600" in r.stderr, "key readable by others: refuse",
         r.stderr)
    os.chmod(key, 0o600)
    r = inst.cli("cert", "list", "--json")
    t.ok(r.returncode == 0 and '"a.test"' in r.stdout, "the right key opens the data again",
         r.stderr)
    inst.cleanup()


def test_config_errors():
    inst = Instance()
    with open(inst.conf, "a") as f:
        f.write("bogus_key = 1\n")
    r = inst.cli("cert", "list")
    lines = open(inst.conf).read().count("\n")
    t.ok(r.returncode == 1 and ("%s:%d" % (inst.conf, lines)) in r.stderr and
         "bogus_key" in r.stderr, "unknown key: error names file, line and key", r.stderr)
    r = subprocess.run([POSTERN, "-c", "/nonexistent/postern.conf", "cert", "list"],
                       capture_output=True, text=True)
    t.ok(r.returncode == 1 and "/nonexistent/postern.conf" in r.stderr,
         "missing config file named in the error")
    inst.cleanup()


def test_usage_errors():
    inst = Instance()
    r = inst.cli("cert", "frobnicate")
    t.ok(r.returncode == 2 and "unknown command" in r.stderr, "unknown subcommand: exit 2")
    r = inst.cli("cert", "import", "--domain", "a.test")
    t.ok(r.returncode == 2 and "--cert" in r.stderr, "missing options: exit 2 naming them")
    r = inst.cli("cert", "delete", "abc")
    t.ok(r.returncode == 2, "non-numeric ID: exit 2")
    r = inst.cli("cert", "delete", "99")
    t.ok(r.returncode == 1 and "not_found" in r.stderr, "delete unknown ID: not_found, exit 1")
    inst.cleanup()


for fn in (test_version_and_help, test_first_start_generated_password,
           test_env_password_and_passwd, test_wrong_and_missing_key, test_config_errors,
           test_usage_errors):
    t.run(fn)
t.done()
