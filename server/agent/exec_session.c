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
 *   file to run (argv[1], not an option), no pty, the driver's identity
 *   (uid and gid, 0 meaning the agent's), and no empty string in argv or
 *   env (the control message ends each list at one). Any other call
 *   (`bash -c`, a command, a pty) is an ordinary exec with keep_detached,
 *   next to the driver.
 * - A call in the driver: its files are written (agent_write_files), then
 *   three FIFOs in/out/err are made in a new directory under /tmp (mkdtemp,
 *   root's 0700 until the FIFOs are made and the handler's ends open: read
 *   ends O_NONBLOCK, stdin O_RDWR so the driver's open never blocks; then
 *   given to the uid). The control message (argv, env, cwd, the directory)
 *   goes to fd 4 without blocking, and the handler waits for the driver's
 *   answer on fd 5 up to the call's timeout (AGENT_LAUNCHER_READY_MS
 *   without one): a driver still busy with work of an earlier call may
 *   take a while. At the timeout the driver is killed and the Exit says
 *   timed_out and state_reset; the host closing the connection or SIGTERM
 *   ends the wait too; the call's Stdin frames are kept for it and its
 *   Signal frames go to the driver's group at once (a Signal that ends
 *   the driver ends the call: its Exit says state_reset). '!' means the driver could not put the FIFOs on its
 *   0/1/2: the call gets an Error, the driver lives on. Once it says '.'
 *   (it has the FIFOs on its 0/1/2) the FIFOs are unlinked, stdin becomes
 *   a write-only end (so the driver closing it gives EPIPE, as a pipe
 *   does), and the call is the exec conversation of exec.c with the driver
 *   as its main process, for what is left of its timeout: it is over when
 *   the driver has written the status byte and both FIFOs are at EOF (or
 *   no process but the driver holds them), or at the timeout. Its end
 *   kills only the processes still holding the call's FIFOs
 *   (keep_detached), not the driver: `nohup server >log 2>&1 &` lives on.
 *   Code that execs another program closes fd 5 (close-on-exec): from
 *   there on the call is that program's run, and its Exit says
 *   state_reset.
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
#include <sys/signalfd.h>
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
	fcntl(s->driver.control_fd, F_SETFL, O_NONBLOCK);
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

	for (size_t i = 0; i < req->n_argv; i++)
		if (req->argv[i][0] == '\0')
			return false; /* the control message ends argv at an empty string */
	for (size_t i = 0; i < req->n_env; i++)
		if (req->env[i][0] == '\0')
			return false;
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

/* The call's control message (agent.proto, "prestart", then the FIFO
 * directory), built whole so that it can be written without blocking. */
static int session_control_build(const Isol8__Agent__V1__Exec *req, const char *cwd, const char *dir,
				 struct exec_bytes *out)
{
	static const uint8_t nul = 0;
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < req->n_argv; i++)
		ret = exec_bytes_append(out, (const uint8_t *)req->argv[i], strlen(req->argv[i]) + 1);
	if (ret == 0)
		ret = exec_bytes_append(out, &nul, 1);
	for (size_t i = 0; ret == 0 && i < req->n_env; i++)
		ret = exec_bytes_append(out, (const uint8_t *)req->env[i], strlen(req->env[i]) + 1);
	if (ret == 0)
		ret = exec_bytes_append(out, &nul, 1);
	if (ret == 0)
		ret = exec_bytes_append(out, (const uint8_t *)cwd, strlen(cwd) + 1);
	if (ret == 0)
		ret = exec_bytes_append(out, (const uint8_t *)dir, strlen(dir) + 1);
	return ret;
}

/* How a hand-over ended, when it did not give the call to the driver. */
enum session_wait_end {
	WAIT_OPENED,
	WAIT_TIMEOUT,
	WAIT_DRIVER_GONE,
	WAIT_REFUSED,
	WAIT_HOST_GONE,
	WAIT_STOP,
	WAIT_BAD_FRAME,
	WAIT_PENDING, /* no answer yet */
};

/* Frames of the call that came while the driver had not taken it yet: its
 * Stdin is kept for the run, a Signal goes to the driver's group at once
 * (the driver is busy with work of the code), and what is left of a frame
 * stays in the reader, which the run takes over. */
