/*
 * One execution on a WebSocket: the "execute" message runs with
 * isol8_interactive_open. Two threads, both counted as workers: the
 * reader (this connection's frames: stdin, signals, pings, the close) and
 * the pump (events to text frames, blocking writes: a client that reads
 * slowly slows the program, as with SSE). After the exit event the pump
 * sends close 1000 and the reader waits briefly for the client's close.
 * A client that leaves cancels the execution.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "gateway/errors.h"
#include "gateway/mapping.h"
#include "gateway/ws.h"

#define WS_WRITE_TIMEOUT_MS 30000
#define WS_CLOSE_WAIT_MS 2000

struct gw_ws_session {
	cJSON *json;
	struct gw_exec x;
	bool parsed;
	struct isol8_client *client;
	bool own_client;
};

void gw_ws_session_free(struct gw_ws_session *s)
{
	if (s->parsed)
		gw_exec_free(&s->x);
	if (s->own_client)
		isol8_client_free(s->client);
	cJSON_Delete(s->json);
	free(s);
}

static void send_error(struct gw_ws *ws, const struct isol8_error *err)
{
	char message[ISOL8_ERROR_MESSAGE_MAX];

	if (err->code == ISOL8_E_UNAUTHENTICATED)
		snprintf(message, sizeof(message), "Invalid API key");
	else
		gw_error_rename(err->message, message, sizeof(message));
	gw_ws_send_event(ws, "error", message, strlen(message), NULL, WS_WRITE_TIMEOUT_MS);
}

static void cancel(struct gw_ws *ws)
{
	pthread_mutex_lock(&ws->lock);
	ws->cancelled = true;
	if (ws->stream && !ws->pump_done)
		isol8_stream_cancel(ws->stream);
	pthread_mutex_unlock(&ws->lock);
}

static void *run_pump(void *arg)
{
	struct gw_ws *ws = arg;
	struct gw_server *srv = ws->srv;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct gw_utf8_carry out = {{0}, 0}, errc = {{0}, 0};
	struct gw_buf joined = GW_BUF_INIT(0);
	struct isol8_event ev;
	int r;

	while ((r = isol8_stream_next(ws->stream, &ev, &err)) > 0) {
		int sent = 0;
		char code[16];
		switch (ev.type) {
		case ISOL8_EVENT_STDOUT:
		case ISOL8_EVENT_STDERR:
			if (gw_utf8_carry_join(ev.type == ISOL8_EVENT_STDOUT ? &out : &errc, ev.data, ev.size, &joined) < 0)
				sent = -1;
			else if (joined.len)
				sent = gw_ws_send_event(ws, ev.type == ISOL8_EVENT_STDOUT ? "stdout" : "stderr", joined.data,
							joined.len, ev.phase, WS_WRITE_TIMEOUT_MS);
			break;
		case ISOL8_EVENT_ERROR:
			sent = gw_ws_send_event(ws, "error", ev.data, ev.data ? strlen(ev.data) : 0,
						ev.code == 0 ? ev.phase : NULL, WS_WRITE_TIMEOUT_MS);
			break;
		case ISOL8_EVENT_EXIT:
			snprintf(code, sizeof(code), "%d", ev.result ? ev.result->exit_code : -1);
			sent = gw_ws_send_event(ws, "exit", code, strlen(code), ev.phase, WS_WRITE_TIMEOUT_MS);
			break;
		}
		if (sent < 0) {
			cancel(ws);
			break;
		}
	}
	if (r < 0 && err.code == ISOL8_E_CANCELLED && gw_server_stopping(srv)) {
		isol8_error_clear(&err);
		isol8_error_set(&err, ISOL8_E_UNAVAILABLE, "isol8-gateway is shutting down");
	}
	if (r < 0 && err.code != ISOL8_E_CANCELLED)
		send_error(ws, &err);
	gw_buf_free(&joined);
	gw_ws_send_close(ws, GW_WS_NORMAL, "Execution complete", WS_WRITE_TIMEOUT_MS);
	pthread_mutex_lock(&ws->lock);
	ws->pump_done = true;
	pthread_mutex_unlock(&ws->lock);
	gw_ws_unref(ws);
	gw_worker_done(srv);
	return NULL;
}

/* A text message while the execution runs. 0 to go on, -1 to end. */
static int running_message(struct gw_ws *ws)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	const cJSON *type, *data, *eof, *sig;
	cJSON *msg = NULL;
	char text[300];

	if (ws->msg.opcode != GW_WS_TEXT ||
	    gw_json_parse_object(ws->msg.data.data, ws->msg.data.len, "message", &msg, &err) < 0) {
		gw_ws_message_done(ws);
		gw_ws_send_event(ws, "error", "Invalid JSON message", 20, NULL, WS_WRITE_TIMEOUT_MS);
		gw_ws_send_close(ws, GW_WS_UNSUPPORTED, "Invalid JSON", WS_WRITE_TIMEOUT_MS);
		cancel(ws);
		return -1;
	}
	gw_ws_message_done(ws);
	type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	data = cJSON_GetObjectItemCaseSensitive(msg, "data");
	if (cJSON_IsString(type) && strcmp(type->valuestring, "stdin") == 0) {
		eof = cJSON_GetObjectItemCaseSensitive(msg, "eof");
		if (cJSON_IsString(data) && *data->valuestring &&
		    isol8_stream_write_stdin(ws->stream, data->valuestring, strlen(data->valuestring), &err) < 0)
			isol8_log(ISOL8_LOG_DEBUG, "ws stdin: %s", err.message);
		if (cJSON_IsTrue(eof) && isol8_stream_close_stdin(ws->stream, &err) < 0)
			isol8_log(ISOL8_LOG_DEBUG, "ws stdin eof: %s", err.message);
	} else if (cJSON_IsString(type) && strcmp(type->valuestring, "signal") == 0) {
		sig = cJSON_IsString(data) ? data : cJSON_GetObjectItemCaseSensitive(msg, "signal");
		if (!cJSON_IsString(sig))
			isol8_error_set(&err, ISOL8_E_INVALID, "signal: expected a signal name in \"data\" or \"signal\"");
		else
			isol8_stream_signal(ws->stream, sig->valuestring, &err);
		if (err.code)
			send_error(ws, &err);
	} else if (cJSON_IsString(type) && strcmp(type->valuestring, "execute") == 0) {
		snprintf(text, sizeof(text), "an execution is already running on this connection (one per connection)");
		gw_ws_send_event(ws, "error", text, strlen(text), NULL, WS_WRITE_TIMEOUT_MS);
	} else {
		gw_ws_unknown_type(type, text, sizeof(text));
		gw_ws_send_event(ws, "error", text, strlen(text), NULL, WS_WRITE_TIMEOUT_MS);
	}
	cJSON_Delete(msg);
	return 0;
}

