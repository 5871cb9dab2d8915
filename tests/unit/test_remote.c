/* Remote code (server/engine/remote.h): the policy's checks with their
 * exact messages, the configuration's default blocked hosts, runtime
 * inference from the URL, the body's verification, the cache, and the
 * SSRF guard on the addresses a fetch connects to. No network beyond
 * loopback, no Docker. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "config/config.h"
#include "engine/options.h"
#include "engine/remote.h"
#include "engine/remote_internal.h"
#include "runner.h"

static const char *const both[] = {"https", "http"};

static struct isol8_remote *make(const struct isol8_remote_settings *s)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_remote *r = NULL;

	CU_ASSERT_EQUAL_FATAL(isol8_remote_new(&r, s, &err), 0);
	return r;
}

static void enabled(struct isol8_remote_settings *s)
{
	isol8_remote_settings_init(s);
	s->enabled = true;
}

static void expect_check(struct isol8_remote *r, const char *url, const char *hash, bool insecure, int code,
			 const char *message)
{
	struct isol8_remote_request req = {.url = url, .hash = hash, .allow_insecure = insecure};
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_remote_check(r, &req, &err), -code);
	if (message != NULL && strcmp(err.message, message) != 0)
		fprintf(stderr, "\n  got      \"%s\"\n  expected \"%s\"\n", err.message, message);
	if (message != NULL)
		CU_ASSERT_STRING_EQUAL(err.message, message);
}

static void test_disabled(void)
{
	struct isol8_remote_settings s;
	struct isol8_remote *r;

	isol8_remote_settings_init(&s);
	r = make(&s);
	expect_check(r, "https://example.com/a.py", NULL, false, ISOL8_E_PERMISSION,
		     "code_url: remote code is disabled on this isol8d (set remoteCode.enabled: true in its "
		     "configuration file to allow it)");
	isol8_remote_free(r);
}

static void test_schemes(void)
{
	struct isol8_remote_settings s;
	struct isol8_remote *r;

	enabled(&s);
	r = make(&s);
	expect_check(r, "https://example.com/a.py", NULL, false, 0, NULL);
	expect_check(r, "HTTPS://Example.COM/a.py", NULL, false, 0, NULL);
	expect_check(r, "http://example.com/a.py", NULL, false, ISOL8_E_INVALID,
		     "code_url: \"http://example.com/a.py\": plain http is refused unless the request sets "
		     "allow_insecure_code_url (--allow-insecure-code-url)");
	expect_check(r, "http://example.com/a.py", NULL, true, ISOL8_E_PERMISSION,
		     "code_url: \"http://example.com/a.py\": scheme \"http\" is not in this isol8d's "
		     "remoteCode.allowedSchemes");
	expect_check(r, "ftp://example.com/a.py", NULL, false, ISOL8_E_PERMISSION,
		     "code_url: \"ftp://example.com/a.py\": scheme \"ftp\" is not in this isol8d's "
		     "remoteCode.allowedSchemes");
	expect_check(r, "example.com/a.py", NULL, false, ISOL8_E_INVALID, NULL);
	/* a scheme without a host is still refused for its scheme */
	expect_check(r, "file:///etc/passwd", NULL, false, ISOL8_E_PERMISSION,
		     "code_url: \"file:///etc/passwd\": scheme \"file\" is not in this isol8d's "
		     "remoteCode.allowedSchemes");
	expect_check(r, "https://user:pw@example.com/a.py", NULL, false, ISOL8_E_INVALID,
		     "code_url: \"https://user:pw@example.com/a.py\": a user or password in the URL is refused "
		     "(isol8d sends no credentials)");
	isol8_remote_free(r);

	s.allowed_schemes = both;
	s.n_allowed_schemes = 2;
	r = make(&s);
	expect_check(r, "http://example.com/a.py", NULL, true, 0, NULL);
	isol8_remote_free(r);
}

