/* Unit tests of the egress proxy's limits and lifetimes (server/egress/):
 * connect and idle timeouts, the byte cap, connections per port, 500
 * tunnels on one loop, backpressure, the log's bound, unbind and stop with
 * connections open. The same harness as test_egress_proxy.c. */
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

/* A nameserver that never answers: the connect deadline covers the lookup,
 * and stopping or unbinding with a lookup under way leaks nothing. */
static void test_slow_resolver(void)
{
	struct isol8_egress_config cfg = {.connect_timeout_ms = 300, .log = capture_log};
	struct isol8_egress *slow;
	struct isol8_egress_port *p;
	struct isol8_egress_rules *rules = rules_of("\\.test$", NULL);
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[160], conf[160], text[128];
	int fd;

	/* a nameserver's port that takes queries and never answers */
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	CU_ASSERT_FATAL(udp >= 0 && bind(udp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
			getsockname(udp, (struct sockaddr *)&sin, &len) == 0);
	snprintf(conf, sizeof(conf), "%s/silent.conf", dir);
	snprintf(text, sizeof(text), "nameserver 127.0.0.1:%u\noptions timeout:30 attempts:1\n", (unsigned)ntohs(sin.sin_port));
	CU_ASSERT_FATAL(write_file(conf, text) == 0);
	CU_ASSERT_FATAL(egress_start_with(&cfg, conf, hosts_path, &slow, &err) == 0);
	snprintf(path, sizeof(path), "%s/slow.sock", dir);
	CU_ASSERT_FATAL(isol8_egress_port_open(slow, path, "slow", &p, &err) == 0);
	bind_on(p, rules, 0);
	expect_answer_on(path, "CONNECT slow.test:443 HTTP/1.1\r\n\r\n", 504, "Gateway Timeout",
			 "timed out connecting to slow.test:443");
	/* unbind, then stop, each with a lookup under way */
	fd = client_connect(path);
	CU_ASSERT(fd >= 0 && client_send(fd, "CONNECT slow.test:443 HTTP/1.1\r\n\r\n") == 0);
	usleep(50 * 1000);
	isol8_egress_unbind(p, NULL);
	CU_ASSERT(client_wait_eof(fd, 5000));
	close(fd);
	bind_on(p, rules, 0);
	fd = client_connect(path);
	CU_ASSERT(fd >= 0 && client_send(fd, "GET http://slow.test/ HTTP/1.1\r\n\r\n") == 0);
	usleep(50 * 1000);
	isol8_egress_stop(slow);
	CU_ASSERT(client_wait_eof(fd, 5000));
	close(fd);
	close(udp);
	unlink(conf);
	isol8_egress_rules_free(rules);
}

static void test_unbind_closes(void)
{
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct isol8_egress_log log;
	char text[256];
	int fd;

	clear_log();
	bind_on(port, rules, 0);
	fd = open_tunnel(sock_path, "origin.test");
	CU_ASSERT_FATAL(fd >= 0);
	usleep(150 * 1000);
	isol8_egress_unbind(port, &log);
	CU_ASSERT(client_wait_eof(fd, 5000));
	CU_ASSERT_EQUAL_FATAL(log.n, 1);
	CU_ASSERT(log.entries[0].duration_ms >= 150 && log.entries[0].duration_ms < 5000);
	snprintf(text, sizeof(text), "egress ALLOW sandbox=sb exec=e1 CONNECT origin.test:%u Nms (the execution ended)",
		 (unsigned)echo.port);
	CU_ASSERT(logged(text));
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
	clear_log();
	expect_answer_on(path, "CONNECT origin.test:1 HTTP/1.1\r\n\r\n", 429, "Too Many Requests",
			 "too many connections from this sandbox (at most 2)");
	CU_ASSERT(logged("egress BLOCK sandbox=small exec=e1 (429 too many connections from this sandbox (at most 2))"));
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

/* An origin that never reads: the proxy stops reading the client once
 * EGRESS_PIPE_HIGH bytes wait, so the client can push only that plus what
 * the kernel's socket buffers hold. */
static void test_backpressure(void)
{
	struct isol8_egress_rules *rules = rules_of("^origin\\.test$", NULL);
	struct origin sink = {0};
	struct isol8_egress_log log;
	char text[256], got[64];
	size_t pushed;
	int fd = client_connect(sock_path);

	CU_ASSERT_FATAL(origin_start(&sink, ORIGIN_SINK) == 0);
	bind_on(port, rules, 0);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(text, sizeof(text), "CONNECT origin.test:%u HTTP/1.1\r\n\r\n", (unsigned)sink.port);
	CU_ASSERT_EQUAL(client_send(fd, text), 0);
	CU_ASSERT_EQUAL(client_read_n(fd, got, CONNECT_OK_LEN, 5000), (ssize_t)CONNECT_OK_LEN);
	pushed = client_push(fd, 64u << 20);
	CU_ASSERT(pushed > 256 * 1024);
	CU_ASSERT(pushed < 48u << 20);
	if (pushed >= 48u << 20)
		fprintf(stderr, "\npushed %zu bytes into a tunnel nobody reads\n", pushed);
	close(fd);
	isol8_egress_unbind(port, &log);
	CU_ASSERT(log.bytes <= pushed);
	isol8_egress_log_release(&log);
	origin_stop(&sink);
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

int main(void)
{
	static const struct isol8_test tests[] = {
		{"connect timeout", test_connect_timeout},
		{"slow resolver", test_slow_resolver},
		{"unbind closes", test_unbind_closes},
		{"idle timeout", test_idle_timeout},
		{"max bytes", test_max_bytes},
		{"max connections", test_max_connections},
		{"many tunnels", test_many_tunnels},
		{"backpressure", test_backpressure},
		{"log limit", test_log_limit},
		{"stop with tunnels", test_stop_with_tunnels},
	};

	signal(SIGPIPE, SIG_IGN); /* a client writing to a connection the proxy closed */
	return isol8_test_run("egress_limits", egress_harness_init, egress_harness_cleanup, tests, ISOL8_TESTS_LEN(tests));
}
