"""A client for the admin API in the integration tests (Python standard
library only): a session cookie and CSRF token after login(), or a Bearer
token, and a record of every response body so a test can check that no
private key was ever sent."""

import http.client
import json
import re
import time

SEEN = []  # every response body received by any client


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # [(name, value)] as received
        self.body = body
        self.elapsed = elapsed

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def error(self):
        """(code, field) of an error body, (None, None) otherwise."""
        try:
            e = self.json()["error"]
            return e.get("code"), e.get("field")
        except (ValueError, KeyError, TypeError):
            return None, None

    @property
    def code(self):
        return self.error()[0]

    @property
    def field(self):
        return self.error()[1]

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class AdminClient:
    def __init__(self, port, host="127.0.0.1", context=None, source=None, timeout=30):
        self.port = port
        self.host = host
        self.context = context
        self.source = source
        self.timeout = timeout
        self.cookie = None
        self.csrf = None
        self.token = None

    def connection(self):
        src = (self.source, 0) if self.source else None
        if self.context is not None:
            return http.client.HTTPSConnection(self.host, self.port, context=self.context,
                                               timeout=self.timeout, source_address=src)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                          source_address=src)

    def request(self, method, path, body=None, raw=None, headers=None, auth=True,
                csrf=True):
        hdrs = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if raw is not None:
            data = raw
        if auth and self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        elif auth and self.cookie:
            hdrs["Cookie"] = self.cookie
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            hdrs["X-CSRF-Token"] = self.csrf
        hdrs.update(headers or {})
        conn = self.connection()
        start = time.time()
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            out = r.read()
            resp = Response(r.status, r.getheaders(), out, time.time() - start)
        finally:
            conn.close()
        SEEN.append(out)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, user, password):
        r = self.post("/api/v1/session", {"username": user, "password": password}, auth=False)
        if r.status == 200:
            m = re.match(r"postern_session=([0-9a-f]+);", r.header("Set-Cookie") or "")
            self.cookie = "postern_session=" + m.group(1) if m else None
            self.csrf = r.json().get("csrf_token")
        return r


def read(path):
    with open(path) as f:
        return f.read()


def openssl_dates(pem_path, openssl):
    """(issued_on, expires_on) of a certificate as the API prints them."""
    out = openssl("x509", "-in", pem_path, "-noout", "-startdate", "-enddate")
    dates = {}
    for line in out.splitlines():
        k, v = line.split("=", 1)
        t = time.strptime(v.strip(), "%b %d %H:%M:%S %Y %Z")
        dates[k] = time.strftime("%Y-%m-%dT%H:%M:%SZ", t)
    return dates["notBefore"], dates["notAfter"]


def fingerprint_of_pem(pem_text, openssl):
    out = openssl("x509", "-noout", "-fingerprint", "-sha256", stdin=pem_text)
    return out.strip().split("=", 1)[1]


def served_pem(port, servername):
    """The leaf certificate (PEM) the gateway presents for servername, or None."""
    import subprocess
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", servername, "-showcerts"], input="",
                       capture_output=True, text=True, timeout=10)
    if "-----BEGIN CERTIFICATE-----" not in r.stdout:
        return None
    pem = r.stdout[r.stdout.index("-----BEGIN CERTIFICATE-----"):]
    return pem[:pem.index("-----END CERTIFICATE-----") + 25] + "\n"


def wait_for(fn, timeout=1.0, step=0.05):
    """Call fn until it returns a true value or timeout seconds pass;
    returns (value, seconds waited)."""
    start = time.time()
    while True:
        v = fn()
        if v or time.time() - start >= timeout:
            return v, time.time() - start
        time.sleep(step)
