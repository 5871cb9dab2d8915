/* Incremental frame reading: see frame_reader.h. */
#include "frame/frame_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most the buffer may hold: one maximal frame and one more read. */
#define FRAME_READER_MAX (ISOL8_FRAME_HEADER + ISOL8_FRAME_MAX + ISOL8_FRAME_READ_CHUNK)

static int frame_reader_reserve(struct isol8_frame_reader *reader, size_t want, struct isol8_error *err)
{
	size_t cap = reader->cap ? reader->cap : ISOL8_FRAME_READ_CHUNK;
	uint8_t *grown;

	if (want > FRAME_READER_MAX)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "agent frame buffer would pass %u bytes",
				       (unsigned)FRAME_READER_MAX);
	if (want <= reader->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > FRAME_READER_MAX)
		cap = FRAME_READER_MAX;
	grown = realloc(reader->buf, cap);
	if (grown == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory buffering an agent frame");
	reader->buf = grown;
	reader->cap = cap;
	return 0;
}

int isol8_frame_reader_fill(struct isol8_frame_reader *reader, int fd, struct isol8_error *err)
{
	ssize_t n;
	int ret = frame_reader_reserve(reader, reader->len + ISOL8_FRAME_READ_CHUNK, err);

	if (ret < 0)
		return ret;
	do {
		n = read(fd, reader->buf + reader->len, ISOL8_FRAME_READ_CHUNK);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		return isol8_error_errno(err, ISOL8_E_IO, errno, "read agent socket");
	}
	if (n == 0)
		return 0;
	reader->len += (size_t)n;
	return 1;
}

int isol8_frame_reader_next(struct isol8_frame_reader *reader, isol8_frame **out, struct isol8_error *err)
{
	size_t consumed = 0;
	int ret = isol8_frame_decode(reader->buf, reader->len, out, &consumed, err);

	if (ret <= 0)
		return ret;
	memmove(reader->buf, reader->buf + consumed, reader->len - consumed);
	reader->len -= consumed;
	return 1;
}

size_t isol8_frame_reader_pending(const struct isol8_frame_reader *reader)
{
	return reader->len;
}

void isol8_frame_reader_release(struct isol8_frame_reader *reader)
{
	free(reader->buf);
	reader->buf = NULL;
	reader->len = reader->cap = 0;
}
