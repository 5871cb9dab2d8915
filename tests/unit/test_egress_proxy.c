/* Unit tests of the egress proxy (server/egress/): the real proxy on a temp
 * unix socket, loopback origin servers, names from a hosts file of the
 * test's and a nameserver of the test's that knows no name. What a
 * sandbox's program reads is asserted byte for byte. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "egress/egress.h"
#include "egress/head.h"
#include "egress/testing.h"
#include "egress_fixture.h"
#include "runner.h"

static char dir[] = "/tmp/isol8-egress-XXXXXX";
static char sock_path[128], resolv_path[128], hosts_path[128];
static struct origin echo, http, dns;
static struct isol8_egress *eg;
static struct isol8_egress_port *port;

/* The log lines the proxy wrote. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_lines[64][600];
static size_t n_log_lines;

static void capture_log(int level, const char *message)
{
	(void)level;
	pthread_mutex_lock(&log_lock);
	snprintf(log_lines[n_log_lines % 64], sizeof(log_lines[0]), "%s", message);
	n_log_lines++;
	pthread_mutex_unlock(&log_lock);
}

static void clear_log(void)
{
	pthread_mutex_lock(&log_lock);
	n_log_lines = 0;
	pthread_mutex_unlock(&log_lock);
}

/* Whether a captured line equals want, after its duration ("12ms") is
 * replaced by "Nms". */
