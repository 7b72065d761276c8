/* The route table (Host -> application) and the backend registry.
 *
 * Host lookups use two open-addressing hash tables (exact names, and the
 * parents of "*.parent" wildcards) keyed with SipHash under a random key
 * per table, since clients choose the Host: a lookup costs one or two
 * probes whatever the number of applications. A table is immutable once
 * built, so any number of workers may read it at once.
 *
 * The registry maps each backend URL to one struct backend that survives
 * rebuilds (so health state does). It holds one reference on every
 * backend and each route table one per use; only the control thread adds
 * references, so a backend whose count is down to the registry's own is
 * unused by every table and cannot become used again behind our back. */
#include "gateway/routes.h"

#include <netdb.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/domain.h"
#include "common/log.h"

/* ---- seeded string -> pointer map (open addressing, linear probing) */

struct map_entry {
	const char *key; /* borrowed from the value's owner; NULL = empty */
	size_t key_len;
	void *value;
};

struct str_map {
	struct map_entry *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	unsigned char seed[crypto_shorthash_KEYBYTES];
};

static uint64_t map_hash(const struct str_map *m, const char *key, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)key, len, m->seed);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* Room for n keys at most half full. Returns 0 or -1. */
static int map_init(struct str_map *m, size_t n)
{
	size_t cap = 8;

	while (cap < 2 * n)
		cap *= 2;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (m->slots == NULL || sodium_init() < 0)
		return -1;
	m->mask = cap - 1;
	randombytes_buf(m->seed, sizeof(m->seed));
	return 0;
}

static void map_free(struct str_map *m)
{
	free(m->slots);
	m->slots = NULL;
}

static struct map_entry *map_find(const struct str_map *m, const char *key, size_t len)
{
	size_t i = (size_t)map_hash(m, key, len) & m->mask;

	for (;; i = (i + 1) & m->mask) {
		struct map_entry *e = &m->slots[i];

		if (e->key == NULL || (e->key_len == len && memcmp(e->key, key, len) == 0))
			return e;
	}
}

static void *map_get(const struct str_map *m, const char *key, size_t len)
{
	return map_find(m, key, len)->value;
}

/* Insert key (not present yet; the map must have room). */
static void map_put(struct str_map *m, const char *key, size_t len, void *value)
{
	struct map_entry *e = map_find(m, key, len);

	e->key = key;
	e->key_len = len;
	e->value = value;
}

/* ---- Host normalisation */

/* Copy the host part of a Host value into out (lowercase, without port or
 * one trailing dot). *literal is set for "[v6]". Returns the length, or
 * -1 when malformed. out has room for DOMAIN_MAX + 3 bytes. */
static int host_normalize(const char *host, size_t len, char *out, int *literal)
{
	const char *end = host + len, *colon;
	size_t n;

	*literal = len > 0 && host[0] == '[';
	if (*literal) {
		const char *close = memchr(host, ']', len);

		if (close == NULL)
			return -1;
		colon = close + 1 < end ? close + 1 : NULL;
		n = (size_t)(close + 1 - host);
	} else {
		colon = memrchr(host, ':', len);
		n = colon != NULL ? (size_t)(colon - host) : len;
		if (n > 0 && host[n - 1] == '.')
			n--;
	}
	if (colon != NULL) {
		if (*colon != ':')
			return -1;
		for (const char *p = colon + 1; p < end; p++)
			if (*p < '0' || *p > '9')
				return -1;
	}
	if (n == 0 || n > DOMAIN_MAX + 2 || (!*literal && n > DOMAIN_MAX))
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] + 32) : host[i];
	return (int)n;
}

/* ---- backends */