struct session_early {
	struct isol8_frame_reader reader;
	bool stdin_open;        /* the call's Stdin frames are taken */
	struct exec_bytes stdin_q;
	bool signalled;
};

/* The Error code of a call whose hand-over ended so. */
static const int session_wait_codes[] = {
	[WAIT_OPENED] = 0,         [WAIT_TIMEOUT] = ETIMEDOUT, [WAIT_DRIVER_GONE] = ECHILD, [WAIT_REFUSED] = EBUSY,
	[WAIT_HOST_GONE] = EPIPE, [WAIT_STOP] = ECANCELED,    [WAIT_BAD_FRAME] = EPROTO, [WAIT_PENDING] = 0,
};

/* The driver's answer on its status pipe: '.' (it has the FIFOs on its
 * 0/1/2), '!' (it could not put them there and waits for the next call). */
static enum session_wait_end session_read_answer(struct session *s)
{
	char byte = 0;
	ssize_t n = read(s->driver.ready_fd, &byte, 1);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return WAIT_PENDING;
	if (n == 1 && byte == '.')
		return WAIT_OPENED;
	if (n == 1 && byte == '!')
		return WAIT_REFUSED;
	return WAIT_DRIVER_GONE;
}

static enum session_wait_end session_early_frame(struct session *s, struct session_early *e, const isol8_frame *frame)
{
	if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_STDIN) {
		const Isol8__Agent__V1__Stdin *in = frame->stdin;
		if (!e->stdin_open)
			return WAIT_PENDING;
		e->stdin_open = !in->eof;
		return exec_bytes_append(&e->stdin_q, in->data.data, in->data.len) < 0 ? WAIT_BAD_FRAME : WAIT_PENDING;
	}
	if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_SIGNAL) {
		if (frame->signal->signal <= 0 || frame->signal->signal >= NSIG)
			return WAIT_BAD_FRAME;
		kill(-s->driver.pid, frame->signal->signal);
		e->signalled = true;
		return WAIT_PENDING;
	}
	return frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_RESIZE ? WAIT_PENDING : WAIT_BAD_FRAME;
}

static enum session_wait_end session_early_frames(struct session *s, struct session_early *e)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	enum session_wait_end end = WAIT_PENDING;
	isol8_frame *frame = NULL;
	int ret = isol8_frame_reader_fill(&e->reader, s->conn, &err);

	if (ret == 0)
		return WAIT_HOST_GONE;
	while (ret > 0 && end == WAIT_PENDING && (ret = isol8_frame_reader_next(&e->reader, &frame, &err)) > 0) {
		end = session_early_frame(s, e, frame);
		isol8_frame_free(frame);
	}
	return ret < 0 ? WAIT_BAD_FRAME : end;
}

/* Writes the control message and waits for the driver's answer, without
 * blocking: a driver still busy with work of the last call may not read
 * it for a while. The wait ends at until_ms, when the driver ends, when
 * the host closes the connection, or when the agent stops. */
static enum session_wait_end session_await_opened(struct session *s, struct exec_bytes *msg, int64_t until_ms,
						  struct session_early *e)
{
	for (;;) {
		bool writing = exec_bytes_pending(msg) > 0;
		struct pollfd pfd[4] = {
			{.fd = writing ? s->driver.control_fd : -1, .events = POLLOUT},
			{.fd = s->driver.ready_fd, .events = POLLIN},
			{.fd = s->conn, .events = POLLIN | POLLRDHUP},
			{.fd = s->signal_fd, .events = POLLIN},
		};
		int64_t left = until_ms - isol8_now_ms();
		enum session_wait_end end;

		if (left <= 0)
			return WAIT_TIMEOUT;
		if (poll(pfd, 4, (int)(left > 60000 ? 60000 : left)) < 0 && errno != EINTR)
			return WAIT_DRIVER_GONE;
		if (pfd[3].revents && agent_stop_requested(s->signal_fd))
			return WAIT_STOP;
		if ((pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) && (end = session_early_frames(s, e)) != WAIT_PENDING)
			return end;
		if ((pfd[2].revents & POLLRDHUP) && !(pfd[2].revents & POLLIN))
			return WAIT_HOST_GONE;
		if (pfd[0].revents & (POLLERR | POLLHUP))
			return WAIT_DRIVER_GONE;
		if (pfd[0].revents & POLLOUT) {
			ssize_t n = write(s->driver.control_fd, msg->data + msg->off, exec_bytes_pending(msg));
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return WAIT_DRIVER_GONE;
			if (n > 0)
				msg->off += (size_t)n;
		}
		if (pfd[1].revents && (end = session_read_answer(s)) != WAIT_PENDING)
			return end;
	}
}

