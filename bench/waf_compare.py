#!/usr/bin/env python3
"""Side-by-side WAF comparison: postern (waf = block, preset rules) and
nginx + ModSecurity v3 + OWASP CRS (paranoia level 1, inbound anomaly
threshold 5, the CRS defaults) in front of the same trivial backend; every
request of the corpus is replayed through both with raw sockets (the
request-target is sent byte for byte), and the verdicts are counted.

Usage:
  bench/waf_compare.py [--corpus FILE] [--json OUT] [--no-postern] [--no-crs]
                       [--keep] [--verbose]
      Compare. Prints a Markdown table (per class: attacks, detected by
      postern / by CRS, benign requests, false positives of each) and the
      list of disagreements to stdout; --json OUT also writes every verdict.
      Exit status 0 (the figures are the result, not a pass/fail), 2 on a
      setup error.
  bench/waf_compare.py serve [--stacks LIST] [--proxy-cpu N] [--backend-cpu N]
                             [--upstream nginx|python]
      Start the stacks and keep them running until SIGTERM/SIGINT (used by
      bench/waf-bench.sh). LIST is a comma list of postern (one instance,
      applications off.test with waf off and block.test with waf block),
      nginx (plain reverse proxy) and nginx-crs (ModSecurity + CRS); default
      all three. Prints NAME_PORT=..., NAME_SID=... (session id of the
      stack's processes, for CPU accounting) and UPSTREAM_PORT=..., then
      "ready". Proxies are pinned to --proxy-cpu (default 0), the upstream
      to --backend-cpu (default 1). --upstream nginx (default for serve)
      answers 100 bytes to every request from an nginx on the backend CPU.

Corpus (tests/waf/corpus.jsonl): one JSON object per line,
  {"id", "expect": "block"|"pass", "class", "method", "path" (raw
   request-target), "headers": {}, "body"?: str, "content_type"?: str}
Blank lines and lines starting with "#" are skipped. Every request is sent
as HTTP/1.1 with "Connection: close" and, unless the line sets them,
Host: waf.test, a browser-like User-Agent and Accept: */* (CRS scores a
missing User-Agent or Accept at higher paranoia levels only, but a real
client always sends them), and Content-Length for a body (unless the line
sets Content-Length or Transfer-Encoding: then the body is sent as given).
A line's own Host must be waf.test, or postern answers 404 (no application).

Verdicts: "block" = the proxy answered 403 itself; "pass" = the response
came from the backend (it marks every answer with X-Waf-Compare-Backend)
with status 2xx; anything else (400 from the proxy, a timeout, a reset) is
"other:<status>" and listed with the disagreements.

Environment: POSTERN_BIN (default build/postern in this tree);
CRS_RULES (default /usr/share/modsecurity-crs/rules), CRS_SETUP (default
/etc/modsecurity/crs/crs-setup.conf), MODSEC_MODULE (default
/usr/lib/nginx/modules/ngx_http_modsecurity_module.so), NGINX (default nginx).
Needs: nginx, libnginx-mod-http-modsecurity, modsecurity-crs (Debian),
python3 (standard library only). Loopback only; every process started is
stopped at exit; temp files go to a fresh /tmp/waf-compare.* (--keep keeps it).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
POSTERN = os.environ.get("POSTERN_BIN") or os.path.join(TOP, "build", "postern")
NGINX = os.environ.get("NGINX", "nginx")
CRS_RULES = os.environ.get("CRS_RULES", "/usr/share/modsecurity-crs/rules")
CRS_SETUP = os.environ.get("CRS_SETUP", "/etc/modsecurity/crs/crs-setup.conf")
CRS_ETC = os.path.dirname(CRS_SETUP)
MODSEC_MODULE = os.environ.get("MODSEC_MODULE",
                               "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so")
ADMIN_PASSWORD = "waf-compare-password-only"
HOST = "waf.test"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0 waf-compare"
BACKEND_MARK = "X-Waf-Compare-Backend"


class SetupError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# ---- processes: each in its own session, stopped by its id at exit

class Procs:
    def __init__(self):
        self.procs = []

    def start(self, name, args, log, cpu=None, env=None, cwd=None):
        def pre():
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})
        f = open(log, "ab")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=pre, env=env, cwd=cwd)
        f.close()
        self.procs.append((name, p))
        return p

    def stop_all(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for name, p in reversed(self.procs):
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs = []


# ---- the trivial backend: 200 to everything, marked

class AnyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header(BACKEND_MARK, "1")
        super().end_headers()

    def _any(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                self.rfile.read(size)
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length") or 0)
            if n > 0:
                self.rfile.read(n)
        body = b"backend ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._any
        raise AttributeError(name)


class AnyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def start_python_backend():
    srv = AnyServer(("127.0.0.1", 0), AnyHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


# ---- nginx (plain, or with ModSecurity + CRS)

MODSEC_CONF = """# ModSecurity v3 for waf_compare.py / waf-bench.sh (written by the script)
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecPcreMatchLimit 1000
SecPcreMatchLimitRecursion 1000
SecRule REQUEST_HEADERS:Content-Type "@rx ^(?:application(?:/soap\\+|/)|text/)xml" \\
    "id:100000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" \\
    "id:100001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQBODY_ERROR "!@eq 0" \\
    "id:100002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body'"
