#!/usr/bin/env python3
"""A deliberately SQL-injectable HTTP backend, for testing the application
firewall with real attack tools (sqlmap). NEVER expose it: it runs attacker
input as SQL on purpose. Loopback only.

Usage: injectable_backend.py PORT [--host 127.0.0.1] [--quiet]
  Prints "ready" on stdout once it listens, then serves until killed.

Endpoints (every request gets a fresh in-memory SQLite database, so nothing
an attack does survives the request, and threads share nothing):
  GET  /item?id=1             numeric context:
       SELECT name, price FROM items WHERE id = <id>
  GET  /user?name=alice       string context:
       SELECT id, name, email FROM users WHERE name = '<name>'
  POST /login                 urlencoded user=...&pass=..., string context:
       SELECT id, name, email FROM users WHERE name = '<user>' AND pass = '<pass>'
  POST /api/search            JSON body {"q": "..."}, LIKE context:
       SELECT name, price FROM items WHERE name LIKE '%<q>%'
  GET  /  /healthz            index / "ok"
Rows come back as an HTML table (JSON for /api/search); an SQL error is a
500 whose body holds "sqlite3.OperationalError: <sqlite message>" (the
form sqlmap's error fingerprints recognise). Time-based injection works
two ways: sqlmap's SQLite "heavy query" payloads (RANDOMBLOB) run for real,
and a SLEEP(n) SQL function (n capped at 10 s) is registered."""

import html
import json
import sqlite3
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEMS = [(1, "apple", 1.25), (2, "banana", 0.5), (3, "cherry", 4.0), (4, "dragonfruit", 6.75),
         (5, "elderberry", 3.1)]
USERS = [(1, "alice", "wonderland", "alice@example.test"),
         (2, "bob", "builder", "bob@example.test"),
         (3, "carol", "s3cret", "carol@example.test")]


def sql_sleep(n):
    try:
        n = float(n)
    except (TypeError, ValueError):
        return 0
    time.sleep(max(0.0, min(n, 10.0)))
    return 0


def database():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, pass TEXT, email TEXT)")
    db.executemany("INSERT INTO items VALUES (?, ?, ?)", ITEMS)
    db.executemany("INSERT INTO users VALUES (?, ?, ?, ?)", USERS)
    db.create_function("SLEEP", 1, sql_sleep)
    return db


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "injectable/1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    quiet = False

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write("backend: " + (fmt % args) + "\n")

    def _body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, ctype="text/html; charset=utf-8"):
        if isinstance(body, str):
            body = body.encode("utf-8", "replace")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _page(self, title, inner):
        return ("<!doctype html><html><head><title>%s</title></head><body><h1>%s</h1>%s"
                "</body></html>\n" % (html.escape(title), html.escape(title), inner))

    def _run(self, sql):
        """Execute attacker-influenced SQL: (rows, None) or (None, error text)."""
        db = database()
        try:
            return db.execute(sql).fetchall(), None
        except sqlite3.Error as e:
            return None, "%s.%s: %s" % (type(e).__module__, type(e).__name__, e)
        except (OverflowError, ValueError, MemoryError) as e:
            return None, "sqlite3.OperationalError: %s" % e
        finally:
            db.close()

    def _table(self, title, sql, cols):
        rows, err = self._run(sql)
        if err is not None:
            return self._send(500, self._page("Database error", "<pre>%s</pre>" %
                                              html.escape(err)))
        trs = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(str(v)) for v in r)
                      for r in rows)
        head = "".join("<th>%s</th>" % c for c in cols)
        return self._send(200, self._page(title, "<table><tr>%s</tr>%s</table><p>%d rows</p>" %
                                          (head, trs, len(rows))))

    def _query(self):
        q = urllib.parse.urlsplit(self.path).query
        return {k: v[0] for k, v in urllib.parse.parse_qs(q, keep_blank_values=True).items()}

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        q = self._query()
        if path == "/healthz":
            return self._send(200, "ok\n", "text/plain")
        if path == "/":
            return self._send(200, self._page("Shop", '<a href="/item?id=1">item</a> '
                                              '<a href="/user?name=alice">user</a>'))
        if path == "/item":
            return self._table("Item", "SELECT name, price FROM items WHERE id = " +
                               q.get("id", "1"), ("name", "price"))
        if path == "/user":
            return self._table("User", "SELECT id, name, email FROM users WHERE name = '" +
                               q.get("name", "") + "'", ("id", "name", "email"))
        return self._send(404, self._page("Not found", ""))

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self._body()
        if path == "/login":
            form = {k: v[0] for k, v in urllib.parse.parse_qs(
                body.decode("utf-8", "replace"), keep_blank_values=True).items()}
            sql = ("SELECT id, name, email FROM users WHERE name = '" + form.get("user", "") +
                   "' AND pass = '" + form.get("pass", "") + "'")
            rows, err = self._run(sql)
            if err is not None:
                return self._send(500, self._page("Database error", "<pre>%s</pre>" %
                                                  html.escape(err)))
            if rows:
                inner = "".join("<p>Welcome, %s (%s)</p>" % (html.escape(str(r[1])),
                                                              html.escape(str(r[2])))
                                for r in rows)
                return self._send(200, self._page("Signed in", inner))
            return self._send(200, self._page("Sign-in failed", "<p>Wrong user or password</p>"))
        if path == "/api/search":
            try:
                doc = json.loads(body.decode("utf-8", "replace") or "{}")
                q = doc.get("q", "") if isinstance(doc, dict) else ""
            except ValueError as e:
                return self._send(400, json.dumps({"error": "bad json: %s" % e}),
                                  "application/json")
            rows, err = self._run("SELECT name, price FROM items WHERE name LIKE '%" +
                                  str(q) + "%'")
            if err is not None:
                return self._send(500, json.dumps({"error": err}), "application/json")
            return self._send(200, json.dumps({"results": [{"name": r[0], "price": r[1]}
                                                           for r in rows]}),
                              "application/json")
        return self._send(404, self._page("Not found", ""))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    port = int(argv[1])
    host = "127.0.0.1"
    if "--host" in argv:
        host = argv[argv.index("--host") + 1]
    Handler.quiet = "--quiet" in argv
    srv = Server((host, port), Handler)
    print("ready", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
