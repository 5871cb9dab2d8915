/*
 * isol8-gateway's HTTP server: libmicrohttpd (MHD) in front, libisol8
 * (gRPC to isol8d) behind.
 *
 * Threads
 *   - MHD's one internal polling thread (epoll) owns every socket: it reads
 *     headers and bodies, writes responses, and calls on_request /
 *     on_completed. It never blocks on isol8d.
 *   - Workers: a call whose headers and body are in is suspended
 *     (MHD_suspend_connection: MHD stops polling it) and its handler runs
 *     on a worker, a detached thread with a 256 KiB stack, which makes the
 *     blocking libisol8 call, leaves status + JSON body in the call and
 *     resumes the connection; MHD then calls on_request again, which
 *     queues that response (responses are only ever queued on MHD's
 *     thread). At most GW_MAX_WORKERS (and --max-connections) run; past
 *     that a call answers 429 at once. An idle or keep-alive connection
 *     costs no thread, only MHD's per-connection memory.
 *   - The ticker (sse.c): once a second it writes ": keep-alive" comments
 *     to SSE streams silent for 15 s, and notices clients that hung up
 *     while their stream was suspended (MHD does not poll those), so their
 *     execution is cancelled.
 *   - The WebSocket hub (ws.c): one epoll thread for upgraded connections
 *     waiting for their "execute" message; an execution then has a reader
 *     thread (frames: stdin, signals, pings, close) and a worker (events).
 *
 * Buffers and limits
 *   - Headers and URL: MHD's per-connection memory (32 KiB); past it MHD
 *     answers 431 (headers) or 414 (URL) and closes.
 *   - Bodies: at most --max-body-size (POST /file: the base64 of a file of
 *     that size, plus 64 KiB), refused from Content-Length before any byte
 *     is read, or while reading a chunked body (413; the rest of the body
 *     is read and dropped, up to as much again, then the connection closes).
 *   - Slow senders: MHD closes a connection idle for the request timeout
 *     (rounded up to seconds); a request whose body is still coming after
 *     --request-timeout-ms is closed too.
 *   - Connections: at most --max-connections (MHD refuses more).
 *
 * Backpressure
 *   An SSE stream's worker formats each event into the stream's buffer
 *   (GW_STREAM_BUFFER plus one event) and waits while it is full: it reads
 *   the next event from isol8d only once MHD has written the last ones to
 *   the client, so a slow reader slows the program (isol8d stops reading
 *   its output) instead of growing memory. When the buffer is empty MHD's
 *   content reader suspends the connection; the worker resumes it when it
 *   adds an event. WebSocket events are written by their worker with
 *   blocking writes, which is the same rule.
 *
 * Who touches what
 *   A call belongs to MHD's thread, except between its suspension and its
 *   resumption, when it belongs to its worker. An SSE stream's state is
 *   under its own lock (the worker, MHD's content reader and the ticker
 *   share it); the server's list and counters under srv->lock, taken
 *   before a stream's lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/log.h"
#include "base/util.h"
#include "gateway/auth.h"
#include "gateway/errors.h"
#include "gateway/gateway.h"
#include "gateway/mapping.h"

/* Queues a JSON response (MHD's thread). */
static enum MHD_Result queue_json(struct gw_call *call, unsigned status, struct gw_buf *body)
{
	static const char fallback[] = "{\"error\":\"out of memory\"}";
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len = 0;
	char *data = body ? gw_buf_take(body, &len) : NULL;