SecResponseBodyAccess Off
SecTmpDir {dir}/tmp
SecDataDir {dir}/data
SecAuditEngine {audit}
SecAuditLogParts ABHZ
SecAuditLogType Serial
SecAuditLog {dir}/audit.log
SecArgumentSeparator &
SecCookieFormat 0
SecStatusEngine Off

# OWASP CRS, paranoia level 1, inbound anomaly threshold 5 (the defaults, set explicitly)
Include {crs_setup}
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=1"
SecAction "id:900110,phase:1,nolog,pass,t:none,\\
    setvar:tx.inbound_anomaly_score_threshold=5,setvar:tx.outbound_anomaly_score_threshold=4"
{before}Include {crs_rules}/*.conf
{after}"""

NGINX_CONF = """# nginx for waf_compare.py / waf-bench.sh (written by the script)
{load}worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log {level};
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    client_max_body_size 10m;
    client_body_buffer_size 128k;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    upstream backend {{ server 127.0.0.1:{backend}; keepalive 64; keepalive_requests 100000000; }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        server_name _;
{modsec}        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering on;
        }}
    }}
}}
"""

UPSTREAM_CONF = """# upstream nginx for waf-bench.sh: 100 bytes to every request
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    client_max_body_size 10m;
    client_body_buffer_size 128k;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location / {{
            default_type text/plain;
            add_header {mark} 1;
            return 200 "{body}";
        }}
    }}
}}
"""


def write_nginx(dirpath, port, backend, crs, audit=False):
    os.makedirs(dirpath, exist_ok=True)
    for d in ("tmp", "data", "body", "proxy"):
        os.makedirs(os.path.join(dirpath, d), exist_ok=True)
    load = modsec = ""
    if crs:
        for path in (MODSEC_MODULE, CRS_SETUP, CRS_RULES):
            if not os.path.exists(path):
                raise SetupError("missing %s (apt-get install libnginx-mod-http-modsecurity "
                                 "modsecurity-crs)" % path)
        before = os.path.join(CRS_ETC, "REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf")
        after = os.path.join(CRS_ETC, "RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf")
        with open(os.path.join(dirpath, "modsecurity.conf"), "w") as f:
            f.write(MODSEC_CONF.format(
                dir=dirpath, crs_setup=CRS_SETUP, crs_rules=CRS_RULES,
                audit="RelevantOnly" if audit else "Off",
                before=("Include %s\n" % before) if os.path.exists(before) else "",
                after=("Include %s\n" % after) if os.path.exists(after) else ""))
        load = "load_module %s;\n" % MODSEC_MODULE
        modsec = ("        modsecurity on;\n        modsecurity_rules_file %s;\n" %
                  os.path.join(dirpath, "modsecurity.conf"))
    conf = os.path.join(dirpath, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(load=load, dir=dirpath, port=port, backend=backend,
                                  modsec=modsec, level="warn"))
    return conf


def nginx_args(dirpath, conf):
    return [NGINX, "-p", dirpath, "-c", conf, "-e", os.path.join(dirpath, "error.log")]


def check_nginx(dirpath, conf):
    r = subprocess.run(nginx_args(dirpath, conf) + ["-t", "-q"], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        err = r.stderr
        try:
            err += open(os.path.join(dirpath, "error.log")).read()
        except OSError:
            pass
        raise SetupError("nginx -t failed for %s:\n%s" % (conf, err[-3000:]))


def start_nginx(procs, dirpath, port, backend, crs, cpu=None, audit=False):
    conf = write_nginx(dirpath, port, backend, crs, audit)
    check_nginx(dirpath, conf)
    p = procs.start("nginx-crs" if crs else "nginx", nginx_args(dirpath, conf),
                    os.path.join(dirpath, "stdout.log"), cpu=cpu)
    if not wait_port(port, 30):
        raise SetupError("nginx (%s) did not listen on %d:\n%s" % (
            "crs" if crs else "plain", port, tail(os.path.join(dirpath, "error.log"))))
    return p


def start_upstream_nginx(procs, dirpath, port, cpu=None):
    os.makedirs(os.path.join(dirpath, "body"), exist_ok=True)
    conf = os.path.join(dirpath, "nginx.conf")
    with open(conf, "w") as f:
        f.write(UPSTREAM_CONF.format(dir=dirpath, port=port, mark=BACKEND_MARK,
                                     body="x" * 99 + "\\n"))
    check_nginx(dirpath, conf)
    p = procs.start("upstream", nginx_args(dirpath, conf), os.path.join(dirpath, "stdout.log"),
                    cpu=cpu)
    if not wait_port(port, 30):
        raise SetupError("upstream nginx did not listen:\n" +
                         tail(os.path.join(dirpath, "error.log")))
    return p


def tail(path, n=3000):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


# ---- postern

class Admin:
    """Minimal admin API client: session cookie + CSRF token."""

    def __init__(self, port):
        self.port = port
        self.cookie = None
        self.csrf = None

    def req(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            out = r.read()
            return r.status, r.getheader("Set-Cookie"), out
        finally:
            c.close()

    def login(self, password):
        st, cookie, out = self.req("POST", "/api/v1/session",
                                   {"username": "admin", "password": password})
        if st != 200:
            raise SetupError("postern admin login failed: %d %r" % (st, out[:300]))
        m = re.match(r"postern_session=([0-9a-f]+);", cookie or "")
        self.cookie = "postern_session=" + m.group(1) if m else None
        self.csrf = json.loads(out).get("csrf_token")


def postern_app(admin, name, domain, backend_port, waf):
    """Create an application with the given waf mode through the admin API."""
    app = {"name": name, "domains": [domain],
           "backends": [{"url": "http://127.0.0.1:%d" % backend_port}], "waf": waf}
    st, _, out = admin.req("POST", "/api/v1/applications", app)
    if st != 201:
        raise SetupError("postern: creating application %s with waf=%s failed: %d %s\n"
                         "(does this postern build have the application 'waf' field yet?)" %
                         (name, waf, st, out[:300].decode("utf-8", "replace")))
    got = json.loads(out)
    if got.get("waf") != waf:
        raise SetupError("postern: application %s created but its waf is %r, not %r" %
                         (name, got.get("waf"), waf))
    return got


def start_postern(procs, dirpath, apps, backend_port, cpu=None, workers=1):
    """apps: [(name, domain, waf)]. Returns (http_port, admin)."""
    if not os.access(POSTERN, os.X_OK):
        raise SetupError("no postern binary at %s (set POSTERN_BIN)" % POSTERN)
    os.makedirs(dirpath, exist_ok=True)
    http_port, https_port, admin_port = free_port(), free_port(), free_port()
    conf = os.path.join(dirpath, "postern.conf")
    with open(conf, "w") as f:
        f.write("[gateway]\nhttp_listen = 127.0.0.1:%d\nhttps_listen = 127.0.0.1:%d\n"
                "workers = %d\n[admin]\nlisten = 127.0.0.1:%d\ntls = off\n[storage]\n"
                "data_dir = %s\n[log]\naccess_log =\nlevel = warn\n" %
                (http_port, https_port, workers, admin_port, os.path.join(dirpath, "var")))
    env = dict(os.environ, POSTERN_ADMIN_PASSWORD=ADMIN_PASSWORD)
    log = os.path.join(dirpath, "postern.log")
    p = procs.start("postern", [POSTERN, "-c", conf], log, cpu=cpu, env=env)
    if not (wait_port(http_port, 30) and wait_port(admin_port, 30)):
        raise SetupError("postern did not start:\n" + tail(log))
    admin = Admin(admin_port)
    admin.login(ADMIN_PASSWORD)
    for name, domain, waf in apps:
        postern_app(admin, name, domain, backend_port, waf)
    for name, domain, waf in apps:  # routed within 1 s (SPEC): wait until it is
        deadline = time.time() + 10
        while True:
            st, hdrs = send_raw(http_port, build_request(
                {"method": "GET", "path": "/", "headers": {"Host": domain}}))[:2]
            if st == 200 and BACKEND_MARK.lower() in hdrs:
                break
            if time.time() > deadline:
                raise SetupError("postern does not route %s to the backend (last status %s)"
                                 % (domain, st))
            time.sleep(0.1)
    return http_port, admin, p


# ---- raw requests

def build_request(line):
    method = line.get("method", "GET")
    target = line.get("path", "/")
    headers = dict(line.get("headers") or {})
    lower = {k.lower() for k in headers}
    body = line.get("body")
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    out = [b"%s %s HTTP/1.1" % (method.encode("utf-8"), target.encode("utf-8"))]
    if "host" not in lower:
        out.append(b"Host: " + HOST.encode())
    if "user-agent" not in lower:
        out.append(b"User-Agent: " + UA.encode())
    if "accept" not in lower:
        out.append(b"Accept: */*")
    if body is not None and line.get("content_type") and "content-type" not in lower:
        out.append(b"Content-Type: " + line["content_type"].encode("utf-8"))
    if body is not None and "content-length" not in lower and "transfer-encoding" not in lower:
        out.append(b"Content-Length: %d" % len(body))
    for k, v in headers.items():
        if k.lower() == "connection":
            continue
        out.append(("%s: %s" % (k, v)).encode("utf-8"))
    out.append(b"Connection: close")
    return b"\r\n".join(out) + b"\r\n\r\n" + (body or b"")