static int logged(const char *want)
{
	int found = 0;

	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < n_log_lines && i < 64 && !found; i++) {
		char line[600], *ms = NULL, *p = log_lines[i];
		for (char *q = p; (q = strstr(q, "ms")) != NULL; q += 2)
			if (q > p && q[-1] >= '0' && q[-1] <= '9')
				ms = q;
		if (ms == NULL) {
			found = strcmp(p, want) == 0;
			continue;
		}
		char *start = ms;
		while (start > p && start[-1] >= '0' && start[-1] <= '9')
			start--;
		snprintf(line, sizeof(line), "%.*sNms%s", (int)(start - p), p, ms + 2);
		found = strcmp(line, want) == 0;
	}
	if (!found) {
		fprintf(stderr, "\nnot logged: %s\n", want);
		for (size_t i = 0; i < n_log_lines && i < 64; i++)
			fprintf(stderr, "  logged: %s\n", log_lines[i]);
	}
	pthread_mutex_unlock(&log_lock);
	return found;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int start_egress(struct isol8_egress **out, bool allow_loopback, int64_t idle_ms, int64_t connect_ms,
			int max_conns)
{
	struct isol8_egress_config cfg = {.idle_timeout_ms = idle_ms, .connect_timeout_ms = connect_ms,
					  .max_connections_per_port = max_conns, .log = capture_log};
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (allow_loopback && isol8_net_guard_allow(&cfg.guard, "guard", "127.0.0.1", &err) != 0)
		return -1;
	if (egress_start_with(&cfg, resolv_path, hosts_path, out, &err) != 0) {
		fprintf(stderr, "egress start: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int suite_init(void)
{
	struct rlimit rl;
	char text[256];
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (mkdtemp(dir) == NULL || origin_start(&echo, ORIGIN_ECHO) != 0 || origin_start(&http, ORIGIN_HTTP) != 0 ||
	    origin_start(&dns, ORIGIN_NXDOMAIN) != 0)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/egress.sock", dir);
	snprintf(resolv_path, sizeof(resolv_path), "%s/resolv.conf", dir);
	snprintf(hosts_path, sizeof(hosts_path), "%s/hosts", dir);
	snprintf(text, sizeof(text), "nameserver 127.0.0.1:%u\noptions timeout:2 attempts:1\nsearch invalid\n",
		 (unsigned)dns.port);
	if (write_file(resolv_path, text) != 0 ||
	    write_file(hosts_path, "127.0.0.1 origin.test other.test blocked.test\n169.254.169.254 metadata.test\n") != 0)
		return -1;
	if (start_egress(&eg, true, 0, 0, 600) != 0)
		return -1;
	if (isol8_egress_port_open(eg, sock_path, "sb", &port, &err) != 0) {
		fprintf(stderr, "port open: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int suite_cleanup(void)
{
	isol8_egress_port_close(port);
	isol8_egress_stop(eg);
	origin_stop(&echo);
	origin_stop(&http);
	origin_stop(&dns);
	unlink(resolv_path);
	unlink(hosts_path);
	rmdir(dir);
	return 0;
}

static struct isol8_egress_rules *rules_of(const char *white, const char *black)
{
	struct isol8_egress_rules *rules = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	const char *w[] = {white}, *b[] = {black};

	CU_ASSERT_EQUAL_FATAL(isol8_egress_rules_compile("w", w, white ? 1 : 0, "b", b, black ? 1 : 0, &rules, &err), 0);
	return rules;
}

static void bind_on(struct isol8_egress_port *p, const struct isol8_egress_rules *rules, int64_t max_bytes)
{
	struct isol8_egress_use use = {.rules = rules, .keep_log = true, .max_bytes = max_bytes, .execution_id = "e1"};
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(isol8_egress_bind(p, &use, &err), 0);
}

/* Sends text on a new connection, reads the answer until EOF. */
static void request_on(const char *path, const char *text, char *out, size_t size)
{
	int fd = client_connect(path);

	out[0] = '\0';
	CU_ASSERT_FATAL(fd >= 0);
	client_send(fd, text); /* may fail when the proxy answered first (429) */
	CU_ASSERT(client_read_all(fd, out, size, 10000) >= 0);
	close(fd);
}

static void request(const char *text, char *out, size_t size)
{
	request_on(sock_path, text, out, size);
}

static void expect_answer_on(const char *path, const char *text, int status, const char *status_text, const char *body)
{
	char got[4096], want[1024];

	snprintf(want, sizeof(want),
		 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s\n",
		 status, status_text, strlen(body) + 1, body);
	request_on(path, text, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fprintf(stderr, "\n%s\ngot:  %s\nwant: %s\n", text, got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static void expect_answer(const char *text, int status, const char *status_text, const char *body)
{
	expect_answer_on(sock_path, text, status, status_text, body);
}

static const char connect_ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

/* A CONNECT tunnel to the echo origin; the fd after the 200. */
static int open_tunnel(const char *path, const char *host)
{
	char text[256], got[128];
	int fd = client_connect(path);

	if (fd < 0)
		return -1;
	snprintf(text, sizeof(text), "CONNECT %s:%u HTTP/1.1\r\nHost: %s\r\n\r\n", host, (unsigned)echo.port, host);
	if (client_send(fd, text) != 0 ||
	    client_read_n(fd, got, sizeof(connect_ok) - 1, 10000) != (ssize_t)(sizeof(connect_ok) - 1) ||
	    strcmp(got, connect_ok) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

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
	CU_ASSERT_EQUAL(client_read_n(fd, got, sizeof(connect_ok) - 1 + 5, 10000), (ssize_t)(sizeof(connect_ok) - 1 + 5));
	CU_ASSERT_NSTRING_EQUAL(got, connect_ok, sizeof(connect_ok) - 1);
	CU_ASSERT_STRING_EQUAL(got + sizeof(connect_ok) - 1, "early");
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
	int accepts = atomic_load(&http.accepts);

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
	isol8_egress_unbind(port, NULL);
	/* nothing was dialed */
	CU_ASSERT_EQUAL(atomic_load(&http.accepts), accepts);
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
	struct isol8_egress_rules *rules = rules_of("\\.test$", NULL);
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
	expect_answer_on(path, "CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n", 403, "Forbidden", "not in the whitelist");
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
	expect_answer("CONNECT nowhere.test:443 HTTP/1.1\r\n\r\n", 502, "Bad Gateway",
		      "cannot resolve nowhere.test (nodename nor servname provided, or not known)");
	expect_answer("CONNECT origin.test:1 HTTP/1.1\r\n\r\n", 502, "Bad Gateway",
		      "cannot connect to origin.test:1 (Connection refused)");
	(void)text;
	isol8_egress_unbind(port, NULL);
	isol8_egress_rules_free(rules);
}

static void test_connect_timeout(void)
{
	struct isol8_egress *quick;
	struct isol8_egress_port *p;
	struct isol8_egress_rules *rules = rules_of("\\.test$", NULL);
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[160], text[256], want[128];
	uint16_t hole_port;
	int filler, hole = blackhole_start(&hole_port, &filler);

	CU_ASSERT_FATAL(hole >= 0);
	snprintf(path, sizeof(path), "%s/quick.sock", dir);
	CU_ASSERT_FATAL(start_egress(&quick, true, 0, 300, 0) == 0);
	CU_ASSERT_FATAL(isol8_egress_port_open(quick, path, "quick", &p, &err) == 0);
	bind_on(p, rules, 0);
	snprintf(text, sizeof(text), "CONNECT origin.test:%u HTTP/1.1\r\n\r\n", (unsigned)hole_port);
	snprintf(want, sizeof(want), "timed out connecting to origin.test:%u", (unsigned)hole_port);
	expect_answer_on(path, text, 504, "Gateway Timeout", want);
	/* and a head that never ends */
	expect_answer_on(path, "CONNECT origin.test:1 HTTP/1.1\r\n", 408, "Request Timeout",
			 "no request head within 300 ms");
	isol8_egress_unbind(p, NULL);
	isol8_egress_port_close(p);
	isol8_egress_stop(quick);
	close(filler);
	close(hole);
	isol8_egress_rules_free(rules);
}

static void test_unbind_closes(void)
{
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_egress_log log;
	int fd;

	bind_on(port, rules, 0);
	fd = open_tunnel(sock_path, "origin.test");
	CU_ASSERT_FATAL(fd >= 0);
	isol8_egress_unbind(port, &log);
	CU_ASSERT(client_wait_eof(fd, 5000));
	CU_ASSERT_EQUAL(log.n, 1);
	close(fd);
	isol8_egress_log_release(&log);
	/* the next use sees nothing of the last one */
	bind_on(port, rules, 0);
	isol8_egress_unbind(port, &log);
	CU_ASSERT_EQUAL(log.n, 0);
	CU_ASSERT_EQUAL(log.bytes, 0);
	isol8_egress_rules_free(rules);
}

static void test_idle_timeout(void)
{
	struct isol8_egress *quick;
	struct isol8_egress_port *p;
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[160], got[16];
	int fd;

	snprintf(path, sizeof(path), "%s/idle.sock", dir);
	CU_ASSERT_FATAL(start_egress(&quick, true, 300, 0, 0) == 0);
	CU_ASSERT_FATAL(isol8_egress_port_open(quick, path, "idle", &p, &err) == 0);
	bind_on(p, rules, 0);
	fd = open_tunnel(path, "origin.test");
	CU_ASSERT_FATAL(fd >= 0);
	/* activity keeps it open past the timeout */
	for (int i = 0; i < 4; i++) {
		usleep(150 * 1000);
		CU_ASSERT_EQUAL(client_send(fd, "k"), 0);
		CU_ASSERT_EQUAL(client_read_n(fd, got, 1, 5000), 1);
	}
	CU_ASSERT(client_wait_eof(fd, 5000));
	close(fd);
	isol8_egress_unbind(p, NULL);
	isol8_egress_port_close(p);
	isol8_egress_stop(quick);
	isol8_egress_rules_free(rules);
}

static void test_max_bytes(void)
{
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_egress_log log;
	char chunk[601], got[1300];
	int fd;

	bind_on(port, rules, 1000);
	fd = open_tunnel(sock_path, "origin.test");
	CU_ASSERT_FATAL(fd >= 0);
	memset(chunk, 'x', 600);
	chunk[600] = '\0';
	CU_ASSERT_EQUAL(client_send(fd, chunk), 0);
	/* 600 up, then 400 of the 600 back: the cap closes the tunnel */
	CU_ASSERT(client_read_all(fd, got, sizeof(got), 5000) >= 0);
	CU_ASSERT(strlen(got) <= 400);
	close(fd);
	/* later connections of the use are refused */
	expect_answer("CONNECT origin.test:443 HTTP/1.1\r\n\r\n", 403, "Forbidden",
		      "the execution's network byte limit was reached");
	isol8_egress_unbind(port, &log);
	CU_ASSERT(log.capped);
	CU_ASSERT_EQUAL(log.bytes, 1000);
	isol8_egress_log_release(&log);
	isol8_egress_rules_free(rules);
}

static void test_max_connections(void)
{
	struct isol8_egress *small;
	struct isol8_egress_port *p;
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[160];
	int a, b;

	snprintf(path, sizeof(path), "%s/small.sock", dir);
	CU_ASSERT_FATAL(start_egress(&small, true, 0, 0, 2) == 0);
	CU_ASSERT_FATAL(isol8_egress_port_open(small, path, "small", &p, &err) == 0);
	bind_on(p, rules, 0);
	a = open_tunnel(path, "origin.test");
	b = open_tunnel(path, "origin.test");
	CU_ASSERT(a >= 0 && b >= 0);
	expect_answer_on(path, "CONNECT origin.test:1 HTTP/1.1\r\n\r\n", 429, "Too Many Requests",
			 "too many connections from this sandbox (at most 2)");
	close(a);
	close(b);
	isol8_egress_unbind(p, NULL);
	isol8_egress_port_close(p);
	isol8_egress_stop(small);
	isol8_egress_rules_free(rules);
}

static void test_many_tunnels(void)
{
	enum { N = 500 };
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_egress_log log;
	static int fds[N];
	char got[16], msg[16];
	int ok = 0;

	bind_on(port, rules, 0);
	for (int i = 0; i < N; i++)
		fds[i] = open_tunnel(sock_path, "origin.test");
	for (int i = 0; i < N; i++) {
		snprintf(msg, sizeof(msg), "%05d", i);
		if (fds[i] >= 0 && client_send(fds[i], msg) == 0 && client_read_n(fds[i], got, 5, 10000) == 5 &&
		    strcmp(got, msg) == 0)
			ok++;
	}
	CU_ASSERT_EQUAL(ok, N);
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	isol8_egress_unbind(port, &log);
	CU_ASSERT_EQUAL(log.n, N);
	isol8_egress_log_release(&log);
	isol8_egress_rules_free(rules);
}

static void test_log_limit(void)
{
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_egress_use use = {.rules = rules, .keep_log = true, .execution_id = "e2"};
	struct isol8_egress_log log;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char got[512];

	CU_ASSERT_EQUAL_FATAL(isol8_egress_bind(port, &use, &err), 0);
	CU_ASSERT_EQUAL(isol8_egress_bind(port, &use, &err), -ISOL8_E_INTERNAL);
	snprintf(got, sizeof(got), "egress socket \"%s\" is in use already", sock_path);
	CU_ASSERT_STRING_EQUAL(err.message, got);
	for (int i = 0; i < ISOL8_EGRESS_LOG_MAX + 6; i++)
		request("CONNECT nope.example:443 HTTP/1.1\r\n\r\n", got, sizeof(got));
	isol8_egress_unbind(port, &log);
	CU_ASSERT_EQUAL(log.n, ISOL8_EGRESS_LOG_MAX);
	CU_ASSERT_EQUAL(log.dropped, 6);
	CU_ASSERT_STRING_EQUAL(log.entries[ISOL8_EGRESS_LOG_MAX - 1].host, "nope.example");
	isol8_egress_log_release(&log);
	/* keep_log false: nothing kept */
	use.keep_log = false;
	CU_ASSERT_EQUAL_FATAL(isol8_egress_bind(port, &use, &err), 0);
	request("CONNECT nope.example:443 HTTP/1.1\r\n\r\n", got, sizeof(got));
	isol8_egress_unbind(port, &log);
	CU_ASSERT_EQUAL(log.n, 0);
	CU_ASSERT_EQUAL(log.dropped, 0);
	isol8_egress_rules_free(rules);
}

static void test_stop_with_tunnels(void)
{
	struct isol8_egress *e;
	struct isol8_egress_port *p;
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[160];
	int fds[3];

	snprintf(path, sizeof(path), "%s/stop.sock", dir);
	CU_ASSERT_FATAL(start_egress(&e, true, 0, 0, 0) == 0);
	CU_ASSERT_FATAL(isol8_egress_port_open(e, path, "stop", &p, &err) == 0);
	bind_on(p, rules, 0);
	for (int i = 0; i < 3; i++)
		fds[i] = open_tunnel(path, "origin.test");
	int half = client_connect(path); /* one still sending its head */
	CU_ASSERT(half >= 0 && client_send(half, "CONNECT origin") == 0);
	isol8_egress_stop(e); /* the port and its use go with it */
	for (int i = 0; i < 3; i++) {
		CU_ASSERT(fds[i] >= 0 && client_wait_eof(fds[i], 5000));
		close(fds[i]);
	}
	CU_ASSERT(client_wait_eof(half, 5000));
	close(half);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);
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
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* a client writing to a connection the proxy closed */
	static const struct isol8_test tests[] = {
		{"connect tunnel", test_connect_tunnel},
		{"http forward", test_http_forward},
		{"rule refusals", test_rule_refusals},
		{"outside a use", test_outside_use},
		{"malformed", test_malformed},
		{"guard", test_guard},
		{"dial failures", test_dial_failures},
		{"connect timeout", test_connect_timeout},
		{"unbind closes", test_unbind_closes},
		{"idle timeout", test_idle_timeout},
		{"max bytes", test_max_bytes},
		{"max connections", test_max_connections},
		{"many tunnels", test_many_tunnels},
		{"log limit", test_log_limit},
		{"stop with tunnels", test_stop_with_tunnels},
		{"curl", test_curl},
		{"port errors", test_port_errors},
	};
	return isol8_test_run("egress_proxy", suite_init, suite_cleanup, tests, ISOL8_TESTS_LEN(tests));
}