/* Frames until the client closes, leaves, or stays silent past the close. */
static void read_frames(struct gw_ws *ws)
{
	int64_t close_deadline = 0;

	for (;;) {
		int m = gw_ws_next_message(ws, WS_WRITE_TIMEOUT_MS);
		bool done;
		if (m < 0)
			break;
		if (m == 1) {
			if (running_message(ws) < 0)
				break;
			continue;
		}
		pthread_mutex_lock(&ws->lock);
		done = ws->pump_done;
		pthread_mutex_unlock(&ws->lock);
		if (done && close_deadline == 0)
			close_deadline = isol8_now_ms() + WS_CLOSE_WAIT_MS;
		if (close_deadline && isol8_now_ms() >= close_deadline)
			break;
		{
			struct pollfd pfd = {.fd = ws->fd, .events = POLLIN | POLLRDHUP};
			if (poll(&pfd, 1, 200) > 0 && gw_ws_read(ws) < 0)
				break;
		}
	}
	cancel(ws);
}

/* Opens the execution, feeds the request's stdin, starts the pump. */
static int begin(struct gw_ws *ws, struct gw_ws_session *s, struct isol8_error *err)
{
	const void *stdin_data = s->x.req.stdin_data;
	size_t stdin_size = s->x.req.stdin_size;
	struct isol8_stream *st = NULL;

	/* the original writes `stdin` and closes it at once: so do we */
	s->x.req.stdin_data = NULL;
	s->x.req.stdin_size = 0;
	if (isol8_interactive_open(&st, s->client, &s->x.req, err) < 0)
		return -1;
	pthread_mutex_lock(&ws->lock);
	ws->stream = st;
	if (ws->cancelled)
		isol8_stream_cancel(st);
	pthread_mutex_unlock(&ws->lock);
	if (stdin_data != NULL && ((stdin_size && isol8_stream_write_stdin(st, stdin_data, stdin_size, err) < 0) ||
				   isol8_stream_close_stdin(st, err) < 0)) {
		isol8_log(ISOL8_LOG_DEBUG, "ws request stdin: %s", err->message);
		isol8_error_clear(err);
	}
	pthread_mutex_lock(&ws->lock);
	ws->refs++;
	pthread_mutex_unlock(&ws->lock);
	if (gw_worker_start(ws->srv, run_pump, ws) < 0) {
		pthread_mutex_lock(&ws->lock);
		ws->refs--;
		pthread_mutex_unlock(&ws->lock);
		isol8_stream_cancel(st);
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "too many requests at once: try again later");
	}
	return 0;
}

