/* Strict decoding of the admin API's request bodies: one JSON object,
 * only known members, each of its declared type. A body can carry a
 * private key, so everything jansson frees is wiped first. */
#include "admin/admin_internal.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"

static void *json_body_on_malloc(size_t n)
{
	return malloc(n);
}

static void json_body_on_free(void *p)
{
	if (p != NULL)
		secret_wipe(p, malloc_usable_size(p));
	free(p);
}

void json_body_init(void)
{
	json_set_alloc_funcs(json_body_on_malloc, json_body_on_free);
}

static int fail(struct json_body_error *e, const char *code, const char *field, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

static int fail(struct json_body_error *e, const char *code, const char *field, const char *fmt,
		...)
{
	va_list ap;

	snprintf(e->err.code, sizeof(e->err.code), "%s", code);
	snprintf(e->field, sizeof(e->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->err.message, sizeof(e->err.message), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *type_words(enum json_body_type t)
{
	static const char *const words[JSON_BODY_TYPE_MAX] = {
		[JSON_BODY_STRING] = "a string",
		[JSON_BODY_STRING_OR_NULL] = "a string or null",
		[JSON_BODY_BOOL] = "true or false",
		[JSON_BODY_INT] = "an integer",
		[JSON_BODY_INT_OR_NULL] = "an integer or null",
		[JSON_BODY_STRING_ARRAY] = "an array of strings",
		[JSON_BODY_OBJECT_ARRAY] = "an array of objects",
		[JSON_BODY_OBJECT_OR_NULL] = "an object or null",
		[JSON_BODY_STRING_LIST] = "an array of strings",
	};
	return words[t];
}

static int array_of(json_t *v, int (*is)(const json_t *), size_t max)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v) || json_array_size(v) > max)
		return 0;
	json_array_foreach(v, i, item)
		if (!is(item))
			return 0;
	return 1;
}

static int is_string(const json_t *v)
{
	return json_is_string(v);
}

static int is_object(const json_t *v)
{
	return json_is_object(v);
}

static int type_ok(json_t *v, enum json_body_type t)
{
	switch (t) {
	case JSON_BODY_STRING:
		return json_is_string(v);
	case JSON_BODY_STRING_OR_NULL:
		return json_is_string(v) || json_is_null(v);
	case JSON_BODY_BOOL:
		return json_is_boolean(v);
	case JSON_BODY_INT:
		return json_is_integer(v);
	case JSON_BODY_INT_OR_NULL:
		return json_is_integer(v) || json_is_null(v);
	case JSON_BODY_STRING_ARRAY:
		return array_of(v, is_string, JSON_BODY_MAX_NAMES);
	case JSON_BODY_OBJECT_ARRAY:
		return array_of(v, is_object, JSON_BODY_MAX_NAMES);
	case JSON_BODY_OBJECT_OR_NULL:
		return json_is_object(v) || json_is_null(v);
	case JSON_BODY_STRING_LIST:
		return array_of(v, is_string, (size_t)-1);
	default:
		return 0;
	}
}

static void field_name(char *out, size_t n, const char *prefix, const char *name)
{
	snprintf(out, n, "%s%s%s", prefix, prefix[0] ? "." : "", name);
}

int json_body_check(json_t *obj, const char *prefix, const struct json_body_field *fields,
		    size_t n_fields, struct json_body_error *e)
{
	const char *key;
	json_t *v;
	char name[96];

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; i < n_fields && strcmp(fields[i].name, key) != 0; i++)
			;
		field_name(name, sizeof(name), prefix, key);
		if (i == n_fields)
			return fail(e, "unknown_field", name,
				    "Unknown field '%.80s'; remove it (the fields are described in "
				    "the API documentation).", name);
		if (!type_ok(v, fields[i].type))
			return fail(e, "invalid_type", name, "Field '%.80s' must be %s%s.", name,
				    type_words(fields[i].type),
				    fields[i].type == JSON_BODY_STRING_ARRAY ||
						    fields[i].type == JSON_BODY_OBJECT_ARRAY
					    ? " (at most 100)"
					    : "");
	}
	for (size_t i = 0; i < n_fields; i++) {
		if (fields[i].required && json_object_get(obj, fields[i].name) == NULL) {
			field_name(name, sizeof(name), prefix, fields[i].name);
			return fail(e, "missing_field", name, "Field '%s' is required.", name);
		}
	}
	return 0;
}

json_t *json_body_parse(const char *body, size_t len, struct json_body_error *e)
{
	json_error_t jerr;
	json_t *root;

	memset(e, 0, sizeof(*e));
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		fail(e, "invalid_json", "",
		     "The request body is not valid JSON (line %d, column %d: %.200s); send one "
		     "JSON object.",
		     jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		fail(e, "invalid_type", "", "The request body must be a JSON object.");
		json_body_free(root);
		return NULL;
	}
	return root;
}

