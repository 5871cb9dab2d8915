/* Unit tests of the egress proxy's pure parts: the rules (server/egress/
 * rules.c) and the request head parser and forwarder (head.c,
 * head_forward.c), with the exact refusals a sandbox's program reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress/egress.h"
#include "egress/head.h"
#include "runner.h"

static struct isol8_egress_rules *compile(const char *const *white, size_t nw, const char *const *black, size_t nb)
{
	struct isol8_egress_rules *rules = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(isol8_egress_rules_compile("w", white, nw, "b", black, nb, &rules, &err), 0);
	return rules;
}

static void test_rules_verdicts(void)
{
	static const char *const white[] = {"^example\\.com$", "(^|\\.)pypi\\.org$"};
	static const char *const black[] = {"^evil\\.pypi\\.org$"};
	struct isol8_egress_rules *rules = compile(white, 2, black, 1);

	CU_ASSERT_EQUAL(isol8_egress_rules_check(rules, "example.com"), ISOL8_EGRESS_ALLOWED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(rules, "EXAMPLE.com"), ISOL8_EGRESS_ALLOWED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(rules, "files.pypi.org"), ISOL8_EGRESS_ALLOWED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(rules, "example.com.evil"), ISOL8_EGRESS_NOT_WHITELISTED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(rules, "evil.pypi.org"), ISOL8_EGRESS_BLACKLISTED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(rules, "EVIL.PYPI.ORG"), ISOL8_EGRESS_BLACKLISTED);
	isol8_egress_rules_free(rules);
}

static void test_rules_empty_whitelist(void)
{
	static const char *const any[] = {".*"};
	struct isol8_egress_rules *none = compile(NULL, 0, NULL, 0);
	struct isol8_egress_rules *black_only = compile(NULL, 0, any, 1);
	struct isol8_egress_rules *all = compile(any, 1, any, 1);

	CU_ASSERT_EQUAL(isol8_egress_rules_check(none, "example.com"), ISOL8_EGRESS_NOT_WHITELISTED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(black_only, "example.com"), ISOL8_EGRESS_BLACKLISTED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(all, "example.com"), ISOL8_EGRESS_BLACKLISTED);
	CU_ASSERT_EQUAL(isol8_egress_rules_check(NULL, "example.com"), ISOL8_EGRESS_NOT_WHITELISTED);
	isol8_egress_rules_free(none);
	isol8_egress_rules_free(black_only);
	isol8_egress_rules_free(all);
	isol8_egress_rules_free(NULL);
}

static void test_rules_errors(void)
{
	static const char *const good[] = {"ok"};
	static const char *const bad[] = {"fine", "a("};
	static const char *const bad_bracket[] = {"[z-a]"};
	struct isol8_egress_rules *rules = (void *)1;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_egress_rules_compile("options.network_filter.whitelist", bad, 2,
						   "options.network_filter.blacklist", good, 1, &rules, &err),
			-ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(rules);
	CU_ASSERT_STRING_EQUAL(err.message, "options.network_filter.whitelist[1]: \"a(\" is not a valid regular "
					    "expression (Unmatched ( or \\()");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_egress_rules_compile("w", good, 1, "options.network_filter.blacklist", bad_bracket, 1,
						   &rules, &err),
			-ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "options.network_filter.blacklist[0]: \"[z-a]\" is not a valid regular "
					    "expression (Invalid range end)");
}

static int parse(const char *text, struct isol8_egress_head *h, char *why)
{
	return isol8_egress_head_parse(text, strlen(text), h, why, 160);
}

static void test_head_connect(void)
{
	struct isol8_egress_head h;
	char why[160];
	const char *req = "CONNECT Example.COM:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nTLS";

	CU_ASSERT_EQUAL(parse(req, &h, why), ISOL8_EGRESS_HEAD_DONE);
	CU_ASSERT_STRING_EQUAL(h.method, "CONNECT");
	CU_ASSERT(h.connect);
	CU_ASSERT_STRING_EQUAL(h.host, "example.com");
	CU_ASSERT_EQUAL(h.port, 443);
	CU_ASSERT_EQUAL(h.head_len, strlen(req) - 3);
	CU_ASSERT_EQUAL(parse("CONNECT [2001:DB8::1]:8443 HTTP/1.0\r\n\r\n", &h, why), ISOL8_EGRESS_HEAD_DONE);
	CU_ASSERT_STRING_EQUAL(h.host, "2001:db8::1");
	CU_ASSERT(h.ipv6);
	CU_ASSERT_EQUAL(h.port, 8443);
}

static void test_head_absolute(void)
{
	struct isol8_egress_head h;
	char why[160];

	CU_ASSERT_EQUAL(parse("GET http://Files.Example.org:8080/a/b?c=d#frag HTTP/1.1\r\nAccept: */*\r\n\r\n", &h, why),
			ISOL8_EGRESS_HEAD_DONE);
	CU_ASSERT(!h.connect);
	CU_ASSERT_STRING_EQUAL(h.method, "GET");
	CU_ASSERT_STRING_EQUAL(h.host, "files.example.org");
	CU_ASSERT_EQUAL(h.port, 8080);
	CU_ASSERT_EQUAL(h.path_len, strlen("/a/b?c=d"));
	CU_ASSERT_NSTRING_EQUAL(h.path, "/a/b?c=d", h.path_len);
	CU_ASSERT_EQUAL(h.headers_len, strlen("Accept: */*\r\n"));
	CU_ASSERT_EQUAL(parse("POST HTTP://example.com HTTP/1.1\r\n\r\n", &h, why), ISOL8_EGRESS_HEAD_DONE);
	CU_ASSERT_EQUAL(h.port, 80);
	CU_ASSERT_EQUAL(h.path_len, 0);
	CU_ASSERT_EQUAL(parse("GET http://[::1]:81/x HTTP/1.1\r\n\r\n", &h, why), ISOL8_EGRESS_HEAD_DONE);
	CU_ASSERT_STRING_EQUAL(h.host, "::1");
	CU_ASSERT_EQUAL(h.port, 81);
}

