/*
 * Unit tests: isol8-agent's pty execs (Exec.pty). The real static agent runs
 * on the host (we are root) as in test_agent.c, and real programs run on a
 * pseudo-terminal it opens: tty, stty, typed input, window changes, EOF.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_fixture.h"
#include "base/util.h"
#include "runner.h"
#include "sandbox/agent_client.h"

/* Not the 64000 of test_agent.c nor the 64001 of test_agent_session.c:
 * each run's end kills every process of its uid, and the suites may run
 * at once. */
#define SANDBOX_UID 64002

static struct agent_fixture agent;
static char out[64 * 1024];
static size_t out_len;

static void out_append(const uint8_t *data, size_t len)
{
	size_t room = sizeof(out) - 1 - out_len;

	memcpy(out + out_len, data, len < room ? len : room);
	out_len += len < room ? len : room;
	out[out_len] = '\0';
}

static int capture(void *userdata, int stream, const uint8_t *data, size_t len)
{
	(void)userdata;
	CU_ASSERT_EQUAL(stream, 1); /* a terminal has one output */
	out_append(data, len);
	return 0;
}

static Isol8__Agent__V1__Exec pty_exec(char **argv)
{
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);

	req.pty = true;
	return req;
}

static int run(const Isol8__Agent__V1__Exec *req, struct isol8_agent_exit *x)
{
	const struct isol8_agent_exec_io io = {capture, NULL, NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	int ret;

	out_len = 0;
	out[0] = '\0';
	memset(x, 0, sizeof(*x));
	ret = isol8_agent_exec(agent.sock_path, req, &io, x, &err);
	if (ret != 0)
		fprintf(stderr, "\n  exec: %s\n", err.message);
	return ret;
}

static int suite_init(void)
{
	return agent_fixture_start(&agent, "agent-pty", SANDBOX_UID, 0777);
}

static int suite_cleanup(void)
{
	return agent_fixture_stop(&agent);
}

static void test_tty_is_a_pts(void)
{
	Isol8__Agent__V1__Exec req = pty_exec((char *[]){"tty", NULL});
	struct isol8_agent_exit x;

	CU_ASSERT_EQUAL_FATAL(run(&req, &x), 0);
	CU_ASSERT_EQUAL(x.exit_code, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/dev/pts/"));
}

static void test_controlling_terminal(void)
{
	/* /dev/tty opens only on a controlling terminal; stderr is the terminal too */
	Isol8__Agent__V1__Exec req =
		pty_exec((char *[]){"sh", "-c", "echo via-tty >/dev/tty && echo via-stderr >&2", NULL});
	struct isol8_agent_exit x;

	CU_ASSERT_EQUAL_FATAL(run(&req, &x), 0);
	CU_ASSERT_EQUAL(x.exit_code, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "via-tty"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "via-stderr"));
}

static void test_window_size(void)
{
	Isol8__Agent__V1__Exec req = pty_exec((char *[]){"stty", "size", NULL});
	struct isol8_agent_exit x;

	CU_ASSERT_EQUAL_FATAL(run(&req, &x), 0);
	CU_ASSERT_EQUAL(x.exit_code, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "24 80"));
	req.rows = 31;
	req.cols = 107;
	CU_ASSERT_EQUAL_FATAL(run(&req, &x), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "31 107"));
}

static void test_stdin_eof(void)
{
	/* the end of stdin is the terminal's EOF: cat ends, mid-line too */
	Isol8__Agent__V1__Exec req = pty_exec((char *[]){"sh", "-c", "cat; echo cat-done", NULL});
	struct isol8_agent_exit x;

	req.stdin.data = (uint8_t *)"typed";
	req.stdin.len = 5;
	CU_ASSERT_EQUAL_FATAL(run(&req, &x), 0);
	CU_ASSERT_EQUAL(x.exit_code, 0);
	CU_ASSERT_FALSE(x.timed_out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cat-done"));
}

/* --- over the raw protocol: input during the run --- */

static void send_frame(int fd, isol8_frame *frame)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_frame_write(fd, frame, &err), 0);
}

static void send_stdin(int fd, const char *text, bool eof)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Stdin in = ISOL8__AGENT__V1__STDIN__INIT;

	in.data = (ProtobufCBinaryData){strlen(text), (uint8_t *)text};
	in.eof = eof;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_STDIN;
	frame.stdin = &in;
	send_frame(fd, &frame);
}

/* Reads frames until the output holds want (or, want NULL, until the
 * Exit); returns the Exit frame then, else NULL. */
static isol8_frame *read_until(int fd, const char *want)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame *frame = NULL;

	while (isol8_frame_read(fd, &frame, 5000, &err) == 1) {
		if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_OUTPUT)
			out_append(frame->output->data.data, frame->output->data.len);
		if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_EXIT && want == NULL)
			return frame;
		isol8_frame_free(frame);
		frame = NULL;
		if (want != NULL && strstr(out, want) != NULL)
			return NULL;
	}
	CU_FAIL("the agent stopped before the wanted output");
	return NULL;
}

