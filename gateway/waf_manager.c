/* WAF rules as administrators see them (presets merged with custom rules)
 * and the dry run behind POST /api/v1/waf/test and `postern waf test`. */
#include "gateway/waf_manager.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http1.h"
#include "gateway/model_json.h"
#include "waf/app_policy.h"
#include "waf/cidr.h"
#include "waf/engine.h"
#include "waf/request.h"

static int oom(struct error *err)
{
	error_set(err, "internal", "out of memory");
	return -1;
}

static void set_field(char field[WAF_FIELD_MAX], const char *name)
{
	if (field != NULL)
		snprintf(field, WAF_FIELD_MAX, "%s", name ? name : "");
}

static int rule_cmp(const void *a, const void *b)
{
	long long x = ((const struct waf_rule *)a)->id, y = ((const struct waf_rule *)b)->id;

	return x < y ? -1 : x > y;
}

/* ---- the merged list */

/* The preset rules with the enabled state stored for each. */
static int presets_load(struct instance *inst, struct waf_rule **list, size_t *n,
			struct error *err)
{
	long long *off = NULL;
	size_t n_off = 0;

	*list = NULL;
	*n = 0;
	if (store_waf_preset_disabled(inst->store, &off, &n_off, err) != 0)
		return -1;
	if (waf_preset_rules(list, n) != 0) {
		free(off);
		return oom(err);
	}
	for (size_t i = 0; i < *n; i++) {
		(*list)[i].enabled = 1;
		for (size_t j = 0; j < n_off; j++)
			if (off[j] == (*list)[i].id)
				(*list)[i].enabled = 0;
	}
	free(off);
	return 0;
}

int waf_manager_rules(struct instance *inst, struct waf_rule **list, size_t *n,
		      struct error *err)
{
	struct waf_rule *presets = NULL, *custom = NULL, *all;
	size_t n_presets = 0, n_custom = 0;

	*list = NULL;
	*n = 0;
	if (presets_load(inst, &presets, &n_presets, err) != 0)
		return -1;
	if (store_waf_rule_list(inst->store, &custom, &n_custom, err) != 0) {
		waf_rule_list_free(presets, n_presets);
		return -1;
	}
	all = n_presets + n_custom ? realloc(presets, (n_presets + n_custom) * sizeof(*all))
				   : presets;
	if (all == NULL && n_presets + n_custom > 0) {
		waf_rule_list_free(presets, n_presets);
		waf_rule_list_free(custom, n_custom);
		return oom(err);
	}
	if (n_custom > 0)
		memcpy(all + n_presets, custom, n_custom * sizeof(*all)); /* moved, not copied */
	free(custom);
	if (all != NULL)
		qsort(all, n_presets + n_custom, sizeof(*all), rule_cmp);
	*list = all;
	*n = n_presets + n_custom;
	return 0;
}

/* Preset rule id, with its state, copied into *out. 1 when found, 0 when
 * id is no preset, -1 with err. */
static int preset_find(struct instance *inst, long long id, struct waf_rule *out,
		       struct error *err)
{
	struct waf_rule *list;
	size_t n;
	int rc = 0;

