"""Pebble (Let's Encrypt's test CA) and pebble-challtestsrv for the ACME
integration tests, run as ../../shared/ACME-TESTING.md says: a TLS CA made
with openssl for pebble's listeners, absolute paths in pebble's config,
mock DNS from challtestsrv (no AAAA, its HTTP servers off), readiness by
connecting, every process stopped by its PID. Python standard library
only."""

import base64
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request

from harness import free_port, openssl


def free_udp_tcp_port():
    """A port free for both TCP and UDP on 127.0.0.1 (DNS uses both)."""
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def make_tls_ca(workdir):
    """tls-ca.pem (trusted by the ACME client) and pebble.pem/pebble.key
    for 127.0.0.1 and localhost, as in ACME-TESTING.md section 3.1."""
    w = workdir
    if os.path.exists(os.path.join(w, "pebble.pem")):
        return
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "30", "-subj", "/CN=pebble-test TLS CA", "-keyout", w + "/tls-ca.key",
            "-out", w + "/tls-ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
            "/CN=localhost", "-keyout", w + "/pebble.key", "-out", w + "/pebble.csr")
    with open(w + "/leaf.ext", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", w + "/pebble.csr", "-CA", w + "/tls-ca.pem", "-CAkey",
            w + "/tls-ca.key", "-CAcreateserial", "-days", "30", "-extfile", w + "/leaf.ext",
            "-out", w + "/pebble.pem")


