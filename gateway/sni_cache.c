/* The SNI cache: certificates indexed by name for the handshake.
 *
 * Names live in two open-addressing hash tables (linear probing), one for
 * exact names and one for the parents of "*.parent" wildcards, keyed with
 * SipHash under a random key per cache, since the client chooses the SNI:
 * a lookup costs one or two probes whatever the number of certificates.
 * Each distinct name owns a run of candidate entries in one shared array;
 * the best candidate depends on the time, so it is chosen per lookup among
 * the (usually one or two) certificates for that name.
 *
 * CA certificates are interned while adding: ten thousand leaves issued by
 * the same intermediate share one X509 for it instead of ten thousand
 * parsed copies (about 4.5 KiB each). Once finished, the cache is immutable and any number of
 * threads read it without locks. */
#include "gateway/sni_cache.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#define SNI_NAME_MAX 255 /* longest SNI looked up (RFC 6066 host_name, as OpenSSL) */

/* One table slot: the full 64-bit hash and the index of what it names. */
struct sni_slot {
	uint64_t hash;
	uint32_t value; /* index + 1; 0 = empty */
};

struct sni_table {
	struct sni_slot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two (0 slots: NULL) */
	size_t count;
};

/* A distinct name and its candidates c->cands[first .. first + count). */
struct sni_bucket {
	const char *name; /* borrowed from an entry's names (wildcards: past "*.") */
	size_t len;
	uint32_t first;
	uint32_t count;
};

struct sni_index {
	struct sni_table table;
	struct sni_bucket *buckets;
	size_t n_buckets;
};

struct sni_version {
	long long id;
	int version;
	uint32_t index; /* into entries */
};

struct sni_cache {
	unsigned char seed[crypto_shorthash_KEYBYTES];
	struct sni_entry *entries;
	size_t n_entries, cap_entries;
	/* interned CA certificates, found by the hash of their SHA-1 */
	X509 **cas;
	size_t n_cas, cap_cas;
	struct sni_table ca_table;
	/* built by sni_cache_finish */
	struct sni_index exact;
	struct sni_index wild;
	struct sni_bucket deflt; /* count 0 = no default certificate */
	uint32_t *cands;
	struct sni_version *versions; /* sorted by (id, version) */
	int finished;
};

/* ---- hashing and the slot table */

static uint64_t seeded_hash(const struct sni_cache *c, const void *key, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, key, len, c->seed);
	memcpy(&h, out, sizeof(h));
	return h;
}

static int table_init(struct sni_table *t, size_t n)
{
	size_t cap = 8;

	while (cap < 2 * n)
		cap *= 2;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (t->slots == NULL)
		return -1;
	t->mask = cap - 1;
	t->count = 0;
	return 0;
}

/* The next slot at or after *pos holding hash h: its value (index + 1), or
 * 0 at the first empty slot. Advance *pos past it to continue probing. */
static uint32_t table_probe(const struct sni_table *t, uint64_t h, size_t *pos)
{
	for (;; *pos = (*pos + 1) & t->mask) {
		const struct sni_slot *s = &t->slots[*pos];

		if (s->value == 0)
			return 0;
		if (s->hash == h) {
			*pos = (*pos + 1) & t->mask;
			return s->value;
		}
	}
}

/* Put (h, index) in the first empty slot (the caller checked it is new). */
static void table_put(struct sni_table *t, uint64_t h, uint32_t index)
{
	size_t pos = (size_t)h & t->mask;

	while (t->slots[pos].value != 0)
		pos = (pos + 1) & t->mask;
	t->slots[pos].hash = h;
	t->slots[pos].value = index + 1;
	t->count++;
}

/* Double the table when it is half full. Returns 0 or -1. */
static int table_reserve(struct sni_table *t)
{
	struct sni_table bigger;
	size_t i;

	if (t->slots != NULL && 2 * (t->count + 1) <= t->mask + 1)
		return 0;
	if (table_init(&bigger, t->slots ? t->mask + 1 : 4) < 0)
		return -1;
	for (i = 0; t->slots != NULL && i <= t->mask; i++)
		if (t->slots[i].value != 0)
			table_put(&bigger, t->slots[i].hash, t->slots[i].value - 1);
	free(t->slots);
	*t = bigger;
	return 0;
}

