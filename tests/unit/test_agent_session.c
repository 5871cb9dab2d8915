/*
 * Unit tests: sessions of isol8-agent (server/agent/exec_session.c) with the
 * session drivers (server/engine/driver.c) and the client's session calls.
 * The real static agent runs on the host (we are root) with its socket and
 * sandbox dir in a temp dir, and the drivers run on the host's python3,
 * node and bash as the sandbox uid.
 *
 * The same suite runs against an agent already running in an image, to
 * check the drivers with the image's interpreters: ISOL8_SESSION_SOCKET is
 * its socket (the agent started with --uid 64001 --gid 64001, in the
 * host's pid namespace, for the pid checks), ISOL8_SESSION_SANDBOX its
 * sandbox dir (default /sandbox), ISOL8_SESSION_SANDBOX_HOST where the
 * host sees that dir, and ISOL8_SESSION_ONLY the runtime whose tests run.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_fixture.h"
#include "engine/driver.h"
#include "sandbox/agent_client.h"
#include "runner.h"
#include "base/util.h"

#define SANDBOX_UID 64001 /* the agent's --uid/--gid: no host process uses it */

static struct agent_fixture agent;
static char sandbox_host_dir[256]; /* the sandbox dir as this process sees it */
static bool external_agent;

static char *path_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};

struct capture {
	char out[64 * 1024];
	char err[64 * 1024];
	size_t out_len, err_len;
};

static struct capture cap;

static int capture_output(void *userdata, int stream, const uint8_t *data, size_t len)
{
	struct capture *c = userdata;
	char *buf = stream == 1 ? c->out : c->err;
	size_t *used = stream == 1 ? &c->out_len : &c->err_len;
	size_t room = sizeof(c->out) - 1 - *used;

	memcpy(buf + *used, data, len < room ? len : room);
	*used += len < room ? len : room;
	buf[*used] = '\0';
	return 0;
}

static const struct isol8_agent_exec_io capture_io = {capture_output, NULL, &cap};

static int suite_init(void)
{
	const char *external = getenv("ISOL8_SESSION_SOCKET");
	const char *dir = getenv("ISOL8_SESSION_SANDBOX"), *host = getenv("ISOL8_SESSION_SANDBOX_HOST");
	int ret;

	external_agent = external != NULL;
	if (external_agent)
		ret = agent_fixture_attach(&agent, external, dir ? dir : "/sandbox");
	else
		ret = agent_fixture_start(&agent, "session", SANDBOX_UID, 0755);
	snprintf(sandbox_host_dir, sizeof(sandbox_host_dir), "%s",
		 external_agent && host ? host : agent.sandbox_dir);
	return ret;
}

static int suite_cleanup(void)
{
	return agent_fixture_stop(&agent);
}

/* Opens a session with the runtime's driver; -1 on failure (reported). */
static int session_open(const char *runtime)
{
	const struct isol8_driver *driver = isol8_driver_find(runtime);
	Isol8__Agent__V1__Exec req = ISOL8__AGENT__V1__EXEC__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int fd = -1;

	if (driver == NULL)
		return -1;
	while (driver->argv[req.n_argv] != NULL)
		req.n_argv++;
	req.argv = (char **)driver->argv;
	req.n_env = ISOL8_ARRAY_LEN(path_env);
	req.env = path_env;
	if (isol8_agent_session_open(agent.sock_path, &req, 10000, &fd, &err) < 0) {
		fprintf(stderr, "\n  open %s session: %s\n", runtime, err.message);
		return -1;
	}
	return fd;
}

struct call {
	const char *interpreter; /* argv[0] */
	const char *file;        /* under the sandbox dir */
	const char *code;
	const char *stdin_data;
	uint32_t timeout_ms;     /* 0: 10 s */
};

/* A call's Exec and what it points to. */
struct call_req {
	char path[512];
	char *argv[3];
	Isol8__Agent__V1__File file;
	Isol8__Agent__V1__File *files[1];
	Isol8__Agent__V1__Exec req;
};

static void call_build(struct call_req *r, const struct call *c)
{
	snprintf(r->path, sizeof(r->path), "%s/%s", agent.sandbox_dir, c->file);
	r->argv[0] = (char *)c->interpreter;
	r->argv[1] = r->path;
	r->argv[2] = NULL;
	r->file = (Isol8__Agent__V1__File)ISOL8__AGENT__V1__FILE__INIT;
	r->file.path = r->path;
	r->file.content.data = (uint8_t *)c->code;
	r->file.content.len = strlen(c->code);
	r->files[0] = &r->file;
	r->req = (Isol8__Agent__V1__Exec)ISOL8__AGENT__V1__EXEC__INIT;
	r->req.n_argv = 2;
	r->req.argv = r->argv;
	r->req.n_env = ISOL8_ARRAY_LEN(path_env);
	r->req.env = path_env;
	r->req.cwd = agent.sandbox_dir;
	r->req.n_files = 1;
	r->req.files = r->files;
	r->req.timeout_ms = c->timeout_ms ? c->timeout_ms : 10000;
	if (c->stdin_data != NULL) {
		r->req.stdin.data = (uint8_t *)c->stdin_data;
		r->req.stdin.len = strlen(c->stdin_data);
	}
}

