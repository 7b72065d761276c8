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
#include "waf/engine.h"

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

/* A match gives up after this many backtracking steps or this nesting
 * depth: far above what real patterns need on real input, far below what
 * would hold a worker for noticeable time. */
#define WAF_MATCH_LIMIT    100000
#define WAF_DEPTH_LIMIT    1000
#define WAF_JIT_STACK_MIN  (32 * 1024)
#define WAF_JIT_STACK_MAX  (512 * 1024)
#define WAF_VALUE_MAX      (1024 * 1024) /* longer values are matched on their first 1 MiB */
#define WAF_BUF_INITIAL    (64 * 1024)
#define WAF_EXCERPT_BEFORE 32 /* context kept before the match in an excerpt */
/* What is known of a request's values is kept for the rest of it:
 * conditions that read the same target (a preset set mostly reads a few)
 * share it. Past these bounds a condition goes without. */
#define WAF_MAX_SOURCES  32
#define WAF_CACHE_VALUES 16384 /* 32 sources of WAF_MAX_ARGS values */
#define WAF_MEMO_SLOTS   64  /* header values remembered per thread */
#define WAF_MEMO_TEXT    256 /* longer header values are not */

/* A condition ready to match; cond points into the rule's own copy. */
struct waf_ccond {
	const struct waf_condition *cond;
	size_t header_name_len;
	size_t value_len;
	pcre2_code *code;          /* regex, not_regex */
	int jit;                   /* code was JIT-compiled: pcre2_jit_match */
	unsigned long long length; /* length_gt */
	struct cidr_set *cidrs;    /* ip_in */
	int src;                   /* value source (summaries), -1: none */
	int summed;                /* reads summaries: has a prefilter, or transforms
	                              that may be skipped */
	unsigned tmask;            /* bit per transform in its list */
	/* prefilter (0 and 0 for none): a value can match only when it holds
	 * every class of need_all and one of need_any; when its input holds
	 * a class of grows, the transforms may have made any byte, and only
	 * the transformed value tells */
	uint64_t need_all, need_any, grows;
	int (*words)(const char *s, size_t len); /* the prefilter's word check */
	uint64_t memo_bit; /* its bit in the header memo (0: not remembered) */
};

struct waf_crule {
	struct waf_rule rule; /* deep copy; applications sorted for bsearch */
	struct waf_ccond conds[WAF_MAX_CONDITIONS];
	unsigned targets; /* bit per target its conditions read */
};

struct waf_app_targets {
	long long app_id;
	unsigned targets;
};

struct waf_engine {
	struct waf_crule *rules; /* evaluation order */
	size_t n_rules;
	const struct waf_condition *sources[WAF_MAX_SOURCES]; /* (target, header) pairs */
	size_t n_sources;
	unsigned all_targets;         /* read by the rules that apply to every application */
	struct waf_app_targets *apps; /* sorted by app_id; includes all_targets */
	size_t n_apps;
	unsigned long long serial; /* unique per engine: what a memo was made with */
	unsigned n_memo_bits;
};

static atomic_ullong waf_serials;

/* A source's values in this request (gen): vals, and what is known of
 * them in info[first .. first + n) (n SIZE_MAX: they did not fit). any
 * is the union of their summaries, once summed. */
