/* WebSocket frames and handshake: see ws_frame.h. */
#include "gateway/ws_frame.h"

#include <string.h>
#include <strings.h>

#include "base/base64.h"
#include "base/sha1.h"
#include "base/util.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static bool opcode_known(int op)
{
	return op == GW_WS_CONTINUATION || op == GW_WS_TEXT || op == GW_WS_BINARY || op == GW_WS_CLOSE ||
	       op == GW_WS_PING || op == GW_WS_PONG;
}

static enum gw_ws_parse fail(int *close_code, const char **reason, int code, const char *why)
{
	*close_code = code;
	*reason = why;
	return GW_WS_ERROR;
}

enum gw_ws_parse gw_ws_parse_frame(unsigned char *data, size_t len, size_t max_payload, struct gw_ws_frame *f,
				   int *close_code, const char **reason)
{
	size_t header = 2;
	uint64_t plen;
	unsigned char *mask;

	if (len < 2)
		return GW_WS_NEED_MORE;
	f->fin = data[0] & 0x80;
	f->opcode = data[0] & 0x0f;
	if (data[0] & 0x70)
		return fail(close_code, reason, GW_WS_PROTOCOL_ERROR, "reserved bits set");
	if (!opcode_known(f->opcode))
		return fail(close_code, reason, GW_WS_PROTOCOL_ERROR, "unknown opcode");
	if (!(data[1] & 0x80))
		return fail(close_code, reason, GW_WS_PROTOCOL_ERROR, "client frames must be masked");
	plen = data[1] & 0x7f;
	if (plen == 126) {
		if (len < 4)
			return GW_WS_NEED_MORE;
		plen = (uint64_t)data[2] << 8 | data[3];
		header = 4;
	} else if (plen == 127) {
		if (len < 10)
			return GW_WS_NEED_MORE;
		if (data[2] & 0x80)
			return fail(close_code, reason, GW_WS_PROTOCOL_ERROR, "bad length");
		plen = 0;
		for (int i = 2; i < 10; i++)
			plen = plen << 8 | data[i];
		header = 10;
	}
	if (f->opcode >= GW_WS_CLOSE && (plen > 125 || !f->fin))
		return fail(close_code, reason, GW_WS_PROTOCOL_ERROR, "bad control frame");
	if (plen > max_payload)
		return fail(close_code, reason, GW_WS_TOO_BIG, "message too big");
	if (len < header + 4 || len - header - 4 < plen)
		return GW_WS_NEED_MORE;
	mask = data + header;
	f->payload = data + header + 4;
	f->payload_len = (size_t)plen;
	for (size_t i = 0; i < f->payload_len; i++)
		f->payload[i] ^= mask[i & 3];
	f->frame_len = header + 4 + f->payload_len;
	return GW_WS_FRAME;
}

int gw_ws_message_add(struct gw_ws_message *m, const struct gw_ws_frame *f, size_t max, const char **reason)
{
	if (f->opcode == GW_WS_CONTINUATION && m->opcode == 0) {
		*reason = "continuation without a message";
		return GW_WS_PROTOCOL_ERROR;
	}
	if (f->opcode != GW_WS_CONTINUATION && m->opcode != 0) {
		*reason = "a new message inside a fragmented one";
		return GW_WS_PROTOCOL_ERROR;
	}
	if (f->opcode != GW_WS_CONTINUATION)
		m->opcode = f->opcode;
	m->data.max = max;
	if (gw_buf_append(&m->data, f->payload, f->payload_len) < 0) {
		*reason = "message too big";
		return GW_WS_TOO_BIG;
	}
	if (!f->fin)
		return 0;
	if (m->opcode == GW_WS_TEXT && !gw_utf8_valid(m->data.data ? m->data.data : "", m->data.len)) {
		*reason = "text is not UTF-8";
		return GW_WS_BAD_DATA;
	}
	m->complete = true;
	return 0;
}

void gw_ws_message_reset(struct gw_ws_message *m)
{
	gw_buf_free(&m->data);
	m->opcode = 0;
	m->complete = false;
}

size_t gw_ws_frame_header(unsigned char out[10], int opcode, bool fin, size_t len)
{
	out[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

int gw_ws_frame_append(struct gw_buf *b, int opcode, const void *payload, size_t len)
{
	unsigned char header[10];
	size_t n = gw_ws_frame_header(header, opcode, true, len);
	size_t before = b->len;

	if (gw_buf_append(b, header, n) < 0)
		return -1;
	if (gw_buf_append(b, payload, len) < 0) {
		b->len = before;
		return -1;
	}
	return 0;
}

int gw_ws_close_append(struct gw_buf *b, int code, const char *reason)
{
	unsigned char payload[125];
	size_t n = reason ? strlen(reason) : 0;

	if (n > sizeof(payload) - 2)
		n = sizeof(payload) - 2;
	payload[0] = (unsigned char)(code >> 8);
	payload[1] = (unsigned char)code;
	if (n)
		memcpy(payload + 2, reason, n);
	return gw_ws_frame_append(b, GW_WS_CLOSE, payload, n + 2);
}

void gw_ws_accept_key(const char *key, char out[29])
{
	struct isol8_sha1 c;
	uint8_t digest[20];

	isol8_sha1_init(&c);
	isol8_sha1_update(&c, key, strlen(key));
	isol8_sha1_update(&c, WS_GUID, strlen(WS_GUID));
	isol8_sha1_final(&c, digest);
	isol8_base64_encode(digest, sizeof(digest), out);
}

bool gw_ws_key_valid(const char *key)
{
	unsigned char raw[32];
	size_t n = 0, len = key ? strlen(key) : 0;

	return len == 24 && isol8_base64_decode(key, len, raw, &n) && n == 16;
}

bool gw_ws_header_has_token(const char *value, const char *token)
{
	size_t tlen = strlen(token);

	while (value && *value) {
		const char *end;
		size_t n;
		while (*value == ' ' || *value == '\t' || *value == ',')
			value++;
		end = value;
		while (*end && *end != ',')
			end++;
		n = (size_t)(end - value);
		while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(value, token, tlen) == 0)
			return true;
		value = end;
	}
	return false;
}

bool gw_utf8_valid(const char *data, size_t n)
{
	const unsigned char *p = (const unsigned char *)data;

	for (size_t i = 0; i < n;) {
		size_t len = isol8_utf8_sequence(p + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}
