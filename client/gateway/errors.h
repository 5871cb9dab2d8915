/*
 * isol8 error codes to HTTP statuses, in one table, and the JSON error body
 * {"error":"…"} every error response has.
 *
 * A few codes need the message to pick the status (rules checked in
 * order): RESOURCE_EXHAUSTED is 429 (concurrency, sessions.max) except a
 * size limit, 413; FAILED_PRECONDITION is 409 (a session's runtime switch)
 * except missing images or agent, 503 (the server is not set up).
 * isol8d names fields as in the proto ("options.memory_limit"); the message
 * is rewritten to the JSON path the caller sent ("options.memoryLimit").
 */
#ifndef ISOL8_GATEWAY_ERRORS_H
#define ISOL8_GATEWAY_ERRORS_H

#include <stddef.h>

#include "gateway/buf.h"
#include "isol8/error.h"

/* The HTTP status for an isol8 error (code and message). */
unsigned gw_error_status(int code, const char *message);

/* message with a leading proto field name ("timeout_ms: …", "options.cpu_limit: …")
 * rewritten to the JSON path ("request.timeoutMs: …", "options.cpuLimit: …") into out. */
void gw_error_rename(const char *message, char *out, size_t size);

/* {"error":"<message>"} */
int gw_error_json(struct gw_buf *b, const char *message);

#endif
