/* An application's firewall settings: validation and normalization of the
 * JSON administrators send, and the parsed form the route table keeps. */
#include "waf/app_policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const mode_names[WAF_MODE_MAX] = {"off", "detect", "block"};

const char *waf_mode_name(enum waf_mode m)
{
	return m < WAF_MODE_MAX ? mode_names[m] : "off";
}

static int mode_from_name(const char *s)
{
	for (int i = 0; i < WAF_MODE_MAX; i++)
		if (strcmp(s, mode_names[i]) == 0)
			return i;
	return -1;
}

static json_t *fail(struct error *err, const char **field, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static json_t *fail(struct error *err, const char **field, const char *name, const char *fmt, ...)
{
	va_list ap;
	char message[256];

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	error_set(err, "invalid_application", "%s", message);
	if (field != NULL)
		*field = name;
	return NULL;
}

/* A whole number in [lo, hi] from member key of obj (absent: def). */
static int get_uint(const json_t *obj, const char *key, unsigned lo, unsigned hi, unsigned def,
                    unsigned *out)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < (json_int_t)lo || n > (json_int_t)hi)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static json_t *normalize_rate_limit(const json_t *rl, struct error *err, const char **field)
{
	static const char *const known[] = {"requests", "per_seconds",   "burst",
	                                    "key",      "block_seconds", "action"};
	static const struct {
		const char *name, *field;
		unsigned lo, hi, def;
	} nums[] = {
	    {"requests", "rate_limit.requests", 1, 1000000, 0},
	    {"per_seconds", "rate_limit.per_seconds", 1, 86400, 1},
	    {"burst", "rate_limit.burst", 0, 1000000, 0},
	    {"block_seconds", "rate_limit.block_seconds", 0, 86400, 60},
	};
	unsigned v[4];
	const char *key, *action;
	const json_t *val;

	if (!json_is_object(rl))
		return fail(err, field, "rate_limit", "%s",
		            "rate_limit must be null or an object with requests and per_seconds");
	json_object_foreach((json_t *)rl, key, val)
	{
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return fail(err, field, "rate_limit",
			            "rate_limit has an unknown field \"%.64s\"", key);
	}
	if (json_object_get(rl, "requests") == NULL)
		return fail(err, field, "rate_limit.requests", "%s",
		            "rate_limit.requests is required (requests allowed per window)");
	for (size_t i = 0; i < 4; i++)
		if (get_uint(rl, nums[i].name, nums[i].lo, nums[i].hi, nums[i].def, &v[i]) != 0) {
			error_set(err, "invalid_application",
			          "%s must be a whole number from %u to %u", nums[i].field,
			          nums[i].lo, nums[i].hi);
			if (field != NULL)
				*field = nums[i].field;
			return NULL;
		}
	val = json_object_get(rl, "key");
	key = val == NULL ? "ip" : json_string_value(val);
	if (key == NULL || (strcmp(key, "ip") != 0 && strcmp(key, "ip_path") != 0))
		return fail(err, field, "rate_limit.key", "%s",
		            "rate_limit.key must be \"ip\" or \"ip_path\"");
	val = json_object_get(rl, "action");
	action = val == NULL ? "block" : json_string_value(val);
	if (action == NULL || (strcmp(action, "block") != 0 && strcmp(action, "log") != 0))
		return fail(err, field, "rate_limit.action", "%s",
		            "rate_limit.action must be \"block\" or \"log\"");
	return json_pack("{s:i, s:i, s:i, s:s, s:i, s:s}", "requests", (json_int_t)v[0],
	                 "per_seconds", (json_int_t)v[1], "burst", (json_int_t)v[2], "key", key,
	                 "block_seconds", (json_int_t)v[3], "action", action);
}

/* A CIDR list, each entry normalized, duplicates dropped. */
static json_t *normalize_cidrs(const json_t *list, const char *name, struct error *err,
                               const char **field)
{
	static _Thread_local char where[48];
	json_t *out;
	size_t i;
	const json_t *v;

	if (list == NULL)
		return json_array();
	if (!json_is_array(list))
		return fail(err, field, name, "%s must be an array of CIDR strings", name);
	if (json_array_size(list) > WAF_MAX_IP_LIST)
		return fail(err, field, name, "%s has more than 10000 entries", name);
	out = json_array();
	json_array_foreach((json_t *)list, i, v)
	{
		const char *s = json_string_value(v);
		struct cidr c;
		char text[64];
		int dup = 0;
		size_t j;
		const json_t *seen;

		if (s == NULL || cidr_parse(s, strlen(s), &c, err) != 0) {
			json_decref(out);
			snprintf(where, sizeof(where), "%s[%zu]", name, i);
			if (s == NULL)
				error_set(err, "invalid_application", "%s must be a CIDR string",
				          where);
			else
				error_set(err, "invalid_application",
				          "%s: \"%.64s\" is not an address or CIDR prefix", where,
				          s);
			if (field != NULL)
				*field = where;
			return NULL;
		}
		cidr_format(&c, text, sizeof(text));
		json_array_foreach(out, j, seen) dup |= strcmp(json_string_value(seen), text) == 0;
		if (!dup)
			json_array_append_new(out, json_string(text));
	}
	return out;
}

