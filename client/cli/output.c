/* What the CLI prints and how it exits: see output.h. */
#include "cli/output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "base/util.h"

static const char *const level_tags[] = {
	[ISOL8_CLI_INFO] = "[INFO]", [ISOL8_CLI_WARN] = "[WARN]",   [ISOL8_CLI_ERR] = "[ERR]",
	[ISOL8_CLI_DONE] = "[DONE]", [ISOL8_CLI_DEBUG] = "[DEBUG]",
};

const char *isol8_cli_level_tag(enum isol8_cli_level level)
{
	if ((size_t)level < ISOL8_ARRAY_LEN(level_tags))
		return level_tags[level];
	return "[ERR]";
}

static void vlog(enum isol8_cli_level level, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(isol8_cli_level_tag(level), stderr);
	fputc(' ', stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void isol8_cli_log(enum isol8_cli_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

int isol8_cli_fail(const struct isol8_error *err)
{
	isol8_cli_say("%s", err->message[0] != '\0' ? err->message : "unknown error");
	return ISOL8_CLI_EXIT_ERROR;
}

void isol8_cli_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(ISOL8_CLI_ERR, fmt, ap);
	va_end(ap);
}

bool isol8_cli_error_is_disconnect(const struct isol8_error *err)
{
	static const char *const texts[] = {
		"Socket closed",	"Cancelling all calls", "Connection reset", "Broken pipe",
		"GOAWAY",		"Transport closed",	"Stream removed",   "Connection refused",
		"failed to connect",	"Channel Destroyed",	"connection closed",
	};

	if (err->code != ISOL8_E_UNAVAILABLE && err->code != ISOL8_E_CANCELLED &&
	    err->code != ISOL8_E_INTERNAL && err->code != ISOL8_E_PROTOCOL)
		return false;
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(texts); i++)
		if (strcasestr(err->message, texts[i]) != NULL)
			return true;
	return false;
}

int isol8_cli_exit_status(const struct isol8_result *res)
{
	if (res->timed_out || res->oom_killed)
		return ISOL8_CLI_EXIT_TIMEOUT;
	if (res->signal > 0 && res->signal < 128)
		return ISOL8_CLI_EXIT_SIGNAL_BASE + res->signal;
	return res->exit_code & 0xff;
}

static bool stderr_says(const struct isol8_result *res, const char *marker)
{
	return res->stderr_size > 0 && memmem(res->stderr_data, res->stderr_size, marker, strlen(marker)) != NULL;
}

void isol8_cli_result_notes(const struct isol8_result *res, bool saw_error)
{
	if (res->truncated)
		isol8_cli_log(ISOL8_CLI_WARN, "Output was truncated");
	if (res->state_reset)
		isol8_cli_log(ISOL8_CLI_WARN, "Session %s: the interpreter ended, its state (variables, imports) is "
					      "gone; files are kept",
			      res->session_id != NULL ? res->session_id : "");
	if (saw_error)
		return;
	if (res->timed_out && !stderr_says(res, "EXECUTION TIMED OUT"))
		isol8_cli_say("EXECUTION TIMED OUT");
	else if (res->oom_killed && !stderr_says(res, "OUT OF MEMORY"))
		isol8_cli_say("OUT OF MEMORY (the program passed its memory limit)");
}

char *isol8_cli_network_log_json(const struct isol8_network_log *l)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	bool ok = o != NULL;

	ok = ok && cJSON_AddStringToObject(o, "timestamp", l->timestamp ? l->timestamp : "") != NULL;
	ok = ok && cJSON_AddStringToObject(o, "method", l->method ? l->method : "") != NULL;
	ok = ok && cJSON_AddStringToObject(o, "host", l->host ? l->host : "") != NULL;
	if (ok && l->path != NULL && l->path[0] != '\0')
		ok = cJSON_AddStringToObject(o, "path", l->path) != NULL;
	else if (ok)
		ok = cJSON_AddNullToObject(o, "path") != NULL;
	ok = ok && cJSON_AddStringToObject(o, "action", l->allowed ? "ALLOW" : "BLOCK") != NULL;
	ok = ok && cJSON_AddNumberToObject(o, "durationMs", (double)l->duration_ms) != NULL;
	if (ok)
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

void isol8_cli_network_logs(const struct isol8_result *res)
{
	if (res->n_network_logs == 0)
		return;
	fflush(stdout);
	fputs("\n--- Network Logs ---\n", stderr);
	for (size_t i = 0; i < res->n_network_logs; i++) {
		char *line = isol8_cli_network_log_json(&res->network_logs[i]);
		fprintf(stderr, "%s\n", line ? line : "(out of memory)");
		free(line);
	}
}

/* Tag and default text of each setup phase. */
static const struct {
	const char *tag;
	const char *text;
} phase_words[] = {
	[ISOL8_SETUP_CHECKING] = {"[..]", "Checking"},
	[ISOL8_SETUP_UP_TO_DATE] = {"[OK]", "Up to date"},
	[ISOL8_SETUP_BUILDING] = {"[..]", "Building"},
	[ISOL8_SETUP_BUILT] = {"[OK]", "Built"},
	[ISOL8_SETUP_FAILED] = {"[ERR]", "Failed"},
	[ISOL8_SETUP_DONE] = {NULL, NULL},
};

void isol8_cli_setup_line(const struct isol8_setup_event *ev, char *buf, size_t size)
{
	const char *tag = NULL;
	const char *text = ev->message;
	const char *image = ev->image != NULL ? ev->image : "";
	size_t used;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (ev->phase == ISOL8_SETUP_DONE)
		return;
	if ((size_t)ev->phase < ISOL8_ARRAY_LEN(phase_words)) {
		tag = phase_words[ev->phase].tag;
		/* The end states say what they are; progress shows the build's line. */
		if (ev->phase == ISOL8_SETUP_UP_TO_DATE || ev->phase == ISOL8_SETUP_BUILT || text == NULL ||
		    text[0] == '\0')
			text = phase_words[ev->phase].text;
	}
	if (text == NULL)
		text = "";
	snprintf(buf, size, "%s%s%s%s%s", tag != NULL ? tag : "", tag != NULL ? " " : "", image,
		 image[0] != '\0' && text[0] != '\0' ? ": " : "", text);
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
