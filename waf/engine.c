/* The compiled rule set. Building copies the enabled rules in evaluation
 * order (custom before preset, ascending ids), compiles each pattern once
 * (JIT when PCRE2 has it) and parses each CIDR list once; after that the
 * engine is immutable and any number of workers read it without locks.
 *
 * What matching needs per thread (PCRE2 match data, a match context with
 * the limits, a JIT stack, a buffer for transformed values, what is known
 * of the request's values, the header memo) is created on the thread's
 * first evaluation and kept until waf_thread_release, so evaluating a
 * request allocates nothing (the value buffer grows only when a value
 * longer than any before arrives, up to WAF_VALUE_MAX).
 *
 * Most of a request is ordinary text, and most conditions can be told it
 * cannot match without running them:
 * - the values of a target (its "source") are extracted once per request
 *   and summarised once (which kinds of bytes each holds, waf_summary)
 *   for every condition that reads them; a preset condition has a
 *   prefilter, what its pattern needs (waf_preset_prefilter), and skips
 *   a value that lacks it, or the whole target when the union does;
 * - a transform that provably changes nothing (url_decode without '%' or
 *   '+'...) is skipped, and a value no transform changes is matched in
 *   place, without a copy;
 * - a detector's answer on a value's own bytes is kept with the value:
 *   "decoded twice" rules ask again only when decoding changed something;
 * - header values repeat from request to request (a client sends the
 *   same User-Agent and Accept every time, and many clients send the
 *   same ones), and a preset condition depends on nothing but the value:
 *   each thread remembers, by the value itself, which preset conditions
 *   on headers did not match a recent header value (a match is always
 *   evaluated again, for its evidence).
 * Custom rules get no prefilter and no header memo: nothing is assumed of
 * them beyond what they say. */
#include "waf/engine_internal.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/log.h"
#include "waf/cidr.h"
#include "waf/detect.h"


/* A source's values in this request (gen): vals, and what is known of
 * them in info[first .. first + n) (n SIZE_MAX: they did not fit). any
 * is the union of their summaries, once summed. */
struct waf_src_slot {
	unsigned long long gen;
	size_t first, n;
	const struct waf_value *vals; /* r's own array, or copies */
	int summed;
	uint64_t any;
	unsigned clean; /* ASKED_ bits: that detector found nothing in any value */
};

/* A value of a source: its summary, what the detectors said about its
 * own bytes (ASKED_ bits, each followed by its answer), and its hash for
 * the header memo (0: not computed yet). */
enum { ASKED_SQLI = 1, ASKED_XSS = 4 };

struct waf_vinfo {
	uint64_t sum;
	unsigned noops; /* waf_transform_noops(sum) */
	unsigned asked;
	uint64_t hash;
};

/* A header value and the memo bits of the conditions of engine serial
 * evaluated on it: known, and among them those that matched. */
struct waf_memo {
	unsigned long long serial; /* 0: empty */
	uint64_t hash, known, hits;
	size_t len;
	char text[WAF_MEMO_TEXT];
};

/* One thread's matching state. */
struct waf_thread {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack; /* NULL when PCRE2 has no JIT */
	char *buf;                  /* transformed value */
	size_t buf_size;
	time_t next_warn; /* monotonic second before which limit hits stay quiet */
	struct waf_value scratch[WAF_MAX_ARGS];
	/* what is known of this request's values, emptied by bumping gen */
	unsigned long long gen;
	struct waf_src_slot srcs[WAF_MAX_SOURCES];
	struct waf_vinfo *info;   /* WAF_CACHE_VALUES */
	struct waf_value *copies; /* WAF_CACHE_VALUES: values that were in scratch */
	size_t n_info;
	struct waf_memo *memo;         /* WAF_MEMO_SLOTS; NULL: none */
	unsigned long long limit_hits; /* matches this thread gave up */
};

static _Thread_local struct waf_thread *waf_self;
static atomic_ullong waf_limit_hits;

/* ---- per-thread state */