def send_raw(port, data, timeout=10.0):
    """(status or None, {lower header name: value}, raw bytes)."""
    out = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(data)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
    except socket.timeout:
        pass
    except OSError as e:
        if not out:
            return None, {}, ("%s" % e).encode()
    head = out.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = None
    m = re.match(r"HTTP/\d\.\d (\d{3})", head[0]) if head else None
    if m:
        status = int(m.group(1))
    hdrs = {}
    for h in head[1:]:
        if ":" in h:
            k, v = h.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, out


def verdict(status, hdrs):
    from_backend = BACKEND_MARK.lower() in hdrs
    if status == 403 and not from_backend:
        return "block"
    if status is not None and 200 <= status < 300 and from_backend:
        return "pass"
    return "other:%s%s" % (status, "(backend)" if from_backend else "")


def load_corpus(path):
    lines = []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            raw = raw.strip()
            if not raw or raw.startswith("#"):
                continue
            try:
                obj = json.loads(raw)
            except ValueError as e:
                raise SetupError("%s:%d: not JSON: %s" % (path, n, e))
            obj.setdefault("id", "line%d" % n)
            obj.setdefault("class", "unclassified")
            if obj.get("expect") not in ("block", "pass"):
                raise SetupError("%s:%d: expect must be block or pass" % (path, n))
            lines.append(obj)
    return lines


