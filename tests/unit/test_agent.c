/*
 * Unit tests: isol8-agent with its client. The real static agent runs on the
 * host (we are root) with its socket and sandbox dir in a temp dir, and real
 * programs are executed through it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_fixture.h"
#include "sandbox/agent_client.h"
#include "runner.h"
#include "base/util.h"

#define SANDBOX_UID 64000 /* the agent's --uid/--gid: no host process uses it */
#define OTHER_UID 65534
#define CAPTURE_MAX (4u * 1024u * 1024u)

static struct agent_fixture agent;

struct capture {
	char out[CAPTURE_MAX];
	char err[64 * 1024];
	size_t out_len, err_len;
	int stop_after; /* on_output returns 1 after this many calls, 0 = never */
	int calls;
	int64_t cancel_at_ms; /* cancelled() is true from then on, 0 = never */
};

static struct capture cap;

static int capture_output(void *userdata, int stream, const uint8_t *data, size_t len)
{
	struct capture *c = userdata;
	char *buf = stream == 1 ? c->out : c->err;
	size_t *used = stream == 1 ? &c->out_len : &c->err_len;
	size_t room = (stream == 1 ? sizeof(c->out) : sizeof(c->err)) - 1 - *used;

	memcpy(buf + *used, data, len < room ? len : room);
	*used += len < room ? len : room;
	buf[*used] = '\0';
	c->calls++;
	return c->stop_after > 0 && c->calls >= c->stop_after ? 1 : 0;
}

static bool capture_cancelled(void *userdata)
{
	struct capture *c = userdata;
	return c->cancel_at_ms > 0 && isol8_now_ms() >= c->cancel_at_ms;
}

static const struct isol8_agent_exec_io capture_io = {capture_output, capture_cancelled, &cap};

/* Runs req, capturing output into cap; returns the client's result. */
static int run(const Isol8__Agent__V1__Exec *req, struct isol8_agent_exit *out, struct isol8_error *err)
{
	memset(&cap, 0, sizeof(cap));
	memset(out, 0, sizeof(*out));
	return isol8_agent_exec(agent.sock_path, req, &capture_io, out, err);
}

static int run_sh_as(const char *script, bool keep_detached, struct isol8_agent_exit *out)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	int ret;

	req.keep_detached = keep_detached;
	ret = run(&req, out, &err);

	if (ret != 0)
		fprintf(stderr, "\n  exec \"%s\": %s\n", script, err.message);
	return ret;
}

static int run_sh(const char *script, struct isol8_agent_exit *out)
{
	return run_sh_as(script, false, out);
}

static int suite_init(void)
{
	return agent_fixture_start(&agent, "agent", SANDBOX_UID, 0755);
}

static int suite_cleanup(void)
{
	return agent_fixture_stop(&agent);
}

static void test_wait_ready_missing_socket(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	int64_t start = isol8_now_ms();

	CU_ASSERT_EQUAL(isol8_agent_wait_ready("/nonexistent/agent.sock", 200, &err), -ISOL8_E_UNAVAILABLE);
	CU_ASSERT(isol8_now_ms() - start >= 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "/nonexistent/agent.sock"));
}

