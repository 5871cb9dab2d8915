/* `isol8 serve`'s child processes: see serve_proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/paths.h"
#include "base/util.h"
#include "cli/serve_proc.h"

static bool executable(const char *path)
{
	struct stat st;

	return path[0] != '\0' && stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

void isol8_serve_find(const char *name, const char *env_var, const char *build_path, char *buf, size_t size)
{
	const char *env = getenv(env_var);
	char exe[PATH_MAX], dir[PATH_MAX];
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(buf, size, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		isol8_dirname(exe, dir, sizeof(dir));
		if ((size_t)snprintf(buf, size, "%s/%s", dir, name) < size && executable(buf))
			return;
	}
	if (build_path != NULL && executable(build_path)) {
		snprintf(buf, size, "%s", build_path);
		return;
	}
	snprintf(buf, size, "%s", name);
}

/* In the child: every fd above stderr but keep closed on exec. */
static void close_inherited(int keep)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		if (fd != keep)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (keep >= 0)
		fcntl(keep, F_SETFD, 0);
}

static void __attribute__((noreturn)) become(const char *binary, char *const argv[], int keep_fd, pid_t parent,
					    const char *env_name, const char *env_value, int report_fd)
{
	sigset_t none;
	int null_fd, saved;

	/* its own group: a terminal's signals reach serve only; it dies with serve */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	if (env_name != NULL && setenv(env_name, env_value, 1) < 0)
		goto fail;
	close_inherited(keep_fd);
	if (strchr(binary, '/') != NULL)
		execv(binary, argv);
	else
		execvp(binary, argv);
fail:
	saved = errno;
	if (write(report_fd, &saved, sizeof(saved)) < 0) {
		/* nothing left to tell */
	}
	_exit(127);
}

int isol8_serve_spawn(struct isol8_serve_child *c, const char *binary, char *const argv[], int keep_fd,
		      const char *env_name, const char *env_value, struct isol8_error *err)
{
	int report[2], child_errno = 0;
	pid_t parent = getpid(), pid;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "%s: cannot make a pipe", c->name);
	pid = fork();
	if (pid < 0) {
		close(report[0]);
		close(report[1]);
		return isol8_error_errno(err, ISOL8_E_IO, errno, "%s: cannot fork", c->name);
	}
	if (pid == 0)
		become(binary, argv, keep_fd, parent, env_name, env_value, report[1]);
	close(report[1]);
	do
		n = read(report[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	c->pid = pid;
	if (n == (ssize_t)sizeof(child_errno)) {
		waitpid(pid, &c->status, 0);
		c->pid = 0;
		return isol8_error_errno(err, ISOL8_E_NOT_FOUND, child_errno, "cannot run %s \"%s\"", c->name, binary);
	}
	return 0;
}

bool isol8_serve_reaped(struct isol8_serve_child *c)
{
	pid_t r;

	if (c->pid == 0)
		return true;
	do
		r = waitpid(c->pid, &c->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return false;
	c->pid = 0;
	return true;
}

void isol8_serve_describe_end(const struct isol8_serve_child *c, char *buf, size_t size)
{
	if (WIFSIGNALED(c->status))
		snprintf(buf, size, "was killed by signal %d", WTERMSIG(c->status));
	else
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(c->status));
}

void isol8_serve_stop(struct isol8_serve_child *c, int grace_ms)
{
	struct timespec tick = {0, 20 * 1000000};

	if (isol8_serve_reaped(c))
		return;
	kill(c->pid, SIGTERM);
	for (int waited = 0; waited < grace_ms; waited += 20) {
		if (isol8_serve_reaped(c))
			return;
		nanosleep(&tick, NULL);
	}
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
}
