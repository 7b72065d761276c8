#include "gateway/model_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waf/events.h"

const char *model_source_label(const char *source)
{
	if (strcmp(source, "acme") == 0)
		return "Let's Encrypt";
	if (strcmp(source, "user") == 0)
		return "User Provided";
	if (strcmp(source, "self_signed") == 0)
		return "Self-Signed";
	return source;
}

void model_time_iso(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *time_or_null(time_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	model_time_iso(t, buf);
	return json_string(buf);
}

static json_t *string_array(char *const *items, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(items[i]));
	return arr;
}

static json_t *renewal_json(const struct cert_view *v)
{
	const struct store_cert *r = &v->rec;

	return json_pack("{s:b, s:o, s:o}", "auto", r->auto_renew,
			 "next_attempt", time_or_null((time_t)r->next_attempt),
			 "last_error", r->last_error ? json_string(r->last_error) : json_null());
}

json_t *model_cert_json(const struct cert_view *v)
{
	const struct store_cert *r = &v->rec;
	const struct cert_info *i = &v->info;
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "domain", json_string(r->domain));
	json_object_set_new(o, "source", json_string(r->source));
	json_object_set_new(o, "name", json_string(model_source_label(r->source)));
	if (v->has_info) {
		json_object_set_new(o, "subject_cn", json_string(i->subject_cn));
		json_object_set_new(o, "sans", string_array(i->sans, i->n_sans));
		json_object_set_new(o, "issuer_cn", json_string(i->issuer_cn));
		json_object_set_new(o, "key_type", json_string(i->key_type));
		json_object_set_new(o, "fingerprint_sha256", json_string(i->fingerprint_sha256));
		json_object_set_new(o, "issued_on", time_or_null(i->not_before));
		json_object_set_new(o, "expires_on", time_or_null(i->not_after));
	} else {
		json_object_set_new(o, "subject_cn", json_null());
		json_object_set_new(o, "sans", json_array());
		json_object_set_new(o, "issuer_cn", json_null());
		json_object_set_new(o, "key_type", json_null());
		json_object_set_new(o, "fingerprint_sha256", json_null());
		json_object_set_new(o, "issued_on", json_null());
		json_object_set_new(o, "expires_on", json_null());
	}
	json_object_set_new(o, "status", json_string(cert_status_name(v->status)));
	json_object_set_new(o, "status_detail", json_string(v->status_detail));
	json_object_set_new(o, "deployed", json_boolean(v->deployed));
	json_object_set_new(o, "renewal", renewal_json(v));
	return o;
}

static json_t *backends_json(const struct store_app *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->n_backends; i++)
		json_array_append_new(arr, json_pack("{s:s, s:i}", "url", a->backends[i].url,
						     "weight", a->backends[i].weight));
	return arr;
}

/* Length of the valid UTF-8 sequence at s (NUL-terminated), 0 when the
 * bytes there are not one (overlong forms and surrogates included). */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
				     : s[0] >= 0xe0 && s[0] <= 0xef ? 3
				     : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

json_t *model_text_json(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	json_t *j = json_string((const char *)p);
	char *clean, *o;

	if (j != NULL)
		return j;
	clean = malloc(3 * strlen((const char *)p) + 1);
	if (clean == NULL)
		return NULL;
	for (o = clean; *p != '\0';) {
		size_t n = utf8_seq(p);

		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			p++;
			continue;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	j = json_string(clean);
	free(clean);
	return j;
}

/* The firewall settings of SPEC section 6 from a stored options_json into
 * o (stored normalized; a row older than them prints the defaults). */
static void waf_settings_json(json_t *o, const char *options_json)
{
	json_t *opts = json_loads(options_json ? options_json : "{}", 0, NULL);
	json_t *mode = json_object_get(opts, "waf"), *rl = json_object_get(opts, "rate_limit");
	const char *lists[] = { "ip_allow", "ip_deny" };

	json_object_set_new(o, "waf", json_is_string(mode) ? json_copy(mode) : json_string("off"));
	json_object_set_new(o, "rate_limit", json_is_object(rl) ? json_deep_copy(rl) : json_null());
	for (size_t i = 0; i < 2; i++) {
		json_t *l = json_object_get(opts, lists[i]);

		json_object_set_new(o, lists[i], json_is_array(l) ? json_deep_copy(l) : json_array());
	}
	json_decref(opts);
}

json_t *model_app_json(const struct store_app *a, long long certificate_id)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "domains", string_array(a->domains, a->n_domains));
	json_object_set_new(o, "backends", backends_json(a));
	json_object_set_new(o, "balance", json_string(a->balance));
	json_object_set_new(o, "https_redirect", json_boolean(a->https_redirect));
	json_object_set_new(o, "auto_certificate", json_boolean(a->auto_certificate));
	json_object_set_new(o, "client_ip_header", json_string(a->client_ip_header));
	if (a->health_path[0] != '\0')
		json_object_set_new(o, "health_check",
				    json_pack("{s:s, s:i}", "path", a->health_path, "interval_s",
					      a->health_interval_s));
	else
		json_object_set_new(o, "health_check", json_null());
	json_object_set_new(o, "certificate_id",
			    certificate_id ? json_integer(certificate_id) : json_null());
	waf_settings_json(o, a->options_json);
	return o;
}

json_t *model_event_json(const struct waf_event *e)
{
	char when[48];
	time_t secs = (time_t)(e->time_ms / 1000);
	struct tm tm;
	size_t n;
	json_t *o = json_object();

	gmtime_r(&secs, &tm);
	n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)(e->time_ms % 1000));
	json_object_set_new(o, "id", model_text_json(e->ref));
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "application_id", e->app_id ? json_integer(e->app_id) : json_null());
	json_object_set_new(o, "kind",
			    json_string(e->kind < WAF_EVENT_KIND_MAX
						? waf_event_kind_name((enum waf_event_kind)e->kind)
						: "waf"));
	json_object_set_new(o, "rule_id", e->rule_id ? json_integer(e->rule_id) : json_null());
	json_object_set_new(o, "action", json_string(e->blocked ? "block" : "log"));
	json_object_set_new(o, "client_ip", model_text_json(e->client_ip));
	json_object_set_new(o, "target", model_text_json(e->target));
	json_object_set_new(o, "method", model_text_json(e->method));
	json_object_set_new(o, "path", model_text_json(e->path));
	json_object_set_new(o, "excerpt", model_text_json(e->excerpt));
	return o;
}

json_t *model_error_json(const struct error *err)
{
	return json_pack("{s:{s:s, s:s}}", "error", "code", err->code, "message", err->message);
}
