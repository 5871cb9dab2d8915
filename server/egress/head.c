/*
 * The request head parser (head.h): the request line, then header lines
 * checked one by one, every length bounded by the buffer it was given.
 */
#include "egress/head.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

static int refuse(char *why, size_t why_size, int status, const char *reason)
{
	snprintf(why, why_size, "%s", reason);
	return status;
}

/* RFC 9110 tchar. */
static bool is_token_char(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* What may appear in a request target: visible ASCII and bytes past it. */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

/* Finds the end of the head: the offset just past the empty line, 0 when
 * not there yet, or (size_t)-1 on a bare LF or CR. */
static size_t head_end(const char *buf, size_t len)
{
	size_t line_start = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			return (size_t)-1;
		if (buf[i] != '\r')
			continue;
		if (i + 1 == len)
			return 0;
		if (buf[i + 1] != '\n')
			return (size_t)-1;
		if (i == line_start && i > 0)
			return i + 2;
		if (i == 0)
			return (size_t)-1; /* an empty first line */
		line_start = i + 2;
		i++;
	}
	return 0;
}

/* host[:port] from text[0..len): a name, an IPv4 literal or [IPv6]. */
static int parse_authority(const char *text, size_t len, bool port_required, struct isol8_egress_head *out,
			   char *why, size_t why_size)
{
	const char *host = text, *colon = NULL;
	size_t host_len;

	if (len > 0 && text[0] == '[') {
		const char *close = memchr(text, ']', len);
		char v6[INET6_ADDRSTRLEN + 1];
		unsigned char bin[16];

		if (close == NULL)
			return refuse(why, why_size, 400, "malformed request: unclosed [ in the host");
		host = text + 1;
		host_len = (size_t)(close - host);
		if (host_len == 0 || host_len >= sizeof(v6))
			return refuse(why, why_size, 400, "malformed request: bad IPv6 address");
		memcpy(v6, host, host_len);
		v6[host_len] = '\0';
		if (inet_pton(AF_INET6, v6, bin) != 1)
			return refuse(why, why_size, 400, "malformed request: bad IPv6 address");
		out->ipv6 = true;
		if ((size_t)(close + 1 - text) < len) {
			if (close[1] != ':')
				return refuse(why, why_size, 400, "malformed request: bad host");
			colon = close + 1;
		}
	} else {
		colon = memchr(text, ':', len);
		host_len = colon ? (size_t)(colon - text) : len;
		if (memchr(text, '@', len) != NULL)
			return refuse(why, why_size, 400, "malformed request: userinfo in the URL");
		for (size_t i = 0; i < host_len; i++) {
			unsigned char c = (unsigned char)host[i];
			if (!isalnum(c) && c != '-' && c != '.' && c != '_')
				return refuse(why, why_size, 400, "malformed request: bad host");
		}
	}
	if (host_len == 0 || host_len > ISOL8_EGRESS_HOST_MAX)
		return refuse(why, why_size, 400, "malformed request: bad host");
	for (size_t i = 0; i < host_len; i++)
		out->host[i] = (char)tolower((unsigned char)host[i]);
	out->host[host_len] = '\0';

	if (colon == NULL) {
		if (port_required)
			return refuse(why, why_size, 400, "malformed request: CONNECT needs host:port");
		out->port = 80;
		return 0;
	}
	const char *digits = colon + 1;
	size_t n = (size_t)(text + len - digits);
	unsigned long port = 0;

	if (n == 0 || n > 5)
		return refuse(why, why_size, 400, "malformed request: bad port");
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)digits[i]))
			return refuse(why, why_size, 400, "malformed request: bad port");
		port = port * 10 + (unsigned long)(digits[i] - '0');
	}
	if (port == 0 || port > 65535)
		return refuse(why, why_size, 400, "malformed request: bad port");
	out->port = (uint16_t)port;
	return 0;
}

/* http://authority[/path][?query] into host, port and the origin-form path. */
static int parse_absolute(const char *target, size_t len, struct isol8_egress_head *out, char *why,
			  size_t why_size)
{
	static const char scheme[] = "http://";
	const size_t scheme_len = sizeof(scheme) - 1;
	size_t auth_len = 0, end;
	int rc;

	if (len > 0 && target[0] == '/')
		return refuse(why, why_size, 400,
			      "malformed request: this is a proxy: send an absolute http:// URL or CONNECT");
	if (len < scheme_len || strncasecmp(target, scheme, scheme_len) != 0)
		return refuse(why, why_size, 400,
			      "malformed request: only http:// URLs and CONNECT go through this proxy");
	target += scheme_len;
	len -= scheme_len;
	end = len;
	while (auth_len < len && target[auth_len] != '/' && target[auth_len] != '?' && target[auth_len] != '#')
		auth_len++;
	rc = parse_authority(target, auth_len, false, out, why, why_size);
	if (rc != 0)
		return rc;
	const char *hash = memchr(target + auth_len, '#', len - auth_len);
	if (hash != NULL)
		end = (size_t)(hash - target);
	out->path = target + auth_len;
	out->path_len = end - auth_len;
	return 0;
}

