/* Who is asking: sessions (a random 32-byte id in an HttpOnly cookie, a
 * CSRF token for every mutating request, idle and absolute expiry) and
 * API tokens (Authorization: Bearer). Only hashes are stored. Sign-in is
 * throttled per client address and per user name: slowed after a few
 * failures (the response waits on a timer, the loop never sleeps), then
 * locked out for a while. */
#include "admin/admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/log.h"
#include "crypto/password.h"
#include "crypto/secret.h"

#define THROTTLE_SLOTS 1024
#define THROTTLE_SLOW_AFTER 5  /* failures before responses are slowed */
#define THROTTLE_LOCK_AFTER 10 /* failures that lock sign-in */
#define THROTTLE_BASE_DELAY_MS 250
#define THROTTLE_MAX_DELAY_MS 8000
#define LOCKOUT_DEFAULT_S (15 * 60)
#define USER_NAME_MAX 64
#define PASSWORD_MAX 1024
#define PASSWORD_MIN 8

struct throttle_entry {
	char key[USER_NAME_MAX + 8]; /* "ip:ADDRESS" or "user:NAME" */
	int failures;
	long long last;         /* monotonic seconds of the last failure */
	long long locked_until; /* monotonic seconds */
};

struct admin_throttle {
	struct throttle_entry slots[THROTTLE_SLOTS];
	int lockout_s;
};

/* ---- throttling */

static long long mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

int admin_throttle_lockout_seconds(void)
{
	/* Test hook: the integration tests shorten the lockout. */
	const char *env = getenv("POSTERN_TEST_LOCKOUT_SECONDS");
	long v = env ? strtol(env, NULL, 10) : 0;

	return v >= 1 && v <= 86400 ? (int)v : LOCKOUT_DEFAULT_S;
}

struct admin_throttle *admin_throttle_new(void)
{
	struct admin_throttle *t = calloc(1, sizeof(*t));

	if (t != NULL)
		t->lockout_s = admin_throttle_lockout_seconds();
	return t;
}

void admin_throttle_free(struct admin_throttle *t)
{
	free(t);
}

/* The entry of key, or NULL. Failures older than the lockout period
 * are forgotten. With create, a free (or the stalest) slot is taken. */
static struct throttle_entry *throttle_find(struct admin_throttle *t, const char *key,
					    long long now, int create)
{
	struct throttle_entry *stale = &t->slots[0];

	for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
		struct throttle_entry *e = &t->slots[i];

		if (e->failures > 0 && e->locked_until <= now && now - e->last >= t->lockout_s)
			memset(e, 0, sizeof(*e));
		if (e->failures > 0 && strcmp(e->key, key) == 0)
			return e;
		if (e->failures == 0 || e->last < stale->last)
			stale = e;
	}
	if (!create)
		return NULL;
	memset(stale, 0, sizeof(*stale));
	snprintf(stale->key, sizeof(stale->key), "%s", key);
	return stale;
}

static void throttle_key(char *out, size_t n, const char *kind, const char *name)
{
	snprintf(out, n, "%s:%.*s", kind, USER_NAME_MAX, name);
}

/* Seconds key stays locked, 0 when it is not. */
static long long throttle_locked(struct admin_throttle *t, const char *key, long long now)
{
	struct throttle_entry *e = throttle_find(t, key, now, 0);

	return e && e->locked_until > now ? e->locked_until - now : 0;
}

static int throttle_failures(struct admin_throttle *t, const char *key, long long now)
{
	struct throttle_entry *e = throttle_find(t, key, now, 0);

	return e ? e->failures : 0;
}

/* Count a failure; returns the lock in seconds it starts, or 0. */
static long long throttle_fail(struct admin_throttle *t, const char *key, long long now)
{
	struct throttle_entry *e = throttle_find(t, key, now, 1);

	e->failures++;
	e->last = now;
	if (e->failures >= THROTTLE_LOCK_AFTER) {
		e->locked_until = now + t->lockout_s;
		return t->lockout_s;
	}
	return 0;
}

