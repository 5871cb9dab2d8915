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

/* Whether the fd table at dir_fd/path holds one of the pipes (a pipe or a
 * FIFO: the file an fd refers to, by device and inode); -1 when it cannot
 * be read. */
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
		if (de->d_name[0] == '.' || fstatat(dirfd(dir), de->d_name, &st, 0) < 0 || !S_ISFIFO(st.st_mode))
			continue;
		for (int i = 0; i < 2; i++)
			found = found || (id[i].ino != 0 && st.st_ino == id[i].ino && st.st_dev == id[i].dev);
	}
	closedir(dir);
	return found;
}

/* Whether the process holds one of the pipes (arg: struct exec_pipe_id[2])
 * in any of its threads' fd tables (a thread may have its own, after
 * unshare). A process of the uid whose tables cannot be read (it made
 * itself non-dumpable) counts as a holder: it could be one, and hiding is
 * no way to outlive a run. */
static bool holds_pipe(int proc_fd, const char *pid, const void *arg)
{
	const struct exec_pipe_id *id = arg;
	char path[300];
	struct dirent *de;
	bool found = false;
	int fd;
	DIR *tasks;

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
		held = fds_hold_pipe(dirfd(tasks), path, id);
		found = held > 0 || (held < 0 && agent_proc_of_uid(proc_fd, pid, &(uid_t){getuid()}));
	}
	closedir(tasks);
	return found;
}

void exec_kill_pipe_holders(uid_t uid, const struct exec_pipe_id id[2])
{
	pid_t pid;

	if (uid == 0)
		return;
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
			_exit(1);
		/* a holder may fork a new one while it is found: until none is left */
		for (int round = 0; round < HOLDER_ROUNDS && agent_proc_scan(holds_pipe, id, true, INT_MAX) > 0; round++)
			usleep(1000);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}
