"""Shared helpers for postern's integration tests (Python standard library
only). Each test file drives the real binary on a fresh data directory and
prints TAP: one "ok"/"not ok" line per check, read by automake's TAP
driver."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import traceback

POSTERN = os.environ.get("POSTERN_BIN") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "postern"))
SRCDIR = os.environ.get("POSTERN_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))


class Tap:
    """TAP producer: ok() per check; run() wraps a test function so an
    exception becomes a failed check instead of a silent stop."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, desc))
        if not cond and diag is not None:
            for line in str(diag).splitlines()[:40]:
                print("#   " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "got:  %r\nwant: %r" % (got, want))

    def run(self, fn):
        try:
            fn()
        except Exception:  # noqa: BLE001 - report and go on with other tests
            self.ok(False, "%s raised" % fn.__name__, traceback.format_exc())

    def done(self):
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    """A postern instance in a temp dir: config, data dir and CLI."""

    def __init__(self, password="correct horse battery", extra_conf=""):
        self.dir = tempfile.mkdtemp(prefix="postern-it-")
        self.data = os.path.join(self.dir, "var")
        self.http_port = free_port()
        self.https_port = free_port()
        self.admin_port = free_port()
        self.conf = os.path.join(self.dir, "postern.conf")
        self.password = password
        with open(self.conf, "w") as f:
            f.write(
                "[gateway]\nhttp_listen = 127.0.0.1:%d\nhttps_listen = 127.0.0.1:%d\n"
                "workers = 2\n[admin]\nlisten = 127.0.0.1:%d\ntls = off\n"
                "[storage]\ndata_dir = %s\n[log]\naccess_log =\n%s\n"
                % (self.http_port, self.https_port, self.admin_port, self.data, extra_conf))

    def env(self):
        env = dict(os.environ)
        env.pop("POSTERN_ADMIN_PASSWORD", None)
        if self.password is not None:
            env["POSTERN_ADMIN_PASSWORD"] = self.password
        return env

    def cli(self, *args, stdin=None, timeout=60):
        """Run postern -c CONF ARGS; returns CompletedProcess (text)."""
        return subprocess.run([POSTERN, "-c", self.conf] + list(args), input=stdin,
                              capture_output=True, text=True, env=self.env(), timeout=timeout)

    def cli_json(self, *args):
        r = self.cli(*args, "--json")
        if r.returncode != 0:
            raise AssertionError("postern %s failed: %s" % (" ".join(args), r.stderr))
        return json.loads(r.stdout)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def openssl(*args, cwd=None, stdin=None):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True,
                       input=stdin)
    if r.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), r.stderr))
    return r.stdout