/* Runs one call (the code written as the call's file), output in cap. */
static int session_call(int fd, const struct call *c, struct isol8_agent_exit *out)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct call_req r;
	int ret;

	call_build(&r, c);
	memset(&cap, 0, sizeof(cap));
	memset(out, 0, sizeof(*out));
	ret = isol8_agent_session_exec(fd, &r.req, &capture_io, out, &err);
	if (ret < 0)
		fprintf(stderr, "\n  session call: %s\n", err.message);
	return ret;
}

static int python(int fd, const char *code, struct isol8_agent_exit *out)
{
	return session_call(fd, &(struct call){"python3", "main.py", code, NULL, 0}, out);
}

static int bash(int fd, const char *code, struct isol8_agent_exit *out)
{
	return session_call(fd, &(struct call){"bash", "main.sh", code, NULL, 0}, out);
}

static int node(int fd, const char *code, struct isol8_agent_exit *out)
{
	return session_call(fd, &(struct call){"node", "main.mjs", code, NULL, 0}, out);
}

/* Runs req on the session's fd frame by frame: once stdout holds wait_for
 * (at once when NULL) the frames in then are sent; output goes to cap, the
 * Exit to out. 0, or -1 on an Error frame or a broken conversation. */
static int raw_call(int fd, const Isol8__Agent__V1__Exec *req, const char *wait_for, isol8_frame *const *then,
		    size_t n_then, Isol8__Agent__V1__Exit *out)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	bool sent = false;

	memset(&cap, 0, sizeof(cap));
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_EXEC;
	frame.exec = (Isol8__Agent__V1__Exec *)req;
	if (isol8_frame_write(fd, &frame, &err) < 0)
		return -1;
	for (;;) {
		isol8_frame *got = NULL;

		if (!sent && (wait_for == NULL || strstr(cap.out, wait_for) != NULL)) {
			for (size_t i = 0; i < n_then; i++)
				if (isol8_frame_write(fd, then[i], &err) < 0)
					return -1;
			sent = true;
		}
		if (isol8_frame_read(fd, &got, 10000, &err) <= 0)
			return -1;
		if (got->body_case == ISOL8__AGENT__V1__FRAME__BODY_OUTPUT) {
			capture_output(&cap, got->output->stream, got->output->data.data, got->output->data.len);
		} else if (got->body_case == ISOL8__AGENT__V1__FRAME__BODY_EXIT) {
			*out = *got->exit;
			out->base.unknown_fields = NULL;
			out->base.n_unknown_fields = 0;
			isol8_frame_free(got);
			return 0;
		} else {
			isol8_frame_free(got);
			return -1;
		}
		isol8_frame_free(got);
	}
}

/* Whether pid is a live process (not gone, not a zombie). */
static bool pid_alive(long pid)
{
	char path[64], line[256];
	bool alive = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	if (fgets(line, sizeof(line), f) != NULL) {
		char *end = strrchr(line, ')');
		alive = end != NULL && end[1] == ' ' && end[2] != 'Z' && end[2] != 'X';
	}
	fclose(f);
	return alive;
}

/* Waits up to 3 s for pid to be gone. */
static bool pid_gone_soon(long pid)
{
	for (int i = 0; i < 300 && pid_alive(pid); i++)
		usleep(10000);
	return !pid_alive(pid);
}

/* Whether a live process of the sandbox uid is left. */
static bool uid_busy(void)
{
	struct dirent *de;
	bool busy = false;
	DIR *proc = opendir("/proc");

	while (proc != NULL && !busy && (de = readdir(proc)) != NULL) {
		char path[300], line[256];
		FILE *f;
		long pid = strtol(de->d_name, NULL, 10);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/status", pid);
		f = fopen(path, "re");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			unsigned real;
			if (sscanf(line, "Uid: %u", &real) == 1) {
				busy = real == SANDBOX_UID && pid_alive(pid);
				break;
			}
		}
		if (f != NULL)
			fclose(f);
	}
	if (proc != NULL)
		closedir(proc);
	return busy;
}

/* Ends a session: the agent has killed every process of the uid when the
 * close returns, so the next session's are not among them. */
static void session_close(int fd)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_agent_session_close(fd, 5000, &err), 0);
	CU_ASSERT_FALSE(uid_busy());
}

