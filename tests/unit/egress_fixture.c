/* The egress tests' loopback servers and clients (egress_fixture.h). */
#define _GNU_SOURCE
#include "egress_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1100

static const char http_response[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n"
				    "Connection: close\r\n\r\nhello from origin\n";

struct conn {
	int fd, peer; /* peer: ORIGIN_BRIDGE's unix side */
	char buf[8192];
	size_t len;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void answer_nxdomain(struct origin *o, int fd)
{
	unsigned char q[512];
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &len);

	if (n < 12)
		return;
	atomic_fetch_add(&o->accepts, 1);
	q[2] = 0x81; /* a response, recursion desired */
	q[3] = 0x83; /* recursion available, NXDOMAIN */
	memset(q + 6, 0, 6); /* no answers, authority or additional records */
	sendto(fd, q, (size_t)n, 0, (struct sockaddr *)&from, len);
}

static int bridge_connect(const char *path)
{
	return client_connect(path);
}

/* One readable connection; false when it is done. */
static int serve_conn(struct origin *o, struct conn *c, int from_peer)
{
	int src = from_peer ? c->peer : c->fd, dst = from_peer ? c->fd : c->peer;
	char buf[65536];
	ssize_t n = read(src, buf, sizeof(buf));

	if (n <= 0) {
		if (o->mode == ORIGIN_ECHO || o->mode == ORIGIN_BRIDGE)
			shutdown(o->mode == ORIGIN_ECHO ? c->fd : dst, SHUT_WR);
		return 0;
	}
	if (o->mode == ORIGIN_ECHO)
		return write_all(c->fd, buf, (size_t)n) == 0;
	if (o->mode == ORIGIN_BRIDGE)
		return write_all(dst, buf, (size_t)n) == 0;
	if (c->len + (size_t)n >= sizeof(c->buf))
		return 0;
	memcpy(c->buf + c->len, buf, (size_t)n);
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (strstr(c->buf, "\r\n\r\n") == NULL)
		return 1;
	pthread_mutex_lock(&o->lock);
	snprintf(o->last_request, sizeof(o->last_request), "%s", c->buf);
	pthread_mutex_unlock(&o->lock);
	write_all(c->fd, http_response, sizeof(http_response) - 1);
	return 0;
}

static void *origin_main(void *arg)
{
	struct origin *o = arg;
	struct conn *conns;
	struct pollfd *pfd = calloc(2 + 2 * MAX_CONNS, sizeof(*pfd));
	int *slot = calloc(2 + 2 * MAX_CONNS, sizeof(*slot));
	size_t n_conns = 0;

	conns = calloc(MAX_CONNS, sizeof(*conns));
	if (conns == NULL || pfd == NULL || slot == NULL)
		goto out;
	for (;;) {
		size_t n = 0;
		pfd[n++] = (struct pollfd){o->stop_pipe[0], POLLIN, 0};
		pfd[n++] = (struct pollfd){o->listen_fd, POLLIN, 0};
		for (size_t i = 0; i < n_conns; i++) {
			slot[n] = (int)i;
			pfd[n++] = (struct pollfd){conns[i].fd, o->mode == ORIGIN_SINK ? 0 : POLLIN, 0};
			if (conns[i].peer >= 0) {
				slot[n] = -(int)i - 1;
				pfd[n++] = (struct pollfd){conns[i].peer, POLLIN, 0};
			}
		}
		if (poll(pfd, n, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents) {
			if (o->mode == ORIGIN_NXDOMAIN) {
				answer_nxdomain(o, o->listen_fd);
			} else {
				int fd = accept4(o->listen_fd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0 && n_conns < MAX_CONNS) {
					atomic_fetch_add(&o->accepts, 1);
					conns[n_conns] = (struct conn){.fd = fd, .peer = -1};
					if (o->mode == ORIGIN_BRIDGE)
						conns[n_conns].peer = bridge_connect(o->bridge_to);
					n_conns++;
				} else if (fd >= 0) {
					close(fd);
				}
			}
		}
		for (size_t k = 2; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			int i = slot[k] >= 0 ? slot[k] : -slot[k] - 1;
			if (conns[i].fd < 0 || !serve_conn(o, &conns[i], slot[k] < 0)) {
				if (conns[i].fd >= 0)
					close(conns[i].fd);
				if (conns[i].peer >= 0)
					close(conns[i].peer);
				conns[i].fd = -1;
				conns[i].peer = -1;
			}
		}
		size_t kept = 0;
		for (size_t i = 0; i < n_conns; i++)
			if (conns[i].fd >= 0)
				conns[kept++] = conns[i];
		n_conns = kept;
	}
out:
	for (size_t i = 0; i < n_conns; i++) {
		close(conns[i].fd);
		if (conns[i].peer >= 0)
			close(conns[i].peer);
	}
	free(conns);
	free(pfd);
	free(slot);
	return NULL;
}

int origin_start(struct origin *o, enum origin_mode mode)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int one = 1;

	o->mode = mode;
	atomic_init(&o->accepts, 0);
	pthread_mutex_init(&o->lock, NULL);
	o->last_request[0] = '\0';
	o->listen_fd = socket(AF_INET, (mode == ORIGIN_NXDOMAIN ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (o->listen_fd < 0 || pipe2(o->stop_pipe, O_CLOEXEC) != 0)
		return -1;
	setsockopt(o->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(o->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    (mode != ORIGIN_NXDOMAIN && listen(o->listen_fd, 1024) != 0) ||
	    getsockname(o->listen_fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	o->port = ntohs(sin.sin_port);
	return pthread_create(&o->thread, NULL, origin_main, o) == 0 ? 0 : -1;
}

void origin_stop(struct origin *o)
{
	write_all(o->stop_pipe[1], "x", 1);
	pthread_join(o->thread, NULL);
	close(o->stop_pipe[0]);
	close(o->stop_pipe[1]);
	close(o->listen_fd);
	pthread_mutex_destroy(&o->lock);
}

void origin_last_request(struct origin *o, char *out, size_t size)
{
	pthread_mutex_lock(&o->lock);
	snprintf(out, size, "%s", o->last_request);
	pthread_mutex_unlock(&o->lock);
}

int blackhole_start(uint16_t *port, int *filler)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 0) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	/* Fill the backlog: one queued connection, then SYNs are dropped. */
	*filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*filler < 0 || connect(*filler, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return -1;
	return fd;
}

int client_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int client_send(int fd, const char *text)
{
	return write_all(fd, text, strlen(text));
}

static ssize_t read_until(int fd, char *buf, size_t size, size_t want, int timeout_ms, int *eof)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t len = 0;

	*eof = 0;
	while (len < want && len + 1 < size) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {fd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*eof = 1;
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

ssize_t client_read_all(int fd, char *buf, size_t size, int timeout_ms)
{
	int eof;
	ssize_t n = read_until(fd, buf, size, size, timeout_ms, &eof);
	return eof ? n : -1;
}

ssize_t client_read_n(int fd, char *buf, size_t want, int timeout_ms)
{
	int eof;
	return read_until(fd, buf, want + 1, want, timeout_ms, &eof);
}

int client_wait_eof(int fd, int timeout_ms)
{
	char buf[65536];
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {fd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
	}
}

size_t client_push(int fd, size_t limit)
{
	static char chunk[65536];
	size_t total = 0;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (total < limit) {
		ssize_t n = write(fd, chunk, sizeof(chunk));
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		struct pollfd p = {fd, POLLOUT, 0};
		if (poll(&p, 1, 500) <= 0)
			break;
	}
	return total;
}