json_t *waf_app_options_normalize(const json_t *obj, struct error *err, const char **field)
{
	const json_t *mode = obj ? json_object_get(obj, "waf") : NULL;
	const json_t *rl = obj ? json_object_get(obj, "rate_limit") : NULL;
	json_t *out, *allow, *deny, *limit = NULL;
	int m = WAF_MODE_OFF;

	if (mode != NULL &&
	    (!json_is_string(mode) || (m = mode_from_name(json_string_value(mode))) < 0))
		return fail(err, field, "waf", "%s",
		            "waf must be \"off\", \"detect\" or \"block\"");
	if (rl != NULL && !json_is_null(rl) &&
	    (limit = normalize_rate_limit(rl, err, field)) == NULL)
		return NULL;
	allow =
	    normalize_cidrs(obj ? json_object_get(obj, "ip_allow") : NULL, "ip_allow", err, field);
	deny = allow ? normalize_cidrs(obj ? json_object_get(obj, "ip_deny") : NULL, "ip_deny", err,
	                               field)
	             : NULL;
	if (allow == NULL || deny == NULL) {
		json_decref(allow);
		json_decref(limit);
		return NULL;
	}
	out = json_pack("{s:s, s:o, s:o, s:o}", "waf", mode_names[m], "rate_limit",
	                limit ? limit : json_null(), "ip_allow", allow, "ip_deny", deny);
	if (out == NULL)
		error_set(err, "internal", "%s", "out of memory");
	return out;
}

/* The CIDR set of a normalized list; NULL for an empty list. */
static int build_set(const json_t *list, struct cidr_set **out, struct error *err)
{
	size_t i;
	const json_t *v;

	*out = NULL;
	if (json_array_size(list) == 0)
		return 0;
	if ((*out = cidr_set_new()) == NULL) {
		error_set(err, "internal", "%s", "out of memory");
		return -1;
	}
	json_array_foreach((json_t *)list, i, v)
	{
		const char *s = json_string_value(v);
		struct cidr c;

		if (s == NULL || cidr_parse(s, strlen(s), &c, err) != 0)
			return -1;
		if (cidr_set_add(*out, &c) != 0) {
			error_set(err, "internal", "%s", "out of memory");
			return -1;
		}
	}
	return 0;
}

int waf_app_policy_parse(const char *options_json, struct waf_app_policy *out, struct error *err)
{
	json_error_t jerr;
	json_t *in = json_loads(options_json ? options_json : "{}", 0, &jerr), *norm;
	const json_t *rl;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (in == NULL || !json_is_object(in)) {
		json_decref(in);
		error_set(err, "invalid_application", "%s",
		          "the application options are not a JSON object");
		return -1;
	}
	norm = waf_app_options_normalize(in, err, NULL);
	json_decref(in);
	if (norm == NULL)
		return -1;
	out->mode = (enum waf_mode)mode_from_name(json_string_value(json_object_get(norm, "waf")));
	rl = json_object_get(norm, "rate_limit");
	if (json_is_object(rl)) {
		out->has_rate_limit = 1;
		out->limit.requests = (unsigned)json_integer_value(json_object_get(rl, "requests"));
		out->limit.per_seconds =
		    (unsigned)json_integer_value(json_object_get(rl, "per_seconds"));
		out->limit.burst = (unsigned)json_integer_value(json_object_get(rl, "burst"));
		out->limit.block_seconds =
		    (unsigned)json_integer_value(json_object_get(rl, "block_seconds"));
		out->rate_key_path =
		    strcmp(json_string_value(json_object_get(rl, "key")), "ip_path") == 0;
		out->rate_log_only =
		    strcmp(json_string_value(json_object_get(rl, "action")), "log") == 0;
	}
	if (build_set(json_object_get(norm, "ip_allow"), &out->allow, err) == 0 &&
	    build_set(json_object_get(norm, "ip_deny"), &out->deny, err) == 0)
		rc = 0;
	json_decref(norm);
	if (rc != 0)
		waf_app_policy_clear(out);
	return rc;
}

void waf_app_policy_clear(struct waf_app_policy *p)
{
	cidr_set_free(p->allow);
	cidr_set_free(p->deny);
	memset(p, 0, sizeof(*p));
}
