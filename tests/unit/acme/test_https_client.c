/* The non-blocking HTTPS client against real local servers: a Python
 * HTTPS and HTTP server (certificates made by the openssl command) and a
 * tiny UDP DNS server that answers 127.0.0.1 for every name but one.
 * Checks Content-Length, chunked and read-until-close bodies, HEAD, 100
 * Continue, request framing (Host with port, exact Content-Type,
 * Content-Length), the body limit, timeouts, cancellation, DNS through the
 * configured resolver and the system's, and every verification failure. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "acme/https_client.h"
#include "tests/unit/tap.h"

static char dir[64];
static int https_port, http_port, dns_port, closed_port;
static pid_t server_pid;
static struct event_base *base;

static const char server_py[] =
    "import http.server, socket, socketserver, ssl, sys, threading, time, json\n"
    "d = sys.argv[1]\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def log_message(self, *a): pass\n"
    "    def raw(self, data):\n"
    "        self.wfile.write(data); self.wfile.flush(); self.close_connection = True\n"
    "    def send(self, code, body, extra=()):\n"
    "        self.send_response(code)\n"
    "        for k, v in extra: self.send_header(k, v)\n"
    "        self.send_header('Content-Length', str(len(body))); self.end_headers()\n"
    "        if self.command != 'HEAD': self.wfile.write(body)\n"
    "    def do_HEAD(self): self.do_GET()\n"
    "    def do_GET(self):\n"
    "        p = self.path\n"
    "        if p == '/len': self.send(200, b'hello', [('Replay-Nonce', 'n-1'),\n"
    "            ('Link', '<https://ca/a1>;rel=\"alternate\"'), ('Link', "
    "'<https://ca/up>;rel=\"up\"')])\n"
    "        elif p == '/chunked': self.raw(b'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: "
    "chunked\\r\\n'\n"
    "            b'Content-Type: application/pem-certificate-chain\\r\\n\\r\\n'\n"
    "            b'5\\r\\n-----\\r\\n3;ext=1\\r\\nBEG\\r\\n0\\r\\nX-Trailer: t\\r\\n\\r\\n')\n"
    "        elif p == '/bigchunked':\n"
    "            self.raw(b'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n')\n"
    "            try:\n"
    "                for i in range(40): self.wfile.write(b'8000\\r\\n' + b'x' * 32768 + "
    "b'\\r\\n')\n"
    "                self.wfile.write(b'0\\r\\n\\r\\n')\n"
    "            except OSError: pass\n"
    "        elif p == '/big': self.raw(b'HTTP/1.1 200 OK\\r\\nContent-Length: "
    "2097152\\r\\n\\r\\nabc')\n"
    "        elif p == '/close': self.raw(b'HTTP/1.0 200 OK\\r\\n\\r\\nuntil close')\n"
    "        elif p == '/continue': self.raw(b'HTTP/1.1 100 Continue\\r\\n\\r\\n'\n"
    "            b'HTTP/1.1 201 Created\\r\\nLocation: https://ca/o/1\\r\\nContent-Length: "
    "2\\r\\n\\r\\n{}')\n"
    "        elif p == '/garbage': self.raw(b'NOT HTTP AT ALL\\r\\n\\r\\n')\n"
    "        elif p == '/truncated': self.raw(b'HTTP/1.1 200 OK\\r\\nContent-Length: "
    "100\\r\\n\\r\\nshort')\n"
    "        elif p == '/badchunk': self.raw(b'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: "
    "chunked\\r\\n\\r\\nzz\\r\\n')\n"
    "        elif p == '/slow': time.sleep(3); self.send(200, b'late')\n"
    "        elif p.startswith('/q?'): self.send(200, p.encode())\n"
    "        else: self.send(404, b'{\"type\":\"notfound\"}')\n"
    "    def do_POST(self):\n"
    "        n = int(self.headers.get('Content-Length', '-1'))\n"
    "        body = self.rfile.read(n) if n > 0 else b''\n"
    "        out = {'method': self.command, 'path': self.path, 'body': body.decode(),\n"
    "               'host': self.headers.get('Host'), 'ct': self.headers.get('Content-Type'),\n"
    "               'cl': self.headers.get('Content-Length'), 'accept': "
    "self.headers.get('Accept'),\n"
    "               'conn': self.headers.get('Connection'), 'ua': self.headers.get('User-Agent')}\n"
    "        self.send(201, json.dumps(out).encode(), [('Content-Type', 'application/json')])\n"
    "class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
    "    daemon_threads = True\n"
    "tls = S(('127.0.0.1', 0), H)\n"
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "ctx.load_cert_chain(d + '/leaf.pem', d + '/leaf.key')\n"
    "tls.socket = ctx.wrap_socket(tls.socket, server_side=True)\n"
    "plain = S(('127.0.0.1', 0), H)\n"
    "dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); dns.bind(('127.0.0.1', 0))\n"
    "def dns_loop():\n"
    "    while True:\n"
    "        q, a = dns.recvfrom(512)\n"
    "        i = 12\n"
    "        while q[i]: i += q[i] + 1\n"
    "        name = q[12:i]; qtype = q[i + 1:i + 3]; qend = i + 5\n"
    "        nx = b'\\x08nxdomain\\x04test' in name.lower()\n"
    "        ans = qtype == b'\\x00\\x01' and not nx\n"
    "        flags = b'\\x81\\x83' if nx else b'\\x81\\x80'\n"
    "        r = q[:2] + flags + q[4:6] + (b'\\x00\\x01' if ans else b'\\x00\\x00') + "
    "b'\\x00\\x00\\x00\\x00' + q[12:qend]\n"
    "        if ans: r += "
    "b'\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04\\x7f\\x00\\x00\\x01'\n"
    "        dns.sendto(r, a)\n"
    "for f in (tls.serve_forever, plain.serve_forever, dns_loop):\n"
    "    threading.Thread(target=f, daemon=True).start()\n"
    "print(tls.server_address[1], plain.server_address[1], dns.getsockname()[1], flush=True)\n"
    "sys.stdin.read()\n";

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int make_pki(void)
{
	return sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	          "-days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem "
	          "-addext basicConstraints=critical,CA:TRUE "
	          "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null && "
	          "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=leaf "
	          "-keyout leaf.key -out leaf.csr 2>/dev/null && "
	          "printf 'subjectAltName=DNS:localhost,DNS:anything.test,IP:127.0.0.1\\n"
	          "extendedKeyUsage=serverAuth\\n' > leaf.ext && "
	          "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
	          "-extfile leaf.ext -out leaf.pem 2>/dev/null",
	          dir);
}

static int start_server(void)
{
	char path[128];
	int to_child[2], from_child[2];
	FILE *f, *out;

	snprintf(path, sizeof(path), "%s/server.py", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(server_py, f);
	fclose(f);
	if (pipe(to_child) != 0 || pipe(from_child) != 0)
		return -1;
	server_pid = fork();
	if (server_pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execlp("python3", "python3", path, dir, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	out = fdopen(from_child[0], "r");
	if (out == NULL || fscanf(out, "%d %d %d", &https_port, &http_port, &dns_port) != 3)
		return -1;
	return 0;
}

/* ---- running one request to completion */

