/*
 * libisol8's insides shared by its files: the client handle, call deadlines
 * and the small helpers every call uses. Nothing here is public; the API is
 * include/isol8/isol8.h.
 *
 * Threads: a struct isol8_client is read-only once made (its channel is
 * gRPC's, safe from any thread), so every call may run on many threads at
 * once; a view (isol8_client_with_key) shares its base's connection.
 */
#ifndef ISOL8_CLIENT_CLIENT_H
#define ISOL8_CLIENT_CLIENT_H

#include <stdbool.h>

#include "isol8/isol8.h"
#include "rpc/rpc.h"

struct isol8_client {
	struct isol8_rpc_channel *channel;
	const char *target; /* for messages: "unix:/path" or what the caller gave */
	char *target_owned; /* target, when this handle owns it (not a view) */
};

/* Deadline of a unary administration call, ms. */
#define ISOL8_CLIENT_ADMIN_DEADLINE_MS 10000

/* The call deadline beyond an execution's timeout: room for sandbox
 * creation, package installs and fetching code (as the CLI always had). */
#define ISOL8_CLIENT_DEADLINE_MARGIN_MS (5 * 60 * 1000)

/* The call deadline of an execution with timeout_ms: timeout plus the
 * margin, or 0 (none) when the timeout is the daemon's (<= 0) or too large
 * for an int. */
int isol8_client_execute_deadline(int64_t timeout_ms);

/* Copies for results: each returns a malloc'd copy, or NULL and sets *oom
 * when out of memory, so a converter copies every field and checks once.
 * copy_str: "" for NULL; copy_str_opt: NULL for NULL or "" (fields
 * documented "NULL when none"); copy_bytes: len bytes and a NUL after
 * them. */
char *isol8_copy_str(bool *oom, const char *s);
char *isol8_copy_str_opt(bool *oom, const char *s);
char *isol8_copy_bytes(bool *oom, const void *data, size_t len);

/* calloc of n elements of size (n 0: NULL, no error); sets *oom when out of memory. */
void *isol8_copy_array(bool *oom, size_t n, size_t size);

/* The error for running out of memory while doing what. */
int isol8_client_nomem(struct isol8_error *err, const char *what);

#endif
