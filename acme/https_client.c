#include "autoconf.h"
#include "acme/https_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define HEAD_PULL (HTTP1_MAX_REQUEST_LINE + HTTP1_MAX_HEAD + 2)

struct https_client {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ctx;
	unsigned timeout_ms;
	struct https_request *requests; /* running, for https_client_free */
};

struct https_request {
	struct https_client *c;
	struct https_request *prev, *next;
	struct https_url url;
	int head_only;        /* HEAD: no body whatever the headers say */
	int connected;        /* TCP (and TLS) established */
	struct evbuffer *out; /* the request bytes */
	struct evdns_getaddrinfo_request *dns_req;
	int resolving;
	struct bufferevent *bev;
	struct event *deadline;
	struct event *finish; /* runs the callback from a fresh loop turn */
	int done;
	int failed;
	struct error err;
	char *head; /* our copy of the response head */
	int have_head;
	struct http1_chunked chunked;
	struct evbuffer *body;
	struct https_response resp;
	https_client_cb cb;
	void *arg;
};

/* ---- URLs */

static int has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 1;
	return 0;
}

static int split_host_port(const char *auth, size_t n, struct https_url *out)
{
	const char *colon = NULL, *host = auth, *end = auth + n;
	size_t host_len;

	if (n > 0 && auth[0] == '[') {
		const char *rb = memchr(auth, ']', n);
		if (rb == NULL || (rb + 1 < end && rb[1] != ':'))
			return -1;
		host = auth + 1;
		host_len = (size_t)(rb - host);
		colon = rb + 1 < end ? rb + 1 : NULL;
	} else {
		colon = memchr(auth, ':', n);
		host_len = colon ? (size_t)(colon - auth) : n;
	}
	if (host_len == 0 || host_len >= sizeof(out->host))
		return -1;
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	if (colon != NULL) {
		unsigned long port = 0;
		const char *p = colon + 1;

		if (p == end || end - p > 5)
			return -1;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535)
			return -1;
		out->port = (unsigned)port;
	}
	return 0;
}

int https_url_parse(const char *url, struct https_url *out)
{
	const char *auth, *rest;
	size_t auth_len, path_len;

	memset(out, 0, sizeof(*out));
	if (url == NULL || has_ctl(url))
		return -1;
	if (strncasecmp(url, "https://", 8) == 0) {
		out->tls = 1;
		out->port = 443;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		out->port = 80;
		auth = url + 7;
	} else {
		return -1;
	}
	auth_len = strcspn(auth, "/?#");
	rest = auth + auth_len;
	if (memchr(auth, '@', auth_len) != NULL || auth_len >= sizeof(out->authority) ||
	    split_host_port(auth, auth_len, out) != 0)
		return -1;
	memcpy(out->authority, auth, auth_len);
	out->authority[auth_len] = '\0';
	path_len = strcspn(rest, "#");
	if ((out->path = malloc(path_len + 2)) == NULL)
		return -1;
	snprintf(out->path, path_len + 2, "%s%.*s", rest[0] == '/' ? "" : "/", (int)path_len, rest);
	return 0;
}

/* ---- the client */

struct https_client *https_client_new(struct event_base *base, const char *ca_bundle,
                                      const char *resolver, struct error *err)
{
	struct https_client *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (c->dns = evdns_base_new(base, 0)) == NULL) {
		error_set(err, "acme_config", "out of memory creating the ACME HTTPS client");
		goto fail;
	}
	c->base = base;
	c->timeout_ms = HTTPS_CLIENT_TIMEOUT_MS;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	/* a close without close_notify is an EOF: the HTTP framing (Content-Length,
	 * chunked) is what tells a complete body from a truncated one */
	SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_default_verify_paths(c->ctx);
	if (ca_bundle != NULL && ca_bundle[0] != '\0' &&
	    SSL_CTX_load_verify_locations(c->ctx, ca_bundle, NULL) != 1) {
		error_set(err, "acme_config",
		          "[acme] ca_bundle %s cannot be read as PEM certificates; fix the path "
		          "or the file",
		          ca_bundle);
		goto fail;
	}
	/* no 0x20 case randomisation: some DNS servers (test ones, some
	 * middleboxes) match names case-sensitively */
	evdns_base_set_option(c->dns, "randomize-case:", "0");
	if (resolver != NULL && resolver[0] != '\0') {
		struct sockaddr_storage ss;
		int len = (int)sizeof(ss);

		if (evutil_parse_sockaddr_port(resolver, (struct sockaddr *)&ss, &len) != 0 ||
		    evdns_base_nameserver_ip_add(c->dns, resolver) != 0) {
			error_set(err, "acme_config",
			          "[acme] resolver '%s' is not an address; write host:port, "
			          "e.g. 127.0.0.1:53",
			          resolver);
			goto fail;
		}
	} else {
		/* no resolv.conf: libevent falls back to 127.0.0.1 */
		evdns_base_resolv_conf_parse(c->dns, DNS_OPTIONS_ALL, "/etc/resolv.conf");
	}
	return c;
