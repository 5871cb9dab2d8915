/*
 * Accepting calls (runs on a queue thread): every new call first gets its
 * RECV_CLOSE_ON_SERVER batch, so a cancellation or an expired deadline is
 * always seen. Then it is either answered at once (UNIMPLEMENTED for an
 * unrouted method, RESOURCE_EXHAUSTED past max_calls, UNAVAILABLE while
 * shutting down) or handed to a new worker thread that reads the request,
 * runs the handler and ends the call. Finished workers are joined later by
 * the queue threads and by shutdown.
 */
#include <grpc/support/alloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_codec.h"
#include "rpc/rpc_server_internal.h"
#include "base/util.h"

/* How long a call answered without a handler may take to close. */
#define REJECT_CLOSE_MS 5000

struct isol8_rpc_call *isol8_rpc_call_new(struct isol8_rpc_server *srv, grpc_completion_queue *queue)
{
	struct isol8_rpc_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->srv = srv;
	c->queue = queue;
	c->deadline_ms = INT64_MAX;
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->metadata);
	pthread_mutex_init(&c->close_lock, NULL);
	return c;
}

void isol8_rpc_call_free(struct isol8_rpc_call *c)
{
	if (c == NULL)
		return;
	if (c->request != NULL)
		protobuf_c_message_free_unpacked(c->request, NULL);
	grpc_metadata_array_destroy(&c->metadata);
	grpc_call_details_destroy(&c->details);
	if (c->call != NULL)
		grpc_call_unref(c->call);
	isol8_rpc_queue_destroy(c->cq);
	pthread_mutex_destroy(&c->close_lock);
	free(c);
}

void isol8_rpc_request_post(struct isol8_rpc_call *c)
{
	struct isol8_rpc_server *srv = c->srv;
	grpc_call_error e = GRPC_CALL_ERROR;

	/* under the lock: the shutdown destroys the server under it, and a
	 * queue thread may still be about to post when it does */
	pthread_mutex_lock(&srv->lock);
	if (srv->server != NULL)
		e = grpc_server_request_call(srv->server, &c->call, &c->details, &c->metadata, c->cq, c->queue, c);
	pthread_mutex_unlock(&srv->lock);
	if (e != GRPC_CALL_OK)
		isol8_rpc_call_free(c);
}

static const struct isol8_rpc_route *route_find(struct isol8_rpc_server *srv, grpc_slice path)
{
	for (size_t i = 0; i < srv->n_routes; i++)
		if (grpc_slice_str_cmp(path, srv->routes[i].method->path) == 0)
			return &srv->routes[i];
	return NULL;
}

static bool peer_is_local(grpc_call *call)
{
	char *peer = grpc_call_get_peer(call);
	bool local = peer != NULL && (strncmp(peer, "unix:", 5) == 0 || strncmp(peer, "unix-abstract:", 14) == 0);

	gpr_free(peer);
	return local;
}

/* gRPC's deadline (any clock) as isol8_now_ms() time. */
static int64_t deadline_to_ms(gpr_timespec deadline)
{
	gpr_timespec left;

	if (deadline.tv_sec == INT64_MAX)
		return INT64_MAX;
	left = gpr_time_sub(gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC), gpr_now(GPR_CLOCK_MONOTONIC));
	return isol8_now_ms() + left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

/* Answers the call without a handler and frees it. */
static void reject(struct isol8_rpc_call *c, grpc_status_code status, const char *message)
{
	isol8_rpc_call_send_status(c, status, message);
	isol8_rpc_call_wait_close(c);
	isol8_rpc_call_free(c);
}

/* Reads and unpacks the single request of a method without client streaming. */
static int request_read(struct isol8_rpc_call *c, struct isol8_error *err)
{
	grpc_byte_buffer *bb = NULL;
	grpc_op op;
	int ret;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &bb;
	if (!isol8_rpc_call_batch(c, &op, 1))
		return isol8_error_set(err, ISOL8_E_CANCELLED, "the client went away before its request");
	if (bb == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "the request message is missing");
	ret = isol8_rpc_unpack_request(bb, c->route->method->input, &c->request, err);
	grpc_byte_buffer_destroy(bb);
	return ret;
}

