/* libFuzzer target for the admin API's strict JSON body decoding: the
 * first byte picks the body (certificate POST, certificate PUT,
 * application, a flat object such as the sign-in body), the rest is the
 * request body as it arrives. Checks what callers rely on: a decoded body
 * has its required members, an error has a code. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct json_body_field login_fields[] = {
	{ "username", JSON_BODY_STRING, 1 },
	{ "password", JSON_BODY_STRING, 1 },
	{ "limit", JSON_BODY_INT_OR_NULL, 0 },
	{ "flags", JSON_BODY_BOOL, 0 },
};

static void check_error(int rc, const struct json_body_error *e)
{
	if (rc != 0 && e->err.code[0] == '\0')
		abort(); /* every failure names its code */
}

static void fuzz_cert(const char *body, size_t len, int replace)
{
	struct json_body_cert c;
	struct json_body_error e;
	int rc = json_body_cert_decode(body, len, replace, &c, &e);

	check_error(rc, &e);
	if (rc != 0)
		return;
	if (c.n_sans > JSON_BODY_MAX_NAMES || (!replace && (c.domain == NULL || c.source == NULL)))
		abort();
	/* a user upload always carries its certificate and key */
	if ((replace || strcmp(c.source, "user") == 0) &&
	    (c.certificate == NULL || c.private_key == NULL))
		abort();
	for (size_t i = 0; i < c.n_sans; i++)
		if (c.sans[i] == NULL)
			abort();
	json_body_cert_free(&c);
}

static void fuzz_app(const char *body, size_t len)
{
	struct store_app a;
	struct json_body_error e;
	int rc = json_body_app_decode(body, len, &a, &e);

	check_error(rc, &e);
	if (rc != 0)
		return;
	if (a.name == NULL || a.n_domains > JSON_BODY_MAX_NAMES || a.health_path == NULL)
		abort();
	for (size_t i = 0; i < a.n_backends; i++)
		if (a.backends[i].url == NULL)
			abort();
	store_app_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	const char *body = (const char *)data + 1;
	struct json_body_error e;
	json_t *root;

	if (!initialised) {
		json_body_init();
		initialised = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_cert(body, size - 1, 0);
		break;
	case 1:
		fuzz_cert(body, size - 1, 1);
		break;
	case 2:
		fuzz_app(body, size - 1);
		break;
	default:
		root = json_body_object(body, size - 1, login_fields, 4, &e);
		check_error(root == NULL, &e);
		if (root != NULL && (json_body_string(root, "username") == NULL ||
				     json_body_string(root, "password") == NULL))
			abort();
		json_body_free(root);
		break;
	}
	return 0;
}