static void test_hosts(void)
{
	static const char *const allowed[] = {"^raw\\.githubusercontent\\.com$", "(^|\\.)example\\.org$"};
	static const char *const blocked[] = {"^evil\\.example\\.org$"};
	struct isol8_remote_settings s;
	struct isol8_remote *r;

	enabled(&s);
	s.allowed_hosts = allowed;
	s.n_allowed_hosts = 2;
	s.blocked_hosts = blocked;
	s.n_blocked_hosts = 1;
	r = make(&s);
	expect_check(r, "https://raw.githubusercontent.com/u/r/main/a.py", NULL, false, 0, NULL);
	expect_check(r, "https://CDN.Example.org:8443/a.py", NULL, false, 0, NULL);
	expect_check(r, "https://evil.example.org/a.py", NULL, false, ISOL8_E_PERMISSION,
		     "code_url: \"https://evil.example.org/a.py\": host \"evil.example.org\" is blocked by "
		     "remoteCode.blockedHosts (\"^evil\\.example\\.org$\")");
	expect_check(r, "https://example.com/a.py", NULL, false, ISOL8_E_PERMISSION,
		     "code_url: \"https://example.com/a.py\": host \"example.com\" is not in this isol8d's "
		     "remoteCode.allowedHosts");
	/* a name with its root's dot is the same host; an IPv4-mapped IPv6
	 * literal is the IPv4 address: the rules see what curl connects to */
	expect_check(r, "https://evil.example.org./a.py", NULL, false, ISOL8_E_PERMISSION,
		     "code_url: \"https://evil.example.org./a.py\": host \"evil.example.org\" is blocked by "
		     "remoteCode.blockedHosts (\"^evil\\.example\\.org$\")");
	expect_check(r, "https://raw.githubusercontent.com./u/r/main/a.py", NULL, false, 0, NULL);
	isol8_remote_free(r);
}

static void test_hashes(void)
{
	struct isol8_remote_settings s;
	struct isol8_remote *r;
	const char *good = "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef";

	enabled(&s);
	s.require_hash = true;
	r = make(&s);
	expect_check(r, "https://example.com/a.py", good, false, 0, NULL);
	expect_check(r, "https://example.com/a.py", NULL, false, ISOL8_E_INVALID,
		     "code_hash: required by this isol8d's remoteCode.requireHash (give the code's SHA-256)");
	expect_check(r, "https://example.com/a.py", "abc", false, ISOL8_E_INVALID,
		     "code_hash: \"abc\" is not a SHA-256 digest (64 hex digits)");
	isol8_remote_free(r);
}

static void test_bad_settings(void)
{
	static const char *const bad_regex[] = {"^ok$", "^127(?:\\.[0-9]{1,3}){3}$"};
	static const char *const ftp[] = {"ftp"};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_remote_settings s;
	struct isol8_remote *r = NULL;

	enabled(&s);
	s.blocked_hosts = bad_regex;
	s.n_blocked_hosts = 2;
	CU_ASSERT_EQUAL(isol8_remote_new(&r, &s, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "remoteCode.blockedHosts[1]: not a POSIX extended regular expression ("));

	enabled(&s);
	s.allowed_schemes = ftp;
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_remote_new(&r, &s, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "remoteCode.allowedSchemes[0]: \"ftp\" is not a scheme isol8d fetches (http, https)");
}

/* The configuration's built-in blockedHosts (the original's, in POSIX
 * ERE) compile and block what the original's blocked, and only that. */
