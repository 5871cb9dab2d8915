/*
 * The exec conversation, in the connection's handler process. One poll loop
 * over: the host connection (Stdin and Signal frames in, queued frames out;
 * non-blocking), the program's stdin/stdout/stderr pipes, and a signalfd
 * (SIGCHLD for the program, SIGTERM when the agent stops).
 *
 * - Output is forwarded as it is read, one Output frame per read. While the
 *   queue to the host is above EXEC_OUTQ_HIGH the pipes are not read, so a
 *   slow host slows the program instead of growing memory. Timeouts are
 *   enforced regardless, since no write to the host ever blocks.
 * - Past max_output_bytes only the bytes up to the cap are sent; the rest is
 *   read and dropped, the program runs on to its own exit (or the timeout),
 *   and the exit says truncated. At timeout_ms the group is killed and the
 *   exit says timed_out.
 * - The run ends as `docker exec` and `subprocess.run` end: when the main
 *   process has exited and every process holding its stdout and stderr has
 *   closed them (both pipes at EOF), or at timeout_ms. On a pty, as
 *   `docker exec -t`, when the main process has exited. Then exec_end kills
 *   what is left: every process of the uid (an ephemeral sandbox), or with
 *   keep_detached only the processes still holding the pipes, or the
 *   terminal's slave (a session, where `nohup cmd >log 2>&1 &` lives on). After that kill the pipes are
 *   drained for what they still hold, up to EXEC_DRAIN_MS.
 * - Standard input without data or more to come is closed before the first
 *   wait, so a program reading it sees EOF at once.
 * - When the host goes away the program is ended and nothing more is sent.
 * - A call in a session driver (exec_session.c) runs the same loop: the
 *   driver's status pipe is one more fd, and its byte (the call's status)
 *   stands for the main process's exit; the driver is then neither killed
 *   nor reaped. A driver that dies, or closes the pipe (an exec of another
 *   program), ends the call as a program's exit does, and the Exit says
 *   state_reset.
 * - On a pty (exec_pty.c) the terminal's master is both the output (as
 *   stdout; it reads EIO once every holder of the slave closed it) and the
 *   input; Resize frames set its window size.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/exec.h"
#include "base/util.h"

/* The main process's exit is seen, not reaped: its pid stays the group's
 * until exec_end has signalled what is left. */
static void exec_on_child(struct exec_run *run)
{
	siginfo_t info = {0};

	if (run->exited)
		return;
	if (waitid(P_PID, (id_t)run->proc.pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == run->proc.pid)
		run->exited = true;
}

static void exec_on_signals(struct exec_run *run)
{
	struct signalfd_siginfo info;

	while (read(run->signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
		if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
			run->terminating = true;
			exec_end(run);
		}
	}
	exec_on_child(run);
}

/* A call's usage in a driver: the CPU the driver (and the children it
 * reaped) used since the call's start, and the driver's peak size so far. */
static void exec_driver_usage(struct exec_run *run)
{
	uint64_t cpu[2], rss;

	if (exec_proc_usage(run->proc.pid, cpu, &rss) < 0)
		return;
	cpu[0] = cpu[0] > run->cpu_base_us[0] ? cpu[0] - run->cpu_base_us[0] : 0;
	cpu[1] = cpu[1] > run->cpu_base_us[1] ? cpu[1] - run->cpu_base_us[1] : 0;
	run->usage.ru_utime = (struct timeval){(time_t)(cpu[0] / 1000000u), (suseconds_t)(cpu[0] % 1000000u)};
	run->usage.ru_stime = (struct timeval){(time_t)(cpu[1] / 1000000u), (suseconds_t)(cpu[1] % 1000000u)};
	run->usage.ru_maxrss = (long)rss;
}

/* A session driver's status byte: the call's exit status, the driver lives
 * on. EOF without it: the driver is gone, or it is no longer the driver
 * (the code exec'd another program, which closed the close-on-exec pipe);
 * the pipe is no longer watched and the call ends as an ordinary
 * program's run does (the pid's exit and the FIFOs' EOF), with
 * state_reset. */
static void exec_on_report(struct exec_run *run)
{
	uint8_t code;
	ssize_t n = read(run->report_fd, &code, 1);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == 1 && !run->exited) {
		run->reported = true;
		run->exited = true;
		run->reaped = true; /* not reaped: alive, and no wait may block on it */
		run->status = (int)code << 8;
		run->holder_check_ms = isol8_now_ms() + EXEC_HOLDER_CHECK_MS;
		run->holder_check_gap_ms = EXEC_HOLDER_CHECK_MS;
		exec_driver_usage(run);
		return;
	}
	run->report_fd = -1;
	run->state_reset = true;
	exec_on_child(run); /* its SIGCHLD may have been read before the run */
}

