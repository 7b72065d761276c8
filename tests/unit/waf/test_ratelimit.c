/* The shared rate limiter: exact pass counts, blocks and retry times,
 * the sliding window, keys, eviction under a flood of distinct keys in
 * fixed memory, and four threads on one key. Times are explicit now_ms
 * values: nothing sleeps. */
#include "waf/ratelimit.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/tap.h"

#define T0 1700000000000ull /* a window-aligned wall-clock time, in ms */

struct tally {
	unsigned pass, exceeded, blocked;
};

/* Hit key n times at now_ms; count the results. */
static struct tally hits(struct rate_limiter *rl, uint64_t key, const struct rate_limit *lim,
                         uint64_t now_ms, unsigned n)
{
	struct tally t = {0, 0, 0};
	unsigned retry;

	for (unsigned i = 0; i < n; i++) {
		switch (rate_limiter_hit(rl, key, lim, now_ms, &retry)) {
		case RATE_PASS:
			t.pass++;
			break;
		case RATE_EXCEEDED:
			t.exceeded++;
			break;
		default:
			t.blocked++;
			break;
		}
	}
	return t;
}

/* Passes of key at now_ms before the first refusal (at most max). */
static unsigned passes_until_refused(struct rate_limiter *rl, uint64_t key,
                                     const struct rate_limit *lim, uint64_t now_ms, unsigned max)
{
	unsigned n = 0, retry;

	while (n < max && rate_limiter_hit(rl, key, lim, now_ms, &retry) == RATE_PASS)
		n++;
	return n;
}

static void test_capacity(void)
{
	struct rate_limiter *rl = rate_limiter_new(100);

	ok(rl != NULL && rate_limiter_capacity(rl) == 128,
	   "capacity 100 rounds up to 16 sets of 8");
	rate_limiter_free(rl);
	rl = rate_limiter_new(0);
	ok(rl != NULL && rate_limiter_capacity(rl) == RATE_WAYS, "capacity 0: one set");
	rate_limiter_free(rl);
	rl = rate_limiter_new(4096);
	ok(rl != NULL && rate_limiter_capacity(rl) == 4096, "a power of two stays");
	ok(rate_limiter_evictions(rl) == 0, "no evictions yet");
	rate_limiter_free(rl);
	rate_limiter_free(NULL);
	ok(1, "rate_limiter_free(NULL) is fine");
}

static void test_exact_and_block(void)
{
	struct rate_limiter *rl = rate_limiter_new(1024);
	struct rate_limit lim = {
	    .requests = 100, .per_seconds = 10, .burst = 20, .block_seconds = 60};
	enum rate_result r;
	unsigned retry = 0;
	struct tally t;

	ok(passes_until_refused(rl, 7, &lim, T0, 1000) == 120,
	   "requests + burst = 120 passes in one window");
	ok(rate_limiter_hit(rl, 8, &lim, T0, &retry) == RATE_PASS, "another key is not affected");
	/* key 7 was refused once by passes_until_refused: its block started at T0 */
	r = rate_limiter_hit(rl, 7, &lim, T0 + 1, &retry);
	ok(r == RATE_BLOCKED && retry == 60, "then BLOCKED, retry 60 s (%u)", retry);
	r = rate_limiter_hit(rl, 7, &lim, T0 + 30000, &retry);
	ok(r == RATE_BLOCKED && retry == 30, "30 s later: retry 30 s (%u)", retry);
	r = rate_limiter_hit(rl, 7, &lim, T0 + 59999, &retry);
	ok(r == RATE_BLOCKED && retry == 1, "1 ms before the end: retry 1 s, never 0 (%u)", retry);
	ok(rate_limiter_hit(rl, 7, &lim, T0 + 60000, &retry) == RATE_PASS,
	   "after block_seconds the key passes again (old windows forgotten)");
	rate_limiter_free(rl);

	rl = rate_limiter_new(1024);
	t = hits(rl, 9, &lim, T0 + 5000, 1000);
	ok(t.pass == 120 && t.exceeded == 1 && t.blocked == 879,
	   "1,000 hits: 120 PASS, 1 EXCEEDED, 879 BLOCKED (%u %u %u)", t.pass, t.exceeded,
	   t.blocked);
	r = rate_limiter_hit(rl, 9, &lim, T0 + 5000, &retry);
	ok(r == RATE_BLOCKED && retry == 60, "EXCEEDED starts the block at that hit");
	rate_limiter_free(rl);
}