fail:
	https_client_free(c);
	return NULL;
}

void https_client_set_timeout(struct https_client *c, unsigned ms)
{
	c->timeout_ms = ms;
}

void https_client_free(struct https_client *c)
{
	if (c == NULL)
		return;
	while (c->requests != NULL)
		https_request_cancel(c->requests);
	if (c->dns != NULL)
		evdns_base_free(c->dns, 1); /* fail what is left so libevent frees it */
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	free(c);
}

/* ---- one request: teardown and completion */

static void release_connection(struct https_request *r)
{
	struct evdns_getaddrinfo_request *q = r->dns_req;

	r->dns_req = NULL;
	if (q != NULL)
		evdns_getaddrinfo_cancel(q); /* its callback sees EVUTIL_EAI_CANCEL and returns */
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	r->bev = NULL;
	if (r->deadline != NULL)
		event_del(r->deadline);
}

static void request_free(struct https_request *r)
{
	release_connection(r);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->c->requests = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->deadline != NULL)
		event_free(r->deadline);
	if (r->finish != NULL)
		event_free(r->finish);
	if (r->out != NULL)
		evbuffer_free(r->out);
	if (r->body != NULL)
		evbuffer_free(r->body);
	free(r->resp.body);
	free(r->head);
	free(r->url.path);
	free(r);
}

void https_request_cancel(struct https_request *r)
{
	if (r != NULL)
		request_free(r);
}

/* Stop the network side and run the callback on the next loop turn. */
static void finish(struct https_request *r, int failed)
{
	if (r->done)
		return;
	r->done = 1;
	r->failed = failed;
	release_connection(r);
	event_active(r->finish, 0, 0);
}

static void fail(struct https_request *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct https_request *r, const char *code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (r->done)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_set(&r->err, code, "%s %s://%s%s: %s", r->head_only ? "HEAD" : "request to",
	          r->url.tls ? "https" : "http", r->url.authority, r->url.path, msg);
	finish(r, 1);
}

static void https_client_on_finish(evutil_socket_t fd, short what, void *arg)
{
	struct https_request *r = arg;

	(void)fd;
	(void)what;
	r->cb(r->arg, r->failed ? NULL : &r->resp, &r->err);
	request_free(r);
}

static void https_client_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct https_request *r = arg;

	(void)fd;
	(void)what;
	fail(r, "acme_timeout", "no complete answer within %u ms", r->c->timeout_ms);
}

/* ---- reading the response */

static void complete(struct https_request *r)
{
	size_t n = evbuffer_get_length(r->body);

	r->resp.body = malloc(n + 1);
	if (r->resp.body == NULL) {
		fail(r, "acme_response", "out of memory for the body");
		return;
	}
	evbuffer_remove(r->body, r->resp.body, n);
	r->resp.body[n] = '\0';
	r->resp.body_len = n;
	r->resp.status = r->resp.head.status;
	finish(r, 0);
}

static int add_body(struct https_request *r, const char *data, size_t n)
{
	if (evbuffer_get_length(r->body) + n > HTTPS_CLIENT_MAX_BODY) {
		fail(r, "acme_response", "the body is larger than %u bytes", HTTPS_CLIENT_MAX_BODY);
		return -1;
	}
	return evbuffer_add(r->body, data, n);
}

/* Parse the head when it is complete. 1: parsed, 0: need more, -1: failed. */
static int read_head(struct https_request *r, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in), take = avail < HEAD_PULL ? avail : HEAD_PULL;
	const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
	int n = http1_parse_response(buf, take, r->head_only, &r->resp.head);

	if (n == HTTP1_INCOMPLETE)
		return 0;
	if (n == HTTP1_ERROR) {
		fail(r, "acme_response", "the server sent a malformed HTTP response");
		return -1;
	}
	free(r->head);
	if ((r->head = malloc((size_t)n)) == NULL) {
		fail(r, "acme_response", "out of memory");
		return -1;
	}
	evbuffer_remove(in, r->head, (size_t)n);
	/* parse our copy so the fields point into memory we keep */
	http1_parse_response(r->head, (size_t)n, r->head_only, &r->resp.head);
	if (r->resp.head.status < 200 && r->resp.head.status != 101)
		return read_head(r, in); /* 100 Continue and friends: the real head follows */
	r->have_head = 1;
	http1_chunked_init(&r->chunked);
	if (r->resp.head.body == HTTP1_BODY_LENGTH &&
	    r->resp.head.content_length > HTTPS_CLIENT_MAX_BODY) {
		fail(r, "acme_response", "the body is larger than %u bytes", HTTPS_CLIENT_MAX_BODY);
		return -1;
	}
	return 1;
}