/* ---- names */

static int name_char_ok(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* Write the normal form of in[0..len) into out (SNI_NAME_MAX + 1 bytes):
 * lowercase, one trailing dot dropped. It must be a host name: letters,
 * digits, '-' and '_' in non-empty labels; with allow_wild, a left-most "*"
 * label followed by at least two labels. Returns the length, or -1. */
static int name_normalize(const char *in, size_t len, char *out, int allow_wild)
{
	size_t i, label = 0, dots = 0;
	int wild = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > SNI_NAME_MAX)
		return -1;
	if (allow_wild && len > 2 && in[0] == '*' && in[1] == '.') {
		out[0] = '*';
		out[1] = '.';
		wild = 1;
	}
	for (i = wild ? 2 : 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a'); /* ASCII only, whatever the locale */

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
			dots++;
		} else if (name_char_ok(ch)) {
			label++;
		} else {
			return -1;
		}
		out[i] = (char)ch;
	}
	if (label == 0 || (wild && dots == 0))
		return -1;
	out[len] = '\0';
	return (int)len;
}

static int is_wild(const char *name)
{
	return name[0] == '*' && name[1] == '.';
}

/* Add the normal form of raw to list (n so far) unless invalid or present. */
static void names_add(char list[][SNI_NAME_MAX + 1], size_t *n, size_t max, const char *raw)
{
	size_t i;

	if (*n == max || name_normalize(raw, strlen(raw), list[*n], 1) < 0)
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(list[i], list[*n]) == 0)
			return;
	(*n)++;
}

/* Copy the certificate's names (CN, DNS SANs) into one allocation: the
 * pointer array followed by the strings, so one free() releases it. */
static int entry_set_names(struct sni_entry *e, const struct cert_info *info)
{
	size_t max = info->n_sans + 1, n = 0, i, bytes = 0;
	char(*list)[SNI_NAME_MAX + 1] = malloc(max * sizeof(*list));
	char *p;

	if (list == NULL)
		return -1;
	names_add(list, &n, max, info->subject_cn);
	for (i = 0; i < info->n_sans; i++)
		names_add(list, &n, max, info->sans[i]);
	for (i = 0; i < n; i++)
		bytes += strlen(list[i]) + 1;
	e->names = malloc(n * sizeof(char *) + bytes + 1);
	if (e->names == NULL) {
		free(list);
		return -1;
	}
	p = (char *)(e->names + n);
	for (i = 0; i < n; i++) {
		e->names[i] = p;
		p = stpcpy(p, list[i]) + 1;
	}
	e->n_names = n;
	free(list);
	return 0;
}

/* ---- adding */

struct sni_cache *sni_cache_new(void)
{
	struct sni_cache *c;

	if (sodium_init() < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	crypto_shorthash_keygen(c->seed);
	return c;
}

static enum sni_key_kind key_kind(EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		return SNI_KEY_EC;
	case EVP_PKEY_RSA:
		return SNI_KEY_RSA;
	default:
		return SNI_KEY_OTHER;
	}
}

/* 1 when a and b have the same DER encoding. */
static int same_der(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la, lb, same;

	if (a == b)
		return 1;
	la = i2d_X509(a, &da);
	lb = i2d_X509(b, &db);
	same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	return same;
}

/* The interned copy of CA certificate x, borrowed from c->cas (x itself,
 * with a reference taken for c->cas, when it is the first of its kind).
 * Certificates are found by their signature value (free to read, and
 * distinct for distinct certificates) and confirmed by their whole
 * encoding. NULL on failure. */