static int start(Isol8__Agent__V1__Exec *req)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	int fd = -1;

	out_len = 0;
	out[0] = '\0';
	CU_ASSERT_EQUAL(isol8_agent_connect(agent.sock_path, &fd, &err), 0);
	req->stdin_open = true;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_EXEC;
	frame.exec = req;
	send_frame(fd, &frame);
	return fd;
}

static void test_typed_input(void)
{
	Isol8__Agent__V1__Exec req =
		pty_exec((char *[]){"sh", "-c", "echo ready; read a; echo \"got:$a\"; read b; echo \"got:$b\"", NULL});
	_cleanup_close_ int fd = start(&req);
	isol8_frame *exit_frame;

	read_until(fd, "ready");
	send_stdin(fd, "first\n", false);
	read_until(fd, "got:first");
	send_stdin(fd, "second\n", false);
	exit_frame = read_until(fd, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(exit_frame);
	CU_ASSERT_EQUAL(exit_frame->exit->exit_code, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "got:second"));
	isol8_frame_free(exit_frame);
}

static void test_resize(void)
{
	Isol8__Agent__V1__Exec req = pty_exec(
		(char *[]){"sh", "-c", "trap 'echo winch' WINCH; stty size; read x; stty size", NULL});
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Resize resize = ISOL8__AGENT__V1__RESIZE__INIT;
	_cleanup_close_ int fd = -1;
	isol8_frame *exit_frame;

	req.rows = 30;
	req.cols = 100;
	fd = start(&req);
	read_until(fd, "30 100");
	resize.rows = 50;
	resize.cols = 132;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_RESIZE;
	frame.resize = &resize;
	send_frame(fd, &frame);
	send_stdin(fd, "go\n", true);
	exit_frame = read_until(fd, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(exit_frame);
	CU_ASSERT_EQUAL(exit_frame->exit->exit_code, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "50 132"));
	if (exit_frame->exit->exit_code != 0 || strstr(out, "50 132") == NULL)
		fprintf(stderr, "\n  exit %d, output: %s\n", exit_frame->exit->exit_code, out);
	isol8_frame_free(exit_frame);
}

static void test_signal_reaches_foreground(void)
{
	/* ^C-style: SIGINT for the terminal's foreground group */
	Isol8__Agent__V1__Exec req = pty_exec((char *[]){"sh", "-c", "trap 'echo interrupted; exit 3' INT; "
								       "echo ready; while :; do sleep 0.05; done",
							  NULL});
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Signal sig = ISOL8__AGENT__V1__SIGNAL__INIT;
	_cleanup_close_ int fd = start(&req);
	isol8_frame *exit_frame;

	read_until(fd, "ready");
	sig.signal = SIGINT;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_SIGNAL;
	frame.signal = &sig;
	send_frame(fd, &frame);
	exit_frame = read_until(fd, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(exit_frame);
	CU_ASSERT_EQUAL(exit_frame->exit->exit_code, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "interrupted"));
	isol8_frame_free(exit_frame);
}

static void test_ends_with_main_process(void)
{
	/* as `docker exec -t`: the main process's exit ends the run, and a
	 * background job still on the terminal (deaf to SIGHUP) is killed */
	Isol8__Agent__V1__Exec req = pty_exec((char *[]){"bash", "-c", "trap '' HUP; sleep 20 & echo started $!", NULL});
	struct isol8_agent_exit x;
	char probe[64];
	const char *at;
	long holder;

	CU_ASSERT_EQUAL_FATAL(run(&req, &x), 0);
	at = strstr(out, "started ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	holder = strtol(at + 8, NULL, 10);
	CU_ASSERT_FATAL(holder > 1);
	CU_ASSERT_EQUAL(x.exit_code, 0);
	CU_ASSERT_FALSE(x.timed_out);
	CU_ASSERT(x.duration_us < 3000000);
	snprintf(probe, sizeof(probe), "/proc/%ld/fd", holder);
	for (int i = 0; i < 300 && access(probe, F_OK) == 0; i++)
		usleep(10000);
	CU_ASSERT_NOT_EQUAL(access(probe, F_OK), 0);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"tty is a /dev/pts terminal", test_tty_is_a_pts},
		{"the terminal is the controlling one and stderr", test_controlling_terminal},
		{"window size, default and given", test_window_size},
		{"end of stdin is the terminal's EOF", test_stdin_eof},
		{"typed input reaches the program", test_typed_input},
		{"Resize changes the window", test_resize},
		{"Signal reaches the foreground group", test_signal_reaches_foreground},
		{"the run ends with the main process", test_ends_with_main_process},
	};

	if (geteuid() != 0) {
		fprintf(stderr, "unit_agent_pty needs root (the agent switches uids)\n");
		return 1;
	}
	return isol8_test_run("agent_pty", suite_init, suite_cleanup, tests, ISOL8_TESTS_LEN(tests));
}