static int parse_request_line(const char *line, size_t len, struct isol8_egress_head *out, char *why,
			      size_t why_size)
{
	const char *sp1 = memchr(line, ' ', len), *sp2, *target, *version;
	size_t method_len, target_len, version_len;

	if (sp1 == NULL)
		return refuse(why, why_size, 400, "malformed request: bad request line");
	method_len = (size_t)(sp1 - line);
	target = sp1 + 1;
	sp2 = memchr(target, ' ', len - method_len - 1);
	if (sp2 == NULL)
		return refuse(why, why_size, 400, "malformed request: bad request line");
	target_len = (size_t)(sp2 - target);
	version = sp2 + 1;
	version_len = (size_t)(line + len - version);
	if (method_len == 0 || method_len >= sizeof(out->method))
		return refuse(why, why_size, 400, "malformed request: bad method");
	for (size_t i = 0; i < method_len; i++)
		if (!is_token_char((unsigned char)line[i]))
			return refuse(why, why_size, 400, "malformed request: bad method");
	if (version_len != 8 || (memcmp(version, "HTTP/1.1", 8) != 0 && memcmp(version, "HTTP/1.0", 8) != 0))
		return refuse(why, why_size, 400, "malformed request: not HTTP/1.0 or HTTP/1.1");
	if (target_len == 0)
		return refuse(why, why_size, 400, "malformed request: bad request line");
	for (size_t i = 0; i < target_len; i++)
		if (!is_target_char((unsigned char)target[i]))
			return refuse(why, why_size, 400, "malformed request: bad request line");
	memcpy(out->method, line, method_len);
	out->method[method_len] = '\0';
	out->connect = strcmp(out->method, "CONNECT") == 0;
	if (out->connect) {
		out->path = "";
		out->path_len = 0;
		return parse_authority(target, target_len, true, out, why, why_size);
	}
	return parse_absolute(target, target_len, out, why, why_size);
}

/* name: value, a token name, no control characters but tab in the value. */
static int check_header_line(const char *line, size_t len, char *why, size_t why_size)
{
	const char *colon = memchr(line, ':', len);

	if (len > 0 && (line[0] == ' ' || line[0] == '\t'))
		return refuse(why, why_size, 400, "malformed request: folded header line");
	if (colon == NULL || colon == line)
		return refuse(why, why_size, 400, "malformed request: bad header line");
	for (const char *p = line; p < colon; p++)
		if (!is_token_char((unsigned char)*p))
			return refuse(why, why_size, 400, "malformed request: bad header name");
	for (const char *p = colon + 1; p < line + len; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse(why, why_size, 400, "malformed request: bad header value");
	}
	return 0;
}

int isol8_egress_head_parse(const char *buf, size_t len, struct isol8_egress_head *out, char *why,
			    size_t why_size)
{
	size_t scan = len < ISOL8_EGRESS_HEAD_MAX ? len : ISOL8_EGRESS_HEAD_MAX;
	size_t end = head_end(buf, scan);
	const char *line_end;
	int rc;

	memset(out, 0, sizeof(*out));
	if (why_size > 0)
		why[0] = '\0';
	if (end == (size_t)-1)
		return refuse(why, why_size, 400, "malformed request: lines must end in CRLF");
	if (end == 0)
		return len >= ISOL8_EGRESS_HEAD_MAX
			       ? refuse(why, why_size, 431, "request head larger than 16384 bytes")
			       : ISOL8_EGRESS_HEAD_MORE;
	line_end = memchr(buf, '\r', end);
	rc = parse_request_line(buf, (size_t)(line_end - buf), out, why, why_size);
	if (rc != 0)
		return rc;
	out->headers = line_end + 2;
	out->headers_len = (size_t)(buf + end - 2 - out->headers);
	for (const char *p = out->headers; p < buf + end - 2;) {
		const char *cr = memchr(p, '\r', (size_t)(buf + end - p));
		rc = check_header_line(p, (size_t)(cr - p), why, why_size);
		if (rc != 0)
			return rc;
		p = cr + 2;
	}
	out->head_len = end;
	return ISOL8_EGRESS_HEAD_DONE;
}
