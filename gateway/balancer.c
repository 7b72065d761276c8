/* Load balancing and passive health, called by workers: lock-free. The
 * route table is immutable; the only shared writes are the schedule
 * cursor and the backends' atomic counters. */
#include "gateway/routes.h"

#include <netinet/in.h>
#include <string.h>

#include "common/log.h"

#define BALANCER_MAX_FAILS 3
#define BALANCER_EJECT_MS 10000

static int available(struct backend *b, uint64_t now_ms)
{
	return atomic_load_explicit(&b->healthy, memory_order_relaxed) != 0 &&
	       (long long)now_ms >=
		       atomic_load_explicit(&b->ejected_until_ms, memory_order_relaxed);
}

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* A stable hash of the client's network: IPv4 /32 (also when mapped into
 * IPv6), IPv6 /64, so a client keeps its backend across privacy
 * addresses. Not seeded: it must agree across rebuilds and restarts. */
static uint64_t client_hash(const struct sockaddr *client)
{
	const unsigned char *p = NULL;
	size_t n = 0;
	uint64_t h = 0xcbf29ce484222325ULL;

	if (client != NULL && client->sa_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)client)->sin_addr;
		n = 4;
	} else if (client != NULL && client->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)client)->sin6_addr;

		p = a->s6_addr;
		n = 8;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			p += 12;
			n = 4;
		}
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return mix64(h);
}

/* -ln(u) for u = h / 2^64 in (0, 1), without libm: split u into
 * m * 2^e (m in [1, 2)) and sum the atanh series of ln(m) (|s| <= 1/3, so
 * five terms are accurate to about 1e-6, plenty for weighting). */
static double neg_ln_unit(uint64_t h)
{
	int lz;
	double m, s, s2, ln_m;

	if (h == 0)
		h = 1;
	lz = __builtin_clzll(h);
	m = (double)(h << lz) / 9223372036854775808.0; /* 2^63 */
	s = (m - 1.0) / (m + 1.0);
	s2 = s * s;
	ln_m = 2.0 * s * (1.0 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 / 9))));
	/* u = m * 2^-(lz + 1) */
	s = (double)(lz + 1) * 0.69314718055994530942 - ln_m;
	return s > 1e-18 ? s : 1e-18;
}

/* Weighted rendezvous hashing: every backend scores weight / -ln(u) with u
 * from hash(client, backend); the highest available score wins. A backend
 * going down moves only its own clients; weights set the shares. */
static struct backend *pick_ip_hash(const struct route_app *app, const struct sockaddr *client,
				    uint64_t now_ms)
{
	uint64_t ch = client_hash(client);
	struct backend *best = NULL;
	double best_score = 0;

	for (size_t i = 0; i < app->n_backends; i++) {
		struct backend *b = app->backends[i].backend;
		double score;

		if (!available(b, now_ms))
			continue;
		score = app->backends[i].weight / neg_ln_unit(mix64(ch ^ b->url_hash));
		if (best == NULL || score > best_score) {
			best = b;
			best_score = score;
		}
	}
	return best;
}

/* The next available entry of the smooth schedule. An unavailable entry
 * is skipped by taking the next cursor value (not the next slot), so its
 * share spreads over the others instead of doubling its successor's; after
 * n_backends tries, a plain scan finds any available one. */
static struct backend *pick_schedule(const struct route_app *app, uint64_t now_ms)
{
	struct route_app *mut = (struct route_app *)app; /* the cursor is the one mutable field */
	unsigned c = 0;

	for (size_t k = 0; k < app->n_backends; k++) {
		unsigned i;

		c = atomic_fetch_add_explicit(&mut->cursor, 1, memory_order_relaxed);
		i = app->schedule[c % app->schedule_len];
		if (available(app->backends[i].backend, now_ms))
			return app->backends[i].backend;
	}
	for (size_t k = 1; k < app->schedule_len; k++) {
		unsigned i = app->schedule[(c + k) % app->schedule_len];

		if (available(app->backends[i].backend, now_ms))
			return app->backends[i].backend;
	}
	return NULL;
}

/* Fewest active requests per unit of weight; the scan starts at the
 * schedule's next entry so that equal loads rotate (weighted). */
static struct backend *pick_least_conn(const struct route_app *app, uint64_t now_ms)
{
	struct route_app *mut = (struct route_app *)app;
	unsigned c = atomic_fetch_add_explicit(&mut->cursor, 1, memory_order_relaxed);
	size_t start = app->schedule[c % app->schedule_len];
	struct backend *best = NULL;
	long long best_active = 0, best_weight = 1;

	for (size_t k = 0; k < app->n_backends; k++) {
		const struct route_backend *rb = &app->backends[(start + k) % app->n_backends];
		long long active;

		if (!available(rb->backend, now_ms))
			continue;
		active = atomic_load_explicit(&rb->backend->active, memory_order_relaxed);
		if (best == NULL || active * best_weight < best_active * rb->weight) {
			best = rb->backend;
			best_active = active;
			best_weight = rb->weight;
		}
	}
	return best;
}

struct backend *balancer_pick(const struct route_app *app, const struct sockaddr *client,
			      uint64_t now_ms)
{
	struct backend *b;

	if (app == NULL || app->n_backends == 0 || app->schedule_len == 0)
		return NULL;
	switch (app->balance) {
	case BALANCE_IP_HASH:
		b = pick_ip_hash(app, client, now_ms);
		break;
	case BALANCE_LEAST_CONN:
		b = pick_least_conn(app, now_ms);
		break;
	default:
		b = pick_schedule(app, now_ms);
		break;
	}
	if (b != NULL)
		atomic_fetch_add_explicit(&b->active, 1, memory_order_relaxed);
	return b;
}

void balancer_release(struct backend *b)
{
	if (b != NULL)
		atomic_fetch_sub_explicit(&b->active, 1, memory_order_relaxed);
}

void balancer_report(struct backend *b, int ok, uint64_t now_ms)
{
	long long old;
	int fails;

	if (b == NULL)
		return;
	if (ok) {
		if (atomic_load_explicit(&b->fails, memory_order_relaxed) != 0)
			atomic_store_explicit(&b->fails, 0, memory_order_relaxed);
		return;
	}
	fails = atomic_fetch_add_explicit(&b->fails, 1, memory_order_relaxed) + 1;
	if (fails < BALANCER_MAX_FAILS)
		return;
	/* Later failures while ejected (requests already in flight) push the
	 * end out a little; a backend that fails again right after coming
	 * back is ejected at once (half-open), since only a success resets the
	 * count. Log when an ejection starts, not when it is extended. */
	old = atomic_exchange_explicit(&b->ejected_until_ms, (long long)now_ms + BALANCER_EJECT_MS,
				       memory_order_relaxed);
	if (old <= (long long)now_ms)
		log_warn("backend %s failed %d times in a row: not used for %d s", b->url, fails,
			 BALANCER_EJECT_MS / 1000);
}
