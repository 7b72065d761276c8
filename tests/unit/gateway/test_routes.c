/* Route table, balancers, passive ejection, the backend registry and the
 * active health checks (against tiny HTTP servers on 127.0.0.1). */
#include "gateway/routes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/tap.h"

/* ---- fixtures: store_app records built from short strings */

struct fixture {
	struct store_app apps[2100];
	size_t n;
};

static char **split(const char *s, size_t *n)
{
	char *copy = strdup(s), *save = NULL, **out = calloc(strlen(s) + 1, sizeof(*out));

	*n = 0;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		out[(*n)++] = strdup(tok);
	free(copy);
	return out;
}

/* backends: "url" or "url=weight", space-separated. */
static struct store_app *add_app(struct fixture *f, const char *name, const char *domains,
				 const char *backends, const char *balance)
{
	struct store_app *a = &f->apps[f->n];
	char **urls;

	memset(a, 0, sizeof(*a));
	a->id = (long long)++f->n;
	a->name = strdup(name);
	a->domains = split(domains, &a->n_domains);
	urls = split(backends, &a->n_backends);
	a->backends = calloc(a->n_backends + 1, sizeof(*a->backends));
	for (size_t i = 0; i < a->n_backends; i++) {
		char *eq = strchr(urls[i], '=');

		a->backends[i].weight = eq ? atoi(eq + 1) : 1;
		if (eq)
			*eq = '\0';
		a->backends[i].url = urls[i];
	}
	free(urls);
	a->balance = strdup(balance);
	a->client_ip_header = strdup("X-Forwarded-For");
	a->health_path = strdup("");
	a->health_interval_s = 10;
	return a;
}

static void set_health(struct store_app *a, const char *path, int interval_s)
{
	free(a->health_path);
	a->health_path = strdup(path);
	a->health_interval_s = interval_s;
}

static void fixture_clear(struct fixture *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct store_app *a = &f->apps[i];

		for (size_t j = 0; j < a->n_domains; j++)
			free(a->domains[j]);
		for (size_t j = 0; j < a->n_backends; j++)
			free(a->backends[j].url);
		free(a->domains);
		free(a->backends);
		free(a->name);
		free(a->balance);
		free(a->client_ip_header);
		free(a->health_path);
	}
	f->n = 0;
}

static struct route_table *build(struct fixture *f, struct backend_registry *reg)
{
	struct error err = { 0 };
	struct route_table *t = route_table_build(f->apps, f->n, reg, &err);

	if (t == NULL)
		printf("# build failed: %s: %s\n", err.code, err.message);
	return t;
}

static const struct route_app *lookup(const struct route_table *t, const char *host)
{
	return route_table_lookup(t, host, strlen(host));
}

static const char *lookup_name(const struct route_table *t, const char *host)
{
	const struct route_app *a = lookup(t, host);

	return a ? a->name : "(none)";
}

static struct sockaddr_in ipv4(uint32_t addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_addr.s_addr = htonl(addr);
	return sin;
}

static int index_of(const struct route_app *a, const struct backend *b)
{
	for (size_t i = 0; i < a->n_backends; i++)
		if (a->backends[i].backend == b)
			return (int)i;
	return -1;
}

/* Pick and release at once; the backend index or -1. */
static int pick_index(const struct route_app *a, const struct sockaddr *client, uint64_t now)
{
	struct backend *b = balancer_pick(a, client, now);

	balancer_release(b);
	return b ? index_of(a, b) : -1;
}

/* ---- route lookup */

