/*
 * Incremental frame reading for poll loops: bytes are read from a socket as
 * they come and whole frames are taken out one at a time. The buffer never
 * holds more than one maximal frame plus one read's worth of bytes, and a
 * length prefix is checked (isol8_frame_decode) before the buffer grows for it.
 * Used by isol8-agent's exec loop and by the host-side agent client.
 */
#ifndef ISOL8_FRAME_READER_H
#define ISOL8_FRAME_READER_H

#include <stddef.h>
#include <stdint.h>

#include "frame/frame.h"

#define ISOL8_FRAME_READ_CHUNK (64u * 1024u)

struct isol8_frame_reader {
	uint8_t *buf;
	size_t len;
	size_t cap;
};

#define ISOL8_FRAME_READER_INIT {NULL, 0, 0}

/* One read() from fd into the buffer. Returns 0 at EOF, 1 otherwise (also
 * when a non-blocking fd had nothing to read), negative on an I/O error or
 * when the buffer would pass its bound. Take frames out with
 * isol8_frame_reader_next until it returns 0 before filling again. */
int isol8_frame_reader_fill(struct isol8_frame_reader *reader, int fd, struct isol8_error *err);

/* Takes the next whole frame out of the buffer: 1 with *out (free with
 * isol8_frame_free), 0 when more bytes are needed, negative for an oversized
 * length or a malformed body. */
int isol8_frame_reader_next(struct isol8_frame_reader *reader, isol8_frame **out, struct isol8_error *err);

/* Bytes held that do not yet make a whole frame. */
size_t isol8_frame_reader_pending(const struct isol8_frame_reader *reader);

void isol8_frame_reader_release(struct isol8_frame_reader *reader);

#endif
