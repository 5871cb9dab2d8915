/* The configuration file as JSON text: checked to be strict UTF-8 JSON
 * before cJSON parses it. cJSON alone is lenient where the JSON grammar is
 * not (numbers such as 01 or 1.; raw control characters in strings; a
 * byte-order mark), it cuts a string at a \u0000 escape, and its error
 * offsets are often past the error; the file is refused in each of these
 * cases, as Python's json module and schema validators refuse it, with the
 * line and column of the error. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "base/util.h"
#include "config/config_json.h"

/* The line and column (from 1) of byte offset in text. */
static void position(const char *text, size_t offset, int *line, int *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < offset; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*column = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			(*column)++;
		}
	}
}

static int syntax_error(const char *text, size_t offset, const char *what, struct isol8_error *err)
{
	int line, column;

	position(text, offset, &line, &column);
	return isol8_error_set(err, ISOL8_E_INVALID, "not valid JSON at line %d, column %d (%s)", line, column,
			       what);
}

/* A number token at text[i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static size_t number_token(const char *t, size_t i, size_t len, bool *ok)
{
	size_t start = i, digits;

	*ok = false;
	if (i < len && t[i] == '-')
		i++;
	if (i < len && t[i] == '0') {
		i++;
	} else {
		for (digits = 0; i < len && isdigit((unsigned char)t[i]); i++)
			digits++;
		if (digits == 0)
			return i - start;
	}
	if (i < len && t[i] == '.') {
		i++;
		for (digits = 0; i < len && isdigit((unsigned char)t[i]); i++)
			digits++;
		if (digits == 0)
			return i - start;
	}
	if (i < len && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < len && (t[i] == '+' || t[i] == '-'))
			i++;
		for (digits = 0; i < len && isdigit((unsigned char)t[i]); i++)
			digits++;
		if (digits == 0)
			return i - start;
	}
	/* what cJSON would still take as part of the number */
	*ok = !(i < len && (isdigit((unsigned char)t[i]) || strchr("+-.eE", t[i]) != NULL));
	return i - start;
}

/* One string's escapes and characters, from the opening quote at t[i];
 * returns the offset after the closing quote, or 0 with err set. */
static size_t string_token(const char *t, size_t i, size_t len, struct isol8_error *err)
{
	for (i++; i < len; i++) {
		unsigned char ch = (unsigned char)t[i];
		if (ch == '"')
			return i + 1;
		if (ch < 0x20) {
			syntax_error(t, i, "a control character inside a string; write it as an escape", err);
			return 0;
		}
		if (ch != '\\')
			continue;
		if (++i >= len || strchr("\"\\/bfnrtu", t[i]) == NULL) {
			syntax_error(t, i, "an unknown escape in a string", err);
			return 0;
		}
		if (t[i] == 'u') {
			unsigned value = 0;
			for (int k = 1; k <= 4; k++) {
				if (i + (size_t)k >= len || !isxdigit((unsigned char)t[i + k])) {
					syntax_error(t, i, "a \\u escape needs 4 hex digits", err);
					return 0;
				}
				value = value * 16 + (unsigned)(isdigit((unsigned char)t[i + k]) ? t[i + k] - '0'
											: (tolower((unsigned char)t[i + k]) - 'a' + 10));
			}
			if (value == 0) {
				syntax_error(t, i, "\\u0000: no value may hold a NUL character", err);
				return 0;
			}
			i += 4;
		}
	}
	syntax_error(t, len, "a string that does not end", err);
	return 0;
}

/* A recursive-descent check of the grammar (RFC 8259), so that every
 * error has its true position: cJSON's own error offset is often past it. */
struct scan {
	const char *t;
	size_t len, i;
	int depth;
	struct isol8_error *err;
};

#define MAX_DEPTH 64

static void skip_blanks(struct scan *s)
{
	while (s->i < s->len && strchr(" \t\r\n", s->t[s->i]) != NULL)
		s->i++;
}

