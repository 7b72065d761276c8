#include "gateway/snapshot.h"

#include <pthread.h>
#include <stdlib.h>

#include "gateway/firewall.h"
#include "gateway/routes.h"
#include "gateway/sni_cache.h"

/* The published snapshot. Readers take a reference under the lock only
 * when the generation moved, so the common path is one atomic load. */
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *published;
static atomic_ulong published_generation;

static _Thread_local struct snapshot *thread_snapshot;
static _Thread_local unsigned long thread_generation;

struct snapshot *snapshot_new(struct sni_cache *sni, struct route_table *routes)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->sni = sni;
	s->routes = routes;
	return s;
}

struct snapshot *snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void snapshot_unref(struct snapshot *s)
{
	if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	sni_cache_free(s->sni);
	route_table_free(s->routes);
	firewall_rules_unref(s->rules);
	cidr_set_free(s->trusted_proxies);
	free(s);
}

void snapshot_publish(struct snapshot *s)
{
	struct snapshot *old;

	pthread_mutex_lock(&publish_lock);
	old = published;
	s->generation = atomic_load(&published_generation) + 1;
	published = s;
	atomic_store_explicit(&published_generation, s->generation, memory_order_release);
	pthread_mutex_unlock(&publish_lock);
	snapshot_unref(old);
}

struct snapshot *snapshot_current(void)
{
	unsigned long gen = atomic_load_explicit(&published_generation, memory_order_acquire);
	struct snapshot *old;

	if (gen == thread_generation)
		return thread_snapshot;
	old = thread_snapshot;
	pthread_mutex_lock(&publish_lock);
	thread_snapshot = published ? snapshot_ref(published) : NULL;
	thread_generation = published ? published->generation : 0;
	pthread_mutex_unlock(&publish_lock);
	snapshot_unref(old);
	return thread_snapshot;
}

void snapshot_thread_release(void)
{
	snapshot_unref(thread_snapshot);
	thread_snapshot = NULL;
	thread_generation = 0;
}

void snapshot_shutdown(void)
{
	struct snapshot *old;

	pthread_mutex_lock(&publish_lock);
	old = published;
	published = NULL;
	atomic_fetch_add(&published_generation, 1);
	pthread_mutex_unlock(&publish_lock);
	snapshot_unref(old);
}
