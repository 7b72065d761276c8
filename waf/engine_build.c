/* Building the compiled rule set: the enabled rules copied in
 * evaluation order (custom before preset, ascending ids), each pattern
 * compiled once (JIT when PCRE2 has it), each CIDR list parsed once, the
 * preset prefilters and header-memo bits assigned, and the targets each
 * application's rules read. */
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

atomic_ullong waf_serials;

/* ---- building */

int waf_cmp_ll(const void *a, const void *b)
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

static int compile_regex(struct waf_ccond *cc, long long rule_id, struct error *err)
{
	char msg[320];

	cc->code = waf_regex_compile(cc->cond->value, cc->value_len, msg, sizeof(msg));
	if (cc->code == NULL) {
		error_set(err, "invalid_regex", "Rule %lld: %s", rule_id, msg);
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
	/* the SQL detector takes a long value's kinds of bytes from its
	 * summary (the same answer, one pass less) */
	cc->summed = (cc->tmask & waf_transform_noops(0)) != 0 ||
	             (c->op == WAF_OP_DETECT_SQLI && cc->src >= 0);
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
		if (waf_length_value(c->value, &cc->length) == 0)
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
		      sizeof(*cr->rule.applications), waf_cmp_ll);
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

/* waf_cmp_ll compares the leading app_id of two entries. */
static struct waf_app_targets *app_find(const struct waf_engine *e, long long app_id)
{
	struct waf_app_targets key = {app_id, 0};

	if (e->n_apps == 0)
		return NULL;
	return bsearch(&key, e->apps, e->n_apps, sizeof(*e->apps), waf_cmp_ll);
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
		qsort(e->apps, n, sizeof(*e->apps), waf_cmp_ll);
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

/* The gate of a rule: its first condition's prefilter, when that
 * condition reads summaries and its evaluation starts with the prefilter
 * (not a body length_gt, which counts the declared length). */
static void gate_build(struct waf_gate *g, const struct waf_crule *cr)
{
	const struct waf_ccond *cc = &cr->conds[0];

	g->src = -1;
	if (cr->rule.n_conditions == 0 || cc->src < 0 || !cc->summed ||
	    (cc->need_all == 0 && cc->need_any == 0) ||
	    (cc->cond->op == WAF_OP_LENGTH_GT && cc->cond->target == WAF_TARGET_BODY))
		return;
	g->src = cc->src;
	g->need_all = cc->need_all;
	g->need_any = cc->need_any;
	g->grows = cc->grows;
}

struct waf_engine *waf_engine_build(const struct waf_rule *rules, size_t n, struct error *err)
{
	struct waf_engine *e = calloc(1, sizeof(*e));
	const struct waf_rule **order = calloc(n ? n : 1, sizeof(*order));
	size_t k = 0;

	error_clear(err);
	if (e == NULL || order == NULL ||
	    (n > 0 && (e->rules = calloc(n, sizeof(*e->rules))) == NULL) ||
	    (e->gates = calloc(n ? n : 1, sizeof(*e->gates))) == NULL)
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
		gate_build(&e->gates[i], &e->rules[i]);
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
	free(e->gates);
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