struct result {
	int called;
	int status;
	char body[4096];
	size_t body_len;
	char code[64];
	char message[512];
	char nonce[64];
	char peer[64];
	char link_alt[128];
};

static void on_done(void *arg, const struct https_response *resp, const struct error *err)
{
	struct result *res = arg;
	char *v;

	res->called++;
	if (resp == NULL) {
		snprintf(res->code, sizeof(res->code), "%s", err->code);
		snprintf(res->message, sizeof(res->message), "%s", err->message);
		return;
	}
	res->status = resp->status;
	res->body_len = resp->body_len;
	snprintf(res->body, sizeof(res->body), "%s", resp->body);
	snprintf(res->peer, sizeof(res->peer), "%s", resp->peer);
	if ((v = https_response_header(resp, "replay-nonce")) != NULL)
		snprintf(res->nonce, sizeof(res->nonce), "%s", v);
	free(v);
	for (size_t i = 0; i < resp->head.n_headers; i++) {
		const struct http1_header *h = &resp->head.headers[i];
		if (h->name_len == 4 && strncasecmp(h->name, "link", 4) == 0 &&
		    memmem(h->value, h->value_len, "alternate", 9))
			snprintf(res->link_alt, sizeof(res->link_alt), "%.*s", (int)h->value_len,
			         h->value);
	}
}

static struct result fetch(struct https_client *c, const char *method, const char *url,
                           const char *ct, const char *body)
{
	struct result res;
	struct error err;

	memset(&res, 0, sizeof(res));
	if (https_client_request(c, method, url, NULL, ct, body, body ? strlen(body) : 0, on_done,
	                         &res, &err) == NULL) {
		snprintf(res.code, sizeof(res.code), "start:%s", err.code);
		return res;
	}
	while (!res.called)
		event_base_loop(base, EVLOOP_ONCE);
	return res;
}