static void test_default_blocked_hosts(void)
{
	static const char *const blocked[] = {
		"localhost", "127.0.0.1", "127.1.2.3", "[::1]", "10.0.0.1", "172.16.0.1", "172.31.255.255",
		"192.168.1.20", "169.254.10.1", "169.254.169.254", "metadata.google.internal", "LOCALHOST",
		"localhost.", "metadata.google.internal.", "127.0.0.1.", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
		"[0:0:0:0:0:ffff:a9fe:a9fe]", "[::FFFF:10.0.0.1]",
	};
	static const char *const passed[] = {
		"example.com", "172.32.0.1", "172.15.0.1", "11.0.0.1", "192.169.0.1", "localhost.example.com",
		"1127.0.0.1", "metadata.google.internal.example", "example.com.", "[::ffff:8.8.8.8]", "[2001:db8::1]",
	};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_config *c = NULL;
	struct isol8_remote_settings s;
	struct isol8_remote *r;
	char url[128];

	CU_ASSERT_EQUAL_FATAL(isol8_config_parse(&c, NULL, 0, NULL, &err), 0);
	CU_ASSERT_EQUAL(c->remote_code.blocked_hosts.n, 10);
	enabled(&s);
	s.blocked_hosts = (const char *const *)c->remote_code.blocked_hosts.items;
	s.n_blocked_hosts = c->remote_code.blocked_hosts.n;
	r = make(&s);
	for (size_t i = 0; i < ISOL8_TESTS_LEN(blocked); i++) {
		snprintf(url, sizeof(url), "https://%s/a.py", blocked[i]);
		expect_check(r, url, NULL, false, ISOL8_E_PERMISSION, NULL);
	}
	for (size_t i = 0; i < ISOL8_TESTS_LEN(passed); i++) {
		snprintf(url, sizeof(url), "https://%s/a.py", passed[i]);
		expect_check(r, url, NULL, false, 0, NULL);
	}
	expect_check(r, "https://172.20.1.1/a.py", NULL, false, ISOL8_E_PERMISSION,
		     "code_url: \"https://172.20.1.1/a.py\": host \"172.20.1.1\" is blocked by "
		     "remoteCode.blockedHosts (\"^172\\.(1[6-9]|2[0-9]|3[0-1])(\\.[0-9]{1,3}){2}$\")");
	isol8_remote_free(r);
	isol8_config_free(c);
}

static void test_runtime_of(void)
{
	static const struct {
		const char *url, *runtime, *ext;
	} cases[] = {
		{"https://h/a/main.py", "python", NULL},
		{"https://h/x.js?token=1#top", "node", "mjs"},
		{"https://h/x.cjs", "node", "cjs"},
		{"https://h/x.mjs", "node", "mjs"},
		{"https://h/x.ts", "bun", NULL},
		{"https://h/run.sh", "bash", NULL},
		{"https://h/X.PY", "python", NULL},
		{"https://h/x.rb", NULL, NULL},
		{"https://h/Makefile", NULL, NULL},
		{"https://h/dir.py/", NULL, NULL},
		{"https://h/.py", NULL, NULL},
		{"https://h/a?x=b.py", NULL, NULL},
	};

	for (size_t i = 0; i < ISOL8_TESTS_LEN(cases); i++) {
		const char *ext = "unset";
		const char *rt = isol8_remote_runtime_of(cases[i].url, &ext);
		if (cases[i].runtime == NULL) {
			CU_ASSERT_PTR_NULL(rt);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
		CU_ASSERT_STRING_EQUAL(rt, cases[i].runtime);
		if (cases[i].ext == NULL) {
			CU_ASSERT_PTR_NULL(ext);
		} else {
			CU_ASSERT_STRING_EQUAL(ext, cases[i].ext);
		}
	}
}

/* The request's runtime: its own, else the URL's extension's. */
static void test_request_runtime(void)
{
	Isol8__V1__ExecuteRequest req = ISOL8__V1__EXECUTE_REQUEST__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_exec_options o;

	req.code_url = "https://h/lib/tool.cjs";
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_STRING_EQUAL(o.runtime->info->name, "node");
	CU_ASSERT_STRING_EQUAL(o.code_path, "/sandbox/main.cjs");
	req.runtime = "bun";
	CU_ASSERT_EQUAL_FATAL(isol8_options_resolve(&req, &o, &err), 0);
	CU_ASSERT_STRING_EQUAL(o.runtime->info->name, "bun");
	req.runtime = "";
	req.code_url = "https://h/tool";
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &o, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "runtime: cannot tell it from the extension of code_url "
					    "\"https://h/tool\" (give runtime: python, node, bun, deno, bash; or a URL "
					    "ending in .py, .js, .mjs, .cjs, .ts, .mts, .sh)");
	isol8_error_clear(&err);
	req.runtime = "python";
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &o, &err), 0);
	req.code = "print(1)";
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &o, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "code_url: give it instead of code, not with it");
	isol8_error_clear(&err);
	req.code = "";
	req.cmd = "ls";
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &o, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "code_url: give it instead of cmd, not with it");
	isol8_error_clear(&err);
	req.cmd = "";
	req.code_url = "";
	req.code = "print(1)";
	req.code_hash = "abc";
	CU_ASSERT_EQUAL(isol8_options_resolve(&req, &o, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "code_hash: only with code_url (it checks fetched code)");
}

