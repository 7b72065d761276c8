/* WAF rules in their JSON form: strict decoding (every field known and of
 * its type, every limit checked, every pattern compiled once) so that a
 * rule the API accepts always builds into an engine, and the encoding the
 * API, the CLI and the database share. */
#include "waf/rule.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "waf/cidr.h"

#define WAF_DESCRIPTION_MAX 512
#define WAF_HEADER_NAME_MAX 63 /* struct waf_condition.header_name holds it and a NUL */

static const char *const operator_names[WAF_OP_MAX] = {
    [WAF_OP_REGEX] = "regex",
    [WAF_OP_NOT_REGEX] = "not_regex",
    [WAF_OP_EQUALS] = "equals",
    [WAF_OP_CONTAINS] = "contains",
    [WAF_OP_LENGTH_GT] = "length_gt",
    [WAF_OP_IP_IN] = "ip_in",
    [WAF_OP_DETECT_SQLI] = "detect_sqli",
    [WAF_OP_DETECT_XSS] = "detect_xss",
};

static const char *const action_names[WAF_ACTION_MAX] = {
    [WAF_ACTION_BLOCK] = "block",
    [WAF_ACTION_LOG] = "log",
    [WAF_ACTION_ALLOW] = "allow",
};

const char *waf_operator_name(enum waf_operator op)
{
	return (unsigned)op < WAF_OP_MAX ? operator_names[op] : "unknown";
}

const char *waf_action_name(enum waf_action a)
{
	return (unsigned)a < WAF_ACTION_MAX ? action_names[a] : "unknown";
}

/* ---- decoding */

/* Where an error is reported. The field path is composed here ("conditions[3].value"),
 * so it lives in a per-thread buffer the caller reads right after the call. */
struct decode {
	struct error *err;
	const char **field;
};

static _Thread_local char field_buf[96];

static int fail(struct decode *d, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct decode *d, const char *code, const char *field, const char *fmt, ...)
{
	char text[400];
	va_list ap;

	snprintf(field_buf, sizeof(field_buf), "%s", field);
	if (d->field != NULL)
		*d->field = field_buf;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (field[0] != '\0')
		error_set(d->err, code, "%s: %s", field, text);
	else
		error_set(d->err, code, "%s", text);
	return -1;
}

/* Refuse keys of obj that are not in known (NULL-terminated). prefix is
 * the path of obj ("" or "conditions[0]"). jansson's iterator API takes a
 * non-const object although it does not modify it. */
static int check_keys(struct decode *d, const json_t *obj, const char *const *known,
                      const char *prefix)
{
	json_t *o = (json_t *)obj;
	char name[96];

	for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it)) {
		const char *key = json_object_iter_key(it);
		size_t i;

		for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++)
			;
		if (known[i] != NULL)
			continue;
		snprintf(name, sizeof(name), "%s%s%.40s", prefix, prefix[0] ? "." : "", key);
		return fail(d, "invalid_rule", name, "unknown field; remove it");
	}
	return 0;
}

/* The text of the JSON string v, or NULL when v is not a string or holds
 * a NUL (which strcmp would silently cut: "block\u0000x" is not "block"). */
static const char *plain_string(const json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL && strlen(s) == json_string_length(v) ? s : NULL;
}

/* A copy of the JSON string v (no NUL inside, at most max bytes). */
static int dup_string(struct decode *d, const json_t *v, size_t max, const char *field, char **out)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (s == NULL)
		return fail(d, "invalid_rule", field, "must be a string");
	if (len > max)
		return fail(d, "invalid_rule", field, "is %zu bytes long; the limit is %zu", len,
		            max);
	if (memchr(s, '\0', len) != NULL)
		return fail(d, "invalid_rule", field, "must not contain a NUL character");
	*out = strdup(s);
	if (*out == NULL)
		return fail(d, "internal", field, "out of memory");
	return 0;
}

