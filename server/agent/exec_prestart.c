/*
 * prestart: a launcher (an interpreter that waits for its program on the
 * control pipe, fd 4) is started now, and the connection waits for the Exec
 * to run in it, so a warm execution pays no interpreter start. See
 * "prestart" in agent.proto. The launcher is started exactly as a program
 * is (agent_spawn: its own session, uid, limits), on idle CPU time; the Ack
 * goes back at once. When the Exec comes the launcher gets normal
 * scheduling, the agent waits for its ready byte (fd 5: at most what a
 * fresh start would take, since it has started already), writes the Exec's
 * files as its uid, sends the control message, and the rest is the
 * ordinary exec conversation. A launcher that is gone before its program
 * came (killed, out of memory) is replaced by an ordinary start of the
 * program, so the run is the same either way. Closing the connection, or anything but an
 * Exec, kills the launcher.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/exec.h"
#include "base/util.h"

/* argv, env (each ended by an empty string) and cwd, NUL-terminated. */
int agent_control_write(int fd, const Isol8__Agent__V1__Exec *req, const char *cwd)
{
	static const char nul = '\0';

	for (size_t i = 0; i < req->n_argv; i++)
		if (isol8_write_full(fd, req->argv[i], strlen(req->argv[i]) + 1) < 0)
			return -errno;
	if (isol8_write_full(fd, &nul, 1) < 0)
		return -errno;
	for (size_t i = 0; i < req->n_env; i++)
		if (isol8_write_full(fd, req->env[i], strlen(req->env[i]) + 1) < 0)
			return -errno;
	if (isol8_write_full(fd, &nul, 1) < 0 || isol8_write_full(fd, cwd, strlen(cwd) + 1) < 0)
		return -errno;
	return 0;
}

int agent_ready_await(int fd, int want, const char *late, const char *ended, char *msg, size_t msg_len)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	unsigned char byte = 0;
	int n;

	do
		n = poll(&pfd, 1, AGENT_LAUNCHER_READY_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		snprintf(msg, msg_len, "%s within %d ms", late, AGENT_LAUNCHER_READY_MS);
		return -ETIMEDOUT;
	}
	if (n < 0 || read(fd, &byte, 1) != 1 || (want >= 0 && byte != want)) {
		snprintf(msg, msg_len, "%s", ended);
		return -ECHILD;
	}
	return 0;
}

bool agent_stop_requested(int signal_fd)
{
	struct signalfd_siginfo info;
	bool stop = false;

	while (read(signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info))
		stop = stop || info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT;
	return stop;
}

int agent_wait_for_exec(int conn, int signal_fd, isol8_frame **next, struct isol8_error *err)
{
	for (;;) {
		isol8_frame pong_frame = ISOL8__AGENT__V1__FRAME__INIT;
		Isol8__Agent__V1__Pong pong = ISOL8__AGENT__V1__PONG__INIT;
		struct pollfd pfd[2] = {{.fd = conn, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (pfd[1].revents && agent_stop_requested(signal_fd))
			return -1;
		if (!pfd[0].revents)
			continue;
		if (isol8_frame_read(conn, next, -1, err) <= 0)
			return -1;
		if ((*next)->body_case != ISOL8__AGENT__V1__FRAME__BODY_PING)
			return 0;
		isol8_frame_free(*next);
		*next = NULL;
		pong.version = ISOL8_AGENT_VERSION;
		pong.pid = (uint32_t)getpid();
		pong_frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_PONG;
		pong_frame.pong = &pong;
		if (isol8_frame_write(conn, &pong_frame, err) < 0)
			return -1;
	}
}

/* Normal scheduling for every thread of the launcher (it started under
 * SCHED_IDLE). Needs CAP_SYS_NICE; without it the program runs on idle
 * time, which is slower but the same. */
static void launcher_wake(pid_t pid)
{
	struct sched_param normal = {0};
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		int tid = atoi(de->d_name);
		if (tid > 0)
			sched_setscheduler(tid, SCHED_OTHER, &normal);
	}
	closedir(d);
}

static void launcher_kill(struct exec_run *run)
{
	kill(-run->proc.pid, SIGKILL);
	waitpid(run->proc.pid, NULL, 0);
	run->exited = true;
	run->reaped = true;
}

/* Kills the launcher and closes its pipes, leaving the run as before its
 * program was started. */
static void launcher_discard(struct exec_run *run)
{
	launcher_kill(run);
	exec_close(&run->proc.stdin_fd);
	exec_close(&run->proc.stdout_fd);
	exec_close(&run->proc.stderr_fd);
	exec_close(&run->proc.control_fd);
	exec_close(&run->proc.ready_fd);
	run->proc.pid = -1;
	run->exited = false;
	run->reaped = false;
}

/* Waits for the launcher's byte on its ready pipe: it has started and waits
 * for its program. 0, or -errno with msg. */
static int launcher_await_ready(struct exec_run *run, char *msg, size_t msg_len)
{
	int ret = agent_ready_await(run->proc.ready_fd, -1, "the launcher did not get ready",
				    "the launcher ended before it was ready", msg, msg_len);

	if (ret < 0)
		return ret;
	exec_close(&run->proc.ready_fd);
	return 0;
}

/* A prestart without a program: this handler is ready now, answers Pings,
 * and serves the Exec that comes as an ordinary one. */
static int serve_held(const struct agent_config *cfg, int conn)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame *next = NULL;
	int ret;

	if (agent_send_ack(conn) < 0 || agent_wait_for_exec(conn, -1, &next, &err) < 0) {
		isol8_frame_free(next);
		return 0;
	}
	if (next->body_case != ISOL8__AGENT__V1__FRAME__BODY_EXEC || next->exec->prestart) {
		agent_send_error(conn, EPROTO, "prestart: the second frame must be an Exec to run");
		isol8_frame_free(next);
		return 1;
	}
	ret = agent_serve_exec(cfg, conn, next);
	isol8_frame_free(next);
	return ret;
}