static void *run_reader(void *arg)
{
	struct gw_ws *ws = arg;
	struct gw_server *srv = ws->srv;
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (begin(ws, ws->session, &err) < 0) {
		send_error(ws, &err);
		gw_ws_send_close(ws, GW_WS_NORMAL, "Execution complete", WS_WRITE_TIMEOUT_MS);
		pthread_mutex_lock(&ws->lock);
		ws->pump_done = true;
		pthread_mutex_unlock(&ws->lock);
	}
	read_frames(ws);
	gw_ws_unref(ws);
	gw_worker_done(srv);
	return NULL;
}

/* Ends a connection whose execution did not start. */
static void refuse(struct gw_ws *ws, const struct isol8_error *err)
{
	send_error(ws, err);
	gw_ws_send_close(ws, err->code == ISOL8_E_EXHAUSTED ? 1013 : GW_WS_NORMAL,
			 err->code == ISOL8_E_EXHAUSTED ? "Try again later" : "Execution complete", 1000);
	gw_ws_hub_release(ws);
	pthread_mutex_lock(&ws->lock);
	ws->state = GW_WS_CLOSED;
	pthread_mutex_unlock(&ws->lock);
	gw_ws_unref(ws);
}

void gw_ws_session_start(struct gw_ws *ws, cJSON *msg)
{
	struct gw_ws_session *s = calloc(1, sizeof(*s));
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (s == NULL) {
		cJSON_Delete(msg);
		isol8_error_set(&err, ISOL8_E_NOMEM, "out of memory");
		refuse(ws, &err);
		return;
	}
	s->json = msg;
	ws->session = s;
	if (gw_exec_parse(msg, &s->x, &err) < 0) {
		refuse(ws, &err);
		return;
	}
	s->parsed = true;
	s->client = ws->srv->upstream;
	if (ws->srv->cfg.key == NULL && ws->token != NULL) {
		if (isol8_client_with_key(&s->client, ws->srv->upstream, ws->token, &err) < 0) {
			s->client = NULL;
			refuse(ws, &err);
			return;
		}
		s->own_client = true;
	}
	gw_ws_hub_release(ws);
	pthread_mutex_lock(&ws->lock);
	ws->state = GW_WS_RUNNING;
	pthread_mutex_unlock(&ws->lock);
	if (gw_worker_start(ws->srv, run_reader, ws) < 0) {
		isol8_error_set(&err, ISOL8_E_EXHAUSTED, "too many requests at once: try again later");
		refuse(ws, &err);
	}
}