struct waf_src_slot {
	unsigned long long gen;
	size_t first, n;
	const struct waf_value *vals; /* r's own array, or copies */
	int summed;
	uint64_t any;
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

/* ---- building */

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Custom rules first, so an administrator's allow can exempt traffic from
 * a preset; ascending ids within each group. */
static int rule_order(const void *a, const void *b)
{
	const struct waf_rule *x = *(const struct waf_rule *const *)a;
	const struct waf_rule *y = *(const struct waf_rule *const *)b;
	int xc = x->id >= WAF_FIRST_CUSTOM_ID, yc = y->id >= WAF_FIRST_CUSTOM_ID;

	if (xc != yc)
		return yc - xc;
	return (x->id > y->id) - (x->id < y->id);
}

static int parse_count(const char *s, unsigned long long *out)
{
	unsigned long long n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > (ULLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (unsigned)(*s - '0');
	}
	*out = n;
	return 0;
}

static int compile_regex(struct waf_ccond *cc, long long rule_id, struct error *err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE offset;
	int code;

	/* the options waf_rule_from_json checked the pattern with */
	cc->code = pcre2_compile((PCRE2_SPTR)cc->cond->value, cc->value_len, PCRE2_NEVER_UTF, &code,
	                         &offset, NULL);
	if (cc->code == NULL) {
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		error_set(err, "invalid_regex", "Rule %lld: PCRE2 error at offset %zu: %s", rule_id,
		          (size_t)offset, (const char *)msg);
		return -1;
	}
	/* without JIT (not built in, or no executable memory) the interpreter
	 * runs the same pattern under the same limits */
	cc->jit = pcre2_jit_compile(cc->code, PCRE2_JIT_COMPLETE) == 0;
	return 0;
}

/* Conditions reading the same target (header names ignoring case) share
 * a source: its values are summarised once per request. Returns the
 * source or -1 (too many). */
static int value_source(struct waf_engine *e, const struct waf_condition *c)
{
	for (size_t i = 0; i < e->n_sources; i++)
		if (e->sources[i]->target == c->target &&
		    strcasecmp(e->sources[i]->header_name, c->header_name) == 0)
			return (int)i;
	if (e->n_sources == WAF_MAX_SOURCES)
		return -1;
	e->sources[e->n_sources] = c;
	return (int)e->n_sources++;
}

/* A preset's prefilter, and which of its input classes let its
 * transforms make bytes the input did not have. Custom rules have none:
 * they run exactly as written. */
static void prefilter_build(struct waf_ccond *cc, const struct waf_rule *r)
{
	const struct waf_condition *c = cc->cond;
	struct waf_prefilter pf;

	for (size_t k = 0; k < c->n_transforms; k++)
		cc->tmask |= 1u << c->transforms[k];
	cc->summed = (cc->tmask & waf_transform_noops(0)) != 0;
	if (!r->preset || cc->src < 0 || !waf_preset_prefilter(c, &pf))
		return;
	cc->summed = 1;
	cc->need_all = pf.all;
	cc->need_any = pf.any;
	cc->words = pf.words;
	for (size_t k = 0; k < c->n_transforms; k++)
		cc->grows |= waf_transform_grows((enum waf_transform)c->transforms[k]);
}

/* A preset condition on headers that depends on the value alone gets a
 * bit in the header memo (the first 64 of them). */
static void memo_build(struct waf_engine *e, struct waf_ccond *cc, const struct waf_rule *r)
{
	enum waf_target tg = cc->cond->target;
	enum waf_operator op = cc->cond->op;

	if (r->preset && e->n_memo_bits < 64 &&
	    (tg == WAF_TARGET_HEADER || tg == WAF_TARGET_HEADERS || tg == WAF_TARGET_USER_AGENT) &&
	    (op == WAF_OP_REGEX || op == WAF_OP_DETECT_SQLI || op == WAF_OP_DETECT_XSS))
		cc->memo_bit = 1ull << e->n_memo_bits++;
}

static int ccond_build(struct waf_ccond *cc, const struct waf_condition *c, long long rule_id,
                       struct error *err)
{
	cc->cond = c;
	cc->header_name_len = strlen(c->header_name);
	cc->value_len = strlen(c->value);
	switch (c->op) {
	case WAF_OP_REGEX:
	case WAF_OP_NOT_REGEX:
		return compile_regex(cc, rule_id, err);
	case WAF_OP_LENGTH_GT:
		if (parse_count(c->value, &cc->length) == 0)
			return 0;
		error_set(err, "invalid_rule", "Rule %lld: length_gt needs a decimal number.",
		          rule_id);
		return -1;
	case WAF_OP_IP_IN:
		cc->cidrs = cidr_set_parse_list(c->value, cc->value_len, err);
		return cc->cidrs != NULL ? 0 : -1;
	default:
		return 0;
	}
}

static void ccond_free(struct waf_ccond *cc)
{
	pcre2_code_free(cc->code);
	cc->code = NULL;
	cidr_set_free(cc->cidrs);
	cc->cidrs = NULL;
}

/* Fill cr (zeroed) from src. On failure cr holds what was built so far,
 * for crule_free. */
static int crule_build(struct waf_engine *e, struct waf_crule *cr, const struct waf_rule *src,
                       struct error *err)
{
	if (waf_rule_copy(&cr->rule, src) < 0) {
		error_set(err, "internal", "Out of memory while compiling the WAF rules.");
		return -1;
	}
	if (cr->rule.n_applications > 1)
		qsort(cr->rule.applications, cr->rule.n_applications,
		      sizeof(*cr->rule.applications), cmp_ll);
	for (size_t i = 0; i < cr->rule.n_conditions; i++) {
		if (ccond_build(&cr->conds[i], &cr->rule.conditions[i], src->id, err) < 0)
			return -1;
		cr->conds[i].src = value_source(e, &cr->rule.conditions[i]);
		prefilter_build(&cr->conds[i], &cr->rule);
		memo_build(e, &cr->conds[i], &cr->rule);
		cr->targets |= 1u << cr->rule.conditions[i].target;
	}
	return 0;
}

static void crule_free(struct waf_crule *cr)
{
	for (size_t i = 0; i < WAF_MAX_CONDITIONS; i++)
		ccond_free(&cr->conds[i]);
	waf_rule_free(&cr->rule);
}

/* cmp_ll compares the leading app_id of two entries. */
static struct waf_app_targets *app_find(const struct waf_engine *e, long long app_id)
{
	struct waf_app_targets key = {app_id, 0};

