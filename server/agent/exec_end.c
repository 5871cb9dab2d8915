/*
 * The end of a run (see exec_end in exec.h): the kill of what is left of
 * the program, and the OOM count that says whether the kernel killed part
 * of it for memory.
 *
 * Holders of the output pipes are found in /proc/<pid>/fd by a helper that
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

/* Whether one of the process's fds is one of the pipes (arg: ino_t[2]). */
static bool holds_pipe(int proc_fd, const char *pid, const void *arg)
{
	const ino_t *ino = arg;
	char path[300], link[64], want[2][40];
	struct dirent *de;
	bool found = false;
	int fd;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/fd", pid);
	fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return false;
	}
	for (int i = 0; i < 2; i++)
		snprintf(want[i], sizeof(want[i]), "pipe:[%llu]", (unsigned long long)ino[i]);
	while (!found && (de = readdir(dir)) != NULL) {
		ssize_t n = readlinkat(dirfd(dir), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = (ino[0] && strcmp(link, want[0]) == 0) || (ino[1] && strcmp(link, want[1]) == 0);
	}
	closedir(dir);
	return found;
}

void exec_kill_pipe_holders(uid_t uid, const ino_t ino[2])
{
	pid_t pid;

	if (uid == 0)
		return;
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
			_exit(1);
		/* a holder may fork a new one while it is found: until none is left */
		for (int round = 0; round < HOLDER_ROUNDS && agent_proc_scan(holds_pipe, ino, true, INT_MAX) > 0; round++)
			usleep(1000);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}
