/* Unit tests of the egress proxy (server/egress/) serving requests: the real
 * proxy on a temp unix socket (egress_harness.h), loopback origin servers,
 * names from the test's hosts file. What a sandbox's program reads is
 * asserted byte for byte: tunnels, forwarded requests, every refusal, the
 * guard, lookups, a real curl. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "egress/egress.h"
#include "egress/head.h"
#include "egress/testing.h"
#include "egress_harness.h"
#include "runner.h"

static void test_connect_tunnel(void)
{
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_egress_log log;
	char text[256], got[256];
	int fd;

	clear_log();
	bind_on(port, rules, 0);
	fd = client_connect(sock_path);
	CU_ASSERT_FATAL(fd >= 0);
	/* bytes sent with the head go through too */
	snprintf(text, sizeof(text), "CONNECT origin.test:%u HTTP/1.1\r\n\r\nearly", (unsigned)echo.port);
	CU_ASSERT_EQUAL(client_send(fd, text), 0);
	CU_ASSERT_EQUAL(client_read_n(fd, got, CONNECT_OK_LEN + 5, 10000), (ssize_t)(CONNECT_OK_LEN + 5));
	CU_ASSERT_NSTRING_EQUAL(got, CONNECT_OK, CONNECT_OK_LEN);
	CU_ASSERT_STRING_EQUAL(got + CONNECT_OK_LEN, "early");
	CU_ASSERT_EQUAL(client_send(fd, "ping"), 0);
	CU_ASSERT_EQUAL(client_read_n(fd, got, 4, 10000), 4);
	CU_ASSERT_STRING_EQUAL(got, "ping");
	/* half-close: our EOF reaches the origin, whose EOF comes back */
	shutdown(fd, SHUT_WR);
	CU_ASSERT_EQUAL(client_read_all(fd, got, sizeof(got), 10000), 0);
	close(fd);
	isol8_egress_unbind(port, &log);
	CU_ASSERT_EQUAL_FATAL(log.n, 1);
	CU_ASSERT_STRING_EQUAL(log.entries[0].method, "CONNECT");
	CU_ASSERT_STRING_EQUAL(log.entries[0].host, "origin.test");
	CU_ASSERT_STRING_EQUAL(log.entries[0].path, "");
	CU_ASSERT(log.entries[0].allowed);
	CU_ASSERT_EQUAL(strlen(log.entries[0].timestamp), 24);
	CU_ASSERT_EQUAL(log.bytes, 18);
	CU_ASSERT(!log.capped);
	CU_ASSERT_EQUAL(log.dropped, 0);
	snprintf(text, sizeof(text), "egress ALLOW sandbox=sb exec=e1 CONNECT origin.test:%u Nms", (unsigned)echo.port);
	CU_ASSERT(logged(text));
	isol8_egress_log_release(&log);
	isol8_egress_rules_free(rules);
}

static void test_http_forward(void)
{
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_egress_log log;
	char text[1024], got[1024], want[512];

	clear_log();
	bind_on(port, rules, 0);
	snprintf(text, sizeof(text),
		 "GET http://Origin.Test:%u/hello?x=1 HTTP/1.1\r\nHost: origin.test:%u\r\n"
		 "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nConnection: keep-alive, X-Hop\r\n"
		 "X-Hop: 1\r\nUser-Agent: test\r\n\r\n",
		 (unsigned)http.port, (unsigned)http.port);
	request(text, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n"
				    "Connection: close\r\n\r\nhello from origin\n");
	origin_last_request(&http, got, sizeof(got));
	snprintf(want, sizeof(want), "GET /hello?x=1 HTTP/1.1\r\nHost: origin.test:%u\r\nUser-Agent: test\r\n"
		 "Connection: close\r\n\r\n", (unsigned)http.port);
	CU_ASSERT_STRING_EQUAL(got, want);
	isol8_egress_unbind(port, &log);
	CU_ASSERT_EQUAL_FATAL(log.n, 1);
	CU_ASSERT_STRING_EQUAL(log.entries[0].method, "GET");
	CU_ASSERT_STRING_EQUAL(log.entries[0].host, "origin.test");
	CU_ASSERT_STRING_EQUAL(log.entries[0].path, "/hello?x=1");
	CU_ASSERT(log.entries[0].allowed);
	snprintf(text, sizeof(text), "egress ALLOW sandbox=sb exec=e1 GET http://origin.test:%u/hello?x=1 Nms",
		 (unsigned)http.port);
	CU_ASSERT(logged(text));
	isol8_egress_log_release(&log);
	isol8_egress_rules_free(rules);
}

