/* One ExecuteInteractive call from the terminal: see interactive.h. */
#include "cli/interactive.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "isol8/v1/isol8.rpc.h"

#define INPUT_CHUNK (64u * 1024u)
#define KILL_WINDOW_MS 1000 /* a second Ctrl-C within it kills */

/* The signal handlers' pipe (written by them, read by the input thread)
 * and the terminal's mode to restore: process-wide, as signals are. */
static int signal_pipe[2] = {-1, -1};
static struct termios saved_mode;
static volatile sig_atomic_t raw_mode_on;

static void restore_terminal(void)
{
	if (raw_mode_on) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_mode);
		raw_mode_on = 0;
	}
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char byte = (unsigned char)sig;

	if (sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) {
		/* leave as the signal would, with the terminal as it was */
		restore_terminal();
		signal(sig, SIG_DFL);
		raise(sig);
	}
	if (write(signal_pipe[1], &byte, 1) < 0) {
		/* the pipe is full: signals are coming faster than they are sent */
	}
	errno = saved;
}

static int install_signals(bool tty)
{
	static const int sigs[] = {SIGINT, SIGWINCH, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa;

	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(sigs); i++) {
		if (sigs[i] == SIGWINCH && !tty)
			continue;
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	}
	return 0;
}

static void uninstall_signals(void)
{
	static const int sigs[] = {SIGINT, SIGWINCH, SIGTERM, SIGHUP, SIGQUIT};

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(sigs); i++)
		signal(sigs[i], SIG_DFL);
	for (int i = 0; i < 2; i++) {
		if (signal_pipe[i] >= 0)
			close(signal_pipe[i]);
		signal_pipe[i] = -1;
	}
}

static int enter_raw_mode(struct isol8_error *err)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_mode) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "--tty: read the terminal's mode");
	/* what was typed ahead is kept: it is the program's input */
	raw = saved_mode;
	cfmakeraw(&raw);
	raw_mode_on = 1;
	atexit(restore_terminal);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0) {
		raw_mode_on = 0;
		return isol8_error_errno(err, ISOL8_E_IO, errno, "--tty: set the terminal to raw mode");
	}
	return 0;
}

/* The input thread's state. */
struct input {
	struct isol8_rpc_stream *st;
	bool tty;
	int stop_pipe[2];    /* written when the call is over */
	int64_t last_int_ms; /* the last Ctrl-C, 0: none */
};

static int send_input(struct input *in, Isol8__V1__InteractiveInput *msg)
{
	struct isol8_error ignored = ISOL8_ERROR_INIT;

	return isol8__v1__isol8__execute_interactive__write(in->st, msg, &ignored);
}

static int send_window(struct input *in)
{
	Isol8__V1__InteractiveInput msg = ISOL8__V1__INTERACTIVE_INPUT__INIT;
	Isol8__V1__WindowSize size = ISOL8__V1__WINDOW_SIZE__INIT;
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
		return 0;
	size.rows = ws.ws_row;
	size.cols = ws.ws_col;
	msg.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_RESIZE;
	msg.resize = &size;
	return send_input(in, &msg);
}

static int send_signal(struct input *in, int sig)
{
	Isol8__V1__InteractiveInput msg = ISOL8__V1__INTERACTIVE_INPUT__INIT;
	int64_t now = isol8_now_ms();

	if (sig == SIGWINCH)
		return send_window(in);
	msg.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_SIGNAL;
	msg.signal = in->last_int_ms != 0 && now - in->last_int_ms < KILL_WINDOW_MS ? "SIGKILL" : "SIGINT";
	in->last_int_ms = now;
	return send_input(in, &msg);
}

/* Sends what stdin has now; *open false at its EOF (sent as stdin_eof). */
static int send_stdin(struct input *in, bool *open)
{
	Isol8__V1__InteractiveInput msg = ISOL8__V1__INTERACTIVE_INPUT__INIT;
	static uint8_t buf[INPUT_CHUNK];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		*open = false;
		msg.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN_EOF;
		msg.stdin_eof = true;
		return send_input(in, &msg);
	}
	msg.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN;
	msg.stdin = (ProtobufCBinaryData){(size_t)n, buf};
	return send_input(in, &msg);
}

static void *input_main(void *arg)
{
	struct input *in = arg;
	bool stdin_open = true;

	if (in->tty && send_window(in) < 0)
		return NULL;
	for (;;) {
		struct pollfd pfd[3] = {{.fd = in->stop_pipe[0], .events = POLLIN},
					{.fd = signal_pipe[0], .events = POLLIN},
					{.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
		unsigned char sig;
		int ret = 0;

		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			return NULL;
		if (pfd[0].revents)
			return NULL;
		while (ret == 0 && pfd[1].revents && read(signal_pipe[0], &sig, 1) == 1)
			ret = send_signal(in, sig);
		if (ret == 0 && pfd[2].revents)
			ret = send_stdin(in, &stdin_open);
		if (ret < 0)
			return NULL; /* the call ended: its reader reports how */
	}
}

/* Reads events until the end of the stream. */
static int read_events(struct isol8_rpc_stream *st, isol8_cli_event_fn on_event, void *userdata,
		       struct isol8_error *err)
{
	for (;;) {
		Isol8__V1__ExecuteEvent *ev = NULL;
		int ret = isol8__v1__isol8__execute_interactive__read(st, &ev, err);

		if (ret <= 0)
			return ret;
		ret = on_event(userdata, ev, err);
		protobuf_c_message_free_unpacked(&ev->base, NULL);
		if (ret < 0)
			return ret;
	}
}

int isol8_cli_interactive(struct isol8_rpc_channel *ch, Isol8__V1__ExecuteRequest *req, int deadline_ms,
			  isol8_cli_event_fn on_event, void *userdata, struct isol8_error *err)
{
	Isol8__V1__InteractiveInput first = ISOL8__V1__INTERACTIVE_INPUT__INIT;
	struct input in = {.tty = req->tty, .stop_pipe = {-1, -1}};
	pthread_t thread;
	bool started = false;
	int ret;

	first.input_case = ISOL8__V1__INTERACTIVE_INPUT__INPUT_REQUEST;
	first.request = req;
	if (install_signals(in.tty) < 0 || pipe2(in.stop_pipe, O_CLOEXEC) < 0) {
		ret = isol8_error_errno(err, ISOL8_E_IO, errno, "set up the terminal's signals");
		goto out;
	}
	ret = isol8__v1__isol8__execute_interactive__start(&in.st, ch, deadline_ms, err);
	if (ret == 0)
		ret = isol8__v1__isol8__execute_interactive__write(in.st, &first, err);
	if (ret == 0 && in.tty)
		ret = enter_raw_mode(err);
	if (ret == 0 && pthread_create(&thread, NULL, input_main, &in) != 0)
		ret = isol8_error_set(err, ISOL8_E_INTERNAL, "cannot start the input thread");
	started = ret == 0;
	if (ret == 0)
		ret = read_events(in.st, on_event, userdata, err);
out:
	if (started) {
		/* the input thread is in poll, or in a write that fails now the call is over */
		if (write(in.stop_pipe[1], "x", 1) < 0) {
			/* cannot happen on a fresh pipe; the join would wait for stdin */
		}
		isol8_rpc_stream_cancel(in.st); /* a call still open, after an output error */
		pthread_join(thread, NULL);
	}
	restore_terminal();
	isol8_rpc_stream_free(in.st);
	for (int i = 0; i < 2; i++)
		if (in.stop_pipe[i] >= 0)
			close(in.stop_pipe[i]);
	uninstall_signals();
	return ret;
}
