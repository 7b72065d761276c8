/* /api/v1/waf/rules, /api/v1/waf/test and /api/v1/events (SPEC section
 * 6): the rules through waf_manager (the CLI's path), every change
 * published to the workers before answering; events straight from the
 * store, newest first. */
#include "admin/admin_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/model_json.h"
#include "gateway/waf_manager.h"
#include "waf/events.h"

#define FILTER_MAX 128 /* bytes of one query parameter */

/* ---- rules */

static void respond_rule(struct admin_response *resp, int status, const struct waf_rule *r)
{
	admin_respond_json(resp, status, waf_rule_to_json(r));
}

void admin_api_waf_rule_list(struct admin_request *req, struct admin_response *resp)
{
	struct waf_rule *list = NULL;
	size_t n = 0;
	struct error err;
	json_t *arr;

	if (waf_manager_rules(req->ctx->inst, &list, &n, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, waf_rule_to_json(&list[i]));
	waf_rule_list_free(list, n);
	admin_respond_json(resp, 200, json_pack("{s:o}", "rules", arr));
}

void admin_api_waf_rule_get(struct admin_request *req, struct admin_response *resp)
{
	struct waf_rule r;
	struct error err;

	if (waf_manager_get(req->ctx->inst, req->id, &r, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	respond_rule(resp, 200, &r);
	waf_rule_free(&r);
}

/* The body as a JSON object, or NULL with the error answered. */
static json_t *body_object(struct admin_request *req, struct admin_response *resp)
{
	struct json_body_error e;
	json_t *root = json_body_parse(req->body, req->body_len, &e);

	if (root == NULL)
		admin_respond_fail(resp, &e.err, e.field);
	return root;
}

void admin_api_waf_rule_create(struct admin_request *req, struct admin_response *resp)
{
	struct waf_rule r;
	struct error err;
	char field[WAF_FIELD_MAX];
	json_t *root = body_object(req, resp);

	if (root == NULL)
		return;
	if (waf_manager_create(req->ctx->inst, root, &req->actor, &r, &err, field) != 0) {
		admin_respond_fail(resp, &err, field);
	} else {
		admin_apply_changes(req);
		respond_rule(resp, 201, &r);
		waf_rule_free(&r);
	}
	json_body_free(root);
}

void admin_api_waf_rule_replace(struct admin_request *req, struct admin_response *resp)
{
	struct waf_rule r;
	struct error err;
	char field[WAF_FIELD_MAX];
	json_t *root = body_object(req, resp);

	if (root == NULL)
		return;
	if (waf_manager_replace(req->ctx->inst, req->id, root, &req->actor, &r, &err, field) !=
	    0) {
		admin_respond_fail(resp, &err, field);
	} else {
		admin_apply_changes(req);
		respond_rule(resp, 200, &r);
		waf_rule_free(&r);
	}
	json_body_free(root);
}

void admin_api_waf_rule_delete(struct admin_request *req, struct admin_response *resp)
{
	struct error err;

	if (waf_manager_delete(req->ctx->inst, req->id, &req->actor, &err) != 0) {
		/* a preset rule exists but cannot go: a conflict with what it is */
		if (strcmp(err.code, "preset_rule") == 0)
			admin_respond_error(resp, 409, err.code, NULL, "%s", err.message);
		else
			admin_respond_fail(resp, &err, NULL);
		return;
	}
	admin_apply_changes(req);
	admin_respond_data(resp, 204, NULL, NULL, 0);
}

/* ---- the dry run */

void admin_api_waf_test(struct admin_request *req, struct admin_response *resp)
{
	static const struct json_body_field fields[] = {
		{ "application_id", JSON_BODY_INT, 1 },
		{ "request", JSON_BODY_STRING, 1 },
		{ "client_ip", JSON_BODY_STRING_OR_NULL, 0 },
	};
	struct json_body_error e;
	struct error err;
	char field[WAF_FIELD_MAX];
	json_t *root = json_body_object(req->body, req->body_len, fields, 3, &e), *raw, *out;

	if (root == NULL) {
		admin_respond_fail(resp, &e.err, e.field);
		return;
	}
	raw = json_object_get(root, "request");
	out = waf_manager_test(req->ctx->inst,
			       json_integer_value(json_object_get(root, "application_id")),
			       json_string_value(raw), json_string_length(raw),
			       json_body_string(root, "client_ip"), &err, field);
	if (out == NULL)
		admin_respond_fail(resp, &err, field);
	else
		admin_respond_json(resp, 200, out);
	json_body_free(root);
}

/* ---- events */

static int hex_digit(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Decode %XX in place ('+' stays: a time offset is not a space). */
static void percent_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			*o++ = (char)(hex_digit((unsigned char)s[1]) * 16 +
				      hex_digit((unsigned char)s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* A positive decimal number of at most 18 digits. */
static int parse_positive(const char *s, long long *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]) || strlen(s) > 18)
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0 && *out > 0 ? 0 : -1;
}

/* n digits at s as a number, -1 when they are not all digits. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "2026-11-30T10:00:00Z", with optional fractional seconds and a "Z" or
 * "+hh:mm"/"-hh:mm" offset (RFC 3339), into ms since the epoch. */
static int parse_rfc3339(const char *s, long long *out_ms)
{
	struct tm tm;
	long long ms = 0, scale = 100, offset = 0;
	const char *p = s + 19;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			ms += scale * (*p - '0');
	}
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' && digits(p + 1, 2) >= 0 &&
	    digits(p + 1, 2) < 24 && digits(p + 4, 2) >= 0 && digits(p + 4, 2) < 60)
		offset = (digits(p + 1, 2) * 60LL + digits(p + 4, 2)) * 60 * (*p == '+' ? 1 : -1);
	else if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0)
		return -1;
	t = timegm(&tm);
	*out_ms = ((long long)t - offset) * 1000 + ms;
	return 0;
}

