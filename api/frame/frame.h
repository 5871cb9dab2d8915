/*
 * Agent protocol framing: a 4-byte big-endian length, then that many bytes of
 * a serialized isol8.agent.v1.Frame (api/isol8/agent/v1/agent.proto).
 * Lengths above ISOL8_FRAME_MAX are rejected before any allocation.
 * Used by isol8-agent (inside the sandbox) and by isol8d (host side).
 */
#ifndef ISOL8_FRAME_H
#define ISOL8_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "isol8/agent/v1/agent.pb-c.h"
#include "isol8/error.h"

#define ISOL8_FRAME_MAX (4u * 1024u * 1024u)
#define ISOL8_FRAME_HEADER 4u

typedef Isol8__Agent__V1__Frame isol8_frame;

/* Serializes a frame with its length prefix into a new buffer (*buf, caller
 * frees). ISOL8_E_EXHAUSTED if it would pass ISOL8_FRAME_MAX. */
int isol8_frame_encode(const isol8_frame *frame, uint8_t **buf, size_t *len, struct isol8_error *err);

/* Decodes one frame from the start of buf. Returns 1 and sets *out (free with
 * isol8_frame_free) and *consumed when a whole frame is there, 0 when more
 * bytes are needed, negative for an oversized length or a malformed body. */
int isol8_frame_decode(const uint8_t *buf, size_t len, isol8_frame **out, size_t *consumed,
		       struct isol8_error *err);

/* Blocking I/O on a stream socket (EINTR and short transfers handled).
 * isol8_frame_read returns 1 with a frame, 0 on EOF before the first byte,
 * negative on a truncated, oversized or malformed frame or an I/O error.
 * timeout_ms < 0 waits forever; when it passes: ISOL8_E_DEADLINE. */
int isol8_frame_write(int fd, const isol8_frame *frame, struct isol8_error *err);
int isol8_frame_read(int fd, isol8_frame **out, int timeout_ms, struct isol8_error *err);

void isol8_frame_free(isol8_frame *frame);

#endif
