/* Bounded buffers and JSON output: see buf.h. */
#include "gateway/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/util.h"

static size_t max_of(const struct gw_buf *b)
{
	return b->max ? b->max : SIZE_MAX / 2;
}

/* Room for n more bytes (and a NUL). */
static int reserve(struct gw_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (!isol8_size_add(b->len, n, &need) || need > max_of(b))
		return -1;
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 4 ? need + 1 : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int gw_buf_append(struct gw_buf *b, const void *data, size_t n)
{
	if (reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int gw_buf_puts(struct gw_buf *b, const char *s)
{
	return gw_buf_append(b, s, strlen(s));
}

int gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return gw_buf_append(b, small, (size_t)n);
	if (reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *gw_buf_take(struct gw_buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void gw_buf_free(struct gw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int gw_json_string(struct gw_buf *b, const char *text, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t before = b->len, i = 0;

	if (gw_buf_append(b, "\"", 1) < 0)
		return -1;
	while (i < n) {
		size_t run = i, len;
		/* copy a run of plain characters at once */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run > i && gw_buf_append(b, p + i, run - i) < 0)
			goto fail;
		i = run;
		if (i >= n)
			break;
		if (p[i] < 0x80) {
			static const char short_esc[] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r',
							 ['\t'] = 't', ['"'] = '"', ['\\'] = '\\'};
			char esc[8];
			if (p[i] < sizeof(short_esc) && short_esc[p[i]])
				snprintf(esc, sizeof(esc), "\\%c", short_esc[p[i]]);
			else
				snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			if (gw_buf_puts(b, esc) < 0)
				goto fail;
			i++;
			continue;
		}
		len = isol8_utf8_sequence(p + i, n - i);
		if (len == 0) {
			if (gw_buf_append(b, "\xef\xbf\xbd", 3) < 0)
				goto fail;
			i++;
		} else {
			if (gw_buf_append(b, p + i, len) < 0)
				goto fail;
			i += len;
		}
	}
	if (gw_buf_append(b, "\"", 1) == 0)
		return 0;
fail:
	b->len = before;
	if (b->data)
		b->data[before] = '\0';
	return -1;
}

int gw_json_key(struct gw_buf *b, const char *key)
{
	if (b->len && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[' && gw_buf_append(b, ",", 1) < 0)
		return -1;
	if (gw_json_string(b, key, strlen(key)) < 0)
		return -1;
	return gw_buf_append(b, ":", 1);
}

int gw_json_kv_str(struct gw_buf *b, const char *key, const char *value)
{
	if (gw_json_key(b, key) < 0)
		return -1;
	if (value == NULL)
		return gw_buf_puts(b, "null");
	return gw_json_string(b, value, strlen(value));
}

int gw_json_kv_int(struct gw_buf *b, const char *key, int64_t value)
{
	if (gw_json_key(b, key) < 0)
		return -1;
	return gw_buf_printf(b, "%lld", (long long)value);
}

int gw_json_kv_bool(struct gw_buf *b, const char *key, bool value)
{
	if (gw_json_key(b, key) < 0)
		return -1;
	return gw_buf_puts(b, value ? "true" : "false");
}

int gw_json_base64(struct gw_buf *b, const void *data, size_t n)
{
	size_t enc;

	if (!isol8_base64_encoded_size(n, &enc) || !isol8_size_add(enc, 2, &enc) || reserve(b, enc) < 0)
		return -1;
	b->data[b->len++] = '"';
	b->len += isol8_base64_encode(data, n, b->data + b->len);
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
	return 0;
}

size_t gw_utf8_incomplete_tail(const char *data, size_t n)
{
	const unsigned char *p = (const unsigned char *)data;

	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = p[n - back];
		size_t want;
		if ((c & 0xc0) == 0x80)
			continue; /* a continuation byte: look further back */
		if (c >= 0xc2 && c <= 0xdf)
			want = 2;
		else if (c >= 0xe0 && c <= 0xef)
			want = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			want = 4;
		else
			return 0;
		return want > back ? back : 0;
	}
	return 0;
}

int gw_utf8_carry_join(struct gw_utf8_carry *c, const char *data, size_t n, struct gw_buf *joined)
{
	size_t tail;

	joined->len = 0;
	if (gw_buf_append(joined, c->bytes, c->n) < 0 || gw_buf_append(joined, data, n) < 0)
		return -1;
	tail = gw_utf8_incomplete_tail(joined->data, joined->len);
	memcpy(c->bytes, joined->data + joined->len - tail, tail);
	c->n = tail;
	joined->len -= tail;
	joined->data[joined->len] = '\0';
	return 0;
}