static bool session_same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A call whose timeout came while the driver still had not taken it (busy
 * with work of an earlier call): the driver is killed, and the Exit says
 * timed_out and state_reset, as a call killed at its timeout does. Also
 * the Exit of a call whose Signal ended the driver before it took the
 * call (not timed_out then). */
static void session_send_early_exit(struct session *s, int64_t start_us, bool timed_out)
{
	Isol8__Agent__V1__Frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Exit exit_msg = ISOL8__AGENT__V1__EXIT__INIT;
	int status = 0;

	if (s->driver.pid > 0) {
		kill(-s->driver.pid, SIGKILL);
		kill(s->driver.pid, SIGKILL);
		while (waitpid(s->driver.pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	session_driver_close(s);
	exit_msg.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	exit_msg.exit_code = WIFSIGNALED(status) ? 128 + exit_msg.signal : WEXITSTATUS(status);
	exit_msg.timed_out = timed_out;
	exit_msg.state_reset = true;
	exit_msg.duration_us = (uint64_t)(isol8_now_us() - start_us);
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_EXIT;
	frame.exit = &exit_msg;
	isol8_frame_write(s->conn, &frame, NULL);
}

/* Hands the call to the driver: control message, '.', FIFOs unlinked and
 * stdin made write-only. WAIT_OPENED, or how it ended with msg. */
static enum session_wait_end session_hand_over(struct session *s, const Isol8__Agent__V1__Exec *req,
					       struct session_fifos *f, int64_t until_ms, struct session_early *e,
					       char *msg, size_t msg_len)
{
	const char *cwd = req->cwd && req->cwd[0] ? req->cwd : s->cfg->sandbox_dir;
	struct exec_bytes control = {0};
	enum session_wait_end end;
	int in;

	if (session_control_build(req, cwd, f->dir, &control) < 0) {
		free(control.data);
		snprintf(msg, msg_len, "session: out of memory for the call's control message");
		return WAIT_REFUSED;
	}
	end = session_await_opened(s, &control, until_ms, e);
	free(control.data);
	if (end == WAIT_TIMEOUT)
		snprintf(msg, msg_len, "session: the driver did not take the call before its timeout");
	else if (end == WAIT_DRIVER_GONE)
		snprintf(msg, msg_len, "session: the driver ended before the call started");
	else if (end == WAIT_REFUSED)
		snprintf(msg, msg_len, "session: the driver could not put the call's FIFOs on its fds 0-2 "
				       "(an fd was taken by pending work of the code)");
	else if (end == WAIT_STOP)
		snprintf(msg, msg_len, "exec: the agent is stopping");
	else if (end == WAIT_BAD_FRAME)
		snprintf(msg, msg_len, "exec: unexpected or invalid frame from the host");
	if (end != WAIT_OPENED)
		return end;
	/* the same FIFO (the directory is the uid's now), or the O_RDWR end stays */
	in = openat(f->dir_fd, session_fifo_names[0], O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (in >= 0 && session_same_file(in, f->fd[0])) {
		close(f->fd[0]);
		f->fd[0] = in;
	} else if (in >= 0) {
		close(in);
	}
	session_fifos_remove(f);
	return WAIT_OPENED;
}

/* Starts the call: the driver (again, if it is gone), the call's files and
 * FIFOs, the hand-over. 0 with the call in the driver; else the host got
 * its answer (an Error, or the Exit of a call timed out before it started)
 * and the result is 1 when the session is over. */
static int session_call_start(struct session *s, const Isol8__Agent__V1__Exec *req, struct session_fifos *f,
			      int64_t start_us, struct session_early *e, int *result)
{
	int64_t now = isol8_now_ms();
	int64_t until = now + (req->timeout_ms > 0 ? (int64_t)req->timeout_ms : AGENT_LAUNCHER_READY_MS);
	enum session_wait_end end = WAIT_REFUSED;
	char msg[ISOL8_ERROR_MESSAGE_MAX];
	int ret;

	*result = 0;
	if (!session_driver_alive(s) && (ret = session_driver_start(s, msg, sizeof(msg))) < 0) {
		agent_send_error(s->conn, -ret, "%s", msg);
		return -1;
	}
	ret = agent_write_files(s->cfg, req, msg, sizeof(msg));
	if (ret == 0)
		ret = session_fifos_make(s, f, msg, sizeof(msg));
	if (ret == 0)
		end = session_hand_over(s, req, f, until, e, msg, sizeof(msg));
	if (ret == 0 && end == WAIT_OPENED)
		return 0;
	session_fifos_release(f);
	if (ret == 0 && (end == WAIT_TIMEOUT || (end == WAIT_DRIVER_GONE && e->signalled))) {
		session_send_early_exit(s, start_us, end == WAIT_TIMEOUT);
		s->lost = false; /* said by this Exit */
		return -1;
	}
	if (ret == 0 && end != WAIT_REFUSED) {
		/* a driver that cannot take a call is of no more use */
		session_driver_kill(s);
		s->lost = true;
	}
	if (end == WAIT_HOST_GONE || end == WAIT_STOP || end == WAIT_BAD_FRAME)
		*result = 1;
	if (end != WAIT_HOST_GONE)
		agent_send_error(s->conn, ret < 0 ? -ret : session_wait_codes[end], "%s", msg);
	return -1;
}

/* One call in the driver. Returns the handler's status of the run (0 also
 * when the call could not start and the host got an Error). */
static int session_call_in_driver(struct session *s, const Isol8__Agent__V1__Exec *req)
{
	Isol8__Agent__V1__Exec call = *req;
	struct session_fifos f = {.dir_fd = -1, .fd = {-1, -1, -1}};
	struct exec_run run = {
		.conn = s->conn,
		.signal_fd = -1,
		.deadline_ms = -1,
		.uid = s->uid,
		.in_driver = true,
		.report_fd = -1,
	};
	struct session_early early = {.reader = ISOL8_FRAME_READER_INIT, .stdin_open = req->stdin_open};
	int ret;

	run.start_us = isol8_now_us();
	if (exec_bytes_append(&early.stdin_q, req->stdin.data, req->stdin.len) < 0) {
		agent_send_error(s->conn, ENOMEM, "session: out of memory queueing stdin");
		return 1;
	}
	if (session_call_start(s, req, &f, run.start_us, &early, &ret) < 0) {
		isol8_frame_reader_release(&early.reader);
		free(early.stdin_q.data);
		return ret;
	}
	/* what came before the driver took the call is the run's */
	run.reader = early.reader;
	call.stdin.data = early.stdin_q.data;
	call.stdin.len = early.stdin_q.len;
	call.stdin_open = early.stdin_open;
	/* the time the hand-over took is the call's too */
	if (call.timeout_ms > 0) {
		int64_t spent = (isol8_now_us() - run.start_us) / 1000;
		call.timeout_ms = spent >= (int64_t)call.timeout_ms ? 1 : call.timeout_ms - (uint32_t)spent;
	}
	run.signal_fd = fcntl(s->signal_fd, F_DUPFD_CLOEXEC, 0);
	run.proc = (struct agent_process){.pid = s->driver.pid, .stdin_fd = f.fd[0], .stdout_fd = f.fd[1],
					  .stderr_fd = f.fd[2], .control_fd = -1, .ready_fd = -1};
	run.report_fd = s->driver.ready_fd;
	run.state_reset = s->lost;
	s->lost = false;
	call.keep_detached = true;
	ret = exec_serve_started(&run, &call);
	free(early.stdin_q.data);
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
