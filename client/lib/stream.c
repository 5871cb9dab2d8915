/* Streaming executions: ExecuteStream and ExecuteInteractive read event by
 * event, and isol8_execute_stream's callback loop. See stream.h and, for
 * how events map, event.h. */
#include "lib/stream.h"

#include <stdlib.h>

#include "isol8/v1/isol8.rpc.h"
#include "lib/request.h"

int isol8_stream_alloc(struct isol8_stream **out, bool interactive, struct isol8_error *err)
{
	struct isol8_stream *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (st == NULL)
		return isol8_client_nomem(err, "starting a stream");
	st->interactive = interactive;
	atomic_init(&st->cancelled, false);
	pthread_mutex_init(&st->write_lock, NULL);
	*out = st;
	return 0;
}

static int check_open(void *out, struct isol8_client *c, struct isol8_error *err)
{
	if (out == NULL || c == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", out == NULL ? "out" : "client");
	return 0;
}

int isol8_stream_open(struct isol8_stream **out, struct isol8_client *c, const struct isol8_request *req,
		      struct isol8_error *err)
{
	struct isol8_stream *st = NULL;
	struct isol8_request_proto p;
	int ret = check_open(out, c, err);

	if (ret < 0)
		return ret;
	*out = NULL;
	ret = isol8_request_to_proto(&p, req, err);
	if (ret < 0)
		return ret;
	ret = isol8_stream_alloc(&st, false, err);
	if (ret == 0)
		ret = isol8__v1__isol8__execute_stream__start(&st->rpc, c->channel, &p.msg,
							      isol8_client_execute_deadline(req->timeout_ms), err);
	isol8_request_proto_release(&p);
	if (ret < 0) {
		isol8_stream_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

static int cancelled_error(struct isol8_error *err)
{
	return isol8_error_set(err, ISOL8_E_CANCELLED, "the execution was cancelled");
}

/* The next message as an event: 1, or 0 to read on (a kind unknown here). */
static int next_message(struct isol8_stream *st, struct isol8_event *ev, struct isol8_error *err)
{
	struct isol8_error status = ISOL8_ERROR_INIT;
	int ret;

	if (st->current != NULL)
		protobuf_c_message_free_unpacked(&st->current->base, NULL);
	st->current = NULL;
	ret = st->interactive ? isol8__v1__isol8__execute_interactive__read(st->rpc, &st->current, &status)
			      : isol8__v1__isol8__execute_stream__read(st->rpc, &st->current, &status);
	if (atomic_load(&st->cancelled))
		return cancelled_error(err);
	if (ret == 0)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "isol8d ended the stream without a result");
	if (ret < 0) {
		st->over = true; /* the call's failure is its last event */
		return isol8_event_from_status(&st->store, &status, ev, err);
	}
	ret = isol8_event_from_proto(&st->store, st->current, ev, err);
	if (ret == 1 && ev->type == ISOL8_EVENT_EXIT)
		st->over = true;
	return ret;
}

int isol8_stream_next(struct isol8_stream *st, struct isol8_event *ev, struct isol8_error *err)
{
	int ret;

	if (st == NULL || ev == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", st == NULL ? "stream" : "ev");
	*ev = (struct isol8_event){0};
	if (st->over)
		return 0;
	do {
		if (atomic_load(&st->cancelled))
			return cancelled_error(err);
		ret = next_message(st, ev, err);
	} while (ret == 0);
	if (ret < 0)
		st->over = true;
	return ret;
}

void isol8_stream_cancel(struct isol8_stream *st)
{
	if (st == NULL)
		return;
	atomic_store(&st->cancelled, true);
	isol8_rpc_stream_cancel(st->rpc);
}

void isol8_stream_free(struct isol8_stream *st)
{
	if (st == NULL)
		return;
	isol8_rpc_stream_free(st->rpc); /* cancels a call still open */
	if (st->current != NULL)
		protobuf_c_message_free_unpacked(&st->current->base, NULL);
	isol8_event_store_release(&st->store);
	pthread_mutex_destroy(&st->write_lock);
	free(st);
}

int isol8_execute_stream(struct isol8_client *c, const struct isol8_request *req, isol8_event_fn on_event,
			 void *userdata, struct isol8_error *err)
{
	struct isol8_stream *st = NULL;
	struct isol8_event ev;
	int ret;

	if (on_event == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "on_event is NULL");
	ret = isol8_stream_open(&st, c, req, err);
	while (ret == 0 && (ret = isol8_stream_next(st, &ev, err)) == 1) {
		if (on_event(&ev, userdata) != 0) {
			ret = cancelled_error(err);
			break;
		}
		if (ev.type == ISOL8_EVENT_ERROR && ev.code != 0)
			ret = isol8_error_set(err, ev.code, "%s", ev.data);
		else
			ret = 0;
	}
	isol8_stream_free(st);
	return ret;
}