def replay(corpus, ports, workers=8):
    """ports: {side: port}. Returns {id: {side: (verdict, status)}}."""
    def one(item):
        line, side, port = item
        data = build_request(line)
        st, hdrs, _ = send_raw(port, data)
        return line["id"], side, (verdict(st, hdrs), st)
    jobs = [(line, side, port) for line in corpus for side, port in ports.items()]
    res = {}
    with ThreadPoolExecutor(workers) as ex:
        for lid, side, v in ex.map(one, jobs):
            res.setdefault(lid, {})[side] = v
    return res


# ---- report

def report(corpus, res, sides, names):
    classes = {}
    for line in corpus:
        c = classes.setdefault(line["class"], {"attacks": 0, "benign": 0,
                                               **{s + "_det": 0 for s in sides},
                                               **{s + "_fp": 0 for s in sides}})
        v = res[line["id"]]
        if line["expect"] == "block":
            c["attacks"] += 1
            for s in sides:
                c[s + "_det"] += v[s][0] == "block"
        else:
            c["benign"] += 1
            for s in sides:
                c[s + "_fp"] += v[s][0] == "block"
    out = []
    hdr = ["class", "attacks"] + ["%s detected" % names[s] for s in sides] + ["benign"] + \
        ["%s FP" % names[s] for s in sides]
    out.append("| " + " | ".join(hdr) + " |")
    out.append("|" + "---|" * len(hdr))
    tot = {"attacks": 0, "benign": 0}

    def pct(a, b):
        return "%d/%d (%.0f %%)" % (a, b, 100.0 * a / b) if b else "-"
    for cname in sorted(classes):
        c = classes[cname]
        for k, v in c.items():
            tot[k] = tot.get(k, 0) + v
        row = [cname, str(c["attacks"])] + [pct(c[s + "_det"], c["attacks"]) for s in sides] + \
            [str(c["benign"])] + [pct(c[s + "_fp"], c["benign"]) for s in sides]
        out.append("| " + " | ".join(row) + " |")
    row = ["**total**", str(tot["attacks"])] + \
        [pct(tot.get(s + "_det", 0), tot["attacks"]) for s in sides] + [str(tot["benign"])] + \
        [pct(tot.get(s + "_fp", 0), tot["benign"]) for s in sides]
    out.append("| " + " | ".join(row) + " |")
    dis, n_differ = [], 0
    for line in corpus:
        v = res[line["id"]]
        verdicts = [v[s][0] for s in sides]
        wrong = any((x == "block") != (line["expect"] == "block") for x in verdicts)
        odd = any(x.startswith("other") for x in verdicts)
        n_differ += len(set(verdicts)) > 1
        if len(set(verdicts)) > 1 or odd or wrong:
            dis.append((line, v))
    out.append("")
    out.append("### Disagreements and misses: %d lines, the sides differ on %d "
               "(✗ = verdict against the line's expectation)" % (len(dis), n_differ))
    if dis:
        out.append("")
        out.append("| id | class | expect | " + " | ".join(names[s] for s in sides) +
                   " | request |")
        out.append("|" + "---|" * (4 + len(sides)))
        for line, v in dis:
            out.append("| %s | %s | %s | %s | `%s` |" % (
                line["id"], line["class"], line["expect"],
                " | ".join(cell(v[s][0], line) for s in sides), show(line)))
    return "\n".join(out), classes


