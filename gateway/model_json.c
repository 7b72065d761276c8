#include "gateway/model_json.h"

#include <string.h>

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
	return o;
}

json_t *model_error_json(const struct error *err)
{
	return json_pack("{s:{s:s, s:s}}", "error", "code", err->code, "message", err->message);
}