static void test_stdout(void)
{
	char *argv[] = {"echo", "hello", NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;

	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "hello\n");
	CU_ASSERT_EQUAL(cap.err_len, 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL(out.signal, 0);
	CU_ASSERT_FALSE(out.timed_out);
	CU_ASSERT_FALSE(out.truncated);
	CU_ASSERT(out.duration_us > 0 && out.duration_us < 2000000);
	CU_ASSERT(out.max_rss_kb > 0);
}

static void test_stderr_separate(void)
{
	struct isol8_agent_exit out;

	CU_ASSERT_EQUAL_FATAL(run_sh("echo out; echo err >&2; echo out2", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "out\nout2\n");
	CU_ASSERT_STRING_EQUAL(cap.err, "err\n");
}

static void test_exit_code(void)
{
	struct isol8_agent_exit out;

	CU_ASSERT_EQUAL_FATAL(run_sh("exit 42", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 42);
	CU_ASSERT_EQUAL(out.signal, 0);
	CU_ASSERT_EQUAL_FATAL(run_sh("kill -TERM $$", &out), 0);
	CU_ASSERT_EQUAL(out.signal, SIGTERM);
	CU_ASSERT_EQUAL(out.exit_code, 128 + SIGTERM);
}

static void test_stdin(void)
{
	char *argv[] = {"cat", NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	static char big[300000];

	req.stdin.data = (uint8_t *)"line one\nline two\n";
	req.stdin.len = strlen("line one\nline two\n");
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "line one\nline two\n");
	CU_ASSERT_EQUAL(out.exit_code, 0);

	/* More than a pipe holds, so stdin and stdout must flow together. */
	memset(big, 'x', sizeof(big));
	req.stdin.data = (uint8_t *)big;
	req.stdin.len = sizeof(big);
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_EQUAL(cap.out_len, sizeof(big));
}

static void check_timeout(char **argv)
{
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	int64_t start = isol8_now_ms();

	req.timeout_ms = 500;
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT(isol8_now_ms() - start < 1500);
	CU_ASSERT(isol8_now_ms() - start >= 500);
	CU_ASSERT_TRUE(out.timed_out);
	CU_ASSERT_EQUAL(out.signal, SIGKILL);
}

static void test_timeout(void)
{
	char *sleep_argv[] = {"sleep", "30", NULL};
	char *busy_argv[] = {"sh", "-c", "while :; do :; done", NULL};
	char *group_argv[] = {"sh", "-c", "sleep 30 & sleep 30 & wait", NULL};

	check_timeout(sleep_argv);
	check_timeout(busy_argv);
	check_timeout(group_argv);
}

static void test_output_cap(void)
{
	/* Past the cap output is dropped, the program runs on to its own exit. */
	char *argv[] = {"sh", "-c", "yes | head -c 200000; echo done >&2; exit 3", NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	int64_t start = isol8_now_ms();

	req.max_output_bytes = 1000;
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_EQUAL(cap.out_len + cap.err_len, 1000);
	CU_ASSERT_EQUAL(strspn(cap.out, "y\n"), 1000);
	CU_ASSERT_TRUE(out.truncated);
	CU_ASSERT_FALSE(out.timed_out);
	CU_ASSERT_EQUAL(out.exit_code, 3);
	CU_ASSERT(isol8_now_ms() - start < 2000);

	/* A runaway writer is still stopped by the timeout. */
	req = agent_fixture_exec((char *[]){"yes", NULL});
	req.max_output_bytes = 1000;
	req.timeout_ms = 500;
	start = isol8_now_ms();
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_EQUAL(cap.out_len, 1000);
	CU_ASSERT_TRUE(out.truncated);
	CU_ASSERT_TRUE(out.timed_out);
	CU_ASSERT(isol8_now_ms() - start < 2000);

	/* Exactly the cap is not truncated; both streams count. */
	CU_ASSERT_EQUAL_FATAL(run_sh("printf 12345; printf 67890 >&2", &out), 0);
	req = agent_fixture_exec((char *[]){"sh", "-c", "printf 12345; printf 67890 >&2", NULL});
	req.max_output_bytes = 10;
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_EQUAL(cap.out_len + cap.err_len, 10);
	CU_ASSERT_FALSE(out.truncated);
	req.max_output_bytes = 7;
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_EQUAL(cap.out_len + cap.err_len, 7);
	CU_ASSERT_TRUE(out.truncated);
}

static void test_identity(void)
{
	char *argv[] = {"sh", "-c", "id -u; id -g; id -G", NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;

	req.uid = OTHER_UID;
	req.gid = OTHER_UID;
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "65534\n65534\n65534\n");

	/* Defaults: the agent's sandbox user, cwd the sandbox dir. */
	CU_ASSERT_EQUAL_FATAL(run_sh("id -u; id -g; id -G; pwd; ulimit -c", &out), 0);
	char want[512];
	snprintf(want, sizeof(want), "64000\n64000\n64000\n%s\n0\n", agent.sandbox_dir);
	CU_ASSERT_STRING_EQUAL(cap.out, want);
}

static void test_env_exact(void)
{
	char *argv[] = {"env", NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;

	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "PATH=/usr/local/bin:/usr/bin:/bin\nLANG=C\n");

	/* argv[0] is looked up in the exec's PATH, not the agent's. */
	char *no_path_env[] = {"PATH=/nonexistent"};
	req.env = no_path_env;
	req.n_env = 1;
	CU_ASSERT_EQUAL(run(&req, &out, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "\"env\""));
}

static bool process_alive(pid_t pid);
static bool wait_gone(pid_t pid, int timeout_ms);

/* The run ends when the output is closed by every process holding it, then
 * what is left of the program is killed. */
static void test_background_child(void)
{
	struct isol8_agent_exit out;
	int64_t start = isol8_now_ms();
	pid_t detached;

	/* a child holding the output: the run waits for it */
	CU_ASSERT_EQUAL_FATAL(run_sh("(sleep 0.3; echo late) & echo early", &out), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "early\nlate\n");
	CU_ASSERT(isol8_now_ms() - start >= 300);
	/* a child that let go of it: the run ends at once, and the child with it */
	start = isol8_now_ms();
	CU_ASSERT_EQUAL_FATAL(run_sh("setsid sleep 100 </dev/null >/dev/null 2>&1 & echo $!", &out), 0);
	CU_ASSERT(isol8_now_ms() - start < 1500);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	detached = (pid_t)atoi(cap.out);
	CU_ASSERT_FATAL(detached > 0);
	CU_ASSERT_TRUE(wait_gone(detached, 1000));
	/* with keep_detached (a session) it lives on, once it has let go */
	CU_ASSERT_EQUAL_FATAL(run_sh_as("setsid sleep 100 </dev/null >/dev/null 2>&1 & sleep 0.2; echo $!", true, &out),
			      0);
	detached = (pid_t)atoi(cap.out);
	usleep(100000);
	CU_ASSERT_TRUE(process_alive(detached));
	kill(detached, SIGKILL);
	CU_ASSERT_TRUE(wait_gone(detached, 1000));
	/* a background job of a shell without job control is in its group:
	 * with keep_detached, one that let go lives on all the same */
	CU_ASSERT_EQUAL_FATAL(run_sh_as("nohup sleep 100 </dev/null >/dev/null 2>&1 & echo $!", true, &out), 0);
	detached = (pid_t)atoi(cap.out);
	usleep(200000);
	CU_ASSERT_TRUE(process_alive(detached));
	kill(detached, SIGKILL);
	CU_ASSERT_TRUE(wait_gone(detached, 1000));
}

/* At the timeout, keep_detached kills the pipes' holders, one that made
 * itself non-dumpable (its fds unreadable to the scan) too. */
static void test_hidden_holder_killed(void)
{
	char *argv[] = {"sh", "-c",
			"python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(4, 0); time.sleep(100)' & echo $!; "
			"sleep 100",
			NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	pid_t holder;

	req.keep_detached = true;
	req.timeout_ms = 1000;
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_TRUE(out.timed_out);
	holder = (pid_t)atoi(cap.out);
	CU_ASSERT_FATAL(holder > 0);
	CU_ASSERT_TRUE(wait_gone(holder, 1000));
}

static void test_files(void)
{
	char *argv[] = {"sh", "-c", "cat sub/dir/data.txt; cat /proc/self/status >/dev/null", NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	Isol8__Agent__V1__File file = ISOL8__AGENT__V1__FILE__INIT;
	Isol8__Agent__V1__File *files[] = {&file};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	char path[512];
	struct stat st;

	file.path = "sub/dir/data.txt";
	file.content.data = (uint8_t *)"file content\n";
	file.content.len = strlen("file content\n");
	file.mode = 0600;
	req.files = files;
	req.n_files = 1;
	CU_ASSERT_EQUAL_FATAL(run(&req, &out, &err), 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "file content\n");
	snprintf(path, sizeof(path), "%s/sub/dir/data.txt", agent.sandbox_dir);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_uid, SANDBOX_UID);
	CU_ASSERT_EQUAL(st.st_gid, SANDBOX_UID);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);

	/* ".." is refused. */
	file.path = "../escape.txt";
	CU_ASSERT_EQUAL(run(&req, &out, &err), -ISOL8_E_INVALID);
}

static void test_bad_requests(void)
{
	char *missing[] = {"no-such-program-isol8", NULL};
	char *empty[] = {NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(missing);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;

	CU_ASSERT_EQUAL(run(&req, &out, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no-such-program-isol8"));
	isol8_error_clear(&err);
	req = agent_fixture_exec(empty);
	CU_ASSERT_EQUAL(run(&req, &out, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);
	req = agent_fixture_exec((char *[]){"true", NULL});
	req.cwd = "/tmp/../etc";
	CU_ASSERT_EQUAL(run(&req, &out, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "cwd"));
}

static void test_cancel(void)
{
	char *argv[] = {"sleep", "30", NULL};
	Isol8__Agent__V1__Exec req = agent_fixture_exec(argv);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	int64_t start;

	memset(&cap, 0, sizeof(cap));
	start = isol8_now_ms();
	cap.cancel_at_ms = start + 200;
	CU_ASSERT_EQUAL(isol8_agent_exec(agent.sock_path, &req, &capture_io, &out, &err), -ISOL8_E_CANCELLED);
	CU_ASSERT(isol8_now_ms() - start < 1000);

	/* on_output returning nonzero stops the run too. */
	isol8_error_clear(&err);
	memset(&cap, 0, sizeof(cap));
	cap.stop_after = 1;
	req = agent_fixture_exec((char *[]){"yes", NULL});
	start = isol8_now_ms();
	CU_ASSERT_EQUAL(isol8_agent_exec(agent.sock_path, &req, &capture_io, &out, &err), -ISOL8_E_CANCELLED);
	CU_ASSERT(isol8_now_ms() - start < 2000);
}

/* Whether pid is a live process (not gone, not a zombie). */
static bool process_alive(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		if (strncmp(buf, "State:", 6) == 0)
			alive = strchr(buf, 'Z') == NULL;
	}
	fclose(f);
	return alive;
}

static bool wait_gone(pid_t pid, int timeout_ms)
{
	int64_t deadline = isol8_now_ms() + timeout_ms;

	while (process_alive(pid)) {
		if (isol8_now_ms() > deadline)
			return false;
		usleep(10000);
	}
	return true;
}

/* Entries of a directory other than "." and ".."; -1 if it cannot be read. */
static int count_entries(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	int entries = 0;

	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(dir);
	return entries;
}

static void test_reset(void)
{
	const char *wipe[] = {agent.sandbox_dir, NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;
	char outside[300], link_cmd[1024], path[512];
	struct stat st;
	pid_t lingering;

	/* A file outside the sandbox that a link inside points to. */
	snprintf(outside, sizeof(outside), "%s/outside", agent.test_dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(outside, 0755), 0);
	snprintf(path, sizeof(path), "%s/keep.txt", outside);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	snprintf(link_cmd, sizeof(link_cmd),
		 "mkdir -p a/b/c && echo x > a/b/c/f && echo y > .hidden && ln -s %s link && "
		 "mkdir locked && touch locked/f && chmod 000 locked && "
		 "setsid sleep 100 </dev/null >/dev/null 2>&1 & sleep 0.3; echo $!",
		 outside);
	CU_ASSERT_EQUAL_FATAL(run_sh_as(link_cmd, true, &out), 0);
	lingering = (pid_t)atoi(cap.out);
	CU_ASSERT_FATAL(lingering > 0);
	usleep(100000);
	CU_ASSERT_TRUE_FATAL(process_alive(lingering)); /* it left the group: still running */

	CU_ASSERT_EQUAL_FATAL(isol8_agent_reset(agent.sock_path, SANDBOX_UID, wipe, 5000, &err), 0);
	CU_ASSERT_TRUE(wait_gone(lingering, 1000));
	CU_ASSERT_EQUAL(stat(agent.sandbox_dir, &st), 0);
	CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
	CU_ASSERT_EQUAL(count_entries(agent.sandbox_dir), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0); /* the link's target survived */

	/* Root is refused; a relative wipe path is refused. */
	CU_ASSERT_EQUAL(isol8_agent_reset(agent.sock_path, 0, NULL, 5000, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);
	const char *relative[] = {"sandbox", NULL};
	CU_ASSERT_EQUAL(isol8_agent_reset(agent.sock_path, SANDBOX_UID, relative, 5000, &err), -ISOL8_E_INVALID);
}

static void test_reset_deep_tree(void)
{
	const char *wipe[] = {agent.sandbox_dir, NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_agent_exit out;

	/* Deeper than the agent descends at once (it moves deep parts up). */
	CU_ASSERT_EQUAL_FATAL(run_sh("i=0; while [ $i -lt 100 ]; do mkdir d && cd d && touch f; i=$((i+1)); done", &out), 0);
	CU_ASSERT_EQUAL(out.exit_code, 0);
	CU_ASSERT_EQUAL_FATAL(isol8_agent_reset(agent.sock_path, SANDBOX_UID, wipe, 5000, &err), 0);
	CU_ASSERT_EQUAL(count_entries(agent.sandbox_dir), 0);
}

struct collected {
	uint8_t *data;
	size_t len, cap;
};

static int collect_chunk(void *userdata, const uint8_t *data, size_t len)
{
	struct collected *c = userdata;

	if (c->len + len > c->cap)
		return -ISOL8_E_EXHAUSTED;
	memcpy(c->data + c->len, data, len);
	c->len += len;
	return 0;
}

static void test_put_get_file(void)
{
	const size_t size = 3u * 1024u * 1024u + 12345u;
	_cleanup_free_ uint8_t *data = malloc(size);
	_cleanup_free_ uint8_t *back = malloc(size);
	struct collected got = {back, 0, size};
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[512];
	struct stat st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	snprintf(path, sizeof(path), "%s/up/load/blob.bin", agent.sandbox_dir);
	CU_ASSERT_EQUAL_FATAL(isol8_agent_put_file(agent.sock_path, path, data, size, 0640, 0, 0, &err), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, (off_t)size);
	CU_ASSERT_EQUAL(st.st_uid, SANDBOX_UID);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	CU_ASSERT_EQUAL_FATAL(isol8_agent_get_file(agent.sock_path, path, collect_chunk, &got, &err), 0);
	CU_ASSERT_EQUAL_FATAL(got.len, size);
	CU_ASSERT_EQUAL(memcmp(data, back, size), 0);

	/* Empty file. */
	CU_ASSERT_EQUAL_FATAL(isol8_agent_put_file(agent.sock_path, path, data, 0, 0, 0, 0, &err), 0);
	got.len = 0;
	CU_ASSERT_EQUAL_FATAL(isol8_agent_get_file(agent.sock_path, path, collect_chunk, &got, &err), 0);
	CU_ASSERT_EQUAL(got.len, 0);

	/* Refused paths and missing files. */
	snprintf(path, sizeof(path), "%s/../x", agent.sandbox_dir);
	CU_ASSERT_EQUAL(isol8_agent_get_file(agent.sock_path, path, collect_chunk, &got, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_agent_put_file(agent.sock_path, "relative/x", data, 1, 0, 0, 0, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);
	snprintf(path, sizeof(path), "%s/missing", agent.sandbox_dir);
	CU_ASSERT_EQUAL(isol8_agent_get_file(agent.sock_path, path, collect_chunk, &got, &err), -ISOL8_E_NOT_FOUND);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_agent_get_file(agent.sock_path, agent.sandbox_dir, collect_chunk, &got, &err),
			-ISOL8_E_INVALID);
}

/* A file source of pieces of one buffer, sizes cycling through sizes[];
 * abort_at: after that many bytes it aborts (0: never). */
struct pieces {
	const uint8_t *data;
	size_t len, off;
	const size_t *sizes;
	size_t n_sizes, calls;
	size_t abort_at;
};

static int pieces_next(void *userdata, const uint8_t **data, size_t *len)
{
	struct pieces *p = userdata;
	size_t n = p->sizes[p->calls++ % p->n_sizes];

	if (p->abort_at > 0 && p->off >= p->abort_at)
		return -ISOL8_E_INVALID;
	if (p->off == p->len)
		return 0;
	n = n < p->len - p->off ? n : p->len - p->off;
	*data = p->data + p->off;
	*len = n;
	p->off += n;
	return 1;
}

static void test_put_file_stream(void)
{
	/* empty pieces, pieces above a frame's chunk, small ones */
	static const size_t sizes[] = {0, 2500000, 1, 4096, ISOL8_AGENT_PUT_CHUNK, 333333};
	const size_t size = 9u * 1024u * 1024u + 7u;
	_cleanup_free_ uint8_t *data = malloc(size);
	_cleanup_free_ uint8_t *back = malloc(size);
	struct collected got = {back, 0, size};
	struct pieces src = {data, size, 0, sizes, ISOL8_ARRAY_LEN(sizes), 0, 0};
	struct isol8_error err = ISOL8_ERROR_INIT;
	uint64_t written = 1;
	char path[512];
	struct stat st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 40503u >> 7);
	snprintf(path, sizeof(path), "%s/stream/blob.bin", agent.sandbox_dir);
	CU_ASSERT_EQUAL_FATAL(
		isol8_agent_put_file_stream(agent.sock_path, path, 0755, 0, 0, pieces_next, &src, &written, &err), 0);
	CU_ASSERT_EQUAL(written, size);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0755);
	CU_ASSERT_EQUAL(st.st_uid, SANDBOX_UID);
	CU_ASSERT_EQUAL_FATAL(isol8_agent_get_file(agent.sock_path, path, collect_chunk, &got, &err), 0);
	CU_ASSERT_EQUAL_FATAL(got.len, size);
	CU_ASSERT_EQUAL(memcmp(data, back, size), 0);

	/* A source that aborts: its code, and no partial file left. */
	src = (struct pieces){data, size, 0, sizes, ISOL8_ARRAY_LEN(sizes), 0, 3u * 1024u * 1024u};
	snprintf(path, sizeof(path), "%s/stream/aborted.bin", agent.sandbox_dir);
	CU_ASSERT_EQUAL(isol8_agent_put_file_stream(agent.sock_path, path, 0, 0, 0, pieces_next, &src, &written, &err),
			-ISOL8_E_INVALID);
	CU_ASSERT_EQUAL(written, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "stopped by the file source"));
	/* the agent removes the file once it sees the connection end */
	for (int i = 0; i < 100 && stat(path, &st) == 0; i++)
		usleep(10000);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
}

/* Only /sandbox and /tmp, never through a link, permission bits only. */
static void test_file_paths_refused(void)
{
	static const char *const outside[] = {"/etc/passwd", "/etc/x", "/sandboxx/a", "/tmpx/a", "/sandbox",
					      "/tmp", "/tmp/", "/tmp/../etc/passwd", "/tmp//x", "relative"};
	uint8_t back[64];
	struct collected got = {back, 0, sizeof(back)};
	struct isol8_error err = ISOL8_ERROR_INIT;
	char link[400], path[512];

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(outside); i++) {
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(isol8_agent_get_file(agent.sock_path, outside[i], collect_chunk, &got, &err),
				-ISOL8_E_INVALID);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "under /sandbox or /tmp"));
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(
			isol8_agent_put_file(agent.sock_path, outside[i], (const uint8_t *)"x", 1, 0, 0, 0, &err),
			-ISOL8_E_INVALID);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "under /sandbox or /tmp"));
	}
	/* a link as an intermediate component, both ways */
	snprintf(link, sizeof(link), "%s/link", agent.sandbox_dir);
	CU_ASSERT_EQUAL_FATAL(symlink("/etc", link), 0);
	snprintf(path, sizeof(path), "%s/passwd", link);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_agent_get_file(agent.sock_path, path, collect_chunk, &got, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "is a symbolic link"));
	snprintf(path, sizeof(path), "%s/isol8-agent-test-planted", link);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_agent_put_file(agent.sock_path, path, (const uint8_t *)"x", 1, 0, 0, 0, &err),
			-ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "is a symbolic link"));
	CU_ASSERT_NOT_EQUAL(access("/etc/isol8-agent-test-planted", F_OK), 0);
	/* a link as the last component, both ways */
	snprintf(link, sizeof(link), "%s/flink", agent.sandbox_dir);
	CU_ASSERT_EQUAL_FATAL(symlink("/etc/hostname", link), 0);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_agent_get_file(agent.sock_path, link, collect_chunk, &got, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_agent_put_file(agent.sock_path, link, (const uint8_t *)"x", 1, 0, 0, 0, &err),
			-ISOL8_E_INVALID);
	/* setuid, setgid, sticky bits are refused */
	snprintf(path, sizeof(path), "%s/suid", agent.sandbox_dir);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_agent_put_file(agent.sock_path, path, (const uint8_t *)"x", 1, 04755, 0, 0, &err),
			-ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "mode 04755 has bits outside 0777"));
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	unlink(link);
	snprintf(link, sizeof(link), "%s/link", agent.sandbox_dir);
	unlink(link);
}

