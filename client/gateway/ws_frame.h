/*
 * RFC 6455 framing and handshake, as pure functions (no I/O): the
 * gateway's WebSocket connections (ws.c) feed bytes in and take frames
 * out; tests feed them byte strings.
 *
 * A server takes only masked frames from a client (5.1), no extensions
 * (RSV bits set: 1002), control frames of at most 125 bytes that are not
 * fragmented, and messages of at most a maximum size (1009 past it); a
 * text message must be UTF-8 (1007).
 */
#ifndef ISOL8_GATEWAY_WS_FRAME_H
#define ISOL8_GATEWAY_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/buf.h"

enum gw_ws_opcode {
	GW_WS_CONTINUATION = 0x0,
	GW_WS_TEXT = 0x1,
	GW_WS_BINARY = 0x2,
	GW_WS_CLOSE = 0x8,
	GW_WS_PING = 0x9,
	GW_WS_PONG = 0xa,
};

enum gw_ws_close_code {
	GW_WS_NORMAL = 1000,
	GW_WS_GOING_AWAY = 1001,
	GW_WS_PROTOCOL_ERROR = 1002,
	GW_WS_UNSUPPORTED = 1003,
	GW_WS_BAD_DATA = 1007,
	GW_WS_TOO_BIG = 1009,
	GW_WS_INTERNAL = 1011,
};

struct gw_ws_frame {
	bool fin;
	int opcode;
	unsigned char *payload; /* unmasked in place, inside the caller's buffer */
	size_t payload_len;
	size_t frame_len; /* header + payload: bytes to drop from the buffer */
};

enum gw_ws_parse { GW_WS_NEED_MORE, GW_WS_FRAME, GW_WS_ERROR };

/* Parses one client frame at the start of data (len bytes). ERROR sets
 * *close_code and *reason. */
enum gw_ws_parse gw_ws_parse_frame(unsigned char *data, size_t len, size_t max_payload, struct gw_ws_frame *f,
				   int *close_code, const char **reason);

/* A message being put together from frames. */
struct gw_ws_message {
	struct gw_buf data;
	int opcode; /* TEXT or BINARY while one is open, 0 when none */
	bool complete;
};

/* Adds a data frame (TEXT, BINARY or CONTINUATION) to m; once the message
 * is complete m->complete is set (then the caller reads m->data and calls
 * gw_ws_message_reset). Returns 0, or the close code for the error. */
int gw_ws_message_add(struct gw_ws_message *m, const struct gw_ws_frame *f, size_t max, const char **reason);
void gw_ws_message_reset(struct gw_ws_message *m);

/* Writes the header of an unmasked server frame of len payload bytes into
 * out (at most 10 bytes); returns its length. */
size_t gw_ws_frame_header(unsigned char out[10], int opcode, bool fin, size_t len);

/* A whole server frame (header, payload) appended to b. */
int gw_ws_frame_append(struct gw_buf *b, int opcode, const void *payload, size_t len);

/* A close frame with code and reason (cut to fit 125 bytes). */
int gw_ws_close_append(struct gw_buf *b, int code, const char *reason);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key GUID)),
 * 28 characters and a NUL. */
void gw_ws_accept_key(const char *key, char out[29]);

/* Whether a Sec-WebSocket-Key is valid: base64 of 16 bytes. */
bool gw_ws_key_valid(const char *key);

/* Whether a comma-separated header value holds token (any case). */
bool gw_ws_header_has_token(const char *value, const char *token);

/* Whether n bytes are UTF-8. */
bool gw_utf8_valid(const char *data, size_t n);

#endif
