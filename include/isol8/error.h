/*
 * isol8 error contract.
 *
 * A fallible function returns int: 0 on success, a negative isol8_errc on
 * failure, and fills a caller-provided struct isol8_error with the code and a
 * one-line message. Callers add context with isol8_error_prefix(); nobody
 * overwrites a message that is already set. Only the outer layer (gRPC
 * status, HTTP status, CLI message) turns it into something else.
 */
#ifndef ISOL8_ERROR_H
#define ISOL8_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISOL8_EXPORT __attribute__((visibility("default")))

/* Error codes. Each maps to one gRPC status (see isol8_error_grpc_status). */
enum isol8_errc {
	ISOL8_OK = 0,
	ISOL8_E_INVALID = 1,         /* INVALID_ARGUMENT: bad input, message names the field */
	ISOL8_E_NOT_FOUND = 2,       /* NOT_FOUND */
	ISOL8_E_EXHAUSTED = 3,       /* RESOURCE_EXHAUSTED: limits, sizes, concurrency */
	ISOL8_E_PRECONDITION = 4,    /* FAILED_PRECONDITION: e.g. images missing */
	ISOL8_E_UNAVAILABLE = 5,     /* UNAVAILABLE: Docker or daemon unreachable */
	ISOL8_E_UNAUTHENTICATED = 6, /* UNAUTHENTICATED */
	ISOL8_E_CANCELLED = 7,       /* CANCELLED: the caller went away */
	ISOL8_E_DEADLINE = 8,        /* DEADLINE_EXCEEDED */
	ISOL8_E_UNIMPLEMENTED = 9,   /* UNIMPLEMENTED */
	ISOL8_E_NOMEM = 10,          /* RESOURCE_EXHAUSTED: out of memory */
	ISOL8_E_IO = 11,             /* INTERNAL: a system call failed */
	ISOL8_E_PROTOCOL = 12,       /* INTERNAL: a peer broke a protocol */
	ISOL8_E_INTERNAL = 13,       /* INTERNAL: our bug */
	ISOL8_E_PERMISSION = 14,     /* PERMISSION_DENIED: past the operator's policy */
	ISOL8_E_ABORTED = 15,        /* ABORTED: a session is busy with another call */
};
#define ISOL8_E_LAST ISOL8_E_ABORTED

#define ISOL8_ERROR_MESSAGE_MAX 512

struct isol8_error {
	int code;                              /* enum isol8_errc, 0 when unset */
	char message[ISOL8_ERROR_MESSAGE_MAX]; /* one line, NUL-terminated */
};

#define ISOL8_ERROR_INIT {0, {0}}

/* Sets code and message unless a code is already set; returns -code.
 * err may be NULL (the error is then only returned). */
ISOL8_EXPORT int isol8_error_set(struct isol8_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like isol8_error_set, with ": strerror(errnum)" appended. */
ISOL8_EXPORT int isol8_error_errno(struct isol8_error *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prepends "context: " to an existing message; returns -err->code. */
ISOL8_EXPORT int isol8_error_prefix(struct isol8_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears the error so the struct can be reused. */
ISOL8_EXPORT void isol8_error_clear(struct isol8_error *err);

/* The gRPC status code (grpc_status_code value) for an isol8 error code. */
ISOL8_EXPORT int isol8_error_grpc_status(int code);

/* The isol8 error code for a gRPC status code. */
ISOL8_EXPORT int isol8_error_from_grpc_status(int status);

/* A short name of the code, e.g. "INVALID_ARGUMENT". */
ISOL8_EXPORT const char *isol8_error_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif
