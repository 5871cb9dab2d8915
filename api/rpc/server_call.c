/*
 * What a handler does with its call (runs on the call's worker thread):
 * every operation is one batch on the call's private pluck queue, waited for
 * by its tag: one for reads, one for the rest, so that one thread may read
 * while another writes. The close batch (RECV_CLOSE_ON_SERVER, started when the call
 * was accepted) is plucked without waiting by isol8_rpc_call_cancelled and
 * with waiting when the call ends.
 */
#include <grpc/byte_buffer.h>
#include <stdio.h>
#include <string.h>

#include "rpc/rpc_codec.h"
#include "rpc/rpc_server_internal.h"
#include "base/util.h"

/* How long an ended call may take to close before it is cancelled. */
#define CLOSE_WAIT_MS 5000
/* How long a failed operation waits to learn whether the call was cancelled. */
#define CANCEL_SETTLE_MS 250

/* Runs one batch under tag and waits for it; true on success. Reads have
 * a tag of their own, so a read and a write may be in flight at once. */
/* Runs a batch and waits for it, at most timeout_ms when positive: past
 * it the call is cancelled with status (and detail) and *timed_out set. */
static bool call_batch_until(struct isol8_rpc_call *c, const grpc_op *ops, size_t n, void *tag, int timeout_ms,
			     const char *detail, bool *timed_out)
{
	grpc_event ev;

	if (grpc_call_start_batch(c->call, ops, n, tag, NULL) != GRPC_CALL_OK)
		return false;
	ev = grpc_completion_queue_pluck(c->cq, tag,
					 timeout_ms > 0 ? isol8_rpc_deadline(timeout_ms) : gpr_inf_future(GPR_CLOCK_REALTIME),
					 NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		*timed_out = true;
		grpc_call_cancel_with_status(c->call, GRPC_STATUS_DEADLINE_EXCEEDED, detail, NULL);
		grpc_completion_queue_pluck(c->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		return false;
	}
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static bool call_batch_tagged(struct isol8_rpc_call *c, const grpc_op *ops, size_t n, void *tag)
{
	bool timed_out = false;

	return call_batch_until(c, ops, n, tag, 0, NULL, &timed_out);
}

bool isol8_rpc_call_batch(struct isol8_rpc_call *c, const grpc_op *ops, size_t n)
{
	return call_batch_tagged(c, ops, n, &c->tag_op);
}

void isol8_rpc_call_cancel(struct isol8_rpc_call *call)
{
	grpc_call_cancel(call->call, NULL);
}

bool isol8_rpc_call_start_close(struct isol8_rpc_call *c)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->cancelled;
	c->close_started = grpc_call_start_batch(c->call, &op, 1, &c->tag_close, NULL) == GRPC_CALL_OK;
	return c->close_started;
}

/* Plucks the close batch if it completed by `deadline`; call with close_lock held. */
static void close_pluck(struct isol8_rpc_call *c, gpr_timespec deadline)
{
	grpc_event ev;

	if (!c->close_started || c->closed)
		return;
	ev = grpc_completion_queue_pluck(c->cq, &c->tag_close, deadline, NULL);
	if (ev.type == GRPC_OP_COMPLETE)
		c->closed = true;
}

void isol8_rpc_call_wait_close(struct isol8_rpc_call *c)
{
	pthread_mutex_lock(&c->close_lock);
	close_pluck(c, isol8_rpc_deadline(CLOSE_WAIT_MS));
	if (c->close_started && !c->closed) {
		grpc_call_cancel(c->call, NULL);
		close_pluck(c, gpr_inf_future(GPR_CLOCK_REALTIME));
	}
	pthread_mutex_unlock(&c->close_lock);
}

/* Whether the call was cancelled (its deadline, the client, a broken
 * connection), waiting for the close batch until `until`. */
static bool cancelled_by(struct isol8_rpc_call *c, gpr_timespec until)
{
	bool cancelled;

	if (isol8_now_ms() >= c->deadline_ms)
		return true;
	pthread_mutex_lock(&c->close_lock);
	close_pluck(c, until);
	cancelled = c->closed && c->cancelled != 0;
	pthread_mutex_unlock(&c->close_lock);
	return cancelled;
}

bool isol8_rpc_call_cancelled(struct isol8_rpc_call *c)
{
	return cancelled_by(c, gpr_inf_past(GPR_CLOCK_MONOTONIC));
}

/* Adds SEND_INITIAL_METADATA to ops once per call; returns ops used. */
static size_t initial_metadata_op(struct isol8_rpc_call *c, grpc_op *op)
{
	if (c->initial_metadata_sent)
		return 0;
	c->initial_metadata_sent = true;
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	return 1;
}

void isol8_rpc_call_send_status(struct isol8_rpc_call *c, int grpc_status, const char *message)
{
	grpc_slice details = grpc_slice_from_copied_string(message ? message : "");
	grpc_op ops[2];
	size_t n;

	memset(ops, 0, sizeof(ops));
	n = initial_metadata_op(c, &ops[0]);
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = (grpc_status_code)grpc_status;
	ops[n].data.send_status_from_server.status_details = &details;
	isol8_rpc_call_batch(c, ops, n + 1);
	grpc_slice_unref(details);
	c->finished = true;
}

void isol8_rpc_call_finish(struct isol8_rpc_call *call, int isol8_code, const char *message)
{
	int code = isol8_code < 0 ? -isol8_code : isol8_code;

	if (call->finished)
		return;
	isol8_rpc_call_send_status(call, code == ISOL8_OK ? GRPC_STATUS_OK : isol8_error_grpc_status(code),
				   message);
}

/* The error for an operation that failed: the call was cancelled or broke.
 * A client that cancels fails a pending read or write at once, and its close
 * batch (which says `cancelled`) often completes only just after: it gets
 * CANCEL_SETTLE_MS, or a cancel would pass for a broken call (ISOL8_E_IO,
 * which ends a persistent session as broken). */
static int call_broken(struct isol8_rpc_call *c, const char *what, struct isol8_error *err)
{
	if (cancelled_by(c, isol8_rpc_deadline(CANCEL_SETTLE_MS)))
		return isol8_error_set(err, ISOL8_E_CANCELLED, "%s: the call was cancelled or timed out", what);
	return isol8_error_set(err, ISOL8_E_IO, "%s: the call is broken", what);
}

int isol8_rpc_call_write(struct isol8_rpc_call *call, const ProtobufCMessage *msg, struct isol8_error *err)
{
	const struct isol8_rpc_method *method = call->route->method;
	grpc_byte_buffer *bb;
	grpc_op ops[2];
	size_t n;
	bool ok;
	int ret;

	if (call->finished)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "write after the call finished");
	if (!method->server_streaming && call->writes > 0)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "%s sends a single reply", method->path);
	if (msg == NULL || msg->descriptor != method->output)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "%s replies with %s", method->path,
				       method->output->name);
	ret = isol8_rpc_pack(msg, &bb, err);
	if (ret < 0)
		return ret;
	memset(ops, 0, sizeof(ops));
	n = initial_metadata_op(call, &ops[0]);
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n].data.send_message.send_message = bb;
	ok = isol8_rpc_call_batch(call, ops, n + 1);
	grpc_byte_buffer_destroy(bb);
	if (!ok)
		return call_broken(call, "write", err);
	call->writes++;
	return 0;
}

