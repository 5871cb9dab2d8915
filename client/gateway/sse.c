/*
 * POST /execute/stream: Server-Sent Events, one `data: {json}\n\n` per
 * event of the execution, ": keep-alive" comments in long silences.
 *
 * The worker (pump) reads events with isol8_stream_next and appends them
 * to the stream's buffer, waiting while it holds more than
 * GW_STREAM_BUFFER (backpressure: see server.c). Until the first event the
 * HTTP status is open: an execution that fails before any event (a bad
 * field isol8d found, a busy session, isol8d down) answers a JSON error
 * with its status; after it (or after 15 s of silence, when the ticker
 * sends the headers and a comment) failures are `error` events.
 *
 * MHD's content reader (sse_read) takes bytes from the buffer; with none it
 * suspends the connection, and the pump or the ticker resumes it. A client
 * that goes away (MHD sees it, or the ticker sees its socket hang up while
 * suspended) cancels the execution: isol8d kills the program.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "gateway/gateway.h"
#include "gateway/mapping.h"

enum sse_phase { SSE_PENDING, SSE_HEADERS, SSE_ERRORED };

struct gw_sse {
	pthread_mutex_t lock;
	pthread_cond_t room;
	int refs; /* the call, the pump, the response */
	struct gw_call *call; /* NULL once the call ended */
	struct MHD_Connection *conn;
	int fd;
	struct gw_buf out;
	size_t off; /* out.data[off..len) is unsent */
	enum sse_phase phase;
	bool suspended; /* the connection is (or is being) suspended */
	bool done;      /* the last event is in the buffer */
	bool broken;    /* end the response with an error */
	bool gone;      /* the client left */
	struct isol8_stream *stream;
	int64_t last_push_ms;
	struct gw_sse *next, *prev;
};

static void sse_unref(struct gw_sse *s)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	gw_buf_free(&s->out);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->room);
	free(s);
}

static void list_add(struct gw_server *srv, struct gw_sse *s)
{
	pthread_mutex_lock(&srv->lock);
	s->next = srv->streams;
	if (srv->streams)
		srv->streams->prev = s;
	srv->streams = s;
	pthread_mutex_unlock(&srv->lock);
}

static void list_remove(struct gw_server *srv, struct gw_sse *s)
{
	pthread_mutex_lock(&srv->lock);
	if (s->prev)
		s->prev->next = s->next;
	else if (srv->streams == s)
		srv->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	pthread_mutex_unlock(&srv->lock);
}

/* Resumes the connection if suspended (lock held). */
static void wake(struct gw_sse *s)
{
	if (s->suspended && s->call != NULL) {
		s->suspended = false;
		MHD_resume_connection(s->conn);
	}
}

/* Decides the status: SSE headers now (lock held). The connection was
 * suspended at dispatch; resuming makes MHD call gw_sse_respond. */