static void throttle_reset(struct admin_throttle *t, const char *key, long long now)
{
	struct throttle_entry *e = throttle_find(t, key, now, 0);

	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

static unsigned delay_for(int failures)
{
	unsigned ms;

	if (failures < THROTTLE_SLOW_AFTER)
		return 0;
	if (failures - THROTTLE_SLOW_AFTER >= 6)
		return THROTTLE_MAX_DELAY_MS;
	ms = THROTTLE_BASE_DELAY_MS << (failures - THROTTLE_SLOW_AFTER);
	return ms > THROTTLE_MAX_DELAY_MS ? THROTTLE_MAX_DELAY_MS : ms;
}

static void locked_out(struct admin_response *resp, long long seconds)
{
	admin_header_add(resp, "Retry-After: %lld", seconds);
	admin_respond_error(resp, 429, "locked_out", NULL,
			    "Too many failed sign-ins; try again in %lld seconds.", seconds);
}

/* ---- hashes and tokens */

void admin_auth_hash_hex(const void *data, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* The CSRF token of a session: derived from its id (HMAC), so the
 * console can ask for it again after a reload; stored only as a hash. */
static void csrf_for(const unsigned char id[32], char out[65])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256(mac, (const unsigned char *)"postern csrf", 12, id);
	sodium_bin2hex(out, 65, mac, sizeof(mac));
	secret_wipe(mac, sizeof(mac));
}

static void set_actor(struct admin_request *req, const char *user, enum admin_auth how)
{
	snprintf(req->user, sizeof(req->user), "%s", user);
	req->auth = how;
	req->actor.who = req->user;
	req->actor.from = req->peer;
}

/* ---- checking a request */

static int unauthorized(struct admin_response *resp, const char *message)
{
	admin_respond_error(resp, 401, "unauthorized", NULL, "%s", message);
	return -1;
}

static int check_token(struct admin_request *req, struct admin_response *resp,
		       const struct http1_header *h)
{
	struct store_token t;
	struct error err;
	char hash[65];
	size_t skip = 7;

	if (h->value_len <= 7 || strncasecmp(h->value, "Bearer ", 7) != 0)
		return unauthorized(resp, "The Authorization header must be \"Bearer <token>\".");
	while (skip < h->value_len && h->value[skip] == ' ')
		skip++;
	admin_auth_hash_hex(h->value + skip, h->value_len - skip, hash);
	if (store_token_find(req->ctx->inst->store, hash, &t, &err) != 0)
		return unauthorized(resp, "The API token is not valid (it may have been revoked); "
					  "create a new one in the console.");
	if (t.last_used != (long long)time(NULL))
		store_token_touch(req->ctx->inst->store, t.id, (long long)time(NULL), NULL);
	set_actor(req, t.user, ADMIN_AUTH_TOKEN);
	store_token_free(&t);
	return 0;
}

/* The session id from the Cookie header(s): 1 when found. */
static int find_session_cookie(const struct http1_request *h, unsigned char id[32])
{
	const size_t name_len = sizeof(ADMIN_SESSION_COOKIE) - 1;

	for (size_t i = 0; i < h->n_headers; i++) {
		const char *p, *end;

		if (h->headers[i].name_len != 6 || strncasecmp(h->headers[i].name, "Cookie", 6))
			continue;
		p = h->headers[i].value;
		end = p + h->headers[i].value_len;
		while (p < end) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			const char *stop = semi ? semi : end;

			while (p < stop && *p == ' ')
				p++;
			if ((size_t)(stop - p) == name_len + 65 && p[name_len] == '=' &&
			    memcmp(p, ADMIN_SESSION_COOKIE, name_len) == 0 &&
			    sodium_hex2bin(id, 32, p + name_len + 1, 64, NULL, NULL, NULL) == 0)
				return 1;
			p = semi ? semi + 1 : end;
		}
	}
	return 0;
}

static int check_csrf(struct admin_request *req, struct admin_response *resp,
		      const struct store_session *s)
{
	const struct http1_header *h =
		http1_find_header(req->head->headers, req->head->n_headers, "X-CSRF-Token");
	char hash[65];

	if (strcmp(req->method, "GET") == 0)
		return 0;
	if (h != NULL)
		admin_auth_hash_hex(h->value, h->value_len, hash);
	if (h == NULL || strlen(s->csrf_hash) != 64 || sodium_memcmp(hash, s->csrf_hash, 64) != 0) {
		admin_respond_error(resp, 403, "csrf_failed", NULL,
				    "The X-CSRF-Token header is %s; send the csrf_token that "
				    "signing in returned (GET /api/v1/session shows it again).",
				    h ? "wrong" : "missing");
		return -1;
	}
	return 0;
}

static int check_session(struct admin_request *req, struct admin_response *resp,
			 const unsigned char id[32])
{
	struct store *st = req->ctx->inst->store;
	struct store_session s;
	struct error err;
	char hash[65];
	long long now = (long long)time(NULL);
	int rc = -1;

	admin_auth_hash_hex(id, 32, hash);
	if (store_session_get(st, hash, &s, &err) != 0)
		return unauthorized(resp, "Your session has ended (signed out or expired); sign "
					  "in again.");
	if (now - s.last_seen >= ADMIN_SESSION_IDLE_S ||
	    now - s.created_at >= ADMIN_SESSION_MAX_S) {
		store_session_delete(st, hash, NULL);
		unauthorized(resp, "Your session expired; sign in again.");
	} else if (check_csrf(req, resp, &s) == 0) {
		if (s.last_seen != now)
			store_session_touch(st, hash, now, NULL);
		memcpy(req->session_id, id, 32);
		set_actor(req, s.user, ADMIN_AUTH_SESSION);
		rc = 0;
	}
	store_session_free(&s);
	return rc;
}

