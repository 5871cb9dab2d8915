/*
 * isol8.v1.Isol8 ExecuteInteractive over gRPC. The first message is the
 * request; the run is an ExecuteStream's (grpc_exec.c: the same events,
 * written by this handler's thread) with input.
 *
 * Threads: the handler's thread runs the execution and writes the events;
 * a reader thread reads the client's later messages (the binding allows one
 * read beside a write) into a queue, and the engine takes them from it
 * (next_input) on the handler's thread, woken by an eventfd. The queue and
 * its flags are shared under `lock`; the rest is the handler's. The queue
 * holds at most INTERACTIVE_QUEUE_MAX bytes: past it the reader waits, and
 * the client's further messages stay in gRPC's flow control. A bad message
 * (a second request, an unknown signal) stops the run with
 * INVALID_ARGUMENT naming it; the client's end of its stream is the end of
 * stdin; a cancelled call stops the run at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "daemon/daemon.h"
#include "isol8/v1/isol8.rpc.h"

#define INTERACTIVE_QUEUE_MAX (1024u * 1024u)
#define INTERACTIVE_MESSAGE_COST 64u     /* bytes a queued message counts besides its stdin */
#define INTERACTIVE_READER_WAIT_MS 2000  /* after the status, for the client to close */

struct queued {
	Isol8__V1__InteractiveInput *msg;
	struct queued *next;
};

struct interactive {
	struct isol8_rpc_call *call;
	int event_fd;
	pthread_mutex_t lock;
	pthread_cond_t changed;          /* room in the queue, stop, reader done */
	struct queued *head, **tail;     /* under lock */
	size_t queued_bytes;             /* under lock */
	bool input_over;                 /* under lock: the client sent all it will */
	bool stop;                       /* under lock: the run is over, the reader leaves */
	bool reader_done;                /* under lock */
	bool eof_sent;                   /* reader's: the client sent stdin_eof */
	struct isol8_error error;        /* under lock: a bad message or a broken call */
	Isol8__V1__InteractiveInput *current; /* the engine's: the input it was given last */
};

/* What a queued message holds: its packed size counts every field it
 * carries, unknown ones too (protobuf-c keeps those). */
static size_t message_cost(const Isol8__V1__InteractiveInput *msg)
{
	return INTERACTIVE_MESSAGE_COST + protobuf_c_message_get_packed_size(&msg->base);
}

static void wake_engine(struct interactive *it)
{
	uint64_t one = 1;

	if (write(it->event_fd, &one, sizeof(one)) < 0) {
		/* the counter is far from full: only EAGAIN could happen, and then it is readable */
	}
}

/* The reader's check of a message the engine will take; 0 or -ISOL8_E_INVALID. */
static int input_check(const Isol8__V1__InteractiveInput *msg, struct isol8_error *err)
{
	switch (msg->input_case) {
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_REQUEST:
		return isol8_error_set(err, ISOL8_E_INVALID, "request: only the first message may be the request");
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_SIGNAL:
		if (isol8_signal_from_name(msg->signal) == 0)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "signal: \"%.64s\" is not one of SIGINT, SIGTERM, SIGHUP, SIGQUIT, "
					       "SIGKILL, SIGUSR1, SIGUSR2",
					       msg->signal);
		return 0;
	default:
		return 0;
	}
}

/* Queues msg (taking it), waiting for room; false once the run is over. */
static bool queue_push(struct interactive *it, Isol8__V1__InteractiveInput *msg)
{
	struct queued *q = malloc(sizeof(*q));
	size_t cost = message_cost(msg);

	pthread_mutex_lock(&it->lock);
	while (!it->stop && it->head != NULL && it->queued_bytes + cost > INTERACTIVE_QUEUE_MAX)
		pthread_cond_wait(&it->changed, &it->lock);
	if (it->stop || q == NULL) {
		if (q == NULL && !it->stop)
			isol8_error_set(&it->error, ISOL8_E_NOMEM, "out of memory queueing input");
		pthread_mutex_unlock(&it->lock);
		free(q);
		protobuf_c_message_free_unpacked(&msg->base, NULL);
		return false;
	}
	*q = (struct queued){.msg = msg};
	*it->tail = q;
	it->tail = &q->next;
	it->queued_bytes += cost;
	wake_engine(it);
	pthread_mutex_unlock(&it->lock);
	return true;
}

