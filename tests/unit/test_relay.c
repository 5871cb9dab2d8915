/* The egress relay: bytes both ways, half closes passed on, backpressure
 * with a reader that waits, many connections at once, no fd left after. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/util.h"
#include "runner.h"

static char sock_path[108];
static int echo_fd = -1;
static pid_t relay = -1;
static int relay_port;

/* The stand-in proxy: echoes each connection until its end, then ends its side. */
static void *echo_conn(void *arg)
{
	int c = (int)(intptr_t)arg;
	char buf[8192];
	ssize_t n;

	while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
		if (send(c, buf, (size_t)n, MSG_NOSIGNAL) != n)
			break;
	shutdown(c, SHUT_WR);
	close(c);
	return NULL;
}

static void *echo_server(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		int c = accept(echo_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		if (pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)c) == 0)
			pthread_detach(t);
		else
			close(c);
	}
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int dial_relay(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(relay_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int suite_init(void)
{
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	pthread_t t;
	int listen_fd;

	signal(SIGPIPE, SIG_IGN);
	snprintf(sock_path, sizeof(sock_path), "/tmp/isol8-relay-test-%d.sock", (int)getpid());
	snprintf(u.sun_path, sizeof(u.sun_path), "%s", sock_path);
	unlink(sock_path);
	echo_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (echo_fd < 0 || bind(echo_fd, (struct sockaddr *)&u, sizeof(u)) < 0 || listen(echo_fd, 128) < 0)
		return -1;
	if (pthread_create(&t, NULL, echo_server, NULL) != 0)
		return -1;
	pthread_detach(t);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(listen_fd, 128) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	relay_port = ntohs(a.sin_port);
	relay = agent_relay_spawn(listen_fd, sock_path, &echo_fd, 1);
	close(listen_fd);
	return relay > 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
	if (relay > 0) {
		kill(relay, SIGKILL);
		waitpid(relay, NULL, 0);
	}
	shutdown(echo_fd, SHUT_RDWR);
	close(echo_fd);
	unlink(sock_path);
	return 0;
}

/* Sends len bytes of a pattern, half closes, and checks that the same come back, then the end. */
static bool round_trip(int fd, size_t len)
{
	struct pollfd p = {.fd = fd};
	size_t sent = 0, got = 0;
	bool ok = true, eof = false;
	char out[16384], in[16384];

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 3);
	while (!eof) {
		p.events = POLLIN | (sent < len ? POLLOUT : 0);
		if (poll(&p, 1, 10000) <= 0)
			return false;
		if ((p.revents & POLLOUT) && sent < len) {
			size_t chunk = len - sent < sizeof(out) ? len - sent : sizeof(out) - sent % sizeof(out);
			ssize_t n = send(fd, out + sent % sizeof(out), chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
			if (sent == len)
				shutdown(fd, SHUT_WR);
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
			if (n == 0)
				eof = true;
			for (ssize_t i = 0; i < n; i++, got++)
				ok = ok && in[i] == out[got % sizeof(out)];
		}
	}
	return ok && got == len && sent == len;
}

static void test_one_connection(void)
{
	int fd = dial_relay();

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_TRUE(round_trip(fd, 5));
	close(fd);
}

/* 16 MiB through the relay's 16 KiB buffers: it waits for the slow side. */
static void test_large_transfer(void)
{
	int fd = dial_relay();

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_TRUE(round_trip(fd, 16u << 20));
	close(fd);
}

static void *parallel_one(void *arg)
{
	int fd = dial_relay();
	bool ok = fd >= 0 && round_trip(fd, 256u << 10);

	(void)arg;
	if (fd >= 0)
		close(fd);
	return (void *)(intptr_t)ok;
}

static void test_parallel_and_no_fd_left(void)
{
	pthread_t t[64];
	int before = count_fds(relay);
	int after = -1;

	CU_ASSERT_FATAL(before > 0);
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(t); i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, parallel_one, NULL), 0);
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(t); i++) {
		void *ok;
		pthread_join(t[i], &ok);
		CU_ASSERT_TRUE((bool)(intptr_t)ok);
	}
	/* the relay closes a pair when both ends are done; give it a moment */
	for (int i = 0; i < 100 && (after = count_fds(relay)) != before; i++)
		usleep(10000);
	CU_ASSERT_EQUAL(after, before);
}

/* The proxy ending its side is passed on; the program sees its connection end. */
static void test_proxy_gone(void)
{
	int fd;
	char c;

	/* no more proxy: new connections have nowhere to go */
	shutdown(echo_fd, SHUT_RDWR);
	unlink(sock_path);
	fd = dial_relay();
	CU_ASSERT_FATAL(fd >= 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CU_ASSERT_EQUAL(poll(&p, 1, 5000), 1);
	CU_ASSERT_TRUE(recv(fd, &c, 1, 0) <= 0);
	close(fd);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"one connection", test_one_connection},
		{"large transfer", test_large_transfer},
		{"parallel connections, no fd left", test_parallel_and_no_fd_left},
		{"no proxy: the connection ends", test_proxy_gone},
	};

	return isol8_test_run("relay", suite_init, suite_cleanup, tests, ISOL8_TESTS_LEN(tests));
}
