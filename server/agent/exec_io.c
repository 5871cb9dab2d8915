/* The bytes of an exec: see exec.h and, for the rules, exec.c. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent/exec.h"
#include "base/util.h"

int exec_bytes_append(struct exec_bytes *q, const uint8_t *data, size_t len)
{
	size_t need;
	uint8_t *grown;

	if (q->off > 0) {
		memmove(q->data, q->data + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
	}
	if (!isol8_size_add(q->len, len, &need))
		return -ENOMEM;
	grown = realloc(q->data, need ? need : 1);
	if (grown == NULL)
		return -ENOMEM;
	q->data = grown;
	memcpy(q->data + q->len, data, len);
	q->len = need;
	return 0;
}

size_t exec_bytes_pending(const struct exec_bytes *q)
{
	return q->len - q->off;
}

static int exec_queue_frame(struct exec_run *run, const isol8_frame *frame)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;

	if (isol8_frame_encode(frame, &buf, &len, NULL) < 0)
		return -ENOMEM;
	return exec_bytes_append(&run->outq, buf, len);
}

void exec_end(struct exec_run *run)
{
	if (run->ended || run->proc.pid <= 0)
		return;
	run->ended = true;
	run->drain_until_ms = isol8_now_ms() + EXEC_DRAIN_MS;
	if (run->keep_detached) {
		/* not the group: a background job without job control is in it,
		 * and one that let go of the pipes lives on */
		if (!run->exited)
			kill(run->proc.pid, SIGKILL);
		/* a session's driver that reported lives on, even if it holds them */
		if ((run->proc.stdout_fd >= 0 || run->proc.stderr_fd >= 0) &&
		    exec_kill_pipe_holders(run->uid, run->pipe_id, run->reported ? run->proc.pid : 0) < 0 &&
		    run->fail_code == 0) {
			run->fail_code = ETIMEDOUT;
			snprintf(run->fail_message, sizeof(run->fail_message),
				 "exec: the kill of the processes holding the output did not finish in %d ms",
				 EXEC_HELPER_MS);
		}
	} else {
		kill(-run->proc.pid, SIGKILL);
		if (run->uid != 0 && agent_uid_has_processes(run->uid))
			agent_kill_uid(run->uid);
	}
	if (!run->reaped && wait4(run->proc.pid, &run->status, 0, &run->usage) == run->proc.pid) {
		run->reaped = true;
		run->exited = true;
	}
}

void exec_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Sends queued frames without blocking; marks the host gone on error. */
void exec_flush(struct exec_run *run)
{
	while (!run->host_gone && exec_bytes_pending(&run->outq) > 0) {
		ssize_t n = send(run->conn, run->outq.data + run->outq.off, exec_bytes_pending(&run->outq),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			run->host_gone = true;
			exec_end(run);
			return;
		}
		run->outq.off += (size_t)n;
	}
}
int exec_stdin_append(struct exec_run *run, const uint8_t *data, size_t len, bool eof)
{
	uint8_t end[2];

	if (run->proc.stdin_fd < 0)
		return 0;
	if (exec_bytes_append(&run->stdin_q, data, len) < 0)
		return -ENOMEM;
	if (!run->proc.pty)
		return 0;
	if (len > 0)
		run->line_started = data[len - 1] != '\n' && data[len - 1] != '\r';
	if (!eof)
		return 0;
	/* a terminal is not closed at the end of input: its EOF is typed */
	len = agent_pty_eof(run->proc.stdin_fd, run->line_started, end);
	run->line_started = false;
	return exec_bytes_append(&run->stdin_q, end, len);
}

/* A signal for the program: on a terminal, for its foreground group (a
 * shell's running job), else for the program's group. */
static void exec_signal(struct exec_run *run, int sig)
{
	pid_t group = run->proc.pid;

	if (run->exited)
		return;
	if (run->proc.pty && run->proc.stdout_fd >= 0) {
		pid_t foreground = tcgetpgrp(run->proc.stdout_fd);
		if (foreground > 0)
			group = foreground;
	}
	kill(-group, sig);
}

/* One frame from the host during the run. Negative: protocol error. */
static int exec_on_frame(struct exec_run *run, const isol8_frame *frame)
{
	if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_STDIN) {
		const Isol8__Agent__V1__Stdin *in = frame->stdin;
		if (!run->stdin_open)
			return 0;
		run->stdin_open = !in->eof;
		return exec_stdin_append(run, in->data.data, in->data.len, in->eof);
	}
	if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_SIGNAL) {
		int sig = frame->signal->signal;
		if (sig <= 0 || sig >= NSIG)
			return -EINVAL;
		exec_signal(run, sig);
		return 0;
	}
	if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_RESIZE) {
		/* the kernel sends SIGWINCH to the terminal's foreground group */
		if (run->proc.pty && run->proc.stdout_fd >= 0)
			agent_pty_resize(run->proc.stdout_fd, frame->resize->rows, frame->resize->cols);
		return 0;
	}
	return -EPROTO;
}

/* Ends the run with an Error frame (the first failure wins); returns -code. */
int exec_fail(struct exec_run *run, int code, const char *fmt, ...)
{
	va_list ap;

	if (run->fail_code == 0) {
		run->fail_code = code;
		va_start(ap, fmt);
		vsnprintf(run->fail_message, sizeof(run->fail_message), fmt, ap);
		va_end(ap);
	}
	exec_end(run);
	return -code;
}

