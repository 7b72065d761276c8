/* Worker threads: each has its own event_base and its own SO_REUSEPORT
 * listeners for the HTTP and HTTPS addresses, serves connections from the
 * published snapshot, and never touches the database, the disk or DNS. */
#ifndef POSTERN_GATEWAY_WORKER_H
#define POSTERN_GATEWAY_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/ssl.h>

#include "common/error.h"
#include "gateway/config_file.h"
#include "gateway/snapshot.h"

struct event_base;
struct evconnlistener;
struct event;
struct conn;
struct upstream;
struct rate_limiter;
struct event_queue;

/* Counters every worker adds to, read by the status page and metrics. */
struct gateway_stats {
	atomic_llong connections_open;
	atomic_ullong connections_total;
	atomic_ullong requests_total;
	atomic_ullong responses_by_class[6]; /* [1]..[5] = 1xx..5xx */
};

/* State shared by all workers (read-only after start except atomics). */
struct gateway_shared {
	const struct config *cfg;
	SSL_CTX *ssl_ctx;
	struct gateway_stats stats;
	atomic_int draining;
	struct rate_limiter *limiter; /* flood protection counters, all workers */
	struct event_queue *events;   /* firewall events for the control thread */
	atomic_ullong waf_blocked;    /* requests refused by the WAF or an IP list */
	atomic_ullong rate_limited;   /* requests refused by a rate limit */
};

struct worker {
	int index;
	pthread_t thread;
	struct event_base *base;
	struct evconnlistener *http_listener;
	struct evconnlistener *https_listener;
	struct event *tick;       /* 100 ms: flush the access log, check draining */
	struct gateway_shared *shared;
	struct conn *conns;       /* every open client connection (for draining) */
	long n_conns;
	struct upstream *idle;    /* pooled idle backend connections */
	int n_idle;
	int stopping;
	atomic_int drain_requested; /* set by worker_drain (any thread) */
	atomic_int abort_requested; /* set by worker_abort (any thread) */
};

/* Create the worker's event base and listeners (bound before any thread
 * starts, so a port in use fails start-up). Returns 0 or -1 with err. */
int worker_init(struct worker *w, int index, struct gateway_shared *shared, struct error *err);
/* Start the worker's thread. 0 or -1. */
int worker_start(struct worker *w);
/* Ask the worker to stop accepting and to close once idle (any thread;
 * acted on within 100 ms). */
void worker_drain(struct worker *w);
/* Stop the worker's loop now (drain timeout passed). Any thread. */
void worker_abort(struct worker *w);
/* Wait for the thread and free everything. */
void worker_join(struct worker *w);

#endif
