/* isol8 error contract: see include/isol8/error.h. */
#include "isol8/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int vset(struct isol8_error *err, int code, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -code;
	if (err->code != 0)
		return -err->code;
	err->code = code;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return -code;
}

int isol8_error_set(struct isol8_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vset(err, code, fmt, ap);
	va_end(ap);
	return ret;
}

int isol8_error_errno(struct isol8_error *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (err == NULL)
		return -code;
	if (err->code != 0)
		return -err->code;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	len = strlen(err->message);
	snprintf(err->message + len, sizeof(err->message) - len, ": %s", strerror(errnum));
	return -code;
}

/* Appends text to the NUL-terminated buf, cutting it at the buffer's end. */
static void append(char *buf, size_t size, const char *text)
{
	size_t used = strlen(buf), len = strlen(text);

	if (len > size - 1 - used)
		len = size - 1 - used;
	memcpy(buf + used, text, len);
	buf[used + len] = '\0';
}

int isol8_error_prefix(struct isol8_error *err, const char *fmt, ...)
{
	char prefix[ISOL8_ERROR_MESSAGE_MAX];
	char old[ISOL8_ERROR_MESSAGE_MAX];
	va_list ap;

	if (err == NULL)
		return -ISOL8_E_INTERNAL;
	if (err->code == 0)
		err->code = ISOL8_E_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	err->message[0] = '\0';
	append(err->message, sizeof(err->message), prefix);
	append(err->message, sizeof(err->message), ": ");
	append(err->message, sizeof(err->message), old);
	return -err->code;
}

void isol8_error_clear(struct isol8_error *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->message[0] = '\0';
}

/* Values of grpc_status_code, kept here so this file needs no gRPC header. */
enum {
	GS_OK = 0, GS_CANCELLED = 1, GS_UNKNOWN = 2, GS_INVALID_ARGUMENT = 3,
	GS_DEADLINE_EXCEEDED = 4, GS_NOT_FOUND = 5, GS_ALREADY_EXISTS = 6,
	GS_PERMISSION_DENIED = 7, GS_RESOURCE_EXHAUSTED = 8,
	GS_FAILED_PRECONDITION = 9, GS_ABORTED = 10, GS_OUT_OF_RANGE = 11,
	GS_UNIMPLEMENTED = 12, GS_INTERNAL = 13, GS_UNAVAILABLE = 14,
	GS_DATA_LOSS = 15, GS_UNAUTHENTICATED = 16,
};

static const struct {
	int code;
	int status;
	const char *name;
} error_table[] = {
	{ISOL8_OK, GS_OK, "OK"},
	{ISOL8_E_INVALID, GS_INVALID_ARGUMENT, "INVALID_ARGUMENT"},
	{ISOL8_E_NOT_FOUND, GS_NOT_FOUND, "NOT_FOUND"},
	{ISOL8_E_EXHAUSTED, GS_RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"},
	{ISOL8_E_PRECONDITION, GS_FAILED_PRECONDITION, "FAILED_PRECONDITION"},
	{ISOL8_E_UNAVAILABLE, GS_UNAVAILABLE, "UNAVAILABLE"},
	{ISOL8_E_UNAUTHENTICATED, GS_UNAUTHENTICATED, "UNAUTHENTICATED"},
	{ISOL8_E_CANCELLED, GS_CANCELLED, "CANCELLED"},
	{ISOL8_E_DEADLINE, GS_DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"},
	{ISOL8_E_UNIMPLEMENTED, GS_UNIMPLEMENTED, "UNIMPLEMENTED"},
	{ISOL8_E_NOMEM, GS_RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"},
	{ISOL8_E_IO, GS_INTERNAL, "INTERNAL"},
	{ISOL8_E_PROTOCOL, GS_INTERNAL, "INTERNAL"},
	{ISOL8_E_INTERNAL, GS_INTERNAL, "INTERNAL"},
	{ISOL8_E_PERMISSION, GS_PERMISSION_DENIED, "PERMISSION_DENIED"},
	{ISOL8_E_ABORTED, GS_ABORTED, "ABORTED"},
};

#define ERROR_TABLE_LEN (sizeof(error_table) / sizeof(error_table[0]))

int isol8_error_grpc_status(int code)
{
	for (size_t i = 0; i < ERROR_TABLE_LEN; i++)
		if (error_table[i].code == code)
			return error_table[i].status;
	return GS_UNKNOWN;
}

int isol8_error_from_grpc_status(int status)
{
	/* INTERNAL is several codes' status: it comes back as ours (a bug),
	 * never as a system call or protocol failure of this side */
	if (status == GS_UNKNOWN || status == GS_OUT_OF_RANGE || status == GS_INTERNAL ||
	    status == GS_DATA_LOSS || status == GS_ALREADY_EXISTS)
		return ISOL8_E_INTERNAL;
	for (size_t i = 0; i < ERROR_TABLE_LEN; i++)
		if (error_table[i].status == status)
			return error_table[i].code;
	return ISOL8_E_INTERNAL;
}

const char *isol8_error_code_name(int code)
{
	for (size_t i = 0; i < ERROR_TABLE_LEN; i++)
		if (error_table[i].code == code)
			return error_table[i].name;
	return "UNKNOWN";
}
