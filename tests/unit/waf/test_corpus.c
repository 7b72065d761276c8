/* The attack and benign corpus (tests/waf/corpus.jsonl) through the preset
 * rule set: every attack must be blocked, every ordinary request must
 * pass. One check per corpus entry; the summary line counts detections
 * and false positives, per class too. Also checks the shape of the preset
 * list itself (stable ids in their ranges, unique, enabled, described).
 *
 * Corpus lines: {"id","expect":"block"|"pass","class","method","path"
 * (the raw request-target),"headers":{...},"body","content_type"}. The
 * request is built as the proxy hands it to the WAF: Host and the listed
 * headers, Content-Type when given, the body as the inspected part. */
#include "waf/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tests/unit/tap.h"

#define MAX_HEADERS 32
#define MAX_CLASSES 16

struct class_count {
	char name[16];
	int total, blocked;
};

static struct class_count classes[MAX_CLASSES];
static size_t n_classes;

static struct class_count *class_of(const char *name)
{
	size_t i;

	for (i = 0; i < n_classes; i++)
		if (strcmp(classes[i].name, name) == 0)
			return &classes[i];
	if (n_classes == MAX_CLASSES)
		return &classes[MAX_CLASSES - 1];
	snprintf(classes[n_classes].name, sizeof(classes[n_classes].name), "%s", name);
	return &classes[n_classes++];
}

static void set_header(struct http1_header *h, const char *name, const char *value)
{
	h->name = name;
	h->name_len = strlen(name);
	h->value = value;
	h->value_len = strlen(value);
}

/* Evaluate one corpus entry. Returns the verdict; *hit is the deciding
 * rule when blocked. -1 when the entry is malformed. */
static int eval_entry(const struct waf_engine *e, json_t *j, struct waf_hit *hit)
{
	static struct waf_request r;
	struct http1_header headers[MAX_HEADERS];
	const char *method = json_string_value(json_object_get(j, "method"));
	const char *target = json_string_value(json_object_get(j, "path"));
	json_t *hdrs = json_object_get(j, "headers"), *body = json_object_get(j, "body");
	const char *ctype = json_string_value(json_object_get(j, "content_type"));
	size_t n = 0, body_len = body ? json_string_length(body) : 0, arena_size;
	const char *key;
	json_t *v;
	char *arena;
	int verdict;

	if (method == NULL || target == NULL)
		return -1;
	set_header(&headers[n++], "Host", "example.com");
	json_object_foreach(hdrs, key, v)
	{
		if (n < MAX_HEADERS && json_is_string(v))
			set_header(&headers[n++], key, json_string_value(v));
	}
	if (ctype != NULL && n < MAX_HEADERS)
		set_header(&headers[n++], "Content-Type", ctype);
	arena_size = 2 * body_len + strlen(target) + 4096;
	arena = malloc(arena_size);
	if (arena == NULL)
		abort();
	waf_request_init(&r, arena, arena_size);
	r.method = method;
	r.method_len = strlen(method);
	r.target = target;
	r.target_len = strlen(target);
	r.headers = headers;
	r.n_headers = n;
	r.client_ip = "192.0.2.10";
	r.client_ip_len = strlen(r.client_ip);
	if (body != NULL) {
		r.body = json_string_value(body);
		r.body_len = body_len;
	}
	r.body_total = body_len;
	memset(hit, 0, sizeof(*hit));
	verdict = (int)waf_engine_eval(e, 1, &r, NULL, NULL, hit, 0);
	free(arena);
	return verdict;
}

static void check_presets(const struct waf_rule *rules, size_t n)
{
	size_t i, k;
	int shape = 1, unique = 1, ranges = 1;

	for (i = 0; i < n; i++) {
		const struct waf_rule *r = &rules[i];
		long long group = r->id / 1000;

		if (!r->preset || !r->enabled || r->action != WAF_ACTION_BLOCK ||
		    r->n_applications != 0 || r->n_conditions < 1 || r->description == NULL ||
		    strlen(r->description) < 10)
			shape = 0;
		if (r->id <= 0 || r->id >= WAF_FIRST_CUSTOM_ID || group < 1 || group > 6)
			ranges = 0;
		for (k = 0; k < i; k++)
			if (rules[k].id == r->id)
				unique = 0;
	}
	ok(n >= 20, "the preset set has %zu rules", n);
	ok(shape, "every preset is preset, enabled, blocking, for every application, described");
	ok(ranges, "every preset id sits in its class range (1000s .. 6000s)");
	ok(unique, "preset ids are unique");
}

