/* One admin connection (plain or TLS bufferevent) on the control thread:
 * request heads through the gateway's HTTP/1.1 codec, bodies
 * (Content-Length or chunked, 1 MiB at most), keep-alive and pipelining,
 * timeouts, delayed answers, and responses with the security headers every
 * one carries. One close function frees everything. */
#include "admin/admin_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "crypto/secret.h"

#define ADMIN_MAX_REQUESTS 1000          /* per connection, then close */
#define ADMIN_READ_HIGH (128 * 1024)     /* input buffered before reading pauses */
#define ADMIN_HEAD_MAX (HTTP1_MAX_REQUEST_LINE + HTTP1_MAX_HEAD + 16)
#define ADMIN_BODY_TIMEOUT_MS 30000      /* between two pieces of a body */
#define ADMIN_WRITE_TIMEOUT_S 30
#define ADMIN_LINGER_MS 2000             /* read and drop after a closing response */

#define SECURITY_HEADERS                                                                    \
	"Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n" \
	"X-Frame-Options: DENY\r\n"                                                           \
	"X-Content-Type-Options: nosniff\r\n"                                                 \
	"Referrer-Policy: no-referrer\r\n"

enum conn_state {
	CONN_IDLE,       /* between requests */
	CONN_HEAD,       /* reading a request head */
	CONN_BODY,       /* reading its body */
	CONN_DELAYED,    /* the response waits for its delay */
	CONN_RESPONDING, /* the response is being written; keep-alive after */
	CONN_CLOSING,    /* the last response is being written */
	CONN_LINGER,     /* written and shut down: drop what the client still sends */
	CONN_STATE_MAX
};

struct admin_conn {
	struct admin_server *srv;
	struct admin_conn *prev, *next;
	struct bufferevent *bev;
	struct event *timer;
	enum conn_state state;
	char peer[64];
	int tls;
	unsigned requests;
	int peer_eof;

	/* the request being read */
	char *head; /* a copy of the head, NUL-terminated; req points into it */
	size_t head_len;
	struct http1_request req;
	char *body; /* wiped when freed: it may hold a private key */
	size_t body_len, body_cap;
	uint64_t body_left; /* Content-Length bytes still to come */
	struct http1_chunked chunked;

	/* the response waiting for its delay */
	struct admin_response pending;
	int keep_alive;
	int is_head;
};

static void conn_process(struct admin_conn *c);

