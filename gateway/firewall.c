/* The firewall on the request path: client address, IP lists, rate limit,
 * WAF rules with body inspection, events. */
#include "gateway/firewall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "gateway/cio.h"
#include "gateway/proxy.h"
#include "gateway/snapshot.h"
#include "waf/events.h"
#include "waf/ratelimit.h"

/* Raw chunked framing the read buffer may hold beyond the inspected part. */
#define INSPECT_SLACK 16384

/* ---- per-thread buffers: grown when the body limit grows, never per request */

struct fw_thread {
	struct waf_request req;
	char *arena;
	size_t arena_size;
	char *dechunked;
	size_t dechunked_size;
};

static _Thread_local struct fw_thread *fwt;

static struct fw_thread *thread_state(size_t body_limit)
{
	size_t arena = 2 * body_limit + HTTP1_MAX_REQUEST_LINE + 4096;

	if (fwt == NULL && (fwt = calloc(1, sizeof(*fwt))) == NULL)
		return NULL;
	if (fwt->dechunked_size < body_limit) {
		char *d = realloc(fwt->dechunked, body_limit + 1);

		if (d == NULL)
			return NULL;
		fwt->dechunked = d;
		fwt->dechunked_size = body_limit;
	}
	if (fwt->arena_size < arena) {
		char *a = realloc(fwt->arena, arena);

		if (a == NULL)
			return NULL;
		fwt->arena = a;
		fwt->arena_size = arena;
	}
	return fwt;
}

void firewall_thread_release(void)
{
	if (fwt == NULL)
		return;
	free(fwt->arena);
	free(fwt->dechunked);
	free(fwt);
	fwt = NULL;
}

/* ---- the client address */

static int is_xff(const struct http1_header *h)
{
	return h->name_len == 15 && strncasecmp(h->name, "x-forwarded-for", 15) == 0;
}

/* Walk one X-Forwarded-For value right to left. Returns 1 when the client
 * was found (an untrusted address, or garbage that ends the chain), else 0
 * (every entry trusted: keep walking the earlier headers). */
static int walk_xff(const struct cidr_set *trusted, const char *v, size_t len,
                    struct ip_addr *client)
{
	size_t end = len;