static void test_python_state(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "x = 42\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_FALSE(out.state_reset);
	CU_ASSERT_EQUAL(cap.out_len, 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "print(x)\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "42\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	/* functions, imports and classes persist; sys.argv and __file__ are the call's */
	CU_ASSERT_EQUAL_FATAL(python(fd, "import json\ndef twice(a):\n  return a * 2\nclass C:\n  k = 5\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "import sys\nprint(twice(21), json.dumps([C.k]), sys.argv[0] == __file__)\n",
				     &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "42 [5] True\n");
	session_close(fd);
}

static void test_python_exception(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "x = 7\nraise ValueError('boom')\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 1);
	CU_ASSERT_FALSE(out.state_reset);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "Traceback (most recent call last):"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "main.py\", line 2, in <module>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "ValueError: boom\n"));
	CU_ASSERT_PTR_NULL(strstr(cap.err, "<string>")); /* no frame of the driver */
	CU_ASSERT_EQUAL_FATAL(python(fd, "print(x)\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "7\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	/* KeyboardInterrupt (SIGINT) in the code: its traceback, 130, the driver lives on */
	CU_ASSERT_EQUAL_FATAL(python(fd, "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n",
				     &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 130);
	CU_ASSERT_EQUAL(out.signal, 0);
	CU_ASSERT_FALSE(out.state_reset);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "KeyboardInterrupt"));
	CU_ASSERT_EQUAL_FATAL(python(fd, "print(x)\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "7\n");
	session_close(fd);
}

static void test_python_exit_resets(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "x = 1\nprint('before', flush=False)\n", &out), 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "import sys\nprint('bye')\nsys.exit(3)\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 3);
	CU_ASSERT_EQUAL(out.signal, 0);
	CU_ASSERT_TRUE(out.state_reset);
	CU_ASSERT_STRING_EQUAL(cap.out, "bye\n");
	/* a fresh driver: x is gone */
	CU_ASSERT_EQUAL_FATAL(python(fd, "print(x)\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 1);
	CU_ASSERT_FALSE(out.state_reset);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "NameError"));
	/* a crash: the signal is the call's */
	CU_ASSERT_EQUAL_FATAL(python(fd, "x = 2\nimport os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", &out), 0);
	CU_ASSERT_EQUAL(out.signal, SIGSEGV);
	CU_ASSERT_TRUE(out.state_reset);
	CU_ASSERT_EQUAL_FATAL(python(fd, "print('fresh', 'x' in globals())\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "fresh False\n");
	CU_ASSERT_EQUAL_FATAL(python(fd, "import os\nos._exit(5)\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 5);
	CU_ASSERT_TRUE(out.state_reset);
	session_close(fd);
}

static void test_python_timeout(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "x = 1\n", &out), 0);
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"python3", "main.py", "import time\ntime.sleep(30)\n",
							       NULL, 500}, &out), 0);
	CU_ASSERT_TRUE(out.timed_out);
	CU_ASSERT_TRUE(out.state_reset);
	CU_ASSERT(out.duration_us < 5000000);
	CU_ASSERT_EQUAL_FATAL(python(fd, "print('x' in globals())\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "False\n");
	CU_ASSERT_FALSE(out.timed_out);
	session_close(fd);
}

static void test_python_frames(void)
{
	Isol8__Agent__V1__Signal sigint = ISOL8__AGENT__V1__SIGNAL__INIT;
	Isol8__Agent__V1__Stdin in1 = ISOL8__AGENT__V1__STDIN__INIT, in2 = ISOL8__AGENT__V1__STDIN__INIT;
	isol8_frame signal_frame = ISOL8__AGENT__V1__FRAME__INIT;
	isol8_frame stdin_frames[2] = {ISOL8__AGENT__V1__FRAME__INIT, ISOL8__AGENT__V1__FRAME__INIT};
	isol8_frame *then[2];
	Isol8__Agent__V1__Exit exit_msg;
	struct isol8_agent_exit out;
	struct call_req r;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	/* a Signal frame: SIGINT to the driver's group, KeyboardInterrupt in the code */
	call_build(&r, &(struct call){"python3", "main.py", "import time\nx = 1\n"
					/* one line: the signal may come before the sleep starts */
					"print('ready', flush=True); time.sleep(20)\n", NULL, 0});
	sigint.signal = SIGINT;
	signal_frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_SIGNAL;
	signal_frame.signal = &sigint;
	then[0] = &signal_frame;
	CU_ASSERT_EQUAL_FATAL(raw_call(fd, &r.req, "ready\n", then, 1, &exit_msg), 0);
	CU_ASSERT_EQUAL(exit_msg.exit_code, 130);
	CU_ASSERT_EQUAL(exit_msg.signal, 0);
	CU_ASSERT_FALSE(exit_msg.state_reset);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "KeyboardInterrupt"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "main.py\", line 3"));
	/* Stdin frames, the last with eof */
	call_build(&r, &(struct call){"python3", "main.py", "print(input(), input(), x)\n", NULL, 0});
	r.req.stdin_open = true;
	in1.data = (ProtobufCBinaryData){2, (uint8_t *)"a\n"};
	in2.data = (ProtobufCBinaryData){2, (uint8_t *)"b\n"};
	in2.eof = true;
	stdin_frames[0].body_case = stdin_frames[1].body_case = ISOL8__AGENT__V1__FRAME__BODY_STDIN;
	stdin_frames[0].stdin = &in1;
	stdin_frames[1].stdin = &in2;
	then[0] = &stdin_frames[0];
	then[1] = &stdin_frames[1];
	CU_ASSERT_EQUAL_FATAL(raw_call(fd, &r.req, NULL, then, 2, &exit_msg), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "a b 1\n");
	CU_ASSERT_EQUAL(exit_msg.exit_code, 0);
	/* the output cap: cut, the driver goes on */
	call_build(&r, &(struct call){"python3", "main.py", "print('y' * 100)\nprint('z' * 100)\n", NULL, 0});
	r.req.max_output_bytes = 10;
	CU_ASSERT_EQUAL_FATAL(raw_call(fd, &r.req, NULL, NULL, 0, &exit_msg), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "yyyyyyyyyy");
	CU_ASSERT_TRUE(exit_msg.truncated);
	CU_ASSERT_EQUAL(exit_msg.output_bytes, 202);
	CU_ASSERT_FALSE(exit_msg.state_reset);
	/* the call's CPU time, not the driver's whole life's */
	CU_ASSERT_EQUAL_FATAL(python(fd, "import time\nt = time.process_time()\n"
				     "while time.process_time() - t < 0.3:\n  pass\nprint(x)\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "1\n");
	CU_ASSERT(out.cpu_user_us + out.cpu_system_us >= 250000);
	CU_ASSERT(out.cpu_user_us + out.cpu_system_us < 2000000);
	CU_ASSERT(out.max_rss_kb > 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "print(x)\n", &out), 0);
	CU_ASSERT(out.cpu_user_us + out.cpu_system_us < 250000);
	session_close(fd);
}

static void test_python_stdin(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"python3", "main.py", "print(input().upper())\n",
							       "hello\nrest\n", 0}, &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "HELLO\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	/* the next call reads its own stdin, not what the last one left */
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"python3", "main.py", "import sys\nprint(repr(sys.stdin.read()))\n",
							       "two\n", 0}, &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "'two\\n'\n");
	/* no stdin: EOF at once */
	CU_ASSERT_EQUAL_FATAL(python(fd, "input()\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "EOFError"));
	session_close(fd);
}

static void test_other_call_in_session(void)
{
	char *argv[] = {"bash", "-c", "echo setup; echo err >&2; exit 4", NULL};
	Isol8__Agent__V1__Exec req = ISOL8__AGENT__V1__EXEC__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "x = 'kept'\n", &out), 0);
	req.n_argv = 3;
	req.argv = argv;
	req.n_env = ISOL8_ARRAY_LEN(path_env);
	req.env = path_env;
	req.timeout_ms = 10000;
	memset(&cap, 0, sizeof(cap));
	CU_ASSERT_EQUAL_FATAL(isol8_agent_session_exec(fd, &req, &capture_io, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "setup\n");
	CU_ASSERT_STRING_EQUAL(cap.err, "err\n");
	CU_ASSERT_EQUAL(out.exit_code, 4);
	CU_ASSERT_FALSE(out.state_reset);
	/* a program that cannot start is an error; the session goes on */
	argv[0] = "no-such-program-isol8";
	CU_ASSERT_NOT_EQUAL(isol8_agent_session_exec(fd, &req, &capture_io, &out, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no-such-program-isol8"));
	CU_ASSERT_EQUAL_FATAL(python(fd, "print(x)\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "kept\n");
	CU_ASSERT_EQUAL(isol8_agent_ping_on(fd, 2000, &err), 0);
	session_close(fd);
}

static void test_close_kills_driver(void)
{
	struct isol8_agent_exit out;
	long pid = 0;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "import os\nprint(os.getpid())\n", &out), 0);
	pid = strtol(cap.out, NULL, 10);
	CU_ASSERT_FATAL(pid > 1);
	CU_ASSERT_TRUE(pid_alive(pid));
	session_close(fd);
	CU_ASSERT_TRUE(pid_gone_soon(pid));
}

static void test_bash_state(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("bash");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "X=5\nf() { echo \"f$1\"; }\ncd /tmp\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "echo \"$X\"\nf 1\npwd\nfalse\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "5\nf1\n/tmp\n");
	CU_ASSERT_EQUAL(out.exit_code, 1);
	CU_ASSERT_FALSE(out.state_reset);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "echo still $X\nexit 6\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "still 5\n");
	CU_ASSERT_EQUAL(out.exit_code, 6);
	CU_ASSERT_TRUE(out.state_reset);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "echo \"[${X-unset}]\"\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "[unset]\n");
	session_close(fd);
}

static void test_bash_background(void)
{
	struct isol8_agent_exit out;
	long detached, holder;
	int fd = session_open("bash");

	CU_ASSERT_FATAL(fd >= 0);
	/* let go of the call's pipes: lives on to the next call */
	CU_ASSERT_EQUAL_FATAL(bash(fd, "sleep 30 >/dev/null 2>&1 &\necho $!\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_FALSE(out.timed_out);
	detached = strtol(cap.out, NULL, 10);
	CU_ASSERT_FATAL(detached > 1);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "echo next\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "next\n");
	CU_ASSERT_TRUE(pid_alive(detached));
	/* still holding stdout: the call lasts to its timeout, then it is killed */
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"bash", "main.sh", "Y=1\nsleep 30 &\necho $!\n", NULL,
							       1000}, &out), 0);
	holder = strtol(cap.out, NULL, 10);
	CU_ASSERT_FATAL(holder > 1);
	CU_ASSERT_TRUE(out.timed_out);
	CU_ASSERT_FALSE(out.state_reset); /* the code was done: the driver lives on */
	CU_ASSERT_TRUE(pid_gone_soon(holder));
	CU_ASSERT_TRUE(pid_alive(detached));
	CU_ASSERT_EQUAL_FATAL(bash(fd, "echo \"Y=$Y\"\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "Y=1\n");
	/* the end of the session ends every process of the uid */
	session_close(fd);
	CU_ASSERT_TRUE(pid_gone_soon(detached));
}

/* The node driver needs vm's main-context loader and the internals it uses. */
static bool node_usable(void)
{
	int status = system("node --expose-internals -e \"require('internal/repl/await'); "
			    "require('internal/deps/acorn/acorn/dist/acorn'); "
			    "process.exit(require('vm').constants.USE_MAIN_CONTEXT_DEFAULT_LOADER ? 0 : 1)\" "
			    ">/dev/null 2>&1");
	return status == 0;
}

static void test_node_state(void)
{
	struct isol8_agent_exit out;
	char dep[512];
	FILE *f;
	int fd;

	if (!external_agent && !node_usable()) {
		CU_PASS("skipped: the host's node lacks what the node driver uses (checked in the image instead)");
		fprintf(stderr, "\n  node session skipped: the host's node lacks vm USE_MAIN_CONTEXT_DEFAULT_LOADER\n");
		return;
	}
	snprintf(dep, sizeof(dep), "%s/dep.mjs", sandbox_host_dir);
	f = fopen(dep, "we");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("export const k = 'dep';\nexport default 7;\n", f);
	fclose(f);
	fd = session_open("node");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(node(fd, "import { join } from 'node:path';\nimport d, { k } from './dep.mjs';\n"
				       "const x = 42;\nlet y = await Promise.resolve(1);\n"
				       "function f() { return x + y; }\nclass C { static v = 3; }\n"
				       "console.log(join('a', 'b'), d, k);\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "a/b 7 dep\n");
	CU_ASSERT_STRING_EQUAL(cap.err, "");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(node(fd, "process.stdout.write(`${x} ${f()} ${C.v} ${join('c', 'd')}\\n`);\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "42 43 3 c/d\n");
	/* the same declarations again, as a rerun of a file would have them */
	CU_ASSERT_EQUAL_FATAL(node(fd, "const x = 5;\nconsole.log(x);\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "5\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	/* an error: its stack, 1, the state kept; a rejection counts too */
	CU_ASSERT_EQUAL_FATAL(node(fd, "throw new Error('boom');\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 1);
	CU_ASSERT_FALSE(out.state_reset);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "Error: boom"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "main.mjs:1"));
	CU_ASSERT_EQUAL_FATAL(node(fd, "Promise.reject(new Error('late'));\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "Error: late"));
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log(x + 1);\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "6\n");
	/* stdin of the call */
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"node", "main.mjs",
				"import fs from 'node:fs';\nconsole.log(fs.readFileSync(0, 'utf8').trim());\n",
				"piped", 0}, &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "piped\n");
	/* process.exit ends the driver */
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log('bye');\nprocess.exit(4);\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 4);
	CU_ASSERT_TRUE(out.state_reset);
	CU_ASSERT_STRING_EQUAL(cap.out, "bye\n");
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log(typeof x);\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "undefined\n");
	/* unref'd timers live between calls (a fresh node would not wait for
	 * them); a busy loop is killed at the timeout */
	CU_ASSERT_EQUAL_FATAL(node(fd, "globalThis.ticks = 0;\nsetInterval(() => ticks++, 10).unref();\n", &out), 0);
	CU_ASSERT_FALSE(out.timed_out);
	usleep(200000);
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log(ticks > 5);\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "true\n");
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"node", "main.mjs", "for (;;) {}\n", NULL, 1000}, &out), 0);
	CU_ASSERT_TRUE(out.timed_out);
	CU_ASSERT_TRUE(out.state_reset);
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log(typeof ticks);\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "undefined\n");
	session_close(fd);
}

/* The code exec'ing another program closes the driver's status pipe
 * (close-on-exec): the call is that program's run, not a protocol break. */
static void test_exec_in_driver(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("bash");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "echo before; exec /bin/echo from-exec\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "before\nfrom-exec\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL(out.signal, 0);
	CU_ASSERT_TRUE(out.state_reset);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "echo fresh\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "fresh\n");
	CU_ASSERT_FALSE(out.state_reset);
	session_close(fd);
}

static void test_python_execv(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "import os\nprint('py', flush=True)\nos.execv('/bin/sh', ['sh', '-c', 'echo sh; exit 3'])\n",
				     &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "py\nsh\n");
	CU_ASSERT_EQUAL(out.exit_code, 3);
	CU_ASSERT_TRUE(out.state_reset);
	session_close(fd);
}

/* Code that keeps an fd on the call's stdout in the driver: the call ends
 * when the code is done, the driver lives on. */
static void test_kept_stdout(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("bash");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"bash", "main.sh", "K=1\nexec 3>&1\necho x >&3\n", NULL, 5000},
					   &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "x\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_FALSE(out.timed_out);
	CU_ASSERT_FALSE(out.state_reset);
	CU_ASSERT(out.duration_us < 2000000);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "echo \"K=$K\"\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "K=1\n");
	session_close(fd);
}

static void test_python_kept_stdout(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"python3", "main.py",
				"import os\nf = open('/dev/stdout', 'w')\nd = os.dup(1)\nprint('kept', file=f, flush=True)\n",
				NULL, 5000}, &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "kept\n");
	CU_ASSERT_FALSE(out.timed_out);
	CU_ASSERT_FALSE(out.state_reset);
	CU_ASSERT(out.duration_us < 2000000);
	CU_ASSERT_EQUAL_FATAL(python(fd, "print(d > 2)\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "True\n");
	session_close(fd);
}

/* A thread the code started and did not mark daemon is joined at the end
 * of its call (as a fresh python3 joins it at exit); sys.stdout closed in
 * one call is a new one in the next. */
static void test_python_thread_and_stdio(void)
{
	struct isol8_agent_exit out;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "import threading, time\n"
				     "def late():\n  time.sleep(0.3)\n  print('late', flush=True)\n"
				     "threading.Thread(target=late).start()\nprint('first', flush=True)\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "first\nlate\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "print('next')\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "next\n");
	/* joined also when the code raised, after its traceback */
	CU_ASSERT_EQUAL_FATAL(python(fd, "threading.Thread(target=late).start()\nraise ValueError('v')\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 1);
	CU_ASSERT_STRING_EQUAL(cap.out, "late\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "ValueError: v"));
	CU_ASSERT_EQUAL_FATAL(python(fd, "print('after')\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "after\n");
	CU_ASSERT_EQUAL_FATAL(python(fd, "import sys\nprint('a')\nsys.stdout.close()\nsys.stderr.close()\nsys.stdin.close()\n",
				     &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "a\n");
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"python3", "main.py",
				"import sys\nprint(input(), sys.stdout is sys.__stdout__)\nprint('e', file=sys.stderr)\n",
				"in\n", 0}, &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "in True\n");
	CU_ASSERT_STRING_EQUAL(cap.err, "e\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	session_close(fd);
}

/* An empty string in argv would end the driver's argv early: such a call
 * runs as its own program. */
static void test_empty_argument(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	struct call_req r;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "x = 1\n", &out), 0);
	call_build(&r, &(struct call){"python3", "main.py", "import sys\nprint(sys.argv[1:], 'x' in globals())\n", NULL, 0});
	r.argv[2] = "";
	r.req.n_argv = 3;
	memset(&cap, 0, sizeof(cap));
	CU_ASSERT_EQUAL_FATAL(isol8_agent_session_exec(fd, &r.req, &capture_io, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "[''] False\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "print(x)\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "1\n");
	session_close(fd);
}

/* $0 is the call's file, as for `bash file`. */
static void test_bash_argv0(void)
{
	char want[600];
	struct isol8_agent_exit out;
	int fd = session_open("bash");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(bash(fd, "cd /\necho \"$0\"\ncd \"$(dirname \"$0\")\" && pwd\n", &out), 0);
	snprintf(want, sizeof(want), "%s/main.sh\n%s\n", agent.sandbox_dir, agent.sandbox_dir);
	CU_ASSERT_STRING_EQUAL(cap.out, want);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	session_close(fd);
}

/* A pty call ends when its main process has exited: a background job still
 * holding the terminal is killed then (keep_detached: only such holders). */
static void test_pty_call_background(void)
{
	char *argv[] = {"bash", "-c", "trap '' HUP; sleep 20 & echo started $!", NULL};
	Isol8__Agent__V1__Exec req = ISOL8__AGENT__V1__EXEC__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	const char *at;
	long holder;
	int fd = session_open("bash");

	CU_ASSERT_FATAL(fd >= 0);
	req.n_argv = 3;
	req.argv = argv;
	req.n_env = ISOL8_ARRAY_LEN(path_env);
	req.env = path_env;
	req.timeout_ms = 10000;
	req.pty = true;
	memset(&cap, 0, sizeof(cap));
	CU_ASSERT_EQUAL_FATAL(isol8_agent_session_exec(fd, &req, &capture_io, &out, &err), 0);
	at = strstr(cap.out, "started ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	holder = strtol(at + 8, NULL, 10);
	CU_ASSERT_FATAL(holder > 1);
	CU_ASSERT_FALSE(out.timed_out);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT(out.duration_us < 3000000);
	CU_ASSERT_TRUE(pid_gone_soon(holder));
	session_close(fd);
}

/* Node: the call is over when the work it left pending is done (as a fresh
 * node exits then); a listening server is not waited for and serves the
 * next call. */
static void test_node_pending_work(void)
{
	struct isol8_agent_exit out;
	int fd;

	if (!external_agent && !node_usable()) {
		CU_PASS("skipped: the host's node lacks what the node driver uses");
		return;
	}
	fd = session_open("node");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(node(fd, "setTimeout(() => console.log('late'), 300);\nconsole.log('first');\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "first\nlate\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log('two');\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "two\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(node(fd, "setTimeout(() => { throw new Error('tick'); }, 100);\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap.err, "Error: tick"));
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log('three');\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_STRING_EQUAL(cap.err, "");
	CU_ASSERT_EQUAL_FATAL(node(fd, "import http from 'node:http';\n"
				       "globalThis.srv = http.createServer((q, r) => r.end('served')).listen(0);\n", &out), 0);
	CU_ASSERT_FALSE(out.timed_out);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(node(fd, "const r = await fetch(`http://127.0.0.1:${srv.address().port}/`);\n"
				       "console.log(await r.text());\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "served\n");
	CU_ASSERT_FALSE(out.timed_out);
	session_close(fd);
}

/* A call for a driver still busy with work of an earlier call (an unref'd
 * timer that spins) ends at its own timeout, with the driver. */
static void test_busy_driver(void)
{
	Isol8__Agent__V1__Signal sigterm = ISOL8__AGENT__V1__SIGNAL__INIT;
	isol8_frame signal_frame = ISOL8__AGENT__V1__FRAME__INIT;
	isol8_frame *then[1];
	Isol8__Agent__V1__Exit exit_msg;
	struct isol8_agent_exit out;
	struct call_req r;
	int fd;

	if (!external_agent && !node_usable()) {
		CU_PASS("skipped: the host's node lacks what the node driver uses");
		return;
	}
	fd = session_open("node");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(node(fd, "setTimeout(() => { const t = Date.now(); while (Date.now() - t < 40000); }, 50)"
				       ".unref();\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	usleep(200000);
	CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"node", "main.mjs", "console.log('no');\n", NULL, 2000}, &out),
			      0);
	CU_ASSERT_TRUE(out.timed_out);
	CU_ASSERT_TRUE(out.state_reset);
	CU_ASSERT(out.duration_us >= 1900000 && out.duration_us < 5000000);
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log('fresh');\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "fresh\n");
	CU_ASSERT_FALSE(out.state_reset);
	/* a Signal frame reaches the busy driver; one that ends it ends the call */
	CU_ASSERT_EQUAL_FATAL(node(fd, "setTimeout(() => { const t = Date.now(); while (Date.now() - t < 40000); }, 50)"
				       ".unref();\n", &out), 0);
	usleep(200000);
	call_build(&r, &(struct call){"node", "main.mjs", "console.log('no');\n", NULL, 10000});
	sigterm.signal = SIGTERM;
	signal_frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_SIGNAL;
	signal_frame.signal = &sigterm;
	then[0] = &signal_frame;
	CU_ASSERT_EQUAL_FATAL(raw_call(fd, &r.req, NULL, then, 1, &exit_msg), 0);
	CU_ASSERT_EQUAL(exit_msg.signal, SIGTERM);
	CU_ASSERT_TRUE(exit_msg.state_reset);
	CU_ASSERT_FALSE(exit_msg.timed_out);
	CU_ASSERT(exit_msg.duration_us < 3000000);
	CU_ASSERT_EQUAL_FATAL(node(fd, "console.log('again');\n", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "again\n");
	session_close(fd);
}

/* The helper that writes a call's files is the uid's, so the code can stop
 * it: the call then fails after EXEC_HELPER_MS instead of hanging the
 * session. A detached loop stops every isol8-agent process of the uid, and
 * many files keep the helper alive long enough to be caught. */
static void test_stopped_helper(void)
{
	enum { N = 4000 };
	static char paths[N][300];
	static Isol8__Agent__V1__File files[N + 1];
	static Isol8__Agent__V1__File *list[N + 1];
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	struct call_req r;
	int64_t start;
	int fd = session_open("python");

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(python(fd, "import subprocess\n"
				     "subprocess.Popen(['bash', '-c', 'while :; do pkill -STOP -u \"$(id -u)\" -x isol8-agent;"
				     " sleep 0.005; done'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,"
				     " stderr=subprocess.DEVNULL, start_new_session=True)\n", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	call_build(&r, &(struct call){"python3", "main.py", "print('ran')\n", NULL, 0});
	for (int i = 0; i < N; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/many/f%d", agent.sandbox_dir, i);
		files[i] = (Isol8__Agent__V1__File)ISOL8__AGENT__V1__FILE__INIT;
		files[i].path = paths[i];
		files[i].content = (ProtobufCBinaryData){1, (uint8_t *)"x"};
		list[i] = &files[i];
	}
	list[N] = &r.file;
	r.req.n_files = N + 1;
	r.req.files = list;
	memset(&cap, 0, sizeof(cap));
	start = isol8_now_ms();
	CU_ASSERT_NOT_EQUAL(isol8_agent_session_exec(fd, &r.req, &capture_io, &out, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "did not finish in 5000 ms"));
	CU_ASSERT(isol8_now_ms() - start < 9000);
	session_close(fd);
}

static void test_driver_table(void)
{
	CU_ASSERT_PTR_NOT_NULL(isol8_driver_find("python"));
	CU_ASSERT_PTR_NOT_NULL(isol8_driver_find("node"));
	CU_ASSERT_PTR_NOT_NULL(isol8_driver_find("bash"));
	CU_ASSERT_PTR_NULL(isol8_driver_find("bun"));
	CU_ASSERT_PTR_NULL(isol8_driver_find("deno"));
	CU_ASSERT_STRING_EQUAL(isol8_driver_find("python")->argv[0], "python3");
}

/* A driver that exits as soon as it has the call (`exit 5` first thing)
 * may be gone while the call is still being handed over, its SIGCHLD read
 * then: the call still ends at once with its status. Repeated, since it
 * is a race. */
static void test_driver_gone_during_handover(void)
{
	for (int i = 0; i < 25; i++) {
		struct isol8_agent_exit out;
		int fd = session_open("bash");

		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL_FATAL(session_call(fd, &(struct call){"bash", "main.sh", "exit 5", NULL, 5000}, &out), 0);
		CU_ASSERT_EQUAL(out.exit_code, 5);
		CU_ASSERT_FALSE(out.timed_out);
		CU_ASSERT_TRUE(out.state_reset);
		session_close(fd);
		if (out.timed_out)
			break;
	}
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"driver table", test_driver_table},
		{"python: state persists", test_python_state},
		{"python: an exception keeps the state", test_python_exception},
		{"python: sys.exit and a crash reset it", test_python_exit_resets},
		{"python: timeout resets", test_python_timeout},
		{"python: stdin per call", test_python_stdin},
		{"python: Signal and Stdin frames, output cap, usage", test_python_frames},
		{"python: another program in a session", test_other_call_in_session},
		{"python: closing the session kills the driver", test_close_kills_driver},
		{"bash: variables, functions, cwd", test_bash_state},
		{"bash: background jobs", test_bash_background},
		{"node: state, imports, errors", test_node_state},
		{"bash: exec in the code is the call's program", test_exec_in_driver},
		{"bash: a driver gone during the hand-over", test_driver_gone_during_handover},
		{"bash: an fd kept on stdout does not hold the call", test_kept_stdout},
		{"python: os.execv in the code is the call's program", test_python_execv},
		{"python: an fd kept on stdout does not hold the call", test_python_kept_stdout},
		{"python: threads joined, std streams per call", test_python_thread_and_stdio},
		{"python: an empty argument runs outside the driver", test_empty_argument},
		{"bash: $0 is the call's file", test_bash_argv0},
		{"bash: a pty call ends with its main process", test_pty_call_background},
		{"node: pending work is the call's, servers live on", test_node_pending_work},
		{"node: a busy driver, the call's timeout and Signal", test_busy_driver},
		{"python: a stopped file writer fails the call", test_stopped_helper},
	};

	struct isol8_test chosen[ISOL8_TESTS_LEN(tests)];
	const char *only = getenv("ISOL8_SESSION_ONLY");
	size_t n = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "unit_agent_session needs root (the agent switches uids)\n");
		return 1;
	}
	for (size_t i = 0; i < ISOL8_TESTS_LEN(tests); i++) {
		const char *colon = strchr(tests[i].name, ':');
		if (only == NULL || colon == NULL ||
		    ((size_t)(colon - tests[i].name) == strlen(only) && strncmp(tests[i].name, only, strlen(only)) == 0))
			chosen[n++] = tests[i];
	}
	return isol8_test_run("agent_session", suite_init, suite_cleanup, chosen, n);
}