int agent_serve_prestart(const struct agent_config *cfg, int conn, const isol8_frame *first)
{
	struct exec_run run = {
		.conn = conn,
		.signal_fd = -1,
		.proc = {.pid = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .control_fd = -1, .ready_fd = -1},
		.deadline_ms = -1,
		.uid = cfg->uid,
	};
	struct isol8_error err = ISOL8_ERROR_INIT;
	char msg[ISOL8_ERROR_MESSAGE_MAX];
	isol8_frame *next = NULL;
	int ret;

	if (first->exec->n_argv == 0)
		return serve_held(cfg, conn);
	run.signal_fd = exec_signals_open();
	if (run.signal_fd < 0) {
		agent_send_error(conn, errno, "prestart: signalfd: %s", strerror(errno));
		return 1;
	}
	ret = agent_spawn(cfg, first->exec, &run.proc, msg, sizeof(msg));
	if (ret < 0) {
		agent_send_error(conn, -ret, "prestart: %s", msg);
		exec_run_release(&run);
		return 1;
	}
	ret = agent_send_ack(conn) < 0 ? -1 : agent_wait_for_exec(conn, -1, &next, &err);
	if (ret < 0 || next->body_case != ISOL8__AGENT__V1__FRAME__BODY_EXEC || next->exec->prestart) {
		if (next != NULL)
			agent_send_error(conn, EPROTO, "prestart: the second frame must be an Exec to run");
		launcher_kill(&run);
		isol8_frame_free(next);
		exec_run_release(&run);
		return next != NULL;
	}
	const Isol8__Agent__V1__Exec *req = next->exec;
	const char *cwd = req->cwd && req->cwd[0] ? req->cwd : cfg->sandbox_dir;
	run.start_us = isol8_now_us();
	/* normal scheduling now, so a launcher still starting finishes at once */
	launcher_wake(run.proc.pid);
	ret = agent_write_files(cfg, req, msg, sizeof(msg));
	if (ret < 0) {
		agent_send_error(conn, -ret, "%s", msg);
		launcher_kill(&run);
		isol8_frame_free(next);
		exec_run_release(&run);
		return 1;
	}
	if (launcher_await_ready(&run, msg, sizeof(msg)) < 0 || agent_control_write(run.proc.control_fd, req, cwd) < 0) {
		/* the launcher is gone and the program never started: start it the
		 * ordinary way instead, so the run is the same */
		launcher_discard(&run);
		ret = agent_spawn(cfg, req, &run.proc, msg, sizeof(msg));
		if (ret < 0) {
			agent_send_error(conn, -ret, "%s", msg);
			exec_run_release(&run);
			isol8_frame_free(next);
			return 1;
		}
	}
	exec_close(&run.proc.control_fd);
	ret = exec_serve_started(&run, req);
	isol8_frame_free(next);
	return ret;
}
