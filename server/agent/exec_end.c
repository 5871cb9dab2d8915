/*
 * The end of a run (see exec_end in exec.h): the kill of what is left of
 * the program, and the OOM count that says whether the kernel killed part
 * of it for memory.
 *
 * Holders of the output pipes (or a session call's FIFOs) are found in
 * /proc/<pid>/fd, by what each fd refers to, by a helper that
 * has become the program's uid: reading another uid's fd links needs
 * CAP_SYS_PTRACE, which the agent does not have, while its own uid may.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/exec.h"
#include "base/util.h"

#define HOLDER_ROUNDS 100

int64_t exec_oom_kills(void)
{
	/* cgroup v1, then v2: the line "oom_kill N" */
	static const char *const files[] = {"/sys/fs/cgroup/memory/memory.oom_control",
					    "/sys/fs/cgroup/memory.events"};
	char line[128];

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(files); i++) {
		FILE *f = fopen(files[i], "re");
		long long n;

		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "oom_kill %lld", &n) == 1) {
				fclose(f);
				return n;
			}
		}
		fclose(f);
	}
	return -1;
}

int exec_proc_usage(pid_t pid, uint64_t cpu_us[2], uint64_t *max_rss_kb)
{
	unsigned long utime, stime;
	long cutime, cstime, tick = sysconf(_SC_CLK_TCK);
	char path[64], line[1024], *end;
	unsigned long long rss = 0;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	end = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	ok = end != NULL && tick > 0 &&
	     sscanf(end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld", &utime, &stime, &cutime,
		    &cstime) == 4;
	if (!ok)
		return -1;
	cpu_us[0] = (uint64_t)(utime + (unsigned long)(cutime > 0 ? cutime : 0)) * 1000000u / (uint64_t)tick;
	cpu_us[1] = (uint64_t)(stime + (unsigned long)(cstime > 0 ? cstime : 0)) * 1000000u / (uint64_t)tick;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %llu", &rss) == 1)
			break;
	if (f != NULL)
		fclose(f);
	*max_rss_kb = (uint64_t)rss;
	return 0;
}

/* What a holder search looks for: the pipes, and a process it spares. */
struct holder_query {
	const struct exec_pipe_id *id; /* [2] */
	pid_t spare;
};

static bool fd_is_pipe(const struct stat *st, const struct exec_pipe_id *id)
{
	if (S_ISFIFO(st->st_mode))
		return id->ino != 0 && st->st_ino == id->ino && st->st_dev == id->dev;
	return S_ISCHR(st->st_mode) && id->rdev != 0 && st->st_rdev == id->rdev;
}

/* Whether the fd table at dir_fd/path holds one of the pipes (a pipe or a
 * FIFO, by device and inode; a terminal, by device number); -1 when it
 * cannot be read. */
static int fds_hold_pipe(int dir_fd, const char *path, const struct exec_pipe_id id[2])
{
	struct dirent *de;
	int found = 0, fd;
	DIR *dir;

	fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return -1;
	}
	while (!found && (de = readdir(dir)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.' || fstatat(dirfd(dir), de->d_name, &st, 0) < 0)
			continue;
		found = fd_is_pipe(&st, &id[0]) || fd_is_pipe(&st, &id[1]);
	}
	closedir(dir);
	return found;
}

/* Whether the process holds one of the pipes (arg: struct holder_query)
 * in any of its threads' fd tables (a thread may have its own, after
 * unshare). A process of the uid whose tables cannot be read (it made
 * itself non-dumpable) counts as a holder: it could be one, and hiding is
 * no way to outlive a run. */
static bool holds_pipe(int proc_fd, const char *pid, const void *arg)
{
	const struct holder_query *q = arg;
	char path[300];
	struct dirent *de;
	bool found = false;
	int fd;
	DIR *tasks;

	if (q->spare > 0 && strtol(pid, NULL, 10) == (long)q->spare)
		return false;
	snprintf(path, sizeof(path), "%s/task", pid);
	fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false; /* gone */
	tasks = fdopendir(fd);
	if (tasks == NULL) {
		close(fd);
		return false;
	}
	while (!found && (de = readdir(tasks)) != NULL) {
		int held;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/fd", de->d_name);
		held = fds_hold_pipe(dirfd(tasks), path, q->id);
		found = held > 0 || (held < 0 && agent_proc_of_uid(proc_fd, pid, &(uid_t){getuid()}));
	}
	closedir(tasks);
	return found;
}

int exec_wait_helper(pid_t pid, int ms, int *status)
{
	int64_t until = isol8_now_ms() + ms;
	useconds_t nap = 100;

	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);
		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -errno;
		if (isol8_now_ms() >= until) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return -ETIMEDOUT;
		}
		usleep(nap);
		if (nap < 10000)
			nap *= 2;
	}
}

/* Runs the holder search as uid in a helper: with kill_them, until none is
 * left (a holder may fork a new one while it is found); else once. Its
 * exit status: 0 none, 1 found, 2 failed. */
static int holder_helper(uid_t uid, const struct holder_query *q, bool kill_them)
{
	int status = 0, ret;
	pid_t pid = fork();

	if (pid == 0) {
		int found = 0;
		if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
			_exit(2);
		for (int round = 0; round < (kill_them ? HOLDER_ROUNDS : 1); round++) {
			found = agent_proc_scan(holds_pipe, q, kill_them, kill_them ? INT_MAX : 1);
			if (found <= 0)
				break;
			usleep(1000);
		}
		_exit(found < 0 ? 2 : found > 0 ? 1 : 0);
	}
	if (pid < 0)
		return -errno;
	ret = exec_wait_helper(pid, EXEC_HELPER_MS, &status);
	if (ret < 0)
		return ret;
	return WIFEXITED(status) && WEXITSTATUS(status) <= 1 ? WEXITSTATUS(status) : -EIO;
}

int exec_kill_pipe_holders(uid_t uid, const struct exec_pipe_id id[2], pid_t spare)
{
	struct holder_query q = {id, spare};
	int ret;

	if (uid == 0)
		return 0;
	ret = holder_helper(uid, &q, true);
	return ret == -ETIMEDOUT ? ret : 0;
}

int exec_pipe_held_by_others(uid_t uid, const struct exec_pipe_id id[2], pid_t spare)
{
	struct holder_query q = {id, spare};

	if (uid == 0)
		return -EPERM;
	return holder_helper(uid, &q, false);
}
