/*
 * isol8.v1.ExecuteEvent -> struct isol8_event, pure (no RPC). What an event
 * points at lives in a struct isol8_event_store until the next event.
 *
 * isol8d sends output events, then at most one `error` event saying what
 * ended the run early (the original's words: "EXECUTION TIMED OUT"), then
 * one `exit` with the result, then an OK status. That `error` becomes an
 * ISOL8_EVENT_ERROR with code 0, followed by the exit. A call that fails
 * ends with a non-OK status instead, and no exit: that becomes the last
 * event, an ISOL8_EVENT_ERROR with the status's code and message.
 */
#ifndef ISOL8_CLIENT_EVENT_H
#define ISOL8_CLIENT_EVENT_H

#include "isol8/isol8.h"
#include "isol8/v1/isol8.pb-c.h"

struct isol8_event_store {
	char *data;   /* the last event's bytes and a NUL */
	size_t cap;
	struct isol8_result *result; /* the exit's */
};

/* Fills *ev from msg: 1 with an event, 0 for an event of a kind this
 * library does not know (a newer isol8d's: skip it), ISOL8_E_NOMEM. */
int isol8_event_from_proto(struct isol8_event_store *store, const Isol8__V1__ExecuteEvent *msg,
			   struct isol8_event *ev, struct isol8_error *err);

/* The last event for a call that ended with a non-OK status (status: its
 * code and message). */
int isol8_event_from_status(struct isol8_event_store *store, const struct isol8_error *status,
			    struct isol8_event *ev, struct isol8_error *err);

void isol8_event_store_release(struct isol8_event_store *store);

#endif
