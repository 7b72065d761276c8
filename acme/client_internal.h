/* Types shared by the ACME client's files: client.c (scheduler, account,
 * outcomes), order.c (the RFC 8555 state machine), preflight.c (does the
 * name reach this gateway?). Not for use outside acme/. */
#ifndef POSTERN_ACME_CLIENT_INTERNAL_H
#define POSTERN_ACME_CLIENT_INTERNAL_H

#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "acme/client.h"
#include "acme/https_client.h"
#include "acme/objects.h"
#include "acme/policy.h"
#include "gateway/store.h"

#define ACME_SCAN_MS           2000  /* how often the database is scanned */
#define ACME_AUTOCERT_EVERY    5     /* applications are checked every 5th scan */
#define ACME_ARI_RECHECK_S     21600 /* renewal information asked every 6 hours */
#define ACME_BAD_NONCE_RETRIES 10    /* badNonce replies retried per request */
#define ACME_POLL_FIRST_MS     200   /* polling: 200 ms doubling to 2 s */
#define ACME_POLL_MAX_MS       2000
#define ACME_POLL_LIMIT_S      300 /* give up polling one object after 5 minutes */
#define ACME_RETRY_AFTER_MAX_S 600 /* a Retry-After while polling is capped at this */

/* The steps of one order, each a request/response pair in order.c. */
enum acme_step {
	ACME_STEP_DIRECTORY,   /* GET the directory */
	ACME_STEP_NONCE,       /* HEAD newNonce */
	ACME_STEP_ACCOUNT,     /* newAccount with the jwk (skipped when the kid is known) */
	ACME_STEP_ORDER,       /* newOrder with every name */
	ACME_STEP_AUTHZ,       /* fetch each authorization, publish the HTTP-01 answers */
	ACME_STEP_CHALLENGE,   /* POST {} to each pending challenge */
	ACME_STEP_POLL_AUTHZ,  /* poll each authorization until it leaves pending */
	ACME_STEP_FINALIZE,    /* POST the CSR (fresh P-256 key) */
	ACME_STEP_POLL_ORDER,  /* poll the order until valid */
	ACME_STEP_CERTIFICATE, /* download the chain (POST-as-GET) */
	ACME_STEP_MAX
};

/* What the client remembers per certificate between attempts. */
struct acme_memo {
	long long id;
	unsigned failures;   /* consecutive failed orders: the backoff exponent */
	unsigned dns_checks; /* consecutive failed pre-flight checks */
	int preflight_ok;    /* the names reached this gateway: order next */
	time_t ari_next;     /* when to ask for renewal information again */
};

struct acme_job;
struct acme_preflight;
struct acme_ari;

struct acme_client {
	struct instance *inst;
	struct event_base *base;
	struct control *ctl;
	struct https_client *http;  /* to the ACME server (system resolver) */
	struct https_client *probe; /* pre-flight checks ([acme] resolver) */
	struct event *scan;
	struct event *kick;
	unsigned http_port; /* the HTTP listener's port, for probes */
	EVP_PKEY *account_key;
	char *kid;   /* account URL, NULL until registered */
	char *nonce; /* the latest Replay-Nonce, NULL when used */
	struct acme_directory dir;
	time_t dir_fetched;
	struct acme_job *job; /* one order at a time */
	struct acme_preflight *preflight;
	struct acme_ari *ari; /* one renewal information request at a time */
	struct acme_rate rate;
	struct acme_memo *memos;
	size_t n_memos;
	time_t rate_logged; /* when the orders-per-hour limit was last logged */
	unsigned scans;
};

/* ---- client.c, called by order.c and preflight.c */

/* The memo of certificate id (created on first use; NULL when out of
 * memory). */
struct acme_memo *acme_client_memo(struct acme_client *c, long long id);

/* Persist the account (kid) after registration. 0 or -1 (logged). */
int acme_client_save_account(struct acme_client *c);

/* The order for job j ended with a certificate chain (PEM): install it.
 * Frees j. */
void acme_client_job_done(struct acme_client *c, struct acme_job *j, const char *chain_pem,
                          size_t len);

/* The order for job j failed with problem type and detail: record it on
 * the certificate and schedule the retry (backoff, at least retry_after
 * seconds when >= 0). Frees j. */
void acme_client_job_failed(struct acme_client *c, struct acme_job *j, const char *type,
                            const char *detail, long long retry_after);

/* The pre-flight check for certificate id ended: ok, or detail says what
 * to fix. Frees p. */
void acme_client_preflight_done(struct acme_client *c, struct acme_preflight *p, int ok,
                                const char *detail);

/* The renewal information check a ended: pick is the renewal time chosen
 * inside the server's window (0: none, keep the 1/3 rule), retry_after
 * the server's Retry-After in seconds (-1: none). Frees a. */
void acme_client_ari_done(struct acme_client *c, struct acme_ari *a, time_t pick,
                          long long retry_after);

/* ---- order.c: the job and its transport; steps.c: the steps */

