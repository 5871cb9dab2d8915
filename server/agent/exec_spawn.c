/*
 * Starting an exec's program. The child, before execve:
 *   setsid (own session and process group, so the group can be killed whole),
 *   default signal dispositions and an empty mask,
 *   stdin/stdout/stderr on pipes (or, with Exec.pty, on the slave of a new
 *   pseudo-terminal, which becomes the controlling terminal: exec_pty.c),
 *   every other fd closed,
 *   limits (no core files, bounded open files),
 *   no supplementary groups, the exec's gid and uid (never root),
 *   chdir to the cwd, the exec's files written as that user
 *   (so a link planted by earlier user code grants nothing),
 *   execve with exactly the given env, argv[0] looked up in that env's PATH.
 * A failure in any step is written to a close-on-exec status pipe; the parent
 * reads it, so "it started" means execve succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/exec.h"
#include "base/util.h"

#define SPAWN_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_STATUS_FD 3

enum spawn_stage { STAGE_SETUP, STAGE_IDENTITY, STAGE_CHDIR, STAGE_FILE, STAGE_EXEC };

static const char *const spawn_stage_names[] = {
	[STAGE_SETUP] = "set up the process",
	[STAGE_IDENTITY] = "switch to the exec's uid/gid",
	[STAGE_CHDIR] = "change to the working directory",
	[STAGE_FILE] = "write file",
	[STAGE_EXEC] = "start",
};

/* What the child reports when a step fails. */
struct spawn_status {
	int err;
	int stage;
	int index;
};

static const struct {
	int resource;
	rlim_t max;
} spawn_limits[] = {
	{RLIMIT_CORE, 0},
	{RLIMIT_NOFILE, 4096},
};

/* An exec with its defaults applied and its strings as NULL-ended arrays. */
struct spawn_plan {
	const Isol8__Agent__V1__Exec *req;
	char **argv;
	char **envp;
	const char *cwd;
	const char *path;
	uid_t uid;
	gid_t gid;
};

/* Where the child reports a failure: the status pipe, on SPAWN_STATUS_FD
 * once the fds are set up. Only the child writes it. */
static int spawn_status_fd = -1;

static _Noreturn void spawn_fail(int stage, int index, int err)
{
	struct spawn_status st = {.err = err, .stage = stage, .index = index};

	isol8_write_full(spawn_status_fd, &st, sizeof(st));
	_exit(127);
}

static void spawn_reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int spawn_close_from(int lowest)
{
	struct rlimit rl;

	if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 65536)
		rl.rlim_cur = 65536;
	for (int fd = lowest; fd < (int)rl.rlim_cur; fd++)
		close(fd);
	return 0;
}

/* Puts the pipes on 0-2, the status pipe on 3 and a launcher's or a
 * session driver's control and ready pipes (when there are) on 4 and 5,
 * then closes the rest. */
static int spawn_setup_fds(const int fds[6])
{
	for (int i = 0; i < 3; i++) {
		if (dup2(fds[i], i) < 0)
			return -1;
	}
	if (fds[3] != SPAWN_STATUS_FD && dup3(fds[3], SPAWN_STATUS_FD, O_CLOEXEC) < 0)
		return -1;
	if (fds[4] >= 0 && (dup2(fds[4], AGENT_CONTROL_FD) < 0 || dup2(fds[5], AGENT_READY_FD) < 0))
		return -1;
	return spawn_close_from(fds[4] >= 0 ? AGENT_READY_FD + 1 : SPAWN_STATUS_FD + 1);
}

static void spawn_apply_limits(void)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(spawn_limits); i++) {
		struct rlimit rl;

		if (getrlimit(spawn_limits[i].resource, &rl) < 0)
			continue;
		if (rl.rlim_max > spawn_limits[i].max)
			rl.rlim_max = spawn_limits[i].max;
		if (rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		setrlimit(spawn_limits[i].resource, &rl);
	}
}