static void expect_verify(const char *body, size_t len, const char *hash, int code, const char *message)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_remote_verify("https://h/a.py", hash, body, len, &err), -code);
	if (message != NULL)
		CU_ASSERT_STRING_EQUAL(err.message, message);
}

static void test_verify(void)
{
	char actual[65];
	struct isol8_sha256 sha;
	const char *body = "print('hi')\n";

	isol8_sha256_init(&sha);
	isol8_sha256_update(&sha, body, strlen(body));
	isol8_sha256_hex(&sha, actual);
	expect_verify(body, strlen(body), NULL, 0, NULL);
	expect_verify(body, strlen(body), actual, 0, NULL);
	for (char *p = actual; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
	expect_verify(body, strlen(body), actual, 0, NULL);
	{
		char message[512];
		const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
		isol8_sha256_init(&sha);
		isol8_sha256_update(&sha, body, strlen(body));
		isol8_sha256_hex(&sha, actual);
		snprintf(message, sizeof(message),
			 "code_hash: the code at \"https://h/a.py\" has SHA-256 %s, not the expected %s", actual, wrong);
		expect_verify(body, strlen(body), wrong, ISOL8_E_INVALID, message);
	}
	expect_verify("", 0, NULL, ISOL8_E_INVALID, "code_url: \"https://h/a.py\": the code is empty");
	expect_verify("ok\xff\xfe", 4, NULL, ISOL8_E_INVALID,
		      "code_url: \"https://h/a.py\": the code is not UTF-8 text (byte 2)");
	expect_verify("ab\0c", 4, NULL, ISOL8_E_INVALID,
		      "code_url: \"https://h/a.py\": the code contains a NUL byte (byte 2)");
	expect_verify("caf\xc3\xa9 = 1", 9, NULL, 0, NULL);
}

static void expect_cached(struct isol8_remote_cache *c, const char *url, const char *hash, int64_t now,
			  const char *code)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char *got = NULL;
	size_t len = 0;
	int ret = isol8_remote_cache_get(c, url, hash, now, &got, &len, &err);

	CU_ASSERT_EQUAL(ret, code != NULL ? 1 : 0);
	if (code != NULL && ret == 1) {
		CU_ASSERT_EQUAL(len, strlen(code));
		CU_ASSERT_STRING_EQUAL(got, code);
	}
	free(got);
}

static void test_cache(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_remote_cache c;
	const char *h = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

	isol8_remote_cache_init(&c, 3, 20, 1000);
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/a", "", "aaaa", 4, 0, &err), 0);
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/a", h, "hashed", 6, 10, &err), 0);
	/* keyed by URL and hash (any case) */
	expect_cached(&c, "https://h/a", "", 500, "aaaa");
	expect_cached(&c, "https://h/a", "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", 500,
		      "hashed");
	expect_cached(&c, "https://h/b", "", 500, NULL);
	/* the TTL: fresh until 1000 ms after it was kept */
	expect_cached(&c, "https://h/a", "", 999, "aaaa");
	expect_cached(&c, "https://h/a", "", 1000, NULL);
	CU_ASSERT_EQUAL(isol8_remote_cache_count(&c), 1);
	/* replaced, not doubled */
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/a", h, "new", 3, 20, &err), 0);
	CU_ASSERT_EQUAL(isol8_remote_cache_count(&c), 1);
	expect_cached(&c, "https://h/a", h, 30, "new");
	/* at most 3 entries: the oldest goes */
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/1", "", "1", 1, 30, &err), 0);
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/2", "", "2", 1, 40, &err), 0);
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/3", "", "3", 1, 50, &err), 0);
	CU_ASSERT_EQUAL(isol8_remote_cache_count(&c), 3);
	expect_cached(&c, "https://h/a", h, 60, NULL);
	expect_cached(&c, "https://h/1", "", 60, "1");
	/* at most 20 bytes: the oldest go until it fits */
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/big", "", "0123456789012345678", 19, 70, &err), 0);
	CU_ASSERT_EQUAL(isol8_remote_cache_count(&c), 2);
	expect_cached(&c, "https://h/big", "", 80, "0123456789012345678");
	expect_cached(&c, "https://h/3", "", 80, "3");
	expect_cached(&c, "https://h/2", "", 80, NULL);
	/* larger than the cache: not kept, nothing dropped */
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/huge", "", "012345678901234567890", 21, 90, &err), 0);
	expect_cached(&c, "https://h/huge", "", 95, NULL);
	expect_cached(&c, "https://h/big", "", 95, "0123456789012345678");
	isol8_remote_cache_release(&c);

	/* code that came over plain http is kept only under an http URL,
	 * which every reader must allow_insecure_code_url to ask for: an
	 * https URL redirected to http is fetched again, so a caller without
	 * the flag never gets code a hop sent in the clear */
	CU_ASSERT_TRUE(isol8_remote_cacheable("https://h/a", false));
	CU_ASSERT_FALSE(isol8_remote_cacheable("https://h/a", true));
	CU_ASSERT_TRUE(isol8_remote_cacheable("http://h/a", true));
	CU_ASSERT_TRUE(isol8_remote_cacheable("HTTP://h/a", true));

	/* a TTL of 0 keeps nothing */
	isol8_remote_cache_init(&c, 3, 20, 0);
	CU_ASSERT_EQUAL(isol8_remote_cache_put(&c, "https://h/a", "", "a", 1, 0, &err), 0);
	CU_ASSERT_EQUAL(isol8_remote_cache_count(&c), 0);
	isol8_remote_cache_release(&c);
}