static X509 *ca_intern(struct sni_cache *c, X509 *x)
{
	const ASN1_BIT_STRING *sig = NULL;
	uint64_t h;
	size_t pos;
	uint32_t v;
	X509 **grown;

	X509_get0_signature(&sig, NULL, x);
	if (sig == NULL)
		return NULL;
	h = seeded_hash(c, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig));
	pos = c->ca_table.slots ? (size_t)h & c->ca_table.mask : 0;
	while (c->ca_table.slots && (v = table_probe(&c->ca_table, h, &pos)) != 0)
		if (same_der(c->cas[v - 1], x))
			return c->cas[v - 1];
	if (c->n_cas == c->cap_cas) {
		grown = realloc(c->cas, (c->cap_cas ? 2 * c->cap_cas : 8) * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		c->cas = grown;
		c->cap_cas = c->cap_cas ? 2 * c->cap_cas : 8;
	}
	if (table_reserve(&c->ca_table) < 0 || X509_up_ref(x) != 1)
		return NULL;
	table_put(&c->ca_table, h, (uint32_t)c->n_cas);
	c->cas[c->n_cas++] = x;
	return x;
}

/* Replace each certificate of chain by its interned copy. 0 or -1. */
static int chain_intern(struct sni_cache *c, STACK_OF(X509) * chain)
{
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		X509 *shared = ca_intern(c, x);

		if (shared == NULL)
			return -1;
		if (shared == x)
			continue;
		if (X509_up_ref(shared) != 1)
			return -1;
		sk_X509_set(chain, i, shared);
		X509_free(x);
	}
	return 0;
}

static void entry_free(struct sni_entry *e)
{
	free(e->domain);
	X509_free(e->leaf);
	sk_X509_pop_free(e->chain, X509_free);
	EVP_PKEY_free(e->key);
	free(e->names);
	memset(e, 0, sizeof(*e));
}

/* Fill e from the bundle's objects (moved into e on success). */
static int entry_fill(struct sni_cache *c, struct sni_entry *e, const char *domain,
                      struct cert_bundle *b)
{
	struct cert_info info;
	int rc;

	if (b->leaf == NULL || b->key == NULL || X509_check_private_key(b->leaf, b->key) != 1)
		return -1;
	if (b->chain == NULL && (b->chain = sk_X509_new_null()) == NULL)
		return -1;
	if (chain_intern(c, b->chain) < 0 || cert_info_inspect(b->leaf, &info) < 0)
		return -1;
	e->not_before = info.not_before;
	e->not_after = info.not_after;
	rc = entry_set_names(e, &info);
	cert_info_free(&info);
	e->domain = strdup(domain ? domain : "");
	if (rc < 0 || e->domain == NULL) {
		free(e->names);
		free(e->domain);
		return -1;
	}
	e->kind = key_kind(b->key);
	e->leaf = b->leaf;
	e->chain = b->chain;
	e->key = b->key;
	memset(b, 0, sizeof(*b));
	return 0;
}

/* A zeroed entry at the end of c (not yet counted), or NULL. */
static struct sni_entry *entry_slot(struct sni_cache *c)
{
	struct sni_entry *grown;

	if (c == NULL || c->finished || c->n_entries >= UINT32_MAX / 4)
		return NULL;
	if (c->n_entries == c->cap_entries) {
		size_t cap = c->cap_entries ? 2 * c->cap_entries : 16;

		grown = realloc(c->entries, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		c->entries = grown;
		c->cap_entries = cap;
	}
	memset(&c->entries[c->n_entries], 0, sizeof(*grown));
	return &c->entries[c->n_entries];
}

int sni_cache_add(struct sni_cache *c, long long cert_id, int version, const char *domain,
                  struct cert_bundle *bundle)
{
	struct sni_entry *e = entry_slot(c);