def cell(verdict_s, line):
    ok = (verdict_s == "block") == (line["expect"] == "block")
    return verdict_s + ("" if ok else " ✗")


def clip(text, n):
    return text if len(text) <= n else text[:n - 3] + "..."


def show(line):
    """The request in one table cell: target, the headers that matter (not
    Host, not a browser User-Agent), the body."""
    req = "%s %s" % (line.get("method", "GET"), clip(line.get("path", "/"), 140))
    hd = {k: v for k, v in (line.get("headers") or {}).items() if k.lower() != "host" and
          not (k.lower() == "user-agent" and str(v).startswith("Mozilla/"))}
    if hd:
        req += " [%s]" % "; ".join(clip("%s: %s" % kv, 80) for kv in hd.items())
    if line.get("body"):
        body = line["body"] if isinstance(line["body"], str) else json.dumps(line["body"])
        req += " + body %s" % clip(repr(body), 100)
    return req.replace("|", "\\|").replace("\n", "\\n").replace("`", "'")


def cmd_compare(args):
    tmp = tempfile.mkdtemp(prefix="waf-compare.")
    procs = Procs()
    code = 0
    try:
        corpus = load_corpus(args.corpus)
        if not corpus:
            raise SetupError("empty corpus %s" % args.corpus)
        srv, bport = start_python_backend()
        ports, names = {}, {}
        if not args.no_postern:
            port, _, _ = start_postern(procs, os.path.join(tmp, "postern"),
                                       [("wafcompare", HOST, "block")], bport, workers=2)
            ports["postern"], names["postern"] = port, "postern"
        if not args.no_crs:
            port = free_port()
            start_nginx(procs, os.path.join(tmp, "nginx-crs"), port, bport, True,
                        audit=args.verbose)
            ports["crs"], names["crs"] = port, "CRS"
        if not ports:
            raise SetupError("nothing to compare (--no-postern and --no-crs)")
        sides = list(ports)
        t0 = time.time()
        res = replay(corpus, ports)
        text, classes = report(corpus, res, sides, names)
        print("## WAF comparison: %s (%d requests, %.1f s)\n" %
              (" vs ".join(names[s] for s in sides), len(corpus), time.time() - t0))
        print("postern: %s waf=block, preset rules; CRS: %s, paranoia 1, anomaly "
              "threshold 5, via nginx %s + ModSecurity v3\n" % (
                  POSTERN if "postern" in sides else "-", crs_version(), nginx_version()))
        print(text)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"corpus": args.corpus, "sides": sides, "classes": classes,
                           "results": [{"id": l["id"], "class": l["class"],
                                        "expect": l["expect"],
                                        **{s: {"verdict": res[l["id"]][s][0],
                                               "status": res[l["id"]][s][1]} for s in sides}}
                                       for l in corpus]}, f, indent=1)
        srv.shutdown()
    except SetupError as e:
        sys.stderr.write("waf_compare: %s\n" % e)
        code = 2
    finally:
        procs.stop_all()
        if args.keep or args.verbose:
            sys.stderr.write("waf_compare: kept %s\n" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return code


def crs_version():
    try:
        with open(os.path.join(CRS_RULES, "REQUEST-901-INITIALIZATION.conf")) as f:
            m = re.search(r"ver\.(\d+\.\d+\.\d+)", f.read(4000))
            return "CRS " + m.group(1) if m else "CRS"
    except OSError:
        return "CRS"


def nginx_version():
    r = subprocess.run([NGINX, "-v"], capture_output=True, text=True)
    return r.stderr.strip().split("/")[-1]


# ---- serve (for waf-bench.sh)

def cmd_serve(args):
    tmp = args.dir or tempfile.mkdtemp(prefix="waf-bench.")
    procs = Procs()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stacks = [s for s in args.stacks.split(",") if s]
    code = 0
    try:
        if args.upstream == "nginx":
            bport = free_port()
            p = start_upstream_nginx(procs, os.path.join(tmp, "upstream"), bport,
                                     cpu=args.backend_cpu)
            print("UPSTREAM_SID=%d" % p.pid)
        else:
            _, bport = start_python_backend()
        print("UPSTREAM_PORT=%d" % bport)
        for s in stacks:
            if s == "postern":
                port, _, p = start_postern(procs, os.path.join(tmp, "postern"),
                                           [("benchoff", "off.test", "off"),
                                            ("benchblock", "block.test", "block")],
                                           bport, cpu=args.proxy_cpu, workers=args.workers)
                print("POSTERN_PORT=%d\nPOSTERN_SID=%d" % (port, p.pid))
            elif s in ("nginx", "nginx-crs"):
                port = free_port()
                p = start_nginx(procs, os.path.join(tmp, s), port, bport, s == "nginx-crs",
                                cpu=args.proxy_cpu)
                key = "NGINX" if s == "nginx" else "NGINX_CRS"
                print("%s_PORT=%d\n%s_SID=%d" % (key, port, key, p.pid))
            else:
                raise SetupError("unknown stack %r" % s)
        print("ready", flush=True)
        while not stop.is_set():
            for name, p in procs.procs:
                if p.poll() is not None:
                    sys.stderr.write("waf_compare serve: %s exited (%s)\n" % (name, p.returncode))
                    stop.set()
                    code = 1
            stop.wait(0.5)
    except SetupError as e:
        sys.stderr.write("waf_compare serve: %s\n" % e)
        print("failed", flush=True)
        code = 2
    finally:
        procs.stop_all()
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    return code


def main(argv):
    if argv[:1] == ["serve"]:
        ap = argparse.ArgumentParser(prog="waf_compare.py serve")
        ap.add_argument("--stacks", default="postern,nginx,nginx-crs")
        ap.add_argument("--proxy-cpu", type=int, default=0)
        ap.add_argument("--backend-cpu", type=int, default=1)
        ap.add_argument("--upstream", choices=("nginx", "python"), default="nginx")
        ap.add_argument("--workers", type=int, default=1, help="postern workers")
        ap.add_argument("--dir", help="work dir (kept; default: a temp dir, removed)")
        return cmd_serve(ap.parse_args(argv[1:]))
    ap = argparse.ArgumentParser(prog="waf_compare.py",
                                 description="postern WAF vs ModSecurity + CRS on a corpus")
    ap.add_argument("--corpus", default=os.path.join(TOP, "tests", "waf", "corpus.jsonl"))
    ap.add_argument("--json", help="also write every verdict to this JSON file")
    ap.add_argument("--no-postern", action="store_true", help="CRS side only")
    ap.add_argument("--no-crs", action="store_true", help="postern side only")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--verbose", action="store_true",
                    help="ModSecurity audit log (RelevantOnly) kept in the temp dir")
    return cmd_compare(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
