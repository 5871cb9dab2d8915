/*
 * The request head a sandbox's program sends the egress proxy: one of
 *   CONNECT host:port HTTP/1.x            (a tunnel; headers are read, then ignored)
 *   METHOD http://host[:port]/path HTTP/1.x   (absolute form, plain HTTP)
 * followed by header lines and an empty line, CRLF-terminated. Hosts are
 * names (letters, digits, '-', '_', '.'), IPv4 literals or IPv6 literals in
 * brackets; they come out in lower case without brackets. Refused: origin
 * form ("GET / HTTP/1.1": this is a proxy), other schemes, userinfo, ports
 * outside 1..65535, bare LF line ends, obsolete line folding, and heads past
 * ISOL8_EGRESS_HEAD_MAX bytes. Pure: no I/O, no allocation.
 */
#ifndef ISOL8_EGRESS_HEAD_H
#define ISOL8_EGRESS_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISOL8_EGRESS_HEAD_MAX 16384
#define ISOL8_EGRESS_HOST_MAX 253

enum isol8_egress_head_result {
	ISOL8_EGRESS_HEAD_DONE = 0, /* a whole head was parsed into *out */
	ISOL8_EGRESS_HEAD_MORE = 1, /* no end of head yet: read more */
	/* otherwise the HTTP status to answer (400, 431) with why */
};

struct isol8_egress_head {
	char method[16];
	bool connect;
	char host[ISOL8_EGRESS_HOST_MAX + 1]; /* lower case, IPv6 without brackets */
	bool ipv6;                              /* host is an IPv6 literal */
	uint16_t port;
	/* Plain HTTP only, pointing into the parsed buffer: the origin-form
	 * target ("/path?query", "/" when the URL had none) and the header
	 * lines (each CRLF-terminated, without the final empty line). */
	const char *path;
	size_t path_len;
	const char *headers;
	size_t headers_len;
	size_t head_len; /* bytes of the head, final empty line included */
};

/* Parses buf[0..len). Returns an isol8_egress_head_result, or an HTTP status
 * with the reason (for the answer's body) in why. */
int isol8_egress_head_parse(const char *buf, size_t len, struct isol8_egress_head *out, char *why,
			    size_t why_size);

/* Whether the header line name (length name_len, no colon) is one a proxy
 * must not forward: hop-by-hop ones (Connection, Keep-Alive, TE, Trailer,
 * Upgrade), every Proxy-* and Host (written from the URL). */
bool isol8_egress_header_dropped(const char *name, size_t name_len);

/* The plain HTTP request forwarded to the origin: origin-form request
 * line, HTTP/1.1, Host from the URL, the client's headers but the dropped
 * ones and those its Connection header names, and `Connection: close`.
 * Writes at most size bytes into out; returns the length, or 0 when it does
 * not fit. */
size_t isol8_egress_head_forward(const struct isol8_egress_head *head, char *out, size_t size);

#endif