static char *url(const char *scheme, const char *host, int port, const char *path)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s://%s:%d%s", scheme, host, port, path);
	return buf[i];
}

/* ---- tests */

static void test_url_parse(void)
{
	struct https_url u;

	ok(https_url_parse("https://ca.test/dir", &u) == 0 && u.tls && u.port == 443 &&
	       strcmp(u.host, "ca.test") == 0 && strcmp(u.authority, "ca.test") == 0 &&
	       strcmp(u.path, "/dir") == 0,
	   "https URL: default port 443");
	free(u.path);
	ok(https_url_parse("HTTP://127.0.0.1:14000", &u) == 0 && !u.tls && u.port == 14000 &&
	       strcmp(u.authority, "127.0.0.1:14000") == 0 && strcmp(u.path, "/") == 0,
	   "http URL with a port and no path: path /, authority keeps the port");
	free(u.path);
	ok(https_url_parse("https://[::1]:8443/a?b=c#frag", &u) == 0 &&
	       strcmp(u.host, "::1") == 0 && u.port == 8443 && strcmp(u.path, "/a?b=c") == 0 &&
	       strcmp(u.authority, "[::1]:8443") == 0,
	   "IPv6 literal: brackets removed from the host, fragment dropped");
	free(u.path);
	ok(https_url_parse("https://h?x=1", &u) == 0 && strcmp(u.path, "/?x=1") == 0,
	   "a query without a path gets a /");
	free(u.path);
	ok(https_url_parse("ftp://h/", &u) == -1, "ftp is refused");
	ok(https_url_parse("https://user@h/", &u) == -1, "userinfo is refused");
	ok(https_url_parse("https://h:0/", &u) == -1 &&
	       https_url_parse("https://h:65536/", &u) == -1 &&
	       https_url_parse("https://h:8x/", &u) == -1 &&
	       https_url_parse("https://h:/", &u) == -1,
	   "ports 0, 65536, non-digits and empty are refused");
	ok(https_url_parse("https:///path", &u) == -1 && https_url_parse("https://[::1/", &u) == -1,
	   "no host, or an unclosed bracket, is refused");
	ok(https_url_parse("https://h/a b", &u) == -1 &&
	       https_url_parse("https://h/\r\nX: y", &u) == -1,
	   "spaces and CR LF (header injection) are refused");
	ok(https_url_parse(NULL, &u) == -1, "NULL is refused");
}

static void test_bodies(struct https_client *c)
{
	struct result r =
	    fetch(c, "GET", url("https", "localhost", https_port, "/len"), NULL, NULL);

	ok(r.called == 1 && r.status == 200 && r.body_len == 5 && strcmp(r.body, "hello") == 0,
	   "HTTPS GET with Content-Length (system store + ca_bundle, SNI localhost)");
	ok(strcmp(r.nonce, "n-1") == 0, "a header is read case-insensitively");
	ok(strstr(r.link_alt, "https://ca/a1") != NULL, "repeated Link headers are all kept");
	ok(strcmp(r.peer, "127.0.0.1") > 0 && strncmp(r.peer, "127.0.0.1:", 10) == 0,
	   "the peer address is reported (%s)", r.peer);
	r = fetch(c, "GET", url("https", "127.0.0.1", https_port, "/chunked"), NULL, NULL);
	ok(r.status == 200 && strcmp(r.body, "-----BEG") == 0,
	   "chunked body with an extension and a trailer, by IP address (IP SAN checked)");
	r = fetch(c, "GET", url("https", "localhost", https_port, "/close"), NULL, NULL);
	ok(r.status == 200 && strcmp(r.body, "until close") == 0,
	   "HTTP/1.0 body read until close %s", r.message);
	r = fetch(c, "GET", url("https", "localhost", https_port, "/continue"), NULL, NULL);
	ok(r.status == 201 && strcmp(r.body, "{}") == 0, "a 100 Continue is skipped");
	r = fetch(c, "HEAD", url("https", "localhost", https_port, "/len"), NULL, NULL);
	ok(r.status == 200 && r.body_len == 0 && strcmp(r.nonce, "n-1") == 0,
	   "HEAD: no body despite Content-Length 5");
	r = fetch(c, "GET", url("https", "localhost", https_port, "/missing"), NULL, NULL);
	ok(r.status == 404 && strstr(r.body, "notfound"), "a 404 is a response, not an error");
	r = fetch(c, "GET", url("http", "127.0.0.1", http_port, "/q?a=1&b=%20"), NULL, NULL);
	ok(r.status == 200 && strcmp(r.body, "/q?a=1&b=%20") == 0,
	   "plain http and the query string are sent as written");
}