	if (presets_load(inst, &list, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (list[i].id == id)
			rc = waf_rule_copy(out, &list[i]) == 0 ? 1 : oom(err);
	waf_rule_list_free(list, n);
	return rc;
}

static int rule_missing(long long id, struct error *err)
{
	error_set(err, "not_found", "WAF rule %lld does not exist", id);
	return -1;
}

int waf_manager_get(struct instance *inst, long long id, struct waf_rule *out,
		    struct error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (id > WAF_FIRST_CUSTOM_ID)
		return store_waf_rule_get(inst->store, id, out, err);
	rc = preset_find(inst, id, out, err);
	return rc == 1 ? 0 : rc == 0 ? rule_missing(id, err) : -1;
}

/* ---- changes */

static int invalid_rule(struct error *err, char field[WAF_FIELD_MAX], const char *name,
			const char *message)
{
	error_set(err, "invalid_rule", "%s", message);
	set_field(field, name);
	return -1;
}

/* Decode body into *r; the members only postern sets are checked first:
 * "id" (allowed only as want_id, 0 for none) and "preset" (false). */
static int decode_custom(const json_t *body, long long want_id, struct waf_rule *r,
			 struct error *err, char field[WAF_FIELD_MAX])
{
	json_t *id = json_object_get(body, "id"), *preset = json_object_get(body, "preset");
	const char *bad = NULL;

	if (!json_is_object(body))
		return invalid_rule(err, field, "", "A rule is a JSON object.");
	if (id != NULL && want_id == 0)
		return invalid_rule(err, field, "id", "A new rule gets its id from postern; "
				    "remove \"id\".");
	if (id != NULL && (!json_is_integer(id) || json_integer_value(id) != want_id))
		return invalid_rule(err, field, "id", "\"id\" must be the id in the URL (or be "
				    "left out).");
	if (preset != NULL && !json_is_false(preset))
		return invalid_rule(err, field, "preset", "Only the rules shipped with postern "
				    "are presets; leave \"preset\" out or false.");
	if (waf_rule_from_json(body, r, err, &bad) != 0) {
		set_field(field, bad);
		return -1;
	}
	r->id = want_id;
	r->preset = 0;
	return 0;
}

int waf_manager_create(struct instance *inst, const json_t *body, const struct store_actor *who,
		       struct waf_rule *out, struct error *err, char field[WAF_FIELD_MAX])
{
	error_clear(err);
	set_field(field, "");
	memset(out, 0, sizeof(*out));
	if (decode_custom(body, 0, out, err, field) != 0)
		return -1;
	if (store_waf_rule_insert(inst->store, out, who, err) != 0) {
		waf_rule_free(out);
		return -1;
	}
	return 0;
}

static int preset_only(struct error *err, char field[WAF_FIELD_MAX], const char *name)
{
	error_set(err, "preset_rule", "preset rules can only be enabled or disabled");
	set_field(field, name);
	return -1;
}

/* {"enabled": bool} for preset rule id (found in *out). */
static int replace_preset(struct instance *inst, const json_t *body,
			  const struct store_actor *who, struct waf_rule *out, struct error *err,
			  char field[WAF_FIELD_MAX])
{
	const char *key;
	json_t *v, *enabled = json_object_get(body, "enabled");

	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "enabled") != 0)
			return preset_only(err, field, key);
	}
	if (!json_is_boolean(enabled))
		return preset_only(err, field, "enabled");
	if (store_waf_preset_set(inst->store, out->id, json_is_true(enabled), who, err) != 0)
		return -1;
	out->enabled = json_is_true(enabled);
	return 0;
}

int waf_manager_replace(struct instance *inst, long long id, const json_t *body,
			const struct store_actor *who, struct waf_rule *out, struct error *err,
			char field[WAF_FIELD_MAX])
{
	int rc;

	error_clear(err);
	set_field(field, "");
	if (waf_manager_get(inst, id, out, err) != 0)
		return -1;
	if (out->preset) {
		rc = json_is_object(body) ? replace_preset(inst, body, who, out, err, field)
					  : preset_only(err, field, "");
	} else {
		waf_rule_free(out);
		rc = decode_custom(body, id, out, err, field);
		if (rc == 0 && (rc = store_waf_rule_update(inst->store, out, who, err)) != 0)
			waf_rule_free(out);
		return rc;
	}
	if (rc != 0)
		waf_rule_free(out);
	return rc;
}

int waf_manager_delete(struct instance *inst, long long id, const struct store_actor *who,
		       struct error *err)
{
	struct waf_rule r;
	int rc;

	error_clear(err);
	if (id > WAF_FIRST_CUSTOM_ID)
		return store_waf_rule_delete(inst->store, id, who, err);
	rc = preset_find(inst, id, &r, err);
	if (rc <= 0)
		return rc == 0 ? rule_missing(id, err) : -1;
	waf_rule_free(&r);
	error_set(err, "preset_rule", "preset rule %lld cannot be deleted; disable it instead "
		  "(PUT {\"enabled\":false})", id);
	return -1;
}

