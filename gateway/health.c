/* Active health checks, on the control thread's event base: per backend
 * with a configured path, a persistent timer starts a non-blocking
 * HTTP/1.1 GET every interval (the first one at once); the reply head
 * decides up (2xx, 3xx) or down (anything else, or no reply within
 * min(interval, 5 s)). Workers see the verdict through backend->healthy;
 * state changes are logged once. */
#include "gateway/routes.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/http1.h"

#define HEALTH_REPLY_MAX 4096      /* a status line and a few fields is all we need */
#define HEALTH_TIMEOUT_MAX_MS 5000

struct health_check {
	struct backend *backend; /* the slot's; the slot outlives its check */
	struct event_base *base;
	char *path;
	int interval_ms;
	struct event *tick;     /* persistent, every interval */
	struct event *deadline; /* one-shot, per check in flight */
	struct bufferevent *bev; /* the check in flight, NULL between checks */
	size_t len;
	char reply[HEALTH_REPLY_MAX];
};

static struct timeval ms_to_tv(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return tv;
}

/* End the check in flight (if any) with a verdict; log a change once. */
static void check_finish(struct health_check *hc, int up, const char *why)
{
	int was;

	if (hc->bev != NULL) {
		bufferevent_free(hc->bev);
		hc->bev = NULL;
	}
	evtimer_del(hc->deadline);
	was = atomic_exchange_explicit(&hc->backend->healthy, up, memory_order_relaxed);
	if (was == up)
		return;
	if (up)
		log_info("backend %s is up: GET %s answered %s", hc->backend->url, hc->path, why);
	else
		log_warn("backend %s is down: GET %s: %s", hc->backend->url, hc->path, why);
}

static void health_on_read(struct bufferevent *bev, void *arg)
{
	struct health_check *hc = arg;
	struct http1_response resp;
	char why[64];
	int r;

	hc->len += evbuffer_remove(bufferevent_get_input(bev), hc->reply + hc->len,
				   sizeof(hc->reply) - hc->len);
	r = http1_parse_response(hc->reply, hc->len, 0, &resp);
	if (r > 0) {
		snprintf(why, sizeof(why), "status %d", resp.status);
		check_finish(hc, resp.status >= 200 && resp.status < 400, why);
	} else if (r == HTTP1_ERROR) {
		check_finish(hc, 0, "malformed reply");
	} else if (hc->len == sizeof(hc->reply)) {
		check_finish(hc, 0, "reply head too large");
	}
}

static void health_on_event(struct bufferevent *bev, short events, void *arg)
{
	struct health_check *hc = arg;
	char why[128];

	(void)bev;
	if (events & BEV_EVENT_CONNECTED)
		return;
	if (events & BEV_EVENT_ERROR) {
		snprintf(why, sizeof(why), "connection failed (%s)",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		check_finish(hc, 0, why);
	} else {
		check_finish(hc, 0, "connection closed before a complete reply");
	}
}

static void health_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;

	(void)fd;
	(void)what;
	check_finish(hc, 0, "no reply in time");
}

static void check_start(struct health_check *hc)
{
	struct backend *b = hc->backend;
	int timeout = hc->interval_ms < HEALTH_TIMEOUT_MAX_MS ? hc->interval_ms
							       : HEALTH_TIMEOUT_MAX_MS;
	struct timeval tv = ms_to_tv(timeout);

	hc->len = 0;
	hc->bev = bufferevent_socket_new(hc->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (hc->bev == NULL) {
		log_warn("health check of %s skipped: out of memory", b->url);
		return;
	}
	bufferevent_setcb(hc->bev, health_on_read, NULL, health_on_event, hc);
	if (evbuffer_add_printf(bufferevent_get_output(hc->bev),
				"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: postern-health\r\n"
				"Connection: close\r\n\r\n",
				hc->path, b->host_header) < 0 ||
	    bufferevent_enable(hc->bev, EV_READ | EV_WRITE) < 0) {
		check_finish(hc, 0, "out of memory");
		return;
	}
	evtimer_add(hc->deadline, &tv);
	/* A connect that fails at once runs health_on_event from inside this
	 * call, which ends the check: then there is nothing left to do. */
	if (bufferevent_socket_connect(hc->bev, (struct sockaddr *)&b->addr, (int)b->addr_len) <
		    0 &&
	    hc->bev != NULL)
		check_finish(hc, 0, "connect failed");
}

static void health_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;

	(void)fd;
	(void)what;
	if (hc->bev != NULL)
		check_finish(hc, 0, "no reply in time");
	check_start(hc);
}

void health_check_free(struct health_check *hc)
{
	if (hc == NULL)
		return;
	if (hc->bev != NULL)
		bufferevent_free(hc->bev);
	if (hc->tick != NULL)
		event_free(hc->tick);
	if (hc->deadline != NULL)
		event_free(hc->deadline);
	free(hc->path);
	free(hc);
}

static struct health_check *check_new(struct backend_slot *slot, struct event_base *base)
{
	struct health_check *hc = calloc(1, sizeof(*hc));
	struct timeval tv = ms_to_tv(slot->health_interval_ms);

	if (hc == NULL)
		return NULL;
	hc->backend = slot->backend;
	hc->base = base;
	hc->interval_ms = slot->health_interval_ms;
	hc->path = strdup(slot->health_path);
	hc->tick = event_new(base, -1, EV_PERSIST, health_on_tick, hc);
	hc->deadline = evtimer_new(base, health_on_deadline, hc);
	if (hc->path == NULL || hc->tick == NULL || hc->deadline == NULL ||
	    event_add(hc->tick, &tv) < 0) {
		health_check_free(hc);
		return NULL;
	}
	/* The first check now. (Not event_active(tick): a persistent timer
	 * activated by hand with EV_TIMEOUT would next fire two intervals on.) */
	check_start(hc);
	return hc;
}

/* A path goes verbatim into the request line: no spaces or controls. */
static int path_ok(const char *path)
{
	if (path[0] != '/')
		return 0;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* No check configured (any more): the backend counts as up. */
static void slot_unchecked(struct backend_slot *slot)
{
	health_check_free(slot->check);
	slot->check = NULL;
	if (atomic_exchange_explicit(&slot->backend->healthy, 1, memory_order_relaxed) == 0)
		log_info("backend %s: no health check configured any more, used again",
			 slot->backend->url);
}

static int slot_arm(struct backend_slot *slot, struct event_base *base)
{
	struct health_check *hc = slot->check;

	if (hc != NULL && hc->base == base && hc->interval_ms == slot->health_interval_ms &&
	    strcmp(hc->path, slot->health_path) == 0)
		return 0; /* unchanged: keep its rhythm */
	health_check_free(hc);
	slot->check = check_new(slot, base);
	if (slot->check == NULL) {
		log_warn("health checks of %s not started: out of memory", slot->backend->url);
		return -1;
	}
	return 0;
}

int backend_registry_start_checks(struct backend_registry *reg, struct event_base *base)
{
	int rc = 0;

	if (reg == NULL || base == NULL)
		return -1;
	for (size_t i = 0; i < backend_registry_size(reg); i++) {
		struct backend_slot *slot = backend_registry_slot(reg, i);

		if (slot->health_path == NULL || slot->health_interval_ms <= 0) {
			slot_unchecked(slot);
		} else if (!path_ok(slot->health_path)) {
			log_warn("backend %s: health check path is not a plain /path: not checked",
				 slot->backend->url);
			slot_unchecked(slot);
		} else if (slot_arm(slot, base) < 0) {
			rc = -1;
		}
	}
	return rc;
}