static void test_head_more(void)
{
	struct isol8_egress_head h;
	char why[160];

	CU_ASSERT_EQUAL(parse("", &h, why), ISOL8_EGRESS_HEAD_MORE);
	CU_ASSERT_EQUAL(parse("CONNECT a:1 HTTP/1.1\r\n", &h, why), ISOL8_EGRESS_HEAD_MORE);
	CU_ASSERT_EQUAL(parse("CONNECT a:1 HTTP/1.1\r\nX: y\r\n\r", &h, why), ISOL8_EGRESS_HEAD_MORE);
}

static void refused(const char *text, int status, const char *want)
{
	struct isol8_egress_head h;
	char why[160];
	int rc = parse(text, &h, why);

	CU_ASSERT_EQUAL(rc, status);
	CU_ASSERT_STRING_EQUAL(why, want);
	if (rc != status || strcmp(why, want) != 0)
		fprintf(stderr, "\n%s: got %d \"%s\"\n", text, rc, why);
}

static void test_head_refusals(void)
{
	refused("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400,
		"malformed request: this is a proxy: send an absolute http:// URL or CONNECT");
	refused("GET https://x/ HTTP/1.1\r\n\r\n", 400,
		"malformed request: only http:// URLs and CONNECT go through this proxy");
	refused("GET http://user:pw@x/ HTTP/1.1\r\n\r\n", 400, "malformed request: userinfo in the URL");
	refused("CONNECT x HTTP/1.1\r\n\r\n", 400, "malformed request: CONNECT needs host:port");
	refused("CONNECT x:0 HTTP/1.1\r\n\r\n", 400, "malformed request: bad port");
	refused("CONNECT x:65536 HTTP/1.1\r\n\r\n", 400, "malformed request: bad port");
	refused("CONNECT x:+80 HTTP/1.1\r\n\r\n", 400, "malformed request: bad port");
	refused("CONNECT x:443a HTTP/1.1\r\n\r\n", 400, "malformed request: bad port");
	refused("CONNECT [::1:443 HTTP/1.1\r\n\r\n", 400, "malformed request: unclosed [ in the host");
	refused("CONNECT [::g]:443 HTTP/1.1\r\n\r\n", 400, "malformed request: bad IPv6 address");
	refused("CONNECT a/b:443 HTTP/1.1\r\n\r\n", 400, "malformed request: bad host");
	refused("CONNECT :443 HTTP/1.1\r\n\r\n", 400, "malformed request: bad host");
	refused("CONNECT x:443 HTTP/2.0\r\n\r\n", 400, "malformed request: not HTTP/1.0 or HTTP/1.1");
	refused("CONNECT x:443\r\n\r\n", 400, "malformed request: bad request line");
	refused("G(T http://x/ HTTP/1.1\r\n\r\n", 400, "malformed request: bad method");
	refused("GET http://x/ HTTP/1.1\nHost: x\n\n", 400, "malformed request: lines must end in CRLF");
	refused("GET http://x/ HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n", 400, "malformed request: folded header line");
	refused("GET http://x/ HTTP/1.1\r\nNo colon\r\n\r\n", 400, "malformed request: bad header line");
	refused("GET http://x/ HTTP/1.1\r\nBad Name: v\r\n\r\n", 400, "malformed request: bad header name");
	refused("GET http://x/ HTTP/1.1\r\nName: a\x01z\r\n\r\n", 400, "malformed request: bad header value");
	refused("\r\n\r\n", 400, "malformed request: lines must end in CRLF");
}

