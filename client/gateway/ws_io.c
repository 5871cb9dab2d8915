/* Frames on an upgraded socket: writes with a timeout under the
 * connection's write lock, reads into its bounded input buffer, and the
 * control frames (ping, pong, close) handled where messages are taken. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/util.h"
#include "gateway/mapping.h"
#include "gateway/ws.h"

/* ---- Frames on the socket --------------------------------------------- */

static int write_all(int fd, const unsigned char *p, size_t n, int timeout_ms)
{
	int64_t until = isol8_now_ms() + timeout_ms;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			int left = (int)(until - isol8_now_ms());
			if (left <= 0 || poll(&pfd, 1, left > 200 ? 200 : left) < 0)
				return left <= 0 ? -1 : (errno == EINTR ? 0 : -1);
			continue;
		}
		return -1;
	}
	return 0;
}

int gw_ws_send(struct gw_ws *ws, int opcode, const void *payload, size_t len, int timeout_ms)
{
	unsigned char header[10];
	size_t h = gw_ws_frame_header(header, opcode, true, len);
	int ret;

	pthread_mutex_lock(&ws->write_lock);
	ret = write_all(ws->fd, header, h, timeout_ms);
	if (ret == 0 && len)
		ret = write_all(ws->fd, payload, len, timeout_ms);
	pthread_mutex_unlock(&ws->write_lock);
	return ret;
}

void gw_ws_send_close(struct gw_ws *ws, int code, const char *reason, int timeout_ms)
{
	unsigned char payload[125];
	size_t n = reason ? strlen(reason) : 0;
	bool first;

	pthread_mutex_lock(&ws->lock);
	first = !ws->close_sent;
	ws->close_sent = true;
	pthread_mutex_unlock(&ws->lock);
	if (!first)
		return;
	if (n > sizeof(payload) - 2)
		n = sizeof(payload) - 2;
	payload[0] = (unsigned char)(code >> 8);
	payload[1] = (unsigned char)code;
	memcpy(payload + 2, reason ? reason : "", n);
	gw_ws_send(ws, GW_WS_CLOSE, payload, n + 2, timeout_ms);
}

int gw_ws_send_event(struct gw_ws *ws, const char *type, const char *data, size_t n, const char *phase,
		     int timeout_ms)
{
	struct gw_buf b = GW_BUF_INIT(0);
	int ret = gw_event_json(&b, type, data, n, phase);

	if (ret == 0)
		ret = gw_ws_send(ws, GW_WS_TEXT, b.data, b.len, timeout_ms);
	gw_buf_free(&b);
	return ret;
}

/* Doubles the input buffer, up to one frame of the largest message. */
static int grow(struct gw_ws *ws)
{
	size_t max = ws->srv->cfg.max_body_size + 14, cap = ws->in_cap * 2;
	unsigned char *p;

	if (ws->in_cap >= max)
		return -1;
	if (cap > max)
		cap = max;
	p = realloc(ws->in, cap);
	if (p == NULL)
		return -1;
	ws->in = p;
	ws->in_cap = cap;
	return 0;
}

int gw_ws_read(struct gw_ws *ws)
{
	bool got = false;

	for (;;) {
		ssize_t r;
		if (ws->in_len == ws->in_cap && grow(ws) < 0)
			return got ? 1 : 0; /* full: the frames in it must be taken first */
		r = recv(ws->fd, ws->in + ws->in_len, ws->in_cap - ws->in_len, MSG_DONTWAIT);
		if (r > 0) {
			ws->in_len += (size_t)r;
			got = true;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return got ? 1 : 0;
		return got ? 1 : -1;
	}
}

/* A control frame. 0 to go on, -1 when the connection ends. */
static int control_frame(struct gw_ws *ws, const struct gw_ws_frame *f, int timeout_ms)
{
	if (f->opcode == GW_WS_PING)
		return gw_ws_send(ws, GW_WS_PONG, f->payload, f->payload_len, timeout_ms) == 0 ? 0 : -1;
	if (f->opcode == GW_WS_PONG)
		return 0;
	/* close: echo the code (1000 for none) and end */
	{
		int code = f->payload_len >= 2 ? (f->payload[0] << 8 | f->payload[1]) : GW_WS_NORMAL;
		gw_ws_send_close(ws, code, "", timeout_ms);
	}
	return -1;
}

int gw_ws_next_message(struct gw_ws *ws, int timeout_ms)
{
	size_t max = ws->srv->cfg.max_body_size;

	while (!ws->msg.complete) {
		struct gw_ws_frame f;
		const char *reason = NULL;
		int code = 0;
		enum gw_ws_parse r = gw_ws_parse_frame(ws->in, ws->in_len, max, &f, &code, &reason);
		if (r == GW_WS_NEED_MORE)
			return 0;
		if (r == GW_WS_FRAME) {
			if (f.opcode >= GW_WS_CLOSE)
				code = control_frame(ws, &f, timeout_ms) < 0 ? -1 : 0;
			else
				code = gw_ws_message_add(&ws->msg, &f, max, &reason);
			memmove(ws->in, ws->in + f.frame_len, ws->in_len - f.frame_len);
			ws->in_len -= f.frame_len;
			if (code == -1)
				return -1;
		}
		if (code > 0) {
			gw_ws_send_close(ws, code, reason, timeout_ms);
			return -1;
		}
	}
	return 1;
}

void gw_ws_message_done(struct gw_ws *ws)
{
	gw_ws_message_reset(&ws->msg);
}


void gw_ws_unknown_type(const cJSON *type, char *out, size_t size)
{
	char *printed = NULL;

	/* as the original words it: `Unknown message type: ${msg.type}` */
	if (cJSON_IsString(type))
		snprintf(out, size, "Unknown message type: %.200s", type->valuestring);
	else if (type == NULL)
		snprintf(out, size, "Unknown message type: undefined");
	else {
		printed = cJSON_PrintUnformatted(type);
		snprintf(out, size, "Unknown message type: %.200s", printed ? printed : "?");
		cJSON_free(printed);
	}
}