	if (e == NULL || entry_fill(c, e, domain, bundle) < 0) {
		cert_bundle_free(bundle);
		return -1;
	}
	e->cert_id = cert_id;
	e->version = version;
	c->n_entries++;
	return 0;
}

/* A copy of names (one allocation, as entry_set_names makes). */
static char **names_dup(char *const *names, size_t n)
{
	size_t i, bytes = 0;
	char **copy, *p;

	for (i = 0; i < n; i++)
		bytes += strlen(names[i]) + 1;
	copy = malloc(n * sizeof(char *) + bytes + 1);
	if (copy == NULL)
		return NULL;
	p = (char *)(copy + n);
	for (i = 0; i < n; i++) {
		copy[i] = p;
		p = stpcpy(p, names[i]) + 1;
	}
	return copy;
}

/* A new stack holding a reference to each certificate of chain. */
static STACK_OF(X509) * chain_ref(STACK_OF(X509) * chain)
{
	STACK_OF(X509) *copy = sk_X509_new_reserve(NULL, sk_X509_num(chain));
	int i;

	for (i = 0; copy != NULL && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (X509_up_ref(x) != 1)
			break;
		if (sk_X509_push(copy, x) <= 0) {
			X509_free(x);
			break;
		}
	}
	if (copy != NULL && i < sk_X509_num(chain)) {
		sk_X509_pop_free(copy, X509_free);
		copy = NULL;
	}
	return copy;
}

int sni_cache_add_entry(struct sni_cache *c, const struct sni_entry *from)
{
	struct sni_entry *e = entry_slot(c);

	if (e == NULL || from == NULL)
		return -1;
	e->cert_id = from->cert_id;
	e->version = from->version;
	e->kind = from->kind;
	e->not_before = from->not_before;
	e->not_after = from->not_after;
	e->n_names = from->n_names;
	e->chain = chain_ref(from->chain);
	e->names = names_dup(from->names, from->n_names);
	e->domain = strdup(from->domain);
	if (e->chain == NULL || e->names == NULL || e->domain == NULL ||
	    chain_intern(c, e->chain) < 0 || X509_up_ref(from->leaf) != 1)
		goto fail;
	e->leaf = from->leaf;
	if (EVP_PKEY_up_ref(from->key) != 1)
		goto fail;
	e->key = from->key;
	c->n_entries++;
	return 0;
fail:
	entry_free(e);
	return -1;
}

/* ---- freezing */

/* The bucket of index ix named key[0..len) (hash h), or NULL. */
static const struct sni_bucket *index_find(const struct sni_index *ix, uint64_t h, const char *key,
                                           size_t len)
{
	size_t pos;
	uint32_t v;

	if (ix->table.slots == NULL)
		return NULL;
	pos = (size_t)h & ix->table.mask;
	while ((v = table_probe(&ix->table, h, &pos)) != 0) {
		const struct sni_bucket *b = &ix->buckets[v - 1];

		if (b->len == len && memcmp(b->name, key, len) == 0)
			return b;
	}
	return NULL;
}

/* The key a name is indexed under: the name, or a wildcard's parent. */
static const char *index_key(const char *name, int wild)
{
	return wild ? name + 2 : name;
}

/* Pass one: a bucket per distinct name (exact or wildcard, as wild says),
 * counting its candidates. Returns 0 or -1. */
static int index_count(struct sni_cache *c, struct sni_index *ix, int wild, size_t n_pairs)
{
	size_t i, j;

	ix->buckets = calloc(n_pairs ? n_pairs : 1, sizeof(*ix->buckets));
	if (ix->buckets == NULL || table_init(&ix->table, n_pairs) < 0)
		return -1;
	for (i = 0; i < c->n_entries; i++) {
		for (j = 0; j < c->entries[i].n_names; j++) {
			const char *name = c->entries[i].names[j];
			const char *key = index_key(name, wild);
			size_t len = strlen(key);
			uint64_t h = seeded_hash(c, key, len);
			struct sni_bucket *b;

			if (is_wild(name) != wild)
				continue;
			b = (struct sni_bucket *)index_find(ix, h, key, len);
			if (b == NULL) {
				b = &ix->buckets[ix->n_buckets];
				b->name = key;
				b->len = len;
				table_put(&ix->table, h, (uint32_t)ix->n_buckets++);
			}
			b->count++;
		}
	}
	return 0;
}

/* Pass two: give each bucket its run of c->cands from *next on and fill
 * it with the entries that carry the name, in the order they were added. */
static void index_fill(struct sni_cache *c, struct sni_index *ix, int wild, uint32_t *next)
{
	size_t i, j;

	for (i = 0; i < ix->n_buckets; i++) {
		ix->buckets[i].first = *next;
		*next += ix->buckets[i].count;
		ix->buckets[i].count = 0;
	}
	for (i = 0; i < c->n_entries; i++) {
		for (j = 0; j < c->entries[i].n_names; j++) {
			const char *name = c->entries[i].names[j];
			const char *key = index_key(name, wild);
			size_t len = strlen(key);
			struct sni_bucket *b;

			if (is_wild(name) != wild)
				continue;
			b = (struct sni_bucket *)index_find(ix, seeded_hash(c, key, len), key, len);
			c->cands[b->first + b->count++] = (uint32_t)i;
		}
	}
}

static int version_cmp(const void *a, const void *b)
{
	const struct sni_version *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->version > y->version) - (x->version < y->version);
}