static int spawn_write_file(const Isol8__Agent__V1__File *file)
{
	mode_t mode = file->mode ? (file->mode & 07777) : 0644;
	struct stat st;
	int fd, ret;

	ret = agent_make_parents(file->path);
	if (ret < 0)
		return ret;
	fd = agent_open_nofollow(file->path, O_WRONLY | O_CREAT | O_NONBLOCK, mode);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (ftruncate(fd, 0) < 0 || isol8_write_full(fd, file->content.data, file->content.len) < 0 ||
	    fchmod(fd, mode) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* execvpe with the PATH of the given env. Returns the errno to report. */
static int spawn_exec(const struct spawn_plan *plan)
{
	const char *name = plan->argv[0];
	const char *dir = plan->path;
	char full[PATH_MAX];
	int found = ENOENT;

	if (strchr(name, '/') != NULL) {
		execve(name, plan->argv, plan->envp);
		return errno;
	}
	while (dir != NULL) {
		const char *colon = strchr(dir, ':');
		int dir_len = colon ? (int)(colon - dir) : (int)strlen(dir);
		int n = snprintf(full, sizeof(full), "%.*s%s%s", dir_len, dir, dir_len ? "/" : "", name);

		if (n > 0 && (size_t)n < sizeof(full)) {
			execve(full, plan->argv, plan->envp);
			if (errno == EACCES)
				found = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != ENAMETOOLONG)
				return errno;
		}
		dir = colon ? colon + 1 : NULL;
	}
	return found;
}

static _Noreturn void spawn_child(const struct spawn_plan *plan, const int fds[6])
{
	const Isol8__Agent__V1__Exec *req = plan->req;
	int ret;

	spawn_status_fd = fds[3];
	if (setsid() < 0)
		spawn_fail(STAGE_SETUP, 0, errno);
	spawn_reset_signals();
	if (spawn_setup_fds(fds) < 0)
		spawn_fail(STAGE_SETUP, 0, errno);
	spawn_status_fd = SPAWN_STATUS_FD;
	if (req->pty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
		spawn_fail(STAGE_SETUP, 0, errno);
	spawn_apply_limits();
	/* a launcher starts on idle time only; its threads inherit this, and
	 * the agent gives them normal scheduling when their program comes */
	if (req->prestart) {
		struct sched_param none = {0};
		sched_setscheduler(0, SCHED_IDLE, &none);
	}
	/* the OOM killer's first choice, before the agent */
	agent_set_oom_score_adj(AGENT_PROGRAM_OOM_SCORE_ADJ);
	ret = agent_drop_privileges(plan->uid, plan->gid);
	if (ret < 0)
		spawn_fail(STAGE_IDENTITY, 0, -ret);
	/* a missing working directory is made, as the sandbox user */
	if (chdir(plan->cwd) < 0 && (errno != ENOENT || (ret = agent_make_dirs(plan->cwd)) < 0 || chdir(plan->cwd) < 0))
		spawn_fail(STAGE_CHDIR, 0, ret < 0 ? -ret : errno);
	for (size_t i = 0; i < req->n_files; i++) {
		ret = spawn_write_file(req->files[i]);
		if (ret < 0)
			spawn_fail(STAGE_FILE, (int)i, -ret);
	}
	spawn_fail(STAGE_EXEC, 0, spawn_exec(plan));
}

static int spawn_validate(const struct agent_config *cfg, const Isol8__Agent__V1__Exec *req,
			  struct spawn_plan *plan, char *msg, size_t msg_len)
{
	plan->req = req;
	plan->cwd = req->cwd && req->cwd[0] ? req->cwd : cfg->sandbox_dir;
	plan->uid = req->uid ? req->uid : cfg->uid;
	plan->gid = req->gid ? req->gid : cfg->gid;
	plan->path = SPAWN_DEFAULT_PATH;
	if (req->n_argv == 0 || req->argv[0][0] == '\0') {
		snprintf(msg, msg_len, "exec: argv is empty");
		return -EINVAL;
	}
	if (!agent_path_absolute(plan->cwd)) {
		snprintf(msg, msg_len, "exec: cwd \"%s\" is not an absolute normalized path", plan->cwd);
		return -EINVAL;
	}
	for (size_t i = 0; i < req->n_files; i++) {
		if (!agent_path_valid(req->files[i]->path)) {
			snprintf(msg, msg_len, "exec: files[%zu].path \"%s\" is not a normalized path without \"..\"",
				 i, req->files[i]->path);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < req->n_env; i++) {
		if (strncmp(req->env[i], "PATH=", 5) == 0)
			plan->path = req->env[i] + 5;
	}
	return 0;
}

/* NULL-ended copy of a protobuf-c string array (the strings are shared). */
static char **spawn_string_array(char **items, size_t n)
{
	size_t bytes;
	char **out;

	if (!isol8_size_add(n, 1, &bytes) || !isol8_size_mul(bytes, sizeof(char *), &bytes))
		return NULL;
	out = malloc(bytes);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = items[i];
	out[n] = NULL;
	return out;
}

static void spawn_close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* The child's ends; a pty's slave stands in for 0-2 once. */
static void spawn_close_child(int *child)
{
	if (child[0] >= 0 && child[1] == child[0])
		child[1] = child[2] = -1;
	spawn_close_all(child, 6);
}

/* Reads the child's status: 0 when it reached execve, else -errno and msg. */
static int spawn_await_start(pid_t pid, int status_fd, const struct spawn_plan *plan, char *msg, size_t msg_len)
{
	struct spawn_status st;
	ssize_t n = isol8_read_full(status_fd, &st, sizeof(st));

	if (n == 0)
		return 0;
	waitpid(pid, NULL, 0);
	if (n != (ssize_t)sizeof(st) || st.stage < 0 || st.stage > STAGE_EXEC) {
		snprintf(msg, msg_len, "exec: the program's process failed before it started");
		return -EIO;
	}
	if (st.stage == STAGE_FILE)
		snprintf(msg, msg_len, "exec: write file \"%s\": %s", plan->req->files[st.index]->path,
			 strerror(st.err));
	else if (st.stage == STAGE_EXEC && st.err == ENOENT && strchr(plan->argv[0], '/') == NULL)
		snprintf(msg, msg_len, "exec: \"%s\" was not found on PATH \"%s\"", plan->argv[0],
			 plan->path ? plan->path : "");
	else if (st.stage == STAGE_EXEC)
		snprintf(msg, msg_len, "exec: start \"%s\": %s", plan->argv[0], strerror(st.err));
	else
		snprintf(msg, msg_len, "exec: %s (uid %u, gid %u, cwd \"%s\"): %s", spawn_stage_names[st.stage],
			 (unsigned)plan->uid, (unsigned)plan->gid, plan->cwd, strerror(st.err));
	return -st.err;
}

int agent_spawn(const struct agent_config *cfg, const Isol8__Agent__V1__Exec *req, struct agent_process *proc,
		char *msg, size_t msg_len)
{
	struct spawn_plan plan = {0};
	_cleanup_free_ char **argv = NULL;
	_cleanup_free_ char **envp = NULL;
	int child[6] = {-1, -1, -1, -1, -1, -1}, parent[6] = {-1, -1, -1, -1, -1, -1};
	int n_pipes = req->prestart || req->driver ? 6 : 4;
	int ret = spawn_validate(cfg, req, &plan, msg, msg_len);
	pid_t pid;

	if (ret < 0)
		return ret;
	plan.argv = argv = spawn_string_array(req->argv, req->n_argv);
	plan.envp = envp = spawn_string_array(req->env, req->n_env);
	if (argv == NULL || envp == NULL) {
		snprintf(msg, msg_len, "exec: out of memory");
		return -ENOMEM;
	}
	if (req->pty && !req->prestart) {
		ret = agent_pty_open(req, plan.uid, plan.gid, &parent[1], &child[0], msg, msg_len);
		if (ret < 0)
			return ret;
		child[1] = child[2] = child[0];
		parent[0] = fcntl(parent[1], F_DUPFD_CLOEXEC, 0);
		if (parent[0] < 0) {
			ret = -errno;
			snprintf(msg, msg_len, "exec: dup the terminal: %s", strerror(errno));
			goto fail;
		}
	}
	for (int i = parent[1] >= 0 ? 3 : 0; i < n_pipes; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			ret = -errno;
			snprintf(msg, msg_len, "exec: pipe: %s", strerror(errno));
			goto fail;
		}
		/* stdin, control: the child reads; stdout, stderr, status, ready: the child writes. */
		bool child_reads = i == 0 || i == 4;
		child[i] = p[child_reads ? 0 : 1];
		parent[i] = p[child_reads ? 1 : 0];
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(msg, msg_len, "exec: fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		spawn_child(&plan, child);
	spawn_close_child(child);
	ret = spawn_await_start(pid, parent[3], &plan, msg, msg_len);
	if (ret < 0)
		goto fail;
	for (int i = 0; i < 3; i++)
		if (parent[i] >= 0)
			fcntl(parent[i], F_SETFL, O_NONBLOCK);
	close(parent[3]);
	*proc = (struct agent_process){.pid = pid, .pty = req->pty && !req->prestart, .stdin_fd = parent[0],
				       .stdout_fd = parent[1], .stderr_fd = parent[2], .control_fd = parent[4],
				       .ready_fd = parent[5]};
	return 0;
fail:
	spawn_close_child(child);
	spawn_close_all(parent, 6);
	return ret;
}

int agent_write_files(const struct agent_config *cfg, const Isol8__Agent__V1__Exec *req, char *msg, size_t msg_len)
{
	struct spawn_plan plan = {0};
	struct spawn_status st = {0};
	int status_pipe[2];
	int ret = spawn_validate(cfg, req, &plan, msg, msg_len);
	pid_t pid;
	ssize_t n;

	if (ret < 0 || req->n_files == 0)
		return ret;
	if (pipe2(status_pipe, O_CLOEXEC) < 0) {
		snprintf(msg, msg_len, "exec: pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		close(status_pipe[0]);
		spawn_status_fd = status_pipe[1];
		ret = agent_drop_privileges(plan.uid, plan.gid);
		if (ret < 0)
			spawn_fail(STAGE_IDENTITY, 0, -ret);
		if (chdir(plan.cwd) < 0)
			spawn_fail(STAGE_CHDIR, 0, errno);
		for (size_t i = 0; i < req->n_files; i++) {
			ret = spawn_write_file(req->files[i]);
			if (ret < 0)
				spawn_fail(STAGE_FILE, (int)i, -ret);
		}
		_exit(0);
	}
	close(status_pipe[1]);
	if (pid < 0) {
		close(status_pipe[0]);
		snprintf(msg, msg_len, "exec: fork: %s", strerror(errno));
		return -errno;
	}
	/* the helper is the uid's, which the code may stop: waited for with a
	 * deadline, then its status read (it fits in the pipe) */
	int status = 0;
	ret = exec_wait_helper(pid, EXEC_HELPER_MS, &status);
	fcntl(status_pipe[0], F_SETFL, O_NONBLOCK);
	n = ret == 0 ? isol8_read_full(status_pipe[0], &st, sizeof(st)) : 0;
	close(status_pipe[0]);
	if (ret < 0) {
		snprintf(msg, msg_len, "exec: writing the files as uid %u did not finish in %d ms (%s)",
			 (unsigned)plan.uid, EXEC_HELPER_MS, strerror(-ret));
		return ret;
	}
	if (n == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n == 0) {
		snprintf(msg, msg_len, "exec: writing the files as uid %u did not finish (%s %d)", (unsigned)plan.uid,
			 WIFSIGNALED(status) ? "signal" : "status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return -EIO;
	}
	if (n == (ssize_t)sizeof(st) && st.stage == STAGE_FILE && st.index >= 0 && (size_t)st.index < req->n_files)
		snprintf(msg, msg_len, "exec: write file \"%s\": %s", req->files[st.index]->path, strerror(st.err));
	else
		snprintf(msg, msg_len, "exec: writing the files as uid %u failed", (unsigned)plan.uid);
	return -(st.err ? st.err : EIO);
}