static int bad_filter(struct admin_response *resp, const char *field, const char *message)
{
	admin_respond_error(resp, 400, "invalid_filter", field, "%s", message);
	return -1;
}

/* One query parameter, percent-decoded. 1 when present, 0 when absent,
 * -1 (answered) when it is too long to be valid. */
static int filter_get(struct admin_request *req, struct admin_response *resp,
		      const char *name, char out[FILTER_MAX])
{
	char raw[FILTER_MAX + 1];

	if (!admin_query_get(req, name, raw, sizeof(raw)))
		return 0;
	if (strlen(raw) >= FILTER_MAX)
		return bad_filter(resp, name, "This filter value is too long.");
	percent_decode(raw);
	memcpy(out, raw, strlen(raw) + 1);
	return 1;
}

static int filter_rule(const char *v, struct store_event_filter *f)
{
	if (strcmp(v, "rate_limit") == 0 || strcmp(v, "ip_deny") == 0 || strcmp(v, "waf") == 0) {
		f->kind = strcmp(v, "waf") == 0	      ? WAF_EVENT_WAF
			  : strcmp(v, "rate_limit") == 0 ? WAF_EVENT_RATE_LIMIT
						       : WAF_EVENT_IP_DENY;
		return 0;
	}
	return parse_positive(v, &f->rule_id);
}

static int filter_since(const char *v, struct store_event_filter *f)
{
	long long secs;

	if (strcmp(v, "0") == 0) {
		f->since_ms = 0;
		return 0;
	}
	if (parse_positive(v, &secs) == 0 && secs < 100000000000LL) {
		f->since_ms = secs * 1000;
		return 0;
	}
	return parse_rfc3339(v, &f->since_ms);
}

/* The filters of GET /api/v1/events into f. 0, or -1 with the 400
 * answered. */
static int parse_filters(struct admin_request *req, struct admin_response *resp,
			 struct store_event_filter *f)
{
	char v[FILTER_MAX];
	long long limit;
	int rc;

	memset(f, 0, sizeof(*f));
	f->kind = -1;
	f->limit = STORE_EVENTS_DEFAULT;
	if ((rc = filter_get(req, resp, "application_id", v)) < 0 ||
	    (rc == 1 && parse_positive(v, &f->app_id) != 0))
		return rc < 0 ? -1 : bad_filter(resp, "application_id",
					       "application_id must be an application's id.");
	if ((rc = filter_get(req, resp, "rule", v)) < 0 || (rc == 1 && filter_rule(v, f) != 0))
		return rc < 0 ? -1 : bad_filter(resp, "rule",
					       "rule must be a WAF rule id, \"rate_limit\" or "
					       "\"ip_deny\".");
	if ((rc = filter_get(req, resp, "since", v)) < 0 || (rc == 1 && filter_since(v, f) != 0))
		return rc < 0 ? -1 : bad_filter(resp, "since",
					       "since must be an RFC 3339 time "
					       "(2026-11-30T10:00:00Z) or unix seconds.");
	if ((rc = filter_get(req, resp, "limit", v)) < 0 ||
	    (rc == 1 && (parse_positive(v, &limit) != 0 || limit > STORE_EVENTS_MAX)))
		return rc < 0 ? -1 : bad_filter(resp, "limit",
					       "limit must be a number from 1 to 1000.");
	if (rc == 1)
		f->limit = (int)limit;
	return 0;
}

void admin_api_events(struct admin_request *req, struct admin_response *resp)
{
	struct store_event_filter f;
	struct waf_event *list = NULL;
	size_t n = 0;
	struct error err;
	json_t *arr;

	if (parse_filters(req, resp, &f) != 0)
		return;
	if (store_waf_event_query(req->ctx->inst->store, &f, &list, &n, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, model_event_json(&list[i]));
	free(list);
	admin_respond_json(resp, 200, json_pack("{s:o}", "events", arr));
}