static int decode_bool(struct decode *d, const json_t *j, const char *name, int dflt, int *out)
{
	const json_t *v = json_object_get(j, name);

	*out = dflt;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return fail(d, "invalid_rule", name, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int decode_id(struct decode *d, const json_t *j, long long *out)
{
	const json_t *v = json_object_get(j, "id");

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(d, "invalid_rule", "id", "must be an integer, 0 or more");
	*out = json_integer_value(v);
	return 0;
}

static int decode_applications(struct decode *d, const json_t *j, struct waf_rule *r)
{
	const json_t *v = json_object_get(j, "applications");
	size_t i, n;

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return fail(d, "invalid_rule", "applications",
		            "must be an array of application ids ([] for every application)");
	n = json_array_size(v);
	if (n > WAF_MAX_RULE_APPS)
		return fail(
		    d, "invalid_rule", "applications",
		    "names %zu applications; the limit is %d (use [] for every application)", n,
		    WAF_MAX_RULE_APPS);
	if (n == 0)
		return 0;
	r->applications = calloc(n, sizeof(*r->applications));
	if (r->applications == NULL)
		return fail(d, "internal", "applications", "out of memory");
	for (i = 0; i < n; i++) {
		const json_t *item = json_array_get(v, i);

		if (!json_is_integer(item) || json_integer_value(item) <= 0)
			return fail(d, "invalid_rule", "applications",
			            "item %zu must be a positive integer (an application id)", i);
		r->applications[i] = json_integer_value(item);
		r->n_applications = i + 1;
	}
	return 0;
}

static int decode_action(struct decode *d, const json_t *j, enum waf_action *out)
{
	const char *s = plain_string(json_object_get(j, "action"));

	if (json_object_get(j, "action") == NULL)
		return fail(d, "invalid_rule", "action", "is required: block, log or allow");
	for (int a = 0; s != NULL && a < WAF_ACTION_MAX; a++) {
		if (strcmp(s, action_names[a]) == 0) {
			*out = (enum waf_action)a;
			return 0;
		}
	}
	return fail(d, "invalid_rule", "action", "must be \"block\", \"log\" or \"allow\"");
}

/* ---- conditions */

static int token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* "method", ..., or "header:<Name>" with Name an HTTP field name. */
static int decode_target(struct decode *d, const json_t *v, const char *field,
                         struct waf_condition *c)
{
	const char *s = plain_string(v);
	const char *colon;
	size_t name_len;

	if (v == NULL)
		return fail(d, "invalid_rule", field, "is required");
	if (s == NULL)
		return fail(d, "invalid_rule", field, "must be a string (without NUL)");
	colon = strchr(s, ':');
	c->target = waf_target_from_name(s, colon ? (size_t)(colon - s) : strlen(s));
	if (c->target == WAF_TARGET_HEADER && colon == NULL)
		return fail(d, "invalid_rule", field,
		            "name the header: header:<Name>, e.g. header:User-Agent");
	if (c->target == WAF_TARGET_MAX || (colon != NULL && c->target != WAF_TARGET_HEADER))
		return fail(d, "invalid_rule", field,
		            "unknown target; use method, path, query, args, header:<Name>, "
		            "headers, cookies, user_agent, client_ip or body");
	if (colon == NULL)
		return 0;
	name_len = strlen(colon + 1);
	if (name_len == 0 || name_len > WAF_HEADER_NAME_MAX)
		return fail(d, "invalid_rule", field, "the header name must be 1 to %d characters",
		            WAF_HEADER_NAME_MAX);
	for (size_t i = 0; i < name_len; i++)
		if (!token_char((unsigned char)colon[1 + i]))
			return fail(d, "invalid_rule", field,
			            "the header name may only contain letters, digits and "
			            "!#$%%&'*+-.^_`|~");
	memcpy(c->header_name, colon + 1, name_len + 1);
	return 0;
}

static int decode_operator(struct decode *d, const json_t *v, const char *field,
                           enum waf_operator *out)
{
	const char *s = plain_string(v);

	if (v == NULL)
		return fail(d, "invalid_rule", field, "is required");
	for (int op = 0; s != NULL && op < WAF_OP_MAX; op++) {
		if (strcmp(s, operator_names[op]) == 0) {
			*out = (enum waf_operator)op;
			return 0;
		}
	}
	return fail(d, "invalid_rule", field,
	            "must be regex, not_regex, equals, contains, length_gt, ip_in, detect_sqli "
	            "or detect_xss");
}

static int decode_transforms(struct decode *d, const json_t *v, const char *field,
                             struct waf_condition *c)
{
	size_t i;

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return fail(d, "invalid_rule", field, "must be an array of transform names");
	if (json_array_size(v) > WAF_MAX_TRANSFORMS)
		return fail(d, "invalid_rule", field, "has %zu transforms; the limit is %d",
		            json_array_size(v), WAF_MAX_TRANSFORMS);
	for (i = 0; i < json_array_size(v); i++) {
		const char *s = plain_string(json_array_get(v, i));
		enum waf_transform t = s ? waf_transform_from_name(s) : WAF_T_MAX;

		if (t == WAF_T_MAX)
			return fail(d, "invalid_rule", field,
			            "item %zu: use url_decode, html_entity_decode, lowercase, "
			            "compress_whitespace or remove_comments",
			            i);
		c->transforms[i] = (unsigned char)t;
	}
	c->n_transforms = i;
	return 0;
}

int waf_length_value(const char *s, unsigned long long *out)
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

/* Bytes, not UTF-8: a (*UTF) pattern would make binary input a match
 * error instead of a non-match, so it is refused. */
pcre2_code *waf_regex_compile(const char *pattern, size_t len, char *msg, size_t size)
{
	PCRE2_UCHAR text[256];
	PCRE2_SIZE offset;
	int code;
	pcre2_code *re =
	    pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_NEVER_UTF, &code, &offset, NULL);

	if (re == NULL) {
		if (pcre2_get_error_message(code, text, sizeof(text)) < 0)
			snprintf((char *)text, sizeof(text), "error %d", code);
		snprintf(msg, size, "PCRE2 error at offset %zu: %s", (size_t)offset,
		         (const char *)text);
	}
	return re;
}

/* Compile once to report PCRE2's own message and offset. */
static int check_regex(struct decode *d, const char *pattern, const char *field)
{
	char msg[320];
	pcre2_code *re = waf_regex_compile(pattern, strlen(pattern), msg, sizeof(msg));

	if (re != NULL) {
		pcre2_code_free(re);
		return 0;
	}
	return fail(d, "invalid_regex", field, "%s", msg);
}

static int check_value(struct decode *d, const struct waf_condition *c, const char *field)
{
	unsigned long long count;
	struct error cerr;
	struct cidr_set *set;

	switch (c->op) {
	case WAF_OP_REGEX:
	case WAF_OP_NOT_REGEX:
		return check_regex(d, c->value, field);
	case WAF_OP_LENGTH_GT:
		if (waf_length_value(c->value, &count) < 0)
			return fail(d, "invalid_rule", field,
			            "length_gt needs a decimal number of bytes, e.g. \"4096\"");
		return 0;
	case WAF_OP_IP_IN:
		set = cidr_set_parse_list(c->value, strlen(c->value), &cerr);
		if (set == NULL)
			return fail(d, cerr.code, field, "%s", cerr.message);
		count = cidr_set_count(set);
		cidr_set_free(set);
		if (count == 0)
			return fail(d, "invalid_cidr", field,
			            "ip_in needs at least one address or CIDR prefix, e.g. "
			            "\"10.0.0.0/8, 2001:db8::/32\"");
		return 0;
	default:
		return 0; /* equals, contains: any bytes; detectors ignore the value */
	}
}

static const char *const condition_keys[] = {"target", "operator", "value", "transforms", NULL};

static int decode_condition(struct decode *d, const json_t *j, size_t i, struct waf_condition *c)
{
	char prefix[32], field[64];
	const json_t *value;

	snprintf(prefix, sizeof(prefix), "conditions[%zu]", i);
	if (!json_is_object(j))
		return fail(d, "invalid_rule", prefix,
		            "must be an object with target, operator, value and transforms");
	if (check_keys(d, j, condition_keys, prefix) < 0)
		return -1;
	snprintf(field, sizeof(field), "%s.target", prefix);
	if (decode_target(d, json_object_get(j, "target"), field, c) < 0)
		return -1;
	snprintf(field, sizeof(field), "%s.operator", prefix);
	if (decode_operator(d, json_object_get(j, "operator"), field, &c->op) < 0)
		return -1;
	snprintf(field, sizeof(field), "%s.transforms", prefix);
	if (decode_transforms(d, json_object_get(j, "transforms"), field, c) < 0)
		return -1;
	snprintf(field, sizeof(field), "%s.value", prefix);
	value = json_object_get(j, "value");
	if (value == NULL && c->op != WAF_OP_DETECT_SQLI && c->op != WAF_OP_DETECT_XSS)
		return fail(d, "invalid_rule", field, "is required for operator %s",
		            operator_names[c->op]);
	if (value == NULL)
		c->value = strdup("");
	else if (dup_string(d, value, WAF_MAX_PATTERN, field, &c->value) < 0)
		return -1;
	if (c->value == NULL)
		return fail(d, "internal", field, "out of memory");
	return check_value(d, c, field);
}

static int decode_conditions(struct decode *d, const json_t *j, struct waf_rule *r)
{
	const json_t *v = json_object_get(j, "conditions");
	size_t n;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(d, "invalid_rule", "conditions",
		            "must be an array of 1 to %d conditions (all must match)",
		            WAF_MAX_CONDITIONS);
	n = json_array_size(v);
	if (n > WAF_MAX_CONDITIONS)
		return fail(d, "invalid_rule", "conditions", "has %zu conditions; the limit is %d",
		            n, WAF_MAX_CONDITIONS);
	for (size_t i = 0; i < n; i++) {
		/* counted first, so waf_rule_free releases a half-decoded one */
		r->n_conditions = i + 1;
		if (decode_condition(d, json_array_get(v, i), i, &r->conditions[i]) < 0)
			return -1;
	}
	return 0;
}

static const char *const rule_keys[] = {"id",           "description", "preset", "enabled",
                                        "applications", "conditions",  "action", NULL};

static int decode_rule(struct decode *d, const json_t *j, struct waf_rule *r)
{
	const json_t *desc = json_object_get(j, "description");

	if (!json_is_object(j))
		return fail(d, "invalid_rule", "", "A rule must be a JSON object.");
	if (check_keys(d, j, rule_keys, "") < 0 || decode_id(d, j, &r->id) < 0 ||
	    decode_bool(d, j, "preset", 0, &r->preset) < 0 ||
	    decode_bool(d, j, "enabled", 1, &r->enabled) < 0)
		return -1;
	if (desc != NULL) {
		if (dup_string(d, desc, WAF_DESCRIPTION_MAX, "description", &r->description) < 0)
			return -1;
	} else if ((r->description = strdup("")) == NULL) {
		return fail(d, "internal", "description", "out of memory");
	}
	if (decode_applications(d, j, r) < 0 || decode_conditions(d, j, r) < 0)
		return -1;
	return decode_action(d, j, &r->action);
}

int waf_rule_from_json(const json_t *j, struct waf_rule *out, struct error *err, const char **field)
{
	struct decode d = {err, field};
	struct waf_rule r;

	memset(&r, 0, sizeof(r));
	error_clear(err);
	if (field != NULL)
		*field = "";
	if (decode_rule(&d, j, &r) < 0) {
		waf_rule_free(&r);
		return -1;
	}
	*out = r;
	return 0;
}

/* ---- encoding */

static json_t *condition_to_json(const struct waf_condition *c)
{
	char target[80];
	json_t *transforms = json_array();

	for (size_t i = 0; transforms != NULL && i < c->n_transforms; i++)
		if (json_array_append_new(transforms, json_string(waf_transform_name(
		                                          (enum waf_transform)c->transforms[i]))) <
		    0) {
			json_decref(transforms);
			return NULL;
		}
	if (c->target == WAF_TARGET_HEADER)
		snprintf(target, sizeof(target), "header:%s", c->header_name);
	else
		snprintf(target, sizeof(target), "%s", waf_target_name(c->target));
	/* "o" steals transforms, also when json_pack fails */
	return json_pack("{s:s, s:s, s:s, s:o}", "target", target, "operator",
	                 waf_operator_name(c->op), "value", c->value ? c->value : "", "transforms",
	                 transforms);
}

json_t *waf_rule_to_json(const struct waf_rule *r)
{
	json_t *apps = json_array(), *conds = json_array();

	for (size_t i = 0; apps != NULL && i < r->n_applications; i++)
		if (json_array_append_new(apps, json_integer(r->applications[i])) < 0)
			goto fail;
	for (size_t i = 0; conds != NULL && i < r->n_conditions; i++)
		if (json_array_append_new(conds, condition_to_json(&r->conditions[i])) < 0)
			goto fail;
	if (apps == NULL || conds == NULL)
		goto fail;
	return json_pack("{s:I, s:s, s:b, s:b, s:o, s:o, s:s}", "id", (json_int_t)r->id,
	                 "description", r->description ? r->description : "", "preset", r->preset,
	                 "enabled", r->enabled, "applications", apps, "conditions", conds, "action",
	                 waf_action_name(r->action));
fail:
	json_decref(apps);
	json_decref(conds);
	return NULL;
}

/* ---- ownership */

void waf_rule_free(struct waf_rule *r)
{
	if (r == NULL)
		return;
	free(r->description);
	free(r->applications);
	for (size_t i = 0; i < r->n_conditions && i < WAF_MAX_CONDITIONS; i++)
		free(r->conditions[i].value);
	memset(r, 0, sizeof(*r));
}

void waf_rule_list_free(struct waf_rule *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		waf_rule_free(&list[i]);
	free(list);
}

int waf_rule_copy(struct waf_rule *dst, const struct waf_rule *src)
{
	struct waf_rule r = *src;
	size_t n = src->n_conditions < WAF_MAX_CONDITIONS ? src->n_conditions : WAF_MAX_CONDITIONS;

	/* clear the borrowed pointers first, so a failure frees only copies */
	r.description = NULL;
	r.applications = NULL;
	for (size_t i = 0; i < WAF_MAX_CONDITIONS; i++)
		r.conditions[i].value = NULL;
	r.n_conditions = n;
	r.description = strdup(src->description ? src->description : "");
	if (r.description == NULL)
		goto fail;
	if (src->n_applications > 0) {
		r.applications = malloc(src->n_applications * sizeof(*r.applications));
		if (r.applications == NULL)
			goto fail;
		memcpy(r.applications, src->applications,
		       src->n_applications * sizeof(*r.applications));
	}
	for (size_t i = 0; i < n; i++) {
		r.conditions[i].value =
		    strdup(src->conditions[i].value ? src->conditions[i].value : "");
		if (r.conditions[i].value == NULL)
			goto fail;
	}
	*dst = r;
	return 0;
fail:
	waf_rule_free(&r);
	return -1;
}