static void test_rule_refusals(void)
{
	struct isol8_egress_rules *rules = rules_of("\\.test$", "^blocked\\.");
	struct isol8_egress_rules *none = rules_of(NULL, NULL);
	struct isol8_egress_log log;
	int accepts = atomic_load(&http.accepts), queries = atomic_load(&dns.accepts);

	clear_log();
	bind_on(port, rules, 0);
	expect_answer("GET http://blocked.test/x HTTP/1.1\r\n\r\n", 403, "Forbidden", "blocked by the blacklist");
	expect_answer("CONNECT example.com:443 HTTP/1.1\r\n\r\n", 403, "Forbidden", "not in the whitelist");
	isol8_egress_unbind(port, &log);
	CU_ASSERT_EQUAL_FATAL(log.n, 2);
	CU_ASSERT(!log.entries[0].allowed);
	CU_ASSERT_STRING_EQUAL(log.entries[0].path, "/x");
	CU_ASSERT(!log.entries[1].allowed);
	CU_ASSERT(logged("egress BLOCK sandbox=sb exec=e1 GET http://blocked.test/x Nms (403 blocked by the blacklist)"));
	CU_ASSERT(logged("egress BLOCK sandbox=sb exec=e1 CONNECT example.com:443 Nms (403 not in the whitelist)"));
	isol8_egress_log_release(&log);
	/* an empty whitelist allows nothing */
	bind_on(port, none, 0);
	expect_answer("GET http://origin.test/ HTTP/1.1\r\n\r\n", 403, "Forbidden", "not in the whitelist");
	expect_answer("CONNECT secret.example:443 HTTP/1.1\r\n\r\n", 403, "Forbidden", "not in the whitelist");
	isol8_egress_unbind(port, NULL);
	/* nothing was dialed, no name was looked up */
	CU_ASSERT_EQUAL(atomic_load(&http.accepts), accepts);
	CU_ASSERT_EQUAL(atomic_load(&dns.accepts), queries);
	isol8_egress_rules_free(rules);
	isol8_egress_rules_free(none);
}

static void test_outside_use(void)
{
	clear_log();
	expect_answer("CONNECT origin.test:443 HTTP/1.1\r\n\r\n", 403, "Forbidden",
		      "no execution is using this sandbox's network");
	CU_ASSERT(logged("egress BLOCK sandbox=sb exec=- CONNECT origin.test:443 Nms (403 no execution is using this "
			 "sandbox's network)"));
}

static void test_malformed(void)
{
	struct isol8_egress_rules *rules = rules_of(".", NULL);
	char big[ISOL8_EGRESS_HEAD_MAX + 64];

	bind_on(port, rules, 0);
	expect_answer("GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n", 400, "Bad Request",
		      "malformed request: this is a proxy: send an absolute http:// URL or CONNECT");
	expect_answer("GET http://u@origin.test/ HTTP/1.1\r\n\r\n", 400, "Bad Request",
		      "malformed request: userinfo in the URL");
	expect_answer("CONNECT origin.test:99999 HTTP/1.1\r\n\r\n", 400, "Bad Request", "malformed request: bad port");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "GET http://x/ HTTP/1.1\r\nX: ", 27);
	expect_answer(big, 431, "Request Header Fields Too Large", "request head larger than 16384 bytes");
	isol8_egress_unbind(port, NULL);
	isol8_egress_rules_free(rules);
}

static void test_guard(void)
{
	struct isol8_egress *strict;
	struct isol8_egress_port *p;
	struct isol8_egress_rules *rules = rules_of("\\.test$|^127\\.0\\.0\\.1$|^::1$", NULL);
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[160], text[256];
	int accepts = atomic_load(&echo.accepts);

	snprintf(path, sizeof(path), "%s/strict.sock", dir);
	CU_ASSERT_FATAL(start_egress(&strict, false, 0, 0, 0) == 0);
	CU_ASSERT_FATAL(isol8_egress_port_open(strict, path, "strict", &p, &err) == 0);
	bind_on(p, rules, 0);
	snprintf(text, sizeof(text), "CONNECT origin.test:%u HTTP/1.1\r\n\r\n", (unsigned)echo.port);
	expect_answer_on(path, text, 403, "Forbidden", "blocked: 127.0.0.1 is a loopback address");
	snprintf(text, sizeof(text), "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n", (unsigned)echo.port);
	expect_answer_on(path, text, 403, "Forbidden", "blocked: 127.0.0.1 is a loopback address");
	expect_answer_on(path, "CONNECT [::1]:443 HTTP/1.1\r\n\r\n", 403, "Forbidden", "blocked: ::1 is a loopback address");
	expect_answer_on(path, "CONNECT 127.0.0.2:1 HTTP/1.1\r\n\r\n", 403, "Forbidden", "not in the whitelist");
	expect_answer_on(path, "GET http://metadata.test/latest HTTP/1.1\r\n\r\n", 403, "Forbidden",
			 "blocked: 169.254.169.254 is a link-local address");
	CU_ASSERT_EQUAL(atomic_load(&echo.accepts), accepts);
	isol8_egress_unbind(p, NULL);
	isol8_egress_port_close(p);
	isol8_egress_stop(strict);
	/* the suite's proxy allows 127.0.0.1, not 169.254.0.0/16 */
	bind_on(port, rules, 0);
	expect_answer("GET http://metadata.test/ HTTP/1.1\r\n\r\n", 403, "Forbidden",
		      "blocked: 169.254.169.254 is a link-local address");
	isol8_egress_unbind(port, NULL);
	isol8_egress_rules_free(rules);
}

