/* The egress tests' harness (egress_harness.h). */
#include "egress_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "egress/testing.h"
#include "runner.h"

char dir[] = "/tmp/isol8-egress-XXXXXX";
char sock_path[128], resolv_path[128], hosts_path[128];
struct origin echo, http, dns;
struct isol8_egress *eg;
struct isol8_egress_port *port;

/* The log lines the proxy wrote. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_lines[64][600];
static size_t n_log_lines;

void capture_log(int level, const char *message)
{
	(void)level;
	pthread_mutex_lock(&log_lock);
	snprintf(log_lines[n_log_lines % 64], sizeof(log_lines[0]), "%s", message);
	n_log_lines++;
	pthread_mutex_unlock(&log_lock);
}

void clear_log(void)
{
	pthread_mutex_lock(&log_lock);
	n_log_lines = 0;
	pthread_mutex_unlock(&log_lock);
}

/* Whether a captured line equals want, after its duration ("12ms") is
 * replaced by "Nms". */
static int logged_now(const char *want, bool report)
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
	if (!found && report) {
		fprintf(stderr, "\nnot logged: %s\n", want);
		for (size_t i = 0; i < n_log_lines && i < 64; i++)
			fprintf(stderr, "  logged: %s\n", log_lines[i]);
	}
	pthread_mutex_unlock(&log_lock);
	return found;
}

/* A refusal's line is written when the program has closed its end (the
 * proxy's lingering close), a moment after the answer was read: wait for it. */
int logged(const char *want)
{
	for (int i = 0; i < 200; i++) {
		if (logged_now(want, false))
			return 1;
		usleep(10 * 1000);
	}
	return logged_now(want, true);
}

int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

int start_egress(struct isol8_egress **out, bool allow_loopback, int64_t idle_ms, int64_t connect_ms,
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

int egress_harness_init(void)
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

int egress_harness_cleanup(void)
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

struct isol8_egress_rules *rules_of(const char *white, const char *black)
{
	struct isol8_egress_rules *rules = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	const char *w[] = {white}, *b[] = {black};

	CU_ASSERT_EQUAL_FATAL(isol8_egress_rules_compile("w", w, white ? 1 : 0, "b", b, black ? 1 : 0, &rules, &err), 0);
	return rules;
}

void bind_on(struct isol8_egress_port *p, const struct isol8_egress_rules *rules, int64_t max_bytes)
{
	struct isol8_egress_use use = {.rules = rules, .keep_log = true, .max_bytes = max_bytes, .execution_id = "e1"};
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(isol8_egress_bind(p, &use, &err), 0);
}

/* Sends text on a new connection, reads the answer until EOF. */
void request_on(const char *path, const char *text, char *out, size_t size)
{
	int fd = client_connect(path);

	out[0] = '\0';
	CU_ASSERT_FATAL(fd >= 0);
	client_send(fd, text); /* may fail when the proxy answered first (429) */
	CU_ASSERT(client_read_all(fd, out, size, 10000) >= 0);
	close(fd);
}

void request(const char *text, char *out, size_t size)
{
	request_on(sock_path, text, out, size);
}

void expect_answer_on(const char *path, const char *text, int status, const char *status_text, const char *body)
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

void expect_answer(const char *text, int status, const char *status_text, const char *body)
{
	expect_answer_on(sock_path, text, status, status_text, body);
}


/* A CONNECT tunnel to the echo origin; the fd after the 200. */
int open_tunnel(const char *path, const char *host)
{
	char text[256], got[128];
	int fd = client_connect(path);

	if (fd < 0)
		return -1;
	snprintf(text, sizeof(text), "CONNECT %s:%u HTTP/1.1\r\nHost: %s\r\n\r\n", host, (unsigned)echo.port, host);
	if (client_send(fd, text) != 0 ||
	    client_read_n(fd, got, CONNECT_OK_LEN, 10000) != (ssize_t)CONNECT_OK_LEN ||
	    strcmp(got, CONNECT_OK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}
