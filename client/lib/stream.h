/*
 * The stream handle shared by stream.c (opening, reading, cancelling) and
 * interactive.c (the writes of an interactive stream).
 *
 * Threads: one thread reads (isol8_stream_next) while another writes;
 * writes are serialised by write_lock, so two writers cannot interleave a
 * message. isol8_stream_cancel only sets `cancelled` and cancels the gRPC
 * call, both safe from any thread at any time before the free.
 */
#ifndef ISOL8_CLIENT_STREAM_H
#define ISOL8_CLIENT_STREAM_H

#include <pthread.h>
#include <stdatomic.h>

#include "lib/client.h"
#include "lib/event.h"

struct isol8_stream {
	struct isol8_rpc_stream *rpc;
	bool interactive;
	atomic_bool cancelled;
	atomic_bool over; /* set by the reader once the last event went out; writers then refuse */
	Isol8__V1__ExecuteEvent *current;
	struct isol8_event_store store;
	pthread_mutex_t write_lock;
};

/* A new stream (not started) for interactive or not. */
int isol8_stream_alloc(struct isol8_stream **out, bool interactive, struct isol8_error *err);

#endif