/* --- the raw protocol --- */

static int raw_connect(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	int fd = -1;

	CU_ASSERT_EQUAL(isol8_agent_connect(agent.sock_path, &fd, &err), 0);
	return fd;
}

/* Reads frames until one of the wanted kind; appends Output data to cap. */
static isol8_frame *raw_read_until(int fd, Isol8__Agent__V1__Frame__BodyCase want)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame *frame = NULL;

	while (isol8_frame_read(fd, &frame, 5000, &err) == 1) {
		if (frame->body_case == want)
			return frame;
		if (frame->body_case == ISOL8__AGENT__V1__FRAME__BODY_OUTPUT)
			capture_output(&cap, frame->output->stream, frame->output->data.data, frame->output->data.len);
		isol8_frame_free(frame);
		frame = NULL;
	}
	return NULL;
}

static void raw_send_exec(int fd, Isol8__Agent__V1__Exec *req)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;

	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_EXEC;
	frame.exec = req;
	CU_ASSERT_EQUAL(isol8_frame_write(fd, &frame, &err), 0);
}

static void raw_send_stdin(int fd, const char *text, bool eof)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Stdin in = ISOL8__AGENT__V1__STDIN__INIT;

	in.data.data = (uint8_t *)text;
	in.data.len = strlen(text);
	in.eof = eof;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_STDIN;
	frame.stdin = &in;
	CU_ASSERT_EQUAL(isol8_frame_write(fd, &frame, &err), 0);
}