int admin_auth_check(struct admin_request *req, struct admin_response *resp)
{
	const struct http1_header *authz =
		http1_find_header(req->head->headers, req->head->n_headers, "Authorization");
	unsigned char id[32];
	int rc;

	if (authz != NULL)
		return check_token(req, resp, authz);
	if (!find_session_cookie(req->head, id))
		return unauthorized(resp, "Sign in first (POST /api/v1/session), or send "
					  "\"Authorization: Bearer <token>\".");
	rc = check_session(req, resp, id);
	secret_wipe(id, sizeof(id));
	return rc;
}

void admin_auth_purge(struct admin_server *srv)
{
	long long now = (long long)time(NULL);
	struct error err;

	if (store_session_purge(srv->ctx->inst->store, now - ADMIN_SESSION_IDLE_S,
				now - ADMIN_SESSION_MAX_S, &err) != 0)
		log_warn("admin console: cannot purge expired sessions: %s", err.message);
}

/* ---- signing in and out */

static void respond_body_error(struct admin_response *resp, const struct json_body_error *e)
{
	admin_respond_fail(resp, &e->err, e->field);
}

/* 0 when user exists and pw is its password. Unknown users cost the same
 * time (a verification against a dummy hash). *exists tells which. */
static int verify_password(struct admin_request *req, const char *user, const char *pw,
			   int *exists)
{
	struct admin_server *srv = req->srv;
	struct store_user u;
	int rc = -1;

	*exists = strlen(user) <= USER_NAME_MAX &&
		  store_user_get(req->ctx->inst->store, user, &u, NULL) == 0;
	if (*exists) {
		rc = password_verify(u.password_hash, pw);
		store_user_free(&u);
		return rc;
	}
	if (srv->dummy_hash[0] == '\0' &&
	    password_hash("postern: no such user", srv->dummy_hash) != 0)
		return -1;
	password_verify(srv->dummy_hash, pw);
	return -1;
}

