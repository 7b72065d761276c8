/* The control thread's serving duties: watch the database (whoever
 * changed it: the CLI, the console, ACME), build the SNI cache and the
 * route table, and publish them to the workers as one snapshot. */
#ifndef POSTERN_GATEWAY_CONTROL_H
#define POSTERN_GATEWAY_CONTROL_H

#include "common/error.h"
#include "gateway/instance.h"
#include "gateway/snapshot.h"

struct event_base;
struct control;

/* Create the control state on base (the control thread's loop) and start
 * the database watch (every 250 ms). Does not build yet. NULL with err. */
struct control *control_new(struct instance *inst, struct event_base *base,
			    const struct gateway_settings *settings, struct error *err);
void control_free(struct control *ctl);

/* Build a snapshot from the database now and publish it. Returns 0, or -1
 * with err (the previous snapshot stays). */
int control_rebuild(struct control *ctl, struct error *err);

/* Ask for a rebuild at the next watch tick (changes made through this
 * process's own database connection do not move PRAGMA data_version). */
void control_request_rebuild(struct control *ctl);

/* New settings (SIGHUP); published with the next rebuild, which this
 * requests. */
void control_set_settings(struct control *ctl, const struct gateway_settings *settings);

/* The queue the workers put firewall events on: drained to the database
 * at every watch tick (and at control_free). Events older than
 * [storage] event_retention are removed hourly. */
struct event_queue;
void control_set_event_queue(struct control *ctl, struct event_queue *q);

#endif