static void test_stdin_frames(void)
{
	Isol8__Agent__V1__Exec req = agent_fixture_exec((char *[]){"cat", NULL});
	_cleanup_close_ int fd = raw_connect();
	isol8_frame *exit_frame;

	memset(&cap, 0, sizeof(cap));
	req.stdin_open = true;
	req.stdin.data = (uint8_t *)"first ";
	req.stdin.len = 6;
	raw_send_exec(fd, &req);
	raw_send_stdin(fd, "second ", false);
	raw_send_stdin(fd, "third", true);
	exit_frame = raw_read_until(fd, ISOL8__AGENT__V1__FRAME__BODY_EXIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(exit_frame);
	CU_ASSERT_EQUAL(exit_frame->exit->exit_code, 0);
	CU_ASSERT_STRING_EQUAL(cap.out, "first second third");
	isol8_frame_free(exit_frame);
}

static void test_signal_frame(void)
{
	Isol8__Agent__V1__Exec req = agent_fixture_exec((char *[]){"sh", "-c", "echo ready; sleep 30", NULL});
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Signal sig = ISOL8__AGENT__V1__SIGNAL__INIT;
	_cleanup_close_ int fd = raw_connect();
	isol8_frame *got;

	memset(&cap, 0, sizeof(cap));
	raw_send_exec(fd, &req);
	got = raw_read_until(fd, ISOL8__AGENT__V1__FRAME__BODY_OUTPUT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	isol8_frame_free(got);
	/* Other requests are served meanwhile. */
	CU_ASSERT_EQUAL(isol8_agent_wait_ready(agent.sock_path, 1000, &err), 0);
	sig.signal = SIGTERM;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_SIGNAL;
	frame.signal = &sig;
	CU_ASSERT_EQUAL(isol8_frame_write(fd, &frame, &err), 0);
	got = raw_read_until(fd, ISOL8__AGENT__V1__FRAME__BODY_EXIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(got->exit->signal, SIGTERM);
	CU_ASSERT_FALSE(got->exit->timed_out);
	isol8_frame_free(got);
}

static void test_host_disconnect_kills(void)
{
	Isol8__Agent__V1__Exec req = agent_fixture_exec((char *[]){"sh", "-c", "echo $$; exec sleep 30", NULL});
	int fd = raw_connect();
	isol8_frame *got;
	pid_t pid;

	memset(&cap, 0, sizeof(cap));
	raw_send_exec(fd, &req);
	got = raw_read_until(fd, ISOL8__AGENT__V1__FRAME__BODY_OUTPUT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	pid = (pid_t)atoi((const char *)got->output->data.data);
	isol8_frame_free(got);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE(process_alive(pid));
	close(fd);
	CU_ASSERT_TRUE(wait_gone(pid, 1000));
}

/* Sends raw bytes as a request; expects an Error frame, then EOF. */
static void check_rejected(const uint8_t *bytes, size_t len)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	_cleanup_close_ int fd = raw_connect();
	isol8_frame *got = NULL;

	CU_ASSERT_EQUAL_FATAL(isol8_write_full(fd, bytes, len), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_read(fd, &got, 5000, &err), 1);
	CU_ASSERT_EQUAL(got->body_case, ISOL8__AGENT__V1__FRAME__BODY_ERROR);
	isol8_frame_free(got);
	got = NULL;
	/* Then the connection ends: EOF, or a reset when bytes were left unread. */
	CU_ASSERT(isol8_frame_read(fd, &got, 5000, &err) <= 0);
	CU_ASSERT_PTR_NULL(got);
	/* The agent goes on serving. */
	CU_ASSERT_EQUAL(isol8_agent_wait_ready(agent.sock_path, 1000, &err), 0);
}

static void test_malformed_frames(void)
{
	const uint8_t garbage[] = {0, 0, 0, 9, 0xff, 0xfe, 0xfd, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06};
	const uint8_t oversized[] = {0xff, 0xff, 0xff, 0xf0, 'x', 'y'};
	const uint8_t just_over[] = {0x00, 0x40, 0x00, 0x01};
	const uint8_t empty_frame[] = {0, 0, 0, 0}; /* a Frame without a body */
	const uint8_t pong[] = {0, 0, 0, 2, 0x12, 0x00};   /* a Pong is no request */

	check_rejected(garbage, sizeof(garbage));
	check_rejected(oversized, sizeof(oversized));
	check_rejected(just_over, sizeof(just_over));
	check_rejected(empty_frame, sizeof(empty_frame));
	check_rejected(pong, sizeof(pong));
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"wait_ready names a socket that never answers", test_wait_ready_missing_socket},
		{"stdout", test_stdout},
		{"stderr separately", test_stderr_separate},
		{"exit code and signal", test_exit_code},
		{"stdin reaches cat", test_stdin},
		{"timeout kills the group", test_timeout},
		{"output cap", test_output_cap},
		{"uid/gid", test_identity},
		{"exact env and its PATH", test_env_exact},
		{"the run ends when its output closes", test_background_child},
		{"a hidden holder is killed at the timeout", test_hidden_holder_killed},
		{"files written before exec", test_files},
		{"bad requests", test_bad_requests},
		{"cancel and output abort", test_cancel},
		{"reset kills and wipes", test_reset},
		{"reset of a deep tree", test_reset_deep_tree},
		{"put_file and get_file", test_put_get_file},
		{"put_file from a source of chunks", test_put_file_stream},
		{"file paths outside the trees or through links", test_file_paths_refused},
		{"Stdin frames", test_stdin_frames},
		{"Signal frame", test_signal_frame},
		{"host disconnect kills", test_host_disconnect_kills},
		{"malformed frames", test_malformed_frames},
	};

	if (geteuid() != 0) {
		fprintf(stderr, "unit_agent needs root (the agent switches uids)\n");
		return 1;
	}
	return isol8_test_run("agent", suite_init, suite_cleanup, tests, ISOL8_TESTS_LEN(tests));
}
