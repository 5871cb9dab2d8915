/*
 * isol8-agent: PID 1 of every sandbox container (a static binary, mounted
 * read-only at /.isol8/agent). The host talks to it over a unix socket with
 * the framed protocol of api/isol8/agent/v1/agent.proto.
 *
 * Design. The supervisor (this file, PID 1) runs one poll loop over two fds:
 * the listening socket and a signalfd. All signals it cares about (SIGCHLD,
 * SIGTERM, SIGINT) are blocked and read from the signalfd, so there are no
 * asynchronous handlers. It
 *   - reaps every child: its handlers and, as PID 1, every orphan that the
 *     kernel re-parents to it;
 *   - accepts a connection and forks a handler process for it (handler.c),
 *     so requests are served concurrently, and a slow, stuck or crashing
 *     request affects only its own handler. The supervisor never parses a
 *     byte from the socket. At most AGENT_MAX_HANDLERS run at once; past
 *     that a connection gets an Error frame and is closed;
 *   - in a filtered sandbox (--egress SOCKET), keeps the egress relay
 *     (relay.c) running: a root child with its own poll loop, started
 *     again (at most once a second) when it dies;
 *   - on SIGTERM (docker stop) kills everything and exits 0: kill(-1) when it
 *     is PID 1 of its own pid namespace, otherwise (tests on the host) SIGTERM
 *     to each handler, which kills its program's process group.
 * Handlers run as root; the programs they start run as the sandbox uid in
 * their own session and process group, so user code cannot signal the agent.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/util.h"

#define AGENT_MAX_HANDLERS 256
#define AGENT_TERM_GRACE_MS 2000
#define AGENT_RELAY_RESTART_MS 1000

struct agent_state {
	struct agent_config cfg;
	int listen_fd;
	int signal_fd;
	pid_t handlers[AGENT_MAX_HANDLERS];
	size_t handler_count;
	int relay_listen_fd;      /* 127.0.0.1:8118 (filtered sandbox), or -1 */
	pid_t relay_pid;          /* the egress relay, or 0 (none, or to be started again) */
	int64_t relay_started_ms; /* when it was last started */
};

static void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void agent_log(const char *fmt, ...)
{
	va_list ap;

	fputs("isol8-agent: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int agent_parse_id(const char *text, unsigned *out)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v == 0 || v > 0x7fffffffUL)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int agent_parse_args(int argc, char **argv, struct agent_config *cfg)
{
	static const struct option options[] = {
		{"socket", required_argument, NULL, 's'}, {"sandbox-dir", required_argument, NULL, 'd'},
		{"uid", required_argument, NULL, 'u'},    {"gid", required_argument, NULL, 'g'},
		{"egress", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0},
	};
	unsigned id;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 's')
			cfg->socket_path = optarg;
		else if (c == 'd')
			cfg->sandbox_dir = optarg;
		else if (c == 'e')
			cfg->egress_socket = optarg;
		else if ((c == 'u' || c == 'g') && agent_parse_id(optarg, &id) == 0)
			*(c == 'u' ? &cfg->uid : &cfg->gid) = id;
		else
			goto usage;
	}
	if (optind != argc || !agent_path_absolute(cfg->sandbox_dir))
		goto usage;
	return 0;
usage:
	fprintf(stderr, "usage: isol8-agent [--socket PATH] [--sandbox-dir DIR] [--uid N] [--gid N] [--egress SOCKET]\n"
			"  uid and gid are positive; DIR is an absolute normalized path\n");
	return -1;
}

/* Makes sure fds 0-2 are open so that no socket or pipe ever lands on them. */
static void agent_open_std_fds(void)
{
	for (;;) {
		int fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			return;
		if (fd > 2) {
			close(fd);
			return;
		}
	}
}

