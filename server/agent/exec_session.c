/*
 * session: one connection carries a session's calls, and its handler
 * process owns the session's interpreter driver (see "session" in
 * agent.proto, and server/engine/driver.c for the driver programs and the
 * protocol on their fds 4 and 5).
 *
 * - The first Exec (driver set) is started as any program is (agent_spawn:
 *   own session, uid, limits, oom_score_adj), with a control pipe on its
 *   fd 4 and a status pipe on its fd 5; its own stdin/stdout/stderr pipes
 *   are closed at once (the driver puts /dev/null on them). Then Ack.
 * - Each call is an Exec. It runs in the driver when the driver runs it:
 *   the call's argv[0] is the driver's argv[0] (the interpreter), it has a
 *   file to run (argv[1], not an option), no pty, and the driver's identity
 *   (uid and gid, 0 meaning the agent's). Any other call (`bash -c`, a
 *   command, a pty) is an ordinary exec with keep_detached, next to the
 *   driver.
 * - A call in the driver: its files are written (agent_write_files), then
 *   three FIFOs in/out/err are made in a new directory under /tmp (mkdtemp,
 *   root's 0700 until the FIFOs are made and the handler's ends open: read
 *   ends O_NONBLOCK, stdin O_RDWR so the driver's open never blocks; then
 *   given to the uid). The control message (argv, env, cwd, the directory)
 *   goes to fd 4; once the driver says '.' on fd 5 (it has the FIFOs on its
 *   0/1/2) the FIFOs are unlinked, stdin becomes a write-only end (so the
 *   driver closing it gives EPIPE, as a pipe does), and the call is the
 *   exec conversation of exec.c with the driver as its main process: it is
 *   over when the driver has written the status byte and both FIFOs are at
 *   EOF, or at the timeout. Its end kills only the processes still holding
 *   the call's FIFOs (keep_detached): `nohup server >log 2>&1 &` lives on.
 * - The driver ended during a call (the code exited it, a crash, the
 *   timeout's kill, the host gone): the Exit carries its real status and
 *   state_reset; the next call in the driver starts a fresh one. A driver
 *   found dead between calls is started again too, and that call's Exit
 *   says state_reset.
 * - Between calls each Ping gets a Pong. The end of the connection (or
 *   SIGTERM) kills the driver's group and every process of the uid.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/exec.h"
#include "base/util.h"

#define SESSION_FIFO_TEMPLATE "/tmp/.isol8-session-XXXXXX"

static const char *const session_fifo_names[3] = {"in", "out", "err"};

struct session {
	const struct agent_config *cfg;
	int conn;
	int signal_fd;                      /* the session's signalfd; each run gets a dup */
	const Isol8__Agent__V1__Exec *spec; /* the driver's Exec (the first frame's) */
	struct agent_process driver;        /* pid -1: none runs */
	uid_t uid;
	gid_t gid;
	bool lost;                          /* the driver died between calls */
};

/* One call's FIFOs: the directory and the handler's ends. */
struct session_fifos {
	char dir[sizeof(SESSION_FIFO_TEMPLATE)];
	int dir_fd;
	int fd[3];
};

static void session_driver_close(struct session *s)
{
	exec_close(&s->driver.stdin_fd);
	exec_close(&s->driver.stdout_fd);
	exec_close(&s->driver.stderr_fd);
	exec_close(&s->driver.control_fd);
	exec_close(&s->driver.ready_fd);
	s->driver.pid = -1;
}