static int exec_poll_timeout(const struct exec_run *run)
{
	int64_t now = isol8_now_ms();
	int64_t until = -1;

	if (run->ended && exec_bytes_pending(&run->outq) >= EXEC_OUTQ_HIGH)
		return -1; /* drained only once the host takes more (POLLOUT wakes us) */
	if (run->ended && run->proc.stdout_fd < 0 && run->proc.stderr_fd < 0)
		return -1; /* nothing left to drain: the signalfd and the host wake us */
	if (run->ended)
		until = run->drain_until_ms;
	else if (run->deadline_ms >= 0)
		until = run->deadline_ms;
	if (!run->ended && run->reported && run->holder_check_ms >= 0 && (until < 0 || run->holder_check_ms < until))
		until = run->holder_check_ms;
	if (until < 0)
		return -1;
	return until <= now ? 0 : (int)(until - now > 60000 ? 60000 : until - now);
}

static void exec_close_idle_stdin(struct exec_run *run)
{
	if (exec_bytes_pending(&run->stdin_q) == 0 && !run->stdin_open)
		exec_close(&run->proc.stdin_fd);
}

/* A call in a driver that reported, whose FIFOs are not at EOF yet: if no
 * process but the driver holds them (the code kept an fd on them in the
 * driver), the call is over: what they hold is drained and they are
 * closed. Checked with a growing gap while other holders are left. */
static int exec_check_holders(struct exec_run *run, int64_t now)
{
	if (run->holder_check_ms < 0 || now < run->holder_check_ms || run->ended)
		return 0;
	if (run->proc.stdout_fd < 0 && run->proc.stderr_fd < 0) {
		run->holder_check_ms = -1;
		return 0;
	}
	if (exec_pipe_held_by_others(run->uid, run->pipe_id, run->proc.pid) == 0) {
		int ret = exec_drain_close(run, &run->proc.stdout_fd, ISOL8__AGENT__V1__OUTPUT__STREAM__STDOUT);
		if (ret == 0)
			ret = exec_drain_close(run, &run->proc.stderr_fd, ISOL8__AGENT__V1__OUTPUT__STREAM__STDERR);
		run->holder_check_ms = -1;
		return ret;
	}
	run->holder_check_gap_ms = run->holder_check_gap_ms * 2 > 1000 ? 1000 : run->holder_check_gap_ms * 2;
	run->holder_check_ms = now + run->holder_check_gap_ms;
	return 0;
}

static int exec_check_time(struct exec_run *run)
{
	int64_t now = isol8_now_ms();
	int ret = 0;

	if (run->in_driver && run->reported)
		ret = exec_check_holders(run, now);
	if (ret < 0)
		return ret;

	if (!run->ended && run->deadline_ms >= 0 && now >= run->deadline_ms) {
		run->timed_out = true;
		exec_end(run);
	}
	exec_close_idle_stdin(run);
	/* Past the drain time, and only once the host has room again. */
	if (run->ended && now >= run->drain_until_ms && exec_bytes_pending(&run->outq) < EXEC_OUTQ_HIGH) {
		ret = exec_drain_close(run, &run->proc.stdout_fd, ISOL8__AGENT__V1__OUTPUT__STREAM__STDOUT);
		if (ret == 0)
			ret = exec_drain_close(run, &run->proc.stderr_fd, ISOL8__AGENT__V1__OUTPUT__STREAM__STDERR);
	}
	return ret;
}

/* Over once the main process is reaped and both pipes are at EOF (or, after
 * the end kill, drained); what is left of the program is then killed. On a
 * terminal, as `docker exec -t`, the main process's exit is the end: what
 * is left is killed then and the master drained. */