static void test_post(struct https_client *c)
{
	struct result r = fetch(c, "POST", url("https", "localhost", https_port, "/new-order"),
	                        "application/jose+json", "{\"protected\":\"x\"}");
	json_t *j = json_loads(r.body, 0, NULL);
	char host[64];

	snprintf(host, sizeof(host), "localhost:%d", https_port);
	ok(r.status == 201 && j != NULL, "POST with a JSON body");
	ok(j && strcmp(json_string_value(json_object_get(j, "ct")), "application/jose+json") == 0,
	   "Content-Type is exactly application/jose+json");
	ok(j && strcmp(json_string_value(json_object_get(j, "cl")), "17") == 0 &&
	       strcmp(json_string_value(json_object_get(j, "body")), "{\"protected\":\"x\"}") == 0,
	   "Content-Length and the body arrive intact");
	ok(j && strcmp(json_string_value(json_object_get(j, "host")), host) == 0,
	   "Host carries the port as in the URL (%s)", host);
	ok(j && strcmp(json_string_value(json_object_get(j, "accept")), "*/*") == 0 &&
	       strcmp(json_string_value(json_object_get(j, "conn")), "close") == 0 &&
	       strncmp(json_string_value(json_object_get(j, "ua")), "postern/", 8) == 0,
	   "Accept */*, Connection close, User-Agent postern/");
	json_decref(j);
	r = fetch(c, "POST", url("https", "localhost", https_port, "/empty"), NULL, NULL);
	j = json_loads(r.body, 0, NULL);
	ok(j && strcmp(json_string_value(json_object_get(j, "cl")), "0") == 0,
	   "a POST without a body still sends Content-Length: 0");
	json_decref(j);
}

static void test_failures(struct https_client *c)
{
	struct result r;

	r = fetch(c, "GET", url("https", "localhost", https_port, "/big"), NULL, NULL);
	ok(strcmp(r.code, "acme_response") == 0 && strstr(r.message, "larger than"),
	   "Content-Length over 1 MiB is refused: %s", r.message);
	r = fetch(c, "GET", url("https", "localhost", https_port, "/bigchunked"), NULL, NULL);
	ok(strcmp(r.code, "acme_response") == 0 && strstr(r.message, "larger than"),
	   "a chunked body over 1 MiB is refused");
	r = fetch(c, "GET", url("https", "localhost", https_port, "/garbage"), NULL, NULL);
	ok(strcmp(r.code, "acme_response") == 0 && strstr(r.message, "malformed"),
	   "a non-HTTP answer is malformed");
	r = fetch(c, "GET", url("https", "localhost", https_port, "/truncated"), NULL, NULL);
	ok(strcmp(r.code, "acme_response") == 0 && strstr(r.message, "middle of the body"),
	   "a body cut short is an error, not a short body: %s", r.message);
	r = fetch(c, "GET", url("https", "localhost", https_port, "/badchunk"), NULL, NULL);
	ok(strcmp(r.code, "acme_response") == 0 && strstr(r.message, "chunked"),
	   "bad chunk framing is refused");
	r = fetch(c, "GET", url("http", "127.0.0.1", closed_port, "/"), NULL, NULL);
	ok(strcmp(r.code, "acme_connection") == 0 && strstr(r.message, "refused"),
	   "connection refused: %s", r.message);
	r = fetch(c, "GET", url("https", "127.0.0.1", closed_port, "/"), NULL, NULL);
	ok(strcmp(r.code, "acme_connection") == 0 && strstr(r.message, "refused"),
	   "https connection refused: %s", r.message);
	r = fetch(c, "GET", url("https", "nxdomain.test", https_port, "/len"), NULL, NULL);
	ok(strcmp(r.code, "acme_dns") == 0 && strstr(r.message, "nxdomain.test"),
	   "an unknown name: acme_dns naming it (%s)", r.message);
	r = fetch(c, "GET", url("https", "wrong.test", https_port, "/len"), NULL, NULL);
	ok(strcmp(r.code, "acme_tls") == 0 && strstr(r.message, "not trusted"),
	   "a certificate without the name is refused: %s", r.message);
	r = fetch(c, "GET", url("gopher", "x", 1, "/"), NULL, NULL);
	ok(r.called == 0 && strcmp(r.code, "start:acme_response") == 0,
	   "a bad URL fails at once, without a callback");
}

