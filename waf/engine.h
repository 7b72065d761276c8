/* The compiled rule set workers match against: built once on the control
 * thread whenever rules change (PCRE2 with JIT where available), then
 * immutable and shared by every worker through the snapshot.
 *
 * Matching uses per-thread PCRE2 match data and JIT stacks (created on a
 * thread's first match, freed by waf_thread_release), a match limit and a
 * depth limit: a pathological pattern or input gives up (counted and
 * logged, the condition does not match) instead of stalling the worker.
 * Evaluation never allocates except for that per-thread state.
 *
 * Order: custom rules (ascending id) before presets (ascending id), so an
 * administrator's "allow" rule can exempt traffic from a preset. A rule
 * applies to a request when its applications list is empty or names the
 * request's application; all its conditions must match. "allow" stops
 * evaluation with no event; "block" stops it; "log" records and goes on. */
#ifndef POSTERN_WAF_ENGINE_H
#define POSTERN_WAF_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "waf/request.h"
#include "waf/rule.h"

#define WAF_EXCERPT_MAX 128

struct waf_engine;

/* Compile rules (disabled ones are skipped). Returns the engine or NULL
 * with err ("invalid_regex" naming the rule id, PCRE2's message and
 * offset; "internal"). */
struct waf_engine *waf_engine_build(const struct waf_rule *rules, size_t n, struct error *err);
void waf_engine_free(struct waf_engine *e); /* NULL is fine */

/* Which targets the rules that apply to app_id read: bit (1u << enum
 * waf_target). Lets the proxy skip buffering a body no rule reads. */
unsigned waf_engine_targets(const struct waf_engine *e, long long app_id);

/* One rule that matched. */
struct waf_hit {
	long long rule_id;
	enum waf_action action;
	const char *description;   /* borrowed from the engine */
	char target[80];           /* "args:q", "header:User-Agent", "path", ... */
	char excerpt[WAF_EXCERPT_MAX + 1]; /* the matched value (transformed) around the
					      match, "[redacted]" for secrets */
};

/* Called for each hit, in evaluation order; return nonzero to stop. */
typedef int (*waf_hit_fn)(const struct waf_hit *hit, void *arg);

enum waf_verdict {
	WAF_PASS,  /* no blocking rule matched (log hits may have been reported) */
	WAF_BLOCK, /* a block rule matched: *hit_out is it */
	WAF_ALLOW, /* an allow rule matched first */
	WAF_VERDICT_MAX
};

/* Evaluate the rules for app_id against r. Every log hit is reported
 * through fn (may be NULL); the deciding block hit is copied to *block_hit.
 * all_hits (the test endpoint): keep evaluating after a block or allow and
 * report every matching rule through fn; the verdict is still the first
 * decision. Per-thread state is created on first use: returns WAF_PASS
 * when that fails (logged). */
enum waf_verdict waf_engine_eval(const struct waf_engine *e, long long app_id,
				 struct waf_request *r, waf_hit_fn fn, void *arg,
				 struct waf_hit *block_hit, int all_hits);

/* Times a match gave up (match, depth, heap or JIT stack limit), process
 * wide. Such a value counts as not matching the pattern: a regex
 * condition does not match it, a not_regex condition is not stopped by
 * it. */
unsigned long long waf_match_limit_hits(void);

/* Free the calling thread's match data, JIT stack and buffers; a thread
 * that evaluated calls it before it exits (the next evaluation on the
 * thread creates them again). */
void waf_thread_release(void);

/* ---- internal: between the engine and the preset rules (waf/preset.c) */

/* What a preset's condition needs before it can match a value (after the
 * condition's transforms). */
struct waf_prefilter {
	uint64_t all, any; /* waf_summary classes: every one of all, one of any
	                      (any 0: no such requirement) */
	int (*words)(const char *s, size_t len); /* NULL, or 0 when the value
	                                            lacks every word the
	                                            pattern needs */
};

/* The prefilter of a preset's condition c, found by its operator and its
 * pattern text (a condition that differs from every shipped one has
 * none). Returns 1 and fills *out, or 0. */
int waf_preset_prefilter(const struct waf_condition *c, struct waf_prefilter *out);

#endif
