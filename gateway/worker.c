#include "gateway/worker.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"
#include "gateway/access_log.h"
#include "gateway/firewall.h"
#include "gateway/proxy.h"
#include "gateway/snapshot.h"

#define LISTEN_BACKLOG 4096

static void worker_on_http(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			   int salen, void *arg)
{
	(void)l;
	proxy_accept(arg, fd, sa, salen, 0);
}

static void worker_on_https(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			    int salen, void *arg)
{
	(void)l;
	proxy_accept(arg, fd, sa, salen, 1);
}

static void worker_on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_warn("accept failed: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static struct evconnlistener *listen_on(struct worker *w, const struct config_listen *addr,
					evconnlistener_cb cb, struct error *err)
{
	struct evconnlistener *l = evconnlistener_new_bind(
		w->base, cb, w,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT |
			LEV_OPT_CLOSE_ON_EXEC,
		LISTEN_BACKLOG, (const struct sockaddr *)&addr->addr, (int)addr->addr_len);

	if (l == NULL) {
		error_set(err, "listen", "cannot listen on %s: %s", addr->text,
			  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	evconnlistener_set_error_cb(l, worker_on_accept_error);
	return l;
}

static void worker_on_drain(struct worker *w);

/* Every 100 ms: hand access-log lines to the writer, and act on requests
 * from the control thread (drain, abort): the worker's event base has no
 * locks, so other threads only set flags that this timer reads. */
static void worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	access_log_flush_thread();
	if (atomic_load(&w->abort_requested)) {
		event_base_loopbreak(w->base);
		return;
	}
	if (atomic_load(&w->drain_requested) && !w->stopping)
		worker_on_drain(w);
	if (w->stopping && w->n_conns == 0)
		event_base_loopexit(w->base, NULL);
}

int worker_init(struct worker *w, int index, struct gateway_shared *shared, struct error *err)
{
	struct timeval tick = { 0, 100000 };

	struct event_config *ecfg = event_config_new();

	memset(w, 0, sizeof(*w));
	w->index = index;
	w->shared = shared;
	/* one thread per base: no locks. (Not EPOLL_USE_CHANGELIST: it loses
	 * events when a closed fd's number is reused by an accept in the same
	 * loop turn, which a busy proxy does all the time.) */
	if (ecfg != NULL) {
		event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
		w->base = event_base_new_with_config(ecfg);
		event_config_free(ecfg);
	}
	if (w->base == NULL) {
		error_set(err, "internal", "cannot create an event loop");
		return -1;
	}
	w->http_listener = listen_on(w, &shared->cfg->http_listen, worker_on_http, err);
	if (w->http_listener == NULL)
		return -1;
	w->https_listener = listen_on(w, &shared->cfg->https_listen, worker_on_https, err);
	if (w->https_listener == NULL)
		return -1;
	w->tick = event_new(w->base, -1, EV_PERSIST, worker_on_tick, w);
	if (w->tick == NULL || event_add(w->tick, &tick) != 0) {
		error_set(err, "internal", "cannot create a timer");
		return -1;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	access_log_flush_thread();
	snapshot_thread_release();
	firewall_thread_release();
	waf_thread_release();
	return NULL;
}

int worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

/* Runs on the worker's own thread (from its tick, after worker_drain). */
static void worker_on_drain(struct worker *w)
{
	struct conn *c, *next;

	w->stopping = 1;
	/* close the sockets, not just stop accepting: the kernel would
	 * otherwise keep completing handshakes into the backlog */
	if (w->http_listener)
		evconnlistener_free(w->http_listener);
	if (w->https_listener)
		evconnlistener_free(w->https_listener);
	w->http_listener = NULL;
	w->https_listener = NULL;
	upstream_pool_clear(w);
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		proxy_drain(c);
	}
}

void worker_drain(struct worker *w)
{
	atomic_store(&w->drain_requested, 1);
}

void worker_abort(struct worker *w)
{
	atomic_store(&w->abort_requested, 1);
}

void worker_join(struct worker *w)
{
	if (w->thread)
		pthread_join(w->thread, NULL);
	while (w->conns != NULL)
		proxy_close(w->conns);
	upstream_pool_clear(w);
	if (w->tick)
		event_free(w->tick);
	if (w->http_listener)
		evconnlistener_free(w->http_listener);
	if (w->https_listener)
		evconnlistener_free(w->https_listener);
	if (w->base)
		event_base_free(w->base);
	memset(w, 0, sizeof(*w));
}