static void test_resolver(struct https_client *c)
{
	struct result r =
	    fetch(c, "GET", url("https", "anything.test", https_port, "/len"), NULL, NULL);

	ok(r.status == 200 && strcmp(r.body, "hello") == 0,
	   "a name resolved by the configured resolver (anything.test -> 127.0.0.1)");
}

static void test_trust(void)
{
	char bundle[128], resolver[64];
	struct error err;
	struct https_client *plain = https_client_new(base, NULL, NULL, &err), *bad;
	struct result r;

	ok(plain != NULL, "a client with the system store and system resolver");
	r = fetch(plain, "GET", url("https", "localhost", https_port, "/len"), NULL, NULL);
	ok(strcmp(r.code, "acme_tls") == 0 && strstr(r.message, "ca_bundle"),
	   "without ca_bundle the test CA is not trusted: %s", r.message);
	r = fetch(plain, "GET", url("http", "localhost", http_port, "/len"), NULL, NULL);
	ok(r.status == 200, "the system resolver reads the hosts file (localhost)");
	https_client_free(plain);
	snprintf(bundle, sizeof(bundle), "%s/missing.pem", dir);
	bad = https_client_new(base, bundle, NULL, &err);
	ok(bad == NULL && strcmp(err.code, "acme_config") == 0 && strstr(err.message, bundle),
	   "a missing ca_bundle is a config error naming it");
	bad = https_client_new(base, NULL, "not an address", &err);
	ok(bad == NULL && strcmp(err.code, "acme_config") == 0 && strstr(err.message, "resolver"),
	   "a bad resolver is a config error");
	snprintf(resolver, sizeof(resolver), "127.0.0.1:%d", dns_port);
	bad = https_client_new(base, NULL, resolver, &err);
	ok(bad != NULL, "a resolver host:port is accepted");
	https_client_free(bad);
}

static void on_never(void *arg, const struct https_response *resp, const struct error *err)
{
	(void)resp;
	(void)err;
	(*(int *)arg)++;
}

static void test_time_limits(struct https_client *c)
{
	struct timeval tick = {0, 300000};
	struct https_request *req;
	struct error err;
	struct result r;
	int calls = 0;

	https_client_set_timeout(c, 500);
	r = fetch(c, "GET", url("https", "localhost", https_port, "/slow"), NULL, NULL);
	ok(strcmp(r.code, "acme_timeout") == 0 && strstr(r.message, "500 ms"),
	   "a slow server times out: %s", r.message);
	https_client_set_timeout(c, HTTPS_CLIENT_TIMEOUT_MS);
	req = https_client_request(c, "GET", url("https", "localhost", https_port, "/slow"), NULL,
	                           NULL, NULL, 0, on_never, &calls, &err);
	event_base_loopexit(base, &tick);
	event_base_dispatch(base);
	https_request_cancel(req);
	event_base_loopexit(base, &tick);
	event_base_dispatch(base);
	ok(req != NULL && calls == 0, "a cancelled request never calls back");
	/* connected requests left running when the client is freed (a
	 * request still resolving would leave libevent's deferred DNS
	 * cleanup to a loop turn that never comes) */
	https_client_request(c, "GET", url("https", "127.0.0.1", https_port, "/slow"), NULL, NULL,
	                     NULL, 0, on_never, &calls, &err);
	https_client_request(c, "GET", url("http", "127.0.0.1", http_port, "/slow"), NULL, NULL,
	                     NULL, 0, on_never, &calls, &err);
}

static int closed_tcp_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(0x7f000001);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int main(void)
{
	char bundle[128], resolver[64];
	struct https_client *c;
	struct error err;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/test-https-XXXXXX");
	test_url_parse();
	if (mkdtemp(dir) == NULL || make_pki() != 0 || start_server() != 0) {
		ok(0, "set up the PKI and the test servers");
		return done_testing();
	}
	closed_port = closed_tcp_port();
	base = event_base_new();
	snprintf(bundle, sizeof(bundle), "%s/ca.pem", dir);
	snprintf(resolver, sizeof(resolver), "127.0.0.1:%d", dns_port);
	c = https_client_new(base, bundle, resolver, &err);
	ok(c != NULL, "client with ca_bundle and resolver");
	test_bodies(c);
	test_post(c);
	test_failures(c);
	test_resolver(c);
	test_trust();
	test_time_limits(c);
	event_base_loop(base, EVLOOP_NONBLOCK);
	https_client_free(c); /* two requests still running: freed without callbacks */
	event_base_free(base);
	kill(server_pid, SIGTERM);
	waitpid(server_pid, NULL, 0);
	sh("rm -rf %s", dir);
	return done_testing();
}