static int versions_build(struct sni_cache *c)
{
	size_t i;

	c->versions = malloc((c->n_entries ? c->n_entries : 1) * sizeof(*c->versions));
	if (c->versions == NULL)
		return -1;
	for (i = 0; i < c->n_entries; i++) {
		c->versions[i].id = c->entries[i].cert_id;
		c->versions[i].version = c->entries[i].version;
		c->versions[i].index = (uint32_t)i;
	}
	qsort(c->versions, c->n_entries, sizeof(*c->versions), version_cmp);
	return 0;
}

/* The default bucket: every entry whose record domain is default_domain. */
static void default_fill(struct sni_cache *c, const char *default_domain, uint32_t next)
{
	size_t i;

	c->deflt.first = next;
	c->deflt.count = 0;
	if (default_domain == NULL || default_domain[0] == '\0')
		return;
	for (i = 0; i < c->n_entries; i++)
		if (strcasecmp(c->entries[i].domain, default_domain) == 0)
			c->cands[next + c->deflt.count++] = (uint32_t)i;
}

int sni_cache_finish(struct sni_cache *c, const char *default_domain)
{
	size_t i, j, n_exact = 0, n_wild = 0;
	uint32_t next = 0;

	if (c == NULL || c->finished)
		return -1;
	for (i = 0; i < c->n_entries; i++)
		for (j = 0; j < c->entries[i].n_names; j++)
			*(is_wild(c->entries[i].names[j]) ? &n_wild : &n_exact) += 1;
	if (n_exact + n_wild + c->n_entries >= UINT32_MAX)
		return -1;
	c->cands = malloc((n_exact + n_wild + c->n_entries + 1) * sizeof(*c->cands));
	if (c->cands == NULL || index_count(c, &c->exact, 0, n_exact) < 0 ||
	    index_count(c, &c->wild, 1, n_wild) < 0 || versions_build(c) < 0)
		return -1;
	index_fill(c, &c->exact, 0, &next);
	index_fill(c, &c->wild, 1, &next);
	default_fill(c, default_domain, next);
	/* The interning table is only needed while adding. */
	free(c->ca_table.slots);
	memset(&c->ca_table, 0, sizeof(c->ca_table));
	c->finished = 1;
	return 0;
}

void sni_cache_free(struct sni_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_entries; i++)
		entry_free(&c->entries[i]);
	free(c->entries);
	for (i = 0; i < c->n_cas; i++)
		X509_free(c->cas[i]);
	free(c->cas);
	free(c->ca_table.slots);
	free(c->exact.table.slots);
	free(c->exact.buckets);
	free(c->wild.table.slots);
	free(c->wild.buckets);
	free(c->cands);
	free(c->versions);
	free(c);
}

/* ---- reading */

static int valid_at(const struct sni_entry *e, time_t now)
{
	return e->not_before <= now && now < e->not_after;
}

/* 1 when e should be served instead of cur: valid now beats not valid,
 * then the later expiry wins (the first added on a tie). */
