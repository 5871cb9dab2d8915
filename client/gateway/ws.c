/*
 * GET /execute/ws: the handshake, the hub, and frames on the socket.
 *
 * MHD answers 101 and hands the socket over (upgrade_cb). The connection
 * then waits on the hub, one epoll thread for every upgraded connection
 * that has not sent its "execute" message yet (answering pings, refusing
 * bad frames, closing connections silent past the request timeout). An
 * "execute" message moves it to a session of its own (ws_session.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "gateway/errors.h"
#include "gateway/mapping.h"
#include "gateway/ws.h"

struct gw_ws_hub {
	int epfd;
	int wake_fd;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	struct gw_ws *list; /* every open connection, waiting or running */
	bool stopping;
	size_t count;
};

/* ---- Connections -------------------------------------------------------- */

void gw_ws_unref(struct gw_ws *ws)
{
	struct gw_ws_hub *hub = ws->srv->ws;
	bool last;

	pthread_mutex_lock(&ws->lock);
	last = --ws->refs == 0;
	pthread_mutex_unlock(&ws->lock);
	if (!last)
		return;
	pthread_mutex_lock(&hub->lock);
	if (ws->prev)
		ws->prev->next = ws->next;
	else if (hub->list == ws)
		hub->list = ws->next;
	if (ws->next)
		ws->next->prev = ws->prev;
	hub->count--;
	pthread_mutex_unlock(&hub->lock);
	if (ws->stream)
		isol8_stream_free(ws->stream);
	if (ws->session)
		gw_ws_session_free(ws->session);
	MHD_upgrade_action(ws->urh, MHD_UPGRADE_ACTION_CLOSE); /* closes the socket */
	gw_ws_message_reset(&ws->msg);
	free(ws->in);
	free(ws->token);
	pthread_mutex_destroy(&ws->lock);
	pthread_mutex_destroy(&ws->write_lock);
	free(ws);
}

void gw_ws_hub_release(struct gw_ws *ws)
{
	epoll_ctl(ws->srv->ws->epfd, EPOLL_CTL_DEL, ws->fd, NULL);
}

/* The hub's end of a waiting connection. */
static void hub_close(struct gw_ws *ws, int code, const char *reason)
{
	if (code)
		gw_ws_send_close(ws, code, reason, 1000);
	epoll_ctl(ws->srv->ws->epfd, EPOLL_CTL_DEL, ws->fd, NULL);
	pthread_mutex_lock(&ws->lock);
	ws->state = GW_WS_CLOSED;
	pthread_mutex_unlock(&ws->lock);
	gw_ws_unref(ws);
}

/* A complete message on a waiting connection: 0 to wait on, -1 when the
 * hub is done with it (closed, or handed to a session). */
static int waiting_message(struct gw_ws *ws)
{
	cJSON *msg = NULL;
	const cJSON *type;
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (ws->msg.opcode != GW_WS_TEXT ||
	    gw_json_parse_object(ws->msg.data.data, ws->msg.data.len, "message", &msg, &err) < 0) {
		gw_ws_message_done(ws);
		gw_ws_send_event(ws, "error", "Invalid JSON message", 20, NULL, 1000);
		hub_close(ws, GW_WS_UNSUPPORTED, "Invalid JSON");
		return -1;
	}
	gw_ws_message_done(ws);
	type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	if (cJSON_IsString(type) && strcmp(type->valuestring, "execute") == 0) {
		gw_ws_session_start(ws, msg); /* takes msg and the connection */
		return -1;
	}
	if (cJSON_IsString(type) && (strcmp(type->valuestring, "stdin") == 0 || strcmp(type->valuestring, "signal") == 0)) {
		cJSON_Delete(msg); /* nothing runs yet: ignored, as the original does */
		return 0;
	}
	{
		char text[300];
		gw_ws_unknown_type(type, text, sizeof(text));
		gw_ws_send_event(ws, "error", text, strlen(text), NULL, 1000);
	}
	cJSON_Delete(msg);
	return 0;
}