struct acme_job_authz {
	char *url;
	char *name;          /* the identifier, once fetched */
	char *challenge_url; /* http-01; NULL when already valid */
	char *token;
	int published; /* the answer is in the challenge table */
	int done;      /* left pending (valid) */
};

struct acme_job {
	struct acme_client *c;
	long long cert_id;
	char **names; /* domain first, then the extra SANs */
	size_t n_names;
	enum acme_step step;
	struct event *timer; /* runs the current step's request */
	struct https_request *req;
	int posting; /* the request is a signed POST */
	char *post_url;
	char *post_payload; /* NULL: POST-as-GET */
	const char *post_accept;
	int post_jwk; /* sign with the jwk (newAccount) */
	unsigned bad_nonces;
	int reregistered; /* the account was registered again once */
	unsigned poll_ms;
	time_t poll_until;
	char *order_url;
	struct acme_order order;
	struct acme_job_authz *authz; /* one per authorization URL of the order */
	size_t n_authz;
	size_t cursor;      /* the authorization a step works on */
	EVP_PKEY *cert_key; /* the new certificate's key */
	char *replaces;     /* ARI id of the certificate renewed, or NULL */
	int replaces_sent;  /* newOrder carried "replaces" */
};

/* One step: send its request, handle its response. */
struct acme_step_ops {
	const char *name;
	void (*request)(struct acme_job *j);
	void (*response)(struct acme_job *j, const struct https_response *resp);
};

extern const struct acme_step_ops acme_steps[ACME_STEP_MAX];

/* Move to step (its request runs at the next loop turn; the poll backoff
 * restarts). */
void acme_job_go(struct acme_job *j, enum acme_step step);
/* Run the current step's request again later: Retry-After when resp has
 * one, else 200 ms doubling to 2 s; fails after ACME_POLL_LIMIT_S. what
 * names the object in the failure. */
void acme_job_poll_later(struct acme_job *j, const struct https_response *resp, const char *what);
/* End the order: withdraw its tokens, report type and detail; j is freed,
 * so the caller returns at once. */
void acme_job_fail(struct acme_job *j, const char *type, long long retry_after, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
/* acme_job_fail with the problem document of resp (or its HTTP status). */
void acme_job_fail_response(struct acme_job *j, const struct https_response *resp);
/* A signed POST to url (payload NULL: POST-as-GET; accept NULL: any),
 * signed with the jwk when use_jwk, else the kid; nonces and badNonce
 * retries handled. The response goes to the current step. */
void acme_job_post(struct acme_job *j, const char *url, const char *payload, const char *accept,
                   int use_jwk);
/* acme_job_post with a JSON payload (its reference is taken). */
void acme_job_post_json(struct acme_job *j, const char *url, json_t *payload, int use_jwk);
/* Drop the order in progress (its published answers withdrawn), before a
 * new one. */
void acme_job_forget_order(struct acme_job *j);
/* An unsigned GET or HEAD (directory, newNonce). */
void acme_job_get(struct acme_job *j, const char *method, const char *url);

/* A new order for rec's names (domain plus extra SANs). NULL when out of
 * memory or the names are unreadable. */
struct acme_job *acme_job_new(struct acme_client *c, const struct store_cert *rec);
/* Run it: the outcome arrives through acme_client_job_done or _failed. */
void acme_job_start(struct acme_job *j);
/* The certificate the job orders for. */
long long acme_job_cert_id(const struct acme_job *j);
/* Stop (withdraw published tokens, cancel the request) and free. */
void acme_job_free(struct acme_job *j);

/* The names of a record: domain first, then extra_sans. Returns the count
 * and *names (malloc'd strings in a malloc'd array; free with
 * acme_names_free), or 0 when unreadable. */
size_t acme_record_names(const struct store_cert *rec, char ***names);
void acme_names_free(char **names, size_t n);

/* ---- preflight.c */

/* A check that every name resolves (through [acme] resolver) and that
 * http://NAME:PORT/.well-known/acme-challenge/<probe> comes back to this
 * gateway; its probe token is published at once. NULL when out of memory.
 * names are copied. */
struct acme_preflight *acme_preflight_start(struct acme_client *c, long long cert_id, char **names,
                                            size_t n_names);
/* Run it (keep the handle first: the outcome, through
 * acme_client_preflight_done, may come before this returns). */
void acme_preflight_run(struct acme_preflight *p);
long long acme_preflight_cert_id(const struct acme_preflight *p);
void acme_preflight_free(struct acme_preflight *p);

/* ---- ari.c */

/* A renewal information check for rec's certificate; NULL when it has no
 * ARI identifier (no authority key identifier) or memory is short. */
struct acme_ari *acme_ari_start(struct acme_client *c, const struct store_cert *rec);
/* Run it (keep the handle first: the outcome may come before this
 * returns). */
void acme_ari_run(struct acme_ari *a);
long long acme_ari_cert_id(const struct acme_ari *a);
void acme_ari_free(struct acme_ari *a);

#endif
