#define _GNU_SOURCE
/* Host side of the agent protocol: see agent_client.h. */
#include "sandbox/agent_client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame/frame_reader.h"
#include "sandbox/agent_client_internal.h"
#include "base/util.h"

#define CLIENT_POLL_MS 100
/* How often a running exec asks whether its caller went away: a cancelled
 * call's program is killed within about this. */
#define CLIENT_CANCEL_POLL_MS 20
#define CLIENT_RETRY_MS 10
#define CLIENT_ABORT_WAIT_MS 2000

void agent_client_frame_freep(isol8_frame **frame)
{
	isol8_frame_free(*frame);
}

/* errno-style codes in Error frames, as isol8 error codes. */
static const struct {
	int errnum;
	int code;
} client_errno_codes[] = {
	{ENOENT, ISOL8_E_NOT_FOUND},   {ENOTDIR, ISOL8_E_NOT_FOUND},  {EINVAL, ISOL8_E_INVALID},
	{EISDIR, ISOL8_E_INVALID},     {ENAMETOOLONG, ISOL8_E_INVALID}, {E2BIG, ISOL8_E_EXHAUSTED},
	{ENOSPC, ISOL8_E_EXHAUSTED},   {EDQUOT, ISOL8_E_EXHAUSTED},   {EFBIG, ISOL8_E_EXHAUSTED},
	{ENOMEM, ISOL8_E_NOMEM},       {EBUSY, ISOL8_E_UNAVAILABLE},  {ECANCELED, ISOL8_E_UNAVAILABLE},
	{EPROTO, ISOL8_E_PROTOCOL},    {EACCES, ISOL8_E_PRECONDITION}, {EPERM, ISOL8_E_PRECONDITION},
	{ELOOP, ISOL8_E_INVALID},      {ETIMEDOUT, ISOL8_E_DEADLINE},
};

int agent_client_error(const Isol8__Agent__V1__Error *error, struct isol8_error *err)
{
	int code = ISOL8_E_IO;

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(client_errno_codes); i++) {
		if (client_errno_codes[i].errnum == error->code)
			code = client_errno_codes[i].code;
	}
	return isol8_error_set(err, code, "agent: %s", error->message ? error->message : "error");
}

/* A frame that is neither the expected one nor an Error. */
int agent_client_unexpected(const isol8_frame *frame, const char *wanted, struct isol8_error *err)
{
	if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_ERROR)
		return agent_client_error(frame->error, err);
	return isol8_error_set(err, ISOL8_E_PROTOCOL, "agent sent frame %d where %s was expected",
			       (int)frame->body_case, wanted);
}

int isol8_agent_connect(const char *socket_path, int *fd, struct isol8_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(socket_path);
	int s;

	if (len >= sizeof(addr.sun_path))
		return isol8_error_set(err, ISOL8_E_INVALID, "agent socket path \"%s\" is too long", socket_path);
	memcpy(addr.sun_path, socket_path, len + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "socket");
	while (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int saved = errno;
		if (saved == EINTR)
			continue;
		close(s);
		return isol8_error_errno(err, ISOL8_E_UNAVAILABLE, saved, "connect to agent \"%s\"", socket_path);
	}
	/* the agent runs as root: anything else listening there (code of the
	 * sandbox user that replaced the socket) gets nothing */
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 || cred.uid != 0) {
		close(s);
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE,
				       "agent socket \"%s\" is not served by root (uid %d): refusing it", socket_path,
				       cred_len == sizeof(cred) ? (int)cred.uid : -1);
	}
	*fd = s;
	return 0;
}

/* Connects, sends one frame and, with reply, reads the first answer. */
int agent_client_request(const char *socket_path, const isol8_frame *frame, int *fd, isol8_frame **reply,
			  int timeout_ms, struct isol8_error *err)
{
	_cleanup_close_ int s = -1;
	int ret = isol8_agent_connect(socket_path, &s, err);

	if (ret == 0)
		ret = isol8_frame_write(s, frame, err);
	if (ret == 0 && reply != NULL) {
		ret = isol8_frame_read(s, reply, timeout_ms, err);
		if (ret == 0)
			ret = isol8_error_set(err, ISOL8_E_UNAVAILABLE, "agent closed the connection without an answer");
		ret = ret > 0 ? 0 : ret;
	}
	if (ret == 0 && fd != NULL) {
		*fd = s;
		s = -1;
	}
	return ret;
}

int isol8_agent_ping_on(int fd, int timeout_ms, struct isol8_error *err)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Ping ping = ISOL8__AGENT__V1__PING__INIT;
	_cleanup_frame_ isol8_frame *reply = NULL;
	int ret;

	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_PING;
	frame.ping = &ping;
	ret = isol8_frame_write(fd, &frame, err);
	if (ret == 0)
		ret = isol8_frame_read(fd, &reply, timeout_ms, err);
	if (ret == 0)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "agent closed the connection without an answer");
	if (ret > 0 && reply->body_case != ISOL8__AGENT__V1__FRAME__BODY_PONG)
		return agent_client_unexpected(reply, "Pong", err);
	return ret < 0 ? ret : 0;
}