static void test_exceeded_retry(void)
{
	struct rate_limiter *rl = rate_limiter_new(64);
	struct rate_limit lim = {.requests = 1, .per_seconds = 1, .burst = 0, .block_seconds = 5};
	enum rate_result r;
	unsigned retry = 0;

	ok(rate_limiter_hit(rl, 1, &lim, T0, &retry) == RATE_PASS, "first request passes");
	r = rate_limiter_hit(rl, 1, &lim, T0 + 1, &retry);
	ok(r == RATE_EXCEEDED && retry == 5, "second: EXCEEDED, retry block_seconds (%u)", retry);
	ok(rate_limiter_hit(rl, 1, &lim, T0 + 2, NULL) == RATE_BLOCKED,
	   "retry pointer may be NULL");
	rate_limiter_free(rl);
}

/* block_seconds 0: refused only while over the limit. */
static void test_no_block(void)
{
	struct rate_limiter *rl = rate_limiter_new(64);
	struct rate_limit lim = {.requests = 5, .per_seconds = 10, .burst = 0, .block_seconds = 0};
	enum rate_result r;
	unsigned retry = 0;

	ok(passes_until_refused(rl, 3, &lim, T0, 100) == 5, "5 pass");
	r = rate_limiter_hit(rl, 3, &lim, T0 + 5000, &retry);
	ok(r == RATE_BLOCKED && retry == 7,
	   "still over in the same window: BLOCKED, retry until the window slides (%u)", retry);
	ok(rate_limiter_hit(rl, 3, &lim, T0 + 10000, &retry) == RATE_BLOCKED,
	   "at the next window's start the old window still weighs 5");
	ok(rate_limiter_hit(rl, 3, &lim, T0 + 11999, &retry) == RATE_BLOCKED,
	   "2 s less 1 ms into it, it still weighs 5 (rounded up)");
	ok(rate_limiter_hit(rl, 3, &lim, T0 + 12000, &retry) == RATE_PASS,
	   "once its share is down to 4: PASS");
	rate_limiter_free(rl);
}

static void test_sliding(void)
{
	struct rate_limiter *rl = rate_limiter_new(64);
	struct rate_limit lim = {.requests = 10, .per_seconds = 10, .burst = 0, .block_seconds = 0};
	enum rate_result r;
	unsigned retry = 0;

	ok(passes_until_refused(rl, 4, &lim, T0 + 9000, 100) == 10, "10 at the end of window 1");
	r = rate_limiter_hit(rl, 4, &lim, T0 + 10001, &retry);
	ok(r == RATE_BLOCKED && retry == 1,
	   "1 ms into window 2 the previous one still weighs 10 (rounded up): refused for %u s",
	   retry);
	ok(passes_until_refused(rl, 4, &lim, T0 + 11000, 100) == 1,
	   "a tenth into window 2 it weighs 9: 1 passes");
	ok(passes_until_refused(rl, 4, &lim, T0 + 15000, 100) == 4,
	   "half way into window 2 the previous window weighs 5, plus 1: 4 more pass");
	ok(passes_until_refused(rl, 4, &lim, T0 + 20000, 100) == 5,
	   "window 3: window 2's 5 weigh fully: 5 pass");
	ok(passes_until_refused(rl, 4, &lim, T0 + 40000, 100) == 10,
	   "two windows later everything is forgotten: 10 pass");

	/* A worker whose clock reading is slightly older than another's
	 * (taken before, counted after) must not reset the newer window. */
	ok(hits(rl, 5, &lim, T0 + 50000, 9).pass == 9, "9 in a fresh window");
	ok(rate_limiter_hit(rl, 5, &lim, T0 + 49999, &retry) == RATE_PASS,
	   "a late reading from the previous window counts in the newer one");
	ok(rate_limiter_hit(rl, 5, &lim, T0 + 50000, &retry) == RATE_EXCEEDED,
	   "so the window holds 10: the next is refused");

	lim.per_seconds = 20;
	ok(passes_until_refused(rl, 5, &lim, T0 + 80000, 100) == 10,
	   "a changed window length starts the key afresh");
	rate_limiter_free(rl);
}

