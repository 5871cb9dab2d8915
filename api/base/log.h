/*
 * The one log sink of isol8 programs (daemon, gateway): lines on stderr,
 * plain text or JSON, with a cheap level check. Library code does not log;
 * the programs' outer layers do. Thread safe (one write() per line). A
 * message past 64 KiB is cut.
 *
 * Every line is one record, whatever the logged values hold: in text form
 * control characters become escapes (\n, \t, \x1b, \u2028), as do bytes
 * that are not UTF-8 (\xff); with JSON every field is a JSON string
 * (control characters as \n or \u001b, bytes that are not UTF-8 as
 * \ufffd). Values that come from a client go in quotes, so that a space or
 * a quote in them cannot fake a key=value pair:
 *   isol8_log(ISOL8_LOG_WARN, "execute runtime=%s", ISOL8_LOG_Q(req->runtime));
 * logs  execute runtime="py\nthon"  for "py<newline>thon".
 */
#ifndef ISOL8_LOG_H
#define ISOL8_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum isol8_log_level { ISOL8_LOG_DEBUG, ISOL8_LOG_INFO, ISOL8_LOG_WARN, ISOL8_LOG_ERROR };

/* Set once at start-up, before threads. */
void isol8_log_setup(enum isol8_log_level min, bool json, const char *program);

/* Parses "debug", "info", "warn", "error"; -1 if none. */
int isol8_log_level_parse(const char *name);

static inline bool isol8_log_enabled(enum isol8_log_level level)
{
	extern enum isol8_log_level isol8_log_min_level;
	return level >= isol8_log_min_level;
}

/* How isol8_log_escape writes control characters and bytes that are not
 * UTF-8: LINE for a text line (quotes and backslashes stay), QUOTED for the
 * inside of a quoted value (they are escaped too), JSON for the inside of a
 * JSON string. */
enum isol8_log_escape { ISOL8_LOG_ESCAPE_LINE, ISOL8_LOG_ESCAPE_QUOTED, ISOL8_LOG_ESCAPE_JSON };

/* Escapes text (NULL is "") into out (size bytes, NUL-terminated); what
 * does not fit is cut at a character boundary and marked "...". Returns the
 * length written. */
size_t isol8_log_escape(const char *text, enum isol8_log_escape mode, char *out, size_t size);

/* value in double quotes, escaped as ISOL8_LOG_ESCAPE_QUOTED, into buf; returns buf. */
const char *isol8_log_quote(char *buf, size_t size, const char *value);

/* A quoted value for one log call: the buffer is a compound literal that
 * lives until the end of the block holding the call. */
#define ISOL8_LOG_VALUE_MAX 768
#define ISOL8_LOG_Q(value) isol8_log_quote((char[ISOL8_LOG_VALUE_MAX]){0}, ISOL8_LOG_VALUE_MAX, (value))

/* The line isol8_log_write writes for message, at time `when`, into out:
 * text or JSON as set up, ending in one '\n', cut to fit. Returns its length
 * (0 when size cannot hold the line's own fields). */
size_t isol8_log_format(char *out, size_t size, enum isol8_log_level level, const char *when, const char *message);

void isol8_log_write(enum isol8_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define isol8_log(level, ...)                                                                      \
	do {                                                                                       \
		if (isol8_log_enabled(level))                                                      \
			isol8_log_write(level, __VA_ARGS__);                                       \
	} while (0)

#endif