static int agent_listen(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_umask;
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		agent_log("socket path \"%s\" is too long", path);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(path) < 0)
		agent_log("remove stale socket \"%s\": %s", path, strerror(errno));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		agent_log("socket: %s", strerror(errno));
		return -1;
	}
	old_umask = umask(0077);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (ret < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		agent_log("listen on \"%s\": %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int agent_signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
		return -1;
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void agent_forget_handler(struct agent_state *st, pid_t pid)
{
	for (size_t i = 0; i < st->handler_count; i++) {
		if (st->handlers[i] == pid) {
			st->handlers[i] = st->handlers[--st->handler_count];
			return;
		}
	}
}

static void agent_reap(struct agent_state *st)
{
	pid_t pid;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		if (pid == st->relay_pid) {
			agent_log("egress relay %d ended: starting another", (int)pid);
			st->relay_pid = 0;
		}
		agent_forget_handler(st, pid);
	}
}

/* Starts the egress relay when it should run and does not; the time until
 * it may be started again (poll's timeout), or -1 when nothing waits. */
static int agent_keep_relay(struct agent_state *st)
{
	int fds[2] = {st->listen_fd, st->signal_fd};
	int64_t now = isol8_now_ms(), due = st->relay_started_ms + AGENT_RELAY_RESTART_MS;

	if (st->relay_listen_fd < 0 || st->relay_pid > 0)
		return -1;
	if (st->relay_started_ms != 0 && now < due)
		return (int)(due - now);
	st->relay_started_ms = now;
	st->relay_pid = agent_relay_spawn(st->relay_listen_fd, st->cfg.egress_socket, fds, 2);
	if (st->relay_pid < 0) {
		agent_log("egress relay: fork: %s", strerror(errno));
		st->relay_pid = 0;
		return AGENT_RELAY_RESTART_MS;
	}
	return -1;
}

/* In a new handler process: undo the supervisor's signal setup. */
static void agent_handler_signals(void)
{
	sigset_t none;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void agent_accept(struct agent_state *st)
{
	int conn = accept4(st->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	pid_t pid;

	if (conn < 0)
		return;
	if (st->handler_count == AGENT_MAX_HANDLERS) {
		agent_send_error(conn, EBUSY, "agent busy: %d requests in progress", AGENT_MAX_HANDLERS);
		close(conn);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(st->listen_fd);
		close(st->signal_fd);
		if (st->relay_listen_fd >= 0)
			close(st->relay_listen_fd);
		agent_handler_signals();
		_exit(agent_handle_connection(&st->cfg, conn));
	}
	if (pid < 0) {
		agent_send_error(conn, errno, "agent fork: %s", strerror(errno));
	} else {
		st->handlers[st->handler_count++] = pid;
	}
	close(conn);
}

/* SIGTERM: ends every process of the sandbox, then the agent. */
static void agent_terminate(struct agent_state *st)
{
	int64_t deadline = isol8_now_ms() + AGENT_TERM_GRACE_MS;

	unlink(st->cfg.socket_path);
	if (getpid() == 1) {
		kill(-1, SIGKILL);
		exit(0);
	}
	for (size_t i = 0; i < st->handler_count; i++)
		kill(st->handlers[i], SIGTERM);
	if (st->relay_pid > 0)
		kill(st->relay_pid, SIGKILL);
	while (st->handler_count > 0 && isol8_now_ms() < deadline) {
		agent_reap(st);
		usleep(10000);
	}
	for (size_t i = 0; i < st->handler_count; i++)
		kill(st->handlers[i], SIGKILL);
	exit(0);
}

static void agent_on_signals(struct agent_state *st)
{
	struct signalfd_siginfo info;
	bool terminate = false;

	while (read(st->signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
		if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT)
			terminate = true;
	}
	agent_reap(st);
	if (terminate)
		agent_terminate(st);
}

static int agent_run(struct agent_state *st)
{
	struct pollfd fds[2] = {{.fd = st->signal_fd, .events = POLLIN}, {.fd = st->listen_fd, .events = POLLIN}};

	for (;;) {
		if (poll(fds, 2, agent_keep_relay(st)) < 0) {
			if (errno == EINTR)
				continue;
			agent_log("poll: %s", strerror(errno));
			return 1;
		}
		if (fds[0].revents)
			agent_on_signals(st);
		if (fds[1].revents)
			agent_accept(st);
	}
}

int main(int argc, char **argv)
{
	struct agent_state st = {
		.cfg = {.socket_path = "/.isol8/run/agent.sock", .sandbox_dir = "/sandbox", .uid = 1000, .gid = 1000},
		.listen_fd = -1,
		.signal_fd = -1,
		.relay_listen_fd = -1,
	};
	sigset_t set;

	agent_open_std_fds();
	umask(0022);
	if (agent_parse_args(argc, argv, &st.cfg) < 0)
		return 2;
	st.cfg.agent_pid = getpid();
	if (chown(st.cfg.sandbox_dir, st.cfg.uid, st.cfg.gid) < 0)
		agent_log("chown \"%s\": %s", st.cfg.sandbox_dir, strerror(errno));
	struct stat sandbox_st;
	st.cfg.sandbox_mode = stat(st.cfg.sandbox_dir, &sandbox_st) == 0 ? (sandbox_st.st_mode & 07777) : 0755;
	st.signal_fd = agent_signals_block(&set);
	if (st.signal_fd < 0) {
		agent_log("signalfd: %s", strerror(errno));
		return 1;
	}
	/* the relay's port is taken before any program runs, and kept */
	if (st.cfg.egress_socket != NULL) {
		st.relay_listen_fd = agent_relay_listen();
		if (st.relay_listen_fd < 0) {
			agent_log("egress relay: listen on 127.0.0.1:%d: %s", AGENT_RELAY_PORT, strerror(errno));
			return 1;
		}
	}
	st.listen_fd = agent_listen(st.cfg.socket_path);
	if (st.listen_fd < 0)
		return 1;
	return agent_run(&st);
}