json_t *json_body_object(const char *body, size_t len, const struct json_body_field *fields,
			 size_t n_fields, struct json_body_error *e)
{
	json_t *root = json_body_parse(body, len, e);

	if (root != NULL && json_body_check(root, "", fields, n_fields, e) != 0) {
		json_body_free(root);
		return NULL;
	}
	return root;
}

const char *json_body_string(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

static void wipe_strings(json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_string(v)) {
		/* jansson owns the buffer; it is ours to clear before it is freed */
		secret_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, item)
			wipe_strings(item);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			wipe_strings(item);
	}
}

void json_body_free(json_t *root)
{
	if (root == NULL)
		return;
	if (root->refcount == 1)
		wipe_strings(root);
	json_decref(root);
}

/* ---- certificates */

static const struct json_body_field cert_post_fields[] = {
	{ "domain", JSON_BODY_STRING, 1 },
	{ "source", JSON_BODY_STRING, 1 },
	{ "certificate", JSON_BODY_STRING, 0 },
	{ "private_key", JSON_BODY_STRING, 0 },
	{ "ca_certificate", JSON_BODY_STRING_OR_NULL, 0 },
	{ "sans", JSON_BODY_STRING_ARRAY, 0 },
};

static const struct json_body_field cert_put_fields[] = {
	{ "certificate", JSON_BODY_STRING, 1 },
	{ "private_key", JSON_BODY_STRING, 1 },
	{ "ca_certificate", JSON_BODY_STRING_OR_NULL, 0 },
	{ "domain", JSON_BODY_STRING, 0 }, /* accepted when unchanged (checked by the caller) */
	{ "source", JSON_BODY_STRING, 0 },
};

/* Which members each source takes besides domain and source. */
static int cert_source_fields(json_t *root, const char *source, struct json_body_error *e)
{
	static const char *const pem_fields[] = { "certificate", "private_key", "ca_certificate" };
	int user = strcmp(source, "user") == 0;

	if (!user && strcmp(source, "self_signed") != 0 && strcmp(source, "acme") != 0)
		return fail(e, "invalid_value", "source",
			    "Field 'source' must be \"user\", \"self_signed\" or \"acme\".");
	if (user && json_object_get(root, "sans") != NULL)
		return fail(e, "unknown_field", "sans",
			    "Field 'sans' is not used with source \"user\": the names come from "
			    "the certificate.");
	for (size_t i = 0; i < 3; i++) {
		int has = json_object_get(root, pem_fields[i]) != NULL;

		if (!user && has)
			return fail(e, "unknown_field", pem_fields[i],
				    "Field '%s' is used only with source \"user\".", pem_fields[i]);
		if (user && !has && i < 2)
			return fail(e, "missing_field", pem_fields[i],
				    "Field '%s' is required with source \"user\".", pem_fields[i]);
	}
	return 0;
}

int json_body_cert_decode(const char *body, size_t len, int replace, struct json_body_cert *out,
			  struct json_body_error *e)
{
	json_t *sans, *item;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->root = replace ? json_body_object(body, len, cert_put_fields, 5, e)
			    : json_body_object(body, len, cert_post_fields, 6, e);
	if (out->root == NULL)
		return -1;
	out->domain = json_body_string(out->root, "domain");
	out->source = json_body_string(out->root, "source");
	out->certificate = json_body_string(out->root, "certificate");
	out->private_key = json_body_string(out->root, "private_key");
	out->ca_certificate = json_body_string(out->root, "ca_certificate");
	if (out->ca_certificate != NULL && out->ca_certificate[0] == '\0')
		out->ca_certificate = NULL;
	if (!replace && cert_source_fields(out->root, out->source, e) != 0) {
		json_body_cert_free(out);
		return -1;
	}
	sans = json_object_get(out->root, "sans");
	json_array_foreach(sans, i, item)
		out->sans[out->n_sans++] = json_string_value(item);
	return 0;
}

void json_body_cert_free(struct json_body_cert *c)
{
	json_body_free(c->root);
	memset(c, 0, sizeof(*c));
}

/* ---- applications */

static const struct json_body_field app_fields[] = {
	{ "name", JSON_BODY_STRING, 1 },
	{ "domains", JSON_BODY_STRING_ARRAY, 1 },
	{ "backends", JSON_BODY_OBJECT_ARRAY, 1 },
	{ "balance", JSON_BODY_STRING, 0 },
	{ "https_redirect", JSON_BODY_BOOL, 0 },
	{ "auto_certificate", JSON_BODY_BOOL, 0 },
	{ "client_ip_header", JSON_BODY_STRING, 0 },
	{ "health_check", JSON_BODY_OBJECT_OR_NULL, 0 },
	{ "id", JSON_BODY_INT, 0 },                     /* read-only */
	{ "certificate_id", JSON_BODY_INT_OR_NULL, 0 }, /* read-only */
	/* the firewall settings (SPEC section 6), checked by app_manager */
	{ "waf", JSON_BODY_STRING, 0 },
	{ "rate_limit", JSON_BODY_OBJECT_OR_NULL, 0 },
	{ "ip_allow", JSON_BODY_STRING_LIST, 0 },
	{ "ip_deny", JSON_BODY_STRING_LIST, 0 },
};