	if (e->n_apps == 0)
		return NULL;
	return bsearch(&key, e->apps, e->n_apps, sizeof(*e->apps), cmp_ll);
}

/* The target masks: every application named by a rule gets its own, the
 * rest share all_targets. */
static int build_app_targets(struct waf_engine *e)
{
	size_t total = 0, n = 0;

	for (size_t i = 0; i < e->n_rules; i++)
		total += e->rules[i].rule.n_applications;
	if (total > 0 && (e->apps = calloc(total, sizeof(*e->apps))) == NULL)
		return -1;
	for (size_t i = 0; i < e->n_rules; i++) {
		const struct waf_crule *cr = &e->rules[i];

		if (cr->rule.n_applications == 0)
			e->all_targets |= cr->targets;
		for (size_t k = 0; k < cr->rule.n_applications; k++)
			e->apps[n++].app_id = cr->rule.applications[k];
	}
	if (n > 0)
		qsort(e->apps, n, sizeof(*e->apps), cmp_ll);
	e->n_apps = 0;
	for (size_t i = 0; i < n; i++)
		if (e->n_apps == 0 || e->apps[e->n_apps - 1].app_id != e->apps[i].app_id)
			e->apps[e->n_apps++] =
			    (struct waf_app_targets){e->apps[i].app_id, e->all_targets};
	for (size_t i = 0; i < e->n_rules; i++)
		for (size_t k = 0; k < e->rules[i].rule.n_applications; k++)
			app_find(e, e->rules[i].rule.applications[k])->targets |=
			    e->rules[i].targets;
	return 0;
}

struct waf_engine *waf_engine_build(const struct waf_rule *rules, size_t n, struct error *err)
{
	struct waf_engine *e = calloc(1, sizeof(*e));
	const struct waf_rule **order = calloc(n ? n : 1, sizeof(*order));
	size_t k = 0;