class Pki:
    """Certificates made with the openssl command in a temp dir."""

    def __init__(self, base):
        self.dir = os.path.join(base, "pki")
        os.makedirs(self.dir, exist_ok=True)

    def p(self, name):
        return os.path.join(self.dir, name)

    def key(self, name, kind="ec"):
        if kind == "ec":
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", self.p(name + ".key"))
        else:
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%d" % kind,
                    "-out", self.p(name + ".key"))
        return self.p(name + ".key")

    def ca(self, name, issuer=None, days=3650):
        """A CA certificate (self-signed root when issuer is None)."""
        self.key(name)
        ext = self.p(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                    "subjectKeyIdentifier=hash\n")
        if issuer is None:
            openssl("req", "-x509", "-new", "-key", self.p(name + ".key"), "-subj",
                    "/CN=%s" % name, "-days", str(days), "-out", self.p(name + ".pem"),
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        else:
            self._sign(name, "/CN=%s" % name, issuer, ext, days)
        return self.p(name + ".pem")

    def _sign(self, name, subj, issuer, ext, days):
        openssl("req", "-new", "-key", self.p(name + ".key"), "-subj", subj,
                "-out", self.p(name + ".csr"))
        args = ["x509", "-req", "-in", self.p(name + ".csr"), "-CA", self.p(issuer + ".pem"),
                "-CAkey", self.p(issuer + ".key"), "-CAcreateserial",
                "-extfile", ext, "-out", self.p(name + ".pem"), "-days", str(days)]
        openssl(*args)

    def leaf(self, name, cn, sans, issuer, days=90, kind="ec"):
        self.key(name, kind)
        ext = self.p(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n")
            if sans:
                f.write("subjectAltName=" + ",".join("DNS:" + s for s in sans) + "\n")
        self._sign(name, "/CN=%s" % cn, issuer, ext, days)
        return self.p(name + ".pem"), self.p(name + ".key")

    def expired_leaf(self, name, cn, issuer):
        """A leaf whose validity ended: signed with openssl ca -startdate/-enddate."""
        self.key(name)
        cadir = self.p("ca-" + name)
        os.makedirs(cadir, exist_ok=True)
        open(os.path.join(cadir, "index.txt"), "w").close()
        with open(os.path.join(cadir, "serial"), "w") as f:
            f.write("1000\n")
        cnf = os.path.join(cadir, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca=c\n[c]\ndir=%s\ndatabase=$dir/index.txt\n"
                    "serial=$dir/serial\nnew_certs_dir=$dir\ndefault_md=sha256\n"
                    "policy=p\nunique_subject=no\ncopy_extensions=copy\n[p]\ncommonName=supplied\n"
                    "[ext]\nbasicConstraints=CA:FALSE\nsubjectAltName=DNS:%s\n" % (cadir, cn))
        openssl("req", "-new", "-key", self.p(name + ".key"), "-subj", "/CN=%s" % cn,
                "-out", self.p(name + ".csr"))
        openssl("ca", "-batch", "-config", cnf, "-extensions", "ext", "-in",
                self.p(name + ".csr"), "-cert", self.p(issuer + ".pem"), "-keyfile",
                self.p(issuer + ".key"), "-startdate", "20200101000000Z", "-enddate",
                "20210101000000Z", "-out", self.p(name + ".pem"), "-notext")
        return self.p(name + ".pem"), self.p(name + ".key")


def x509_field(pem_path, *args):
    return openssl("x509", "-in", pem_path, "-noout", *args).strip()


# ---- the daemon

import signal  # noqa: E402
import ssl  # noqa: E402
import time  # noqa: E402


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Daemon:
    """postern -c CONF running in the background, its stderr in a file."""

    def __init__(self, inst, env=None):
        self.inst = inst
        self.log_path = inst.path("daemon-%d.log" % time.time_ns())
        self.log = open(self.log_path, "w")
        e = inst.env()
        e.update(env or {})
        self.proc = subprocess.Popen([POSTERN, "-c", inst.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=e)
        ports = [inst.https_port, inst.http_port]
        with open(inst.conf) as f:
            # the admin listener opens on the control thread, after the
            # gateway's: a test that signs in right away must wait for it
            if "listen = 127.0.0.1:%d\n" % inst.admin_port in f.read():
                ports.append(inst.admin_port)
        if not all(wait_port(p) for p in ports):
            self.stop()
            raise AssertionError("postern did not start:\n" + self.output())

    def output(self):
        self.log.flush()
        return open(self.log_path).read()

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=40):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def raw_request(port, data, tls_name=None, timeout=5.0, read_all=True):
    """Send bytes, return everything the server sends until it closes (or
    the timeout). tls_name: connect with TLS and this SNI."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls_name is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname=tls_name)
    try:
        sock.sendall(data)
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            if not read_all:
                break
        return out
    finally:
        sock.close()


def status_of(response):
    try:
        return int(response.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def https_context(ca_file=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        ctx.load_verify_locations(ca_file)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def s_client(port, servername=None, extra=()):
    """openssl s_client: returns (returncode, output)."""
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-brief"] + list(extra)
    if servername is not None:
        args += ["-servername", servername]
    else:
        args += ["-noservername"]
    r = subprocess.run(args, input="", capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout + r.stderr


def served_subject(port, servername, extra=()):
    """CN of the certificate the gateway presents for servername, or None."""
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-showcerts"]
    args += ["-servername", servername] if servername else ["-noservername"]
    r = subprocess.run(args + list(extra), input="", capture_output=True, text=True, timeout=10)
    if "-----BEGIN CERTIFICATE-----" not in r.stdout:
        return None
    pem = r.stdout[r.stdout.index("-----BEGIN CERTIFICATE-----"):]
    pem = pem[:pem.index("-----END CERTIFICATE-----") + 25]
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline"],
                         input=pem, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "commonName" in line:
            return line.split("=", 1)[1].strip()
    return ""