static void test_keys(void)
{
	struct rate_limiter *a = rate_limiter_new(64), *b = rate_limiter_new(64);
	uint8_t ip1[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 1};
	uint8_t ip2[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 2};
	struct rate_limit lim = {.requests = 2, .per_seconds = 60, .burst = 0, .block_seconds = 60};
	uint64_t k = rate_key(a, 1, ip1, NULL, 0);
	uint64_t login = rate_key(a, 1, ip1, "/login", 6), home = rate_key(a, 1, ip1, "/", 1);

	ok(k == rate_key(a, 1, ip1, NULL, 0), "same inputs, same key");
	ok(k != rate_key(a, 1, ip2, NULL, 0), "another address, another key");
	ok(k != rate_key(a, 2, ip1, NULL, 0), "another application, another key");
	ok(k != rate_key(a, 1, ip1, "/", 1), "ip_path key differs from the ip key");
	ok(k != rate_key(a, 1, ip1, "", 0), "an empty path is still an ip_path key");
	ok(rate_key(a, 1, ip1, "/login", 6) == rate_key(a, 1, ip1, "/login?x", 6),
	   "path_len bounds the path");
	ok(rate_key(a, 1, ip1, "/login", 6) != rate_key(a, 1, ip1, "/logout", 7),
	   "another path, another key");
	ok(k != rate_key(b, 1, ip1, NULL, 0), "another limiter (seed), another key");

	ok(passes_until_refused(a, login, &lim, T0, 10) == 2, "ip_path: 2 on /login");
	ok(passes_until_refused(a, home, &lim, T0, 10) == 2, "ip_path: / counts apart");
	ok(passes_until_refused(a, k, &lim, T0, 10) == 2, "ip: the address counts apart");
	ok(passes_until_refused(a, rate_key(a, 1, ip2, NULL, 0), &lim, T0, 10) == 2,
	   "ip: another address is not limited by the first");
	rate_limiter_free(a);
	rate_limiter_free(b);
}

static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	return mallinfo2().uordblks;
#else
	return 0;
#endif
}

static void test_flood(void)
{
	enum { FLOOD = 1000000 };
	struct rate_limiter *rl = rate_limiter_new(1024);
	struct rate_limit lim = {
	    .requests = 10, .per_seconds = 10, .burst = 0, .block_seconds = 60};
	uint8_t ip[16] = {[10] = 0xff, [11] = 0xff};
	uint64_t blocked = rate_key(rl, 1, ip, NULL, 0), before;
	enum rate_result r;
	unsigned retry = 0;
	size_t heap;

	ok(passes_until_refused(rl, blocked, &lim, T0, 100) == 10,
	   "victim: 10 pass, then EXCEEDED");
	heap = heap_in_use();
	for (uint32_t i = 1; i <= FLOOD; i++) {
		memcpy(ip + 12, &i, 4);
		rate_limiter_hit(rl, rate_key(rl, 1, ip, NULL, 0), &lim, T0 + 1000, &retry);
	}
	ok(rate_limiter_capacity(rl) == 1024, "capacity unchanged after 1,000,000 keys");
	ok(heap_in_use() == heap, "no heap growth during the flood");
	/* Every set fills (8 ways) long before the flood ends; after that each
	 * new key evicts a live entry: all but the first 1023 free ways. */
	ok(rate_limiter_evictions(rl) == FLOOD - 1023, "live evictions counted: %llu (expected %d)",
	   (unsigned long long)rate_limiter_evictions(rl), FLOOD - 1023);
	r = rate_limiter_hit(rl, blocked, &lim, T0 + 2000, &retry);
	ok(r == RATE_BLOCKED && retry == 58, "the blocked key survived the flood (retry %u)",
	   retry);

	before = rate_limiter_evictions(rl);
	for (uint32_t i = 1; i <= 10000; i++) {
		memcpy(ip + 12, &i, 4);
		ip[0] = 1; /* other keys */
		rate_limiter_hit(rl, rate_key(rl, 2, ip, NULL, 0), &lim, T0 + 3600000, &retry);
	}
	ok(rate_limiter_evictions(rl) - before == 10000 - 1024,
	   "an hour later stale entries are reused without counting them (%llu)",
	   (unsigned long long)(rate_limiter_evictions(rl) - before));
	rate_limiter_free(rl);
}

