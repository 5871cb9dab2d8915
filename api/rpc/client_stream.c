/*
 * Client streaming calls. At start two batches go out: one receiving the
 * initial metadata and the final status (left pending, plucked when the
 * stream ends or is freed), and one sending the metadata (plus, for server
 * streaming, the request and the close). Each write, close and read is then
 * its own batch, waited for on the call's private pluck queue; reads have a
 * tag of their own, so one thread may read while another writes.
 */
#include <grpc/support/alloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_client_internal.h"
#include "rpc/rpc_codec.h"
#include "rpc/rpc_gen.h"
#include "base/util.h"

struct isol8_rpc_stream {
	const struct isol8_rpc_method *method;
	grpc_call *call;
	grpc_completion_queue *cq;
	grpc_metadata_array initial;
	grpc_metadata_array trailing;
	grpc_status_code status;
	grpc_slice details;
	const char *error_string;
	bool status_started;
	bool status_done;
	bool send_closed;
	bool read_done;
	char tag_op;     /* the opening, writes, the close */
	char tag_read;   /* reads: one may wait while a write is in flight */
	char tag_status;
	pthread_mutex_t status_lock; /* plucking the status, from either thread */
};

static bool stream_batch_tagged(struct isol8_rpc_stream *st, const grpc_op *ops, size_t n, void *tag)
{
	grpc_event ev;

	if (grpc_call_start_batch(st->call, ops, n, tag, NULL) != GRPC_CALL_OK)
		return false;
	ev = grpc_completion_queue_pluck(st->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static bool stream_batch(struct isol8_rpc_stream *st, const grpc_op *ops, size_t n)
{
	return stream_batch_tagged(st, ops, n, &st->tag_op);
}

static bool status_start(struct isol8_rpc_stream *st)
{
	grpc_op ops[2];

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[0].data.recv_initial_metadata.recv_initial_metadata = &st->initial;
	ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[1].data.recv_status_on_client.trailing_metadata = &st->trailing;
	ops[1].data.recv_status_on_client.status = &st->status;
	ops[1].data.recv_status_on_client.status_details = &st->details;
	ops[1].data.recv_status_on_client.error_string = &st->error_string;
	st->status_started = grpc_call_start_batch(st->call, ops, 2, &st->tag_status, NULL) == GRPC_CALL_OK;
	return st->status_started;
}

/* Waits for the call's status: 0 when OK, else the status as the error. */
static int status_wait(struct isol8_rpc_stream *st, struct isol8_error *err)
{
	if (!st->status_started)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "%s: the call did not start", st->method->path);
	/* the reading and the writing thread may both come here */
	pthread_mutex_lock(&st->status_lock);
	if (!st->status_done) {
		grpc_completion_queue_pluck(st->cq, &st->tag_status, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		st->status_done = true;
	}
	pthread_mutex_unlock(&st->status_lock);
	if (st->status != GRPC_STATUS_OK)
		return isol8_rpc_client_status_error(st->status, st->details, err);
	return 0;
}

/* The error for a failed send: the call's status, which explains it. */
static int send_failed(struct isol8_rpc_stream *st, const char *what, struct isol8_error *err)
{
	int ret = status_wait(st, err);

	if (ret < 0)
		return ret;
	return isol8_error_set(err, ISOL8_E_PROTOCOL, "%s: %s after the call ended", st->method->path, what);
}

static int send_opening(struct isol8_rpc_stream *st, struct isol8_rpc_channel *ch,
			const ProtobufCMessage *request, struct isol8_error *err)
{
	grpc_byte_buffer *bb = NULL;
	grpc_op ops[3];
	size_t n = 1;
	bool ok;

	memset(ops, 0, sizeof(ops));
	isol8_rpc_client_metadata_op(ch, &ops[0]);
	if (request != NULL) {
		int ret = isol8_rpc_pack(request, &bb, err);

		if (ret < 0)
			return ret;
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = bb;
		ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
		st->send_closed = true;
	}
	ok = stream_batch(st, ops, n);
	if (bb != NULL)
		grpc_byte_buffer_destroy(bb);
	return ok ? 0 : send_failed(st, "start", err);
}

int isol8_rpc_stream_start(struct isol8_rpc_stream **out, struct isol8_rpc_channel *ch,
			   const struct isol8_rpc_method *method, const ProtobufCMessage *request,
			   int timeout_ms, struct isol8_error *err)
{
	struct isol8_rpc_stream *st;
	int ret;

	*out = NULL;
	ret = isol8_rpc_client_check(method, request, method == NULL || !method->client_streaming, err);
	if (ret < 0)
		return ret;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory starting %s", method->path);
	st->method = method;
	pthread_mutex_init(&st->status_lock, NULL);
	st->details = grpc_empty_slice();
	st->status = GRPC_STATUS_UNKNOWN;
	grpc_metadata_array_init(&st->initial);
	grpc_metadata_array_init(&st->trailing);
	st->cq = grpc_completion_queue_create_for_pluck(NULL);
	st->call = isol8_rpc_client_call(ch, method, st->cq, timeout_ms);
	if (!status_start(st))
		ret = isol8_error_set(err, ISOL8_E_INTERNAL, "%s: cannot start the call", method->path);
	else
		ret = send_opening(st, ch, request, err);
	if (ret < 0) {
		isol8_rpc_stream_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

int isol8_rpc_stream_write(struct isol8_rpc_stream *st, const ProtobufCMessage *msg, struct isol8_error *err)
{
	grpc_byte_buffer *bb;
	grpc_op op;
	bool ok;
	int ret;

	if (st->send_closed)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "%s: write after close", st->method->path);
	if (msg == NULL || msg->descriptor != st->method->input)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "%s needs %s messages", st->method->path,
				       st->method->input->name);
	ret = isol8_rpc_pack(msg, &bb, err);
	if (ret < 0)
		return ret;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = bb;
	ok = stream_batch(st, &op, 1);
	grpc_byte_buffer_destroy(bb);
	return ok ? 0 : send_failed(st, "write", err);
}

int isol8_rpc_stream_close_send(struct isol8_rpc_stream *st, struct isol8_error *err)
{
	grpc_op op;

	if (st->send_closed)
		return 0;
	st->send_closed = true;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	return stream_batch(st, &op, 1) ? 0 : send_failed(st, "close", err);
}

int isol8_rpc_stream_read(struct isol8_rpc_stream *st, ProtobufCMessage **out, struct isol8_error *err)
{
	grpc_byte_buffer *bb = NULL;
	grpc_op op;
	int ret;

	*out = NULL;
	if (st->read_done)
		return status_wait(st, err);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &bb;
	if (!stream_batch_tagged(st, &op, 1, &st->tag_read) || bb == NULL) {
		st->read_done = true;
		return status_wait(st, err);
	}
	ret = isol8_rpc_unpack(bb, st->method->output, "response", out, err);
	grpc_byte_buffer_destroy(bb);
	if (ret < 0) {
		st->read_done = true;
		grpc_call_cancel(st->call, NULL);
		return ret;
	}
	return 1;
}

int isol8_rpc_stream_finish(struct isol8_rpc_stream *st, ProtobufCMessage **out, struct isol8_error *err)
{
	ProtobufCMessage *reply = NULL, *extra = NULL;
	int ret;

	*out = NULL;
	ret = isol8_rpc_stream_close_send(st, err);
	if (ret == 0)
		ret = isol8_rpc_stream_read(st, &reply, err);
	if (ret == 0)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "%s: the server sent no reply", st->method->path);
	if (ret < 0)
		return ret;
	ret = isol8_rpc_stream_read(st, &extra, err);
	if (ret == 1) {
		protobuf_c_message_free_unpacked(extra, NULL);
		ret = isol8_error_set(err, ISOL8_E_PROTOCOL, "%s: the server sent more than one reply",
				      st->method->path);
	}
	if (ret < 0) {
		protobuf_c_message_free_unpacked(reply, NULL);
		return ret;
	}
	*out = reply;
	return 0;
}

void isol8_rpc_stream_cancel(struct isol8_rpc_stream *st)
{
	if (st != NULL && st->call != NULL)
		grpc_call_cancel(st->call, NULL);
}

void isol8_rpc_stream_free(struct isol8_rpc_stream *st)
{
	if (st == NULL)
		return;
	if (st->status_started && !st->status_done) {
		grpc_call_cancel(st->call, NULL);
		grpc_completion_queue_pluck(st->cq, &st->tag_status, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	}
	grpc_metadata_array_destroy(&st->initial);
	grpc_metadata_array_destroy(&st->trailing);
	grpc_slice_unref(st->details);
	gpr_free((void *)st->error_string);
	if (st->call != NULL)
		grpc_call_unref(st->call);
	isol8_rpc_queue_destroy(st->cq);
	pthread_mutex_destroy(&st->status_lock);
	free(st);
}