	if (data == NULL) {
		r = MHD_create_response_from_buffer(strlen(fallback), (void *)fallback, MHD_RESPMEM_PERSISTENT);
		status = status >= 400 ? status : 500;
	} else {
		r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
		if (r == NULL)
			free(data);
	}
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (status == 405 && call->allow[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, call->allow);
	call->status = status;
	call->state = GW_CALL_DONE;
	ret = MHD_queue_response(call->conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* An error answered at once on MHD's thread. */
static enum MHD_Result answer_now(struct gw_call *call, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum MHD_Result answer_now(struct gw_call *call, unsigned status, const char *fmt, ...)
{
	char message[ISOL8_ERROR_MESSAGE_MAX];
	struct gw_buf b = GW_BUF_INIT(0);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (gw_error_json(&b, message) < 0)
		gw_buf_free(&b);
	return queue_json(call, status, &b);
}

static void *run_unary(void *arg)
{
	struct gw_call *call = arg;
	struct gw_server *srv = call->srv;

	call->route->handler(call);
	if (call->status == 0)
		gw_call_error(call, 500, "the handler gave no answer");
	call->state = GW_CALL_READY;
	/* from here the call is MHD's again: do not touch it */
	MHD_resume_connection(call->conn);
	gw_worker_done(srv);
	return NULL;
}

/* ---- Requests ---------------------------------------------------------- */

static char *dup_value(struct MHD_Connection *conn, enum MHD_ValueKind kind, const char *key)
{
	const char *v = MHD_lookup_connection_value(conn, kind, key);

	return v ? strdup(v) : NULL;
}

/* Who may call: 0, or an answer queued. */
static int check_auth(struct gw_call *call, enum MHD_Result *answered)
{
	const struct gw_config *cfg = &call->srv->cfg;
	const char *header = MHD_lookup_connection_value(call->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	size_t len = 0;
	const char *token = gw_auth_token(header, &len);

	if (header == NULL) {
		*answered = answer_now(call, 401, "Missing Authorization header");
		return -1;
	}
	if (token == NULL) {
		*answered = answer_now(call, 401, "Authorization header is not \"Bearer <key>\"");
		return -1;
	}
	if (cfg->key != NULL && !gw_auth_equal(token, len, cfg->key)) {
		*answered = answer_now(call, 403, "Invalid API key");
		return -1;
	}
	call->token = strndup(token, len);
	if (call->token == NULL) {
		*answered = answer_now(call, 503, "out of memory");
		return -1;
	}
	return 0;
}

/* POST /cleanup's own rule: --no-cleanup, --cleanup-key. */
static int check_cleanup(struct gw_call *call, enum MHD_Result *answered)
{
	const struct gw_config *cfg = &call->srv->cfg;

	if (strcmp(call->route->path, "/cleanup") != 0)
		return 0;
	if (!cfg->cleanup_enabled) {
		*answered = answer_now(call, 403, "POST /cleanup is disabled on this gateway");
		return -1;
	}
	for (size_t i = 0; i < cfg->n_cleanup_keys; i++) {
		if (gw_auth_equal(call->token, strlen(call->token), cfg->cleanup_keys[i]))
			return 0;
	}
	if (cfg->n_cleanup_keys) {
		*answered = answer_now(call, 403, "This key may not run POST /cleanup");
		return -1;
	}
	return 0;
}

/* The most body bytes the route takes. */
static size_t body_limit(const struct gw_call *call)
{
	size_t max = call->srv->cfg.max_body_size, enc;

	if (strcmp(call->route->path, "/file") == 0 && isol8_base64_encoded_size(max, &enc))
		return enc + (64u << 10);
	return max;
}

static enum MHD_Result check_length(struct gw_call *call)
{
	const char *cl = MHD_lookup_connection_value(call->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	call->body.max = body_limit(call);
	if (cl == NULL)
		return MHD_YES;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno == 0 && end != cl && n > call->body.max)
		return answer_now(call, 413, "body: %llu bytes, more than the %zu this gateway takes (--max-body-size)",
				  n, call->body.max);
	return MHD_YES;
}

static enum MHD_Result call_begin(struct gw_server *srv, struct MHD_Connection *conn, const char *url,
				  const char *method, void **con_cls)
{
	struct gw_call *call = calloc(1, sizeof(*call));
	const union MHD_ConnectionInfo *info;
	const char *param = NULL;
	size_t param_len = 0;
	enum MHD_Result answered = MHD_YES;
	enum gw_route_match m;

	if (call == NULL)
		return MHD_NO;
	*con_cls = call;
	call->srv = srv;
	call->conn = conn;
	call->method = method;
	call->url = url;
	call->start_ms = isol8_now_ms();
	call->fd = -1;
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (info)
		call->fd = info->connect_fd;
	/* HEAD is GET without the body (MHD leaves the body out) */
	m = gw_route_find(gw_routes, gw_routes_count, strcmp(method, "HEAD") == 0 ? "GET" : method, url, &call->route,
			  &param, &param_len, call->allow, sizeof(call->allow));
	if ((m != GW_ROUTE_FOUND || call->route->auth) && strcmp(url, "/health") != 0 && check_auth(call, &answered) < 0)
		return answered;
	if (m == GW_ROUTE_NO_PATH)
		return answer_now(call, 404, "Not found: %s %.200s", method, url);
	if (m == GW_ROUTE_NO_METHOD)
		return answer_now(call, 405, "Method %s is not allowed on %.200s (allowed: %s)", method, url,
				  call->allow);
	if (check_cleanup(call, &answered) < 0)
		return answered;
	if (param != NULL && (call->param = strndup(param, param_len)) == NULL)
		return answer_now(call, 503, "out of memory");
	call->query_session = dup_value(conn, MHD_GET_ARGUMENT_KIND, "sessionId");
	call->query_path = dup_value(conn, MHD_GET_ARGUMENT_KIND, "path");
	return check_length(call);
}

static enum MHD_Result call_read(struct gw_call *call, const char *data, size_t *size)
{
	size_t n = *size;
	int64_t timeout = call->srv->cfg.request_timeout_ms;

	*size = 0;
	if (isol8_now_ms() - call->start_ms > timeout) {
		isol8_log(ISOL8_LOG_INFO, "%s %s: the body took longer than %lld ms: closed", call->method, call->url,
			  (long long)timeout);
		return MHD_NO;
	}
	if (call->too_large) {
		call->discarded += n;
		return call->discarded > call->body.max ? MHD_NO : MHD_YES;
	}
	if (gw_buf_append(&call->body, data, n) < 0) {
		call->too_large = true;
		call->discarded = n;
		gw_buf_free(&call->body);
	}
	return MHD_YES;
}

/* The whole request is in: answer, or hand it to a worker. */
static enum MHD_Result call_dispatch(struct gw_call *call)
{
	if (call->too_large)
		return answer_now(call, 413, "body: more than the %zu bytes this gateway takes (--max-body-size)",
				  call->body.max);
	if (call->route->kind == GW_ROUTE_UPGRADE)
		return gw_ws_upgrade(call);
	call->state = GW_CALL_RUNNING;
	if (call->route->kind == GW_ROUTE_SSE)
		call->state = GW_CALL_STREAM;
	/* suspended before the worker starts, so its resume always follows */
	MHD_suspend_connection(call->conn);
	if (call->route->kind == GW_ROUTE_SSE) {
		gw_handle_execute_stream(call);
		if (call->sse != NULL)
			return MHD_YES;
	} else if (gw_worker_start(call->srv, run_unary, call) == 0) {
		return MHD_YES;
	}
	/* no worker: answer from here once resumed */
	if (call->status == 0 && gw_server_stopping(call->srv))
		gw_call_error(call, 503, "isol8-gateway is shutting down");
	else if (call->status == 0)
		gw_call_error(call, 429, "too many requests at once (%u running): try again later",
			      call->srv->max_workers);
	call->state = GW_CALL_READY;
	MHD_resume_connection(call->conn);
	return MHD_YES;
}

enum MHD_Result gw_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct gw_call *call = *con_cls;

	(void)version;
	if (call == NULL)
		return call_begin(cls, conn, url, method, con_cls);
	switch (call->state) {
	case GW_CALL_READING:
		if (*upload_size)
			return call_read(call, upload_data, upload_size);
		return call_dispatch(call);
	case GW_CALL_READY: return queue_json(call, call->status, &call->resp);
	case GW_CALL_STREAM: return gw_sse_respond(call);
	default: return MHD_YES;
	}
}

void gw_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct gw_call *call = *con_cls;

	(void)cls;
	(void)conn;
	if (call == NULL)
		return;
	/* 5xx are worth a line without --debug (an unhealthy /health is what probes ask about) */
	bool failed = call->status >= 500 && strcmp(call->url, "/health") != 0;

	if (call->srv->cfg.debug || failed)
		isol8_log(failed ? ISOL8_LOG_WARN : ISOL8_LOG_INFO, "%s %s %u %lld ms%s", call->method, ISOL8_LOG_Q(call->url),
			  call->status ? call->status : (call->route && call->route->kind == GW_ROUTE_UPGRADE ? 101 : 0),
			  (long long)(isol8_now_ms() - call->start_ms),
			  toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
	if (call->sse)
		gw_sse_call_ended(call);
	gw_buf_free(&call->body);
	gw_buf_free(&call->resp);
	if (call->own_client)
		isol8_client_free(call->client);
	cJSON_Delete(call->json);
	free(call->param);
	free(call->token);
	free(call->query_session);
	free(call->query_path);
	free(call);
	*con_cls = NULL;
}