/* The end of the client's input: by its end of stream (which ends stdin
 * too), a bad message or a broken call (err set). */
static void input_end(struct interactive *it, const struct isol8_error *err)
{
	Isol8__V1__InteractiveInput *eof = NULL;

	if (err == NULL && !it->eof_sent && (eof = malloc(sizeof(*eof))) != NULL) {
		isol8__v1__interactive_input__init(eof);
		eof->input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN_EOF;
		eof->stdin_eof = true;
		queue_push(it, eof);
	}
	pthread_mutex_lock(&it->lock);
	if (err != NULL && it->error.code == 0 && !it->stop)
		it->error = *err;
	it->input_over = true;
	wake_engine(it);
	pthread_mutex_unlock(&it->lock);
}

static void *reader_main(void *arg)
{
	struct interactive *it = arg;
	struct isol8_error err = ISOL8_ERROR_INIT;
	ProtobufCMessage *msg = NULL;
	int ret;

	while ((ret = isol8_rpc_call_read(it->call, &msg, &err)) > 0) {
		Isol8__V1__InteractiveInput *in = (Isol8__V1__InteractiveInput *)msg;

		if (in->input_case == ISOL8__V1__INTERACTIVE_INPUT__INPUT__NOT_SET) {
			protobuf_c_message_free_unpacked(msg, NULL);
			continue;
		}
		ret = input_check(in, &err);
		if (ret < 0) {
			protobuf_c_message_free_unpacked(msg, NULL);
			break;
		}
		if (in->input_case == ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN_EOF)
			it->eof_sent = true;
		if (!queue_push(it, in))
			break;
	}
	input_end(it, ret < 0 ? &err : NULL);
	pthread_mutex_lock(&it->lock);
	it->reader_done = true;
	pthread_cond_broadcast(&it->changed);
	pthread_mutex_unlock(&it->lock);
	return NULL;
}

/* next_input of the sink (engine.h), on the handler's thread. */
static int next_input(void *userdata, struct isol8_input *in)
{
	struct interactive *it = userdata;
	struct queued *q;
	uint64_t count;

	pthread_mutex_lock(&it->lock);
	if (it->current != NULL) {
		protobuf_c_message_free_unpacked(&it->current->base, NULL);
		it->current = NULL;
	}
	q = it->head;
	if (q == NULL) {
		int code = it->error.code;
		/* empty: unreadable until the reader adds (it writes under the lock) */
		if (read(it->event_fd, &count, sizeof(count)) < 0) {
			/* EAGAIN: nothing was signalled */
		}
		pthread_mutex_unlock(&it->lock);
		return code != 0 ? -code : 0;
	}
	it->head = q->next;
	if (it->head == NULL)
		it->tail = &it->head;
	it->queued_bytes -= message_cost(q->msg);
	it->current = q->msg;
	pthread_cond_broadcast(&it->changed);
	pthread_mutex_unlock(&it->lock);
	free(q);
	*in = (struct isol8_input){0};
	switch (it->current->input_case) {
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN:
		*in = (struct isol8_input){.kind = ISOL8_INPUT_STDIN, .data = it->current->stdin.data,
					   .len = it->current->stdin.len};
		break;
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_SIGNAL:
		*in = (struct isol8_input){.kind = ISOL8_INPUT_SIGNAL,
					   .signal = isol8_signal_from_name(it->current->signal)};
		break;
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_RESIZE:
		*in = (struct isol8_input){.kind = ISOL8_INPUT_RESIZE,
					   .rows = it->current->resize ? it->current->resize->rows : 0,
					   .cols = it->current->resize ? it->current->resize->cols : 0};
		break;
	default:
		in->kind = ISOL8_INPUT_STDIN_EOF;
		break;
	}
	return 1;
}

/* The first message, which must be the request; the call is finished
 * with the error otherwise. */
