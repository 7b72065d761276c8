/* Event kinds, event ids and the bounded MPMC queue: ring order, drops
 * when full, wrap-around, and four producer threads against a consumer
 * where every event arrives exactly once or is counted as dropped. */
#include "waf/events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

static struct waf_event event(long long app_id, long long rule_id)
{
	struct waf_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.app_id = app_id;
	ev.rule_id = rule_id;
	ev.kind = WAF_EVENT_WAF;
	snprintf(ev.path, sizeof(ev.path), "/item/%lld/%lld", app_id, rule_id);
	return ev;
}

static void test_kind_names(void)
{
	ok(strcmp(waf_event_kind_name(WAF_EVENT_WAF), "waf") == 0, "waf");
	ok(strcmp(waf_event_kind_name(WAF_EVENT_RATE_LIMIT), "rate_limit") == 0, "rate_limit");
	ok(strcmp(waf_event_kind_name(WAF_EVENT_IP_DENY), "ip_deny") == 0, "ip_deny");
	ok(strcmp(waf_event_kind_name(WAF_EVENT_KIND_MAX), "unknown") == 0,
	   "out of range: unknown");
}

static int cmp_ref(const void *a, const void *b)
{
	return memcmp(a, b, 17);
}

static int is_ref(const char *r)
{
	for (int i = 0; i < 16; i++)
		if (!((r[i] >= '0' && r[i] <= '9') || (r[i] >= 'a' && r[i] <= 'f')))
			return 0;
	return r[16] == '\0';
}

static void test_refs(void)
{
	enum { N = 100000 };
	char(*refs)[17] = malloc(N * sizeof(*refs));
	size_t bad = 0, dups = 0;

	for (size_t i = 0; i < N; i++) {
		waf_event_new_ref(refs[i]);
		bad += !is_ref(refs[i]);
	}
	ok(bad == 0, "100,000 refs are 16 lowercase hex digits (%zu bad)", bad);
	qsort(refs, N, sizeof(*refs), cmp_ref);
	for (size_t i = 1; i < N; i++)
		dups += memcmp(refs[i - 1], refs[i], 17) == 0;
	ok(dups == 0, "100,000 refs are unique (%zu duplicates)", dups);
	free(refs);
}

/* The first ref drawn on a new thread (seeded on its own). */
static void *draw_ref(void *out)
{
	waf_event_new_ref(out);
	return NULL;
}

