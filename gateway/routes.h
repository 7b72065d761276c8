/* Applications as workers see them: the route table (Host -> application,
 * exact then one-label wildcard), each application's backends, the load
 * balancers, and the backend health state (active checks and passive
 * ejection) that outlives route tables.
 *
 * Threads: the control thread owns the backend registry, builds route
 * tables from the store's applications, and runs the active health checks
 * on its event base. Workers only call route_table_lookup, balancer_pick,
 * balancer_release and balancer_report, which are lock-free (atomics). */
#ifndef POSTERN_GATEWAY_ROUTES_H
#define POSTERN_GATEWAY_ROUTES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/error.h"
#include "gateway/store.h"
#include "waf/app_policy.h"

struct event_base;

enum balance_mode {
	BALANCE_ROUND_ROBIN,
	BALANCE_WEIGHTED,
	BALANCE_IP_HASH,
	BALANCE_LEAST_CONN,
	BALANCE_MAX
};

/* One backend server, shared by every application and route table that
 * names the same URL; refcounted; health fields are atomics. */
struct backend {
	atomic_int refs;
	char url[256];               /* "http://127.0.0.1:8081" */
	char host_header[256];       /* "127.0.0.1:8081" (for health checks) */
	struct sockaddr_storage addr; /* resolved by the control thread */
	socklen_t addr_len;
	atomic_int healthy;          /* active checks: 1 up, 0 down (1 until checked) */
	atomic_int active;           /* requests in flight (least_conn) */
	atomic_int fails;            /* consecutive passive failures */
	atomic_llong ejected_until_ms; /* passive ejection: skip until this time */
	uint64_t url_hash;           /* stable hash of url (ip_hash); fixed at creation */
};

struct route_backend {
	struct backend *backend;
	int weight;
};

struct route_app {
	long long id;
	char *name;
	char **domains;
	size_t n_domains;
	struct route_backend *backends;
	size_t n_backends;
	enum balance_mode balance;
	int https_redirect;
	int auto_certificate;
	char *client_ip_header;      /* header that carries the client IP to backends */
	struct waf_app_policy waf;   /* firewall mode, rate limit, IP lists (SPEC 6) */
	/* round robin / weighted: a precomputed smooth schedule of backend
	 * indexes and an atomic cursor shared by all workers */
	unsigned *schedule;
	size_t schedule_len;
	atomic_uint cursor;
};

struct route_table;
struct backend_registry;

/* ---- control thread */

/* The registry of backends and their health, kept across route tables.
 * NULL when out of memory. */
struct backend_registry *backend_registry_new(void);
/* Stop every health check and drop the registry's references (a backend
 * still used by a live route table is freed with the last such table).
 * Call it before freeing the event base the checks ran on. NULL is fine. */
void backend_registry_free(struct backend_registry *reg);
/* The number of backends registered (those used by a live route table, or
 * by the latest build, until the next build drops the unused ones). */
size_t backend_registry_size(const struct backend_registry *reg);

/* Build a route table from the store's applications, resolving each
 * backend URL (numeric addresses directly; names with getaddrinfo — this
 * blocks, and runs on the control thread only) and registering active
 * health checks (path, interval) for backends whose application has one.
 * A URL is resolved once, when it first enters the registry; its address
 * then stays fixed while any route table uses it (workers read it without
 * locks). A name that does not resolve leaves its backend down (logged)
 * and is tried again at every build until it resolves. Registry entries no
 * live route table uses are dropped at the end of the build. Returns the
 * table (caller owns it: route_table_free, from any thread) or NULL with
 * err on failure: "invalid_backend" (a URL not of the form
 * http://host[:port]), "invalid_application" (unknown balance mode, bad
 * weight, bad domain), "conflict" (a domain used twice), "internal" (out
 * of memory). */
struct route_table *route_table_build(const struct store_app *apps, size_t n,
				      struct backend_registry *reg, struct error *err);
/* Free t (NULL is fine) and drop its backend references. Any thread. */
void route_table_free(struct route_table *t);

/* Start (or re-arm) active health checks on base for the registry, with
 * the settings of the latest successful build (call it after every build;
 * checks whose settings did not change keep running, none is doubled):
 * non-blocking HTTP/1.1 GETs of the configured path (the first at once,
 * then every interval; for a backend several applications share, the
 * shortest interval and the first path); 2xx/3xx = up; connect failure,
 * timeout (the interval, at most 5 s) or other status = down. A down
 * backend that answers again is used again from the next check, so within
 * one interval. A backend left without a check counts as up. Returns 0,
 * or -1 (out of memory: the checks that could be armed run). */
int backend_registry_start_checks(struct backend_registry *reg, struct event_base *base);

/* ---- workers */

/* The application serving host (host_len bytes, maybe with ":port",
 * case-insensitive, one trailing dot ignored): exact domain, then
 * "*.parent" for exactly one label; an IPv6 literal "[::1]:443" matches
 * the exact domain "[::1]" only. Returns a borrowed pointer valid while t
 * lives, or NULL when none matches or host is malformed. */
const struct route_app *route_table_lookup(const struct route_table *t, const char *host,
					   size_t host_len);

/* Pick a backend for a request from client (for ip_hash; NULL hashes as
 * one client) at now_ms: skips backends that are down or ejected; when all
 * are, returns NULL. The result is borrowed from app's route table.
 * Increments the chosen backend's active count: call balancer_release
 * when the request ends. */
struct backend *balancer_pick(const struct route_app *app, const struct sockaddr *client,
			      uint64_t now_ms);
/* The request that picked b ended: decrements its active count. */
void balancer_release(struct backend *b);

/* Passive health: ok = the backend answered; a failure (refused, reset,
 * timeout) counts; 3 consecutive failures eject it for 10 s. */
void balancer_report(struct backend *b, int ok, uint64_t now_ms);

/* ---- internal: shared by routes.c and health.c on the control thread */

struct health_check;

/* One registry entry: a backend and the active check settings of the
 * latest successful build. */
struct backend_slot {
	struct backend *backend;    /* the registry's reference */
	char *health_path;          /* NULL: no active check */
	int health_interval_ms;
	struct health_check *check; /* running check (health.c); NULL when stopped */
};

/* Entry i (< backend_registry_size) of reg: borrowed, valid until the
 * next build or backend_registry_free. */
struct backend_slot *backend_registry_slot(struct backend_registry *reg, size_t i);

/* Stop a running check and free it (NULL is fine). */
void health_check_free(struct health_check *hc);

#endif
