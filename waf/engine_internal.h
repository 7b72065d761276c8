/* What waf/engine.c (matching) and waf/engine_build.c (compiling) share:
 * the compiled engine's layout and the matching limits. Internal to the
 * engine. */
#ifndef POSTERN_WAF_ENGINE_INTERNAL_H
#define POSTERN_WAF_ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "waf/cidr.h"
#include "waf/engine.h"

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

/* What the evaluation loop reads first of each rule, packed together: a
 * rule whose first condition has a prefilter on a source an earlier rule
 * already summarised is settled here without touching the rule (which
 * spans kilobytes, cold between requests). Exactly the first test of
 * that condition's own evaluation. */
struct waf_gate {
	uint64_t need_all, need_any, grows; /* conds[0]'s */
	int src;                            /* conds[0]'s source, -1: no gate */
};

struct waf_app_targets {
	long long app_id;
	unsigned targets;
};

struct waf_engine {
	struct waf_crule *rules; /* evaluation order */
	struct waf_gate *gates;  /* one per rule */
	size_t n_rules;
	const struct waf_condition *sources[WAF_MAX_SOURCES]; /* (target, header) pairs */
	size_t n_sources;
	unsigned all_targets;         /* read by the rules that apply to every application */
	struct waf_app_targets *apps; /* sorted by app_id; includes all_targets */
	size_t n_apps;
	unsigned long long serial; /* unique per engine: what a memo was made with */
	unsigned n_memo_bits;
};

/* qsort/bsearch order of long long (application ids). */
int waf_cmp_ll(const void *a, const void *b);

/* Unique per engine: what a header memo was made with. */
extern atomic_ullong waf_serials;

#endif
