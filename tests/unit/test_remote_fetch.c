/* Remote code fetches (server/engine/remote.h) against a small HTTP server
 * on loopback in this process: the body, redirects, the size, header and
 * time bounds, cancellation, error statuses and the cache, with their
 * exact messages (and, under valgrind, no leak on any path). */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/remote.h"
#include "runner.h"

static struct {
	int fd;
	int port;
	pthread_t thread;
	atomic_int hits_count;     /* requests for /count.py */
	char base[64];
} S;

static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static void reply(int fd, const char *status, const char *headers, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n%sConnection: close\r\n\r\n", status, headers);

	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
}

static void serve(int fd, const char *path)
{
	char hdr[128], big[3000];

	memset(big, '#', sizeof(big));
	if (strcmp(path, "/ok.py") == 0 || strcmp(path, "/count.py") == 0) {
		if (strcmp(path, "/count.py") == 0)
			atomic_fetch_add(&S.hits_count, 1);
		reply(fd, "200 OK", "Content-Length: 10\r\n", "print(42)\n", 10);
	} else if (strcmp(path, "/redirect") == 0) {
		reply(fd, "302 Found", "Location: /ok.py\r\nContent-Length: 0\r\n", "", 0);
	} else if (strcmp(path, "/to-blocked") == 0) {
		reply(fd, "301 Moved", "Location: http://blocked.test/x.py\r\nContent-Length: 0\r\n", "", 0);
	} else if (strcmp(path, "/to-file") == 0) {
		reply(fd, "302 Found", "Location: file:///etc/passwd\r\nContent-Length: 0\r\n", "", 0);
	} else if (strcmp(path, "/big") == 0) {
		snprintf(hdr, sizeof(hdr), "Content-Length: %zu\r\n", sizeof(big));
		reply(fd, "200 OK", hdr, big, sizeof(big));
	} else if (strcmp(path, "/huge") == 0) {
		reply(fd, "200 OK", "Content-Length: 5000000\r\n", big, sizeof(big));
	} else if (strcmp(path, "/big-stream") == 0) {
		reply(fd, "200 OK", "", big, sizeof(big));
	} else if (strcmp(path, "/headers") == 0) {
		send_all(fd, "HTTP/1.1 200 OK\r\n", 17);
		for (int i = 0; i < 2000; i++)
			send_all(fd, "X-Filler: 0123456789012345678901234567890123456789\r\n", 52);
		send_all(fd, "Content-Length: 2\r\n\r\nok", 23);
	} else if (strcmp(path, "/long-header") == 0) {
		/* one line past what curl buffers for a header */
		send_all(fd, "HTTP/1.1 200 OK\r\nX-Filler: ", 27);
		for (int i = 0; i < 40; i++)
			send_all(fd, big, sizeof(big));
		send_all(fd, "\r\nContent-Length: 2\r\n\r\nok", 25);
	} else if (strcmp(path, "/slow") == 0) {
		usleep(800 * 1000);
		reply(fd, "200 OK", "Content-Length: 2\r\n", "ok", 2);
	} else {
		reply(fd, "404 Not Found", "Content-Length: 0\r\n", "", 0);
	}
}

static void *server_main(void *arg)
{
	(void)arg;
	for (;;) {
		char req[4096], path[256];
		size_t used = 0;
		int c = accept(S.fd, NULL, NULL);
		if (c < 0)
			return NULL;
		req[0] = '\0';
		while (used < sizeof(req) - 1 && strstr(req, "\r\n\r\n") == NULL) {
			ssize_t n = recv(c, req + used, sizeof(req) - 1 - used, 0);
			if (n <= 0)
				break;
			used += (size_t)n;
			req[used] = '\0';
		}
		req[used] = '\0';
		if (sscanf(req, "GET %255s ", path) == 1)
			serve(c, path);
		close(c);
	}
}