static bool exec_done(struct exec_run *run)
{
	if (run->proc.pty && run->exited && !run->ended)
		exec_end(run);
	if (!run->exited || run->proc.stdout_fd >= 0 || run->proc.stderr_fd >= 0)
		return false;
	exec_end(run);
	run->end_us = isol8_now_us();
	return true;
}

enum { PFD_SIGNAL, PFD_HOST, PFD_STDIN, PFD_STDOUT, PFD_STDERR, PFD_REPORT, PFD_COUNT };

static void exec_fill_pollfds(const struct exec_run *run, struct pollfd *pfd)
{
	bool out_room = exec_bytes_pending(&run->outq) < EXEC_OUTQ_HIGH;
	bool read_host = !run->host_gone && exec_bytes_pending(&run->stdin_q) < EXEC_STDIN_HIGH;

	pfd[PFD_SIGNAL] = (struct pollfd){.fd = run->signal_fd, .events = POLLIN};
	pfd[PFD_HOST] = (struct pollfd){.fd = run->host_gone ? -1 : run->conn,
					.events = (short)((read_host ? POLLIN : POLLRDHUP) |
							  (exec_bytes_pending(&run->outq) ? POLLOUT : 0))};
	pfd[PFD_STDIN] = (struct pollfd){.fd = exec_bytes_pending(&run->stdin_q) ? run->proc.stdin_fd : -1,
					 .events = POLLOUT};
	pfd[PFD_STDOUT] = (struct pollfd){.fd = out_room ? run->proc.stdout_fd : -1, .events = POLLIN};
	pfd[PFD_STDERR] = (struct pollfd){.fd = out_room ? run->proc.stderr_fd : -1, .events = POLLIN};
	pfd[PFD_REPORT] = (struct pollfd){.fd = run->in_driver && !run->exited ? run->report_fd : -1,
					  .events = POLLIN};
}

/* Runs the loop until the program is gone and its output drained.
 * Negative on a protocol or memory error (the group is killed). */
static int exec_loop(struct exec_run *run)
{
	struct pollfd pfd[PFD_COUNT];
	int ret = 0;

	while (!exec_done(run)) {
		exec_fill_pollfds(run, pfd);
		if (poll(pfd, PFD_COUNT, exec_poll_timeout(run)) < 0 && errno != EINTR)
			return exec_fail(run, errno, "exec: poll: %s", strerror(errno));
		if (pfd[PFD_SIGNAL].revents)
			exec_on_signals(run);
		if (pfd[PFD_REPORT].revents)
			exec_on_report(run);
		if (pfd[PFD_HOST].revents & POLLOUT)
			exec_flush(run);
		if (pfd[PFD_HOST].revents & (POLLIN | POLLHUP | POLLERR))
			ret = exec_on_host(run);
		else if (pfd[PFD_HOST].revents & POLLRDHUP) {
			run->host_gone = true;
			exec_end(run);
		}
		if (pfd[PFD_STDIN].revents)
			exec_on_stdin_writable(run);
		if (ret == 0 && pfd[PFD_STDOUT].revents)
			ret = exec_on_output(run, &run->proc.stdout_fd, ISOL8__AGENT__V1__OUTPUT__STREAM__STDOUT);
		if (ret == 0 && pfd[PFD_STDERR].revents)
			ret = exec_on_output(run, &run->proc.stderr_fd, ISOL8__AGENT__V1__OUTPUT__STREAM__STDERR);
		if (ret == 0)
			ret = exec_check_time(run);
		if (ret < 0)
			return ret;
		exec_flush(run);
	}
	return 0;
}

int exec_signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

void exec_run_release(struct exec_run *run)
{
	exec_close(&run->proc.control_fd);
	exec_close(&run->proc.ready_fd);
	exec_close(&run->proc.stdin_fd);
	exec_close(&run->proc.stdout_fd);
	exec_close(&run->proc.stderr_fd);
	exec_close(&run->signal_fd);
	isol8_frame_reader_release(&run->reader);
	free(run->outq.data);
	free(run->stdin_q.data);
}

/* Kills what is left and reaps the main process after an error. */
static void exec_abort(struct exec_run *run)
{
	exec_end(run);
	run->end_us = isol8_now_us();
}