static void test_refs_threads(void)
{
	char a[17], b[17];
	pthread_t ta, tb;

	pthread_create(&ta, NULL, draw_ref, a);
	pthread_create(&tb, NULL, draw_ref, b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok(is_ref(a) && is_ref(b) && strcmp(a, b) != 0,
	   "two threads start from different seeds (%s %s)", a, b);
}

static void test_ring(void)
{
	struct event_queue *q = event_queue_new(5);
	struct waf_event ev, out[16];
	size_t n, got = 0;
	int order = 1;

	ok(q != NULL, "queue of 5 (rounded up to 8)");
	for (int i = 0; i < 8; i++) {
		ev = event(1, i);
		ok(event_queue_push(q, &ev) == 0, "push %d", i);
	}
	ev = event(1, 8);
	ok(event_queue_push(q, &ev) == -1, "the ninth push fails: full");
	ok(event_queue_push(q, &ev) == -1 && event_queue_dropped(q) == 2, "drops are counted");
	n = event_queue_pop(q, out, 3);
	ok(n == 3 && out[0].rule_id == 0 && out[2].rule_id == 2, "pop 3: the oldest first");
	ok(strcmp(out[1].path, "/item/1/1") == 0, "the event is copied whole");
	for (int i = 8; i < 11; i++) {
		ev = event(1, i);
		ok(event_queue_push(q, &ev) == 0, "push %d after the pop (wraps around)", i);
	}
	n = event_queue_pop(q, out, 16);
	for (size_t i = 0; i < n; i++)
		order &= out[i].rule_id == (long long)i + 3;
	ok(n == 8 && order, "the remaining 8 in order across the wrap (%zu)", n);
	ok(event_queue_pop(q, out, 16) == 0, "then empty");
	ok(event_queue_pop(q, out, 0) == 0, "max 0 pops nothing");

	/* many laps through the ring */
	for (int lap = 0; lap < 1000; lap++) {
		ev = event(2, lap);
		event_queue_push(q, &ev);
		event_queue_push(q, &ev);
		got += event_queue_pop(q, out, 16);
	}
	ok(got == 2000 && event_queue_dropped(q) == 2, "1,000 laps: nothing lost or dropped");
	event_queue_free(q);
	event_queue_free(NULL);
	ok(1, "event_queue_free(NULL) is fine");

	q = event_queue_new(0);
	ev = event(3, 0);
	ok(q != NULL && event_queue_push(q, &ev) == 0 && event_queue_push(q, &ev) == 0 &&
	       event_queue_push(q, &ev) == -1,
	   "capacity 0 still makes a working queue of 2");
	event_queue_free(q);
}

/* ---- four producers, one consumer */

enum { PRODUCERS = 4, PER_PRODUCER = 100000 };

struct producer {
	struct event_queue *q;
	int id;
	atomic_int *go;
	unsigned char *dropped; /* [PER_PRODUCER]: 1 when push refused that event */
	size_t n_dropped;
};

struct consumer {
	struct event_queue *q;
	atomic_int *producers_left;
	unsigned char *seen[PRODUCERS]; /* [PER_PRODUCER] receive counts */
	size_t received, out_of_order;
};

static void *producer_run(void *arg)
{
	struct producer *p = arg;

	while (atomic_load(p->go) == 0)
		;
	for (int i = 0; i < PER_PRODUCER; i++) {
		struct waf_event ev = event(p->id, i);

		if (event_queue_push(p->q, &ev) < 0) {
			p->dropped[i] = 1;
			p->n_dropped++;
		}
	}
	return NULL;
}

/* Record a batch: per producer, events must arrive in push order. */
static void consume(struct consumer *c, const struct waf_event *evs, size_t n,
                    long long last[PRODUCERS])
{
	for (size_t i = 0; i < n; i++) {
		int p = (int)evs[i].app_id;
		long long seq = evs[i].rule_id;

		if (p < 0 || p >= PRODUCERS || seq < 0 || seq >= PER_PRODUCER) {
			c->out_of_order++;
			continue;
		}
		c->out_of_order += seq <= last[p];
		last[p] = seq;
		if (c->seen[p][seq] < 255)
			c->seen[p][seq]++;
		c->received++;
	}
}

static void *consumer_run(void *arg)
{
	struct consumer *c = arg;
	struct waf_event batch[64];
	long long last[PRODUCERS] = {-1, -1, -1, -1};
	int done = 0;

	while (!done) {
		size_t n;

		/* read "all producers finished" before the final drain */
		done = atomic_load(c->producers_left) == 0;
		while ((n = event_queue_pop(c->q, batch, 64)) > 0)
			consume(c, batch, n, last);
	}
	return NULL;
}

static void test_mpmc(void)
{
	struct event_queue *q = event_queue_new(1024);
	struct producer prod[PRODUCERS];
	struct consumer cons = {.q = q};
	pthread_t tp[PRODUCERS], tc;
	atomic_int go = 0, left = PRODUCERS;
	size_t dropped = 0, once = 0, lost = 0, twice = 0;

	cons.producers_left = &left;
	for (int i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct producer){q, i, &go, calloc(PER_PRODUCER, 1), 0};
		cons.seen[i] = calloc(PER_PRODUCER, 1);
		pthread_create(&tp[i], NULL, producer_run, &prod[i]);
	}
	pthread_create(&tc, NULL, consumer_run, &cons);
	atomic_store(&go, 1);
	for (int i = 0; i < PRODUCERS; i++) {
		pthread_join(tp[i], NULL);
		atomic_fetch_sub(&left, 1);
	}
	pthread_join(tc, NULL);

	for (int p = 0; p < PRODUCERS; p++) {
		dropped += prod[p].n_dropped;
		for (int i = 0; i < PER_PRODUCER; i++) {
			int seen = cons.seen[p][i];

			once += seen == 1 && !prod[p].dropped[i];
			twice += seen > 1 || (seen == 1 && prod[p].dropped[i]);
			lost += seen == 0 && !prod[p].dropped[i];
		}
	}
	printf("# %zu received, %zu dropped\n", cons.received, dropped);
	ok(cons.received + dropped == PRODUCERS * PER_PRODUCER,
	   "400,000 events: received + dropped = all (%zu + %zu)", cons.received, dropped);
	ok(event_queue_dropped(q) == dropped, "the queue counted every refused push (%llu)",
	   (unsigned long long)event_queue_dropped(q));
	ok(once == cons.received, "every received event arrived exactly once");
	ok(twice == 0, "no event arrived twice or after being dropped");
	ok(lost == 0, "no pushed event was lost");
	ok(cons.out_of_order == 0, "each producer's events arrive in push order");
	for (int i = 0; i < PRODUCERS; i++) {
		free(prod[i].dropped);
		free(cons.seen[i]);
	}
	event_queue_free(q);
}

int main(void)
{
	test_kind_names();
	test_refs();
	test_refs_threads();
	test_ring();
	test_mpmc();
	return done_testing();
}
