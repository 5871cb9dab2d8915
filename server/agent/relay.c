/*
 * The egress relay of a "filtered" sandbox (DESIGN section 5): the sandbox
 * has no interface but lo, so its programs reach isol8d's egress proxy
 * through 127.0.0.1:8118 (HTTP_PROXY), which this relay accepts and joins,
 * byte for byte, to a new connection to the proxy's unix socket in the run
 * directory. The relay never parses a byte: the proxy decides everything.
 *
 * Process model. The relay is a root child of the supervisor (PID 1), not a
 * thread of it: the supervisor forks a handler per request, and forking a
 * process that has threads is unsafe for the handler, which allocates
 * before it execs. As root it survives resets (they kill the sandbox uid's
 * processes only), and it is the sandbox's only process that speaks to the
 * proxy (the run directory is 0700 root). When it dies the supervisor
 * starts another (at most once a second) on the same listening socket,
 * which the supervisor made at its start and keeps, so the port is never
 * free for a program to take. One poll loop serves every
 * connection: no thread and no process per connection.
 *
 * Limits and backpressure. At most RELAY_MAX_PAIRS connections at once
 * (past it new ones wait in the listen backlog); each direction has one
 * RELAY_BUF_SIZE buffer, and a side is read only when the buffer that
 * carries its bytes is empty, so a slow reader slows the writer down and
 * memory stays bounded (RELAY_MAX_PAIRS * 2 * RELAY_BUF_SIZE). An end of
 * stream is passed on as a half close (shutdown SHUT_WR) once the buffer
 * is drained; a pair is closed, both fds, when both directions ended or
 * either side failed. The proxy ends its side when a use ends, so nothing
 * of one use stays open into the next.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent.h"

#define RELAY_MAX_PAIRS 256
#define RELAY_BUF_SIZE (16u * 1024u)

/* One relayed connection: side 0 is the program's TCP connection, side 1
 * the proxy's unix one; buf[i] holds bytes read from side i for side 1-i. */
struct relay_pair {
	int fd[2];
	unsigned char *buf[2];
	size_t len[2], off[2];
	bool eof[2];   /* side i sent its end of stream */
	bool shut[2];  /* side i was told of the other's end (SHUT_WR) */
};

struct relay {
	const char *egress_socket;
	int listen_fd;
	struct relay_pair pairs[RELAY_MAX_PAIRS];
	size_t n;
};

int agent_relay_listen(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(AGENT_RELAY_PORT),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 128) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* A new connection to the proxy, or -1 (it is not there, or its backlog is full). */
static int relay_dial(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -1;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void relay_pair_close(struct relay *r, size_t i)
{
	struct relay_pair *p = &r->pairs[i];

	for (int s = 0; s < 2; s++) {
		close(p->fd[s]);
		free(p->buf[s]);
	}
	r->pairs[i] = r->pairs[--r->n];
}

static void relay_accept(struct relay *r)
{
	while (r->n < RELAY_MAX_PAIRS) {
		struct relay_pair *p = &r->pairs[r->n];
		int conn = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		int up;

		if (conn < 0)
			return;
		up = relay_dial(r->egress_socket);
		memset(p, 0, sizeof(*p));
		p->buf[0] = malloc(RELAY_BUF_SIZE);
		p->buf[1] = malloc(RELAY_BUF_SIZE);
		if (up < 0 || p->buf[0] == NULL || p->buf[1] == NULL) {
			/* the program sees its connection closed: nowhere to relay to */
			free(p->buf[0]);
			free(p->buf[1]);
			if (up >= 0)
				close(up);
			close(conn);
			continue;
		}
		p->fd[0] = conn;
		p->fd[1] = up;
		r->n++;
	}
}

/* Moves what can move for side s of p (read from s, write to 1-s). false: the pair is done. */
static bool relay_pair_step(struct relay_pair *p, int s, short rev_in)
{
	int o = 1 - s;

	if (p->len[s] == 0 && !p->eof[s] && (rev_in & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = recv(p->fd[s], p->buf[s], RELAY_BUF_SIZE, 0);
		if (n > 0) {
			p->len[s] = (size_t)n;
			p->off[s] = 0;
		} else if (n == 0) {
			p->eof[s] = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			return false;
		}
	}
	/* tried whenever either side stirred: a send that cannot go now says EAGAIN */
	if (p->len[s] > 0) {
		ssize_t n = send(p->fd[o], p->buf[s] + p->off[s], p->len[s], MSG_NOSIGNAL);
		if (n > 0) {
			p->off[s] += (size_t)n;
			p->len[s] -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return false;
		}
	}
	if (p->eof[s] && p->len[s] == 0 && !p->shut[o]) {
		shutdown(p->fd[o], SHUT_WR);
		p->shut[o] = true;
	}
	return !(p->eof[0] && p->eof[1] && p->len[0] == 0 && p->len[1] == 0);
}

static short relay_events(const struct relay_pair *p, int side)
{
	short ev = 0;

	if (p->len[side] == 0 && !p->eof[side])
		ev |= POLLIN;
	if (p->len[1 - side] > 0)
		ev |= POLLOUT;
	return ev;
}

static int relay_loop(struct relay *r)
{
	struct pollfd fds[1 + 2 * RELAY_MAX_PAIRS];

	for (;;) {
		size_t n = r->n;

		fds[0] = (struct pollfd){.fd = n < RELAY_MAX_PAIRS ? r->listen_fd : -1, .events = POLLIN};
		for (size_t i = 0; i < n; i++) {
			for (int s = 0; s < 2; s++) {
				short ev = relay_events(&r->pairs[i], s);
				fds[1 + 2 * i + s] = (struct pollfd){.fd = ev ? r->pairs[i].fd[s] : -1, .events = ev};
			}
		}
		if (poll(fds, 1 + 2 * n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		/* backwards: closing a pair moves the last one into its slot */
		for (size_t i = n; i-- > 0;) {
			struct relay_pair *p = &r->pairs[i];
			short rev0 = fds[1 + 2 * i].revents, rev1 = fds[2 + 2 * i].revents;
			if ((rev0 | rev1) == 0)
				continue;
			if (!relay_pair_step(p, 0, rev0) || !relay_pair_step(p, 1, rev1))
				relay_pair_close(r, i);
		}
		if (fds[0].revents & POLLIN)
			relay_accept(r);
	}
}

int agent_relay_run(int listen_fd, const char *egress_socket)
{
	static struct relay r;

	r.egress_socket = egress_socket;
	r.listen_fd = listen_fd;
	return relay_loop(&r);
}

pid_t agent_relay_spawn(int listen_fd, const char *egress_socket, const int *close_fds, size_t n_close)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	for (size_t i = 0; i < n_close; i++)
		close(close_fds[i]);
	/* outside a pid namespace of its own (tests on the host) it ends with the agent */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	_exit(agent_relay_run(listen_fd, egress_socket));
}
