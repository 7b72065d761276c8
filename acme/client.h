/* The ACME client (RFC 8555, HTTP-01) on the control thread: a scheduler
 * that finds the certificates to order or renew (and the application
 * domains that need one), a pre-flight check that the names reach this
 * gateway, and a non-blocking order state machine whose result is sealed,
 * stored and hot-swapped. Everything runs on the control thread's
 * event_base; nothing blocks on the network. */
#ifndef POSTERN_ACME_CLIENT_H
#define POSTERN_ACME_CLIENT_H

#include "common/error.h"
#include "gateway/control.h"
#include "gateway/instance.h"

struct event_base;
struct acme_client;

/* Start the client on base: it scans the database every few seconds.
 * ctl gets a rebuild request after every certificate installed. Returns
 * NULL with err (code "acme_config") when [acme] ca_bundle or resolver is
 * unusable. The caller frees it with acme_client_free before ctl. */
struct acme_client *acme_client_new(struct instance *inst, struct event_base *base,
                                    struct control *ctl, struct error *err);

/* Stop every order in flight (their challenge tokens are withdrawn) and
 * free. NULL allowed. */
void acme_client_free(struct acme_client *c);

/* Scan the database at the next loop turn instead of waiting for the
 * timer (after a change made through this process's own connection). */
void acme_client_kick(struct acme_client *c);

#endif