static void session_driver_kill(struct session *s)
{
	if (s->driver.pid > 0) {
		kill(-s->driver.pid, SIGKILL);
		kill(s->driver.pid, SIGKILL);
		while (waitpid(s->driver.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	session_driver_close(s);
}

static int session_driver_start(struct session *s, char *msg, size_t msg_len)
{
	int ret = agent_spawn(s->cfg, s->spec, &s->driver, msg, msg_len);

	if (ret < 0) {
		s->driver.pid = -1;
		return ret;
	}
	/* the pipes on its fds 4 and 5 are the driver's: it may open them again
	 * (node does, to have them close-on-exec) */
	if (fchown(s->driver.control_fd, s->uid, s->gid) < 0 || fchown(s->driver.ready_fd, s->uid, s->gid) < 0) {
		snprintf(msg, msg_len, "give the driver its pipes: %s", strerror(errno));
		session_driver_kill(s);
		return -EIO;
	}
	/* the driver's own stdio is /dev/null: it talks on fds 4 and 5 only */
	exec_close(&s->driver.stdin_fd);
	exec_close(&s->driver.stdout_fd);
	exec_close(&s->driver.stderr_fd);
	fcntl(s->driver.ready_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Whether a driver is running; one that died since the last call is
 * reaped and the state counted lost. */
static bool session_driver_alive(struct session *s)
{
	if (s->driver.pid <= 0)
		return false;
	if (waitpid(s->driver.pid, NULL, WNOHANG) == 0)
		return true;
	session_driver_close(s);
	s->lost = true;
	return false;
}

/* The rule for a call that runs in the driver (see the top of this file). */
static bool session_runs_in_driver(const struct session *s, const Isol8__Agent__V1__Exec *req)
{
	const Isol8__Agent__V1__Exec *spec = s->spec;

	return req->n_argv >= 2 && spec->n_argv >= 1 && strcmp(req->argv[0], spec->argv[0]) == 0 &&
	       req->argv[1][0] != '\0' && req->argv[1][0] != '-' && !req->pty &&
	       (req->uid ? req->uid : s->cfg->uid) == s->uid && (req->gid ? req->gid : s->cfg->gid) == s->gid;
}

static void session_fifos_remove(struct session_fifos *f)
{
	for (int i = 0; i < 3 && f->dir_fd >= 0; i++)
		unlinkat(f->dir_fd, session_fifo_names[i], 0);
	if (f->dir[0] != '\0')
		rmdir(f->dir); /* fails, and stays, when the code put more there */
	f->dir[0] = '\0';
	exec_close(&f->dir_fd);
}

static void session_fifos_release(struct session_fifos *f)
{
	session_fifos_remove(f);
	for (int i = 0; i < 3; i++)
		exec_close(&f->fd[i]);
}

/* Makes the call's FIFOs and opens the handler's ends, then gives the
 * directory and the FIFOs to the uid. 0 or -errno with msg. */
static int session_fifos_make(const struct session *s, struct session_fifos *f, char *msg, size_t msg_len)
{
	static const int flags[3] = {O_RDWR, O_RDONLY, O_RDONLY};

	memcpy(f->dir, SESSION_FIFO_TEMPLATE, sizeof(f->dir));
	if (mkdtemp(f->dir) == NULL) {
		snprintf(msg, msg_len, "session: make the call's FIFO directory: %s", strerror(errno));
		f->dir[0] = '\0';
		return -errno;
	}
	f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (int i = 0; i < 3 && f->dir_fd >= 0; i++) {
		const char *name = session_fifo_names[i];
		if (mkfifoat(f->dir_fd, name, 0600) < 0 ||
		    (f->fd[i] = openat(f->dir_fd, name, flags[i] | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		    fchownat(f->dir_fd, name, s->uid, s->gid, AT_SYMLINK_NOFOLLOW) < 0) {
			snprintf(msg, msg_len, "session: make FIFO \"%s/%s\": %s", f->dir, name, strerror(errno));
			return -errno;
		}
	}
	if (f->dir_fd < 0 || fchown(f->dir_fd, s->uid, s->gid) < 0) {
		snprintf(msg, msg_len, "session: open the call's FIFO directory \"%s\": %s", f->dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Waits for the driver's '.': it has the FIFOs on its 0/1/2. */
static int session_await_opened(struct session *s, char *msg, size_t msg_len)
{
	return agent_ready_await(s->driver.ready_fd, '.', "session: the driver did not take the call",
				 "session: the driver ended before the call started", msg, msg_len);
}

static bool session_same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Hands the call to the driver: control message, '.', FIFOs unlinked and
 * stdin made write-only. 0 or -errno with msg. */
static int session_hand_over(struct session *s, const Isol8__Agent__V1__Exec *req, struct session_fifos *f,
			     char *msg, size_t msg_len)
{
	const char *cwd = req->cwd && req->cwd[0] ? req->cwd : s->cfg->sandbox_dir;
	int ret = agent_control_write(s->driver.control_fd, req, cwd);
	int in;

	if (ret == 0 && isol8_write_full(s->driver.control_fd, f->dir, strlen(f->dir) + 1) < 0)
		ret = -errno;
	if (ret < 0) {
		snprintf(msg, msg_len, "session: the driver ended before the call started (%s)", strerror(-ret));
		return ret;
	}
	ret = session_await_opened(s, msg, msg_len);
	if (ret < 0)
		return ret;
	/* the same FIFO (the directory is the uid's now), or the O_RDWR end stays */
	in = openat(f->dir_fd, session_fifo_names[0], O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (in >= 0 && session_same_file(in, f->fd[0])) {
		close(f->fd[0]);
		f->fd[0] = in;
	} else if (in >= 0) {
		close(in);
	}
	session_fifos_remove(f);
	return 0;
}

/* One call in the driver. Returns the handler's status of the run (0 also
 * when the call could not start and the host got an Error). */
static int session_call_in_driver(struct session *s, const Isol8__Agent__V1__Exec *req)
{
	Isol8__Agent__V1__Exec call = *req;
	struct session_fifos f = {.dir_fd = -1, .fd = {-1, -1, -1}};
	char msg[ISOL8_ERROR_MESSAGE_MAX];
	struct exec_run run = {
		.conn = s->conn,
		.signal_fd = -1,
		.deadline_ms = -1,
		.uid = s->uid,
		.in_driver = true,
		.report_fd = -1,
	};
	int ret;

	run.start_us = isol8_now_us();
	if (!session_driver_alive(s) && (ret = session_driver_start(s, msg, sizeof(msg))) < 0) {
		agent_send_error(s->conn, -ret, "%s", msg);
		return 0;
	}
	ret = agent_write_files(s->cfg, req, msg, sizeof(msg));
	if (ret == 0)
		ret = session_fifos_make(s, &f, msg, sizeof(msg));
	if (ret == 0 && (ret = session_hand_over(s, req, &f, msg, sizeof(msg))) < 0) {
		/* a driver that cannot take a call is of no more use */
		session_driver_kill(s);
		s->lost = true;
	}
	if (ret < 0) {
		session_fifos_release(&f);
		agent_send_error(s->conn, -ret, "%s", msg);
		return 0;
	}
	run.signal_fd = fcntl(s->signal_fd, F_DUPFD_CLOEXEC, 0);
	run.proc = (struct agent_process){.pid = s->driver.pid, .stdin_fd = f.fd[0], .stdout_fd = f.fd[1],
					  .stderr_fd = f.fd[2], .control_fd = -1, .ready_fd = -1};
	run.report_fd = s->driver.ready_fd;
	run.state_reset = s->lost;
	s->lost = false;
	call.keep_detached = true;
	ret = exec_serve_started(&run, &call);
	if (!run.reported) {
		/* the driver is gone (exec_end reaped it): the next call starts another */
		if (!run.reaped)
			session_driver_kill(s);
		session_driver_close(s);
	}
	return ret;
}

/* A call the driver does not run: an ordinary exec next to it. */
static int session_call_program(struct session *s, const Isol8__Agent__V1__Exec *req)
{
	Isol8__Agent__V1__Exec call = *req;
	int signal_fd = fcntl(s->signal_fd, F_DUPFD_CLOEXEC, 0);

	if (signal_fd < 0) {
		agent_send_error(s->conn, errno, "session: signalfd: %s", strerror(errno));
		return 1;
	}
	call.keep_detached = true;
	agent_run_program(s->cfg, s->conn, signal_fd, &call);
	return 0;
}

/* Serves calls until the connection ends, a frame is not a call, or a run
 * failed in a way that leaves the conversation unusable. */
static int session_serve_calls(struct session *s)
{
	for (;;) {
		struct isol8_error err = ISOL8_ERROR_INIT;
		isol8_frame *next = NULL;
		int ret;

		if (agent_wait_for_exec(s->conn, s->signal_fd, &next, &err) < 0) {
			isol8_frame_free(next);
			return 0;
		}
		if (next->body_case != ISOL8__AGENT__V1__FRAME__BODY_EXEC || next->exec->prestart || next->exec->driver) {
			agent_send_error(s->conn, EPROTO, "session: a call must be an Exec without driver or prestart");
			isol8_frame_free(next);
			return 1;
		}
		if (session_runs_in_driver(s, next->exec))
			ret = session_call_in_driver(s, next->exec);
		else
			ret = session_call_program(s, next->exec);
		isol8_frame_free(next);
		if (ret != 0)
			return ret;
	}
}

int agent_serve_session(const struct agent_config *cfg, int conn, const isol8_frame *first)
{
	struct session s = {
		.cfg = cfg,
		.conn = conn,
		.spec = first->exec,
		.driver = {.pid = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .control_fd = -1, .ready_fd = -1},
		.uid = first->exec->uid ? first->exec->uid : cfg->uid,
		.gid = first->exec->gid ? first->exec->gid : cfg->gid,
	};
	char msg[ISOL8_ERROR_MESSAGE_MAX];
	int ret;

	s.signal_fd = exec_signals_open();
	if (s.signal_fd < 0) {
		agent_send_error(conn, errno, "session: signalfd: %s", strerror(errno));
		return 1;
	}
	ret = session_driver_start(&s, msg, sizeof(msg));
	if (ret < 0) {
		agent_send_error(conn, -ret, "session: %s", msg);
		exec_close(&s.signal_fd);
		return 1;
	}
	ret = agent_send_ack(conn) < 0 ? 0 : session_serve_calls(&s);
	session_driver_kill(&s);
	if (s.uid != 0)
		agent_kill_uid(s.uid);
	exec_close(&s.signal_fd);
	return ret;
}