/* What a pipe end refers to, to find the pipe's holders; ino 0 if unknown.
 * A terminal's master: its slave's device number. */
static struct exec_pipe_id exec_pipe_id(int fd, bool pty)
{
	char slave[64];
	struct stat st;

	if (pty) {
		if (fd < 0 || ptsname_r(fd, slave, sizeof(slave)) != 0 || stat(slave, &st) < 0)
			return (struct exec_pipe_id){0, 0, 0};
		return (struct exec_pipe_id){0, 0, st.st_rdev};
	}
	if (fd < 0 || fstat(fd, &st) < 0)
		return (struct exec_pipe_id){0, 0, 0};
	return (struct exec_pipe_id){st.st_dev, st.st_ino, 0};
}

/* The last frame: Error after a failure or when the agent stops, else Exit. */
static void exec_finish(struct exec_run *run)
{
	if (run->host_gone)
		return;
	if (run->fail_code == 0 && run->terminating)
		exec_fail(run, ECANCELED, "exec: the agent is stopping");
	if (run->fail_code != 0)
		exec_queue_error(run, run->fail_code, run->fail_message);
	else if (exec_queue_exit(run) < 0)
		return;
	exec_flush_all(run);
}

int exec_serve_started(struct exec_run *run, const Isol8__Agent__V1__Exec *req)
{
	if (req->timeout_ms > 0)
		run->deadline_ms = isol8_now_ms() + req->timeout_ms;
	run->cap = req->max_output_bytes;
	run->stdin_open = req->stdin_open;
	run->keep_detached = req->keep_detached;
	if (req->uid != 0)
		run->uid = req->uid; /* else the caller's default, the agent's --uid */
	run->pipe_id[0] = exec_pipe_id(run->proc.stdout_fd, run->proc.pty);
	run->pipe_id[1] = exec_pipe_id(run->proc.stderr_fd, false);
	run->drain_until_ms = -1;
	run->oom_before = exec_oom_kills();
	if (run->in_driver) {
		uint64_t rss;
		exec_proc_usage(run->proc.pid, run->cpu_base_us, &rss);
	}
	fcntl(run->conn, F_SETFL, O_NONBLOCK);
	if (exec_stdin_append(run, req->stdin.data, req->stdin.len, !run->stdin_open) < 0) {
		exec_fail(run, ENOMEM, "exec: out of memory queueing stdin");
	} else {
		exec_close_idle_stdin(run);
		/* a session's hand-over reads the signalfd too: a program that
		 * already ended is not announced by a SIGCHLD to come */
		exec_on_child(run);
		exec_loop(run);
	}
	if (!run->reaped)
		exec_abort(run);
	exec_finish(run);
	exec_run_release(run);
	return run->fail_code != 0 ? 1 : 0;
}

int agent_run_program(const struct agent_config *cfg, int conn, int signal_fd, const Isol8__Agent__V1__Exec *req)
{
	struct exec_run run = {
		.conn = conn,
		.signal_fd = signal_fd,
		.proc = {.pid = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .control_fd = -1, .ready_fd = -1},
		.deadline_ms = -1,
		.holder_check_ms = -1,
		.uid = cfg->uid,
	};
	char msg[ISOL8_ERROR_MESSAGE_MAX];
	int ret;

	run.start_us = isol8_now_us();
	ret = agent_spawn(cfg, req, &run.proc, msg, sizeof(msg));
	if (ret < 0) {
		agent_send_error(conn, -ret, "%s", msg);
		exec_run_release(&run);
		return 1;
	}
	return exec_serve_started(&run, req);
}

int agent_serve_exec(const struct agent_config *cfg, int conn, const isol8_frame *first)
{
	const Isol8__Agent__V1__Exec *req = first->exec;
	int signal_fd;

	if (req->prestart)
		return agent_serve_prestart(cfg, conn, first);
	if (req->driver)
		return agent_serve_session(cfg, conn, first);
	signal_fd = exec_signals_open();
	if (signal_fd < 0) {
		agent_send_error(conn, errno, "exec: signalfd: %s", strerror(errno));
		return 1;
	}
	return agent_run_program(cfg, conn, signal_fd, req);
}
