#include "gateway/cli.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/password.h"
#include "crypto/secret.h"
#include "gateway/app_manager.h"
#include "gateway/cert_manager.h"
#include "gateway/instance.h"
#include "gateway/model_json.h"
#include "gateway/waf_manager.h"

#define MAX_LIST 64            /* repeated options (--domain, --san, --backend) */
#define MAX_PEM_FILE (1 << 20) /* a PEM file over 1 MiB is not a certificate */

struct cli {
	struct instance inst;
	struct store_actor who;
	char who_buf[64];
	int json;
};

void cli_usage(void *out)
{
	fputs("commands (postern -c FILE COMMAND):\n"
	      "  cert list [--json]\n"
	      "  cert show ID [--json]\n"
	      "  cert import --domain D --cert F --key F [--ca F] [--json]\n"
	      "  cert selfsign --domain D [--san NAME]... [--json]\n"
	      "  cert acme --domain D [--san NAME]... [--json]  (ordered by the daemon)\n"
	      "  cert delete ID\n"
	      "  cert test-ca              (prints the instance test CA certificate, PEM)\n"
	      "  cert import-list FILE     (lines \"PEMFILE [DOMAIN]\": certificate, chain and key\n"
	      "                             in one PEM each; one transaction, all or nothing)\n"
	      "  app add --name N --domain D [--domain D]... --backend URL[,weight=N]...\n"
	      "          [--balance round_robin|weighted|ip_hash|least_conn] [--https-redirect]\n"
	      "          [--auto-certificate] [--health-path P] [--health-interval S] [--json]\n"
	      "  app list [--json]\n"
	      "  app delete ID\n"
	      "  waf rules [--json]\n"
	      "  waf test --app ID --request FILE [--client-ip IP] [--json]\n"
	      "                            (FILE: a raw HTTP/1.1 request, \"-\" for stdin; runs it\n"
	      "                             through the application's IP lists and rules)\n"
	      "  user passwd NAME          (reads the new password from stdin)\n",
	      (FILE *)out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("postern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	cli_usage(stderr);
	return 2;
}

static int fail(struct cli *c, const struct error *err)
{
	fprintf(stderr, "postern: error %s: %s\n", err->code, err->message);
	if (c->json) {
		json_t *o = model_error_json(err);

		json_dumpf(o, stdout, JSON_INDENT(2));
		fputs("\n", stdout);
		json_decref(o);
	}
	return 1;
}

static void print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	fputs("\n", stdout);
	json_decref(o);
}

/* Read a whole file (or stdin for "-") into a NUL-terminated buffer the
 * caller frees with secret_free_str: it may hold a private key. */
static char *read_file(const char *path, struct error *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *buf;
	size_t n;

	if (f == NULL) {
		error_set(err, "file", "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = calloc(1, MAX_PEM_FILE + 1);
	n = buf ? fread(buf, 1, MAX_PEM_FILE + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (buf == NULL || n > MAX_PEM_FILE) {
		error_set(err, "file", "%s is larger than 1 MiB: not a PEM file", path);
		secret_free(buf, MAX_PEM_FILE + 1);
		return NULL;
	}
	return buf;
}

static int parse_id(const char *text, long long *id)
{
	char *end;

	errno = 0;
	*id = strtoll(text, &end, 10);
	return errno == 0 && *end == '\0' && end != text && *id > 0 ? 0 : -1;
}

/* ---- cert */

static int print_cert(struct cli *c, long long id, const char *verb)
{
	struct cert_view v;
	struct error err;

	if (cert_manager_get(&c->inst, id, &v, &err) != 0)
		return fail(c, &err);
	if (c->json) {
		print_json(model_cert_json(&v));
	} else {
		printf("%s certificate %lld for %s (%s), status %s%s%s\n", verb, id, v.rec.domain,
		       model_source_label(v.rec.source), cert_status_name(v.status),
		       v.status_detail[0] ? ": " : "", v.status_detail);
	}
	cert_view_free(&v);
	return 0;
}

static void print_cert_row(const struct cert_view *v)
{
	char issued[32] = "-", expires[32] = "-";

	if (v->has_info) {
		model_time_iso(v->info.not_before, issued);
		model_time_iso(v->info.not_after, expires);
	}
	printf("%-5lld %-30s %-14s %-30s %-20s %-20s %-15s %s\n", v->rec.id, v->rec.domain,
	       model_source_label(v->rec.source), v->has_info ? v->info.subject_cn : "-", issued,
	       expires, cert_status_name(v->status), v->deployed ? "yes" : "no");
}

static int cert_list(struct cli *c)
{
	struct cert_view *list;
	size_t n;
	struct error err;

	if (cert_manager_list(&c->inst, &list, &n, &err) != 0)
		return fail(c, &err);
	if (c->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, model_cert_json(&list[i]));
		print_json(json_pack("{s:o}", "certificates", arr));
	} else {
		printf("%-5s %-30s %-14s %-30s %-20s %-20s %-15s %s\n", "ID", "DOMAIN", "NAME",
		       "SUBJECT CN", "ISSUED ON", "EXPIRES ON", "STATUS", "DEPLOYED");
		for (size_t i = 0; i < n; i++)
			print_cert_row(&list[i]);
	}
	cert_view_list_free(list, n);
	return 0;
}

enum { OPT_DOMAIN = 1, OPT_CERT, OPT_KEY, OPT_CA, OPT_SAN, OPT_JSON, OPT_NAME, OPT_BACKEND,
       OPT_BALANCE, OPT_REDIRECT, OPT_AUTO, OPT_HPATH, OPT_HINTERVAL, OPT_APP, OPT_REQUEST,
       OPT_CLIENT_IP, OPT_MAX };

static const struct option cli_options[] = {
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "san", required_argument, NULL, OPT_SAN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "balance", required_argument, NULL, OPT_BALANCE },
	{ "https-redirect", no_argument, NULL, OPT_REDIRECT },
	{ "auto-certificate", no_argument, NULL, OPT_AUTO },
	{ "health-path", required_argument, NULL, OPT_HPATH },
	{ "health-interval", required_argument, NULL, OPT_HINTERVAL },
	{ "app", required_argument, NULL, OPT_APP },
	{ "request", required_argument, NULL, OPT_REQUEST },
	{ "client-ip", required_argument, NULL, OPT_CLIENT_IP },
	{ NULL, 0, NULL, 0 },
};

/* Options of one command, collected by parse_options. */
struct cli_opts {
	const char *single[OPT_MAX];   /* last value of a single-valued option */
	const char *domains[MAX_LIST];
	size_t n_domains;
	const char *sans[MAX_LIST];
	size_t n_sans;
	const char *backends[MAX_LIST];
	size_t n_backends;
	int flags[OPT_MAX];
	char **positional;
	int n_positional;
};

static int add_to(const char **list, size_t *n, const char *value)
{
	if (*n >= MAX_LIST)
		return -1;
	list[(*n)++] = value;
	return 0;
}

static int parse_options(struct cli *c, int argc, char **argv, struct cli_opts *o)
{
	int opt, rc = 0;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while (rc == 0 && (opt = getopt_long(argc, argv, "", cli_options, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		if (opt == OPT_DOMAIN)
			rc = add_to(o->domains, &o->n_domains, optarg);
		else if (opt == OPT_SAN)
			rc = add_to(o->sans, &o->n_sans, optarg);
		else if (opt == OPT_BACKEND)
			rc = add_to(o->backends, &o->n_backends, optarg);
		else if (opt == OPT_JSON || opt == OPT_REDIRECT || opt == OPT_AUTO)
			o->flags[opt] = 1;
		else
			o->single[opt] = optarg;
	}
	if (rc != 0)
		return usage_error("%s", "too many repeated options");
	c->json = o->flags[OPT_JSON];
	o->positional = argv + optind;
	o->n_positional = argc - optind;
	return 0;
}

static int cert_import(struct cli *c, struct cli_opts *o)
{
	struct error err;
	char *cert = NULL, *key = NULL, *ca = NULL;
	long long id = 0;
	int rc = 1;

	if (o->n_domains != 1 || !o->single[OPT_CERT] || !o->single[OPT_KEY])
		return usage_error("%s", "cert import needs --domain, --cert and --key");
	if ((cert = read_file(o->single[OPT_CERT], &err)) == NULL ||
	    (key = read_file(o->single[OPT_KEY], &err)) == NULL ||
	    (o->single[OPT_CA] && (ca = read_file(o->single[OPT_CA], &err)) == NULL)) {
		rc = fail(c, &err);
		goto out;
	}
	if (cert_manager_import(&c->inst, o->domains[0], cert, key, ca, &c->who, &id, &err) != 0)
		rc = fail(c, &err);
	else
		rc = print_cert(c, id, "imported");
out:
	secret_free_str(cert);
	secret_free_str(key);
	secret_free_str(ca);
	return rc;
}

static int cert_selfsign(struct cli *c, struct cli_opts *o)
{
	struct error err;
	long long id = 0;

	if (o->n_domains != 1)
		return usage_error("%s", "cert selfsign needs one --domain");
	if (cert_manager_selfsign(&c->inst, o->domains[0], o->sans, o->n_sans, &c->who, &id,
				  &err) != 0)
		return fail(c, &err);
	return print_cert(c, id, "created self-signed");
}

/* Split a combined PEM (certificate, chain and key in one file, as
 * HAProxy's crt files) into its certificate blocks and its key blocks. */
static int split_pem(const char *pem, char **certs, char **keys)
{
	size_t n = strlen(pem);
	const char *p = pem;

	*certs = calloc(1, n + 1);
	*keys = calloc(1, n + 1);
	if (*certs == NULL || *keys == NULL)
		return -1;
	while ((p = strstr(p, "-----BEGIN ")) != NULL) {
		const char *label_end = strchr(p + 11, '-');
		const char *end = label_end ? strstr(label_end, "-----END ") : NULL;
		const char *stop = end ? strstr(end + 9, "-----") : NULL;
		int is_key;

		if (stop == NULL)
			break;
		stop += 5;
		is_key = memmem(p, (size_t)(label_end - p), "PRIVATE KEY", 11) != NULL;
		strncat(is_key ? *keys : *certs, p, (size_t)(stop - p));
		strcat(is_key ? *keys : *certs, "\n");
		p = stop;
	}
	return 0;
}

/* One line of an import list: "PEMFILE [DOMAIN]" (HAProxy crt-list). The
 * domain defaults to the certificate's CN. Returns 1 when a certificate
 * was imported, 0 for a blank or comment line, -1 with err. */
static int import_list_line(struct cli *c, char *line, struct error *err)
{
	char *save = NULL, *file = strtok_r(line, " \t\r\n", &save);
	char *domain = strtok_r(NULL, " \t\r\n", &save);
	char *pem, *certs = NULL, *keys = NULL;
	long long id;
	int rc = -1;

	if (file == NULL || file[0] == '#')
		return 0;
	if ((pem = read_file(file, err)) == NULL)
		return -1;
	if (split_pem(pem, &certs, &keys) == 0) {
		if (domain == NULL) {
			struct cert_bundle b;
			struct cert_info info;

			if (cert_upload_parse(certs, strlen(certs), keys, strlen(keys), NULL, 0, &b,
					      err) == 0) {
				if (cert_info_inspect(b.leaf, &info) == 0) {
					rc = cert_manager_import(&c->inst, info.subject_cn, certs,
								 keys, NULL, &c->who, &id, err);
					cert_info_free(&info);
				}
				cert_bundle_free(&b);
			}
		} else {
			rc = cert_manager_import(&c->inst, domain, certs, keys, NULL, &c->who, &id,
						 err);
		}
	}
	secret_free_str(pem);
	secret_free_str(keys);
	free(certs);
	return rc == 0 ? 1 : -1;
}

/* Import many certificates in one transaction: all or nothing. */
static int cert_import_list(struct cli *c, struct cli_opts *o)
{
	struct error err;
	FILE *f;
	char line[4096];
	unsigned long n = 0, lineno = 0;
	int rc = 0;

	if (o->n_positional != 1)
		return usage_error("%s", "cert import-list needs one FILE");
	f = strcmp(o->positional[0], "-") == 0 ? stdin : fopen(o->positional[0], "re");
	if (f == NULL) {
		error_set(&err, "file", "cannot read %s: %s", o->positional[0], strerror(errno));
		return fail(c, &err);
	}
	if (store_batch_begin(c->inst.store, &err) != 0) {
		rc = -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char where[64];

		int got;

		lineno++;
		got = import_list_line(c, line, &err);
		if (got < 0) {
			snprintf(where, sizeof(where), "line %lu: ", lineno);
			memmove(err.message + strlen(where), err.message,
				sizeof(err.message) - strlen(where) - 1);
			memcpy(err.message, where, strlen(where));
			rc = -1;
		} else {
			n += (unsigned long)got;
		}
	}
	if (f != stdin)
		fclose(f);
	if (store_batch_end(c->inst.store, rc, rc == 0 ? &err : NULL) != 0 || rc != 0)
		return fail(c, &err);
	printf("imported %lu certificates\n", n);
	return 0;
}

/* An ACME record: the running daemon checks the names, orders, installs
 * and renews it (within seconds). */
static int cert_acme(struct cli *c, struct cli_opts *o)
{
	struct error err;
	long long id = 0;

	if (o->n_domains != 1)
		return usage_error("%s", "cert acme needs one --domain");
	if (cert_manager_create_acme(&c->inst, o->domains[0], o->sans, o->n_sans, &c->who, &id,
				     &err) != 0)
		return fail(c, &err);
	return print_cert(c, id, "created Let's Encrypt");
}

static int cert_test_ca(struct cli *c)
{
	struct error err;
	X509 *ca = NULL;
	EVP_PKEY *key = NULL;
	char *pem;

	if (cert_manager_test_ca(&c->inst, &ca, &key, &err) != 0)
		return fail(c, &err);
	pem = cert_codec_cert_pem(ca);
	X509_free(ca);
	EVP_PKEY_free(key);
	if (pem == NULL) {
		error_set(&err, "internal", "cannot encode the test CA");
		return fail(c, &err);
	}
	fputs(pem, stdout);
	free(pem);
	return 0;
}

static int with_id(struct cli *c, struct cli_opts *o, const char *what, long long *id)
{
	if (o->n_positional != 1 || parse_id(o->positional[0], id) != 0) {
		usage_error("%s needs one numeric ID", what);
		return -1;
	}
	return 0;
}

static int cert_command(struct cli *c, int argc, char **argv)
{
	struct cli_opts o;
	struct error err;
	long long id;
	int rc = parse_options(c, argc, argv, &o);

	if (rc != 0)
		return rc;
	if (strcmp(argv[0], "list") == 0)
		return cert_list(c);
	if (strcmp(argv[0], "import") == 0)
		return cert_import(c, &o);
	if (strcmp(argv[0], "selfsign") == 0)
		return cert_selfsign(c, &o);
	if (strcmp(argv[0], "acme") == 0)
		return cert_acme(c, &o);
	if (strcmp(argv[0], "test-ca") == 0)
		return cert_test_ca(c);
	if (strcmp(argv[0], "import-list") == 0)
		return cert_import_list(c, &o);
	if (strcmp(argv[0], "show") == 0)
		return with_id(c, &o, "cert show", &id) ? 2 : print_cert(c, id, "");
	if (strcmp(argv[0], "delete") == 0) {
		if (with_id(c, &o, "cert delete", &id) != 0)
			return 2;
		if (cert_manager_delete(&c->inst, id, &c->who, &err) != 0)
			return fail(c, &err);
		printf("deleted certificate %lld\n", id);
		return 0;
	}
	return usage_error("unknown command 'cert %s'", argv[0]);
}

/* ---- app */

static int app_list(struct cli *c)
{
	struct store_app *apps = NULL;
	struct cert_view *certs = NULL;
	size_t n = 0, n_certs = 0;
	struct error err;
	json_t *arr = json_array();

	if (store_app_list(c->inst.store, &apps, &n, &err) != 0 ||
	    cert_manager_list(&c->inst, &certs, &n_certs, &err) != 0) {
		store_app_list_free(apps, n);
		json_decref(arr);
		return fail(c, &err);
	}
	if (!c->json)
		printf("%-5s %-20s %-40s %s\n", "ID", "NAME", "DOMAINS", "BACKENDS");
	for (size_t i = 0; i < n; i++) {
		long long cert_id = app_manager_certificate_for(certs, n_certs, apps[i].domains[0],
								time(NULL));

		if (c->json) {
			json_array_append_new(arr, model_app_json(&apps[i], cert_id));
			continue;
		}
		printf("%-5lld %-20s %-40s", apps[i].id, apps[i].name, apps[i].domains[0]);
		for (size_t b = 0; b < apps[i].n_backends; b++)
			printf(" %s", apps[i].backends[b].url);
		printf("\n");
	}
	if (c->json)
		print_json(json_pack("{s:O}", "applications", arr));
	json_decref(arr);
	store_app_list_free(apps, n);
	cert_view_list_free(certs, n_certs);
	return 0;
}

/* "URL" or "URL,weight=N" into b (b->url malloc'd). */
static int parse_backend(const char *text, struct store_backend *b)
{
	const char *comma = strchr(text, ',');
	char *end;

	b->weight = 1;
	if (comma != NULL) {
		if (strncmp(comma, ",weight=", 8) != 0)
			return -1;
		b->weight = (int)strtol(comma + 8, &end, 10);
		if (*end != '\0' || end == comma + 8)
			return -1;
	}
	b->url = comma ? strndup(text, (size_t)(comma - text)) : strdup(text);
	return b->url ? 0 : -1;
}

static int build_app(struct cli_opts *o, struct store_app *a)
{
	memset(a, 0, sizeof(*a));
	a->name = strdup(o->single[OPT_NAME]);
	a->domains = calloc(o->n_domains, sizeof(*a->domains));
	a->backends = calloc(o->n_backends, sizeof(*a->backends));
	if (!a->name || !a->domains || !a->backends)
		return -1;
	for (; a->n_domains < o->n_domains; a->n_domains++)
		if ((a->domains[a->n_domains] = strdup(o->domains[a->n_domains])) == NULL)
			return -1;
	for (; a->n_backends < o->n_backends; a->n_backends++)
		if (parse_backend(o->backends[a->n_backends], &a->backends[a->n_backends]) != 0)
			return -1;
	if (o->single[OPT_BALANCE] && !(a->balance = strdup(o->single[OPT_BALANCE])))
		return -1;
	if (o->single[OPT_HPATH] && !(a->health_path = strdup(o->single[OPT_HPATH])))
		return -1;
	if (o->single[OPT_HINTERVAL])
		a->health_interval_s = atoi(o->single[OPT_HINTERVAL]);
	a->https_redirect = o->flags[OPT_REDIRECT];
	a->auto_certificate = o->flags[OPT_AUTO];
	return 0;
}

static int app_add(struct cli *c, struct cli_opts *o)
{
	struct store_app a;
	struct error err;
	int rc;

	if (!o->single[OPT_NAME] || o->n_domains == 0 || o->n_backends == 0)
		return usage_error("%s", "app add needs --name, at least one --domain and --backend");
	if (build_app(o, &a) != 0) {
		store_app_free(&a);
		error_set(&err, "invalid_application",
			  "a --backend is not of the form URL or URL,weight=N");
		return fail(c, &err);
	}
	rc = app_manager_add(&c->inst, &a, &c->who, &err);
	if (rc != 0) {
		rc = fail(c, &err);
	} else if (c->json) {
		print_json(model_app_json(&a, 0));
	} else {
		printf("added application %lld (%s)\n", a.id, a.name);
	}
	store_app_free(&a);
	return rc;
}

static int app_command(struct cli *c, int argc, char **argv)
{
	struct cli_opts o;
	struct error err;
	long long id;
	int rc = parse_options(c, argc, argv, &o);

	if (rc != 0)
		return rc;
	if (strcmp(argv[0], "list") == 0)
		return app_list(c);
	if (strcmp(argv[0], "add") == 0)
		return app_add(c, &o);
	if (strcmp(argv[0], "delete") == 0) {
		if (with_id(c, &o, "app delete", &id) != 0)
			return 2;
		if (app_manager_delete(&c->inst, id, &c->who, &err) != 0)
			return fail(c, &err);
		printf("deleted application %lld\n", id);
		return 0;
	}
	return usage_error("unknown command 'app %s'", argv[0]);
}

/* ---- waf */

static int waf_rules(struct cli *c)
{
	struct waf_rule *list;
	size_t n;
	struct error err;

	if (waf_manager_rules(&c->inst, &list, &n, &err) != 0)
		return fail(c, &err);
	if (c->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, waf_rule_to_json(&list[i]));
		print_json(json_pack("{s:o}", "rules", arr));
	} else {
		printf("%-7s %-6s %-7s %-6s %s\n", "ID", "ACTION", "ENABLED", "PRESET",
		       "DESCRIPTION");
		for (size_t i = 0; i < n; i++)
			printf("%-7lld %-6s %-7s %-6s %s\n", list[i].id,
			       waf_action_name(list[i].action), list[i].enabled ? "yes" : "no",
			       list[i].preset ? "yes" : "no", list[i].description);
	}
	waf_rule_list_free(list, n);
	return 0;
}

static void print_verdict(long long app_id, json_t *v)
{
	json_t *matches = json_object_get(v, "matches"), *m, *id;
	char rule[24];
	size_t i;

	printf("verdict: %s (application %lld, waf %s)\n",
	       json_string_value(json_object_get(v, "verdict")), app_id,
	       json_string_value(json_object_get(v, "mode")));
	if (json_array_size(matches) == 0)
		printf("no rule matches\n");
	json_array_foreach(matches, i, m) {
		id = json_object_get(m, "rule_id");
		if (json_is_integer(id))
			snprintf(rule, sizeof(rule), "%lld", (long long)json_integer_value(id));
		else
			snprintf(rule, sizeof(rule), "-");
		printf("  %-7s %-6s %-24s %s\n          matched: %s\n", rule,
		       json_string_value(json_object_get(m, "action")),
		       json_string_value(json_object_get(m, "target")),
		       json_string_value(json_object_get(m, "description")),
		       json_string_value(json_object_get(m, "excerpt")));
	}
}

static int waf_test(struct cli *c, struct cli_opts *o)
{
	struct error err;
	char field[WAF_FIELD_MAX];
	long long app_id;
	char *text;
	json_t *v;

	if (!o->single[OPT_APP] || !o->single[OPT_REQUEST] || o->n_positional != 0)
		return usage_error("%s", "waf test needs --app ID and --request FILE");
	if (parse_id(o->single[OPT_APP], &app_id) != 0)
		return usage_error("%s", "--app needs a numeric application ID");
	if ((text = read_file(o->single[OPT_REQUEST], &err)) == NULL)
		return fail(c, &err);
	v = waf_manager_test(&c->inst, app_id, text, strlen(text), o->single[OPT_CLIENT_IP], &err,
			     field);
	secret_free_str(text);
	if (v == NULL)
		return fail(c, &err);
	if (c->json) {
		print_json(v); /* takes v */
	} else {
		print_verdict(app_id, v);
		json_decref(v);
	}
	return 0;
}

static int waf_command(struct cli *c, int argc, char **argv)
{
	struct cli_opts o;
	int rc = parse_options(c, argc, argv, &o);

	if (rc != 0)
		return rc;
	if (strcmp(argv[0], "rules") == 0 && o.n_positional == 0)
		return waf_rules(c);
	if (strcmp(argv[0], "test") == 0)
		return waf_test(c, &o);
	return usage_error("unknown command 'waf %s'", argv[0]);
}

/* ---- user */

static int user_passwd(struct cli *c, const char *name)
{
	char pw[1024], hash[PASSWORD_HASH_MAX];
	struct error err;
	size_t n;
	int rc = 0;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "new password for %s (then Enter): ", name);
	if (fgets(pw, sizeof(pw), stdin) == NULL)
		pw[0] = '\0';
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (n < 8) {
		error_set(&err, "weak_password", "the new password must have at least 8 characters");
		rc = fail(c, &err);
	} else if (password_hash(pw, hash) != 0) {
		error_set(&err, "internal", "cannot hash the password");
		rc = fail(c, &err);
	} else if (store_user_set_password(c->inst.store, name, hash, &c->who, &err) != 0) {
		rc = fail(c, &err);
	} else {
		printf("password of %s changed\n", name);
	}
	secret_wipe(pw, sizeof(pw));
	secret_wipe(hash, sizeof(hash));
	return rc;
}

static int dispatch(struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[0], "cert") == 0)
		return cert_command(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[0], "app") == 0)
		return app_command(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[0], "waf") == 0)
		return waf_command(c, argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[0], "user") == 0 && strcmp(argv[1], "passwd") == 0)
		return user_passwd(c, argv[2]);
	return usage_error("unknown command '%s'", argv[0]);
}

int cli_run(const char *config_path, int argc, char **argv)
{
	struct cli c;
	struct error err;
	struct passwd *pw = getpwuid(getuid());
	int rc;

	memset(&c, 0, sizeof(c));
	if (argc < 1)
		return usage_error("%s", "no command given");
	snprintf(c.who_buf, sizeof(c.who_buf), "cli:%s", pw ? pw->pw_name : "unknown");
	c.who.who = c.who_buf;
	c.who.from = "cli";
	if (instance_open(config_path, &c.inst, &err) != 0) {
		fprintf(stderr, "postern: error %s: %s\n", err.code, err.message);
		return 1;
	}
	rc = dispatch(&c, argc, argv);
	instance_close(&c.inst);
	return rc;
}