static void test_lookup(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	char long_host[300];

	add_app(&f, "site", "example.com www.example.com", "http://127.0.0.1:8081", "round_robin");
	add_app(&f, "wild", "*.example.com", "http://127.0.0.1:8082", "round_robin");
	add_app(&f, "deep", "*.b.example.org", "http://127.0.0.1:8083", "round_robin");
	add_app(&f, "v6", "[::1]", "http://127.0.0.1:8084", "round_robin");
	t = build(&f, reg);
	ok(t != NULL, "a route table builds from four applications");
	ok(strcmp(lookup_name(t, "example.com"), "site") == 0, "exact domain found");
	ok(strcmp(lookup_name(t, "www.example.com"), "site") == 0,
	   "exact domain wins over a matching wildcard");
	ok(strcmp(lookup_name(t, "api.example.com"), "wild") == 0, "wildcard matches one label");
	ok(lookup(t, "a.b.example.com") == NULL, "wildcard does not match two labels");
	ok(strcmp(lookup_name(t, "x.b.example.org"), "deep") == 0, "deeper wildcard matches");
	ok(lookup(t, "b.example.org") == NULL, "wildcard does not match its parent itself");
	ok(lookup(t, ".example.com") == NULL, "an empty first label does not match a wildcard");
	ok(strcmp(lookup_name(t, "example.com:8443"), "site") == 0, "port is stripped");
	ok(strcmp(lookup_name(t, "api.example.com:80"), "wild") == 0,
	   "port is stripped before wildcard matching");
	ok(strcmp(lookup_name(t, "example.com:"), "site") == 0, "an empty port is allowed");
	ok(lookup(t, "example.com:8x") == NULL, "a non-numeric port is rejected");
	ok(strcmp(lookup_name(t, "WWW.Example.COM"), "site") == 0, "lookup ignores case");
	ok(strcmp(lookup_name(t, "API.EXAMPLE.COM:443"), "wild") == 0,
	   "wildcard lookup ignores case");
	ok(strcmp(lookup_name(t, "www.example.com."), "site") == 0, "trailing dot is ignored");
	ok(strcmp(lookup_name(t, "api.example.com.:443"), "wild") == 0,
	   "trailing dot before a port is ignored");
	ok(lookup(t, "www.example.com..") == NULL, "only one trailing dot is ignored");
	ok(strcmp(lookup_name(t, "[::1]:8443"), "v6") == 0, "IPv6 literal with a port found");
	ok(strcmp(lookup_name(t, "[::1]"), "v6") == 0, "IPv6 literal without a port found");
	ok(lookup(t, "[::2]:443") == NULL, "another IPv6 literal is unknown");
	ok(lookup(t, "[::1") == NULL, "an unclosed IPv6 literal is rejected");
	ok(lookup(t, "[::1]x") == NULL, "garbage after an IPv6 literal is rejected");
	ok(lookup(t, "[::1]:44x") == NULL, "a bad port after an IPv6 literal is rejected");
	ok(lookup(t, "unknown.test") == NULL, "unknown host gives NULL");
	ok(lookup(t, "") == NULL && lookup(t, ":80") == NULL && lookup(t, ".") == NULL,
	   "empty hosts give NULL");
	ok(route_table_lookup(t, "example.comXYZ", 11) != NULL,
	   "lookup uses host_len, not the terminator");
	ok(route_table_lookup(t, NULL, 0) == NULL && route_table_lookup(NULL, "a", 1) == NULL,
	   "NULL host or table gives NULL");
	memset(long_host, 'a', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	ok(lookup(t, long_host) == NULL, "a host over 253 characters gives NULL");
	ok(lookup(t, "example.com") != NULL &&
	   strcmp(lookup(t, "example.com")->client_ip_header, "X-Forwarded-For") == 0 &&
	   lookup(t, "example.com")->n_domains == 2 && lookup(t, "example.com")->id == 1,
	   "application fields are copied");
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

/* Many applications: every exact and wildcard name is found. */
static void test_lookup_many(void)
{
	static struct fixture f;
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	char dom[128], host[128];
	int found = 0, wild = 0;

	f.n = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(dom, sizeof(dom), "app%d.test *.w%d.test", i, i);
		add_app(&f, "many", dom, "http://127.0.0.1:9000", "round_robin");
	}
	t = build(&f, reg);
	ok(t != NULL, "2000 applications build");
	for (int i = 0; t && i < 2000; i++) {
		const struct route_app *a;

		snprintf(host, sizeof(host), "APP%d.test", i);
		found += (a = lookup(t, host)) != NULL && a->id == i + 1;
		snprintf(host, sizeof(host), "x.w%d.test:443", i);
		wild += (a = lookup(t, host)) != NULL && a->id == i + 1;
	}
	ok(found == 2000, "every exact name of 2000 maps to its application (%d)", found);
	ok(wild == 2000, "every wildcard of 2000 maps to its application (%d)", wild);
	ok(backend_registry_size(reg) == 1, "one backend URL shared by 2000 applications");
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

/* ---- building: resolution and errors */

static int build_fails(const char *backends, const char *balance, const char *domains,
		       const char *code)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct error err = { 0 };
	struct route_table *t;
	int res;

	add_app(&f, "bad", domains, backends, balance);
	t = route_table_build(f.apps, f.n, reg, &err);
	res = t == NULL && strcmp(err.code, code) == 0 && err.message[0] != '\0' &&
	      backend_registry_size(reg) == 0;
	if (!res)
		printf("# got %s: %s\n", err.code, err.message);
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
	return res;
}

static void test_build(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	const struct route_app *a;
	struct error err = { 0 };
	struct backend *b;

	add_app(&f, "x", "x.test", "http://127.0.0.1:8081 http://[::1]:8082 http://localhost:8083",
		"weighted");
	add_app(&f, "y", "y.test", "http://127.0.0.1 http://10.0.0.1:80/", "least_conn");
	t = build(&f, reg);
	ok(t != NULL, "numeric, IPv6 and named backends build");
	a = lookup(t, "x.test");
	b = a ? a->backends[0].backend : NULL;
	ok(b && b->addr.ss_family == AF_INET &&
	   ntohs(((struct sockaddr_in *)&b->addr)->sin_port) == 8081 &&
	   b->addr_len == sizeof(struct sockaddr_in),
	   "IPv4 backend resolved with its port");
	ok(b && strcmp(b->host_header, "127.0.0.1:8081") == 0, "host header of an IPv4 backend");
	b = a ? a->backends[1].backend : NULL;
	ok(b && b->addr.ss_family == AF_INET6 &&
	   ntohs(((struct sockaddr_in6 *)&b->addr)->sin6_port) == 8082 &&
	   IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&b->addr)->sin6_addr),
	   "IPv6 backend resolved without DNS");
	ok(b && strcmp(b->host_header, "[::1]:8082") == 0, "host header keeps IPv6 brackets");
	b = a ? a->backends[2].backend : NULL;
	ok(b && b->addr_len > 0 && strcmp(b->host_header, "localhost:8083") == 0,
	   "a name is resolved with the resolver (localhost)");
	ok(a && a->balance == BALANCE_WEIGHTED, "balance mode parsed");
	a = lookup(t, "y.test");
	b = a ? a->backends[0].backend : NULL;
	ok(b && ntohs(((struct sockaddr_in *)&b->addr)->sin_port) == 80,
	   "a URL without a port uses 80");
	ok(a && a->backends[1].backend &&
	   strcmp(a->backends[1].backend->host_header, "10.0.0.1:80") == 0,
	   "a trailing slash is accepted and not part of the host");
	ok(a && a->balance == BALANCE_LEAST_CONN, "least_conn parsed");
	ok(b && atomic_load(&b->healthy) == 1 && atomic_load(&b->active) == 0,
	   "new backends start healthy and idle");
	ok(backend_registry_size(reg) == 5, "five distinct backends registered");
	route_table_free(t);
	t = route_table_build(NULL, 0, reg, &err);
	ok(t != NULL && lookup(t, "x.test") == NULL, "an empty build gives an empty table");
	ok(backend_registry_size(reg) == 0, "an empty build drops every unused backend");
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);

	ok(route_table_build(NULL, 0, NULL, &err) == NULL && strcmp(err.code, "internal") == 0,
	   "building without a registry fails");
	ok(build_fails("http://127.0.0.1:80", "random", "a.test", "invalid_application"),
	   "unknown balance mode is rejected");
	ok(build_fails("ftp://127.0.0.1:80", "round_robin", "a.test", "invalid_backend"),
	   "a non-http URL is rejected");
	ok(build_fails("http://127.0.0.1:99999", "round_robin", "a.test", "invalid_backend"),
	   "a port over 65535 is rejected");
	ok(build_fails("http://127.0.0.1:0", "round_robin", "a.test", "invalid_backend"),
	   "port 0 is rejected");
	ok(build_fails("http://127.0.0.1:80/app", "round_robin", "a.test", "invalid_backend"),
	   "a URL with a path is rejected");
	ok(build_fails("http://[::1:80", "round_robin", "a.test", "invalid_backend"),
	   "an unclosed IPv6 literal is rejected");
	ok(build_fails("http://[]:80", "round_robin", "a.test", "invalid_backend"),
	   "an empty IPv6 literal is rejected");
	ok(build_fails("http://:80", "round_robin", "a.test", "invalid_backend"),
	   "an empty host is rejected");
	{
		struct fixture u = { .n = 0 };
		struct backend_registry *ureg = backend_registry_new();
		struct error uerr = { 0 };
		struct route_table *ut;
		const struct route_app *ua;

		add_app(&u, "unres", "u.test", "http://no-such-host.invalid:80", "round_robin");
		ut = route_table_build(u.apps, u.n, ureg, &uerr);
		ua = ut ? route_table_lookup(ut, "u.test", 6) : NULL;
		ok(ut != NULL && ua != NULL,
		   "a backend name that does not resolve does not stop the build");
		ok(ua != NULL && atomic_load(&ua->backends[0].backend->healthy) == 0 &&
			   balancer_pick(ua, NULL, 0) == NULL,
		   "that backend is down and gets no requests");
		route_table_free(ut);
		backend_registry_free(ureg);
		fixture_clear(&u);
	}
	ok(build_fails("http://127.0.0.1:80=0", "round_robin", "a.test", "invalid_application"),
	   "weight 0 is rejected");
	ok(build_fails("http://127.0.0.1:80", "round_robin", "a.test *", "invalid_application"),
	   "a bare '*' domain is rejected");
	ok(build_fails("http://127.0.0.1:80", "round_robin", "a.test a.test", "conflict"),
	   "a domain listed twice is a conflict");
}