static void conn_arm(struct admin_conn *c, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

static void response_clear(struct admin_response *r)
{
	if (r->body != NULL)
		evbuffer_free(r->body);
	if (r->headers != NULL)
		evbuffer_free(r->headers);
	memset(r, 0, sizeof(*r));
}

static int response_init(struct admin_response *r)
{
	memset(r, 0, sizeof(*r));
	r->body = evbuffer_new();
	r->headers = evbuffer_new();
	if (r->body == NULL || r->headers == NULL) {
		response_clear(r);
		return -1;
	}
	return 0;
}

static void request_clear(struct admin_conn *c)
{
	secret_free(c->head, c->head_len); /* cookies, bearer tokens */
	c->head = NULL;
	c->head_len = 0;
	secret_free(c->body, c->body_cap);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
	c->body_left = 0;
}

static void conn_close(struct admin_conn *c)
{
	struct admin_server *srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_conns--;
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	request_clear(c);
	response_clear(&c->pending);
	free(c);
}

/* ---- writing */

static void write_head(struct admin_conn *c, struct admin_response *r, size_t body_len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", r->status,
			    http1_reason(r->status), date);
	if (r->status != 204 && r->status >= 200)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", body_len);
	if (body_len > 0 && r->content_type != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", r->content_type);
	evbuffer_add_printf(out, "%sCache-Control: %s\r\n", SECURITY_HEADERS,
			    r->is_static ? "no-cache" : "no-store");
	if (c->tls)
		evbuffer_add_printf(out, "Strict-Transport-Security: max-age=31536000\r\n");
	if (!c->keep_alive)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (c->req.version_minor == 0)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	evbuffer_add_buffer(out, r->headers);
	evbuffer_add(out, "\r\n", 2);
}

/* Write r (its buffers are emptied) and wait for the output to drain. */
static void conn_send(struct admin_conn *c, struct admin_response *r)
{
	size_t len = evbuffer_get_length(r->body);

	if (r->close || c->requests >= ADMIN_MAX_REQUESTS || c->peer_eof)
		c->keep_alive = 0;
	write_head(c, r, len);
	if (!c->is_head)
		evbuffer_add_buffer(bufferevent_get_output(c->bev), r->body);
	c->state = c->keep_alive ? CONN_RESPONDING : CONN_CLOSING;
	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* An error found while reading (the router never saw the request). */
static void conn_fail(struct admin_conn *c, int status, const char *code, const char *message)
{
	struct admin_response r;

	if (response_init(&r) != 0) {
		conn_close(c);
		return;
	}
	admin_respond_error(&r, status, code, NULL, "%s", message);
	r.close = 1;
	c->is_head = 0;
	c->keep_alive = 0;
	conn_send(c, &r);
	response_clear(&r);
	request_clear(c);
}

static void conn_parse_fail(struct admin_conn *c, int status)
{
	switch (status) {
	case 414:
		conn_fail(c, 414, "uri_too_long", "The request line is longer than 8 KiB.");
		break;
	case 431:
		conn_fail(c, 431, "headers_too_large", "The request header block is too large.");
		break;
	case 505:
		conn_fail(c, 505, "http_version", "Use HTTP/1.1.");
		break;
	default:
		conn_fail(c, 400, "bad_request", "The request is not valid HTTP/1.1.");
		break;
	}
}

/* ---- dispatching a complete request */

/* Split the request-target into path and query (absolute-form: the path
 * after the authority). */
static void split_target(struct admin_request *req, const struct http1_request *h)
{
	const char *t = h->target, *end = h->target + h->target_len, *q;

	if (h->target_len > 0 && t[0] != '/') {
		const char *scheme = memchr(t, ':', h->target_len);
		const char *p = scheme && end - scheme > 3 ? memchr(scheme + 3, '/',
								   (size_t)(end - scheme - 3))
							 : NULL;
		t = p ? p : end;
	}
	q = memchr(t, '?', (size_t)(end - t));
	req->path = t == end ? "/" : t;
	req->path_len = t == end ? 1 : (size_t)((q ? q : end) - t);
	req->query = q ? q + 1 : NULL;
	req->query_len = q ? (size_t)(end - q - 1) : 0;
}

static void conn_dispatch(struct admin_conn *c)
{
	struct admin_request req;
	struct admin_response resp;

	if (response_init(&resp) != 0) {
		conn_close(c);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.srv = c->srv;
	req.ctx = c->srv->ctx;
	req.head = &c->req;
	snprintf(req.method, sizeof(req.method), "%.*s",
		 (int)(c->req.method_len < sizeof(req.method) ? c->req.method_len : 0),
		 c->req.method);
	split_target(&req, &c->req);
	req.body = c->body ? c->body : "";
	req.body_len = c->body_len;
	snprintf(req.peer, sizeof(req.peer), "%s", c->peer);
	req.tls = c->tls;
	c->requests++;
	c->keep_alive = c->req.keep_alive;
	admin_router_handle(&req, &resp);
	c->is_head = req.is_head;
	secret_wipe(&req.session_id, sizeof(req.session_id));
	if (resp.delay_ms > 0) {
		c->pending = resp;
		c->state = CONN_DELAYED;
		bufferevent_disable(c->bev, EV_READ);
		conn_arm(c, resp.delay_ms);
	} else {
		conn_send(c, &resp);
		response_clear(&resp);
	}
	request_clear(c);
}

/* ---- reading */

static int body_append(struct admin_conn *c, const char *p, size_t n)
{
	if (c->body_len + n > ADMIN_BODY_MAX)
		return -1;
	if (c->body_len + n + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap : 4096;
		char *grown;

		while (cap < c->body_len + n + 1)
			cap *= 2;
		grown = malloc(cap);
		if (grown == NULL)
			return -1;
		if (c->body_len > 0)
			memcpy(grown, c->body, c->body_len);
		secret_free(c->body, c->body_cap);
		c->body = grown;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, p, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	return 0;
}

static void body_too_large(struct admin_conn *c)
{
	conn_fail(c, 413, "body_too_large", "The request body is larger than 1 MiB.");
}

/* The head is complete: set up reading its body. 1 when the request is
 * ready or its body is to be read, -1 when the connection is answered. */
static int start_body(struct admin_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->req.body == HTTP1_BODY_LENGTH && c->req.content_length > ADMIN_BODY_MAX) {
		body_too_large(c);
		return -1;
	}
	if (c->req.body == HTTP1_BODY_NONE ||
	    (c->req.body == HTTP1_BODY_LENGTH && c->req.content_length == 0)) {
		conn_dispatch(c);
		return -1;
	}
	if (c->req.body == HTTP1_BODY_LENGTH) {
		c->body_left = c->req.content_length;
		c->body_cap = (size_t)c->body_left + 1;
		if ((c->body = malloc(c->body_cap)) == NULL) {
			conn_close(c);
			return -1;
		}
		c->body[0] = '\0';
	} else {
		http1_chunked_init(&c->chunked);
	}
	if (c->req.expect_continue)
		evbuffer_add_printf(out, "HTTP/1.1 100 Continue\r\n\r\n");
	c->state = CONN_BODY;
	conn_arm(c, ADMIN_BODY_TIMEOUT_MS);
	return 1;
}

/* 1: progress, go on; 0: need more bytes; -1: the connection is answered
 * or closed. */
static int read_head(struct admin_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t avail = evbuffer_get_length(in), n = avail < ADMIN_HEAD_MAX ? avail : ADMIN_HEAD_MAX;
	const char *buf;
	int rc, status = 0;

	if (avail == 0)
		return 0;
	if (c->state == CONN_IDLE) {
		c->state = CONN_HEAD;
		conn_arm(c, c->srv->ctx->inst->cfg.header_timeout_ms);
	}
	buf = (const char *)evbuffer_pullup(in, (ssize_t)n);
	rc = http1_parse_request(buf, n, &c->req, &status);
	if (rc == HTTP1_INCOMPLETE && n < ADMIN_HEAD_MAX)
		return 0;
	if (rc == HTTP1_INCOMPLETE)
		status = 431;
	if (rc < 0) {
		conn_parse_fail(c, status);
		return -1;
	}
	c->head = malloc((size_t)rc + 1);
	if (c->head == NULL) {
		conn_close(c);
		return -1;
	}
	c->head_len = (size_t)rc + 1;
	evbuffer_remove(in, c->head, (size_t)rc);
	c->head[rc] = '\0';
	/* reparse the copy so the fields point into memory we keep */
	if (http1_parse_request(c->head, (size_t)rc, &c->req, &status) != rc) {
		conn_parse_fail(c, 400);
		return -1;
	}
	return start_body(c);
}

static int read_length_body(struct admin_conn *c, struct evbuffer *in)
{
	size_t n = evbuffer_get_length(in);

	if (n > c->body_left)
		n = (size_t)c->body_left;
	evbuffer_remove(in, c->body + c->body_len, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	c->body_left -= n;
	if (c->body_left > 0)
		return 0;
	conn_dispatch(c);
	return -1;
}

static int read_chunked_body(struct admin_conn *c, struct evbuffer *in)
{
	for (;;) {
		size_t len = evbuffer_get_length(in), used = 0, off = 0, dlen = 0;
		const char *buf = len ? (const char *)evbuffer_pullup(in, (ssize_t)len) : "";
		enum http1_chunk_result r = http1_chunked_step(&c->chunked, buf, len, &used, &off,
							       &dlen);

		if (r == HTTP1_CHUNK_DATA && body_append(c, buf + off, dlen) != 0) {
			body_too_large(c);
			return -1;
		}
		evbuffer_drain(in, used);
		if (r == HTTP1_CHUNK_NEED_MORE)
			return 0;
		if (r == HTTP1_CHUNK_ERROR) {
			conn_fail(c, 400, "bad_request", "The chunked request body is malformed.");
			return -1;
		}
		if (r == HTTP1_CHUNK_DONE) {
			conn_dispatch(c);
			return -1;
		}
	}
}

static int read_body(struct admin_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	if (evbuffer_get_length(in) == 0)
		return 0;
	conn_arm(c, ADMIN_BODY_TIMEOUT_MS);
	return c->req.body == HTTP1_BODY_LENGTH ? read_length_body(c, in)
						: read_chunked_body(c, in);
}

static void conn_process(struct admin_conn *c)
{
	int rc = 1;

	while (rc > 0) {
		if (c->state == CONN_IDLE || c->state == CONN_HEAD)
			rc = read_head(c);
		else if (c->state == CONN_BODY)
			rc = read_body(c);
		else
			rc = 0;
	}
}

/* ---- connection events */

static void admin_on_read(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;

	if (c->state == CONN_LINGER) {
		struct evbuffer *in = bufferevent_get_input(bev);

		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	conn_process(c);
}

static void start_linger(struct admin_conn *c)
{
	/* Close only our side: a client still sending (a body over the limit)
	 * reads the answer instead of a reset. */
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	c->state = CONN_LINGER;
	bufferevent_enable(c->bev, EV_READ);
	conn_arm(c, ADMIN_LINGER_MS);
}

static void admin_on_write(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;

	(void)bev;
	if (c->state == CONN_CLOSING) {
		if (c->peer_eof)
			conn_close(c);
		else
			start_linger(c);
	} else if (c->state == CONN_RESPONDING) {
		c->state = CONN_IDLE;
		conn_arm(c, c->srv->ctx->inst->cfg.idle_timeout_ms);
		bufferevent_enable(c->bev, EV_READ);
		conn_process(c); /* a pipelined request may be waiting */
	}
}

static void admin_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct admin_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return; /* the TLS handshake is done */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (c->state == CONN_DELAYED || c->state == CONN_RESPONDING ||
	     c->state == CONN_CLOSING)) {
		c->peer_eof = 1; /* the client closed its side: answer, then close */
		return;
	}
	conn_close(c);
}

static void admin_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn *c = arg;
	struct admin_response r;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_DELAYED:
		r = c->pending;
		memset(&c->pending, 0, sizeof(c->pending));
		conn_send(c, &r);
		response_clear(&r);
		break;
	case CONN_HEAD:
	case CONN_BODY:
		conn_fail(c, 408, "request_timeout",
			  "The request did not arrive in time; send it again.");
		break;
	default:
		conn_close(c);
		break;
	}
}

/* ---- creating */

static struct bufferevent *conn_bev(struct admin_server *srv, evutil_socket_t fd)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (srv->ssl_ctx == NULL)
		return bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(srv->ssl_ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void peer_text(const struct sockaddr *sa, char *out, size_t n)
{
	const void *bin = sa->sa_family == AF_INET6
				  ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
				  : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (inet_ntop(sa->sa_family, bin, out, (socklen_t)n) == NULL)
		snprintf(out, n, "unknown");
}

int admin_conn_new(struct admin_server *srv, evutil_socket_t fd, const struct sockaddr *sa)
{
	struct timeval wt = { ADMIN_WRITE_TIMEOUT_S, 0 };
	struct admin_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->srv = srv;
	c->tls = srv->ssl_ctx != NULL;
	peer_text(sa, c->peer, sizeof(c->peer));
	c->bev = conn_bev(srv, fd);
	c->timer = evtimer_new(srv->base, admin_on_timer, c);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	if (c->bev == NULL || c->timer == NULL) {
		int rc = c->bev == NULL ? -1 : 0; /* without a bufferevent, the caller closes fd */

		conn_close(c);
		return rc;
	}
	bufferevent_setcb(c->bev, admin_on_read, admin_on_write, admin_on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, ADMIN_READ_HIGH);
	bufferevent_set_timeouts(c->bev, NULL, &wt);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	/* the first request head (and the TLS handshake) within header_timeout */
	conn_arm(c, srv->ctx->inst->cfg.header_timeout_ms);
	return 0;
}

void admin_conn_close_all(struct admin_server *srv)
{
	while (srv->conns != NULL)
		conn_close(srv->conns);
}