static uint64_t url_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a finaliser */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static void backend_unref(struct backend *b)
{
	if (b != NULL && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
}

/* Split "http://host[:port][/]" into host (brackets removed) and port.
 * Fills b->host_header with the authority as written. Returns 0 or -1. */
static int url_split(struct backend *b, char *host, size_t host_size, char *port,
		     size_t port_size)
{
	const char *auth = b->url + 7, *end, *hend, *pstart = NULL;
	size_t alen;

	if (strncasecmp(b->url, "http://", 7) != 0)
		return -1;
	end = auth + strcspn(auth, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0)
		return -1;
	alen = (size_t)(end - auth);
	if (auth[0] == '[') {
		hend = memchr(auth, ']', alen);
		if (hend == NULL || hend == auth + 1)
			return -1;
		if (hend + 1 < end)
			pstart = hend[1] == ':' ? hend + 2 : end + 1; /* end + 1: reject */
		auth++;
	} else {
		hend = memchr(auth, ':', alen);
		if (hend != NULL)
			pstart = hend + 1;
		else
			hend = end;
	}
	if (hend == auth || (size_t)(hend - auth) >= host_size || alen >= sizeof(b->host_header) ||
	    (pstart != NULL && (pstart >= end || (size_t)(end - pstart) >= port_size)))
		return -1;
	memcpy(host, auth, (size_t)(hend - auth));
	host[hend - auth] = '\0';
	if (pstart == NULL) {
		snprintf(port, port_size, "80");
	} else {
		memcpy(port, pstart, (size_t)(end - pstart));
		port[end - pstart] = '\0';
	}
	memcpy(b->host_header, b->url + 7, alen);
	b->host_header[alen] = '\0';
	return 0;
}

/* Numeric addresses first (no DNS); then, for names, the resolver. This
 * may block: it runs only on the control thread, while building.
 * Returns 0, -1 with err for a malformed URL, or 1 when the name does not
 * resolve (yet): the backend then stays down and is tried again at the
 * next build, so one typo cannot stop every other change from applying. */
static int backend_resolve(struct backend *b, struct error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256], port[8];
	long pnum;
	int rc;

	if (url_split(b, host, sizeof(host), port, sizeof(port)) < 0 ||
	    strspn(port, "0123456789") != strlen(port) || (pnum = strtol(port, NULL, 10)) < 1 ||
	    pnum > 65535) {
		error_set(err, "invalid_backend",
			  "backend '%s' is not a URL of the form http://host:port; "
			  "fix it in the application",
			  b->url);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_NONAME && b->host_header[0] != '[') {
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0 || res == NULL || res->ai_addrlen > sizeof(b->addr)) {
		log_warn("backend %s: the name %s does not resolve (%s); it gets no requests "
			 "until it does (fix the URL or the DNS)",
			 b->url, host, rc != 0 ? gai_strerror(rc) : "no address");
		if (res != NULL)
			freeaddrinfo(res);
		return 1;
	}
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A backend whose name did not resolve: try again (control thread). The
 * address is written before healthy is set, and workers read it only
 * after seeing healthy. */
static void backend_retry_resolve(struct backend *b)
{
	struct error err;

	if (b->addr_len == 0 && backend_resolve(b, &err) == 0)
		atomic_store(&b->healthy, 1);
}

static struct backend *backend_new(const char *url, struct error *err)
{
	struct backend *b;
	int rc;

	if (strlen(url) >= sizeof(b->url)) {
		error_set(err, "invalid_backend", "backend URL '%.64s...' is longer than %zu bytes",
			  url, sizeof(b->url) - 1);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		error_set(err, "internal", "out of memory");
		return NULL;
	}
	strcpy(b->url, url);
	rc = backend_resolve(b, err);
	if (rc < 0) {
		free(b);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	atomic_init(&b->healthy, rc == 0); /* unresolved: down until it resolves */
	atomic_init(&b->active, 0);
	atomic_init(&b->fails, 0);
	atomic_init(&b->ejected_until_ms, 0);
	b->url_hash = url_hash(url);
	return b;
}

/* ---- registry */

struct registry_entry {
	struct backend_slot slot;
	const char *next_path; /* settings gathered by the build in progress */
	int next_interval_ms;
};

struct backend_registry {
	struct registry_entry **entries;
	size_t n, cap;
	struct str_map index; /* url -> entry */
};

struct backend_registry *backend_registry_new(void)
{
	struct backend_registry *reg = calloc(1, sizeof(*reg));

	if (reg != NULL && map_init(&reg->index, 0) < 0) {
		map_free(&reg->index);
		free(reg);
		reg = NULL;
	}
	return reg;
}

static void entry_free(struct registry_entry *e)
{
	health_check_free(e->slot.check);
	free(e->slot.health_path);
	backend_unref(e->slot.backend);
	free(e);
}

void backend_registry_free(struct backend_registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->n; i++)
		entry_free(reg->entries[i]);
	free(reg->entries);
	map_free(&reg->index);
	free(reg);
}

size_t backend_registry_size(const struct backend_registry *reg)
{
	return reg->n;
}

struct backend_slot *backend_registry_slot(struct backend_registry *reg, size_t i)
{
	return i < reg->n ? &reg->entries[i]->slot : NULL;
}

static int registry_reindex(struct backend_registry *reg, size_t room)
{
	struct str_map m;

	if (map_init(&m, room) < 0) {
		map_free(&m);
		return -1;
	}
	for (size_t i = 0; i < reg->n; i++) {
		const char *url = reg->entries[i]->slot.backend->url;

		map_put(&m, url, strlen(url), reg->entries[i]);
	}
	map_free(&reg->index);
	reg->index = m;
	return 0;
}

static int registry_grow(struct backend_registry *reg)
{
	struct registry_entry **entries;
	size_t cap = reg->cap ? reg->cap * 2 : 16;

	entries = realloc(reg->entries, cap * sizeof(*entries));
	if (entries == NULL)
		return -1;
	reg->entries = entries;
	reg->cap = cap;
	return registry_reindex(reg, cap);
}

/* The entry for url, created (and resolved) when new. NULL with err. */
static struct registry_entry *registry_get(struct backend_registry *reg, const char *url,
					   struct error *err)
{
	struct registry_entry *e = map_get(&reg->index, url, strlen(url));

	if (e != NULL) {
		backend_retry_resolve(e->slot.backend);
		return e;
	}
	if (reg->n == reg->cap && registry_grow(reg) < 0) {
		error_set(err, "internal", "out of memory");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		error_set(err, "internal", "out of memory");
		return NULL;
	}
	e->slot.backend = backend_new(url, err);
	if (e->slot.backend == NULL) {
		free(e);
		return NULL;
	}
	reg->entries[reg->n++] = e;
	map_put(&reg->index, e->slot.backend->url, strlen(url), e);
	return e;
}

/* Drop entries only the registry references, then rebuild the index. */
static void registry_sweep(struct backend_registry *reg)
{
	size_t kept = 0;

	for (size_t i = 0; i < reg->n; i++) {
		struct registry_entry *e = reg->entries[i];

		if (atomic_load_explicit(&e->slot.backend->refs, memory_order_acquire) == 1)
			entry_free(e);
		else
			reg->entries[kept++] = e;
	}
	reg->n = kept;
	/* On failure the old index keeps pointers to freed entries: clear it
	 * so the next lookup misses instead (the next grow rebuilds it). */
	if (registry_reindex(reg, reg->cap) < 0)
		memset(reg->index.slots, 0, (reg->index.mask + 1) * sizeof(*reg->index.slots));
}

/* Adopt the settings the successful build gathered. */
static int registry_commit(struct backend_registry *reg)
{
	for (size_t i = 0; i < reg->n; i++) {
		struct registry_entry *e = reg->entries[i];
		char *path = NULL;

		if (e->next_path != NULL && (path = strdup(e->next_path)) == NULL)
			return -1;
		free(e->slot.health_path);
		e->slot.health_path = path;
		e->slot.health_interval_ms = path != NULL ? e->next_interval_ms : 0;
	}
	return 0;
}

/* ---- route table */

struct route_table {
	struct route_app *apps;
	size_t n_apps;
	struct str_map exact;    /* "www.example.com" -> app */
	struct str_map wildcard; /* "example.com" (from "*.example.com") -> app */
};

static const char *const balance_names[BALANCE_MAX] = { "round_robin", "weighted", "ip_hash",
							 "least_conn" };

static int parse_balance(const char *s, enum balance_mode *out)
{
	if (s == NULL || s[0] == '\0') {
		*out = BALANCE_ROUND_ROBIN;
		return 0;
	}
	for (int i = 0; i < BALANCE_MAX; i++) {
		if (strcmp(s, balance_names[i]) == 0) {
			*out = (enum balance_mode)i;
			return 0;
		}
	}
	return -1;
}

static long gcd(long a, long b)
{
	while (b != 0) {
		long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* nginx's smooth weighted round robin, run once here: every step each
 * backend gains its weight and the leader (first on ties) pays the total.
 * Weights are divided by their gcd first (the sequence is the same).
 * round_robin uses weight 1 for all. Returns 0 or -1. */
static int build_schedule(struct route_app *a)
{
	long g = 0, total = 0, *cur;

	if (a->n_backends == 0)
		return 0;
	for (size_t i = 0; i < a->n_backends; i++)
		g = gcd(a->balance == BALANCE_ROUND_ROBIN ? 1 : a->backends[i].weight, g);
	for (size_t i = 0; i < a->n_backends; i++)
		total += a->balance == BALANCE_ROUND_ROBIN ? 1 : a->backends[i].weight / g;
	cur = calloc(a->n_backends, sizeof(*cur));
	a->schedule = calloc((size_t)total, sizeof(*a->schedule));
	if (cur == NULL || a->schedule == NULL) {
		free(cur);
		return -1;
	}
	a->schedule_len = (size_t)total;
	for (long step = 0; step < total; step++) {
		size_t best = 0;

		for (size_t i = 0; i < a->n_backends; i++) {
			cur[i] += a->balance == BALANCE_ROUND_ROBIN ? 1 : a->backends[i].weight / g;
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= total;
		a->schedule[step] = (unsigned)best;
	}
	free(cur);
	return 0;
}

static void app_clear(struct route_app *a)
{
	free(a->name);
	for (size_t i = 0; i < a->n_domains; i++)
		free(a->domains[i]);
	free(a->domains);
	for (size_t i = 0; i < a->n_backends; i++)
		backend_unref(a->backends[i].backend);
	free(a->backends);
	free(a->client_ip_header);
	free(a->schedule);
	waf_app_policy_clear(&a->waf);
}

static const char *app_name(const struct store_app *s)
{
	return s->name != NULL ? s->name : "(unnamed)";
}

/* Domains stored lowercase, without a trailing dot. Returns 0, -1 (out of
 * memory) or 1 (err filled). */
static int copy_domains(struct route_app *a, const struct store_app *s, struct error *err)
{
	a->domains = calloc(s->n_domains ? s->n_domains : 1, sizeof(*a->domains));
	if (a->domains == NULL)
		return -1;
	for (; a->n_domains < s->n_domains; a->n_domains++) {
		const char *d = s->domains[a->n_domains] ? s->domains[a->n_domains] : "";
		char buf[DOMAIN_MAX + 3];
		int lit, n = host_normalize(d, strlen(d), buf, &lit);

		if (n < 0 || (size_t)n != strlen(d) - (d[strlen(d) - 1] == '.') ||
		    (d[0] == '*' && (n < 3 || d[1] != '.'))) {
			error_set(err, "invalid_application",
				  "application %s: domain '%s' is not a valid name; fix it",
				  app_name(s), d);
			return 1;
		}
		a->domains[a->n_domains] = strndup(buf, (size_t)n);
		if (a->domains[a->n_domains] == NULL)
			return -1;
	}
	return 0;
}

static void note_health(struct registry_entry *e, const struct store_app *s)
{
	int ms;

	if (s->health_path == NULL || s->health_path[0] == '\0')
		return;
	ms = (s->health_interval_s > 0 ? s->health_interval_s : 10) * 1000;
	if (e->next_path == NULL)
		e->next_path = s->health_path;
	if (e->next_interval_ms == 0 || ms < e->next_interval_ms)
		e->next_interval_ms = ms;
}

/* Returns 0, -1 (out of memory) or 1 (err filled). */
static int copy_backends(struct route_app *a, const struct store_app *s,
			 struct backend_registry *reg, struct error *err)
{
	a->backends = calloc(s->n_backends ? s->n_backends : 1, sizeof(*a->backends));
	if (a->backends == NULL)
		return -1;
	for (; a->n_backends < s->n_backends; a->n_backends++) {
		const struct store_backend *sb = &s->backends[a->n_backends];
		struct registry_entry *e;

		if (sb->url == NULL || sb->weight < 1 || sb->weight > 1000) {
			error_set(err, "invalid_application",
				  "application %s: backend %s has weight %d; use 1 to 1000",
				  app_name(s), sb->url ? sb->url : "(none)", sb->weight);
			return 1;
		}
		e = registry_get(reg, sb->url, err);
		if (e == NULL)
			return 1;
		atomic_fetch_add_explicit(&e->slot.backend->refs, 1, memory_order_relaxed);
		a->backends[a->n_backends].backend = e->slot.backend;
		a->backends[a->n_backends].weight = sb->weight;
		note_health(e, s);
	}
	return 0;
}

/* Returns 0, -1 (out of memory) or 1 (err filled). */
static int app_build(struct route_app *a, const struct store_app *s,
		     struct backend_registry *reg, struct error *err)
{
	int rc;

	a->id = s->id;
	if (parse_balance(s->balance, &a->balance) < 0) {
		error_set(err, "invalid_application",
			  "application %s: balance '%s' is unknown; use round_robin, weighted, "
			  "ip_hash or least_conn",
			  app_name(s), s->balance);
		return 1;
	}
	a->https_redirect = s->https_redirect;
	a->auto_certificate = s->auto_certificate;
	a->name = strdup(s->name != NULL ? s->name : "");
	a->client_ip_header = strdup(s->client_ip_header != NULL ? s->client_ip_header
								  : "X-Forwarded-For");
	if (a->name == NULL || a->client_ip_header == NULL)
		return -1;
	/* options are validated when written: a bad stored value (a hand-edited
	 * database) leaves the firewall off for this application, loudly */
	if (waf_app_policy_parse(s->options_json, &a->waf, err) != 0)
		log_error("application %s: firewall settings ignored: %s", app_name(s),
			  err->message);
	rc = copy_domains(a, s, err);
	if (rc == 0)
		rc = copy_backends(a, s, reg, err);
	if (rc < 0 || (rc == 0 && build_schedule(a) < 0))
		return -1;
	return rc != 0 ? 1 : 0;
}

static size_t count_domains(const struct route_table *t, int wildcard)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n_apps; i++)
		for (size_t j = 0; j < t->apps[i].n_domains; j++)
			n += (t->apps[i].domains[j][0] == '*') == wildcard;
	return n;
}

/* Returns 0, -1 (out of memory) or 1 (err filled). */
static int index_domains(struct route_table *t, struct error *err)
{
	if (map_init(&t->exact, count_domains(t, 0)) < 0 ||
	    map_init(&t->wildcard, count_domains(t, 1)) < 0)
		return -1;
	for (size_t i = 0; i < t->n_apps; i++) {
		struct route_app *a = &t->apps[i];

		for (size_t j = 0; j < a->n_domains; j++) {
			const char *d = a->domains[j];
			struct str_map *m = d[0] == '*' ? &t->wildcard : &t->exact;
			const char *key = d[0] == '*' ? d + 2 : d;
			struct route_app *other = map_get(m, key, strlen(key));

			if (other != NULL) {
				error_set(err, "conflict",
					  "domain %s is used by applications %s and %s; remove it "
					  "from one",
					  d, other->name, a->name);
				return 1;
			}
			map_put(m, key, strlen(key), a);
		}
	}
	return 0;
}

void route_table_free(struct route_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_apps; i++)
		app_clear(&t->apps[i]);
	free(t->apps);
	map_free(&t->exact);
	map_free(&t->wildcard);
	free(t);
}

static struct route_table *table_fill(const struct store_app *apps, size_t n,
				      struct backend_registry *reg, struct error *err)
{
	struct route_table *t = calloc(1, sizeof(*t));
	int rc = -1;

	if (t != NULL)
		t->apps = calloc(n ? n : 1, sizeof(*t->apps));
	if (t != NULL && t->apps != NULL) {
		for (rc = 0; rc == 0 && t->n_apps < n; t->n_apps++) {
			atomic_init(&t->apps[t->n_apps].cursor, 0);
			rc = app_build(&t->apps[t->n_apps], &apps[t->n_apps], reg, err);
		}
		if (rc == 0)
			rc = index_domains(t, err);
	}
	if (rc < 0)
		error_set(err, "internal", "out of memory while building the route table");
	if (rc != 0) {
		route_table_free(t);
		return NULL;
	}
	return t;
}

struct route_table *route_table_build(const struct store_app *apps, size_t n,
				      struct backend_registry *reg, struct error *err)
{
	struct route_table *t;

	if (reg == NULL) {
		error_set(err, "internal", "no backend registry to build the route table with");
		return NULL;
	}
	for (size_t i = 0; i < reg->n; i++) {
		reg->entries[i]->next_path = NULL;
		reg->entries[i]->next_interval_ms = 0;
	}
	t = table_fill(apps, n, reg, err);
	if (t != NULL && registry_commit(reg) < 0) {
		error_set(err, "internal", "out of memory while building the route table");
		route_table_free(t);
		t = NULL;
	}
	registry_sweep(reg);
	return t;
}

const struct route_app *route_table_lookup(const struct route_table *t, const char *host,
					   size_t host_len)
{
	char name[DOMAIN_MAX + 3];
	const struct route_app *a;
	const char *dot;
	int literal, n;

	if (t == NULL || host == NULL)
		return NULL;
	n = host_normalize(host, host_len, name, &literal);
	if (n < 0)
		return NULL;
	a = map_get(&t->exact, name, (size_t)n);
	if (a != NULL || literal)
		return a;
	dot = memchr(name, '.', (size_t)n);
	if (dot == NULL || dot == name || dot + 1 == name + n)
		return NULL;
	return map_get(&t->wildcard, dot + 1, (size_t)(name + n - dot - 1));
}