/* ---- the dry run */

/* The request text split as the gateway would read it. */
struct test_input {
	struct http1_request head;
	char *text;         /* the request, NUL-terminated (a copy, maybe completed) */
	size_t len;
	size_t head_len;
	char *body;         /* the inspected body, dechunked (malloc'd; NULL: none) */
	size_t body_len;
	unsigned long long body_total;
};

static void input_free(struct test_input *in)
{
	free(in->text);
	free(in->body);
	memset(in, 0, sizeof(*in));
}

static int bad_request(struct error *err, char field[WAF_FIELD_MAX], const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad_request(struct error *err, char field[WAF_FIELD_MAX], const char *fmt, ...)
{
	va_list ap;

	error_set(err, "invalid_request", "%s", "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	set_field(field, "request");
	return -1;
}

/* Parse the head; a text that stops before the empty line after the
 * headers (as people paste a request) is completed with one. */
static int parse_head(struct test_input *in, struct error *err, char field[WAF_FIELD_MAX])
{
	int status = 0, rc = http1_parse_request(in->text, in->len, &in->head, &status);

	if (rc == HTTP1_INCOMPLETE) {
		memcpy(in->text + in->len, "\r\n\r\n", 5);
		rc = http1_parse_request(in->text, in->len + 4, &in->head, &status);
		if (rc > 0)
			in->len += 4;
	}
	if (rc == HTTP1_INCOMPLETE)
		return bad_request(err, field, "The request head is incomplete; give a request "
				   "line and headers (e.g. \"GET / HTTP/1.1\\r\\nHost: "
				   "example.com\\r\\n\\r\\n\").");
	if (rc < 0)
		return bad_request(err, field, "The request is not valid HTTP/1.1: the gateway "
				   "would answer %d %s.", status, http1_reason(status));
	in->head_len = (size_t)rc;
	return 0;
}

static int body_length(struct test_input *in, size_t limit, struct error *err,
		       char field[WAF_FIELD_MAX])
{
	size_t avail = in->len - in->head_len;
	uint64_t want = in->head.content_length;

	if (want > avail)
		return bad_request(err, field, "The body has %zu bytes but Content-Length says "
				   "%llu.", avail, (unsigned long long)want);
	in->body_len = want < limit ? (size_t)want : limit;
	in->body_total = want;
	in->body = malloc(in->body_len + 1);
	if (in->body == NULL)
		return oom(err);
	memcpy(in->body, in->text + in->head_len, in->body_len);
	return 0;
}

static int body_chunked(struct test_input *in, size_t limit, struct error *err,
			char field[WAF_FIELD_MAX])
{
	struct http1_chunked c;
	const char *p = in->text + in->head_len;
	size_t left = in->len - in->head_len, used, off, n;
	enum http1_chunk_result r = HTTP1_CHUNK_NEED_MORE;

	in->body = malloc(limit + 1);
	if (in->body == NULL)
		return oom(err);
	http1_chunked_init(&c);
	while (left > 0 || r == HTTP1_CHUNK_DATA) {
		r = http1_chunked_step(&c, p, left, &used, &off, &n);
		if (r == HTTP1_CHUNK_DATA) {
			size_t room = limit - in->body_len;

			memcpy(in->body + in->body_len, p + off, n < room ? n : room);
			in->body_len += n < room ? n : room;
			in->body_total += n;
		}
		p += used;
		left -= used;
		if (r == HTTP1_CHUNK_DONE || r == HTTP1_CHUNK_ERROR || r == HTTP1_CHUNK_NEED_MORE)
			break;
	}
	if (r == HTTP1_CHUNK_ERROR)
		return bad_request(err, field, "The chunked body is not valid: the gateway would "
				   "answer 400 Bad Request.");
	if (r != HTTP1_CHUNK_DONE)
		return bad_request(err, field, "The chunked body is incomplete: it must end with "
				   "the last chunk (\"0\\r\\n\\r\\n\").");
	return 0;
}

static int parse_input(const char *request, size_t len, size_t limit, struct test_input *in,
		       struct error *err, char field[WAF_FIELD_MAX])
{
	memset(in, 0, sizeof(*in));
	in->text = malloc(len + 5);
	if (in->text == NULL)
		return oom(err);
	memcpy(in->text, request, len);
	in->text[len] = '\0';
	in->len = len;
	if (parse_head(in, err, field) != 0)
		return -1;
	if (in->head.body == HTTP1_BODY_LENGTH)
		return body_length(in, limit, err, field);
	if (in->head.body == HTTP1_BODY_CHUNKED)
		return body_chunked(in, limit, err, field);
	return 0;
}

/* Application app_id's firewall settings (a row written before they
 * existed holds "{}": the defaults). */
static int app_policy(struct instance *inst, long long app_id, struct waf_app_policy *pol,
		      struct error *err, char field[WAF_FIELD_MAX])
{
	struct store_app a;
	int rc;

	if (store_app_get(inst->store, app_id, &a, err) != 0) {
		set_field(field, "application_id");
		return -1;
	}
	rc = waf_app_policy_parse(a.options_json, pol, err);
	store_app_free(&a);
	return rc;
}

struct test_result {
	json_t *matches;
	int log_hits;
};

static int has_rule(json_t *matches, long long id)
{
	size_t i;
	json_t *m;

	json_array_foreach(matches, i, m)
		if (json_integer_value(json_object_get(m, "rule_id")) == id)
			return 1;
	return 0;
}

static void add_match(json_t *matches, json_t *rule_id, const char *description,
		      const char *action, const char *target, const char *excerpt)
{
	json_t *m = json_object();

	json_object_set_new(m, "rule_id", rule_id);
	json_object_set_new(m, "description", model_text_json(description));
	json_object_set_new(m, "action", json_string(action));
	json_object_set_new(m, "target", model_text_json(target));
	json_object_set_new(m, "excerpt", model_text_json(excerpt));
	json_array_append_new(matches, m);
}

static int waf_manager_on_hit(const struct waf_hit *hit, void *arg)
{
	struct test_result *res = arg;

	if (has_rule(res->matches, hit->rule_id))
		return 0;
	if (hit->action == WAF_ACTION_LOG)
		res->log_hits++;
	add_match(res->matches, json_integer(hit->rule_id), hit->description,
		  waf_action_name(hit->action), hit->target, hit->excerpt);
	return 0;
}

static const char *verdict_name(enum waf_mode mode, enum waf_verdict v, int log_hits)
{
	if (mode == WAF_MODE_OFF)
		return "pass";
	if (v == WAF_BLOCK)
		return mode == WAF_MODE_BLOCK ? "block" : "log";
	if (v == WAF_ALLOW)
		return "allow";
	return log_hits ? "log" : "pass";
}

/* Evaluate every rule for the request; *verdict as verdict_name says. */
static int run_rules(struct instance *inst, long long app_id, struct waf_request *r,
		     enum waf_mode mode, struct test_result *res, const char **verdict,
		     struct error *err)
{
	struct waf_rule *rules;
	struct waf_engine *e;
	struct waf_hit block;
	enum waf_verdict v;
	size_t n;

	if (waf_manager_rules(inst, &rules, &n, err) != 0)
		return -1;
	e = waf_engine_build(rules, n, err);
	waf_rule_list_free(rules, n);
	if (e == NULL)
		return -1;
	memset(&block, 0, sizeof(block));
	v = waf_engine_eval(e, app_id, r, waf_manager_on_hit, res, &block, 1);
	if (v == WAF_BLOCK && !has_rule(res->matches, block.rule_id))
		add_match(res->matches, json_integer(block.rule_id), block.description,
			  waf_action_name(block.action), block.target, block.excerpt);
	*verdict = verdict_name(mode, v, res->log_hits);
	waf_engine_free(e);
	/* the dry run is rare: do not keep match state on this thread */
	waf_thread_release();
	return 0;
}

/* The request's targets for the engine; *arena is the caller's to free. */
static int request_init(struct waf_request *r, const struct test_input *in, const char *ip,
			char **arena, struct error *err)
{
	size_t size = 2 * in->body_len + in->head.target_len + 4096;

	*arena = malloc(size);
	if (*arena == NULL)
		return oom(err);
	waf_request_init(r, *arena, size);
	r->method = in->head.method;
	r->method_len = in->head.method_len;
	r->target = in->head.target;
	r->target_len = in->head.target_len;
	r->headers = in->head.headers;
	r->n_headers = in->head.n_headers;
	r->client_ip = ip;
	r->client_ip_len = strlen(ip);
	r->body = in->body;
	r->body_len = in->body_len;
	r->body_total = in->body_total;
	return 0;
}

static json_t *verdict_json(const char *verdict, enum waf_mode mode, json_t *matches)
{
	return json_pack("{s:s, s:s, s:o}", "verdict", verdict, "mode", waf_mode_name(mode),
			 "matches", matches);
}

/* ip_deny and ip_allow come before the rules (SPEC section 6). NULL when
 * neither list has the address. */
static json_t *ip_lists(const struct waf_app_policy *pol, const struct ip_addr *addr,
			const char *ip)
{
	json_t *matches;

	if (cidr_set_contains(pol->deny, addr)) {
		matches = json_array();
		add_match(matches, json_null(), "client IP in ip_deny", "block", "client_ip", ip);
		return verdict_json("block", pol->mode, matches);
	}
	if (cidr_set_contains(pol->allow, addr))
		return verdict_json("pass", pol->mode, json_array());
	return NULL;
}

static json_t *evaluate(struct instance *inst, long long app_id, const struct test_input *in,
			const struct waf_app_policy *pol, const char *ip, struct error *err)
{
	struct test_result res = { json_array(), 0 };
	struct waf_request *r = malloc(sizeof(*r));
	const char *verdict = "pass";
	char *arena = NULL;
	json_t *out = NULL;

	if (r == NULL || res.matches == NULL) {
		oom(err);
	} else if (request_init(r, in, ip, &arena, err) == 0 &&
		   run_rules(inst, app_id, r, pol->mode, &res, &verdict, err) == 0) {
		out = verdict_json(verdict, pol->mode, res.matches);
		res.matches = NULL;
		if (out == NULL)
			oom(err);
	}
	json_decref(res.matches);
	free(arena);
	free(r);
	return out;
}

json_t *waf_manager_test(struct instance *inst, long long app_id, const char *request,
			 size_t len, const char *client_ip, struct error *err,
			 char field[WAF_FIELD_MAX])
{
	struct waf_app_policy pol;
	struct test_input in;
	struct ip_addr addr;
	char ip[64];
	json_t *out = NULL;

	error_clear(err);
	set_field(field, "");
	memset(&pol, 0, sizeof(pol));
	if (client_ip == NULL)
		client_ip = "127.0.0.1";
	if (ip_addr_parse(client_ip, strlen(client_ip), &addr) != 0) {
		error_set(err, "invalid_value", "client_ip '%.64s' is not an IPv4 or IPv6 address",
			  client_ip);
		set_field(field, "client_ip");
		return NULL;
	}
	ip_addr_format(&addr, ip, sizeof(ip));
	if (app_policy(inst, app_id, &pol, err, field) != 0)
		return NULL;
	if (parse_input(request, len, inst->cfg.waf_body_limit, &in, err, field) == 0) {
		out = ip_lists(&pol, &addr, ip);
		if (out == NULL)
			out = evaluate(inst, app_id, &in, &pol, ip, err);
	}
	input_free(&in);
	waf_app_policy_clear(&pol);
	return out;
}
