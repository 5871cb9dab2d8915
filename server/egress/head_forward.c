/*
 * The plain HTTP request as forwarded to the origin (head.h): origin form,
 * Host from the URL, hop-by-hop and Proxy-* headers dropped, one request per
 * connection.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "egress/head.h"

static const char *const dropped_headers[] = {
	"connection", "keep-alive", "te", "trailer", "upgrade", "host",
};

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

bool isol8_egress_header_dropped(const char *name, size_t name_len)
{
	if (name_len >= 6 && strncasecmp(name, "proxy-", 6) == 0)
		return true;
	for (size_t i = 0; i < sizeof(dropped_headers) / sizeof(dropped_headers[0]); i++)
		if (name_is(name, name_len, dropped_headers[i]))
			return true;
	return false;
}

/* Whether name is one of the comma-separated tokens of a Connection
 * header's value. */
static bool named_by_connection(const struct isol8_egress_head *head, const char *name, size_t name_len)
{
	const char *p = head->headers, *end = head->headers + head->headers_len;

	while (p < end) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));
		const char *colon = memchr(p, ':', (size_t)(cr - p));

		if (colon != NULL && name_is(p, (size_t)(colon - p), "connection")) {
			const char *v = colon + 1;
			while (v < cr) {
				while (v < cr && (*v == ' ' || *v == '\t' || *v == ','))
					v++;
				const char *t = v;
				while (v < cr && *v != ',' && *v != ' ' && *v != '\t')
					v++;
				if ((size_t)(v - t) == name_len && name_len > 0 && strncasecmp(t, name, name_len) == 0)
					return true;
			}
		}
		p = cr + 2;
	}
	return false;
}

struct out_buf {
	char *p;
	size_t len, size;
	bool overflow;
};

static void put(struct out_buf *b, const char *s, size_t n)
{
	if (b->overflow || n > b->size - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void put_str(struct out_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

size_t isol8_egress_head_forward(const struct isol8_egress_head *head, char *out, size_t size)
{
	struct out_buf b = {out, 0, size, false};
	const char *p = head->headers, *end = head->headers + head->headers_len;
	char port[16];

	put_str(&b, head->method);
	put_str(&b, " ");
	if (head->path_len == 0 || head->path[0] != '/')
		put_str(&b, "/");
	put(&b, head->path, head->path_len);
	put_str(&b, " HTTP/1.1\r\nHost: ");
	if (head->ipv6)
		put_str(&b, "[");
	put_str(&b, head->host);
	if (head->ipv6)
		put_str(&b, "]");
	if (head->port != 80) {
		snprintf(port, sizeof(port), ":%u", (unsigned)head->port);
		put_str(&b, port);
	}
	put_str(&b, "\r\n");
	while (p < end) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));
		const char *colon = memchr(p, ':', (size_t)(cr - p));
		size_t name_len = (size_t)(colon - p);

		if (!isol8_egress_header_dropped(p, name_len) && !named_by_connection(head, p, name_len))
			put(&b, p, (size_t)(cr + 2 - p));
		p = cr + 2;
	}
	put_str(&b, "Connection: close\r\n\r\n");
	return b.overflow ? 0 : b.len;
}
