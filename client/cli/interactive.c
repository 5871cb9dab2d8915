/* The terminal's side of an interactive stream: see interactive.h. */
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
struct isol8_cli_input {
	struct isol8_stream *st;
	bool tty;
	int stop_pipe[2];    /* written when the call is over */
	int64_t last_int_ms; /* the last Ctrl-C, 0: none */
	pthread_t thread;
	bool started;
};

static int send_window(struct isol8_cli_input *in)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
		return 0;
	return isol8_stream_resize(in->st, ws.ws_row, ws.ws_col, NULL);
}

static int send_signal(struct isol8_cli_input *in, int sig)
{
	int64_t now = isol8_now_ms();
	bool again = in->last_int_ms != 0 && now - in->last_int_ms < KILL_WINDOW_MS;

	if (sig == SIGWINCH)
		return send_window(in);
	in->last_int_ms = now;
	return isol8_stream_signal(in->st, again ? "SIGKILL" : "SIGINT", NULL);
}

/* Sends what stdin has now; *open false at its EOF (sent as the end of stdin). */
static int send_stdin(struct isol8_cli_input *in, bool *open)
{
	static uint8_t buf[INPUT_CHUNK];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		*open = false;
		return isol8_stream_close_stdin(in->st, NULL);
	}
	return isol8_stream_write_stdin(in->st, buf, (size_t)n, NULL);
}

static void *input_main(void *arg)
{
	struct isol8_cli_input *in = arg;
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

int isol8_cli_input_start(struct isol8_cli_input **out, struct isol8_stream *st, bool tty, struct isol8_error *err)
{
	struct isol8_cli_input *in = calloc(1, sizeof(*in));
	int ret = 0;

	*out = in;
	if (in == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	*in = (struct isol8_cli_input){.st = st, .tty = tty, .stop_pipe = {-1, -1}};
	if (install_signals(tty) < 0 || pipe2(in->stop_pipe, O_CLOEXEC) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "set up the terminal's signals");
	if (tty)
		ret = enter_raw_mode(err);
	if (ret == 0 && pthread_create(&in->thread, NULL, input_main, in) != 0)
		ret = isol8_error_set(err, ISOL8_E_INTERNAL, "cannot start the input thread");
	in->started = ret == 0;
	return ret;
}

void isol8_cli_input_stop(struct isol8_cli_input *in)
{
	if (in == NULL)
		return;
	if (in->started) {
		/* the input thread is in poll, or in a write that fails now the call is over */
		if (write(in->stop_pipe[1], "x", 1) < 0) {
			/* cannot happen on a fresh pipe; the join would wait for stdin */
		}
		isol8_stream_cancel(in->st); /* a call still open, after an output error */
		pthread_join(in->thread, NULL);
	}
	restore_terminal();
	for (int i = 0; i < 2; i++)
		if (in->stop_pipe[i] >= 0)
			close(in->stop_pipe[i]);
	uninstall_signals();
	free(in);
}
