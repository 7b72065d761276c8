"""Real HTTP backends for the gateway's integration tests: threaded
servers on 127.0.0.1 that report what they received, stream large bodies,
answer slowly, speak chunked, and echo WebSocket frames."""

import base64
import hashlib
import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        srv = self.server
        srv.hits += 1
        srv.connections.add(self.client_address)
        body = self._body()
        path = self.path.split("?")[0]
        query = dict(p.split("=", 1) for p in self.path.split("?", 1)[1].split("&")) \
            if "?" in self.path else {}
        if path == "/healthz":
            return self._send(200 if srv.healthy else 500, b"ok\n", "text/plain")
        if path == "/slow":
            time.sleep(float(query.get("s", "2")))
        if path == "/big":
            n = int(query.get("n", "1000000"))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = b"x" * 65536
            while n > 0:
                self.wfile.write(block[:min(n, len(block))])
                n -= len(block)
            return None
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until close\n")
            self.close_connection = True
            return None
        if path == "/hop":
            return self._send(200, b"{}", extra={"Connection": "X-Secret", "X-Secret": "1",
                                                 "Keep-Alive": "timeout=5", "X-Kept": "yes"})
        if path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            return self._websocket()
        info = {"server": srv.name, "method": self.command, "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                "client": self.client_address[0]}
        status = int(query.get("status", "200"))
        return self._send(status, json.dumps(info).encode())

    def _websocket(self):
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:  # echo frames back unmasked
            hdr = self.rfile.read(2)
            if len(hdr) < 2:
                return None
            op, ln = hdr[0] & 0x0F, hdr[1] & 0x7F
            if ln == 126:
                ln = int.from_bytes(self.rfile.read(2), "big")
            mask = self.rfile.read(4) if hdr[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(ln)))
            if op == 8:
                return None
            self.wfile.write(bytes([0x80 | op, len(data)]) + data)
            self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _route


class Backend(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name, port=0):
        super().__init__(("127.0.0.1", port), Handler)
        self.name = name
        self.hits = 0
        self.healthy = True
        self.connections = set()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.shutdown()
        self.server_close()


class Silent(socketserver.TCPServer):
    """Accepts connections and never answers (for 504 tests)."""
    allow_reuse_address = True

    def __init__(self):
        self.held = []
        super().__init__(("127.0.0.1", 0), socketserver.BaseRequestHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def process_request(self, request, client_address):
        self.held.append(request)  # keep it open, say nothing

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def stop(self):
        self.shutdown()
        for s in self.held:
            s.close()
        self.server_close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