/* Two applications claiming one wildcard; a failed build changes nothing. */
static void test_build_conflict(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t1, *t2;
	struct error err = { 0 };

	add_app(&f, "one", "*.c.test", "http://127.0.0.1:7001", "round_robin");
	t1 = build(&f, reg);
	add_app(&f, "two", "*.c.test", "http://127.0.0.1:7002", "round_robin");
	t2 = route_table_build(f.apps, f.n, reg, &err);
	ok(t2 == NULL && strcmp(err.code, "conflict") == 0 && strstr(err.message, "*.c.test"),
	   "a wildcard claimed twice is a conflict naming it");
	ok(backend_registry_size(reg) == 1, "the failed build's new backend is dropped");
	ok(strcmp(lookup_name(t1, "x.c.test"), "one") == 0, "the previous table still serves");
	route_table_free(t1);
	backend_registry_free(reg);
	fixture_clear(&f);
}

/* ---- balancers */

static void test_round_robin(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	const struct route_app *a;
	char seq[16] = "";

	add_app(&f, "rr", "rr.test", "http://127.0.0.1:1 http://127.0.0.1:2=5 http://127.0.0.1:3",
		"round_robin");
	t = build(&f, reg);
	a = lookup(t, "rr.test");
	for (int i = 0; i < 9; i++)
		seq[i] = (char)('a' + pick_index(a, NULL, 0));
	ok(strcmp(seq, "abcabcabc") == 0, "round robin cycles a b c, ignoring weights (%s)", seq);
	ok(a->schedule_len == 3, "round robin schedule has one entry per backend");
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

static int longest_run(const char *s, char c)
{
	int best = 0, run = 0;

	for (; *s; s++) {
		run = *s == c ? run + 1 : 0;
		best = run > best ? run : best;
	}
	return best;
}

static void test_weighted(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	const struct route_app *a;
	char seq[401] = "";
	int counts[3] = { 0 };

	add_app(&f, "w13", "w13.test", "http://127.0.0.1:1=1 http://127.0.0.1:2=3", "weighted");
	add_app(&f, "w511", "w511.test",
		"http://127.0.0.1:1=5 http://127.0.0.1:2=1 http://127.0.0.1:3=1", "weighted");
	add_app(&f, "w246", "w246.test",
		"http://127.0.0.1:1=2 http://127.0.0.1:2=4 http://127.0.0.1:3=6", "weighted");
	t = build(&f, reg);
	a = lookup(t, "w13.test");
	for (int i = 0; i < 400; i++) {
		int k = pick_index(a, NULL, 0);

		counts[k]++;
		seq[i] = (char)('a' + k);
	}
	ok(counts[0] == 100 && counts[1] == 300, "weights 1:3 give 100/300 of 400 (%d/%d)",
	   counts[0], counts[1]);
	ok(longest_run(seq, 'b') <= 3 && longest_run(seq, 'a') == 1,
	   "1:3 is interleaved (longest runs %d, %d)", longest_run(seq, 'a'),
	   longest_run(seq, 'b'));
	a = lookup(t, "w511.test");
	for (int i = 0; i < 14; i++)
		seq[i] = (char)('a' + pick_index(a, NULL, 0));
	seq[14] = '\0';
	ok(strcmp(seq, "aabacaaaabacaa") == 0, "5:1:1 follows nginx's smooth sequence (%s)", seq);
	ok(longest_run(seq, 'a') <= 5, "5:1:1 never picks a more than 5 times in a row");
	a = lookup(t, "w246.test");
	ok(a->schedule_len == 6, "weights 2:4:6 are reduced by their gcd (schedule of %zu)",
	   a->schedule_len);
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_ip_hash_spread(const struct route_app *a)
{
	uint32_t rng = 12345;
	int counts[3] = { 0 }, stable = 1;

	for (int i = 0; i < 1000; i++) {
		struct sockaddr_in sin = ipv4(xorshift(&rng));
		int k = pick_index(a, (struct sockaddr *)&sin, 0);

		if (k < 0)
			return;
		counts[k]++;
		stable &= pick_index(a, (struct sockaddr *)&sin, 0) == k;
	}
	ok(stable, "ip_hash gives the same backend for the same address");
	for (int k = 0; k < 3; k++)
		ok(counts[k] >= 200 && counts[k] <= 470,
		   "ip_hash spreads 1000 addresses: backend %d gets %d", k, counts[k]);
}

static void test_ip_hash_moves(const struct route_app *a)
{
	uint32_t rng = 999;
	int before[500], moved_other = 0, moved_down = 0, none = 0, back = 1;
	struct backend *down = a->backends[1].backend;

	for (int i = 0; i < 500; i++) {
		struct sockaddr_in sin = ipv4(xorshift(&rng));

		before[i] = pick_index(a, (struct sockaddr *)&sin, 0);
	}
	atomic_store(&down->healthy, 0);
	rng = 999;
	for (int i = 0; i < 500; i++) {
		struct sockaddr_in sin = ipv4(xorshift(&rng));
		int k = pick_index(a, (struct sockaddr *)&sin, 0);

		none += k < 0;
		moved_other += before[i] != 1 && k != before[i];
		moved_down += before[i] == 1 && k != 1 && k >= 0;
	}
	ok(none == 0 && moved_other == 0, "a backend going down moves no other client (%d)",
	   moved_other);
	ok(moved_down > 0, "the down backend's clients (%d) move elsewhere", moved_down);
	atomic_store(&down->healthy, 1);
	rng = 999;
	for (int i = 0; i < 500; i++) {
		struct sockaddr_in sin = ipv4(xorshift(&rng));

		back &= pick_index(a, (struct sockaddr *)&sin, 0) == before[i];
	}
	ok(back, "when it recovers every client is back on its backend");
}

static void test_ip_hash_v6(const struct route_app *a)
{
	struct sockaddr_in6 s1 = { .sin6_family = AF_INET6 }, s2 = s1, mapped = s1;
	struct sockaddr_in v4 = ipv4(0x01020304);
	int same = 1, differ = 0;

	inet_pton(AF_INET6, "2001:db8:1:2::1", &s1.sin6_addr);
	inet_pton(AF_INET6, "::ffff:1.2.3.4", &mapped.sin6_addr);
	for (int i = 0; i < 64; i++) {
		char txt[64];

		snprintf(txt, sizeof(txt), "2001:db8:1:2:%x::%x", i * 977, i);
		inet_pton(AF_INET6, txt, &s2.sin6_addr);
		same &= pick_index(a, (struct sockaddr *)&s2, 0) ==
			pick_index(a, (struct sockaddr *)&s1, 0);
		snprintf(txt, sizeof(txt), "2001:db8:%x::1", i);
		inet_pton(AF_INET6, txt, &s2.sin6_addr);
		differ |= pick_index(a, (struct sockaddr *)&s2, 0) !=
			  pick_index(a, (struct sockaddr *)&s1, 0);
	}
	ok(same, "ip_hash keeps one backend for a whole IPv6 /64");
	ok(differ, "ip_hash spreads different IPv6 /64s");
	ok(pick_index(a, (struct sockaddr *)&mapped, 0) == pick_index(a, (struct sockaddr *)&v4, 0),
	   "an IPv4-mapped IPv6 address hashes as the IPv4 address");
	ok(pick_index(a, NULL, 0) >= 0, "no client address still picks a backend");
}

static void test_ip_hash(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t, *t2;
	const struct route_app *a;
	uint32_t rng = 7;
	int counts[2] = { 0 }, same = 1;

	add_app(&f, "ih", "ih.test", "http://127.0.0.1:1 http://127.0.0.1:2 http://127.0.0.1:3",
		"ip_hash");
	add_app(&f, "ihw", "ihw.test", "http://127.0.0.1:4=1 http://127.0.0.1:5=3", "ip_hash");
	t = build(&f, reg);
	a = lookup(t, "ih.test");
	test_ip_hash_spread(a);
	test_ip_hash_moves(a);
	test_ip_hash_v6(a);
	t2 = build(&f, reg);
	for (int i = 0; i < 200; i++) {
		struct sockaddr_in sin = ipv4(xorshift(&rng));

		same &= pick_index(a, (struct sockaddr *)&sin, 0) ==
			pick_index(lookup(t2, "ih.test"), (struct sockaddr *)&sin, 0);
	}
	ok(same, "ip_hash mapping is the same in a rebuilt table");
	a = lookup(t, "ihw.test");
	for (int i = 0; i < 4000; i++) {
		struct sockaddr_in sin = ipv4(xorshift(&rng));

		counts[pick_index(a, (struct sockaddr *)&sin, 0)]++;
	}
	ok(counts[0] >= 800 && counts[0] <= 1200,
	   "weighted ip_hash 1:3 gives about a quarter to the first (%d of 4000)", counts[0]);
	route_table_free(t2);
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

static void test_least_conn(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	const struct route_app *a;
	struct backend *p[8];
	int counts[3] = { 0 };

	add_app(&f, "lc", "lc.test", "http://127.0.0.1:1 http://127.0.0.1:2 http://127.0.0.1:3",
		"least_conn");
	add_app(&f, "lcw", "lcw.test", "http://127.0.0.1:4=1 http://127.0.0.1:5=3", "least_conn");
	t = build(&f, reg);
	a = lookup(t, "lc.test");
	for (int i = 0; i < 3; i++)
		p[i] = balancer_pick(a, NULL, 0);
	ok(p[0] && p[1] && p[2] && p[0] != p[1] && p[1] != p[2] && p[0] != p[2],
	   "least_conn sends three requests to three idle backends");
	ok(atomic_load(&p[1]->active) == 1, "pick increments active");
	balancer_release(p[1]);
	ok(atomic_load(&p[1]->active) == 0, "release decrements active");
	p[3] = balancer_pick(a, NULL, 0);
	ok(p[3] == p[1], "least_conn picks the backend that became idle");
	p[4] = balancer_pick(a, NULL, 0);
	ok(p[4] != NULL && atomic_load(&p[4]->active) == 2, "ties at one request are all busy");
	balancer_release(p[0]);
	balancer_release(p[2]);
	balancer_release(p[3]);
	balancer_release(p[4]);
	ok(atomic_load(&a->backends[0].backend->active) == 0 &&
	   atomic_load(&a->backends[1].backend->active) == 0 &&
	   atomic_load(&a->backends[2].backend->active) == 0,
	   "every release is counted back");
	for (int i = 0; i < 300; i++)
		counts[pick_index(a, NULL, 0)]++;
	ok(counts[0] == 100 && counts[1] == 100 && counts[2] == 100,
	   "equal load rotates over all backends (%d/%d/%d)", counts[0], counts[1], counts[2]);
	a = lookup(t, "lcw.test");
	for (int i = 0; i < 8; i++)
		p[i] = balancer_pick(a, NULL, 0);
	ok(atomic_load(&a->backends[0].backend->active) == 2 &&
	   atomic_load(&a->backends[1].backend->active) == 6,
	   "least_conn with weights 1:3 holds 2 and 6 of 8 requests");
	for (int i = 0; i < 8; i++)
		balancer_release(p[i]);
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

static void test_unavailable(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	const struct route_app *apps[3];
	const char *names[3] = { "rr.test", "lc.test", "ih.test" };
	struct sockaddr_in sin = ipv4(0x0a000001);
	int counts[4];

	add_app(&f, "rr", names[0], "http://127.0.0.1:1 http://127.0.0.1:2 http://127.0.0.1:3",
		"weighted");
	add_app(&f, "lc", names[1], "http://127.0.0.1:1 http://127.0.0.1:2 http://127.0.0.1:3",
		"least_conn");
	add_app(&f, "ih", names[2], "http://127.0.0.1:1 http://127.0.0.1:2 http://127.0.0.1:3",
		"ip_hash");
	t = build(&f, reg);
	for (int m = 0; m < 3; m++)
		apps[m] = lookup(t, names[m]);
	atomic_store(&apps[0]->backends[1].backend->healthy, 0);
	atomic_store(&apps[0]->backends[2].backend->ejected_until_ms, 5000);
	for (int m = 0; m < 3; m++) {
		int only_first = 1, third_back = 0, never_down = 1;

		for (int i = 0; i < 30; i++)
			only_first &= pick_index(apps[m], (struct sockaddr *)&sin, 1000) == 0;
		for (int i = 0; i < 30; i++) {
			int k = pick_index(apps[m], (struct sockaddr *)&sin, 5000);

			third_back |= k == 2;
			never_down &= k == 0 || k == 2;
		}
		ok(only_first, "%s skips a down and an ejected backend", names[m]);
		ok(never_down, "%s still skips the down backend", names[m]);
		if (m < 2)
			ok(third_back, "%s uses the ejected backend after its time", names[m]);
	}
	memset(counts, 0, sizeof(counts));
	for (int i = 0; i < 300; i++)
		counts[pick_index(apps[0], NULL, 5000) + 1]++;
	ok(counts[1] == 150 && counts[3] == 150,
	   "a down backend's share spreads evenly over the others (%d/%d)", counts[1], counts[3]);
	atomic_store(&apps[0]->backends[0].backend->healthy, 0);
	atomic_store(&apps[0]->backends[2].backend->healthy, 0);
	for (int m = 0; m < 3; m++)
		ok(balancer_pick(apps[m], (struct sockaddr *)&sin, 1000) == NULL,
		   "%s returns NULL when every backend is down", names[m]);
	ok(atomic_load(&apps[0]->backends[0].backend->active) == 0,
	   "a failed pick leaves active counts alone");
	ok(balancer_pick(NULL, NULL, 0) == NULL, "no application: NULL");
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

static void test_passive(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	const struct route_app *a;
	struct backend *b;
	const uint64_t now = 1000000;
	int seen = 0;

	add_app(&f, "p", "p.test", "http://127.0.0.1:1 http://127.0.0.1:2", "round_robin");
	t = build(&f, reg);
	a = lookup(t, "p.test");
	b = a->backends[1].backend;
	balancer_report(b, 0, now);
	balancer_report(b, 0, now);
	for (int i = 0; i < 4; i++)
		seen |= pick_index(a, NULL, now) == 1;
	ok(seen && atomic_load(&b->fails) == 2, "two failures do not eject");
	balancer_report(b, 1, now);
	ok(atomic_load(&b->fails) == 0, "a success resets the failure count");
	balancer_report(b, 0, now);
	balancer_report(b, 0, now);
	balancer_report(b, 0, now);
	ok(atomic_load(&b->ejected_until_ms) == (long long)now + 10000,
	   "three failures in a row eject for 10 s");
	seen = 0;
	for (int i = 0; i < 4; i++)
		seen |= pick_index(a, NULL, now + 9999) == 1;
	ok(!seen, "an ejected backend is skipped until its time");
	seen = 0;
	for (int i = 0; i < 4; i++)
		seen |= pick_index(a, NULL, now + 10000) == 1;
	ok(seen, "the backend returns once the ejection time has passed");
	balancer_report(b, 0, now + 10001);
	ok(atomic_load(&b->ejected_until_ms) == (long long)now + 20001,
	   "a failure right after returning ejects again (half-open)");
	balancer_report(NULL, 0, now);
	balancer_release(NULL);
	ok(1, "report and release accept NULL");
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

/* ---- registry across rebuilds */

static void test_registry(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t1, *t2, *t3;
	struct backend *ba, *ba2;
	struct backend_slot *slot;

	add_app(&f, "r", "r.test", "http://127.0.0.1:1 http://127.0.0.1:2", "round_robin");
	add_app(&f, "s", "s.test", "http://127.0.0.1:1", "round_robin");
	set_health(&f.apps[0], "/first", 30);
	set_health(&f.apps[1], "/second", 5);
	t1 = build(&f, reg);
	ba = lookup(t1, "r.test")->backends[0].backend;
	ok(lookup(t1, "s.test")->backends[0].backend == ba, "one struct backend per URL");
	ok(atomic_load(&ba->refs) == 3, "refs: the registry and two uses (%d)",
	   atomic_load(&ba->refs));
	slot = backend_registry_slot(reg, 0);
	ok(slot && slot->backend == ba && slot->health_path &&
	   strcmp(slot->health_path, "/first") == 0 && slot->health_interval_ms == 5000,
	   "a shared backend gets the first path and the shortest interval");
	ok(backend_registry_slot(reg, 2) == NULL, "slot past the end is NULL");
	atomic_store(&ba->healthy, 0);
	atomic_store(&ba->fails, 2);
	fixture_clear(&f);
	add_app(&f, "r", "r.test", "http://127.0.0.1:1", "round_robin");
	t2 = build(&f, reg);
	ba2 = lookup(t2, "r.test")->backends[0].backend;
	ok(ba2 == ba, "a rebuild keeps the same struct backend");
	ok(atomic_load(&ba2->healthy) == 0 && atomic_load(&ba2->fails) == 2,
	   "a rebuild keeps health state");
	ok(backend_registry_size(reg) == 2, "a backend the old table still uses stays registered");
	ok(backend_registry_slot(reg, 0)->health_path == NULL,
	   "health settings follow the latest build");
	route_table_free(t1);
	t3 = build(&f, reg);
	ok(backend_registry_size(reg) == 1, "the next build drops the unused backend");
	ok(atomic_load(&ba->refs) == 3, "refs: registry, t2, t3 (%d)", atomic_load(&ba->refs));
	route_table_free(t2);
	backend_registry_free(reg);
	ok(atomic_load(&ba->refs) == 1 && lookup(t3, "r.test")->backends[0].backend == ba,
	   "a table outlives the registry and keeps its backends");
	route_table_free(t3);
	backend_registry_free(NULL);
	route_table_free(NULL);
	fixture_clear(&f);
}

/* ---- concurrency */

struct hammer {
	const struct route_app *app;
	int counts[3];
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < 100000; i++) {
		struct backend *b = balancer_pick(h->app, NULL, 0);
		int k = b ? index_of(h->app, b) : -1;

		if (k >= 0)
			h->counts[k]++;
		balancer_release(b);
	}
	return NULL;
}

static void test_concurrency(void)
{
	struct fixture f = { .n = 0 };
	struct backend_registry *reg = backend_registry_new();
	struct route_table *t;
	const char *names[2] = { "rr.test", "lc.test" };

	add_app(&f, "rr", names[0], "http://127.0.0.1:1 http://127.0.0.1:2 http://127.0.0.1:3",
		"round_robin");
	add_app(&f, "lc", names[1], "http://127.0.0.1:1 http://127.0.0.1:2 http://127.0.0.1:3",
		"least_conn");
	t = build(&f, reg);
	for (int m = 0; m < 2; m++) {
		struct hammer h[4];
		pthread_t th[4];
		int total[3] = { 0 }, idle = 1;

		for (int i = 0; i < 4; i++) {
			h[i] = (struct hammer){ .app = lookup(t, names[m]) };
			pthread_create(&th[i], NULL, hammer_run, &h[i]);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			for (int k = 0; k < 3; k++)
				total[k] += h[i].counts[k];
		}
		for (int k = 0; k < 3; k++)
			idle &= atomic_load(&h[0].app->backends[k].backend->active) == 0;
		ok(total[0] + total[1] + total[2] == 400000, "%s: 400000 picks from 4 threads",
		   names[m]);
		ok(idle, "%s: every active count is back to 0", names[m]);
		if (m == 0)
			ok(total[0] == 133334 && total[1] == 133333 && total[2] == 133333,
			   "round robin stays exact under concurrency (%d/%d/%d)", total[0],
			   total[1], total[2]);
	}
	route_table_free(t);
	backend_registry_free(reg);
	fixture_clear(&f);
}

/* ---- active health checks against real servers */

enum server_mode {
	SERVE_SILENT, /* read the request, never answer */
	SERVE_GARBAGE,
	SERVE_STATUS, /* answer with the status in .status */
	SERVE_MAX
};

struct server {
	int fd;
	int port;
	pthread_t thread;
	atomic_int mode;
	atomic_int status;
	atomic_int stop;
	atomic_int requests;
	pthread_mutex_t lock;
	char last[512];
};

static void server_answer(struct server *s, int c)
{
	char req[512], reply[128];
	size_t len = 0;
	ssize_t r;
	int n;

	while (len < sizeof(req) - 1 && !atomic_load(&s->stop)) {
		r = recv(c, req + len, sizeof(req) - 1 - len, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return;
		len += r > 0 ? (size_t)r : 0;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL && atomic_load(&s->mode) != SERVE_SILENT)
			break;
	}
	pthread_mutex_lock(&s->lock);
	memcpy(s->last, req, len + 1);
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&s->requests, 1);
	if (atomic_load(&s->mode) == SERVE_GARBAGE)
		n = snprintf(reply, sizeof(reply), "hello there\r\n\r\n");
	else
		n = snprintf(reply, sizeof(reply),
			     "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			     atomic_load(&s->status));
	if (send(c, reply, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static void *server_run(void *arg)
{
	struct server *s = arg;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 50000 };

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		server_answer(s, c);
		close(c);
	}
	return NULL;
}

/* A listening socket on 127.0.0.1 (port chosen by the kernel). */
static int listen_any(int *port)
{
	struct sockaddr_in sin = ipv4(0x7f000001);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static void server_start(struct server *s, enum server_mode mode, int status)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	atomic_store(&s->mode, mode);
	atomic_store(&s->status, status);
	s->fd = listen_any(&s->port);
	pthread_create(&s->thread, NULL, server_run, s);
}

static void server_stop(struct server *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run the loop until b->healthy == want or max_s passed; the seconds it
 * took, or -1. */
static double run_until(struct event_base *base, struct backend *b, int want, double max_s)
{
	double start = now_s();
	struct timeval step = { .tv_sec = 0, .tv_usec = 20000 };

	while (now_s() - start < max_s) {
		if (atomic_load(&b->healthy) == want)
			return now_s() - start;
		event_base_loopexit(base, &step);
		event_base_dispatch(base);
	}
	return atomic_load(&b->healthy) == want ? now_s() - start : -1;
}

static void run_for(struct event_base *base, double secs)
{
	struct timeval tv = { .tv_sec = (time_t)secs,
			      .tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6) };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

struct health_env {
	struct server up, flip, silent, garbage;
	int closed_port;
	struct fixture f;
	struct backend_registry *reg;
	struct route_table *t;
	struct event_base *base;
	struct backend *b[5]; /* up, flip, silent, garbage, closed */
};

static void health_setup(struct health_env *e)
{
	char urls[5][64];
	int fd;

	server_start(&e->up, SERVE_STATUS, 200);
	server_start(&e->flip, SERVE_STATUS, 500);
	server_start(&e->silent, SERVE_SILENT, 0);
	server_start(&e->garbage, SERVE_GARBAGE, 0);
	fd = listen_any(&e->closed_port);
	close(fd); /* nothing listens there now: connections are refused */
	snprintf(urls[0], 64, "http://127.0.0.1:%d", e->up.port);
	snprintf(urls[1], 64, "http://127.0.0.1:%d", e->flip.port);
	snprintf(urls[2], 64, "http://127.0.0.1:%d", e->silent.port);
	snprintf(urls[3], 64, "http://127.0.0.1:%d", e->garbage.port);
	snprintf(urls[4], 64, "http://127.0.0.1:%d", e->closed_port);
	for (int i = 0; i < 5; i++) {
		char dom[32];

		snprintf(dom, sizeof(dom), "h%d.test", i);
		set_health(add_app(&e->f, dom, dom, urls[i], "round_robin"), "/healthz", 1);
	}
	e->reg = backend_registry_new();
	e->t = build(&e->f, e->reg);
	if (e->t == NULL) {
		ok(0, "health test setup builds its table");
		exit(done_testing());
	}
	for (int i = 0; i < 5; i++) {
		char dom[32];

		snprintf(dom, sizeof(dom), "h%d.test", i);
		e->b[i] = lookup(e->t, dom)->backends[0].backend;
	}
	e->base = event_base_new();
}

static void health_first_round(struct health_env *e)
{
	char want[256];
	double t0 = now_s();
	int n;

	ok(backend_registry_start_checks(e->reg, e->base) == 0, "health checks start");
	run_for(e->base, 0.5);
	ok(atomic_load(&e->b[0]->healthy) == 1, "a backend answering 200 is up");
	ok(atomic_load(&e->b[1]->healthy) == 0, "a backend answering 500 is down");
	ok(atomic_load(&e->b[3]->healthy) == 0, "a backend answering garbage is down");
	ok(atomic_load(&e->b[4]->healthy) == 0, "a refused connection is down");
	ok(atomic_load(&e->b[2]->healthy) == 1, "a silent backend is up until its timeout");
	ok(run_until(e->base, e->b[2], 0, 1.5) >= 0, "a silent backend is down after the timeout");
	snprintf(want, sizeof(want),
		 "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: postern-health\r\n"
		 "Connection: close\r\n\r\n",
		 e->up.port);
	pthread_mutex_lock(&e->up.lock);
	ok(strcmp(e->up.last, want) == 0, "the check sends the documented request");
	pthread_mutex_unlock(&e->up.lock);
	if (now_s() - t0 < 1.5)
		run_for(e->base, 1.5 - (now_s() - t0));
	n = atomic_load(&e->up.requests);
	ok(n == 2, "checks run at once and then every interval (%d in 1.5 s)", n);
}

static void health_transitions(struct health_env *e)
{
	double took;

	atomic_store(&e->up.status, 503);
	took = run_until(e->base, e->b[0], 0, 2.0);
	ok(took >= 0 && took <= 1.3, "a backend turning 503 is down within one interval (%.2f s)",
	   took);
	atomic_store(&e->up.status, 204);
	took = run_until(e->base, e->b[0], 1, 2.0);
	ok(took >= 0 && took <= 1.3, "a recovered backend is up within one interval (%.2f s)",
	   took);
	atomic_store(&e->flip.status, 302);
	took = run_until(e->base, e->b[1], 1, 2.0);
	ok(took >= 0 && took <= 1.3, "a 3xx answer counts as up (%.2f s)", took);
	atomic_store(&e->flip.status, 404);
	ok(run_until(e->base, e->b[1], 0, 2.0) >= 0, "a 4xx answer counts as down");
}

/* Re-arming after every build must not double the checks; a backend
 * whose application drops its path stops being checked and is up. */
static void health_rearm(struct health_env *e)
{
	struct route_table *t2;
	int before, n;

	backend_registry_start_checks(e->reg, e->base);
	backend_registry_start_checks(e->reg, e->base);
	before = atomic_load(&e->up.requests);
	run_for(e->base, 3.0);
	n = atomic_load(&e->up.requests) - before;
	ok(n >= 2 && n <= 4, "re-arming twice keeps one check per interval (%d in 3 s)", n);
	set_health(&e->f.apps[1], "", 1);
	t2 = build(&e->f, e->reg);
	ok(t2 != NULL && backend_registry_start_checks(e->reg, e->base) == 0,
	   "rebuild and re-arm");
	ok(atomic_load(&e->b[1]->healthy) == 1, "a backend left without a check is up at once");
	before = atomic_load(&e->flip.requests);
	run_for(e->base, 1.5);
	ok(atomic_load(&e->flip.requests) == before, "its checks stopped");
	ok(atomic_load(&e->b[4]->healthy) == 0, "other checks keep their state");
	route_table_free(e->t);
	e->t = t2;
}

static void test_health(void)
{
	static struct health_env e;

	health_setup(&e);
	ok(e.t != NULL && e.base != NULL, "health test setup");
	health_first_round(&e);
	health_transitions(&e);
	health_rearm(&e);
	ok(backend_registry_start_checks(NULL, e.base) == -1 &&
	   backend_registry_start_checks(e.reg, NULL) == -1,
	   "start_checks without a registry or base fails");
	backend_registry_free(e.reg);
	route_table_free(e.t);
	event_base_free(e.base);
	server_stop(&e.up);
	server_stop(&e.flip);
	server_stop(&e.silent);
	server_stop(&e.garbage);
	fixture_clear(&e.f);
}

int main(void)
{
	test_lookup();
	test_lookup_many();
	test_build();
	test_build_conflict();
	test_round_robin();
	test_weighted();
	test_ip_hash();
	test_least_conn();
	test_unavailable();
	test_passive();
	test_registry();
	test_concurrency();
	test_health();
	return done_testing();
}