int isol8_agent_ping(const char *socket_path, int timeout_ms, struct isol8_error *err)
{
	_cleanup_close_ int fd = -1;
	int ret = isol8_agent_connect(socket_path, &fd, err);

	return ret < 0 ? ret : isol8_agent_ping_on(fd, timeout_ms, err);
}

int isol8_agent_wait_ready(const char *socket_path, int timeout_ms, struct isol8_error *err)
{
	int64_t deadline = isol8_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct isol8_error last = ISOL8_ERROR_INIT;

	for (;;) {
		int64_t left = deadline - isol8_now_ms();

		isol8_error_clear(&last);
		if (isol8_agent_ping(socket_path, left > 1000 ? 1000 : (left > 0 ? (int)left : 1), &last) == 0)
			return 0;
		if (isol8_now_ms() >= deadline)
			break;
		usleep(CLIENT_RETRY_MS * 1000);
	}
	return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "agent at \"%s\" did not answer within %d ms (%s)",
			       socket_path, timeout_ms, last.message);
}

int isol8_agent_reset(const char *socket_path, uint32_t uid, const char *const *wipe_dirs, int timeout_ms,
		      struct isol8_error *err)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Reset reset = ISOL8__AGENT__V1__RESET__INIT;
	_cleanup_frame_ isol8_frame *reply = NULL;
	int ret;

	reset.uid = uid;
	while (wipe_dirs != NULL && wipe_dirs[reset.n_wipe] != NULL)
		reset.n_wipe++;
	reset.wipe = (char **)wipe_dirs;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_RESET;
	frame.reset = &reset;
	ret = agent_client_request(socket_path, &frame, NULL, &reply, timeout_ms, err);
	if (ret == 0 && reply->body_case != ISOL8__AGENT__V1__FRAME__BODY_ACK)
		ret = agent_client_unexpected(reply, "Ack", err);
	return ret < 0 ? isol8_error_prefix(err, "reset sandbox") : 0;
}

/* --- exec --- */

struct client_exec {
	int fd;
	const struct isol8_agent_exec_io *io;
	struct isol8_agent_exit *out;
	struct isol8_frame_reader reader;
	bool done;
	int consumer_ret; /* nonzero: on_output asked to stop */
	uint8_t *input;   /* an encoded input frame, sent from input_off on */
	size_t input_len, input_off;
	bool input_ended; /* next_input failed: no more is asked for */
	int input_ret;    /* its negative isol8_errc */
};

static void client_exit_copy(const Isol8__Agent__V1__Exit *in, struct isol8_agent_exit *out)
{
	*out = (struct isol8_agent_exit){
		.exit_code = in->exit_code,
		.signal = in->signal,
		.timed_out = in->timed_out,
		.truncated = in->truncated,
		.duration_us = in->duration_us,
		.cpu_user_us = in->cpu_user_us,
		.cpu_system_us = in->cpu_system_us,
		.max_rss_kb = in->max_rss_kb,
		.oom_killed = in->oom_killed,
		.output_bytes = in->output_bytes,
		.state_reset = in->state_reset,
	};
}

/* The error code for a consumer callback's nonzero return. */
int agent_client_consumer_code(int ret)
{
	return ret < 0 && -ret <= ISOL8_E_LAST ? -ret : ISOL8_E_CANCELLED;
}

/* One frame of the exec's answer; while aborting, output is dropped. */
static int client_exec_frame(struct client_exec *ex, const isol8_frame *frame, bool aborting,
			     struct isol8_error *err)
{
	const struct isol8_agent_exec_io *io = ex->io;

	if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_OUTPUT) {
		int stream = frame->output->stream;
		int ret;

		if (stream != 1 && stream != 2)
			return isol8_error_set(err, ISOL8_E_PROTOCOL, "agent sent output of stream %d", stream);
		if (aborting || io == NULL || io->on_output == NULL)
			return 0;
		ret = io->on_output(io->userdata, stream, frame->output->data.data, frame->output->data.len);
		if (ret != 0)
			ex->consumer_ret = ret;
		return 0;
	}
	if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_EXIT) {
		client_exit_copy(frame->exit, ex->out);
		ex->done = true;
		return 0;
	}
	return agent_client_unexpected(frame, "Output or Exit", err);
}

