/* Interactive executions: ExecuteInteractive's first message is the
 * request; then stdin, its end, signals and window sizes, each one
 * InteractiveInput, written under the stream's write lock (stream.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "isol8/v1/isol8.rpc.h"
#include "lib/request.h"
#include "lib/stream.h"
#include "base/util.h"

static int send_input(struct isol8_stream *st, const Isol8__V1__InteractiveInput *msg, struct isol8_error *err)
{
	int ret;

	if (st == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "stream is NULL");
	if (!st->interactive)
		return isol8_error_set(err, ISOL8_E_INVALID, "the stream is not interactive (isol8_interactive_open)");
	if (atomic_load(&st->cancelled))
		return isol8_error_set(err, ISOL8_E_CANCELLED, "the execution was cancelled");
	/* gRPC may still take a write on a finished call for a moment */
	if (atomic_load(&st->over))
		return isol8_error_set(err, ISOL8_E_PRECONDITION, "the execution is over: it takes no more input");
	pthread_mutex_lock(&st->write_lock);
	ret = isol8__v1__isol8__execute_interactive__write(st->rpc, msg, err);
	pthread_mutex_unlock(&st->write_lock);
	return ret;
}

int isol8_interactive_open(struct isol8_stream **out, struct isol8_client *c, const struct isol8_request *req,
			   struct isol8_error *err)
{
	Isol8__V1__InteractiveInput first = ISOL8__V1__INTERACTIVE_INPUT__INIT;
	struct isol8_stream *st = NULL;
	struct isol8_request_proto p;
	int ret;

	if (out == NULL || c == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", out == NULL ? "out" : "client");
	*out = NULL;
	ret = isol8_request_to_proto(&p, req, err);
	if (ret < 0)
		return ret;
	ret = isol8_stream_alloc(&st, true, err);
	if (ret == 0)
		ret = isol8__v1__isol8__execute_interactive__start(&st->rpc, c->channel,
								   isol8_client_execute_deadline(req->timeout_ms), err);
	first.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_REQUEST;
	first.request = &p.msg;
	if (ret == 0)
		ret = send_input(st, &first, err);
	isol8_request_proto_release(&p);
	if (ret < 0) {
		isol8_stream_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

int isol8_stream_write_stdin(struct isol8_stream *st, const void *data, size_t size, struct isol8_error *err)
{
	Isol8__V1__InteractiveInput msg = ISOL8__V1__INTERACTIVE_INPUT__INIT;

	if (data == NULL && size > 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "data is NULL but size is %zu", size);
	msg.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN;
	msg.stdin = (ProtobufCBinaryData){size, (uint8_t *)data};
	return send_input(st, &msg, err);
}

int isol8_stream_close_stdin(struct isol8_stream *st, struct isol8_error *err)
{
	Isol8__V1__InteractiveInput msg = ISOL8__V1__INTERACTIVE_INPUT__INIT;

	msg.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN_EOF;
	msg.stdin_eof = true;
	return send_input(st, &msg, err);
}

static const char *const signal_names[] = {"SIGINT", "SIGTERM", "SIGKILL", "SIGHUP",
					   "SIGQUIT", "SIGUSR1", "SIGUSR2"};

/* The row for "SIGINT", "sigint" or "INT"; NULL when none. */
static const char *signal_name(const char *name)
{
	const char *bare = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(signal_names); i++)
		if (strcasecmp(bare, signal_names[i] + 3) == 0)
			return signal_names[i];
	return NULL;
}

int isol8_stream_signal(struct isol8_stream *st, const char *name, struct isol8_error *err)
{
	Isol8__V1__InteractiveInput msg = ISOL8__V1__INTERACTIVE_INPUT__INIT;
	const char *known = name != NULL ? signal_name(name) : NULL;

	if (name == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "signal name is NULL");
	if (known == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "signal \"%s\" is not one of SIGINT, SIGTERM, SIGKILL, SIGHUP, SIGQUIT, "
				       "SIGUSR1, SIGUSR2",
				       name);
	msg.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_SIGNAL;
	msg.signal = (char *)known;
	return send_input(st, &msg, err);
}

int isol8_stream_resize(struct isol8_stream *st, unsigned rows, unsigned cols, struct isol8_error *err)
{
	Isol8__V1__InteractiveInput msg = ISOL8__V1__INTERACTIVE_INPUT__INIT;
	Isol8__V1__WindowSize size = ISOL8__V1__WINDOW_SIZE__INIT;

	size.rows = rows;
	size.cols = cols;
	msg.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_RESIZE;
	msg.resize = &size;
	return send_input(st, &msg, err);
}