void waf_thread_release(void)
{
	struct waf_thread *t = waf_self;

	if (t == NULL)
		return;
	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	pcre2_jit_stack_free(t->jit_stack);
	free(t->buf);
	free(t->info);
	free(t->copies);
	free(t->memo);
	free(t);
	waf_self = NULL;
}

static struct waf_thread *thread_state(void)
{
	struct waf_thread *t = waf_self;

	if (t != NULL)
		return t;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto fail;
	waf_self = t;
	t->md = pcre2_match_data_create(1, NULL); /* one pair: where the match starts */
	t->mctx = pcre2_match_context_create(NULL);
	t->buf = malloc(WAF_BUF_INITIAL);
	if (t->md == NULL || t->mctx == NULL || t->buf == NULL)
		goto fail;
	t->buf_size = WAF_BUF_INITIAL;
	pcre2_set_match_limit(t->mctx, WAF_MATCH_LIMIT);
	pcre2_set_depth_limit(t->mctx, WAF_DEPTH_LIMIT);
	/* NULL without JIT support: the interpreter needs no JIT stack */
	t->jit_stack = pcre2_jit_stack_create(WAF_JIT_STACK_MIN, WAF_JIT_STACK_MAX, NULL);
	if (t->jit_stack != NULL)
		pcre2_jit_stack_assign(t->mctx, NULL, t->jit_stack);
	/* touched only as far as values need; NULL just means no cache */
	t->info = malloc(WAF_CACHE_VALUES * sizeof(*t->info));
	t->copies = malloc(WAF_CACHE_VALUES * sizeof(*t->copies));
	t->memo = calloc(WAF_MEMO_SLOTS, sizeof(*t->memo));
	return t;
fail:
	waf_thread_release();
	log_error("waf: out of memory for the matching state; requests pass unchecked");
	return NULL;
}

/* Make room for a transformed value of len bytes. Rare: only when a value
 * is longer than every one before on this thread. Returns the usable size
 * (smaller than len when out of memory: the value is matched cut). */
static size_t thread_reserve(struct waf_thread *t, size_t len)
{
	size_t size = t->buf_size;
	char *bigger;

	if (len <= size)
		return len;
	while (size < len)
		size *= 2;
	bigger = realloc(t->buf, size);
	if (bigger == NULL)
		return t->buf_size;
	t->buf = bigger;
	t->buf_size = size;
	return len;
}

unsigned long long waf_match_limit_hits(void)
{
	return atomic_load_explicit(&waf_limit_hits, memory_order_relaxed);
}

/* Count a match that gave up, and say so at most once a second per thread. */
static void note_limit(struct waf_thread *t, long long rule_id, int rc)
{
	unsigned long long n = atomic_fetch_add_explicit(&waf_limit_hits, 1, memory_order_relaxed);
	t->limit_hits++;
	struct timespec now;
	PCRE2_UCHAR msg[128];

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < t->next_warn)
		return;
	t->next_warn = now.tv_sec + 1;
	if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "error %d", rc);
	log_warn("waf: rule %lld gave up matching a value (%s); that value did not match (%llu "
	         "limit hits since start)",
	         rule_id, (const char *)msg, n + 1);
}

/* ---- matching one value */

static int regex_match(const struct waf_ccond *cc, const char *s, size_t len, struct waf_thread *t,
                       long long rule_id, size_t *at)
{
	/* the JIT entry skips the interpreter's checks of its arguments */
	int rc = cc->jit ? pcre2_jit_match(cc->code, (PCRE2_SPTR)s, len, 0, 0, t->md, t->mctx)
	                 : pcre2_match(cc->code, (PCRE2_SPTR)s, len, 0, 0, t->md, t->mctx);

	if (rc >= 0) {
		*at = (size_t)pcre2_get_ovector_pointer(t->md)[0];
		return 1;
	}
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		note_limit(t, rule_id, rc);
	return 0;
}

static int ip_match(const struct waf_ccond *cc, const char *s, size_t len)
{
	struct ip_addr a;

	return ip_addr_parse(s, len, &a) == 0 && cidr_set_contains(cc->cidrs, &a);
}

/* 1 when the (transformed) value s matches the operator of cc; *at is
 * where the match starts (0 when the operator does not say). not_regex
 * answers whether the pattern matches: the caller negates over all
 * values. */