/* Sends what is left of the encoded input frame without blocking. */
static int client_input_send(struct client_exec *ex, struct isol8_error *err)
{
	while (ex->input_off < ex->input_len) {
		ssize_t n = send(ex->fd, ex->input + ex->input_off, ex->input_len - ex->input_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return isol8_error_errno(err, ISOL8_E_UNAVAILABLE, errno, "send input to the agent");
		ex->input_off += (size_t)n;
	}
	free(ex->input);
	ex->input = NULL;
	ex->input_len = ex->input_off = 0;
	return 0;
}

/* Takes input while the last frame is sent whole. */
static int client_input_take(struct client_exec *ex, struct isol8_error *err)
{
	const struct isol8_agent_exec_io *io = ex->io;

	while (!ex->input_ended && ex->input == NULL) {
		isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
		int ret = io->next_input(io->userdata, &frame);

		if (ret <= 0) {
			ex->input_ended = ret < 0;
			ex->input_ret = ret;
			return 0;
		}
		ret = isol8_frame_encode(&frame, &ex->input, &ex->input_len, err);
		if (ret == 0)
			ret = client_input_send(ex, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static bool client_has_input(const struct client_exec *ex)
{
	return ex->io != NULL && ex->io->next_input != NULL;
}

/* Waits up to timeout_ms for bytes (and, with input, for room to send it
 * and for more of it) and handles the frames they complete, stopping at the
 * exit or when the output consumer asked to stop. */
static int client_exec_step(struct client_exec *ex, int timeout_ms, bool aborting, struct isol8_error *err)
{
	bool input = !aborting && client_has_input(ex);
	struct pollfd pfd[2] = {
		{.fd = ex->fd, .events = (short)(POLLIN | (input && ex->input ? POLLOUT : 0))},
		{.fd = input && !ex->input && !ex->input_ended ? ex->io->input_fd : -1, .events = POLLIN},
	};
	int ret = poll(pfd, 2, timeout_ms);

	if (ret < 0)
		return errno == EINTR ? 0 : isol8_error_errno(err, ISOL8_E_IO, errno, "poll agent socket");
	if (ret > 0 && (pfd[0].revents & POLLOUT))
		ret = client_input_send(ex, err);
	if (ret >= 0 && pfd[1].revents)
		ret = client_input_take(ex, err);
	if (ret < 0)
		return ret;
	if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	ret = isol8_frame_reader_fill(&ex->reader, ex->fd, err);
	if (ret < 0)
		return ret;
	if (ret == 0)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "agent closed the connection before the exit");
	while (!ex->done && (aborting || ex->consumer_ret == 0)) {
		isol8_frame *frame = NULL;

		ret = isol8_frame_reader_next(&ex->reader, &frame, err);
		if (ret <= 0)
			return ret;
		ret = client_exec_frame(ex, frame, aborting, err);
		isol8_frame_free(frame);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int client_send_signal(int fd, int sig)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Signal signal_msg = ISOL8__AGENT__V1__SIGNAL__INIT;

	signal_msg.signal = sig;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_SIGNAL;
	frame.signal = &signal_msg;
	return isol8_frame_write(fd, &frame, NULL);
}

/* Kills the program and waits a little for its exit, so that when the call
 * returns the program is gone (closing the connection kills it anyway). */
static void client_exec_abort(struct client_exec *ex)
{
	int64_t deadline = isol8_now_ms() + CLIENT_ABORT_WAIT_MS;

	/* a frame half sent goes first; if the agent takes none of it, the
	 * connection's close ends the program */
	while (ex->input != NULL && isol8_now_ms() < deadline) {
		struct isol8_error ignored = ISOL8_ERROR_INIT;
		struct pollfd pfd = {.fd = ex->fd, .events = POLLOUT};

		if (poll(&pfd, 1, CLIENT_POLL_MS) < 0 && errno != EINTR)
			return;
		if (client_input_send(ex, &ignored) < 0)
			return;
	}
	if (ex->input != NULL || client_send_signal(ex->fd, SIGKILL) < 0)
		return;
	while (!ex->done && isol8_now_ms() < deadline) {
		struct isol8_error ignored = ISOL8_ERROR_INIT;
		if (client_exec_step(ex, CLIENT_POLL_MS, true, &ignored) < 0)
			return;
	}
}

static int client_exec_run(struct client_exec *ex, struct isol8_error *err)
{
	const struct isol8_agent_exec_io *io = ex->io;

	while (!ex->done) {
		int ret;

		if (io != NULL && io->cancelled != NULL && io->cancelled(io->userdata)) {
			client_exec_abort(ex);
			return isol8_error_set(err, ISOL8_E_CANCELLED, "exec cancelled");
		}
		ret = client_exec_step(ex, CLIENT_CANCEL_POLL_MS, false, err);
		if (ret < 0)
			return ret;
		if (ex->input_ended) {
			client_exec_abort(ex);
			return isol8_error_set(err, agent_client_consumer_code(ex->input_ret), "exec stopped by its input");
		}
		if (ex->consumer_ret != 0) {
			client_exec_abort(ex);
			return isol8_error_set(err, agent_client_consumer_code(ex->consumer_ret),
					       "exec aborted by its output consumer");
		}
	}
	return 0;
}

int isol8_agent_exec(const char *socket_path, const Isol8__Agent__V1__Exec *req,
		     const struct isol8_agent_exec_io *io, struct isol8_agent_exit *out, struct isol8_error *err)
{
	int fd = -1;
	int ret = isol8_agent_connect(socket_path, &fd, err);

	if (ret < 0)
		return isol8_error_prefix(err, "exec in sandbox");
	return isol8_agent_exec_on(fd, req, io, out, err);
}

/* One exec conversation on fd, which stays open. The agent sends nothing
 * after the Exit, so what the reader holds past it is none of a next call's. */
static int client_exec_conversation(int fd, const Isol8__Agent__V1__Exec *req, const struct isol8_agent_exec_io *io,
				    struct isol8_agent_exit *out, struct isol8_error *err)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	struct client_exec ex = {.fd = fd, .io = io, .out = out, .reader = ISOL8_FRAME_READER_INIT};
	int ret;

	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_EXEC;
	frame.exec = (Isol8__Agent__V1__Exec *)req;
	ret = isol8_frame_write(fd, &frame, err);
	if (ret == 0)
		ret = client_exec_run(&ex, err);
	isol8_frame_reader_release(&ex.reader);
	free(ex.input);
	return ret;
}

int isol8_agent_exec_on(int fd, const Isol8__Agent__V1__Exec *req, const struct isol8_agent_exec_io *io,
			struct isol8_agent_exit *out, struct isol8_error *err)
{
	int ret = client_exec_conversation(fd, req, io, out, err);

	close(fd);
	return ret < 0 ? isol8_error_prefix(err, "exec in sandbox") : 0;
}

int isol8_agent_session_exec(int fd, const Isol8__Agent__V1__Exec *req, const struct isol8_agent_exec_io *io,
			     struct isol8_agent_exit *out, struct isol8_error *err)
{
	int ret = client_exec_conversation(fd, req, io, out, err);

	return ret < 0 ? isol8_error_prefix(err, "session call in sandbox") : 0;
}

/* Sends launcher (an Exec with prestart or driver set) and waits for the
 * Ack; the connection is left open in *fd. */
static int client_start_held(const char *socket_path, const Isol8__Agent__V1__Exec *req, int timeout_ms, int *fd,
			     struct isol8_error *err)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	_cleanup_frame_ isol8_frame *reply = NULL;
	int s = -1, ret;

	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_EXEC;
	frame.exec = (Isol8__Agent__V1__Exec *)req;
	ret = agent_client_request(socket_path, &frame, &s, &reply, timeout_ms, err);
	if (ret == 0 && reply->body_case == ISOL8__AGENT__V1__FRAME__BODY_ERROR)
		ret = agent_client_error(reply->error, err);
	else if (ret == 0 && reply->body_case != ISOL8__AGENT__V1__FRAME__BODY_ACK)
		ret = agent_client_unexpected(reply, "Ack", err);
	if (ret < 0) {
		if (s >= 0)
			close(s);
		return ret;
	}
	*fd = s;
	return 0;
}

int isol8_agent_prestart(const char *socket_path, const Isol8__Agent__V1__Exec *launcher, int timeout_ms,
			 int *fd, struct isol8_error *err)
{
	Isol8__Agent__V1__Exec req = *launcher;

	req.prestart = true;
	req.driver = false;
	if (client_start_held(socket_path, &req, timeout_ms, fd, err) < 0)
		return isol8_error_prefix(err, "prestart in sandbox");
	return 0;
}

int isol8_agent_session_open(const char *socket_path, const Isol8__Agent__V1__Exec *driver, int timeout_ms,
			     int *fd, struct isol8_error *err)
{
	Isol8__Agent__V1__Exec req = *driver;

	req.driver = true;
	req.prestart = false;
	if (client_start_held(socket_path, &req, timeout_ms, fd, err) < 0)
		return isol8_error_prefix(err, "open session in sandbox");
	return 0;
}

int isol8_agent_session_close(int fd, int timeout_ms, struct isol8_error *err)
{
	int64_t deadline = isol8_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int ret = 0;

	/* the agent sends nothing between calls: what comes now is its EOF */
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - isol8_now_ms();
		char buf[256];
		int n;

		if (left <= 0) {
			ret = isol8_error_set(err, ISOL8_E_DEADLINE, "close session: the agent did not end it within %d ms",
					      timeout_ms);
			break;
		}
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			continue;
		if (n > 0 && errno == EINTR)
			continue;
		break;
	}
	close(fd);
	return ret;
}