def stop_proc(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ChallTestSrv:
    """pebble-challtestsrv as a mock DNS server only: every A -> 127.0.0.1,
    no AAAA; steered through its management API."""

    def __init__(self, workdir, name):
        self.dns_port = free_udp_tcp_port()
        self.mgmt_port = free_port()
        self.log_path = os.path.join(workdir, "challtestsrv-%s.log" % name)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["pebble-challtestsrv", "-dns01", "127.0.0.1:%d" % self.dns_port,
             "-management", "127.0.0.1:%d" % self.mgmt_port, "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while True:
            try:
                self.post("/clear-a", {"host": "probe.test"})
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise AssertionError("challtestsrv did not start: " + open(self.log_path).read())
                time.sleep(0.05)

    @property
    def dns(self):
        return "127.0.0.1:%d" % self.dns_port

    def post(self, path, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.mgmt_port, timeout=5)
        try:
            conn.request("POST", path, body=json.dumps(body))
            r = conn.getresponse()
            r.read()
            return r.status
        finally:
            conn.close()

    def add_a(self, host, addresses):
        return self.post("/add-a", {"host": host, "addresses": addresses})

    def clear_a(self, host):
        return self.post("/clear-a", {"host": host})

    def stop(self):
        stop_proc(self.proc)
        self.log.close()


class Pebble:
    """One pebble: its own ports, config and log; env tunes it
    (PEBBLE_WFE_NONCEREJECT, ...). http_port is where its VA sends HTTP-01
    requests: the gateway's HTTP listener."""

    def __init__(self, workdir, name, http_port, dns, validity=None, env=None):
        make_tls_ca(workdir)
        self.workdir = workdir
        self.port = free_port()
        self.mgmt_port = free_port()
        self.ca = os.path.join(workdir, "tls-ca.pem")
        cfg = {"listenAddress": "127.0.0.1:%d" % self.port,
               "managementListenAddress": "127.0.0.1:%d" % self.mgmt_port,
               "certificate": os.path.join(workdir, "pebble.pem"),
               "privateKey": os.path.join(workdir, "pebble.key"),
               "httpPort": http_port, "tlsPort": free_port(), "ocspResponderURL": "",
               "externalAccountBindingRequired": False}
        if validity is not None:
            cfg["certificateValidityPeriod"] = validity
        self.config = os.path.join(workdir, "pebble-%s.json" % name)
        with open(self.config, "w") as f:
            json.dump({"pebble": cfg}, f)
        self.dns = dns
        self.log_path = os.path.join(workdir, "pebble-%s.log" % name)
        self.log = open(self.log_path, "w")
        self._start(env)

    def _start(self, env):
        e = dict(os.environ)
        e.update({"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
                  "PEBBLE_AUTHZREUSE": "0"})
        e.update(env or {})
        self.proc = subprocess.Popen(["pebble", "-config", self.config, "-dnsserver", self.dns],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self._wait_ready()

    def restart(self, env=None):
        """A new pebble on the same ports: a new CA, every account and
        order forgotten (like a test CA being reset). The log continues."""
        stop_proc(self.proc)
        self._start(env)

    @property
    def directory(self):
        return "https://127.0.0.1:%d/dir" % self.port

    def context(self):
        return ssl.create_default_context(cafile=self.ca)

    def _wait_ready(self):
        deadline = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("pebble exited: " + self.output())
            try:
                with urllib.request.urlopen(self.directory, context=self.context(), timeout=2):
                    return
            except OSError:
                if time.time() > deadline:
                    raise AssertionError("pebble not ready: " + self.output())
                time.sleep(0.1)

    def mgmt(self, path):
        """GET from the management API (roots and intermediates are new at
        every start)."""
        url = "https://127.0.0.1:%d%s" % (self.mgmt_port, path)
        with urllib.request.urlopen(url, context=self.context(), timeout=5) as r:
            return r.read().decode()

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def count(self, method_path):
        """How many requests pebble logged for "POST /sign-me-up" etc."""
        return self.output().count(" %s -> calling handler()" % method_path)

    def stop(self):
        stop_proc(self.proc)
        self.log.close()


class FrontServer(threading.Thread):
    """An HTTP server on another loopback address, standing for a host a
    name points at instead of the gateway: mode "404" answers every request
    with 404; mode "slow" waits, then forwards the request to the gateway
    (a slow path to it)."""

    def __init__(self, address, port, mode, target_port=None, delay=3.0):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(16)
        self.mode, self.target_port, self.delay = mode, target_port, delay
        self.hits = 0
        self.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            self.hits += 1
            if self.mode == "404":
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
                             b"Connection: close\r\n\r\nnot here\n")
                return
            time.sleep(self.delay)
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = [ln for ln in head.split(b"\r\n")
                     if not ln.lower().startswith(b"connection:")]
            data = b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + rest
            with socket.create_connection(("127.0.0.1", self.target_port), timeout=5) as up:
                up.sendall(data)
                while True:
                    chunk = up.recv(65536)
                    if not chunk:
                        break
                    conn.sendall(chunk)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.sock.close()


class AriShim(threading.Thread):
    """An HTTPS front for a pebble that adds ACME Renewal Information
    (RFC 9773), which pebble 2.4 lacks: the directory gains renewalInfo,
    GET renewal-info/<certID> answers a window from window[0] to window[1]
    seconds from now for the first certID asked about (a month later for
    any other), and everything else is forwarded to pebble with the
    Host header kept, so pebble's URLs point back here. Records the
    certIDs asked about and the "replaces" of every newOrder."""

    def __init__(self, pebble, window=(-60, 4)):
        super().__init__(daemon=True)
        self.pebble, self.window = pebble, window
        self.port = free_port()
        self.asked, self.replaces = [], []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(pebble.workdir, "pebble.pem"),
                            os.path.join(pebble.workdir, "pebble.key"))
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        raw.bind(("127.0.0.1", self.port))
        raw.listen(16)
        self.sock = ctx.wrap_socket(raw, server_side=True)
        self.start()

    @property
    def directory(self):
        return "https://127.0.0.1:%d/dir" % self.port

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except ssl.SSLError:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    @staticmethod
    def read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:] if ":" in ln]
        length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        while len(body) < length:
            body += conn.recv(65536)
        return method, path, headers, body

    def forward(self, method, path, headers, body):
        ctx = ssl.create_default_context(cafile=self.pebble.ca)
        up = http.client.HTTPSConnection("127.0.0.1", self.pebble.port, context=ctx, timeout=10)
        up.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            if k.lower() != "connection":
                up.putheader(k, v)
        up.endheaders(body if body else None)
        r = up.getresponse()
        data = r.read() if method != "HEAD" else b""
        hdrs = [(k, v) for k, v in r.getheaders()
                if k.lower() not in ("transfer-encoding", "connection", "content-length")]
        up.close()
        return r.status, hdrs, data

    def note_order(self, body):
        payload = json.loads(body)["payload"]
        payload += "=" * (-len(payload) % 4)
        self.replaces.append(json.loads(base64.urlsafe_b64decode(payload)).get("replaces"))

    def serve(self, conn):
        try:
            req = self.read_request(conn)
            if req is None:
                return
            method, path, headers, body = req
            if path.startswith("/renewal-info/"):
                cert_id = path[len("/renewal-info/"):]
                self.asked.append(cert_id)
                now = time.time()
                if cert_id != self.asked[0]:  # a renewed certificate: due in a month
                    now += 30 * 86400
                fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
                data = json.dumps({"suggestedWindow": {"start": fmt(now + self.window[0]),
                                                       "end": fmt(now + self.window[1])}})
                status, hdrs, data = 200, [("Content-Type", "application/json"),
                                           ("Retry-After", "3600")], data.encode()
            else:
                if path.endswith("/order-plz"):
                    self.note_order(body)
                status, hdrs, data = self.forward(method, path, headers, body)
                if path == "/dir":
                    d = json.loads(data)
                    d["renewalInfo"] = "https://127.0.0.1:%d/renewal-info/" % self.port
                    data = json.dumps(d).encode()
            out = "HTTP/1.1 %d X\r\n" % status
            for k, v in hdrs:
                out += "%s: %s\r\n" % (k, v)
            out += "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(data)
            conn.sendall(out.encode("latin-1") + (data if method != "HEAD" else b""))
        except (OSError, ValueError, KeyError):
            pass
        finally:
            conn.close()

    def stop(self):
        self.sock.close()