static void test_dial_failures(void)
{
	struct isol8_egress_rules *rules = rules_of("\\.test$", NULL);
	char text[256];

	bind_on(port, rules, 0);
	int queries = atomic_load(&dns.accepts);

	expect_answer("CONNECT nowhere.test:443 HTTP/1.1\r\n\r\n", 502, "Bad Gateway",
		      "cannot resolve nowhere.test (nodename nor servname provided, or not known)");
	CU_ASSERT(atomic_load(&dns.accepts) > queries); /* an allowed name is looked up */
	expect_answer("CONNECT origin.test:1 HTTP/1.1\r\n\r\n", 502, "Bad Gateway",
		      "cannot connect to origin.test:1 (Connection refused)");
	(void)text;
	isol8_egress_unbind(port, NULL);
	isol8_egress_rules_free(rules);
}

/* Runs a shell command, its stdout into out; returns its exit status. */
static int run(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return pclose(p);
}

/* A real client: curl through a TCP port bridged to the proxy's socket,
 * as the agent's relay does inside a sandbox. */
static void test_curl(void)
{
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct origin bridge = {0};
	char cmd[512], got[1024];

	snprintf(bridge.bridge_to, sizeof(bridge.bridge_to), "%s", sock_path);
	CU_ASSERT_FATAL(origin_start(&bridge, ORIGIN_BRIDGE) == 0);
	bind_on(port, rules, 0);
	snprintf(cmd, sizeof(cmd), "curl -sS --noproxy '' -x http://127.0.0.1:%u http://origin.test:%u/curl 2>&1",
		 (unsigned)bridge.port, (unsigned)http.port);
	CU_ASSERT_EQUAL(run(cmd, got, sizeof(got)), 0);
	CU_ASSERT_STRING_EQUAL(got, "hello from origin\n");
	origin_last_request(&http, got, sizeof(got));
	snprintf(cmd, sizeof(cmd), "GET /curl HTTP/1.1\r\nHost: origin.test:%u\r\n", (unsigned)http.port);
	CU_ASSERT(strncmp(got, cmd, strlen(cmd)) == 0);
	CU_ASSERT(strstr(got, "Proxy-") == NULL);
	snprintf(cmd, sizeof(cmd), "curl -sS --noproxy '' -x http://127.0.0.1:%u -w ' %%{http_code}' "
		 "http://other.test/ 2>&1", (unsigned)bridge.port);
	CU_ASSERT_EQUAL(run(cmd, got, sizeof(got)), 0);
	CU_ASSERT_STRING_EQUAL(got, "not in the whitelist\n 403");
	isol8_egress_unbind(port, NULL);
	origin_stop(&bridge);
	isol8_egress_rules_free(rules);
}

static void test_port_errors(void)
{
	struct isol8_egress_port *p = (void *)1;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[200];
	struct stat st;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	CU_ASSERT_EQUAL(isol8_egress_port_open(eg, path, "x", &p, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT(strstr(err.message, "\" is longer than 107 bytes") != NULL);
	CU_ASSERT_EQUAL(stat(sock_path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_egress_port_open(eg, "/nonexistent-dir/egress.sock", "x", &p, &err), -ISOL8_E_IO);
	CU_ASSERT_STRING_EQUAL(err.message, "egress socket \"/nonexistent-dir/egress.sock\": No such file or directory");
	/* a stale file is replaced, and closing removes the socket */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	CU_ASSERT_FATAL(write_file(path, "stale") == 0);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL_FATAL(isol8_egress_port_open(eg, path, "stale", &p, &err), 0);
	CU_ASSERT(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	isol8_egress_port_close(p);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);
	isol8_egress_port_close(NULL);
	isol8_egress_stop(NULL);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"connect tunnel", test_connect_tunnel},
		{"http forward", test_http_forward},
		{"rule refusals", test_rule_refusals},
		{"outside a use", test_outside_use},
		{"malformed", test_malformed},
		{"guard", test_guard},
		{"dial failures", test_dial_failures},
		{"curl", test_curl},
		{"port errors", test_port_errors},
	};

	signal(SIGPIPE, SIG_IGN); /* a client writing to a connection the proxy closed */
	return isol8_test_run("egress_proxy", egress_harness_init, egress_harness_cleanup, tests, ISOL8_TESTS_LEN(tests));
}