static void call_run(struct isol8_rpc_call *c)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (!c->route->method->client_streaming && request_read(c, &err) < 0) {
		isol8_rpc_call_finish(c, err.code, err.message);
		return;
	}
	c->route->invoke(c, c->route->fn, c->route->userdata);
	if (!c->finished)
		isol8_rpc_call_finish(c, ISOL8_E_INTERNAL, "the handler ended without a status");
}

static void *worker_main(void *arg)
{
	struct isol8_rpc_call *c = arg;
	struct isol8_rpc_server *srv = c->srv;
	struct isol8_rpc_worker *worker = c->worker;
	bool reserved = c->route->reserved;

	call_run(c);
	isol8_rpc_call_wait_close(c);
	isol8_rpc_call_free(c);

	pthread_mutex_lock(&srv->lock);
	srv->active_calls--;
	if (reserved)
		srv->active_reserved--;
	worker->next = srv->finished;
	srv->finished = worker;
	pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

void isol8_rpc_workers_join(struct isol8_rpc_server *srv)
{
	struct isol8_rpc_worker *list;

	pthread_mutex_lock(&srv->lock);
	list = srv->finished;
	srv->finished = NULL;
	pthread_mutex_unlock(&srv->lock);
	while (list != NULL) {
		struct isol8_rpc_worker *next = list->next;

		pthread_join(list->thread, NULL);
		free(list);
		list = next;
	}
}

/* Starts a worker for c; false (c untouched) when over the limit or stopping. */
static bool worker_start(struct isol8_rpc_call *c, grpc_status_code *status, const char **message)
{
	struct isol8_rpc_server *srv = c->srv;
	bool reserved = c->route->reserved; /* c is the worker's once it runs */
	bool started = false;

	pthread_mutex_lock(&srv->lock);
	if (srv->stopping) {
		*status = GRPC_STATUS_UNAVAILABLE;
		*message = "the server is shutting down";
	} else if (reserved ? srv->active_reserved >= srv->cfg.reserved_calls
			    : srv->active_calls - srv->active_reserved >= srv->cfg.max_calls) {
		*status = GRPC_STATUS_RESOURCE_EXHAUSTED;
		*message = "too many calls in flight; try again later";
	} else {
		*status = GRPC_STATUS_RESOURCE_EXHAUSTED;
		*message = "cannot start a handler thread";
		c->worker = calloc(1, sizeof(*c->worker));
		started = c->worker != NULL && pthread_create(&c->worker->thread, NULL, worker_main, c) == 0;
		if (started) {
			srv->active_calls++;
			srv->active_reserved += reserved;
		} else {
			free(ISOL8_TAKE(c->worker));
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return started;
}

void isol8_rpc_accept(struct isol8_rpc_call *c)
{
	struct isol8_rpc_server *srv = c->srv;
	grpc_status_code status;
	const char *message;
	char unknown[256];

	if (!isol8_rpc_call_start_close(c)) {
		grpc_call_cancel(c->call, NULL);
		isol8_rpc_call_free(c);
		return;
	}
	c->is_local = peer_is_local(c->call);
	c->deadline_ms = deadline_to_ms(c->details.deadline);
	c->route = route_find(srv, c->details.method);
	if (c->route == NULL) {
		size_t len = GRPC_SLICE_LENGTH(c->details.method);

		snprintf(unknown, sizeof(unknown), "unknown method %.*s", len > 200 ? 200 : (int)len,
			 (const char *)GRPC_SLICE_START_PTR(c->details.method));
		reject(c, GRPC_STATUS_UNIMPLEMENTED, unknown);
		return;
	}
	/* From here on c belongs to its worker. */
	if (!worker_start(c, &status, &message)) {
		reject(c, status, message);
		return;
	}
	isol8_rpc_workers_join(srv);
}
