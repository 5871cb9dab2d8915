/* The log sink: see log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

#define MESSAGE_MAX 2048
/* A longer message (an execution's line with its metadata) is formatted
 * on the heap, up to this size; past it, or without memory, it is cut. */
#define LONG_MESSAGE_MAX (64 * 1024)
/* An escape is at most 6 bytes for one input byte (\u00XX, \ufffd), plus
 * the line's own fields. */
#define LINE_BYTES(message_max) ((message_max) * 6 + 512)
#define LINE_MAX_BYTES LINE_BYTES(MESSAGE_MAX)

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

/* Length of the valid UTF-8 sequence at s (its code point in *cp), or 0
 * when s does not start one. Never reads past a NUL. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t more;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		more = 1;
		*cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		more = 2;
		*cp = s[0] & 0x0fu;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		hi = s[0] == 0xed ? 0x9f : 0xbf;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		more = 3;
		*cp = s[0] & 0x07u;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	for (size_t k = 1; k <= more; k++) {
		if (s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xbf))
			return 0;
		*cp = (*cp << 6) | (s[k] & 0x3fu);
	}
	return more + 1;
}

/* Code points a terminal or viewer could take for a line break or a
 * control, or that reorder text: C0, DEL, C1, line and paragraph
 * separators, bidirectional overrides and isolates. */
static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The escape of one code point or invalid byte, into esc (at least 16 bytes). */
static size_t escape_one(const unsigned char *s, size_t n, uint32_t cp, enum isol8_log_escape mode, char *esc)
{
	static const char short_forms[] = {['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\b'] = 'b', ['\f'] = 'f'};
	bool json = mode == ISOL8_LOG_ESCAPE_JSON;

	if (n == 0) /* a byte that is no UTF-8 */
		return (size_t)(json ? snprintf(esc, 16, "\\ufffd") : snprintf(esc, 16, "\\x%02x", s[0]));
	if (cp == '"' || cp == '\\') {
		if (mode == ISOL8_LOG_ESCAPE_LINE) {
			esc[0] = (char)cp;
			return 1;
		}
		esc[0] = '\\';
		esc[1] = (char)cp;
		return 2;
	}
	if (!is_control(cp)) {
		memcpy(esc, s, n);
		return n;
	}
	if (cp < sizeof(short_forms) && short_forms[cp] != 0 && (json || cp == '\n' || cp == '\r' || cp == '\t'))
		return (size_t)snprintf(esc, 16, "\\%c", short_forms[cp]);
	if (json || cp >= 0x80)
		return (size_t)snprintf(esc, 16, "\\u%04x", (unsigned)cp);
	return (size_t)snprintf(esc, 16, "\\x%02x", (unsigned)cp);
}

size_t isol8_log_escape(const char *text, enum isol8_log_escape mode, char *out, size_t size)
{
	static const char cut[] = "...";
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t o = 0, mark = 0; /* mark: the last character boundary that leaves room for the cut marker */

	if (size == 0)
		return 0;
	while (*s) {
		char esc[16];
		uint32_t cp = 0;
		size_t n = utf8_decode(s, &cp);
		size_t e = escape_one(s, n, cp, mode, esc);

		if (o + sizeof(cut) - 1 < size)
			mark = o;
		if (o + e >= size) {
			o = mark;
			if (o + sizeof(cut) - 1 < size) {
				memcpy(out + o, cut, sizeof(cut) - 1);
				o += sizeof(cut) - 1;
			}
			break;
		}
		memcpy(out + o, esc, e);
		o += e;
		s += n ? n : 1;
	}
	out[o] = '\0';
	return o;
}

const char *isol8_log_quote(char *buf, size_t size, const char *value)
{
	size_t n;

	if (size < 3) {
		if (size > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[0] = '"';
	n = isol8_log_escape(value, ISOL8_LOG_ESCAPE_QUOTED, buf + 1, size - 2);
	buf[n + 1] = '"';
	buf[n + 2] = '\0';
	return buf;
}

size_t isol8_log_format(char *out, size_t size, enum isol8_log_level level, const char *when, const char *message)
{
	enum isol8_log_escape mode = log_json ? ISOL8_LOG_ESCAPE_JSON : ISOL8_LOG_ESCAPE_LINE;
	const char *tail = log_json ? "\"}\n" : "\n";
	size_t tail_len = strlen(tail), o;
	char program[128];
	int n;

	isol8_log_escape(log_program, mode, program, sizeof(program));
	if (log_json)
		n = snprintf(out, size, "{\"time\":\"%s\",\"level\":\"%s\",\"program\":\"%s\",\"msg\":\"", when,
			     level_names[level], program);
	else
		n = snprintf(out, size, "%s %s %s: ", when, level_names[level], program);
	if (n < 0 || (size_t)n + tail_len >= size)
		return 0;
	o = (size_t)n + isol8_log_escape(message, mode, out + n, size - (size_t)n - tail_len);
	memcpy(out + o, tail, tail_len + 1);
	return o + tail_len;
}

/* Writes a message longer than MESSAGE_MAX (len bytes as formatted);
 * false when memory is short (the caller writes it cut). */
static bool write_long(enum isol8_log_level level, const char *when, size_t len, const char *fmt, va_list ap)
{
	size_t msg_size = (len < LONG_MESSAGE_MAX ? len : LONG_MESSAGE_MAX - 1) + 1;
	_cleanup_free_ char *msg = malloc(msg_size);
	_cleanup_free_ char *line = malloc(LINE_BYTES(msg_size));
	size_t n;

	if (msg == NULL || line == NULL)
		return false;
	vsnprintf(msg, msg_size, fmt, ap);
	n = isol8_log_format(line, LINE_BYTES(msg_size), level, when, msg);
	if (n > 0)
		isol8_write_full(STDERR_FILENO, line, n);
	return true;
}

void isol8_log_write(enum isol8_log_level level, const char *fmt, ...)
{
	char msg[MESSAGE_MAX], line[LINE_MAX_BYTES], when[64];
	va_list ap, again;
	size_t n;
	int len;

	va_start(ap, fmt);
	va_copy(again, ap);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	isol8_utc_timestamp(when, sizeof(when));
	if (len >= (int)sizeof(msg) && write_long(level, when, (size_t)len, fmt, again)) {
		va_end(again);
		return;
	}
	va_end(again);
	n = isol8_log_format(line, sizeof(line), level, when, msg);
	if (n > 0)
		isol8_write_full(STDERR_FILENO, line, n);
}