	error_clear(err);
	if (e == NULL || order == NULL ||
	    (n > 0 && (e->rules = calloc(n, sizeof(*e->rules))) == NULL))
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (rules[i].enabled)
			order[k++] = &rules[i];
	/* sorted before building: a built rule points into itself and must not move */
	qsort(order, k, sizeof(*order), rule_order);
	for (size_t i = 0; i < k; i++) {
		e->n_rules = i + 1;
		if (crule_build(e, &e->rules[i], order[i], err) < 0)
			goto fail;
	}
	if (build_app_targets(e) < 0)
		goto oom;
	e->serial = atomic_fetch_add_explicit(&waf_serials, 1, memory_order_relaxed) + 1;
	free(order);
	return e;
oom:
	error_set(err, "internal", "Out of memory while compiling the WAF rules.");
fail:
	free(order);
	waf_engine_free(e);
	return NULL;
}

void waf_engine_free(struct waf_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n_rules; i++)
		crule_free(&e->rules[i]);
	free(e->rules);
	free(e->apps);
	free(e);
}

unsigned waf_engine_targets(const struct waf_engine *e, long long app_id)
{
	const struct waf_app_targets *a;

	if (e == NULL)
		return 0;
	a = app_find(e, app_id);
	return a != NULL ? a->targets : e->all_targets;
}

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

		vi->sum = v->data != NULL ? waf_summary(v->data, len) : 0;
		vi->noops = waf_transform_noops(vi->sum);
		slot->any |= vi->sum;
	}
}

/* Can a value of summary sum (after the transforms) match cc? Always
 * for a condition without a prefilter. */
static int prefilter_pass(const struct waf_ccond *cc, uint64_t sum)
{
	return (sum & cc->need_all) == cc->need_all && (cc->need_any == 0 || (sum & cc->need_any));
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

/* A detector on value i (transformed: s). The answer on the value's own
 * bytes is kept: a rule reading the same target through transforms that
 * change nothing gets it without running the detector again. */
static int detect(struct eval_ctx *x, const struct waf_ccond *cc, size_t i, const char *s,
                  size_t len)
{
	unsigned asked = cc->cond->op == WAF_OP_DETECT_SQLI ? ASKED_SQLI : ASKED_XSS;
	struct waf_vinfo *vi = x->info != NULL && s == x->vals[i].data ? &x->info[i] : NULL;
	int hit;

	if (vi != NULL && (vi->asked & asked))
		return (vi->asked & (asked << 1)) != 0;
	hit = asked == ASKED_SQLI ? waf_detect_sqli(s, len) : waf_detect_xss(s, len);
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

static int cond_eval(struct eval_ctx *x, const struct waf_ccond *cc)
{
	const struct waf_condition *c = cc->cond;
	struct waf_src_slot *src;
	size_t n = cond_values(x, cc, &src);

	if (c->op == WAF_OP_LENGTH_GT && c->target == WAF_TARGET_BODY)
		return cond_body_length(x, cc, n);
	/* none of the target's values has what the pattern needs */
	if (x->summed && !may_match(cc, src->any))
		return 0;
	if (c->op == WAF_OP_NOT_REGEX)
		return cond_not_regex(x, cc, n);
	for (size_t i = 0; i < n; i++) {
		size_t len, at;
		const char *s;

		if (value_i_check(x, cc, i, &s, &len, &at)) {
			note_evidence(x->hit, &x->have, EVIDENCE_POSITIVE, cc, &x->vals[i], s, len,
			              at);
			return 1;
		}
	}
	return 0;
}

static int rule_applies(const struct waf_crule *cr, long long app_id)
{
	return cr->rule.n_applications == 0 ||
	       bsearch(&app_id, cr->rule.applications, cr->rule.n_applications,
	               sizeof(*cr->rule.applications), cmp_ll) != NULL;
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

		if (!rule_applies(cr, app_id) || !rule_match(&x, cr))
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
