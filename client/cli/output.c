/* What the CLI prints and how it exits: see output.h. */
#include "cli/output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "base/util.h"

int isol8_cli_fail(const struct isol8_error *err)
{
	isol8_cli_say("%s", err->message[0] != '\0' ? err->message : "unknown error");
	return ISOL8_CLI_EXIT_ERROR;
}

void isol8_cli_say(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("isol8: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int isol8_cli_exit_status(const Isol8__V1__ExecuteResult *res)
{
	if (res->timed_out)
		return ISOL8_CLI_EXIT_TIMEOUT;
	if (res->signal > 0 && res->signal < 128)
		return ISOL8_CLI_EXIT_SIGNAL_BASE + res->signal;
	return res->exit_code & 0xff;
}

void isol8_cli_result_notes(const Isol8__V1__ExecuteResult *res, int64_t timeout_ms,
			    int64_t max_output)
{
	if (res->truncated)
		isol8_cli_say("output truncated at %lld bytes", (long long)max_output);
	if (res->timed_out)
		isol8_cli_say("execution timed out after %lld ms", (long long)timeout_ms);
}

static const char *const phase_names[] = {
	[ISOL8__V1__SETUP_EVENT__PHASE__PHASE_UNSPECIFIED] = "",
	[ISOL8__V1__SETUP_EVENT__PHASE__CHECKING] = "checking",
	[ISOL8__V1__SETUP_EVENT__PHASE__UP_TO_DATE] = "up to date",
	[ISOL8__V1__SETUP_EVENT__PHASE__BUILDING] = "building",
	[ISOL8__V1__SETUP_EVENT__PHASE__BUILT] = "built",
	[ISOL8__V1__SETUP_EVENT__PHASE__FAILED] = "FAILED",
	[ISOL8__V1__SETUP_EVENT__PHASE__DONE] = "done",
};

void isol8_cli_setup_line(const Isol8__V1__SetupEvent *ev, char *buf, size_t size)
{
	const char *phase = "";
	const char *parts[3];
	size_t used = 0;

	if ((size_t)ev->phase < ISOL8_ARRAY_LEN(phase_names))
		phase = phase_names[ev->phase];
	parts[0] = ev->image;
	parts[1] = phase;
	parts[2] = ev->message;
	buf[0] = '\0';
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(parts) && used < size; i++) {
		int n;
		if (parts[i] == NULL || parts[i][0] == '\0')
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used > 0 ? "  " : "", parts[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	/* Build output may end in a newline or carry control bytes: keep one line. */
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	used = strlen(buf);
	while (used > 0 && buf[used - 1] == ' ')
		buf[--used] = '\0';
}

int isol8_cli_write(int fd, const char *name, const void *data, size_t len,
		    struct isol8_error *err)
{
	if (len > 0 && isol8_write_full(fd, data, len) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot write %s", name);
	return 0;
}

void isol8_cli_quick_exit(int status)
{
#ifndef __SANITIZE_ADDRESS__
	fflush(stdout);
	fflush(stderr);
	_exit(status);
#else
	(void)status;
#endif
}