static void test_head_too_large(void)
{
	static char big[ISOL8_EGRESS_HEAD_MAX + 100];
	struct isol8_egress_head h;
	char why[160];
	size_t n = (size_t)snprintf(big, sizeof(big), "GET http://x/ HTTP/1.1\r\n");

	while (n + 16 < ISOL8_EGRESS_HEAD_MAX)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-Pad: aaaaaa\r\n");
	CU_ASSERT_EQUAL(isol8_egress_head_parse(big, n, &h, why, sizeof(why)), ISOL8_EGRESS_HEAD_MORE);
	memset(big + n, 'a', sizeof(big) - n);
	CU_ASSERT_EQUAL(isol8_egress_head_parse(big, sizeof(big), &h, why, sizeof(why)), 431);
	CU_ASSERT_STRING_EQUAL(why, "request head larger than 16384 bytes");
}

static void test_head_forward(void)
{
	const char *req = "GET http://origin.test:8080/p?q=1 HTTP/1.0\r\nHost: elsewhere\r\nProxy-Connection: keep-alive\r\n"
			  "Proxy-Authorization: Basic eA==\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
			  "Keep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\nUser-Agent: t\r\nX-Keep: 2\r\n\r\n";
	struct isol8_egress_head h;
	char why[160], out[1024];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(parse(req, &h, why), ISOL8_EGRESS_HEAD_DONE);
	n = isol8_egress_head_forward(&h, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(n > 0, 1);
	out[n] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "GET /p?q=1 HTTP/1.1\r\nHost: origin.test:8080\r\nUser-Agent: t\r\nX-Keep: 2\r\n"
				    "Connection: close\r\n\r\n");
	CU_ASSERT_EQUAL(parse("DELETE http://[fd00::1] HTTP/1.1\r\n\r\n", &h, why), ISOL8_EGRESS_HEAD_DONE);
	n = isol8_egress_head_forward(&h, out, sizeof(out));
	out[n] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "DELETE / HTTP/1.1\r\nHost: [fd00::1]\r\nConnection: close\r\n\r\n");
	CU_ASSERT_EQUAL(isol8_egress_head_forward(&h, out, 20), 0);
	CU_ASSERT(isol8_egress_header_dropped("proxy-anything", 14));
	CU_ASSERT(!isol8_egress_header_dropped("proxyx", 6));
}

/* Parses len bytes of text from a buffer of exactly that size, so that a
 * read past it shows under valgrind or ASan. */
static int parse_exact(const char *text, size_t len)
{
	struct isol8_egress_head h;
	char why[160], *copy = malloc(len ? len : 1);
	int rc;

	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, text, len);
	rc = isol8_egress_head_parse(copy, len, &h, why, sizeof(why));
	free(copy);
	return rc;
}

static void test_head_prefixes_and_noise(void)
{
	static const char *const heads[] = {
		"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
		"GET http://a.example:8080/p?q HTTP/1.1\r\nA: b\r\nC: d\r\n\r\n",
	};
	unsigned seed = 42;

	for (size_t k = 0; k < 2; k++) {
		size_t len = strlen(heads[k]);
		for (size_t n = 0; n < len; n++)
			CU_ASSERT_EQUAL(parse_exact(heads[k], n), ISOL8_EGRESS_HEAD_MORE);
		CU_ASSERT_EQUAL(parse_exact(heads[k], len), ISOL8_EGRESS_HEAD_DONE);
	}
	/* random edits of a valid head: any answer, no read past the bytes */
	for (int round = 0; round < 20000; round++) {
		char buf[128];
		size_t len = strlen(heads[round % 2]);
		int rc;

		memcpy(buf, heads[round % 2], len);
		for (int e = 0; e < 3; e++) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 8) % len] = (char)(" :/[]\r\n@x0\t\x80"[(seed >> 20) % 13]);
		}
		rc = parse_exact(buf, len);
		CU_ASSERT(rc == ISOL8_EGRESS_HEAD_DONE || rc == ISOL8_EGRESS_HEAD_MORE || rc == 400);
	}
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"rules verdicts", test_rules_verdicts}, {"rules empty whitelist", test_rules_empty_whitelist},
		{"rules errors", test_rules_errors},     {"head connect", test_head_connect},
		{"head absolute", test_head_absolute},   {"head more", test_head_more},
		{"head refusals", test_head_refusals},   {"head too large", test_head_too_large},
		{"head forward", test_head_forward},     {"head prefixes and noise", test_head_prefixes_and_noise},
	};
	return isol8_test_run("egress_rules", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