int main(void)
{
	const char *srcdir = getenv("POSTERN_SRCDIR");
	char path[4096], line[1 << 16];
	struct waf_rule *rules = NULL;
	struct waf_engine *e;
	struct error err;
	size_t n_rules = 0, i;
	int attacks = 0, detected = 0, benign = 0, fps = 0, lineno = 0;
	FILE *f;

	if (waf_preset_rules(&rules, &n_rules) != 0) {
		ok(0, "waf_preset_rules");
		return done_testing();
	}
	check_presets(rules, n_rules);
	e = waf_engine_build(rules, n_rules, &err);
	ok(e != NULL, "the preset rules compile (%s)", e ? "ok" : err.message);
	if (e == NULL) {
		waf_rule_list_free(rules, n_rules);
		return done_testing();
	}
	snprintf(path, sizeof(path), "%s/tests/waf/corpus.jsonl", srcdir ? srcdir : ".");
	f = fopen(path, "r");
	ok(f != NULL, "open %s", path);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		json_error_t jerr;
		json_t *j;
		struct waf_hit hit;
		const char *id, *expect, *cls;
		char why[48];
		int verdict, block;

		lineno++;
		if (line[0] == '\n' || line[0] == '#')
			continue;
		j = json_loads(line, JSON_ALLOW_NUL, &jerr);
		if (j == NULL) {
			ok(0, "line %d is JSON: %s", lineno, jerr.text);
			continue;
		}
		id = json_string_value(json_object_get(j, "id"));
		expect = json_string_value(json_object_get(j, "expect"));
		cls = json_string_value(json_object_get(j, "class"));
		verdict = eval_entry(e, j, &hit);
		if (id == NULL || expect == NULL || cls == NULL || verdict < 0 ||
		    (strcmp(expect, "block") != 0 && strcmp(expect, "pass") != 0)) {
			ok(0, "line %d is a corpus entry", lineno);
			json_decref(j);
			continue;
		}
		block = strcmp(expect, "block") == 0;
		if (block) {
			struct class_count *c = class_of(cls);

			attacks++;
			c->total++;
			if (verdict == WAF_BLOCK) {
				detected++;
				c->blocked++;
			}
			if (verdict == WAF_BLOCK)
				snprintf(why, sizeof(why), "blocked by %lld", hit.rule_id);
			else
				snprintf(why, sizeof(why), "NOT blocked");
			ok(verdict == WAF_BLOCK, "%s (%s) %s: %.60s", id, cls, why,
			   json_string_value(json_object_get(j, "path")));
		} else {
			benign++;
			if (verdict == WAF_BLOCK)
				fps++;
			if (verdict == WAF_BLOCK)
				snprintf(why, sizeof(why), "BLOCKED by %lld", hit.rule_id);
			else
				snprintf(why, sizeof(why), "passes");
			ok(verdict != WAF_BLOCK, "%s %s: %.60s", id, why,
			   json_string_value(json_object_get(j, "path")));
			if (verdict == WAF_BLOCK)
				printf("#   %s matched %s: %s\n", id, hit.target, hit.excerpt);
		}
		json_decref(j);
	}
	if (f != NULL)
		fclose(f);
	ok(attacks >= 150 && benign >= 150, "corpus has %d attacks and %d ordinary requests",
	   attacks, benign);
	for (i = 0; i < n_classes; i++)
		printf("# corpus class %-10s detected %d/%d\n", classes[i].name, classes[i].blocked,
		       classes[i].total);
	printf("# corpus: detected %d/%d attacks, %d/%d false positives\n", detected, attacks, fps,
	       benign);
	waf_engine_free(e);
	waf_thread_release();
	waf_rule_list_free(rules, n_rules);
	return done_testing();
}