static void start_session(struct admin_request *req, struct admin_response *resp,
			  const char *user)
{
	unsigned char id[32];
	char id_hex[65], id_hash[65], csrf[65], csrf_hash[65];
	long long now = (long long)time(NULL);
	struct store_session s = { id_hash, (char *)user, csrf_hash, now, now };
	struct error err;

	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(id_hex, sizeof(id_hex), id, sizeof(id));
	admin_auth_hash_hex(id, sizeof(id), id_hash);
	csrf_for(id, csrf);
	admin_auth_hash_hex(csrf, 64, csrf_hash);
	set_actor(req, user, ADMIN_AUTH_SESSION);
	if (store_session_create(req->ctx->inst->store, &s, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
	} else {
		store_audit_add(req->ctx->inst->store, &req->actor, "session.create", "session",
				"signed in", NULL);
		admin_header_add(resp, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict%s",
				 ADMIN_SESSION_COOKIE, id_hex, req->tls ? "; Secure" : "");
		admin_respond_json(resp, 200, json_pack("{s:s, s:s}", "user", user, "csrf_token",
							csrf));
	}
	secret_wipe(id, sizeof(id));
	secret_wipe(id_hex, sizeof(id_hex));
	secret_wipe(csrf, sizeof(csrf));
}

static void login_failed(struct admin_request *req, struct admin_response *resp,
			 const char *ip_key, const char *user_key, const char *user, int exists)
{
	struct admin_throttle *t = req->srv->throttle;
	long long now = mono_s(), lock_ip, lock_user;
	struct store_actor who = { user, req->peer };

	lock_ip = throttle_fail(t, ip_key, now);
	lock_user = throttle_fail(t, user_key, now);
	if (exists)
		store_audit_add(req->ctx->inst->store, &who, "session.fail", "session",
				lock_user ? "sign-in failed; sign-in locked" : "sign-in failed",
				NULL);
	if (lock_ip || lock_user)
		locked_out(resp, lock_ip > lock_user ? lock_ip : lock_user);
	else
		admin_respond_error(resp, 401, "invalid_credentials", NULL,
				    "The user name or password is wrong.");
}

void admin_api_login(struct admin_request *req, struct admin_response *resp)
{
	static const struct json_body_field fields[] = {
		{ "username", JSON_BODY_STRING, 1 },
		{ "password", JSON_BODY_STRING, 1 },
	};
	struct admin_throttle *t = req->srv->throttle;
	struct json_body_error e;
	json_t *root = json_body_object(req->body, req->body_len, fields, 2, &e);
	char ip_key[96], user_key[96];
	const char *user, *pw;
	long long now = mono_s(), locked;
	int before, exists;

	if (root == NULL) {
		respond_body_error(resp, &e);
		return;
	}
	user = json_body_string(root, "username");
	pw = json_body_string(root, "password");
	throttle_key(ip_key, sizeof(ip_key), "ip", req->peer);
	throttle_key(user_key, sizeof(user_key), "user", user);
	locked = throttle_locked(t, ip_key, now);
	if (throttle_locked(t, user_key, now) > locked)
		locked = throttle_locked(t, user_key, now);
	if (locked > 0) {
		locked_out(resp, locked);
		json_body_free(root);
		return;
	}
	before = throttle_failures(t, ip_key, now);
	if (throttle_failures(t, user_key, now) > before)
		before = throttle_failures(t, user_key, now);
	/* every answer waits once failures pile up, so a client cannot tell
	 * success early by giving up on slow answers */
	resp->delay_ms = delay_for(before);
	if (verify_password(req, user, pw, &exists) == 0) {
		throttle_reset(t, ip_key, now);
		throttle_reset(t, user_key, now);
		start_session(req, resp, user);
	} else {
		login_failed(req, resp, ip_key, user_key, user, exists);
	}
	json_body_free(root);
}

void admin_api_logout(struct admin_request *req, struct admin_response *resp)
{
	char hash[65];
	struct error err;

	if (req->auth != ADMIN_AUTH_SESSION) {
		admin_respond_error(resp, 400, "no_session", NULL,
				    "An API token has no session to end; revoke the token "
				    "instead.");
		return;
	}
	admin_auth_hash_hex(req->session_id, sizeof(req->session_id), hash);
	if (store_session_delete(req->ctx->inst->store, hash, &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
		return;
	}
	store_audit_add(req->ctx->inst->store, &req->actor, "session.delete", "session",
			"signed out", NULL);
	admin_header_add(resp, "Set-Cookie: %s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
			 ADMIN_SESSION_COOKIE, req->tls ? "; Secure" : "");
	admin_respond_data(resp, 204, NULL, NULL, 0);
}

void admin_api_session(struct admin_request *req, struct admin_response *resp)
{
	char csrf[65];
	json_t *o = json_pack("{s:s, s:s}", "user", req->user, "auth",
			      req->auth == ADMIN_AUTH_SESSION ? "session" : "token");

	if (o != NULL && req->auth == ADMIN_AUTH_SESSION) {
		csrf_for(req->session_id, csrf);
		json_object_set_new(o, "csrf_token", json_string(csrf));
		json_object_set_new(o, "idle_timeout_s", json_integer(ADMIN_SESSION_IDLE_S));
		secret_wipe(csrf, sizeof(csrf));
	}
	admin_respond_json(resp, 200, o);
}

/* ---- changing one's password */

static void change_password(struct admin_request *req, struct admin_response *resp,
			    const char *current, const char *next)
{
	struct admin_throttle *t = req->srv->throttle;
	char key[96], hash[PASSWORD_HASH_MAX];
	long long now = mono_s(), locked;
	struct error err;
	int exists;

	throttle_key(key, sizeof(key), "user", req->user);
	if ((locked = throttle_locked(t, key, now)) > 0) {
		locked_out(resp, locked);
	} else if (verify_password(req, req->user, current, &exists) != 0) {
		if ((locked = throttle_fail(t, key, now)) > 0)
			locked_out(resp, locked);
		else
			admin_respond_error(resp, 400, "wrong_password", "current_password",
					    "The current password is wrong.");
	} else if (strlen(next) < PASSWORD_MIN || strlen(next) > PASSWORD_MAX) {
		admin_respond_error(resp, 400, "weak_password", "new_password",
				    "The new password must have 8 to 1024 characters.");
	} else if (password_hash(next, hash) != 0) {
		admin_respond_error(resp, 500, "internal", NULL, "Cannot hash the password.");
	} else if (store_user_set_password(req->ctx->inst->store, req->user, hash, &req->actor,
					   &err) != 0) {
		admin_respond_fail(resp, &err, NULL);
	} else {
		admin_respond_data(resp, 204, NULL, NULL, 0);
	}
	secret_wipe(hash, sizeof(hash));
}

void admin_api_password(struct admin_request *req, struct admin_response *resp)
{
	static const struct json_body_field fields[] = {
		{ "current_password", JSON_BODY_STRING, 1 },
		{ "new_password", JSON_BODY_STRING, 1 },
	};
	struct json_body_error e;
	json_t *root = json_body_object(req->body, req->body_len, fields, 2, &e);

	if (root == NULL) {
		respond_body_error(resp, &e);
		return;
	}
	change_password(req, resp, json_body_string(root, "current_password"),
			json_body_string(root, "new_password"));
	json_body_free(root);
}