static int expected(struct scan *s, const char *what)
{
	return syntax_error(s->t, s->i, s->i >= s->len ? (s->len == 0 ? "the file is empty" : "it ends too early") : what,
			    s->err);
}

static int scan_value(struct scan *s);

static int scan_string(struct scan *s)
{
	size_t end = string_token(s->t, s->i, s->len, s->err);

	if (end == 0)
		return -s->err->code;
	s->i = end;
	return 0;
}

/* "{" or "[" at s->i: members or items up to the closing bracket. */
static int scan_container(struct scan *s)
{
	bool object = s->t[s->i] == '{';
	char close = object ? '}' : ']';
	int ret;

	if (++s->depth > MAX_DEPTH)
		return syntax_error(s->t, s->i, "nested too deeply", s->err);
	s->i++;
	skip_blanks(s);
	if (s->i < s->len && s->t[s->i] == close) {
		s->i++;
		s->depth--;
		return 0;
	}
	for (;;) {
		if (object) {
			if (s->i >= s->len || s->t[s->i] != '"')
				return expected(s, "expected a key in double quotes");
			ret = scan_string(s);
			if (ret < 0)
				return ret;
			skip_blanks(s);
			if (s->i >= s->len || s->t[s->i] != ':')
				return expected(s, "expected ':' after the key");
			s->i++;
		}
		ret = scan_value(s);
		if (ret < 0)
			return ret;
		skip_blanks(s);
		if (s->i < s->len && s->t[s->i] == close) {
			s->i++;
			s->depth--;
			return 0;
		}
		if (s->i >= s->len || s->t[s->i] != ',')
			return expected(s, object ? "expected ',' or '}'" : "expected ',' or ']'");
		s->i++;
		skip_blanks(s);
		if (s->i < s->len && s->t[s->i] == close)
			return expected(s, "a comma before the closing bracket");
	}
}

static int scan_value(struct scan *s)
{
	static const char *const words[] = {"true", "false", "null"};
	bool ok;

	skip_blanks(s);
	if (s->i >= s->len)
		return expected(s, "");
	if (s->t[s->i] == '{' || s->t[s->i] == '[')
		return scan_container(s);
	if (s->t[s->i] == '"')
		return scan_string(s);
	if (s->t[s->i] == '-' || isdigit((unsigned char)s->t[s->i])) {
		size_t n = number_token(s->t, s->i, s->len, &ok);
		if (!ok)
			return syntax_error(s->t, s->i, "a malformed number", s->err);
		s->i += n;
		return 0;
	}
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t n = strlen(words[w]);
		if (s->len - s->i >= n && memcmp(s->t + s->i, words[w], n) == 0 &&
		    !(s->len - s->i > n && isalnum((unsigned char)s->t[s->i + n]))) {
			s->i += n;
			return 0;
		}
	}
	return syntax_error(s->t, s->i, "expected a value", s->err);
}

int isol8_config_json_check(const char *text, size_t len, struct isol8_error *err)
{
	struct scan s = {text, len, 0, 0, err};
	int ret;

	for (size_t i = 0; i < len;) {
		size_t n = isol8_utf8_sequence((const unsigned char *)text + i, len - i);
		if (n == 0)
			return syntax_error(text, i, "not UTF-8", err);
		if (text[i] == '\0')
			return syntax_error(text, i, "a NUL byte", err);
		i += n;
	}
	ret = scan_value(&s);
	if (ret < 0)
		return ret;
	skip_blanks(&s);
	if (s.i < len)
		return syntax_error(text, s.i, "text after the end of the value", err);
	return 0;
}

int isol8_config_json_parse(const char *text, size_t len, cJSON **out, struct isol8_error *err)
{
	const char *end = NULL;
	int ret;

	/* text[len] is the NUL the parser must find after the value */
	ret = isol8_config_json_check(text, len, err);
	if (ret < 0)
		return ret;
	*out = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	if (*out != NULL)
		return 0;
	/* the grammar is checked: what is left is memory */
	return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory reading JSON");
}