static void commit_headers(struct gw_sse *s)
{
	if (s->phase != SSE_PENDING)
		return;
	s->phase = SSE_HEADERS;
	wake(s);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct gw_sse *s = cls;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&s->lock);
	if (s->out.len > s->off) {
		size_t have = s->out.len - s->off;
		n = (ssize_t)(have < max ? have : max);
		memcpy(buf, s->out.data + s->off, (size_t)n);
		s->off += (size_t)n;
		if (s->off == s->out.len)
			s->off = s->out.len = 0;
		pthread_cond_broadcast(&s->room);
	} else if (s->done) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else if (s->broken || s->gone) {
		n = MHD_CONTENT_READER_END_WITH_ERROR;
	} else {
		/* nothing yet: park the connection until the pump adds some */
		s->suspended = true;
		MHD_suspend_connection(s->conn);
		n = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void sse_response_free(void *cls)
{
	struct gw_sse *s = cls;

	pthread_mutex_lock(&s->lock);
	if (!s->done) {
		s->gone = true;
		if (s->stream)
			isol8_stream_cancel(s->stream);
	}
	pthread_cond_broadcast(&s->room);
	pthread_mutex_unlock(&s->lock);
	sse_unref(s);
}

enum MHD_Result gw_sse_respond(struct gw_call *call)
{
	struct gw_sse *s = call->sse;
	struct MHD_Response *r;
	enum MHD_Result ret;
	enum sse_phase phase;

	pthread_mutex_lock(&s->lock);
	phase = s->phase;
	pthread_mutex_unlock(&s->lock);
	if (call->stream_started || phase != SSE_HEADERS)
		return MHD_YES;
	call->stream_started = true;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16u << 10, sse_read, s, sse_response_free);
	if (r == NULL)
		return MHD_NO;
	pthread_mutex_lock(&s->lock);
	s->refs++;
	pthread_mutex_unlock(&s->lock);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	call->status = 200;
	ret = MHD_queue_response(call->conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

void gw_sse_call_ended(struct gw_call *call)
{
	struct gw_sse *s = call->sse;

	list_remove(call->srv, s);
	pthread_mutex_lock(&s->lock);
	s->call = NULL;
	if (!s->done) {
		s->gone = true;
		if (s->stream)
			isol8_stream_cancel(s->stream);
	}
	pthread_cond_broadcast(&s->room);
	pthread_mutex_unlock(&s->lock);
	call->sse = NULL;
	sse_unref(s);
}

/* Appends bytes for the client, waiting for room; false once the client is gone. */
static bool push(struct gw_sse *s, const char *data, size_t n)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	while (!s->gone && s->out.len > s->off && s->out.len - s->off + n > GW_STREAM_BUFFER)
		pthread_cond_wait(&s->room, &s->lock);
	if (s->off > 0) { /* what MHD took goes: the buffer holds only what is unsent */
		memmove(s->out.data, s->out.data + s->off, s->out.len - s->off);
		s->out.len -= s->off;
		s->off = 0;
	}
	ok = !s->gone && gw_buf_append(&s->out, data, n) == 0;
	s->last_push_ms = isol8_now_ms();
	commit_headers(s);
	wake(s);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static bool push_event(struct gw_sse *s, const char *type, const char *data, size_t n, const char *phase)
{
	struct gw_buf b = GW_BUF_INIT(0);
	bool ok = gw_buf_puts(&b, "data: ") == 0 && gw_event_json(&b, type, data, n, phase) == 0 &&
		  gw_buf_puts(&b, "\n\n") == 0 && push(s, b.data, b.len);

	gw_buf_free(&b);
	return ok;
}

static bool push_output(struct gw_sse *s, const char *type, struct gw_utf8_carry *c, const char *data, size_t n,
			const char *phase)
{
	struct gw_buf joined = GW_BUF_INIT(0);
	bool ok = gw_utf8_carry_join(c, data, n, &joined) == 0 &&
		  (joined.len == 0 || push_event(s, type, joined.data, joined.len, phase));

	gw_buf_free(&joined);
	return ok;
}

/* The error before any event: a JSON answer with its status. */
static bool answer_error_first(struct gw_sse *s, struct gw_call *call, const struct isol8_error *err)
{
	bool answered = false;

	pthread_mutex_lock(&s->lock);
	if (s->phase == SSE_PENDING) {
		gw_call_fail(call, err);
		s->phase = SSE_ERRORED;
		s->done = true;
		call->state = GW_CALL_READY; /* on_request queues the JSON answer */
		wake(s);
		answered = true;
	}
	pthread_mutex_unlock(&s->lock);
	return answered;
}

/* What the pump owns: the call's parsed body and client move here, so the
 * call may end (the client left) while the execution winds down. */
struct pump {
	struct gw_sse *sse;
	struct gw_call *call; /* touched only while the status is open (the call is suspended then) */
	struct gw_server *srv;
	cJSON *json;
	struct isol8_client *client;
	bool own_client;
};

static void pump_events(struct gw_sse *s, struct gw_call *call, struct isol8_stream *st, struct gw_server *srv)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct gw_utf8_carry out = {{0}, 0}, errc = {{0}, 0};
	struct isol8_event ev;
	bool first = true;
	int r;

	while ((r = isol8_stream_next(st, &ev, &err)) > 0) {
		bool ok = true;
		char code[16];
		if (first && ev.type == ISOL8_EVENT_ERROR && ev.code != 0) {
			struct isol8_error e = ISOL8_ERROR_INIT;
			isol8_error_set(&e, ev.code, "%s", ev.data ? ev.data : "");
			if (answer_error_first(s, call, &e))
				return;
		}
		first = false;
		switch (ev.type) {
		case ISOL8_EVENT_STDOUT: ok = push_output(s, "stdout", &out, ev.data, ev.size, ev.phase); break;
		case ISOL8_EVENT_STDERR: ok = push_output(s, "stderr", &errc, ev.data, ev.size, ev.phase); break;
		case ISOL8_EVENT_ERROR:
			ok = push_event(s, "error", ev.data, ev.data ? strlen(ev.data) : 0,
					ev.code == 0 ? ev.phase : NULL);
			break;
		case ISOL8_EVENT_EXIT:
			snprintf(code, sizeof(code), "%d", ev.result ? ev.result->exit_code : -1);
			ok = push_event(s, "exit", code, strlen(code), ev.phase);
			break;
		}
		if (!ok)
			return;
	}
	if (r < 0 && err.code == ISOL8_E_CANCELLED && gw_server_stopping(srv)) {
		isol8_error_clear(&err);
		isol8_error_set(&err, ISOL8_E_UNAVAILABLE, "isol8-gateway is shutting down");
	}
	if (r < 0 && first && answer_error_first(s, call, &err))
		return;
	if (r < 0 && err.code != ISOL8_E_CANCELLED) {
		char message[ISOL8_ERROR_MESSAGE_MAX];
		snprintf(message, sizeof(message), "%s", err.message);
		push_event(s, "error", message, strlen(message), NULL);
	}
}

/* Parses the body and picks the client. */
static int prepare(struct pump *p, struct gw_exec *x, bool *parsed, struct isol8_error *err)
{
	struct gw_call *call = p->call;

	if (gw_json_parse_object(call->body.data, call->body.len, "body", &p->json, err) < 0 ||
	    gw_exec_parse(p->json, x, err) < 0)
		return -1;
	*parsed = true;
	if (p->srv->cfg.key != NULL || call->token == NULL) {
		p->client = p->srv->upstream;
		return 0;
	}
	if (isol8_client_with_key(&p->client, p->srv->upstream, call->token, err) < 0)
		return -1;
	p->own_client = true;
	return 0;
}

/* A failure before the stream: an answer with its status, or (after the
 * ticker sent the headers) an error event. */
static void fail_early(struct gw_sse *s, struct gw_call *call, const struct isol8_error *err)
{
	if (!answer_error_first(s, call, err))
		push_event(s, "error", err->message, strlen(err->message), NULL);
}

static void *run_pump(void *arg)
{
	struct pump *p = arg;
	struct gw_sse *s = p->sse;
	struct gw_server *srv = p->srv;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_stream *st = NULL;
	struct gw_exec x;
	bool parsed = false;

	if (prepare(p, &x, &parsed, &err) < 0 || isol8_stream_open(&st, p->client, &x.req, &err) < 0) {
		fail_early(s, p->call, &err);
	} else {
		pthread_mutex_lock(&s->lock);
		s->stream = st;
		if (s->gone)
			isol8_stream_cancel(st);
		pthread_mutex_unlock(&s->lock);
		/* a stop that came before s->stream was set did not see it (stopping is set before the sweep) */
		if (gw_server_stopping(srv))
			isol8_stream_cancel(st);
		pump_events(s, p->call, st, srv);
		pthread_mutex_lock(&s->lock);
		s->stream = NULL;
		pthread_mutex_unlock(&s->lock);
		isol8_stream_free(st);
	}
	pthread_mutex_lock(&s->lock);
	if (s->phase == SSE_PENDING) /* nothing came at all: headers, then the end */
		s->phase = SSE_HEADERS;
	s->done = true;
	wake(s);
	pthread_mutex_unlock(&s->lock);
	if (parsed)
		gw_exec_free(&x);
	if (p->own_client)
		isol8_client_free(p->client);
	cJSON_Delete(p->json);
	free(p);
	sse_unref(s);
	gw_worker_done(srv);
	return NULL;
}

void gw_handle_execute_stream(struct gw_call *call)
{
	struct gw_sse *s = calloc(1, sizeof(*s));
	struct pump *p = calloc(1, sizeof(*p));

	if (s == NULL || p == NULL) {
		free(s);
		free(p);
		gw_call_error(call, 503, "out of memory");
		return;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->room, NULL);
	s->refs = 2; /* the call and the pump */
	s->call = call;
	s->conn = call->conn;
	s->fd = call->fd;
	s->suspended = true; /* call_dispatch suspended it */
	s->last_push_ms = isol8_now_ms();
	s->out.max = GW_STREAM_BUFFER * 8 + (8u << 20);
	p->sse = s;
	p->call = call;
	p->srv = call->srv;
	call->sse = s;
	list_add(call->srv, s);
	if (gw_worker_start(call->srv, run_pump, p) < 0) {
		free(p);
		list_remove(call->srv, s);
		call->sse = NULL;
		s->refs = 1;
		sse_unref(s);
	}
}

/* One look at a stream (srv->lock and the stream's lock held). */
static void tick(struct gw_sse *s, int64_t now)
{
	if (s->done || s->gone)
		return;
	if (s->suspended && s->fd >= 0) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLRDHUP};
		if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			s->gone = true;
			if (s->stream)
				isol8_stream_cancel(s->stream);
			pthread_cond_broadcast(&s->room);
			if (s->phase == SSE_HEADERS)
				wake(s);
			return;
		}
	}
	if (now - s->last_push_ms >= GW_KEEPALIVE_MS && s->out.len == s->off &&
	    gw_buf_puts(&s->out, ": keep-alive\n\n") == 0) {
		s->last_push_ms = now;
		commit_headers(s);
		wake(s);
	}
}

void *gw_sse_ticker(void *arg)
{
	struct gw_server *srv = arg;

	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&srv->changed, &srv->lock, &ts);
		for (struct gw_sse *s = srv->streams; s != NULL; s = s->next) {
			pthread_mutex_lock(&s->lock);
			tick(s, isol8_now_ms());
			pthread_mutex_unlock(&s->lock);
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

void gw_sse_cancel_all(struct gw_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	for (struct gw_sse *s = srv->streams; s != NULL; s = s->next) {
		pthread_mutex_lock(&s->lock);
		if (s->stream)
			isol8_stream_cancel(s->stream);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&srv->lock);
}