/* Input on a waiting connection. */
static void waiting_input(struct gw_ws *ws)
{
	int r = gw_ws_read(ws);

	if (r < 0 && ws->in_len == 0) {
		hub_close(ws, 0, NULL);
		return;
	}
	for (;;) {
		int m = gw_ws_next_message(ws, 1000);
		if (m < 0) {
			hub_close(ws, 0, NULL);
			return;
		}
		if (m == 0)
			break;
		if (waiting_message(ws) < 0)
			return;
	}
	if (r < 0)
		hub_close(ws, 0, NULL);
}

static void hub_sweep(struct gw_server *srv, bool all)
{
	struct gw_ws_hub *hub = srv->ws;
	int64_t now = isol8_now_ms();
	struct gw_ws *expired[64];
	size_t n = 0;

	pthread_mutex_lock(&hub->lock);
	for (struct gw_ws *ws = hub->list; ws && n < ISOL8_ARRAY_LEN(expired); ws = ws->next) {
		if (ws->state == GW_WS_WAITING && (all || now - ws->opened_ms > srv->cfg.request_timeout_ms))
			expired[n++] = ws;
		else if (all && ws->state == GW_WS_RUNNING) {
			pthread_mutex_lock(&ws->lock);
			ws->cancelled = true;
			if (ws->stream)
				isol8_stream_cancel(ws->stream);
			pthread_mutex_unlock(&ws->lock);
		}
	}
	pthread_mutex_unlock(&hub->lock);
	for (size_t i = 0; i < n; i++)
		hub_close(expired[i], all ? GW_WS_GOING_AWAY : 1008, all ? "server shutting down" : "no execute message in time");
}

static void *hub_run(void *arg)
{
	struct gw_server *srv = arg;
	struct gw_ws_hub *hub = srv->ws;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(hub->epfd, evs, ISOL8_ARRAY_LEN(evs), 1000);
		bool stopping;

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				uint64_t v;
				if (read(hub->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					isol8_log(ISOL8_LOG_DEBUG, "ws hub: eventfd read failed");
				continue;
			}
			waiting_input(evs[i].data.ptr);
		}
		pthread_mutex_lock(&hub->lock);
		stopping = hub->stopping;
		pthread_mutex_unlock(&hub->lock);
		hub_sweep(srv, stopping);
		if (stopping)
			return NULL;
	}
}