static int better(const struct sni_entry *e, const struct sni_entry *cur, time_t now)
{
	int ev, cv;

	if (cur == NULL)
		return 1;
	ev = valid_at(e, now);
	cv = valid_at(cur, now);
	if (ev != cv)
		return ev;
	return e->not_after > cur->not_after;
}

static void pick(const struct sni_cache *c, const struct sni_bucket *b, time_t now,
                 struct sni_match *out)
{
	const struct sni_entry *best[SNI_KEY_MAX] = {NULL};
	uint32_t i;

	for (i = 0; i < b->count; i++) {
		const struct sni_entry *e = &c->entries[c->cands[b->first + i]];

		if (better(e, best[e->kind], now))
			best[e->kind] = e;
	}
	out->ec = best[SNI_KEY_EC];
	out->rsa = best[SNI_KEY_RSA];
	out->other = best[SNI_KEY_OTHER];
}

/* The exact or wildcard bucket for the normalised name, or NULL. */
static const struct sni_bucket *find_name(const struct sni_cache *c, const char *name, size_t len)
{
	const struct sni_bucket *b;
	const char *dot;

	b = index_find(&c->exact, seeded_hash(c, name, len), name, len);
	if (b != NULL)
		return b;
	dot = memchr(name, '.', len);
	if (dot == NULL || c->wild.n_buckets == 0)
		return NULL;
	len -= (size_t)(dot + 1 - name);
	return index_find(&c->wild, seeded_hash(c, dot + 1, len), dot + 1, len);
}

int sni_cache_lookup(const struct sni_cache *c, const char *sni, time_t now, struct sni_match *out)
{
	char name[SNI_NAME_MAX + 1];
	const struct sni_bucket *b = NULL;
	size_t len;
	int n;

	memset(out, 0, sizeof(*out));
	if (c == NULL || !c->finished)
		return -1;
	if (sni != NULL && sni[0] != '\0') {
		len = strnlen(sni, SNI_NAME_MAX + 2);
		n = len <= SNI_NAME_MAX + 1 ? name_normalize(sni, len, name, 0) : -1;
		if (n > 0)
			b = find_name(c, name, (size_t)n);
	}
	if (b == NULL && c->deflt.count > 0) {
		b = &c->deflt;
		out->is_default = 1;
	}
	if (b == NULL)
		return -1;
	pick(c, b, now, out);
	return 0;
}

const struct sni_entry *sni_cache_get(const struct sni_cache *c, long long cert_id, int version)
{
	struct sni_version key = {cert_id, version, 0};
	const struct sni_version *v;

	if (c == NULL || !c->finished || c->n_entries == 0)
		return NULL;
	v = bsearch(&key, c->versions, c->n_entries, sizeof(key), version_cmp);
	return v ? &c->entries[v->index] : NULL;
}

int sni_cache_has(const struct sni_cache *c, long long cert_id, int version)
{
	return sni_cache_get(c, cert_id, version) != NULL;
}

size_t sni_cache_count(const struct sni_cache *c)
{
	return c ? c->n_entries : 0;
}

int sni_entry_covers(const struct sni_entry *e, const char *host, size_t host_len)
{
	char name[SNI_NAME_MAX + 1];
	const char *parent;
	size_t i, parent_len;
	int n;

	if (e == NULL || host == NULL || host_len > SNI_NAME_MAX + 1 ||
	    memchr(host, '\0', host_len) != NULL)
		return 0;
	n = name_normalize(host, host_len, name, 0);
	if (n < 0)
		return 0;
	parent = memchr(name, '.', (size_t)n);
	parent_len = parent ? (size_t)n - (size_t)(parent + 1 - name) : 0;
	for (i = 0; i < e->n_names; i++) {
		const char *p = e->names[i];

		if (!is_wild(p) && strcmp(p, name) == 0)
			return 1;
		if (is_wild(p) && parent != NULL && strlen(p + 2) == parent_len &&
		    memcmp(p + 2, parent + 1, parent_len) == 0)
			return 1;
	}
	return 0;
}