int isol8_rpc_call_read(struct isol8_rpc_call *call, ProtobufCMessage **out, struct isol8_error *err)
{
	return isol8_rpc_call_read_within(call, out, 0, NULL, err);
}

int isol8_rpc_call_read_within(struct isol8_rpc_call *call, ProtobufCMessage **out, int idle_ms, const char *what,
			       struct isol8_error *err)
{
	grpc_byte_buffer *bb = NULL;
	bool timed_out = false;
	char detail[128];
	grpc_op op;
	int ret;

	*out = NULL;
	if (!call->route->method->client_streaming)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "%s has no request stream",
				       call->route->method->path);
	if (call->read_done)
		return 0;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &bb;
	if (idle_ms > 0)
		snprintf(detail, sizeof(detail), "no %s came for %d s", what ? what : "message", idle_ms / 1000);
	if (!call_batch_until(call, &op, 1, &call->tag_read, idle_ms, detail, &timed_out)) {
		if (timed_out) {
			call->read_done = true;
			return isol8_error_set(err, ISOL8_E_DEADLINE, "%s", detail);
		}
		return call_broken(call, "read", err);
	}
	if (bb == NULL) {
		call->read_done = true;
		/* A cancelled call also ends the stream: tell the two apart. */
		if (grpc_call_failed_before_recv_message(call->call) || isol8_rpc_call_cancelled(call))
			return call_broken(call, "read", err);
		return 0;
	}
	ret = isol8_rpc_unpack_request(bb, call->route->method->input, out, err);
	grpc_byte_buffer_destroy(bb);
	return ret < 0 ? ret : 1;
}

const struct isol8_rpc_method *isol8_rpc_call_method(struct isol8_rpc_call *call)
{
	return call->route->method;
}

const ProtobufCMessage *isol8_rpc_call_request(struct isol8_rpc_call *call)
{
	return call->request;
}

int isol8_rpc_call_metadata(struct isol8_rpc_call *call, const char *key, char *buf, size_t size)
{
	for (size_t i = 0; i < call->metadata.count; i++) {
		const grpc_metadata *md = &call->metadata.metadata[i];
		size_t len = GRPC_SLICE_LENGTH(md->value);

		if (grpc_slice_str_cmp(md->key, key) != 0)
			continue;
		if (len >= size || len > INT32_MAX)
			return -2;
		memcpy(buf, GRPC_SLICE_START_PTR(md->value), len);
		buf[len] = '\0';
		return (int)len;
	}
	return -1;
}

bool isol8_rpc_call_is_local(struct isol8_rpc_call *call)
{
	return call->is_local;
}

int64_t isol8_rpc_call_deadline_ms(struct isol8_rpc_call *call)
{
	return call->deadline_ms;
}
