/* Agent protocol framing: see frame.h. */
#include "frame/frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"

static uint32_t frame_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void frame_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int isol8_frame_encode(const isol8_frame *frame, uint8_t **buf, size_t *len, struct isol8_error *err)
{
	size_t body = isol8__agent__v1__frame__get_packed_size(frame);
	uint8_t *out;

	if (body > ISOL8_FRAME_MAX)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "agent frame of %zu bytes exceeds the %u byte limit",
				       body, ISOL8_FRAME_MAX);
	out = malloc(ISOL8_FRAME_HEADER + body);
	if (out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory encoding an agent frame");
	frame_put_be32(out, (uint32_t)body);
	isol8__agent__v1__frame__pack(frame, out + ISOL8_FRAME_HEADER);
	*buf = out;
	*len = ISOL8_FRAME_HEADER + body;
	return 0;
}

/* Checks a length prefix; negative when it passes ISOL8_FRAME_MAX. */
static int frame_check_length(uint32_t body, struct isol8_error *err)
{
	if (body > ISOL8_FRAME_MAX)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "agent frame length %u exceeds the %u byte limit", body,
				       ISOL8_FRAME_MAX);
	return 0;
}

static int frame_unpack(const uint8_t *body, size_t len, isol8_frame **out, struct isol8_error *err)
{
	isol8_frame *frame = isol8__agent__v1__frame__unpack(NULL, len, body);

	if (frame == NULL)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "malformed agent frame (%zu bytes)", len);
	*out = frame;
	return 0;
}

int isol8_frame_decode(const uint8_t *buf, size_t len, isol8_frame **out, size_t *consumed,
		       struct isol8_error *err)
{
	uint32_t body;
	int ret;

	if (len < ISOL8_FRAME_HEADER)
		return 0;
	body = frame_get_be32(buf);
	ret = frame_check_length(body, err);
	if (ret < 0)
		return ret;
	if (len - ISOL8_FRAME_HEADER < body)
		return 0;
	ret = frame_unpack(buf + ISOL8_FRAME_HEADER, body, out, err);
	if (ret < 0)
		return ret;
	*consumed = ISOL8_FRAME_HEADER + body;
	return 1;
}

/* Waits until fd is ready for events or the deadline (ms, < 0 = none) passes. */
static int frame_wait(int fd, short events, int64_t deadline_ms, struct isol8_error *err)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		int timeout = -1;
		int n;

		if (deadline_ms >= 0) {
			int64_t left = deadline_ms - isol8_now_ms();
			if (left <= 0)
				return isol8_error_set(err, ISOL8_E_DEADLINE, "timed out waiting for an agent frame");
			timeout = left > 60000 ? 60000 : (int)left;
		}
		n = poll(&pfd, 1, timeout);
		if (n < 0 && errno != EINTR)
			return isol8_error_errno(err, ISOL8_E_IO, errno, "poll on agent socket");
		if (n > 0)
			return 0;
	}
}

int isol8_frame_write(int fd, const isol8_frame *frame, struct isol8_error *err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	int ret = isol8_frame_encode(frame, &buf, &len, err);

	if (ret < 0)
		return ret;
	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, buf + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ret = frame_wait(fd, POLLOUT, -1, err);
				if (ret < 0)
					return ret;
				continue;
			}
			return isol8_error_errno(err, ISOL8_E_IO, errno, "write agent frame");
		}
		off += (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes before the deadline. Returns bytes read, which is
 * less than len only at EOF, or a negative error. */
static ssize_t frame_read_exact(int fd, uint8_t *buf, size_t len, int64_t deadline_ms, struct isol8_error *err)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;
		int ret = frame_wait(fd, POLLIN, deadline_ms, err);

		if (ret < 0)
			return ret;
		n = read(fd, buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return isol8_error_errno(err, ISOL8_E_IO, errno, "read agent frame");
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int isol8_frame_read(int fd, isol8_frame **out, int timeout_ms, struct isol8_error *err)
{
	int64_t deadline = timeout_ms < 0 ? -1 : isol8_now_ms() + timeout_ms;
	uint8_t header[ISOL8_FRAME_HEADER];
	_cleanup_free_ uint8_t *body = NULL;
	uint32_t body_len;
	ssize_t n;
	int ret;

	n = frame_read_exact(fd, header, sizeof(header), deadline, err);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(header))
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "truncated agent frame header (%zd of 4 bytes)", n);
	body_len = frame_get_be32(header);
	ret = frame_check_length(body_len, err);
	if (ret < 0)
		return ret;
	body = malloc(body_len > 0 ? body_len : 1);
	if (body == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory reading an agent frame");
	n = frame_read_exact(fd, body, body_len, deadline, err);
	if (n < 0)
		return (int)n;
	if ((size_t)n < body_len)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "truncated agent frame (%zd of %u bytes)", n, body_len);
	ret = frame_unpack(body, body_len, out, err);
	return ret < 0 ? ret : 1;
}

void isol8_frame_free(isol8_frame *frame)
{
	if (frame != NULL)
		isol8__agent__v1__frame__free_unpacked(frame, NULL);
}
