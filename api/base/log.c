/* The log sink: see log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

enum isol8_log_level isol8_log_min_level = ISOL8_LOG_INFO;
static bool log_json;
static const char *log_program = "isol8";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void isol8_log_setup(enum isol8_log_level min, bool json, const char *program)
{
	isol8_log_min_level = min;
	log_json = json;
	log_program = program;
}

int isol8_log_level_parse(const char *name)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(level_names); i++)
		if (strcmp(level_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Copies text into out as the inside of a JSON string. */
static size_t json_escape(const char *text, char *out, size_t size)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p && o + 7 < size; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20) {
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
	return o;
}

void isol8_log_write(enum isol8_log_level level, const char *fmt, ...)
{
	char msg[2048], line[4608], when[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	isol8_utc_timestamp(when, sizeof(when));
	if (log_json) {
		char escaped[4096];
		json_escape(msg, escaped, sizeof(escaped));
		n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"program\":\"%s\",\"msg\":\"%s\"}\n",
			     when, level_names[level], log_program, escaped);
	} else {
		n = snprintf(line, sizeof(line), "%s %s %s: %s\n", when, level_names[level], log_program, msg);
	}
	if (n > 0)
		isol8_write_full(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