	while (end > 0) {
		size_t start = end, a, b;
		struct ip_addr addr;

		while (start > 0 && v[start - 1] != ',')
			start--;
		for (a = start; a < end && (v[a] == ' ' || v[a] == '\t'); a++)
			;
		for (b = end; b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'); b--)
			;
		end = start > 0 ? start - 1 : 0;
		if (b == a)
			continue; /* an empty list element */
		if (ip_addr_parse(v + a, b - a, &addr) != 0)
			return 1; /* not an address: the last trusted hop is the client */
		*client = addr;
		if (!cidr_set_contains(trusted, &addr))
			return 1;
	}
	return 0;
}

void firewall_client_ip(struct conn *c)
{
	const struct cidr_set *trusted = c->snap->trusted_proxies;

	c->client_addr = c->peer_addr;
	if (trusted != NULL && cidr_set_contains(trusted, &c->peer_addr)) {
		for (size_t i = c->req->n_headers; i-- > 0;) {
			const struct http1_header *h = &c->req->headers[i];

			if (is_xff(h) && walk_xff(trusted, h->value, h->value_len, &c->client_addr))
				break;
		}
	}
	if (memcmp(&c->client_addr, &c->peer_addr, sizeof(c->peer_addr)) == 0)
		memcpy(c->client_ip, c->peer_ip, sizeof(c->client_ip)); /* formatted at accept */
	else
		ip_addr_format(&c->client_addr, c->client_ip, sizeof(c->client_ip));
}

/* ---- events */

static void copy_cut(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Hand one event to the control thread; ref (17 bytes, may be NULL)
 * receives its id for the 403 page. */
static void record(struct conn *c, enum waf_event_kind kind, long long rule_id, const char *target,
                   const char *excerpt, int blocked, char *ref)
{
	struct waf_event ev;
	struct timespec now;
	const char *q = memchr(c->req->target, '?', c->req->target_len);

	memset(&ev, 0, sizeof(ev));
	waf_event_new_ref(ev.ref);
	clock_gettime(CLOCK_REALTIME, &now);
	ev.time_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	ev.app_id = c->app->id;
	ev.rule_id = rule_id;
	ev.kind = (unsigned char)kind;
	ev.blocked = (unsigned char)blocked;
	copy_cut(ev.client_ip, sizeof(ev.client_ip), c->client_ip, strlen(c->client_ip));
	snprintf(ev.target, sizeof(ev.target), "%s", target);
	copy_cut(ev.method, sizeof(ev.method), c->req->method, c->req->method_len);
	copy_cut(ev.path, sizeof(ev.path), c->req->target,
	         q ? (size_t)(q - c->req->target) : c->req->target_len);
	snprintf(ev.excerpt, sizeof(ev.excerpt), "%s", excerpt);
	if (ref != NULL)
		memcpy(ref, ev.ref, sizeof(ev.ref));
	event_queue_push(c->w->shared->events, &ev); /* full: dropped and counted */
}

static void respond_forbidden(struct conn *c, const char *ref)
{
	char headers[64], body[160];

	atomic_fetch_add(&c->w->shared->waf_blocked, 1);
	snprintf(headers, sizeof(headers), "X-Postern-Event: %s\r\n", ref);
	snprintf(body, sizeof(body),
	         "403 Forbidden\nThe request was blocked by the gateway's firewall.\n"
	         "Event id: %s\n",
	         ref);
	proxy_respond(c, 403, headers, body, 0);
}

/* ---- rate limit */

static int rate_check(struct conn *c)
{
	const struct waf_app_policy *p = &c->app->waf;
	struct rate_limiter *rl = c->w->shared->limiter;
	const char *q = memchr(c->req->target, '?', c->req->target_len);
	size_t path_len = q ? (size_t)(q - c->req->target) : c->req->target_len;
	unsigned retry = 1;
	char detail[112], headers[48];
	enum rate_result res;
	uint64_t key;

	key = rate_key(rl, c->app->id, c->client_addr.b, p->rate_key_path ? c->req->target : NULL,
	               p->rate_key_path ? path_len : 0);
	res = rate_limiter_hit(rl, key, &p->limit, proxy_now_us() / 1000, &retry);
	if (res == RATE_PASS)
		return 1;
	/* one event per block (the request that passed the limit), not one
	 * per refused request: a flood must not become a flood of rows */
	if (res == RATE_EXCEEDED) {
		snprintf(detail, sizeof(detail), "over %u requests per %u s (burst %u), %u s",
		         p->limit.requests, p->limit.per_seconds, p->limit.burst, retry);
		record(c, WAF_EVENT_RATE_LIMIT, 0, p->rate_key_path ? "ip_path" : "ip", detail,
		       !p->rate_log_only, NULL);
	}
	if (p->rate_log_only)
		return 1;
	atomic_fetch_add(&c->w->shared->rate_limited, 1);
	snprintf(headers, sizeof(headers), "Retry-After: %u\r\n", retry);
	proxy_respond(c, 429, headers, "429 Too Many Requests\n", 0);
	return 0;
}

/* ---- WAF rules */

static int on_log_hit(const struct waf_hit *hit, void *arg)
{
	struct conn *c = arg;

	if (hit->action == WAF_ACTION_LOG)
		record(c, WAF_EVENT_WAF, hit->rule_id, hit->target, hit->excerpt, 0, NULL);
	return 0;
}

/* Evaluate the rules on the head and the inspected body. Returns 1 to
 * proxy, 0 when answered. */
static int run_rules(struct conn *c, const char *body, size_t body_len)
{
	const struct snapshot *snap = c->snap;
	struct fw_thread *t = thread_state(snap->settings.waf_body_limit);
	struct waf_request *r;
	struct waf_hit hit;
	char ref[17];

	if (t == NULL) {
		log_error("firewall: out of memory, request from %s passed unchecked",
		          c->client_ip);
		return 1;
	}
	r = &t->req;
	waf_request_init(r, t->arena, t->arena_size);
	r->method = c->req->method;
	r->method_len = c->req->method_len;
	r->target = c->req->target;
	r->target_len = c->req->target_len;
	r->headers = c->req->headers;
	r->n_headers = c->req->n_headers;
	r->client_ip = c->client_ip;
	r->client_ip_len = strlen(c->client_ip);
	r->body = body;
	r->body_len = body_len;
	r->body_total = c->req->body == HTTP1_BODY_LENGTH ? c->req->content_length : body_len;
	memset(&hit, 0, sizeof(hit));
	if (waf_engine_eval(snap->rules->engine, c->app->id, r, on_log_hit, c, &hit, 0) !=
	    WAF_BLOCK)
		return 1;
	if (c->app->waf.mode == WAF_MODE_DETECT) {
		record(c, WAF_EVENT_WAF, hit.rule_id, hit.target, hit.excerpt, 0, NULL);
		return 1;
	}
	record(c, WAF_EVENT_WAF, hit.rule_id, hit.target, hit.excerpt, 1, ref);
	respond_forbidden(c, ref);
	return 0;
}

static int has_token(const struct http1_header *h, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; h != NULL && i + n <= h->value_len; i++)
		if (strncasecmp(h->value + i, word, n) == 0)
			return 1;
	return 0;
}

/* Do the rules that apply read the body? args only from form, JSON and
 * multipart bodies. */
static int needs_body(const struct conn *c, unsigned targets)
{
	const struct http1_header *ct;

	if (c->req->body == HTTP1_BODY_NONE || c->req->upgrade)
		return 0;
	if (targets & (1u << WAF_TARGET_BODY))
		return 1;
	if (!(targets & (1u << WAF_TARGET_ARGS)))
		return 0;
	ct = http1_find_header(c->req->headers, c->req->n_headers, "content-type");
	return has_token(ct, "x-www-form-urlencoded") || has_token(ct, "json") ||
	       has_token(ct, "multipart/form-data");
}

/* Is the part to inspect buffered? Sets body and len when it is: 1;
 * not yet: 0; out of memory: -1. */
static int body_ready(struct conn *c, const char **body, size_t *len)
{
	struct evbuffer *in = cio_input(c->io);
	size_t limit = c->snap->settings.waf_body_limit, avail = evbuffer_get_length(in);
	struct http1_chunked ch;
	struct fw_thread *t;
	const char *raw;
	size_t pos = 0, out = 0;

	if (c->req->body == HTTP1_BODY_LENGTH) {
		size_t want =
		    c->req->content_length < limit ? (size_t)c->req->content_length : limit;

		if (avail < want)
			return 0;
		*body = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
		*len = want;
		return 1;
	}
	if ((t = thread_state(limit)) == NULL)
		return -1;
	raw = (const char *)evbuffer_pullup(in, (ev_ssize_t)avail);
	http1_chunked_init(&ch);
	for (;;) {
		size_t used = 0, off = 0, n = 0;
		enum http1_chunk_result res =
		    http1_chunked_step(&ch, raw + pos, avail - pos, &used, &off, &n);

		if (res == HTTP1_CHUNK_DATA) {
			size_t take = n < limit - out ? n : limit - out;

			memcpy(t->dechunked + out, raw + pos + off, take);
			out += take;
			pos += used;
			if (out == limit)
				break;
			continue;
		}
		if (res == HTTP1_CHUNK_NEED_MORE && avail < limit + INSPECT_SLACK)
			return 0;
		break; /* done, invalid (the proxy answers 400 later) or buffer full */
	}
	*body = t->dechunked;
	*len = out;
	return 1;
}

/* The verdict on the inspected part; proxy when it passes. */
static void decide(struct conn *c, const char *body, size_t len)
{
	if (run_rules(c, body, len)) {
		c->state = CONN_PROXY;
		upstream_start(c);
	}
}

/* body_ready for a caller that goes on without the body when out of
 * memory (logged). Returns 0 while the part to inspect is not buffered. */
static int inspected_part(struct conn *c, const char **body, size_t *len)
{
	int rc = body_ready(c, body, len);

	if (rc < 0) {
		log_error("firewall: out of memory, request from %s passed unchecked",
		          c->client_ip);
		*body = NULL;
		*len = 0;
	}
	return rc != 0;
}

void firewall_on_body(struct conn *c)
{
	const char *body = NULL;
	size_t len = 0;

	if (!inspected_part(c, &body, &len))
		return;
	evtimer_del(c->timer);
	cio_set_read_max(c->io, PROXY_CLIENT_READ_MAX);
	decide(c, body, len);
}

/* Buffer the inspected part before deciding: nothing reaches the backend
 * until the verdict. A body that came with the head (the usual case) is
 * decided at once, without the wait's timer and read limit. */
static void start_inspection(struct conn *c)
{
	unsigned ms = c->snap->settings.idle_timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	const char *body = NULL;
	size_t len = 0;

	if (c->req->expect_continue && !c->continue_sent) {
		evbuffer_add_printf(cio_output(c->io), "HTTP/1.1 100 Continue\r\n\r\n");
		c->continue_sent = 1;
	}
	c->state = CONN_INSPECT;
	if (inspected_part(c, &body, &len)) {
		decide(c, body, len);
		return;
	}
	cio_set_read_max(c->io, c->snap->settings.waf_body_limit + INSPECT_SLACK);
	evtimer_add(c->timer, &tv);
}

int firewall_check(struct conn *c)
{
	const struct waf_app_policy *p = &c->app->waf;
	char ref[17];
	unsigned targets;

	if (p->deny != NULL && cidr_set_contains(p->deny, &c->client_addr)) {
		record(c, WAF_EVENT_IP_DENY, 0, "client_ip", c->client_ip, 1, ref);
		respond_forbidden(c, ref);
		return 0;
	}
	if (p->allow != NULL && cidr_set_contains(p->allow, &c->client_addr))
		return 1;
	if (p->has_rate_limit && !rate_check(c))
		return 0;
	if (p->mode == WAF_MODE_OFF || c->snap->rules == NULL)
		return 1;
	targets = waf_engine_targets(c->snap->rules->engine, c->app->id);
	if (targets == 0)
		return 1;
	if (needs_body(c, targets)) {
		start_inspection(c);
		return 0;
	}
	return run_rules(c, NULL, 0);
}