static void read_chunked(struct https_request *r, struct evbuffer *in)
{
	while (!r->done && evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), used = 0, off = 0, n = 0;
		const char *buf = (const char *)evbuffer_pullup(in, -1);
		enum http1_chunk_result res =
		    http1_chunked_step(&r->chunked, buf, len, &used, &off, &n);

		if (res == HTTP1_CHUNK_DATA && add_body(r, buf + off, n) != 0)
			return;
		evbuffer_drain(in, used);
		if (res == HTTP1_CHUNK_DONE)
			complete(r);
		else if (res == HTTP1_CHUNK_ERROR)
			fail(r, "acme_response", "the chunked body is malformed");
		else if (res == HTTP1_CHUNK_NEED_MORE)
			return;
	}
}

static void read_body(struct https_request *r, struct evbuffer *in)
{
	const struct http1_response *h = &r->resp.head;
	size_t have, want, len;

	switch (h->body) {
	case HTTP1_BODY_CHUNKED:
		read_chunked(r, in);
		return;
	case HTTP1_BODY_LENGTH:
		have = evbuffer_get_length(r->body);
		want = (size_t)h->content_length - have;
		len = evbuffer_get_length(in);
		if (evbuffer_remove_buffer(in, r->body, len < want ? len : want) < 0)
			fail(r, "acme_response", "out of memory");
		else if (evbuffer_get_length(r->body) == h->content_length)
			complete(r);
		return;
	case HTTP1_BODY_UNTIL_CLOSE:
		len = evbuffer_get_length(in);
		if (len > 0 && add_body(r, (const char *)evbuffer_pullup(in, -1), len) == 0)
			evbuffer_drain(in, len);
		return;
	default:
		complete(r);
		return;
	}
}

static void https_client_on_read(struct bufferevent *bev, void *arg)
{
	struct https_request *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (!r->have_head && read_head(r, in) <= 0)
		return;
	if (!r->done)
		read_body(r, in);
}

/* Why the connection or handshake failed, as a sentence. */
static void connection_error(struct https_request *r)
{
	unsigned long ssl_err = r->bev ? bufferevent_get_openssl_error(r->bev) : 0;
	SSL *ssl = r->bev && r->url.tls ? bufferevent_openssl_get_ssl(r->bev) : NULL;
	long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	int sock_err = EVUTIL_SOCKET_ERROR();
	char buf[256];

	if (verify != X509_V_OK) {
		fail(r, "acme_tls",
		     "the server certificate is not trusted (%s); check [acme] "
		     "ca_bundle",
		     X509_verify_cert_error_string(verify));
	} else if (ssl_err != 0 && ERR_GET_LIB(ssl_err) != 0) {
		ERR_error_string_n(ssl_err, buf, sizeof(buf));
		fail(r, "acme_tls", "TLS failed with %s (%s)", r->resp.peer, buf);
	} else {
		fail(r, "acme_connection", "cannot connect to %s: %s", r->resp.peer,
		     sock_err ? evutil_socket_error_to_string(sock_err) : "connection closed");
	}
}

static void https_client_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct https_request *r = arg;

	if (what & BEV_EVENT_CONNECTED) {
		r->connected = 1;
		return;
	}
	if (r->have_head && (what & BEV_EVENT_EOF)) {
		https_client_on_read(bev, r); /* anything still buffered */
		if (!r->done && r->resp.head.body == HTTP1_BODY_UNTIL_CLOSE)
			complete(r);
		else if (!r->done)
			fail(r, "acme_response", "the connection closed in the middle of the body");
		return;
	}
	if ((what & BEV_EVENT_EOF) && r->connected)
		fail(r, "acme_response",
		     "the connection closed before a complete response "
		     "(%s)",
		     r->resp.peer);
	else
		connection_error(r);
}

/* ---- connecting */

static struct bufferevent *new_bev(struct https_request *r)
{
	struct https_client *c = r->c;
	/* not deferred: the socket error (errno) is still current in the callback */
	int opts = BEV_OPT_CLOSE_ON_FREE;
	struct in6_addr a6;
	struct in_addr a4;
	struct bufferevent *bev;
	SSL *ssl;

