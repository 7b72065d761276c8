/* Storage: schema and migrations, every table's calls, audit rows written
 * in the same transaction, rollback on failure, and crash safety (a writer
 * killed with SIGKILL at random moments never leaves half a change). The
 * test includes store_internal.h to look at the database with plain SQL. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/store.h"
#include "gateway/store_internal.h"
#include "tests/unit/tap.h"
#include "waf/events.h"
#include "waf/rule.h"

static char tmpdir[256];
static const struct store_actor admin = {"admin", "192.0.2.7"};

static const char *db_path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
}

static struct store *open_db(const char *name)
{
	struct error err;
	struct store *st = store_open(db_path(name), &err);

	if (st == NULL)
		printf("# store_open %s: %s: %s\n", name, err.code, err.message);
	return st;
}

/* Run a query written by this test (no outside values) for one integer. */
static long long q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static long long audit_n(struct store *st, const char *action, const char *target)
{
	sqlite3_stmt *s = NULL;
	long long v = -1;

	sqlite3_prepare_v2(st->db,
			   "SELECT count(*) FROM audit_log WHERE action = ?1 AND (?2 IS NULL OR "
			   "target = ?2)", -1, &s, NULL);
	sqlite3_bind_text(s, 1, action, -1, SQLITE_STATIC);
	if (target != NULL)
		sqlite3_bind_text(s, 2, target, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int has(const char *s, const char *part)
{
	return s != NULL && strstr(s, part) != NULL;
}

static mode_t file_mode(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_mode & 0777 : (mode_t)-1;
}

/* ---- open, pragmas, migrations */

static void test_open(void)
{
	struct store *st;
	char wal[600];

	umask(022);
	st = open_db("main.db");
	ok(st != NULL, "a fresh database opens");
	if (st == NULL)
		return;
	ok(store_schema_version(st) == 2, "schema version is 2");
	ok(q_int(st->db, "PRAGMA user_version") == 2, "user_version records migration 2");
	ok(q_int(st->db, "PRAGMA foreign_keys") == 1, "foreign keys are on");
	ok(q_int(st->db, "PRAGMA synchronous") == 2, "synchronous is FULL");
	ok(q_int(st->db, "PRAGMA busy_timeout") == 5000, "busy timeout is 5 s");
	ok(q_int(st->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
			 "('certificates', 'certificate_versions', 'applications', "
			 "'application_domains', 'application_backends', 'users', 'sessions', "
			 "'api_tokens', 'acme_accounts', 'settings', 'audit_log')") == 11,
	   "migration 1 created all eleven tables");
	ok(q_int(st->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
			 "('waf_rules', 'waf_preset_state', 'waf_events')") == 3,
	   "migration 2 created the three WAF tables");
	ok(q_int(st->db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE "
			 "'waf_events_%'") == 4,
	   "events are indexed by time, application, rule and ref");
	ok(file_mode(db_path("main.db")) == 0600, "database file is mode 0600 despite umask 022");
	ok(store_setting_set(st, "probe", "x", 1, NULL) == 0, "a first write succeeds");
	snprintf(wal, sizeof(wal), "%s-wal", db_path("main.db"));
	ok(file_mode(wal) == 0600, "the WAL file is mode 0600 too");
	store_close(st);

	st = open_db("main.db");
	ok(st != NULL && store_schema_version(st) == 2, "reopening is idempotent");
	if (st != NULL) {
		sqlite3_stmt *s = NULL;

		sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &s, NULL);
		ok(sqlite3_step(s) == SQLITE_ROW &&
			   strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0,
		   "journal mode is WAL");
		sqlite3_finalize(s);
		ok(q_int(st->db, "SELECT count(*) FROM settings") == 1, "data survives a reopen");
	}
	store_close(st);
	store_close(NULL);
}

static void test_refusals(void)
{
	struct store *st;
	struct error err;
	sqlite3 *raw;
	FILE *f;

	st = open_db("newer.db");
	store_close(st);
	sqlite3_open(db_path("newer.db"), &raw);
	sqlite3_exec(raw, "PRAGMA user_version = 7", NULL, NULL, NULL);
	sqlite3_close(raw);
	error_clear(&err);
	st = store_open(db_path("newer.db"), &err);
	ok(st == NULL, "a database newer than the code is refused");
	ok(strcmp(err.code, "storage") == 0, "refusal code is storage");
	ok(has(err.message, "schema version 7") && has(err.message, "up to 2"),
	   "refusal names both versions: %s", err.message);
	store_close(st);

	/* A migration failing half way leaves nothing behind: audit_log is
	 * created last, so a clash there proves the earlier tables rolled back. */
	sqlite3_open(db_path("clash.db"), &raw);
	sqlite3_exec(raw, "CREATE TABLE audit_log (x)", NULL, NULL, NULL);
	sqlite3_close(raw);
	st = store_open(db_path("clash.db"), &err);
	ok(st == NULL && strcmp(err.code, "storage") == 0, "a failing migration refuses to open");
	ok(has(err.message, "migration 1"), "the message names the migration: %s", err.message);
	sqlite3_open(db_path("clash.db"), &raw);
	ok(q_int(raw, "SELECT count(*) FROM sqlite_master WHERE name = 'certificates'") == 0,
	   "nothing of the failed migration was kept");
	ok(q_int(raw, "PRAGMA user_version") == 0, "user_version stays 0");
	sqlite3_close(raw);

	f = fopen(db_path("garbage.db"), "w");
	fputs("this is not an sqlite database, just text that is long enough to be read......"
	      "................................................................................",
	      f);
	fclose(f);
	st = store_open(db_path("garbage.db"), &err);
	ok(st == NULL && strcmp(err.code, "storage") == 0, "a file that is not a database fails");
	ok(has(err.message, "garbage.db") && has(err.message, "not a database"),
	   "the message names the file and the cause: %s", err.message);

	st = store_open(db_path("no/such/dir.db"), &err);
	ok(st == NULL && strcmp(err.code, "storage") == 0, "a missing directory fails");
	ok(has(err.message, "data directory"), "the message says what to check: %s", err.message);

	chmod(db_path("main.db"), 0644);
	st = open_db("main.db");
	ok(st != NULL && file_mode(db_path("main.db")) == 0600,
	   "an existing database readable by others is made 0600");
	store_close(st);
}

/* ---- settings */

static void test_settings(struct store *st)
{
	unsigned char bin[] = {0, 1, 2, 0, 255}, *val = (unsigned char *)"x";
	struct error err;
	size_t len = 99;

	ok(store_setting_get(st, "absent", &val, &len, &err) == 0 && val == NULL && len == 0,
	   "an absent setting returns 0");
	ok(store_setting_set(st, "blob", bin, sizeof(bin), &err) == 0, "setting a binary value");
	ok(store_setting_get(st, "blob", &val, &len, &err) == 1 && len == sizeof(bin) &&
		   memcmp(val, bin, len) == 0 && val[len] == '\0',
	   "binary value round-trips with NUL bytes and a NUL after");
	free(val);
	ok(store_setting_set(st, "blob", "second", 6, &err) == 0, "replacing a setting");
	ok(store_setting_get(st, "blob", &val, &len, &err) == 1 && len == 6 &&
		   strcmp((char *)val, "second") == 0,
	   "the replaced value is read back");
	free(val);
	ok(q_int(st->db, "SELECT count(*) FROM settings WHERE key = 'blob'") == 1,
	   "replace keeps one row");
	ok(store_setting_set(st, "empty", "", 0, &err) == 0 &&
		   store_setting_get(st, "empty", &val, &len, &err) == 1 && len == 0 && val != NULL,
	   "an empty value is stored (not absent)");
	free(val);
}

/* ---- certificates */

static void cert_fill(struct store_cert *c, char *domain, char *source, char *chain,
		      unsigned char *key, size_t key_len)
{
	memset(c, 0, sizeof(*c));
	c->domain = domain;
	c->source = source;
	c->chain_pem = chain;
	c->sealed_key = key;
	c->sealed_key_len = key_len;
	c->key_uid = "uid-1";
}

static void test_certs(struct store *st)
{
	unsigned char key1[] = {0x00, 0x10, 0xff, 0x00, 0x7f}, key2[] = {0xaa, 0x00, 0x01};
	struct store_cert c, acme, got, *list = NULL;
	long long now = time(NULL), id;
	char target[64];
	struct error err;
	size_t n = 0;

	cert_fill(&c, "www.example.com", "user", "-----BEGIN CERTIFICATE-----\nAAA\n", key1,
		  sizeof(key1));
	ok(store_cert_insert(st, &c, &admin, &err) == 0, "insert a certificate");
	ok(c.id > 0 && c.version == 1 && c.created_at >= now && c.updated_at == c.created_at,
	   "insert sets id, version 1 and times");
	id = c.id;
	ok(store_cert_get(st, id, &got, &err) == 0, "get the certificate");
	ok(strcmp(got.domain, "www.example.com") == 0 && strcmp(got.source, "user") == 0 &&
		   strcmp(got.chain_pem, c.chain_pem) == 0 && strcmp(got.key_uid, "uid-1") == 0,
	   "text fields round-trip");
	ok(got.sealed_key_len == sizeof(key1) && memcmp(got.sealed_key, key1, sizeof(key1)) == 0,
	   "sealed key bytes round-trip exactly");
	ok(strcmp(got.extra_sans, "[]") == 0 && strcmp(got.state, "") == 0 &&
		   strcmp(got.state_detail, "") == 0 && got.last_error == NULL,
	   "unset fields read back as \"[]\", \"\", \"\" and NULL");
	store_cert_free(&got);
	ok(got.domain == NULL && got.id == 0, "store_cert_free clears the record");

	cert_fill(&acme, "acme.example.com", "acme", NULL, NULL, 0);
	acme.state = "pending";
	acme.auto_renew = 1;
	acme.extra_sans = "[\"alt.example.com\"]";
	ok(store_cert_insert(st, &acme, &admin, &err) == 0 && acme.id > id,
	   "insert an ACME certificate without chain or key");
	ok(store_cert_get(st, acme.id, &got, &err) == 0 && got.chain_pem == NULL &&
		   got.sealed_key == NULL && got.sealed_key_len == 0 && got.auto_renew == 1 &&
		   strcmp(got.state, "pending") == 0 && has(got.extra_sans, "alt.example.com"),
	   "NULL chain and key stay NULL; state and SANs kept");
	store_cert_free(&got);

	ok(store_cert_list(st, &list, &n, &err) == 0 && n == 2 && list[0].id == id &&
		   list[1].id == acme.id,
	   "list returns both, ordered by id");
	store_cert_list_free(list, n);

	c.chain_pem = "-----BEGIN CERTIFICATE-----\nBBB\n";
	c.sealed_key = key2;
	c.sealed_key_len = sizeof(key2);
	c.key_uid = "uid-2";
	ok(store_cert_replace(st, &c, &admin, &err) == 0 && c.version == 2, "replace: version 2");
	ok(store_cert_get(st, id, &got, &err) == 0 && got.version == 2 &&
		   has(got.chain_pem, "BBB") && got.sealed_key_len == 3 &&
		   memcmp(got.sealed_key, key2, 3) == 0,
	   "the current row holds the new chain and key");
	store_cert_free(&got);
	ok(store_cert_versions(st, id, &list, &n, &err) == 0 && n == 2, "two versions kept");
	if (n == 2) {
		ok(list[0].version == 1 && has(list[0].chain_pem, "AAA") &&
			   list[0].sealed_key_len == sizeof(key1) &&
			   memcmp(list[0].sealed_key, key1, sizeof(key1)) == 0 &&
			   strcmp(list[0].key_uid, "uid-1") == 0,
		   "version 1 keeps the old chain, key bytes and uid");
		ok(list[1].version == 2 && has(list[1].chain_pem, "BBB") &&
			   strcmp(list[1].key_uid, "uid-2") == 0,
		   "version 2 is the new one, oldest first");
	}
	store_cert_list_free(list, n);

	c.id = 999;
	ok(store_cert_replace(st, &c, &admin, &err) == -1 && strcmp(err.code, "not_found") == 0 &&
		   has(err.message, "certificate 999 does not exist"),
	   "replace of a missing id is not_found: %s", err.message);
	ok(store_cert_get(st, 999, &got, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "get of a missing id is not_found");
	ok(store_cert_versions(st, 999, &list, &n, &err) == -1 && n == 0 && list == NULL,
	   "versions of a missing id is not_found");

	ok(store_cert_set_state(st, acme.id, "awaiting_dns", "add the record", 12345, "timeout",
				&err) == 0,
	   "set_state");
	ok(store_cert_get(st, acme.id, &got, &err) == 0 && strcmp(got.state, "awaiting_dns") == 0 &&
		   strcmp(got.state_detail, "add the record") == 0 && got.next_attempt == 12345 &&
		   has(got.last_error, "timeout") && got.version == 1,
	   "state fields updated without a new version");
	store_cert_free(&got);
	ok(store_cert_set_state(st, acme.id, "", "", 0, NULL, &err) == 0 &&
		   store_cert_get(st, acme.id, &got, &err) == 0 && got.last_error == NULL,
	   "last_error can be cleared to NULL");
	store_cert_free(&got);
	ok(store_cert_set_state(st, 999, "failed", "", 0, NULL, &err) == -1 &&
		   strcmp(err.code, "not_found") == 0,
	   "set_state of a missing id is not_found");

	cert_fill(&got, "bad.example.com", "bogus", NULL, NULL, 0);
	ok(store_cert_insert(st, &got, &admin, &err) == -1 && strcmp(err.code, "storage") == 0 &&
		   q_int(st->db, "SELECT count(*) FROM certificates") == 2,
	   "an unknown source is refused by the schema and nothing is written");

	ok(store_cert_delete(st, id, &admin, &err) == 0, "delete the certificate");
	ok(store_cert_get(st, id, &got, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "a deleted certificate is gone");
	ok(q_int(st->db, "SELECT count(*) FROM certificate_versions WHERE certificate_id NOT IN "
			 "(SELECT id FROM certificates)") == 0,
	   "its history rows went with it");
	ok(store_cert_delete(st, id, &admin, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "deleting twice is not_found");

	snprintf(target, sizeof(target), "certificate/%lld", id);
	ok(audit_n(st, "certificate.create", NULL) == 2, "two certificate.create audit rows");
	ok(audit_n(st, "certificate.replace", target) == 1, "one certificate.replace for %s",
	   target);
	ok(audit_n(st, "certificate.delete", target) == 1, "one certificate.delete for %s", target);
	ok(q_int(st->db, "SELECT count(*) FROM audit_log WHERE action = 'certificate.create' AND "
			 "detail LIKE '%www.example.com%' AND actor = 'admin' AND "
			 "source = '192.0.2.7'") == 1,
	   "the audit row names the domain, actor and address");
	ok(q_int(st->db, "SELECT count(*) FROM audit_log WHERE detail LIKE '%BEGIN%'") == 0,
	   "no audit row contains certificate or key material");
}

/* ---- applications */

static void app_fill(struct store_app *a, char *name, char **domains, size_t nd,
		     struct store_backend *b, size_t nb)
{
	memset(a, 0, sizeof(*a));
	a->name = name;
	a->domains = domains;
	a->n_domains = nd;
	a->backends = b;
	a->n_backends = nb;
	a->balance = "weighted";
	a->client_ip_header = "X-Real-IP";
	a->health_path = "/healthz";
	a->health_interval_s = 7;
	a->options_json = "{\"waf\":true}";
}

static void test_apps(struct store *st)
{
	char *shop_d[] = {"shop.example.com", "www.shop.example.com", "*.cdn.shop.example.com"};
	char *blog_d[] = {"blog.example.com"};
	char *clash_d[] = {"new.example.com", "WWW.shop.example.com"};
	char *twice_d[] = {"x.example.com", "X.example.com"};
	char *upd_d[] = {"shop.example.com", "api.shop.example.com"};
	struct store_backend shop_b[] = {{"http://10.0.0.1:8080", 1}, {"http://10.0.0.2:8080", 3}};
	struct store_backend one_b[] = {{"http://10.0.0.9:9000", 2}}, bad_b[] = {{"http://z", 0}};
	struct store_app shop, blog, other, got, *list = NULL;
	long long audits = audit_n(st, "application.create", NULL);
	struct error err;
	size_t n = 0;

	app_fill(&shop, "shop", shop_d, 3, shop_b, 2);
	shop.https_redirect = 1;
	ok(store_app_insert(st, &shop, &admin, &err) == 0 && shop.id > 0 && shop.created_at > 0,
	   "insert an application with domains and backends");
	ok(store_app_get(st, shop.id, &got, &err) == 0, "get the application");
	ok(strcmp(got.name, "shop") == 0 && strcmp(got.balance, "weighted") == 0 &&
		   got.https_redirect == 1 && got.auto_certificate == 0 &&
		   strcmp(got.client_ip_header, "X-Real-IP") == 0 &&
		   strcmp(got.health_path, "/healthz") == 0 && got.health_interval_s == 7 &&
		   strcmp(got.options_json, "{\"waf\":true}") == 0,
	   "application fields round-trip");
	ok(got.n_domains == 3 && strcmp(got.domains[0], shop_d[0]) == 0 &&
		   strcmp(got.domains[1], shop_d[1]) == 0 && strcmp(got.domains[2], shop_d[2]) == 0,
	   "domains come back in order");
	ok(got.n_backends == 2 && strcmp(got.backends[0].url, shop_b[0].url) == 0 &&
		   got.backends[0].weight == 1 && strcmp(got.backends[1].url, shop_b[1].url) == 0 &&
		   got.backends[1].weight == 3,
	   "backends come back in order with weights");
	store_app_free(&got);

	app_fill(&blog, "blog", blog_d, 1, one_b, 1);
	ok(store_app_insert(st, &blog, &admin, &err) == 0, "insert a second application");

	app_fill(&other, "other", clash_d, 2, one_b, 1);
	ok(store_app_insert(st, &other, &admin, &err) == -1 && strcmp(err.code, "conflict") == 0,
	   "a domain of another application (any case) is a conflict");
	ok(has(err.message, "already belongs to application 'shop'"),
	   "the message names the owner: %s", err.message);
	ok(q_int(st->db, "SELECT count(*) FROM applications") == 2 &&
		   q_int(st->db, "SELECT count(*) FROM application_domains WHERE domain = "
				 "'new.example.com'") == 0,
	   "nothing is written on conflict");
	other.name = "SHOP";
	other.domains = (char *[]){"fresh.example.com"};
	other.n_domains = 1;
	ok(store_app_insert(st, &other, &admin, &err) == -1 && strcmp(err.code, "conflict") == 0 &&
		   has(err.message, "an application named 'shop' already exists"),
	   "a taken name is a conflict: %s", err.message);
	other.name = "other";
	other.domains = twice_d;
	other.n_domains = 2;
	ok(store_app_insert(st, &other, &admin, &err) == -1 && strcmp(err.code, "conflict") == 0 &&
		   has(err.message, "listed twice"),
	   "a domain listed twice is a conflict: %s", err.message);
	ok(audit_n(st, "application.create", NULL) == audits + 2,
	   "no audit row for refused inserts");

	shop.domains = upd_d;
	shop.n_domains = 2;
	shop.backends = one_b;
	shop.n_backends = 1;
	shop.balance = "ip_hash";
	ok(store_app_update(st, &shop, &admin, &err) == 0, "update replaces domains and backends");
	ok(store_app_get(st, shop.id, &got, &err) == 0 && got.n_domains == 2 &&
		   strcmp(got.domains[1], "api.shop.example.com") == 0 && got.n_backends == 1 &&
		   got.backends[0].weight == 2 && strcmp(got.balance, "ip_hash") == 0 &&
		   got.created_at == shop.created_at,
	   "the updated application reads back, created_at kept");
	store_app_free(&got);
	other.domains = (char *[]){"www.shop.example.com"};
	other.n_domains = 1;
	ok(store_app_insert(st, &other, &admin, &err) == 0,
	   "a domain dropped by the update is free again");

	shop.domains = blog_d;
	shop.n_domains = 1;
	ok(store_app_update(st, &shop, &admin, &err) == -1 && strcmp(err.code, "conflict") == 0 &&
		   has(err.message, "blog.example.com already belongs to application 'blog'"),
	   "update onto another application's domain is a conflict");
	shop.domains = upd_d;
	shop.n_domains = 2;
	shop.name = "blog";
	ok(store_app_update(st, &shop, &admin, &err) == -1 && strcmp(err.code, "conflict") == 0,
	   "renaming onto a taken name is a conflict");
	ok(store_app_get(st, shop.id, &got, &err) == 0 && strcmp(got.name, "shop") == 0 &&
		   got.n_domains == 2,
	   "a refused update changed nothing");
	store_app_free(&got);
	shop.name = "shop";
	shop.backends = bad_b;
	ok(store_app_update(st, &shop, &admin, &err) == -1 && strcmp(err.code, "storage") == 0,
	   "weight 0 is refused by the schema");
	ok(store_app_get(st, shop.id, &got, &err) == 0 && got.n_backends == 1 &&
		   got.backends[0].weight == 2,
	   "the refused update left the backends alone");
	store_app_free(&got);
	shop.id = 999;
	ok(store_app_update(st, &shop, &admin, &err) == -1 && strcmp(err.code, "not_found") == 0 &&
		   has(err.message, "application 999 does not exist"),
	   "update of a missing id is not_found");

	ok(store_app_list(st, &list, &n, &err) == 0 && n == 3 && list[0].id < list[1].id &&
		   list[1].id < list[2].id && list[0].n_domains == 2 && list[1].n_backends == 1,
	   "list returns all three in id order with children");
	store_app_list_free(list, n);

	ok(store_app_delete(st, blog.id, &admin, &err) == 0, "delete an application");
	ok(store_app_get(st, blog.id, &got, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "the deleted application is gone");
	ok(q_int(st->db, "SELECT (SELECT count(*) FROM application_domains WHERE application_id "
			 "NOT IN (SELECT id FROM applications)) + (SELECT count(*) FROM "
			 "application_backends WHERE application_id NOT IN (SELECT id FROM "
			 "applications))") == 0,
	   "its domains and backends went with it");
	ok(store_app_delete(st, blog.id, &admin, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "deleting twice is not_found");
	ok(audit_n(st, "application.update", NULL) == 1 &&
		   audit_n(st, "application.delete", NULL) == 1,
	   "one update and one delete audited");
	ok(q_int(st->db, "SELECT count(*) FROM audit_log WHERE action = 'application.create' AND "
			 "detail LIKE '%''shop''%shop.example.com%'") == 1,
	   "the create audit row names the application and its domains");
}

/* ---- users, sessions, tokens */

static void test_users(struct store *st)
{
	struct store_user u;
	struct error err;
	long long n = -1;

	ok(store_user_count(st, &n, &err) == 0 && n == 0, "no users at first");
	ok(store_user_create(st, "admin", "$argon2id$SECRET1", &admin, &err) == 0, "create a user");
	ok(store_user_count(st, &n, &err) == 0 && n == 1, "one user");
	ok(store_user_get(st, "admin", &u, &err) == 0 && u.id > 0 &&
		   strcmp(u.password_hash, "$argon2id$SECRET1") == 0 && u.created_at > 0,
	   "get the user");
	store_user_free(&u);
	ok(store_user_create(st, "admin", "x", &admin, &err) == -1 &&
		   strcmp(err.code, "conflict") == 0 && has(err.message, "'admin' already exists"),
	   "a taken user name is a conflict");
	ok(store_user_set_password(st, "admin", "$argon2id$SECRET2", &admin, &err) == 0 &&
		   store_user_get(st, "admin", &u, &err) == 0 &&
		   strcmp(u.password_hash, "$argon2id$SECRET2") == 0,
	   "set_password stores the new hash");
	store_user_free(&u);
	ok(store_user_set_password(st, "ghost", "x", &admin, &err) == -1 &&
		   strcmp(err.code, "not_found") == 0,
	   "set_password of a missing user is not_found");
	ok(store_user_get(st, "ghost", &u, &err) == -1 && strcmp(err.code, "not_found") == 0 &&
		   has(err.message, "'ghost'"),
	   "get of a missing user is not_found");
	ok(audit_n(st, "user.create", NULL) == 1 && audit_n(st, "user.password", NULL) == 1,
	   "user.create and user.password audited once each");
}

static void test_sessions(struct store *st)
{
	struct store_session s = {"sid1", "admin", "csrf1", 1000, 1000}, got;
	struct error err;

	ok(store_session_create(st, &s, &err) == 0, "create a session");
	ok(store_session_get(st, "sid1", &got, &err) == 0 && strcmp(got.user, "admin") == 0 &&
		   strcmp(got.csrf_hash, "csrf1") == 0 && got.created_at == 1000,
	   "get the session");
	store_session_free(&got);
	ok(store_session_create(st, &s, &err) == -1 && strcmp(err.code, "conflict") == 0,
	   "a duplicate session id is a conflict");
	s.id_hash = "sid9";
	s.user = "ghost";
	ok(store_session_create(st, &s, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "a session for a missing user is not_found");
	ok(store_session_touch(st, "sid1", 5000, &err) == 0 &&
		   store_session_get(st, "sid1", &got, &err) == 0 && got.last_seen == 5000,
	   "touch updates last_seen");
	store_session_free(&got);
	ok(store_session_touch(st, "nope", 1, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "touching a missing session is not_found");
	store_session_create(st, &(struct store_session){"old", "admin", "c", 100, 4900}, &err);
	store_session_create(st, &(struct store_session){"idle", "admin", "c", 4000, 200}, &err);
	ok(store_session_purge(st, 1000, 500, &err) == 0, "purge");
	ok(store_session_get(st, "old", &got, &err) == -1 &&
		   store_session_get(st, "idle", &got, &err) == -1 &&
		   store_session_get(st, "sid1", &got, &err) == 0,
	   "purge removed the too-old and the idle session only");
	store_session_free(&got);
	ok(store_session_delete(st, "sid1", &err) == 0 &&
		   store_session_get(st, "sid1", &got, &err) == -1,
	   "delete a session");
	ok(store_session_delete(st, "sid1", &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "deleting twice is not_found");
}

static void test_tokens(struct store *st)
{
	struct store_token t = {0, "ci", "admin", "tokhash-SECRET-1", 0, 0}, t2, got, *list;
	struct error err;
	size_t n = 0;

	ok(store_token_create(st, &t, &admin, &err) == 0 && t.id > 0 && t.created_at > 0,
	   "create a token");
	t2 = (struct store_token){0, "deploy", "admin", "tokhash-SECRET-2", 0, 0};
	ok(store_token_create(st, &t2, &admin, &err) == 0 && t2.id > t.id, "create a second token");
	got = (struct store_token){0, "dup", "admin", "tokhash-SECRET-2", 0, 0};
	ok(store_token_create(st, &got, &admin, &err) == -1 && strcmp(err.code, "conflict") == 0,
	   "a duplicate token hash is a conflict");
	got.user = "ghost";
	got.token_hash = "other";
	ok(store_token_create(st, &got, &admin, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "a token for a missing user is not_found");
	ok(store_token_find(st, "tokhash-SECRET-1", &got, &err) == 0 && got.id == t.id &&
		   strcmp(got.name, "ci") == 0 && strcmp(got.user, "admin") == 0 &&
		   got.last_used == 0,
	   "find by hash");
	store_token_free(&got);
	ok(store_token_find(st, "nope", &got, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "an unknown hash is not_found");
	ok(store_token_touch(st, t.id, 777, &err) == 0 &&
		   store_token_find(st, "tokhash-SECRET-1", &got, &err) == 0 &&
		   got.last_used == 777,
	   "touch records last use");
	store_token_free(&got);
	ok(store_token_touch(st, 999, 1, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "touching a missing token is not_found");
	ok(store_token_list(st, &list, &n, &err) == 0 && n == 2 && list[0].id == t.id &&
		   strcmp(list[1].name, "deploy") == 0,
	   "list in id order");
	store_token_list_free(list, n);
	ok(store_token_delete(st, t.id, &admin, &err) == 0 &&
		   store_token_find(st, "tokhash-SECRET-1", &got, &err) == -1,
	   "delete a token");
	ok(store_token_delete(st, t.id, &admin, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "deleting twice is not_found");
	ok(audit_n(st, "token.create", NULL) == 2 && audit_n(st, "token.delete", NULL) == 1,
	   "token.create and token.delete audited");
	ok(q_int(st->db, "SELECT count(*) FROM audit_log WHERE detail LIKE '%SECRET%' OR "
			 "target LIKE '%SECRET%'") == 0,
	   "no audit row contains a hash");
}

static void test_acme(struct store *st)
{
	unsigned char k1[] = {1, 0, 2}, k2[] = {9, 9, 0, 9};
	struct store_acme_account a = {"https://acme.test/dir", "", k1, sizeof(k1), "acct-1", 111};
	struct store_acme_account got;
	struct error err;

	ok(store_acme_account_get(st, a.directory_url, &got, &err) == -1 &&
		   strcmp(err.code, "not_found") == 0,
	   "no account at first");
	ok(store_acme_account_put(st, &a, &err) == 0 &&
		   store_acme_account_get(st, a.directory_url, &got, &err) == 0 &&
		   strcmp(got.kid, "") == 0 && got.sealed_key_len == 3 &&
		   memcmp(got.sealed_key, k1, 3) == 0 && got.created_at == 111,
	   "put then get an account");
	store_acme_account_free(&got);
	a = (struct store_acme_account){"https://acme.test/dir", "https://acme.test/acct/1", k2,
					sizeof(k2), "acct-2", 0};
	ok(store_acme_account_put(st, &a, &err) == 0 &&
		   store_acme_account_get(st, a.directory_url, &got, &err) == 0 &&
		   has(got.kid, "acct/1") && got.sealed_key_len == 4 &&
		   memcmp(got.sealed_key, k2, 4) == 0 && strcmp(got.key_uid, "acct-2") == 0 &&
		   got.created_at == 111,
	   "put replaces kid and key, keeps created_at");
	store_acme_account_free(&got);
	ok(q_int(st->db, "SELECT count(*) FROM acme_accounts") == 1, "one row per directory");
}

static void test_audit(struct store *st)
{
	struct store_audit *list = NULL;
	long long before = q_int(st->db, "SELECT count(*) FROM audit_log");
	struct store_cert c;
	struct error err;
	size_t n = 0;

	ok(store_audit_add(st, &admin, "session.login", "user/1", "signed in", &err) == 0,
	   "add an audit row");
	ok(store_audit_add(st, NULL, "system.start", "", "started", &err) == 0,
	   "add one with no actor");
	ok(store_audit_list(st, 2, &list, &n, &err) == 0 && n == 2, "list the newest two");
	if (n == 2) {
		ok(strcmp(list[0].action, "system.start") == 0 &&
			   strcmp(list[0].actor, "system") == 0 && list[0].id > list[1].id,
		   "newest first; a missing actor is 'system'");
		ok(strcmp(list[1].actor, "admin") == 0 &&
			   strcmp(list[1].source, "192.0.2.7") == 0 &&
			   strcmp(list[1].target, "user/1") == 0 &&
			   strcmp(list[1].detail, "signed in") == 0 && list[1].at > 0,
		   "fields round-trip");
	}
	store_audit_list_free(list, n);
	ok(store_audit_list(st, 0, &list, &n, &err) == 0 && (long long)n == before + 2,
	   "limit 0 lists every row");
	store_audit_list_free(list, n);
	cert_fill(&c, "quiet.example.com", "user", "x", (unsigned char *)"k", 1);
	ok(store_cert_insert(st, &c, NULL, &err) == 0 &&
		   q_int(st->db, "SELECT count(*) FROM audit_log") == before + 2,
	   "a change with no actor writes no audit row");
}

/* A failure anywhere in a transaction (here forced with temporary triggers)
 * undoes the whole change, audit row included. */
static void test_rollback(struct store *st)
{
	struct store_backend b[] = {{"http://ok:1", 1}, {"http://fail", 1}};
	long long certs = q_int(st->db, "SELECT count(*) FROM certificates");
	struct store_app a, got, *list;
	struct store_cert c;
	struct error err;
	sqlite3 *raw;
	size_t n;

	sqlite3_exec(st->db, "CREATE TEMP TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN "
			     "SELECT RAISE(ABORT, 'audit refused'); END", NULL, NULL, NULL);
	cert_fill(&c, "rb.example.com", "user", "x", (unsigned char *)"k", 1);
	ok(store_cert_insert(st, &c, &admin, &err) == -1 && strcmp(err.code, "storage") == 0 &&
		   has(err.message, "audit refused"),
	   "a failing audit insert fails the change: %s", err.message);
	ok(q_int(st->db, "SELECT count(*) FROM certificates") == certs &&
		   q_int(st->db, "SELECT count(*) FROM certificate_versions WHERE domain = "
				 "'rb.example.com'") == 0,
	   "the certificate and its history row were rolled back");
	ok(sqlite3_get_autocommit(st->db), "no transaction is left open");
	sqlite3_exec(st->db, "DROP TRIGGER no_audit", NULL, NULL, NULL);

	sqlite3_exec(st->db, "CREATE TEMP TRIGGER no_fail BEFORE INSERT ON application_backends "
			     "WHEN NEW.url = 'http://fail' BEGIN "
			     "SELECT RAISE(ABORT, 'bad backend'); END", NULL, NULL, NULL);
	if (store_app_list(st, &list, &n, &err) == 0 && n > 0) {
		a = list[0];
		a.backends = b;
		a.n_backends = 2;
		ok(store_app_update(st, &a, &admin, &err) == -1 && has(err.message, "bad backend"),
		   "an update failing on its second backend fails");
		ok(store_app_get(st, a.id, &got, &err) == 0 && got.n_domains == list[0].n_domains &&
			   got.n_backends == list[0].n_backends &&
			   strcmp(got.backends[0].url, list[0].backends[0].url) == 0,
		   "the old domains and backends are all still there");
		store_app_free(&got);
		store_app_list_free(list, n);
	}
	sqlite3_exec(st->db, "DROP TRIGGER no_fail", NULL, NULL, NULL);

	/* Another process holding the write lock: the change fails cleanly. */
	sqlite3_open(db_path("main.db"), &raw);
	sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_busy_timeout(st->db, 50);
	ok(store_setting_set(st, "locked", "v", 1, &err) == -1 &&
		   strcmp(err.code, "storage") == 0 && has(err.message, "try again"),
	   "a locked database gives a storage error that says to retry: %s", err.message);
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(raw);
}

static void test_data_version(void)
{
	struct store *a = open_db("main.db"), *b = open_db("main.db");
	long long v1 = 0, v2 = 0, v3 = 0;

	ok(a != NULL && b != NULL, "two connections on one file");
	if (a == NULL || b == NULL) {
		store_close(a);
		store_close(b);
		return;
	}
	ok(store_data_version(a, &v1) == 0, "read data_version");
	store_setting_set(b, "dv", "1", 1, NULL);
	ok(store_data_version(a, &v2) == 0 && v2 != v1,
	   "data_version changes after the other connection commits");
	store_setting_set(a, "dv", "2", 1, NULL);
	ok(store_data_version(a, &v3) == 0 && v3 == v2,
	   "a connection's own commits leave its data_version alone");
	store_close(a);
	store_close(b);
}

/* ---- crash safety: a writer killed with SIGKILL leaves old or new state */

#define CRASH_CHAIN_LEN 50000
#define CRASH_ROUNDS 20

/* A 50 KB chain whose every byte follows from the seed in its first line,
 * so a torn or mixed write cannot go unnoticed. */
static char *crash_chain(unsigned seed)
{
	char *p = malloc(CRASH_CHAIN_LEN + 1);
	unsigned x = seed;
	int off;

	if (p == NULL)
		return NULL;
	off = snprintf(p, CRASH_CHAIN_LEN, "SEED %u\n", seed);
	for (size_t i = (size_t)off; i < CRASH_CHAIN_LEN; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = i % 65 == 64 ? '\n' : (char)('A' + (x >> 16) % 26);
	}
	p[CRASH_CHAIN_LEN] = '\0';
	return p;
}

static void crash_key(unsigned seed, unsigned char key[48])
{
	for (int i = 0; i < 48; i++)
		key[i] = (unsigned char)((seed >> (i % 4 * 8)) + i * 37);
	key[3] = 0;
}

/* Generation gen of application name: 1-4 domains and 1-3 backends that
 * all carry the generation, plus {"gen":N} in options_json. */
struct crash_app {
	struct store_app a;
	char name[32], opts[32], dom[4][96], url[3][96];
	char *doms[4];
	struct store_backend b[3];
};

static void crash_app_build(struct crash_app *c, const char *name, int gen)
{
	int nd = 1 + gen % 4, nb = 1 + gen % 3;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->opts, sizeof(c->opts), "{\"gen\":%d}", gen);
	for (int k = 0; k < nd; k++) {
		snprintf(c->dom[k], sizeof(c->dom[k]), "g%d-d%d.%s.test", gen, k, name);
		c->doms[k] = c->dom[k];
	}
	for (int k = 0; k < nb; k++) {
		snprintf(c->url[k], sizeof(c->url[k]), "http://g%d-b%d.internal:8080", gen, k);
		c->b[k] = (struct store_backend){c->url[k], 1 + (gen + k) % 5};
	}
	app_fill(&c->a, c->name, c->doms, (size_t)nd, c->b, (size_t)nb);
	c->a.options_json = c->opts;
}

/* A random row: its id and its second column as text; id 0 when empty. */
static long long crash_pick(struct store *st, const char *sql, char *text, size_t n)
{
	sqlite3_stmt *s = NULL;
	long long id = 0;

	text[0] = '\0';
	sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (sqlite3_step(s) == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		snprintf(text, n, "%s", (const char *)sqlite3_column_text(s, 1));
	}
	sqlite3_finalize(s);
	return id;
}

static void child_cert(struct store *st)
{
	unsigned seed = (unsigned)rand();
	long long n = q_int(st->db, "SELECT count(*) FROM certificates"), id;
	char domain[64], uid[32], version[16];
	unsigned char key[48];
	struct store_cert c;

	id = crash_pick(st, "SELECT id, version FROM certificates ORDER BY random() LIMIT 1",
			version, sizeof(version));
	crash_key(seed, key);
	snprintf(domain, sizeof(domain), "crash-%u.test", seed);
	snprintf(uid, sizeof(uid), "uid-%u", seed);
	cert_fill(&c, domain, "user", crash_chain(seed), key, sizeof(key));
	c.key_uid = uid;
	if (id == 0 || (n < 4 && rand() % 2)) {
		store_cert_insert(st, &c, &admin, NULL);
	} else if (atoi(version) >= 4 || n > 8) {
		store_cert_delete(st, id, &admin, NULL);
	} else {
		c.id = id;
		store_cert_replace(st, &c, &admin, NULL);
	}
	free(c.chain_pem);
}

static void child_app(struct store *st)
{
	long long n = q_int(st->db, "SELECT count(*) FROM applications"), id;
	struct store_app cur;
	struct crash_app c;
	char opts[64], name[32];
	int gen = 0;

	id = crash_pick(st, "SELECT id, options_json FROM applications ORDER BY random() LIMIT 1",
			opts, sizeof(opts));
	if (id == 0 || (n < 6 && rand() % 3 == 0)) {
		snprintf(name, sizeof(name), "app%d", rand());
		crash_app_build(&c, name, 0);
		store_app_insert(st, &c.a, &admin, NULL);
	} else if (n >= 6 && rand() % 4 == 0) {
		store_app_delete(st, id, &admin, NULL);
	} else if (sscanf(opts, "{\"gen\":%d}", &gen) == 1 &&
		   store_app_get(st, id, &cur, NULL) == 0) {
		crash_app_build(&c, cur.name, gen + 1);
		store_app_free(&cur);
		c.a.id = id;
		store_app_update(st, &c.a, &admin, NULL);
	}
}

static void crash_child(unsigned seed)
{
	struct timespec t0, t;
	struct store *st;

	srand(seed);
	st = store_open(db_path("crash.db"), NULL);
	if (st == NULL)
		_exit(3);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (rand() % 2)
			child_cert(st);
		else
			child_app(st);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 2);
	_exit(0);
}

/* The first problem found goes to why. Returns 1 when all is consistent. */
static int check_one_cert(struct store *st, const struct store_cert *c, char *why, size_t n)
{
	struct store_cert *v = NULL;
	unsigned char key[48];
	unsigned seed = 0;
	size_t nv = 0;
	char *exp;
	int good;

	if (c->chain_pem == NULL || sscanf(c->chain_pem, "SEED %u", &seed) != 1) {
		snprintf(why, n, "certificate %lld has no seeded chain", c->id);
		return 0;
	}
	exp = crash_chain(seed);
	crash_key(seed, key);
	good = exp != NULL && strcmp(exp, c->chain_pem) == 0 && c->sealed_key_len == 48 &&
	       memcmp(c->sealed_key, key, 48) == 0;
	free(exp);
	if (!good)
		snprintf(why, n, "certificate %lld: chain or key bytes torn", c->id);
	else if (store_cert_versions(st, c->id, &v, &nv, NULL) != 0 ||
		 nv != (size_t)c->version || v[nv - 1].version != c->version ||
		 strcmp(v[nv - 1].chain_pem, c->chain_pem) != 0 ||
		 v[nv - 1].sealed_key_len != 48 || memcmp(v[nv - 1].sealed_key, key, 48) != 0 ||
		 strcmp(v[nv - 1].key_uid, c->key_uid) != 0) {
		snprintf(why, n, "certificate %lld version %d: %zu history rows, last differs",
			 c->id, c->version, nv);
		good = 0;
	}
	store_cert_list_free(v, nv);
	return good;
}

static int check_certs(struct store *st, char *why, size_t n)
{
	struct store_cert *list = NULL;
	size_t count = 0;
	int good = store_cert_list(st, &list, &count, NULL) == 0;

	for (size_t i = 0; good && i < count; i++)
		good = check_one_cert(st, &list[i], why, n);
	store_cert_list_free(list, count);
	return good;
}

static int check_one_app(const struct store_app *a, char *why, size_t n)
{
	struct crash_app exp;
	int gen = -1;

	if (sscanf(a->options_json, "{\"gen\":%d}", &gen) != 1) {
		snprintf(why, n, "application %lld has no generation", a->id);
		return 0;
	}
	crash_app_build(&exp, a->name, gen);
	if (a->n_domains != exp.a.n_domains || a->n_backends != exp.a.n_backends) {
		snprintf(why, n, "application %lld gen %d: %zu domains, %zu backends", a->id, gen,
			 a->n_domains, a->n_backends);
		return 0;
	}
	for (size_t k = 0; k < a->n_domains; k++) {
		if (strcmp(a->domains[k], exp.doms[k]) != 0) {
			snprintf(why, n, "application %lld gen %d: domain %s", a->id, gen,
				 a->domains[k]);
			return 0;
		}
	}
	for (size_t k = 0; k < a->n_backends; k++) {
		if (strcmp(a->backends[k].url, exp.b[k].url) != 0 ||
		    a->backends[k].weight != exp.b[k].weight) {
			snprintf(why, n, "application %lld gen %d: backend %s", a->id, gen,
				 a->backends[k].url);
			return 0;
		}
	}
	return 1;
}

static int check_apps(struct store *st, char *why, size_t n)
{
	struct store_app *list = NULL;
	size_t count = 0;
	int good = store_app_list(st, &list, &count, NULL) == 0;

	for (size_t i = 0; good && i < count; i++)
		good = check_one_app(&list[i], why, n);
	store_app_list_free(list, count);
	return good;
}

/* Audit rows match what was committed: per live object one create row,
 * replace rows = version - 1, update rows = generation; deleted objects
 * are gone and were created once. */
static int check_audit(struct store *st, char *why, size_t n)
{
	static const char *const sql[] = {
		"SELECT count(*) FROM certificates c WHERE (SELECT count(*) FROM audit_log WHERE "
		"target = 'certificate/' || c.id AND action = 'certificate.create') != 1 OR "
		"(SELECT count(*) FROM audit_log WHERE target = 'certificate/' || c.id AND "
		"action = 'certificate.replace') != c.version - 1",
		"SELECT count(*) FROM applications a WHERE (SELECT count(*) FROM audit_log WHERE "
		"target = 'application/' || a.id AND action = 'application.create') != 1 OR "
		"(SELECT count(*) FROM audit_log WHERE target = 'application/' || a.id AND "
		"action = 'application.update') != json_extract(a.options_json, '$.gen')",
		"SELECT count(*) FROM audit_log WHERE (action = 'certificate.delete' AND target IN "
		"(SELECT 'certificate/' || id FROM certificates)) OR "
		"(action = 'application.delete' AND target IN "
		"(SELECT 'application/' || id FROM applications))",
		"SELECT count(*) FROM (SELECT target FROM audit_log WHERE action IN "
		"('certificate.create', 'application.create', 'certificate.delete', "
		"'application.delete') GROUP BY action, target HAVING count(*) != 1)",
		"SELECT (SELECT count(*) FROM audit_log WHERE action = 'certificate.create') - "
		"(SELECT count(*) FROM audit_log WHERE action = 'certificate.delete') - "
		"(SELECT count(*) FROM certificates)",
		"SELECT (SELECT count(*) FROM audit_log WHERE action = 'application.create') - "
		"(SELECT count(*) FROM audit_log WHERE action = 'application.delete') - "
		"(SELECT count(*) FROM applications)",
	};

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		long long bad = q_int(st->db, sql[i]);

		if (bad != 0) {
			snprintf(why, n, "audit check %zu found %lld mismatches", i + 1, bad);
			return 0;
		}
	}
	return 1;
}

static int check_integrity(struct store *st, char *why, size_t n)
{
	sqlite3_stmt *s = NULL;
	int good;

	sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s, NULL);
	good = sqlite3_step(s) == SQLITE_ROW &&
	       strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
	snprintf(why, n, "integrity_check: %s",
		 good ? "ok" : (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (good && q_int(st->db, "SELECT count(*) FROM pragma_foreign_key_check") != 0) {
		snprintf(why, n, "foreign_key_check found orphan rows");
		good = 0;
	}
	return good;
}

static void crash_round(int round, unsigned seed, int *killed)
{
	int delay = 1 + rand() % 200, status = 0;
	struct timespec ts = {0, delay * 1000000L};
	char why[256] = "";
	struct store *st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		crash_child(seed);
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	*killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	st = open_db("crash.db");
	ok(st != NULL && check_integrity(st, why, sizeof(why)),
	   "round %d (SIGKILL after %d ms): %s", round, delay, why);
	why[0] = '\0';
	ok(st != NULL && check_certs(st, why, sizeof(why)),
	   "round %d: every certificate matches its history %s", round, why);
	ok(st != NULL && check_apps(st, why, sizeof(why)),
	   "round %d: every application is one whole generation %s", round, why);
	ok(st != NULL && check_audit(st, why, sizeof(why)),
	   "round %d: audit rows match the committed changes %s", round, why);
	store_close(st);
}

static void test_crash(void)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int killed = 0;
	struct store *st;

	printf("# crash test seed %u\n", seed);
	srand(seed);
	for (int round = 1; round <= CRASH_ROUNDS; round++)
		crash_round(round, (unsigned)rand(), &killed);
	ok(killed == CRASH_ROUNDS, "the writer was killed mid-run in all %d rounds", killed);
	st = open_db("crash.db");
	if (st == NULL)
		return;
	ok(audit_n(st, "certificate.replace", NULL) > 0 &&
		   audit_n(st, "application.update", NULL) > 0,
	   "the writer committed replaces (%lld) and updates (%lld) between kills",
	   audit_n(st, "certificate.replace", NULL), audit_n(st, "application.update", NULL));
	store_close(st);
}

/* ---- the application firewall */

/* A custom rule decoded from JSON text written by this test. */
static int make_rule(const char *json, struct waf_rule *r)
{
	struct error err;
	const char *field = NULL;
	json_t *j = json_loads(json, 0, NULL);
	int rc = j ? waf_rule_from_json(j, r, &err, &field) : -1;

	if (rc != 0)
		printf("# make_rule: %s: %s\n", j ? err.code : "json", j ? err.message : json);
	json_decref(j);
	return rc;
}

static void test_waf_rules(struct store *st)
{
	struct waf_rule r1, r2, r3, got, *list = NULL;
	struct error err;
	size_t n = 0;
	long long audits = q_int(st->db, "SELECT count(*) FROM audit_log");

	if (make_rule("{\"description\":\"no admin\",\"conditions\":[{\"target\":\"path\","
		      "\"operator\":\"regex\",\"value\":\"^/admin\",\"transforms\":"
		      "[\"lowercase\"]}],\"action\":\"block\"}", &r1) != 0 ||
	    make_rule("{\"description\":\"log bots\",\"applications\":[3],\"conditions\":"
		      "[{\"target\":\"user_agent\",\"operator\":\"contains\",\"value\":"
		      "\"bot\"}],\"action\":\"log\"}", &r2) != 0) {
		ok(0, "rules for the store test decode");
		return;
	}
	ok(store_waf_rule_list(st, &list, &n, &err) == 0 && n == 0 && list == NULL,
	   "no custom rules at first");
	r1.id = 7; /* ignored */
	ok(store_waf_rule_insert(st, &r1, &admin, &err) == 0 && r1.id == WAF_FIRST_CUSTOM_ID + 1,
	   "the first custom rule gets id 100001 (got %lld)", r1.id);
	ok(store_waf_rule_insert(st, &r2, &admin, &err) == 0 && r2.id == WAF_FIRST_CUSTOM_ID + 2,
	   "the second 100002");
	ok(audit_n(st, "waf_rule.create", "waf_rule/100001") == 1,
	   "a create writes its audit row");
	ok(q_int(st->db, "SELECT count(*) FROM waf_rules WHERE id = 100001 AND rule_json LIKE "
			 "'{\"id\":100001,%'") == 1,
	   "the stored text is the RULE object with its id");
	ok(store_waf_rule_list(st, &list, &n, &err) == 0 && n == 2, "two rules listed");
	if (n == 2) {
		ok(list[0].id == 100001 && list[1].id == 100002, "ordered by id");
		ok(strcmp(list[0].description, "no admin") == 0 && list[0].n_conditions == 1 &&
			   list[0].conditions[0].op == WAF_OP_REGEX &&
			   strcmp(list[0].conditions[0].value, "^/admin") == 0 &&
			   list[0].conditions[0].n_transforms == 1 &&
			   list[0].action == WAF_ACTION_BLOCK && list[0].enabled && !list[0].preset,
		   "a rule reads back as it was written");
		ok(list[1].n_applications == 1 && list[1].applications[0] == 3 &&
			   list[1].action == WAF_ACTION_LOG,
		   "applications and action read back");
	}
	waf_rule_list_free(list, n);

	free(r1.description);
	r1.description = strdup("no admin pages");
	r1.enabled = 0;
	ok(store_waf_rule_update(st, &r1, &admin, &err) == 0, "update a rule");
	ok(store_waf_rule_get(st, r1.id, &got, &err) == 0 &&
		   strcmp(got.description, "no admin pages") == 0 && !got.enabled,
	   "get sees the update");
	waf_rule_free(&got);
	ok(audit_n(st, "waf_rule.update", "waf_rule/100001") == 1, "an update is audited");
	r3 = r1;
	r3.id = 100099;
	ok(store_waf_rule_update(st, &r3, &admin, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "updating a missing rule: not_found");
	ok(store_waf_rule_get(st, 100099, &got, &err) == -1 && strcmp(err.code, "not_found") == 0,
	   "get a missing rule: not_found");

	ok(store_waf_rule_delete(st, r2.id, &admin, &err) == 0, "delete a rule");
	ok(store_waf_rule_delete(st, r2.id, &admin, &err) == -1 &&
		   strcmp(err.code, "not_found") == 0,
	   "deleting it again: not_found");
	ok(audit_n(st, "waf_rule.delete", "waf_rule/100002") == 1, "a delete is audited");
	ok(store_waf_rule_insert(st, &r2, NULL, &err) == 0 && r2.id == 100003,
	   "ids are never reused (got %lld)", r2.id);
	ok(q_int(st->db, "SELECT count(*) FROM audit_log") == audits + 4,
	   "a change without an actor writes no audit row");

	sqlite3_exec(st->db, "UPDATE waf_rules SET rule_json = '{\"action\":\"explode\"}' "
		     "WHERE id = 100003", NULL, NULL, NULL);
	ok(store_waf_rule_list(st, &list, &n, &err) == -1 && n == 0 &&
		   strcmp(err.code, "storage") == 0 && has(err.message, "100003"),
	   "a stored rule that no longer decodes is an error naming it: %s", err.message);
	ok(store_waf_rule_delete(st, 100003, &admin, &err) == 0, "and it can still be deleted");
	waf_rule_free(&r1);
	waf_rule_free(&r2);
}

static void test_waf_presets(struct store *st)
{
	long long *ids = NULL;
	size_t n = 0;
	struct error err;

	ok(store_waf_preset_disabled(st, &ids, &n, &err) == 0 && n == 0 && ids == NULL,
	   "every preset is enabled at first");
	ok(store_waf_preset_set(st, 1002, 0, &admin, &err) == 0 &&
		   store_waf_preset_set(st, 1001, 0, &admin, &err) == 0 &&
		   store_waf_preset_set(st, 1003, 1, &admin, &err) == 0,
	   "set preset states");
	ok(store_waf_preset_disabled(st, &ids, &n, &err) == 0 && n == 2 && ids[0] == 1001 &&
		   ids[1] == 1002,
	   "the disabled ones, ascending");
	free(ids);
	ok(store_waf_preset_set(st, 1001, 1, &admin, &err) == 0 &&
		   store_waf_preset_disabled(st, &ids, &n, &err) == 0 && n == 1 && ids[0] == 1002,
	   "enabling one again");
	free(ids);
	ok(audit_n(st, "waf_rule.disable", "waf_rule/1001") == 1 &&
		   audit_n(st, "waf_rule.enable", "waf_rule/1001") == 1,
	   "preset changes are audited");
}

static void event_at(struct waf_event *e, const char *ref, long long t, long long app,
		     long long rule, int kind, int blocked)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->ref, sizeof(e->ref), "%s", ref);
	e->time_ms = t;
	e->app_id = app;
	e->rule_id = rule;
	e->kind = (unsigned char)kind;
	e->blocked = (unsigned char)blocked;
	snprintf(e->client_ip, sizeof(e->client_ip), "192.0.2.9");
	snprintf(e->target, sizeof(e->target), "args:q");
	snprintf(e->method, sizeof(e->method), "GET");
	snprintf(e->path, sizeof(e->path), "/search");
	snprintf(e->excerpt, sizeof(e->excerpt), "' or 1=1--");
}

static size_t events_where(struct store *st, long long app, long long rule, int kind,
			   long long since, int limit, struct waf_event **list)
{
	struct store_event_filter f = { app, rule, kind, since, limit };
	struct error err;
	size_t n = 0;

	*list = NULL;
	if (store_waf_event_query(st, &f, list, &n, &err) != 0) {
		printf("# event query: %s\n", err.message);
		return (size_t)-1;
	}
	return n;
}

static void test_waf_events(struct store *st)
{
	struct waf_event ev[5], *list = NULL;
	struct error err;
	long long audits = q_int(st->db, "SELECT count(*) FROM audit_log");
	size_t n;

	event_at(&ev[0], "00000000000000a1", 1000000, 1, 1001, WAF_EVENT_WAF, 1);
	event_at(&ev[1], "00000000000000a2", 2000000, 2, 1002, WAF_EVENT_WAF, 0);
	event_at(&ev[2], "00000000000000a3", 3000000, 1, 0, WAF_EVENT_RATE_LIMIT, 1);
	event_at(&ev[3], "00000000000000a4", 4000000, 2, 0, WAF_EVENT_IP_DENY, 1);
	event_at(&ev[4], "00000000000000a5", 5000000, 1, 1001, WAF_EVENT_WAF, 1);
	ok(store_waf_event_insert(st, ev, 5, &err) == 0, "insert a batch of five events");
	ok(store_waf_event_insert(st, ev, 0, &err) == 0, "an empty batch is fine");
	ok(q_int(st->db, "SELECT count(*) FROM audit_log") == audits, "events write no audit rows");
	ok(q_int(st->db, "SELECT count(*) FROM waf_events WHERE rule_id IS NULL") == 2,
	   "rule id 0 is stored as NULL");

	n = events_where(st, 0, 0, -1, 0, 0, &list);
	ok(n == 5 && strcmp(list[0].ref, "00000000000000a5") == 0 &&
		   strcmp(list[4].ref, "00000000000000a1") == 0,
	   "all events, newest first");
	if (n == 5)
		ok(list[0].time_ms == 5000000 && list[0].app_id == 1 && list[0].rule_id == 1001 &&
			   list[0].kind == WAF_EVENT_WAF && list[0].blocked &&
			   strcmp(list[0].client_ip, "192.0.2.9") == 0 &&
			   strcmp(list[0].target, "args:q") == 0 &&
			   strcmp(list[0].method, "GET") == 0 &&
			   strcmp(list[0].path, "/search") == 0 &&
			   strcmp(list[0].excerpt, "' or 1=1--") == 0 &&
			   list[1].kind == WAF_EVENT_IP_DENY && list[1].rule_id == 0 &&
			   list[3].blocked == 0,
		   "every field reads back");
	free(list);
	n = events_where(st, 1, 0, -1, 0, 0, &list);
	ok(n == 3 && list[0].app_id == 1 && list[2].app_id == 1, "filter by application");
	free(list);
	n = events_where(st, 0, 1001, -1, 0, 0, &list);
	ok(n == 2 && list[0].rule_id == 1001 && list[1].rule_id == 1001, "filter by rule");
	free(list);
	n = events_where(st, 0, 0, WAF_EVENT_RATE_LIMIT, 0, 0, &list);
	ok(n == 1 && strcmp(list[0].ref, "00000000000000a3") == 0, "filter by kind");
	free(list);
	n = events_where(st, 1, 1001, -1, 4000000, 0, &list);
	ok(n == 1 && list[0].time_ms == 5000000, "application, rule and since together");
	free(list);
	n = events_where(st, 0, 0, -1, 2000000, 2, &list);
	ok(n == 2 && list[0].time_ms == 5000000 && list[1].time_ms == 4000000,
	   "since is inclusive; limit keeps the newest");
	free(list);
	n = events_where(st, 7, 0, -1, 0, 0, &list);
	ok(n == 0 && list == NULL, "no match: an empty list");

	ok(store_waf_event_prune(st, 3000000, &err) == 2, "prune deletes the two older events");
	ok(store_waf_event_prune(st, 3000000, &err) == 0, "pruning again deletes none");
	n = events_where(st, 0, 0, -1, 0, 0, &list);
	ok(n == 3 && list[2].time_ms == 3000000, "the event at the cut-off stays");
	free(list);
}

static void test_waf_limits(struct store *st)
{
	struct waf_event *many = calloc(1200, sizeof(*many)), *list = NULL;
	struct error err;
	size_t n;

	if (many == NULL)
		return;
	for (int i = 0; i < 1200; i++)
		event_at(&many[i], "00000000000000b0", 10000000 + i, 5, 2001, WAF_EVENT_WAF, 1);
	ok(store_waf_event_insert(st, many, 1200, &err) == 0, "a batch of 1200 events");
	n = events_where(st, 5, 0, -1, 0, 0, &list);
	ok(n == STORE_EVENTS_DEFAULT, "the default limit is 100 (got %zu)", n);
	free(list);
	n = events_where(st, 5, 0, -1, 0, 5000, &list);
	ok(n == STORE_EVENTS_MAX, "at most 1000 whatever the limit asked (got %zu)", n);
	free(list);
	ok(store_waf_event_prune(st, 20000000, &err) == 1203,
	   "prune in several transactions deletes them all");
	free(many);
}

/* A database of schema version 1 (with data) gains the WAF tables. */
static void test_waf_migration(void)
{
	struct store *st = open_db("v1.db");
	sqlite3 *raw;

	if (st == NULL)
		return;
	store_setting_set(st, "kept", "v", 1, NULL);
	store_close(st);
	sqlite3_open(db_path("v1.db"), &raw);
	sqlite3_exec(raw, "DROP TABLE waf_rules; DROP TABLE waf_preset_state; DROP TABLE waf_events;"
		     "DELETE FROM sqlite_sequence WHERE name = 'waf_rules'; PRAGMA user_version = 1",
		     NULL, NULL, NULL);
	sqlite3_close(raw);
	st = open_db("v1.db");
	ok(st != NULL && store_schema_version(st) == 2, "a version 1 database is migrated to 2");
	if (st == NULL)
		return;
	ok(q_int(st->db, "SELECT count(*) FROM settings WHERE key = 'kept'") == 1 &&
		   q_int(st->db, "SELECT count(*) FROM sqlite_master WHERE name = 'waf_events'") == 1,
	   "its data stays and the WAF tables are there");
	ok(q_int(st->db, "SELECT seq FROM sqlite_sequence WHERE name = 'waf_rules'") == 100000,
	   "custom rule ids will start at 100001");
	store_close(st);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

int main(void)
{
	struct store *st;

	snprintf(tmpdir, sizeof(tmpdir), "%s/store-test-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_open();
	test_refusals();
	st = open_db("main.db");
	if (st != NULL) {
		test_settings(st);
		test_certs(st);
		test_apps(st);
		test_users(st);
		test_sessions(st);
		test_tokens(st);
		test_acme(st);
		test_audit(st);
		test_rollback(st);
		test_waf_rules(st);
		test_waf_presets(st);
		test_waf_events(st);
		test_waf_limits(st);
		store_close(st);
	}
	test_waf_migration();
	test_data_version();
	test_crash();
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