int exec_on_host(struct exec_run *run)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame *frame = NULL;
	int ret = isol8_frame_reader_fill(&run->reader, run->conn, &err);

	if (ret == 0) {
		run->host_gone = true;
		exec_end(run);
		return 0;
	}
	while (ret > 0 && (ret = isol8_frame_reader_next(&run->reader, &frame, &err)) > 0) {
		ret = exec_on_frame(run, frame);
		isol8_frame_free(frame);
		if (ret < 0)
			return exec_fail(run, -ret, "exec: unexpected or invalid frame from the host (%s)",
					 strerror(-ret));
		ret = 1;
	}
	if (ret < 0)
		return exec_fail(run, EPROTO, "exec: %s", err.message);
	return 0;
}

void exec_on_stdin_writable(struct exec_run *run)
{
	while (exec_bytes_pending(&run->stdin_q) > 0) {
		size_t want = exec_bytes_pending(&run->stdin_q);
		ssize_t n = write(run->proc.stdin_fd, run->stdin_q.data + run->stdin_q.off,
				  want > EXEC_READ_CHUNK ? EXEC_READ_CHUNK : want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) { /* the program closed its stdin: the rest is dropped */
			run->stdin_q.off = run->stdin_q.len;
			exec_close(&run->proc.stdin_fd);
			return;
		}
		run->stdin_q.off += (size_t)n;
	}
}

static int exec_forward_output(struct exec_run *run, int stream, const uint8_t *data, size_t len)
{
	Isol8__Agent__V1__Frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Output output = ISOL8__AGENT__V1__OUTPUT__INIT;

	run->total_out += len;
	if (run->cap > 0 && len > run->cap - run->sent) {
		len = (size_t)(run->cap - run->sent);
		run->truncated = true;
	}
	run->sent += len;
	if (len == 0)
		return 0;
	output.stream = stream;
	output.data.data = (uint8_t *)data;
	output.data.len = len;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_OUTPUT;
	frame.output = &output;
	return exec_queue_frame(run, &frame);
}

int exec_on_output(struct exec_run *run, int *fd, int stream)
{
	uint8_t buf[EXEC_READ_CHUNK];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		exec_close(fd);
		return 0;
	}
	if (run->host_gone)
		return 0;
	/* past the cap the bytes are read and dropped: the program runs on */
	if (exec_forward_output(run, stream, buf, (size_t)n) < 0)
		return exec_fail(run, ENOMEM, "exec: out of memory queueing output");
	return 0;
}

/* After the drain time: takes what is already buffered in a pipe (bounded,
 * since a process that left the group may still be writing), then closes it. */
int exec_drain_close(struct exec_run *run, int *fd, int stream)
{
	size_t taken = 0;
	int ret = 0;

	while (ret == 0 && *fd >= 0 && taken < EXEC_DRAIN_MAX && !run->truncated) {
		size_t before = run->sent;
		ret = exec_on_output(run, fd, stream);
		if (run->sent == before && *fd >= 0)
			break; /* nothing buffered */
		taken += run->sent - before;
	}
	exec_close(fd);
	return ret;
}
static uint64_t exec_timeval_us(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

int exec_queue_error(struct exec_run *run, int code, const char *message)
{
	Isol8__Agent__V1__Frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Error error = ISOL8__AGENT__V1__ERROR__INIT;

	error.code = code;
	error.message = (char *)message;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_ERROR;
	frame.error = &error;
	return exec_queue_frame(run, &frame);
}

int exec_queue_exit(struct exec_run *run)
{
	Isol8__Agent__V1__Frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Exit exit_msg = ISOL8__AGENT__V1__EXIT__INIT;

	if (WIFSIGNALED(run->status)) {
		exit_msg.signal = WTERMSIG(run->status);
		exit_msg.exit_code = 128 + exit_msg.signal;
	} else {
		exit_msg.exit_code = WEXITSTATUS(run->status);
	}
	exit_msg.timed_out = run->timed_out;
	exit_msg.truncated = run->truncated;
	exit_msg.duration_us = (uint64_t)(run->end_us - run->start_us);
	exit_msg.cpu_user_us = exec_timeval_us(run->usage.ru_utime);
	exit_msg.cpu_system_us = exec_timeval_us(run->usage.ru_stime);
	exit_msg.max_rss_kb = (uint64_t)run->usage.ru_maxrss;
	exit_msg.output_bytes = run->total_out;
	/* a call in a driver that ended it: the session's state is gone */
	exit_msg.state_reset = run->state_reset || (run->in_driver && !run->reported);
	/* the program itself was killed, and the OOM killer killed in the run */
	if (run->oom_before >= 0 && WIFSIGNALED(run->status) && WTERMSIG(run->status) == SIGKILL)
		exit_msg.oom_killed = exec_oom_kills() > run->oom_before;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_EXIT;
	frame.exit = &exit_msg;
	return exec_queue_frame(run, &frame);
}

/* Sends what is queued, waiting for the host up to EXEC_EXIT_FLUSH_MS. */
void exec_flush_all(struct exec_run *run)
{
	int64_t deadline = isol8_now_ms() + EXEC_EXIT_FLUSH_MS;

	for (;;) {
		struct pollfd pfd = {.fd = run->conn, .events = POLLOUT};
		int64_t left = deadline - isol8_now_ms();

		exec_flush(run);
		if (run->host_gone || exec_bytes_pending(&run->outq) == 0 || left <= 0)
			return;
		poll(&pfd, 1, (int)left);
	}
}