	if (!r->url.tls)
		return bufferevent_socket_new(c->base, -1, opts);
	if ((ssl = SSL_new(c->ctx)) == NULL)
		return NULL;
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (evutil_inet_pton(AF_INET, r->url.host, &a4) == 1 ||
	    evutil_inet_pton(AF_INET6, r->url.host, &a6) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), r->url.host);
	} else {
		SSL_set_tlsext_host_name(ssl, r->url.host);
		X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), r->url.host, 0);
	}
	bev = bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, opts);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void connect_to(struct https_request *r, const struct evutil_addrinfo *ai)
{
	const struct sockaddr *sa = ai->ai_addr;
	char ip[INET6_ADDRSTRLEN] = "?";
	const void *addr = sa->sa_family == AF_INET6
	                       ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
	                       : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	evutil_inet_ntop(sa->sa_family, addr, ip, sizeof(ip));
	snprintf(r->resp.peer, sizeof(r->resp.peer),
	         sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, r->url.port);
	if ((r->bev = new_bev(r)) == NULL) {
		fail(r, "acme_connection", "out of memory");
		return;
	}
	bufferevent_setcb(r->bev, https_client_on_read, NULL, https_client_on_event, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	if (bufferevent_write_buffer(r->bev, r->out) != 0 ||
	    bufferevent_socket_connect(r->bev, sa, (int)ai->ai_addrlen) != 0)
		connection_error(r);
}

static void https_client_on_dns(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct https_request *r = arg;

	if (result == EVUTIL_EAI_CANCEL) { /* the request is being freed */
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		return;
	}
	r->resolving = 0;
	r->dns_req = NULL;
	if (result != 0 || ai == NULL)
		fail(r, "acme_dns", "cannot resolve %s: %s", r->url.host,
		     evutil_gai_strerror(result ? result : EVUTIL_EAI_NONAME));
	else
		connect_to(r, ai);
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
}

static int build_request(struct https_request *r, const char *method, const char *accept,
                         const char *content_type, const char *body, size_t body_len)
{
	int rc = evbuffer_add_printf(r->out,
	                             "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: postern/%s\r\n"
	                             "Accept: %s\r\nConnection: close\r\n",
	                             method, r->url.path, r->url.authority, PACKAGE_VERSION,
	                             accept ? accept : "*/*");

	if (rc >= 0 && content_type != NULL)
		rc = evbuffer_add_printf(r->out, "Content-Type: %s\r\n", content_type);
	if (rc >= 0 && (body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0))
		rc = evbuffer_add_printf(r->out, "Content-Length: %zu\r\n", body ? body_len : 0);
	if (rc >= 0)
		rc = evbuffer_add(r->out, "\r\n", 2);
	if (rc >= 0 && body != NULL && body_len > 0)
		rc = evbuffer_add(r->out, body, body_len);
	return rc < 0 ? -1 : 0;
}

static int start_dns(struct https_request *r)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *q;
	char port[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%u", r->url.port);
	r->resolving = 1;
	/* may call back at once (numeric hosts, hosts file): that callback
	 * only connects or defers the failure, so r stays valid here */
	q = evdns_getaddrinfo(r->c->dns, r->url.host, port, &hints, https_client_on_dns, r);
	if (r->resolving)
		r->dns_req = q;
	return 0;
}

struct https_request *https_client_request(struct https_client *c, const char *method,
                                           const char *url, const char *accept,
                                           const char *content_type, const char *body,
                                           size_t body_len, https_client_cb cb, void *arg,
                                           struct error *err)
{
	struct https_request *r = calloc(1, sizeof(*r));
	struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};

	if (r == NULL) {
		error_set(err, "acme_connection", "out of memory");
		return NULL;
	}
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	r->head_only = strcmp(method, "HEAD") == 0;
	r->next = c->requests;
	if (c->requests != NULL)
		c->requests->prev = r;
	c->requests = r;
	if (https_url_parse(url, &r->url) != 0) {
		error_set(err, "acme_response", "'%s' is not an http or https URL", url);
		request_free(r);
		return NULL;
	}
	r->out = evbuffer_new();
	r->body = evbuffer_new();
	r->deadline = evtimer_new(c->base, https_client_on_deadline, r);
	r->finish = event_new(c->base, -1, 0, https_client_on_finish, r);
	if (!r->out || !r->body || !r->deadline || !r->finish ||
	    build_request(r, method, accept, content_type, body, body_len) != 0 ||
	    evtimer_add(r->deadline, &tv) != 0 || start_dns(r) != 0) {
		error_set(err, "acme_connection", "out of memory");
		request_free(r);
		return NULL;
	}
	return r;
}

char *https_response_header(const struct https_response *resp, const char *name)
{
	const struct http1_header *h =
	    http1_find_header(resp->head.headers, resp->head.n_headers, name);

	return h ? strndup(h->value, h->value_len) : NULL;
}
