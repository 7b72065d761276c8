"""The console compiled into the binary: every file of admin/ui is served
byte for byte with its content type and the security headers, from a
daemon that has no console files beside it; the pages keep to the CSP (no
inline script or style, no eval); and tools/embed_assets refuses bad
input. Runs in `make check` (the browser tests in tests/browser/run.sh
drive the same console in Chromium)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

UI = os.path.join(harness.SRCDIR, "admin", "ui")
EMBED = os.path.join(os.path.dirname(harness.POSTERN), "tools", "embed_assets")
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
         ".svg": "image/svg+xml"}

t = harness.Tap()


def get(port, path, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def ui_files():
    return sorted(f for f in os.listdir(UI) if not f.startswith("."))


def test_served(port):
    for name in ui_files():
        with open(os.path.join(UI, name), "rb") as f:
            want = f.read()
        status, headers, body = get(port, "/" + name)
        t.ok(status == 200 and body == want, "/%s is served byte for byte" % name,
             "status %d, %d bytes, want %d" % (status, len(body), len(want)))
        ctype = headers.get("Content-Type", "")
        t.ok(ctype.startswith(TYPES[os.path.splitext(name)[1]]),
             "/%s has the content type %s" % (name, TYPES[os.path.splitext(name)[1]]), ctype)
    status, headers, body = get(port, "/")
    with open(os.path.join(UI, "index.html"), "rb") as f:
        t.ok(status == 200 and body == f.read(), "/ serves index.html")
    csp = headers.get("Content-Security-Policy", "")
    t.ok("script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe" not in csp,
         "the console's CSP allows only its own scripts and styles", csp)
    t.eq(headers.get("X-Content-Type-Options"), "nosniff", "console files are sent with nosniff")
    t.eq(headers.get("X-Frame-Options"), "DENY", "the console cannot be framed")
    status, _, _ = get(port, "/no-such-file.js")
    t.eq(status, 404, "an unknown console file is 404")
    status, headers, body = get(port, "/app.js", method="HEAD")
    t.ok(status == 200 and body == b"", "HEAD of a console file answers without a body")


def test_csp_clean():
    with open(os.path.join(UI, "index.html")) as f:
        html = f.read()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    t.ok(scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts),
         "index.html has no inline script")
    t.ok("<style" not in html and not re.search(r"\sstyle=", html),
         "index.html has no inline style")
    t.ok(not re.search(r"\son[a-z]+=", html), "index.html has no inline event handlers")
    refs = re.findall(r'(?:src|href)="/([^"#]+)"', html)
    t.ok(refs and all(os.path.exists(os.path.join(UI, r)) for r in refs),
         "every file index.html loads is in admin/ui", refs)
    bad = []
    for name in ui_files():
        if not name.endswith(".js"):
            continue
        with open(os.path.join(UI, name)) as f:
            js = f.read()
        for pattern in (r"\beval\(", r"new Function\(", r"\.innerHTML\b", r"\.outerHTML\b",
                        r"insertAdjacentHTML", r"document\.write", r"\.style\.[a-z]+\s*=",
                        r"setAttribute\(\s*'style'", r"fetch\(\s*['`\"]https?:",
                        r"from\s+['\"]https?:", r"import\(\s*['\"]https?:"):
            if re.search(pattern, js):
                bad.append("%s: %s" % (name, pattern))
        for imp in re.findall(r"from '\./([^']+)'", js):
            if not os.path.exists(os.path.join(UI, imp)):
                bad.append("%s imports missing %s" % (name, imp))
    with open(os.path.join(UI, "style.css")) as f:
        css = f.read()
    if "@import" in css or re.search(r"url\(\s*['\"]?(https?:)?//", css):
        bad.append("style.css loads something remote")
    t.ok(not bad, "the console uses no eval, no HTML strings, no inline styles, nothing remote, "
         "and imports only its own files", "\n".join(bad))


def embed(*args):
    return subprocess.run([EMBED] + list(args), capture_output=True, text=True)


def test_embed_tool():
    d = tempfile.mkdtemp(prefix="postern-embed-")
    out = os.path.join(d, "out.c")
    good = os.path.join(d, "a.js")
    with open(good, "wb") as f:
        f.write(b"x\x00\xff")
    empty = os.path.join(d, "empty.css")
    open(empty, "w").close()
    r = embed(out, good, empty)
    src = open(out).read() if os.path.exists(out) else ""
    t.ok(r.returncode == 0 and '{"/a.js", "text/javascript; charset=utf-8", asset_0, 3}' in src,
         "embed_assets writes a table entry with path, type and length", r.stderr + src[-300:])
    t.ok("0x78,0x00,0xff," in src, "embed_assets copies every byte, NUL and 0xff included")
    t.ok('{"/empty.css", "text/css; charset=utf-8", asset_1, 0}' in src,
         "an empty file is embedded with length 0")
    t.ok("admin_asset_count = 2;" in src, "the table count matches the files")
    cases = [
        ("an unknown extension", [os.path.join(d, "x.exe")], "unknown extension"),
        ("a bad name", [os.path.join(d, "bad name.js")], "letters, digits"),
        ("a hidden file", [os.path.join(d, ".hidden.js")], "letters, digits"),
        ("a duplicate name", [good, os.path.join(d, "sub", "a.js")], "two files named"),
        ("a missing file", [os.path.join(d, "missing.js")], "missing.js"),
    ]
    os.makedirs(os.path.join(d, "sub"))
    for p in (os.path.join(d, "x.exe"), os.path.join(d, "bad name.js"),
              os.path.join(d, ".hidden.js"), os.path.join(d, "sub", "a.js")):
        open(p, "w").close()
    for desc, files, msg in cases:
        out2 = os.path.join(d, "fail.c")
        r = embed(out2, *files)
        t.ok(r.returncode != 0 and msg in r.stderr and not os.path.exists(out2)
             and not os.path.exists(out2 + ".tmp"),
             "embed_assets refuses %s and leaves no output" % desc, r.stderr)
    r = embed(out)
    t.ok(r.returncode == 2 and "usage" in r.stderr, "embed_assets without files prints its usage")
    shutil.rmtree(d, ignore_errors=True)


def main():
    inst = harness.Instance()
    daemon = None
    try:
        # The daemon runs from an empty directory: the console must come
        # from the binary, not from files.
        os.chdir(inst.dir)
        daemon = harness.Daemon(inst)
        t.ok(harness.wait_port(inst.admin_port), "the admin listener is up")
        t.run(lambda: test_served(inst.admin_port))
    except Exception as e:  # noqa: BLE001 - report, then the other checks
        t.ok(False, "postern started", e)
    finally:
        if daemon:
            t.eq(daemon.stop(), 0, "postern exits cleanly")
        inst.cleanup()
    t.run(test_csp_clean)
    t.run(test_embed_tool)
    t.done()


main()