static int value_match(const struct waf_ccond *cc, const char *s, size_t len, struct waf_thread *t,
                       long long rule_id, size_t *at)
{
	const char *p;

	*at = 0;
	switch (cc->cond->op) {
	case WAF_OP_REGEX:
		return regex_match(cc, s, len, t, rule_id, at);
	case WAF_OP_EQUALS:
		return len == cc->value_len && memcmp(s, cc->cond->value, len) == 0;
	case WAF_OP_CONTAINS:
		p = memmem(s, len, cc->cond->value, cc->value_len);
		*at = p != NULL ? (size_t)(p - s) : 0;
		return p != NULL;
	case WAF_OP_LENGTH_GT:
		return len > cc->length;
	case WAF_OP_IP_IN:
		return ip_match(cc, s, len);
	case WAF_OP_DETECT_SQLI:
		return waf_detect_sqli(s, len);
	case WAF_OP_DETECT_XSS:
		return waf_detect_xss(s, len);
	default:
		return 0;
	}
}

/* The value after the condition's transforms, skipping those that
 * provably change nothing (noops: waf_transform_noops of v's summary; 0
 * when unknown): v's own bytes when none is left, else the thread's
 * buffer (valid until the next call). */
static const char *value_text(const struct waf_condition *c, const struct waf_value *v,
                              unsigned noops, struct waf_thread *t, size_t *len)
{
	size_t n = v->len < WAF_VALUE_MAX ? v->len : WAF_VALUE_MAX;

	*len = 0;
	if (v->data == NULL || n == 0)
		return "";
	n = thread_reserve(t, n);
	return waf_transform_skip(c->transforms, c->n_transforms, noops, v->data, n, t->buf, len);
}

/* The values of cc's source, extracted once per request (header walks,
 * copied out of scratch), with room for their summaries and memos: the
 * source's slot, or NULL when cc has none or they do not fit. */
static struct waf_src_slot *source_values(struct waf_thread *t, const struct waf_ccond *cc,
                                          const struct waf_value *vals, size_t n)
{
	struct waf_src_slot *slot;

	if (cc->src < 0 || t->info == NULL || t->copies == NULL)
		return NULL;
	slot = &t->srcs[cc->src];
	slot->gen = t->gen;
	slot->n = SIZE_MAX;
	if (n > WAF_CACHE_VALUES - t->n_info)
		return NULL;
	slot->first = t->n_info;
	slot->n = n;
	slot->summed = 0;
	slot->clean = 0;
	slot->vals = vals;
	if (vals == t->scratch) {
		memcpy(t->copies + slot->first, vals, n * sizeof(*vals));
		slot->vals = t->copies + slot->first;
	}
	for (size_t i = 0; i < n; i++) {
		t->info[t->n_info].asked = 0;
		t->info[t->n_info++].hash = 0;
	}
	return slot;
}

/* ---- the header memo */