static int start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	S.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (S.fd < 0 || bind(S.fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(S.fd, 8) < 0 ||
	    getsockname(S.fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	S.port = ntohs(a.sin_port);
	snprintf(S.base, sizeof(S.base), "http://127.0.0.1:%d", S.port);
	return pthread_create(&S.thread, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static int stop(void)
{
	shutdown(S.fd, SHUT_RDWR);
	close(S.fd);
	pthread_join(S.thread, NULL);
	return 0;
}

static struct isol8_remote *make(int64_t max, int64_t timeout_ms, bool cache)
{
	static const char *const schemes[] = {"http"};
	static const char *const blocked[] = {"^blocked\\.test$"};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_remote_settings s;
	struct isol8_remote *r = NULL;

	isol8_remote_settings_init(&s);
	s.enabled = true;
	s.allowed_schemes = schemes;
	s.n_allowed_schemes = 1;
	s.blocked_hosts = blocked;
	s.n_blocked_hosts = 1;
	CU_ASSERT_EQUAL_FATAL(isol8_net_guard_allow(&s.guard, "network.allowedRanges[0]", "127.0.0.1", &err), 0);
	s.max_code_size = max;
	s.fetch_timeout_ms = timeout_ms;
	s.enable_cache = cache;
	CU_ASSERT_EQUAL_FATAL(isol8_remote_new(&r, &s, &err), 0);
	return r;
}

static bool always(void *userdata)
{
	(void)userdata;
	return true;
}

/* Fetches path; its code (or the error's) and message. */
static int fetch(struct isol8_remote *r, const char *path, bool cancel, char **code, bool *cached,
		 struct isol8_error *err)
{
	char url[128];
	struct isol8_remote_request req = {.url = url, .allow_insecure = true, .cancelled = cancel ? always : NULL};
	size_t len = 0;

	snprintf(url, sizeof(url), "%s%s", S.base, path);
	*code = NULL;
	return isol8_remote_fetch(r, &req, code, &len, cached, err);
}

static void expect_error(struct isol8_remote *r, const char *path, bool cancel, int code, const char *message)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char *got, expected[512];
	bool cached;

	CU_ASSERT_EQUAL(fetch(r, path, cancel, &got, &cached, &err), -code);
	CU_ASSERT_PTR_NULL(got);
	free(got);
	snprintf(expected, sizeof(expected), "code_url: \"%s%s\": %s", S.base, path, message);
	if (strcmp(err.message, expected) != 0)
		fprintf(stderr, "\n  got      \"%s\"\n  expected \"%s\"\n", err.message, expected);
	CU_ASSERT_STRING_EQUAL(err.message, expected);
}

static void test_body_and_redirect(void)
{
	struct isol8_remote *r = make(1000, 5000, false);
	struct isol8_error err = ISOL8_ERROR_INIT;
	bool cached = true;
	char *code;

	CU_ASSERT_EQUAL(fetch(r, "/ok.py", false, &code, &cached, &err), 0);
	CU_ASSERT_STRING_EQUAL(code, "print(42)\n");
	CU_ASSERT_FALSE(cached);
	free(code);
	CU_ASSERT_EQUAL(fetch(r, "/redirect", false, &code, &cached, &err), 0);
	CU_ASSERT_STRING_EQUAL(code, "print(42)\n");
	free(code);
	isol8_remote_free(r);
}

static void test_refusals(void)
{
	struct isol8_remote *r = make(1000, 300, false);

	expect_error(r, "/to-blocked", false, ISOL8_E_PERMISSION,
		     "it redirects to \"http://blocked.test/x.py\": host \"blocked.test\" is blocked by "
		     "remoteCode.blockedHosts (\"^blocked\\.test$\")");
	expect_error(r, "/to-file", false, ISOL8_E_PERMISSION,
		     "it redirects to \"file:///etc/passwd\": scheme \"file\" is not in this isol8d's "
		     "remoteCode.allowedSchemes");
	expect_error(r, "/big", false, ISOL8_E_EXHAUSTED, "the code is larger than remoteCode.maxCodeSize (1000 bytes)");
	expect_error(r, "/big-stream", false, ISOL8_E_EXHAUSTED,
		     "the code is larger than remoteCode.maxCodeSize (1000 bytes)");
	expect_error(r, "/headers", false, ISOL8_E_UNAVAILABLE, "the server's headers pass 65536 bytes");
	expect_error(r, "/long-header", false, ISOL8_E_UNAVAILABLE, "the server's headers pass 65536 bytes");
	expect_error(r, "/missing.py", false, ISOL8_E_UNAVAILABLE, "the server answered HTTP 404");
	expect_error(r, "/slow", false, ISOL8_E_DEADLINE, "no complete answer within remoteCode.fetchTimeoutMs (300 ms)");
	expect_error(r, "/ok.py", true, ISOL8_E_CANCELLED, "the call was cancelled during the fetch");
	isol8_remote_free(r);

	/* a maxCodeSize past what one execution carries: that is the limit */
	r = make(10 << 20, 5000, false);
	expect_error(r, "/huge", false, ISOL8_E_EXHAUSTED, "the code is larger than the 4128768 bytes one execution carries");
	isol8_remote_free(r);
}

static void test_cache(void)
{
	struct isol8_remote *r = make(1000, 5000, true);
	struct isol8_error err = ISOL8_ERROR_INIT;
	bool cached = true;
	char *code;

	atomic_store(&S.hits_count, 0);
	CU_ASSERT_EQUAL(fetch(r, "/count.py", false, &code, &cached, &err), 0);
	CU_ASSERT_FALSE(cached);
	free(code);
	CU_ASSERT_EQUAL(fetch(r, "/count.py", false, &code, &cached, &err), 0);
	CU_ASSERT_TRUE(cached);
	CU_ASSERT_STRING_EQUAL(code, "print(42)\n");
	free(code);
	CU_ASSERT_EQUAL(atomic_load(&S.hits_count), 1);
	isol8_remote_free(r);

	/* without the cache every run fetches */
	r = make(1000, 5000, false);
	CU_ASSERT_EQUAL(fetch(r, "/count.py", false, &code, &cached, &err), 0);
	CU_ASSERT_FALSE(cached);
	free(code);
	CU_ASSERT_EQUAL(atomic_load(&S.hits_count), 2);
	isol8_remote_free(r);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"body and redirect", test_body_and_redirect},
		{"refusals", test_refusals},
		{"cache", test_cache},
	};
	return isol8_test_run("remote_fetch", start, stop, tests, ISOL8_TESTS_LEN(tests));
}