/* Eight blocked keys fill one set: a ninth key must still get an entry
 * (the least recent blocked one goes). Keys are set-mapped by the limiter,
 * so use a single-set table. */
static void test_all_blocked(void)
{
	struct rate_limiter *rl = rate_limiter_new(1);
	struct rate_limit lim = {
	    .requests = 1, .per_seconds = 10, .burst = 0, .block_seconds = 600};
	unsigned retry = 0;

	for (uint64_t k = 1; k <= RATE_WAYS; k++)
		hits(rl, k, &lim, T0 + k, 2);
	ok(rate_limiter_hit(rl, 100, &lim, T0 + 100, &retry) == RATE_PASS,
	   "a new key gets an entry in a set full of blocked keys");
	ok(rate_limiter_evictions(rl) == 1, "one live eviction");
	ok(rate_limiter_hit(rl, 1, &lim, T0 + 200, &retry) == RATE_PASS,
	   "the least recently seen blocked key was the one evicted");
	ok(rate_limiter_hit(rl, RATE_WAYS, &lim, T0 + 300, &retry) == RATE_BLOCKED,
	   "the most recent blocked key is still blocked");
	rate_limiter_free(rl);
}

struct hammer {
	struct rate_limiter *rl;
	const struct rate_limit *lim;
	atomic_uint *go;
	struct tally t;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;

	while (atomic_load(h->go) == 0)
		;
	h->t = hits(h->rl, 42, h->lim, T0, 50000);
	return NULL;
}

static void test_threads(void)
{
	struct rate_limiter *rl = rate_limiter_new(1024);
	struct rate_limit lim = {
	    .requests = 1000, .per_seconds = 60, .burst = 234, .block_seconds = 60};
	struct hammer h[4];
	pthread_t th[4];
	atomic_uint go = 0;
	struct tally sum = {0, 0, 0};

	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){rl, &lim, &go, {0, 0, 0}};
		pthread_create(&th[i], NULL, hammer_run, &h[i]);
	}
	atomic_store(&go, 1);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		sum.pass += h[i].t.pass;
		sum.exceeded += h[i].t.exceeded;
		sum.blocked += h[i].t.blocked;
	}
	ok(sum.pass == 1234, "4 threads x 50,000 hits on one key: exactly 1,234 passes (%u)",
	   sum.pass);
	ok(sum.exceeded == 1, "exactly one EXCEEDED (%u)", sum.exceeded);
	ok(sum.blocked == 200000 - 1235, "the rest BLOCKED (%u)", sum.blocked);
	rate_limiter_free(rl);
}

int main(void)
{
	test_capacity();
	test_exact_and_block();
	test_exceeded_retry();
	test_no_block();
	test_sliding();
	test_keys();
	test_flood();
	test_all_blocked();
	test_threads();
	return done_testing();
}