static uint64_t memo_hash(const char *s, size_t len)
{
	uint64_t h = len * 0x9e3779b97f4a7c15ull, w;
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (i < len && len >= 8) { /* the last 8 bytes, overlapping */
		memcpy(&w, s + len - 8, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
	} else {
		for (; i < len; i++)
			h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

/* The memo of header value v (vi: its info, NULL when none) for the
 * engine of that serial: found, or a slot taken over for it. NULL when v
 * is not remembered (secret, long). */
static struct waf_memo *memo_find(struct waf_thread *t, unsigned long long serial,
                                  const struct waf_value *v, struct waf_vinfo *vi)
{
	struct waf_memo *m;
	uint64_t h;

	if (t->memo == NULL || v->secret || v->data == NULL || v->len > WAF_MEMO_TEXT)
		return NULL;
	h = vi != NULL && vi->hash != 0 ? vi->hash : memo_hash(v->data, v->len);
	if (vi != NULL)
		vi->hash = h;
	m = &t->memo[h % WAF_MEMO_SLOTS];
	if (m->serial == serial && m->hash == h && m->len == v->len &&
	    memcmp(m->text, v->data, v->len) == 0)
		return m;
	m->serial = serial;
	m->hash = h;
	m->len = v->len;
	m->known = m->hits = 0;
	memcpy(m->text, v->data, v->len);
	return m;
}

/* Summarise the source's values (once). */
static void source_sum(struct waf_thread *t, struct waf_src_slot *slot)
{
	if (slot->summed)
		return;
	slot->summed = 1;
	slot->any = 0;
	for (size_t i = 0; i < slot->n; i++) {
		const struct waf_value *v = &slot->vals[i];
		size_t len = v->len < WAF_VALUE_MAX ? v->len : WAF_VALUE_MAX;
		struct waf_vinfo *vi = &t->info[slot->first + i];

		if (v->has_sum && len == v->len)
			vi->sum = v->sum; /* the form decoder's, made as it scanned */
		else
			vi->sum = v->data != NULL ? waf_summary(v->data, len) : 0;
		vi->noops = waf_transform_noops(vi->sum);
		slot->any |= vi->sum;
	}
}

/* Does summary sum hold what a prefilter needs: every class of need_all
 * and one of need_any? (Yes for none: 0 and 0.) */
static int needs_met(uint64_t sum, uint64_t need_all, uint64_t need_any)
{
	return (sum & need_all) == need_all && (need_any == 0 || (sum & need_any));
}

/* Can a value of summary sum (after the transforms) match cc? Always
 * for a condition without a prefilter. */
static int prefilter_pass(const struct waf_ccond *cc, uint64_t sum)
{
	return needs_met(sum, cc->need_all, cc->need_any);
}

/* The same question before the transforms: a class in grows means they
 * may make anything, so only the transformed value can say no. */
static int may_match(const struct waf_ccond *cc, uint64_t sum)
{
	return (sum & cc->grows) != 0 || prefilter_pass(cc, sum);
}

/* ---- hits */

/* Copy len bytes with anything but printable ASCII as '.', so an excerpt
 * or a name is safe in a log line, JSON or a page. out has len + 1 bytes. */
static void copy_printable(char *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
	}
	out[len] = '\0';
}

/* "args:q", "args" (a name), "header:User-Agent", "cookies:session", "path". */
static void hit_target(char *out, size_t size, const struct waf_ccond *cc,
                       const struct waf_value *v)
{
	enum waf_target tg = cc->cond->target;
	const char *prefix = tg == WAF_TARGET_HEADERS ? "header" : waf_target_name(tg);
	const char *name = v != NULL ? v->name : NULL;
	size_t name_len = v != NULL ? v->name_len : 0;
	size_t n;

	if (tg == WAF_TARGET_HEADER) {
		name = cc->cond->header_name; /* as the rule writes it */
		name_len = cc->header_name_len;
	} else if (tg != WAF_TARGET_ARGS && tg != WAF_TARGET_COOKIES && tg != WAF_TARGET_HEADERS) {
		name = NULL;
	}
	if (name == NULL || name_len == 0) {
		snprintf(out, size, "%s", waf_target_name(tg));
		return;
	}
	n = (size_t)snprintf(out, size, "%s:", prefix);
	if (n >= size)
		return;
	if (name_len > size - n - 1)
		name_len = size - n - 1;
	copy_printable(out + n, name, name_len);
}

/* Up to WAF_EXCERPT_MAX bytes of s around at, where the match starts. */
static void hit_excerpt(char *out, const char *s, size_t len, size_t at, int secret)
{
	size_t start = at > WAF_EXCERPT_BEFORE ? at - WAF_EXCERPT_BEFORE : 0;
	size_t n;

	if (secret) {
		snprintf(out, WAF_EXCERPT_MAX + 1, "[redacted]");
		return;
	}
	/* near the end, show more of what precedes the match instead */
	if (len > WAF_EXCERPT_MAX && start > len - WAF_EXCERPT_MAX)
		start = len - WAF_EXCERPT_MAX;
	else if (len <= WAF_EXCERPT_MAX)
		start = 0;
	n = len - start < WAF_EXCERPT_MAX ? len - start : WAF_EXCERPT_MAX;
	copy_printable(out, s + start, n);
}

/* What a hit shows: the first condition that matched a value; a rule of
 * only not_regex conditions shows its first one. */
enum evidence { EVIDENCE_NONE, EVIDENCE_NEGATIVE, EVIDENCE_POSITIVE };

static void note_evidence(struct waf_hit *hit, enum evidence *have, enum evidence kind,
                          const struct waf_ccond *cc, const struct waf_value *v, const char *s,
                          size_t len, size_t at)
{
	if (*have >= kind)
		return;
	*have = kind;
	hit_target(hit->target, sizeof(hit->target), cc, v);
	hit_excerpt(hit->excerpt, s, len, at, v != NULL && v->secret);
}

/* ---- conditions and rules */

struct eval_ctx {
	struct waf_request *r;
	struct waf_thread *t;
	long long rule_id;
	struct waf_hit *hit;
	enum evidence have;
	const struct waf_value *vals; /* the current condition's values */
	struct waf_vinfo *info;       /* and what is known of them (NULL: none) */
	int summed;                   /* info holds their summaries */
	unsigned long long serial;    /* the engine's */
};

/* Value i of the current condition, transformed. Valid until the next
 * call. */
static const char *nth_text(struct eval_ctx *x, const struct waf_ccond *cc, size_t i, size_t *len)
{
	unsigned noops = x->summed ? x->info[i].noops : 0;
	const struct waf_value *v = &x->vals[i];

	/* nothing to do: the value itself */
	if ((cc->tmask & ~noops) == 0 && v->data != NULL) {
		*len = v->len < WAF_VALUE_MAX ? v->len : WAF_VALUE_MAX;
		return v->data;
	}
	return value_text(cc->cond, v, noops, x->t, len);
}

/* The detector (ASKED_ bit) cc asks, or 0. */
static unsigned detector_of(const struct waf_ccond *cc)
{
	return cc->cond->op == WAF_OP_DETECT_SQLI ? ASKED_SQLI
	       : cc->cond->op == WAF_OP_DETECT_XSS ? ASKED_XSS
	                                            : 0;
}

/* A detector on value i (transformed: s). The answer on the value's own
 * bytes is kept: a rule reading the same target through transforms that
 * change nothing gets it without running the detector again. */
static int detect(struct eval_ctx *x, const struct waf_ccond *cc, size_t i, const char *s,
                  size_t len)
{
	unsigned asked = detector_of(cc);
	struct waf_vinfo *vi = x->info != NULL && s == x->vals[i].data ? &x->info[i] : NULL;
	int hit;

	if (vi != NULL && (vi->asked & asked))
		return (vi->asked & (asked << 1)) != 0;
	if (asked == ASKED_XSS)
		hit = waf_detect_xss(s, len);
	else if (vi != NULL && x->summed && len <= WAF_VALUE_MAX)
		/* the summary of s's bytes, and the form scan's keys */
		hit = waf_detect_sqli_keyed(s, len, vi->sum,
		                            len == x->vals[i].len ? &x->vals[i].keys : NULL);
	else
		hit = waf_detect_sqli(s, len);
	if (vi != NULL)
		vi->asked |= asked | (hit ? asked << 1 : 0);
	return hit;
}

/* not_regex: the condition holds when no value matches the pattern (an
 * absent target has none). */
static int cond_not_regex(struct eval_ctx *x, const struct waf_ccond *cc, size_t n)
{
	const char *s = "";
	size_t len = 0, at;

	for (size_t i = 0; i < n; i++) {
		s = nth_text(x, cc, i, &len);
		if (regex_match(cc, s, len, x->t, x->rule_id, &at))
			return 0;
	}
	if (x->have != EVIDENCE_NONE)
		return 1;
	if (n > 0)
		s = nth_text(x, cc, 0, &len);
	note_evidence(x->hit, &x->have, EVIDENCE_NEGATIVE, cc, n > 0 ? &x->vals[0] : NULL, s, len,
	              0);
	return 1;
}

/* length_gt on the body counts the declared length: the inspected part
 * may be only the beginning. */
static int cond_body_length(struct eval_ctx *x, const struct waf_ccond *cc, size_t n)
{
	const char *s = "";
	size_t len = 0;

	if (x->r->body_total <= cc->length)
		return 0;
	if (x->have == EVIDENCE_POSITIVE)
		return 1;
	if (n > 0)
		s = value_text(cc->cond, &x->vals[0], 0, x->t, &len);
	note_evidence(x->hit, &x->have, EVIDENCE_POSITIVE, cc, n > 0 ? &x->vals[0] : NULL, s, len,
	              0);
	return 1;
}

/* Whether value i matches cc (positive operators); *at as value_match. */
static int value_i_match(struct eval_ctx *x, const struct waf_ccond *cc, size_t i, const char **s,
                         size_t *len, size_t *at)
{
	enum waf_operator op = cc->cond->op;

	*s = nth_text(x, cc, i, len);
	/* the transforms may have made what the pattern needs: look again */
	if (x->summed && (x->info[i].sum & cc->grows) && !prefilter_pass(cc, waf_summary(*s, *len)))
		return 0;
	if (cc->words != NULL && !cc->words(*s, *len))
		return 0;
	*at = 0;
	if (op == WAF_OP_DETECT_SQLI || op == WAF_OP_DETECT_XSS)
		return detect(x, cc, i, *s, *len);
	return value_match(cc, *s, *len, x->t, x->rule_id, at);
}

/* The values of cc's target: from the source's slot when an earlier
 * condition extracted them in this request. Sets x->vals, x->info,
 * x->summed and *src (NULL: no slot). */
static size_t cond_values(struct eval_ctx *x, const struct waf_ccond *cc, struct waf_src_slot **src)
{
	const struct waf_condition *c = cc->cond;
	struct waf_src_slot *slot = cc->src >= 0 ? &x->t->srcs[cc->src] : NULL;
	size_t n;

	if (slot != NULL && slot->gen == x->t->gen && slot->n != SIZE_MAX) {
		x->vals = slot->vals;
		n = slot->n;
	} else {
		n = waf_request_values(x->r, c->target, c->header_name, cc->header_name_len,
		                       &x->vals, x->t->scratch);
		slot = source_values(x->t, cc, x->vals, n);
	}
	x->info = slot != NULL ? &x->t->info[slot->first] : NULL;
	x->summed = 0;
	if (slot != NULL && cc->summed) {
		source_sum(x->t, slot);
		x->summed = 1;
	}
	*src = slot;
	return n;
}

/* value_i_match, through the prefilter and the header memo. */
static int value_i_check(struct eval_ctx *x, const struct waf_ccond *cc, size_t i, const char **s,
                         size_t *len, size_t *at)
{
	struct waf_memo *m;
	unsigned long long gave_up = x->t->limit_hits;
	int hit;

	if (x->summed && !may_match(cc, x->info[i].sum))
		return 0;
	m = cc->memo_bit != 0
	        ? memo_find(x->t, x->serial, &x->vals[i], x->info ? &x->info[i] : NULL)
	        : NULL;
	if (m != NULL && (m->known & cc->memo_bit) && !(m->hits & cc->memo_bit))
		return 0;
	hit = value_i_match(x, cc, i, s, len, at);
	/* a match that gave up says nothing about the next time */
	if (m != NULL && x->t->limit_hits == gave_up) {
		m->known |= cc->memo_bit;
		m->hits |= hit ? cc->memo_bit : 0;
	}
	return hit;
}

/* Whether cc reads every value of its source as it is: its transforms
 * change none of them. */
static int reads_own_bytes(const struct eval_ctx *x, const struct waf_ccond *cc,
                           const struct waf_src_slot *src)
{
	return x->summed && (cc->tmask & ~waf_transform_noops(src->any)) == 0;
}

/* After a detector matched none of the source's values: when it was asked
 * of every value's own bytes, another condition that reads them as they
 * are with the same detector ("decoded twice" rules on undecodable
 * values) is settled without going through the values again. */
static void note_clean(struct eval_ctx *x, struct waf_src_slot *src, unsigned asked, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((x->info[i].asked & (asked | asked << 1)) != asked)
			return;
	src->clean |= asked;
}

static int cond_eval(struct eval_ctx *x, const struct waf_ccond *cc)
{
	const struct waf_condition *c = cc->cond;
	struct waf_src_slot *src;
	size_t n = cond_values(x, cc, &src);
	unsigned asked = detector_of(cc);

	if (c->op == WAF_OP_LENGTH_GT && c->target == WAF_TARGET_BODY)
		return cond_body_length(x, cc, n);
	/* none of the target's values has what the pattern needs */
	if (x->summed && !may_match(cc, src->any))
		return 0;
	if (c->op == WAF_OP_NOT_REGEX)
		return cond_not_regex(x, cc, n);
	if (asked != 0 && x->summed && (src->clean & asked) && reads_own_bytes(x, cc, src))
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t len, at;
		const char *s;

		if (value_i_check(x, cc, i, &s, &len, &at)) {
			note_evidence(x->hit, &x->have, EVIDENCE_POSITIVE, cc, &x->vals[i], s, len,
			              at);
			return 1;
		}
	}
	if (asked != 0 && x->summed && reads_own_bytes(x, cc, src))
		note_clean(x, src, asked, n);
	return 0;
}

/* The rule's first condition cannot hold: the values of its source,
 * already summarised in this request, lack what its prefilter needs
 * (cond_eval's first test, read from the packed gates). */
static int gate_closed(const struct waf_thread *t, const struct waf_gate *g)
{
	const struct waf_src_slot *slot;

	if (g->src < 0)
		return 0;
	slot = &t->srcs[g->src];
	if (slot->gen != t->gen || slot->n == SIZE_MAX || !slot->summed)
		return 0;
	/* !may_match(conds[0], slot->any) */
	return (slot->any & g->grows) == 0 && !needs_met(slot->any, g->need_all, g->need_any);
}

static int rule_applies(const struct waf_crule *cr, long long app_id)
{
	return cr->rule.n_applications == 0 ||
	       bsearch(&app_id, cr->rule.applications, cr->rule.n_applications,
	               sizeof(*cr->rule.applications), waf_cmp_ll) != NULL;
}

/* 1 when every condition of cr matches; x->hit then describes the match. */
static int rule_match(struct eval_ctx *x, const struct waf_crule *cr)
{
	struct waf_hit *hit = x->hit;

	x->rule_id = cr->rule.id;
	x->have = EVIDENCE_NONE;
	for (size_t i = 0; i < cr->rule.n_conditions; i++)
		if (!cond_eval(x, &cr->conds[i]))
			return 0;
	hit->rule_id = cr->rule.id;
	hit->action = cr->rule.action;
	hit->description = cr->rule.description;
	return 1;
}

enum waf_verdict waf_engine_eval(const struct waf_engine *e, long long app_id,
                                 struct waf_request *r, waf_hit_fn fn, void *arg,
                                 struct waf_hit *block_hit, int all_hits)
{
	enum waf_verdict verdict = WAF_PASS;
	struct waf_thread *t;
	struct waf_hit hit;
	struct eval_ctx x = {.r = r, .hit = &hit};

	if (e == NULL || e->n_rules == 0 || (t = thread_state()) == NULL)
		return WAF_PASS;
	x.t = t;
	x.serial = e->serial;
	t->gen++; /* a new request: nothing cached yet */
	t->n_info = 0;
	for (size_t i = 0; i < e->n_rules; i++) {
		const struct waf_crule *cr = &e->rules[i];

		if (gate_closed(t, &e->gates[i]) || !rule_applies(cr, app_id) ||
		    !rule_match(&x, cr))
			continue;
		if (cr->rule.action != WAF_ACTION_LOG && verdict == WAF_PASS) {
			verdict = cr->rule.action == WAF_ACTION_BLOCK ? WAF_BLOCK : WAF_ALLOW;
			if (verdict == WAF_BLOCK && block_hit != NULL)
				*block_hit = hit;
			if (!all_hits)
				return verdict;
		}
		if (fn != NULL && fn(&hit, arg) != 0)
			break;
	}
	return verdict;
}