static Isol8__V1__InteractiveInput *read_request(struct isol8_rpc_call *call)
{
	static const char *const names[] = {
		[ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN] = "stdin",
		[ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN_EOF] = "stdin_eof",
		[ISOL8__V1__INTERACTIVE_INPUT__INPUT_SIGNAL] = "signal",
		[ISOL8__V1__INTERACTIVE_INPUT__INPUT_RESIZE] = "resize",
	};
	struct isol8_error err = ISOL8_ERROR_INIT;
	ProtobufCMessage *msg = NULL;
	Isol8__V1__InteractiveInput *in;
	int ret = isol8_rpc_call_read(call, &msg, &err);

	if (ret == 0)
		isol8_error_set(&err, ISOL8_E_INVALID, "request: the stream ended before its first message, the request");
	if (ret <= 0) {
		isol8d_finish_error(call, &err);
		return NULL;
	}
	in = (Isol8__V1__InteractiveInput *)msg;
	if (in->input_case == ISOL8__V1__INTERACTIVE_INPUT__INPUT_REQUEST && in->request != NULL)
		return in;
	isol8_error_set(&err, ISOL8_E_INVALID, "request: the first message must be the request, not %s",
			(size_t)in->input_case < ISOL8_ARRAY_LEN(names) && names[in->input_case] ? names[in->input_case]
												 : "an empty message");
	protobuf_c_message_free_unpacked(msg, NULL);
	isol8d_finish_error(call, &err);
	return NULL;
}

/* Ends the reader: the run is over; a client that keeps its stream open
 * past the status is cancelled. */
static void reader_stop(struct interactive *it, pthread_t reader)
{
	struct timespec until;
	int waited = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += INTERACTIVE_READER_WAIT_MS / 1000;
	pthread_mutex_lock(&it->lock);
	it->stop = true;
	pthread_cond_broadcast(&it->changed);
	while (!it->reader_done && waited == 0)
		waited = pthread_cond_timedwait(&it->changed, &it->lock, &until);
	pthread_mutex_unlock(&it->lock);
	if (waited != 0)
		isol8_rpc_call_cancel(it->call);
	pthread_join(reader, NULL);
}

static void interactive_release(struct interactive *it)
{
	while (it->head != NULL) {
		struct queued *q = it->head;
		it->head = q->next;
		protobuf_c_message_free_unpacked(&q->msg->base, NULL);
		free(q);
	}
	if (it->current != NULL)
		protobuf_c_message_free_unpacked(&it->current->base, NULL);
	close(it->event_fd);
	pthread_cond_destroy(&it->changed);
	pthread_mutex_destroy(&it->lock);
}

static void run_interactive(struct isol8d *d, struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req)
{
	struct interactive it = {.call = call, .error = ISOL8_ERROR_INIT};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_service_output output;
	pthread_t reader;

	it.tail = &it.head;
	it.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (it.event_fd < 0) {
		isol8_error_errno(&err, ISOL8_E_INTERNAL, errno, "eventfd");
		isol8d_finish_error(call, &err);
		return;
	}
	pthread_mutex_init(&it.lock, NULL);
	pthread_cond_init(&it.changed, NULL);
	if (pthread_create(&reader, NULL, reader_main, &it) != 0) {
		isol8_error_set(&err, ISOL8_E_INTERNAL, "cannot start the input reader");
		isol8d_finish_error(call, &err);
		interactive_release(&it);
		return;
	}
	isol8d_stream_output_init(&output, call);
	output.next_input = next_input;
	output.input_fd = it.event_fd;
	output.input_userdata = &it;
	if (isol8d_execute_begun(d, call, req, &output, &err) < 0) {
		/* the input's own error says more than "stopped by its input" */
		pthread_mutex_lock(&it.lock);
		if (it.error.code != 0 && it.error.code != ISOL8_E_CANCELLED) {
			isol8_error_clear(&err);
			err = it.error;
		}
		pthread_mutex_unlock(&it.lock);
		isol8d_finish_error(call, &err);
	}
	reader_stop(&it, reader);
	interactive_release(&it);
}

static void handle_execute_interactive(struct isol8_rpc_call *call, void *userdata)
{
	struct isol8d *d = userdata;
	Isol8__V1__InteractiveInput *first;

	if (isol8d_call_begin(d, call) && (first = read_request(call)) != NULL) {
		run_interactive(d, call, first->request);
		protobuf_c_message_free_unpacked(&first->base, NULL);
	}
	isol8d_call_end(d);
}

int isol8d_route_interactive(struct isol8d *d, struct isol8_error *err)
{
	return isol8__v1__isol8__execute_interactive__route(d->server, handle_execute_interactive, d, err);
}