static void expect_fetch(struct isol8_remote *r, const char *url, int code, const char *message)
{
	struct isol8_remote_request req = {.url = url, .allow_insecure = true};
	struct isol8_error err = ISOL8_ERROR_INIT;
	char *body = NULL;
	size_t len = 0;
	bool cached = true;

	CU_ASSERT_EQUAL(isol8_remote_fetch(r, &req, &body, &len, &cached, &err), -code);
	CU_ASSERT_PTR_NULL(body);
	if (message != NULL && strcmp(err.message, message) != 0)
		fprintf(stderr, "\n  got      \"%s\"\n  expected \"%s\"\n", err.message, message);
	if (message != NULL)
		CU_ASSERT_STRING_EQUAL(err.message, message);
	free(body);
}

/* Every address a fetch would connect to passes the SSRF guard; an
 * allowed range lets the fetch go on (here to a port nobody listens on). */
static void test_guard(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_remote_settings s;
	struct isol8_remote *r;

	enabled(&s);
	s.allowed_schemes = both;
	s.n_allowed_schemes = 2;
	r = make(&s);
	expect_fetch(r, "http://127.0.0.1:9/a.py", ISOL8_E_PERMISSION,
		     "code_url: \"http://127.0.0.1:9/a.py\": 127.0.0.1 is a loopback address (network.allowedRanges "
		     "can let it through)");
	expect_fetch(r, "http://169.254.169.254/latest/meta-data.py", ISOL8_E_PERMISSION,
		     "code_url: \"http://169.254.169.254/latest/meta-data.py\": 169.254.169.254 is a link-local "
		     "address (network.allowedRanges can let it through)");
	expect_fetch(r, "http://[::1]:9/a.py", ISOL8_E_PERMISSION,
		     "code_url: \"http://[::1]:9/a.py\": ::1 is a loopback address (network.allowedRanges can let it "
		     "through)");
	isol8_remote_free(r);

	CU_ASSERT_EQUAL(isol8_net_guard_allow(&s.guard, "network.allowedRanges[0]", "127.0.0.1", &err), 0);
	r = make(&s);
	expect_fetch(r, "http://127.0.0.1:9/a.py", ISOL8_E_UNAVAILABLE, NULL);
	isol8_remote_free(r);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"disabled", test_disabled},
		{"schemes", test_schemes},
		{"hosts", test_hosts},
		{"hashes", test_hashes},
		{"bad settings", test_bad_settings},
		{"default blocked hosts", test_default_blocked_hosts},
		{"runtime of a URL", test_runtime_of},
		{"request runtime", test_request_runtime},
		{"verify", test_verify},
		{"cache", test_cache},
		{"guard", test_guard},
	};
	return isol8_test_run("remote", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