/* MHD hands the socket over. */
static void upgrade_cb(void *cls, struct MHD_Connection *connection, void *con_cls, const char *extra_in,
		       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct gw_server *srv = cls;
	struct gw_ws_hub *hub = srv->ws;
	struct gw_call *call = con_cls;
	struct gw_ws *ws = calloc(1, sizeof(*ws));
	size_t cap = 16u << 10; /* grows as frames need (ws_io.c) */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
	uint64_t one = 1;

	(void)connection;
	if (extra_in_size > cap)
		cap = extra_in_size;
	if (ws == NULL || (ws->in = malloc(cap)) == NULL ||
	    (call && call->token && (ws->token = strdup(call->token)) == NULL)) {
		if (ws) {
			free(ws->in);
			free(ws);
		}
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	ws->srv = srv;
	ws->urh = urh;
	ws->fd = sock;
	ws->in_cap = cap;
	ws->opened_ms = isol8_now_ms();
	ws->refs = 1;
	ws->state = GW_WS_WAITING;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_mutex_init(&ws->write_lock, NULL);
	memcpy(ws->in, extra_in, extra_in_size);
	ws->in_len = extra_in_size;
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	pthread_mutex_lock(&hub->lock);
	if (hub->stopping) { /* upgraded as the stop began: the hub no longer runs */
		pthread_mutex_unlock(&hub->lock);
		gw_ws_send_close(ws, GW_WS_GOING_AWAY, "server shutting down", 1000);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		gw_ws_message_reset(&ws->msg);
		free(ws->in);
		free(ws->token);
		free(ws);
		return;
	}
	ws->next = hub->list;
	if (hub->list)
		hub->list->prev = ws;
	hub->list = ws;
	hub->count++;
	pthread_mutex_unlock(&hub->lock);
	ev.data.ptr = ws;
	/* level-triggered: bytes that came with the upgrade are taken on the first wake */
	if (epoll_ctl(hub->epfd, EPOLL_CTL_ADD, sock, &ev) < 0) {
		gw_ws_unref(ws);
		return;
	}
	if (extra_in_size && write(hub->wake_fd, &one, sizeof(one)) < 0)
		isol8_log(ISOL8_LOG_DEBUG, "ws hub: wake failed");
}

enum MHD_Result gw_ws_upgrade(struct gw_call *call)
{
	struct MHD_Connection *c = call->conn;
	const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
	const char *connection = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONNECTION);
	const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	const char *version = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
	struct MHD_Response *r;
	struct gw_buf b = GW_BUF_INIT(0);
	char accept[29];
	enum MHD_Result ret;
	unsigned status = 0;
	const char *why = NULL;

	if (!gw_ws_header_has_token(upgrade, "websocket") || !gw_ws_header_has_token(connection, "upgrade"))
		status = 426, why = "GET /execute/ws is a WebSocket endpoint (Upgrade: websocket)";
	else if (version == NULL || strcmp(version, "13") != 0)
		status = 426, why = "Sec-WebSocket-Version: 13 is the version served";
	else if (!gw_ws_key_valid(key))
		status = 400, why = "Sec-WebSocket-Key: expected the base64 of 16 bytes";
	if (status) {
		char *data;
		size_t len;
		if (gw_error_json(&b, why) < 0)
			return MHD_NO;
		data = gw_buf_take(&b, &len);
		r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
		if (r == NULL) {
			free(data);
			return MHD_NO;
		}
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		if (status == 426) {
			MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
			MHD_add_response_header(r, "Sec-WebSocket-Version", "13");
		}
		call->status = status;
		call->state = GW_CALL_DONE;
		ret = MHD_queue_response(c, status, r);
		MHD_destroy_response(r);
		return ret;
	}
	gw_ws_accept_key(key, accept);
	r = MHD_create_response_for_upgrade(upgrade_cb, call->srv);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
	call->status = 101;
	call->state = GW_CALL_DONE;
	ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	return ret;
}

int gw_ws_hub_start(struct gw_server *srv, struct isol8_error *err)
{
	struct gw_ws_hub *hub = calloc(1, sizeof(*hub));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	if (hub == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	srv->ws = hub;
	pthread_mutex_init(&hub->lock, NULL);
	hub->epfd = epoll_create1(EPOLL_CLOEXEC);
	hub->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (hub->epfd < 0 || hub->wake_fd < 0 || epoll_ctl(hub->epfd, EPOLL_CTL_ADD, hub->wake_fd, &ev) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "WebSocket hub");
	if (pthread_create(&hub->thread, NULL, hub_run, srv) != 0)
		return isol8_error_set(err, ISOL8_E_NOMEM, "cannot start the WebSocket hub");
	hub->started = true;
	return 0;
}

void gw_ws_hub_stop(struct gw_server *srv)
{
	struct gw_ws_hub *hub = srv->ws;
	uint64_t one = 1;

	if (hub == NULL || !hub->started)
		return;
	pthread_mutex_lock(&hub->lock);
	hub->stopping = true;
	pthread_mutex_unlock(&hub->lock);
	if (write(hub->wake_fd, &one, sizeof(one)) < 0)
		isol8_log(ISOL8_LOG_DEBUG, "ws hub: wake failed");
	pthread_join(hub->thread, NULL);
	hub->started = false;
}