#define N_APP_FIELDS (sizeof(app_fields) / sizeof(app_fields[0]))

static const struct json_body_field backend_fields[] = {
	{ "url", JSON_BODY_STRING, 1 },
	{ "weight", JSON_BODY_INT, 0 },
};

static const struct json_body_field health_fields[] = {
	{ "path", JSON_BODY_STRING, 1 },
	{ "interval_s", JSON_BODY_INT, 0 },
};

/* An integer member as an int, clamped so that out-of-range values stay
 * out of range (the validation after us names the limits). */
static int small_int(json_t *obj, const char *name, int dflt)
{
	json_t *v = json_object_get(obj, name);
	json_int_t n;

	if (v == NULL)
		return dflt;
	n = json_integer_value(v);
	return n > 1000000 ? 1000001 : (n < -1000000 ? -1000001 : (int)n);
}

static int dup_to(char **dst, const char *src)
{
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

static int app_backends(json_t *arr, struct store_app *out, struct json_body_error *e)
{
	json_t *item;
	size_t i;
	char prefix[32];

	out->backends = calloc(json_array_size(arr) + 1, sizeof(*out->backends));
	if (out->backends == NULL)
		return -1;
	json_array_foreach(arr, i, item) {
		struct store_backend *b = &out->backends[i];

		snprintf(prefix, sizeof(prefix), "backends[%zu]", i);
		if (json_body_check(item, prefix, backend_fields, 2, e) != 0)
			return -1;
		b->weight = small_int(item, "weight", 1);
		if (dup_to(&b->url, json_body_string(item, "url")) != 0)
			return -1;
		out->n_backends++;
	}
	return 0;
}

static int app_domains(json_t *arr, struct store_app *out)
{
	json_t *item;
	size_t i;

	out->domains = calloc(json_array_size(arr) + 1, sizeof(*out->domains));
	if (out->domains == NULL)
		return -1;
	json_array_foreach(arr, i, item) {
		if (dup_to(&out->domains[i], json_string_value(item)) != 0)
			return -1;
		out->n_domains++;
	}
	return 0;
}

/* The firewall settings the body carries, as a JSON object's text. */
static int app_options(json_t *root, struct store_app *out)
{
	static const char *const names[] = { "waf", "rate_limit", "ip_allow", "ip_deny" };
	json_t *opts = json_object();

	for (size_t i = 0; opts != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *v = json_object_get(root, names[i]);

		if (v != NULL && json_object_set(opts, names[i], v) != 0) {
			json_decref(opts);
			opts = NULL;
		}
	}
	out->options_json = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
	json_decref(opts);
	return out->options_json ? 0 : -1;
}

static int app_fill(json_t *root, struct store_app *out, struct json_body_error *e)
{
	json_t *health = json_object_get(root, "health_check");

	if (app_domains(json_object_get(root, "domains"), out) != 0 ||
	    app_backends(json_object_get(root, "backends"), out, e) != 0)
		return -1;
	if (dup_to(&out->name, json_body_string(root, "name")) != 0 ||
	    dup_to(&out->balance, json_body_string(root, "balance")) != 0 ||
	    dup_to(&out->client_ip_header, json_body_string(root, "client_ip_header")) != 0)
		return -1;
	if (app_options(root, out) != 0)
		return -1;
	out->https_redirect = json_is_true(json_object_get(root, "https_redirect"));
	out->auto_certificate = json_is_true(json_object_get(root, "auto_certificate"));
	if (json_is_object(health)) {
		if (json_body_check(health, "health_check", health_fields, 2, e) != 0)
			return -1;
		if (dup_to(&out->health_path, json_body_string(health, "path")) != 0)
			return -1;
		out->health_interval_s = small_int(health, "interval_s", 10);
	} else if (dup_to(&out->health_path, "") != 0) {
		return -1;
	}
	return 0;
}

int json_body_app_decode(const char *body, size_t len, struct store_app *out,
			 struct json_body_error *e)
{
	json_t *root = json_body_object(body, len, app_fields, N_APP_FIELDS, e);

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return -1;
	if (app_fill(root, out, e) != 0) {
		if (e->err.code[0] == '\0')
			fail(e, "internal", "", "Out of memory while reading the request.");
		store_app_free(out);
		json_body_free(root);
		return -1;
	}
	json_body_free(root);
	return 0;
}
