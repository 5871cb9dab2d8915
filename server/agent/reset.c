/*
 * reset: kill every process of the sandbox uid, remove its IPC objects and
 * wipe directories, so a pooled sandbox can be reused; then verify, and
 * answer Ack only when nothing is left. Killing: a helper process that has
 * become the uid sends kill(-1, SIGKILL) (every process that uid may signal,
 * in one system call, so a fork loop cannot outrun it), then /proc is
 * scanned and any survivor of that uid is killed directly; repeated until
 * none is left. IPC: right after its kill(-1), the same helper removes every
 * System V shared memory segment, semaphore set and message queue of the
 * uid (a killed process runs no more user code to make new ones);
 * POSIX message queues are files in /dev/mqueue, wiped like the
 * directories. Wiping: see agent_wipe_dir.
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
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/util.h"

#define RESET_KILL_ROUNDS 200
#define WIPE_MAX_DEPTH 32
#define WIPE_MAX_PASSES 10000

static void ipc_remove_own(uid_t uid);

/* A helper takes the uid and signals every process that uid may signal;
 * with remove_ipc it then removes the uid's System V IPC objects (no
 * process of the uid runs user code once SIGKILL is sent). */
static void reset_kill_as_uid(uid_t uid, bool remove_ipc)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
			_exit(1);
		kill(-1, SIGKILL);
		if (remove_ipc)
			ipc_remove_own(uid);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

bool agent_proc_of_uid(int proc_fd, const char *pid, const void *arg)
{
	const uid_t uid = *(const uid_t *)arg;
	char path[300], buf[4096];
	unsigned long real, effective, saved;
	const char *line;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/status", pid);
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = isol8_read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	line = strstr(buf, "\nState:");
	if (line != NULL && strncmp(line + 7, "\tZ", 2) == 0)
		return false;
	line = strstr(buf, "\nUid:");
	if (line == NULL || sscanf(line + 5, "%lu %lu %lu", &real, &effective, &saved) != 3)
		return false;
	return real == uid || effective == uid || saved == uid;
}

int agent_proc_scan(agent_proc_match_fn match, const void *arg, bool kill_them, int max)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int found = 0;

	if (proc == NULL)
		return -errno;
	while (found < max && (de = readdir(proc)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 1 || pid == getpid() || !match(dirfd(proc), de->d_name, arg))
			continue;
		/* one that could not be killed (gone meanwhile) does not count */
		if (kill_them && kill((pid_t)pid, SIGKILL) != 0)
			continue;
		found++;
	}
	closedir(proc);
	return found;
}

/* Kills the live processes of uid found in /proc; returns how many. */
static int reset_kill_scan(uid_t uid)
{
	return agent_proc_scan(agent_proc_of_uid, &uid, true, INT_MAX);
}

bool agent_uid_has_processes(uid_t uid)
{
	/* unknown (no /proc) counts as some: the caller kills to be sure */
	return agent_proc_scan(agent_proc_of_uid, &uid, false, 1) != 0;
}

int agent_kill_uid(uid_t uid)
{
	if (uid == 0)
		return -EINVAL;
	for (int round = 0; round < RESET_KILL_ROUNDS; round++) {
		int found;

		reset_kill_as_uid(uid, round == 0);
		found = reset_kill_scan(uid);
		if (found <= 0)
			return found;
		usleep(1000u * (unsigned)(round < 10 ? round + 1 : 10));
	}
	return -EBUSY;
}

struct wipe {
	int top_fd;
	dev_t dev;
	unsigned moved;  /* directories moved up to the top in this pass */
	unsigned serial; /* for the names of moved directories */
	int first_err;
};

static void wipe_note(struct wipe *w, int err)
{
	if (w->first_err == 0)
		w->first_err = err;
}

/* A directory too deep to descend into goes up to the top, to be wiped in
 * a later pass, so the fds held stay bounded by WIPE_MAX_DEPTH. */
static void wipe_move_up(struct wipe *w, int dir_fd, const char *name)
{
	char target[64];

	for (int tries = 0; tries < 1000; tries++) {
		snprintf(target, sizeof(target), ".isol8-wipe-%u", w->serial++);
		if (renameat2(dir_fd, name, w->top_fd, target, RENAME_NOREPLACE) == 0) {
			w->moved++;
			return;
		}
		if (errno != EEXIST) {
			wipe_note(w, -errno);
			return;
		}
	}
	wipe_note(w, -EEXIST);
}

static void wipe_contents(struct wipe *w, int dir_fd, int depth);

static void wipe_entry(struct wipe *w, int dir_fd, const char *name, int depth)
{
	struct stat st;
	int sub;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			wipe_note(w, -errno);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
			wipe_note(w, -errno);
		return;
	}
	if (st.st_dev != w->dev)
		return; /* another filesystem mounted here: left alone */
	if (depth + 1 >= WIPE_MAX_DEPTH) {
		wipe_move_up(w, dir_fd, name);
		return;
	}
	sub = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0) {
		wipe_note(w, -errno);
		return;
	}
	wipe_contents(w, sub, depth + 1);
	close(sub);
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		wipe_note(w, -errno);
}

static void wipe_contents(struct wipe *w, int dir_fd, int depth)
{
	int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (dir == NULL) {
		wipe_note(w, -errno);
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(dir); /* the dup shares its offset with dir_fd, which an earlier pass moved */
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			wipe_entry(w, dir_fd, de->d_name, depth);
	}
	closedir(dir);
}

int agent_wipe_dir(const char *dir)
{
	struct wipe w = {.top_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
	struct stat st;

	if (w.top_fd < 0)
		return -errno;
	if (fstat(w.top_fd, &st) < 0) {
		close(w.top_fd);
		return -errno;
	}
	w.dev = st.st_dev;
	for (int pass = 0; pass < WIPE_MAX_PASSES; pass++) {
		w.moved = 0;
		wipe_contents(&w, w.top_fd, 0);
		if (w.moved == 0)
			break;
	}
	close(w.top_fd);
	return w.first_err;
}

/* The System V IPC objects of a kind owned or made by uid: the ids from
 * /proc/sysvipc/<kind> (its second column) whose uid or cuid column is uid.
 * Returns how many, or -errno. A missing file (no System V IPC) is 0. */
struct ipc_kind {
	const char *name;
	int uid_column;   /* 0-based; cuid is two columns later */
};

static const struct ipc_kind ipc_kinds[] = {{"shm", 7}, {"sem", 4}, {"msg", 7}};

static int ipc_ids(const struct ipc_kind *kind, uid_t uid, int *ids, int max)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind->name);
	f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	if (fgets(line, sizeof(line), f) != NULL) { /* the header */
		while (n < max && fgets(line, sizeof(line), f) != NULL) {
			unsigned long col[12];
			int got = 0;
			char *save = NULL;
			for (char *tok = strtok_r(line, " \t\n", &save); tok && got < 12;
			     tok = strtok_r(NULL, " \t\n", &save))
				col[got++] = strtoul(tok, NULL, 10);
			if (got > kind->uid_column + 2 &&
			    (col[kind->uid_column] == uid || col[kind->uid_column + 2] == uid))
				ids[n++] = (int)col[1];
		}
	}
	fclose(f);
	return n;
}

#define IPC_MAX_IDS 4096

/* Removes the uid's System V IPC objects; runs as that uid (IPC_RMID needs
 * the owner, and the agent keeps no CAP_IPC_OWNER). */
static void ipc_remove_own(uid_t uid)
{
	static int ids[IPC_MAX_IDS];
	int n;

	n = ipc_ids(&ipc_kinds[0], uid, ids, IPC_MAX_IDS);
	for (int i = 0; i < n; i++)
		shmctl(ids[i], IPC_RMID, NULL);
	n = ipc_ids(&ipc_kinds[1], uid, ids, IPC_MAX_IDS);
	for (int i = 0; i < n; i++)
		semctl(ids[i], 0, IPC_RMID);
	n = ipc_ids(&ipc_kinds[2], uid, ids, IPC_MAX_IDS);
	for (int i = 0; i < n; i++)
		msgctl(ids[i], IPC_RMID, NULL);
}

/* /sandbox itself belongs to the sandbox user, who may have changed it:
 * its owner and mode go back to what they were at the start, and its
 * extended attributes are removed. Returns 0 or -errno. */
static int reset_sandbox_dir(const struct agent_config *cfg)
{
	char names[4096];
	ssize_t n;

	if (lchown(cfg->sandbox_dir, cfg->uid, cfg->gid) < 0 || chmod(cfg->sandbox_dir, cfg->sandbox_mode) < 0)
		return -errno;
	n = llistxattr(cfg->sandbox_dir, names, sizeof(names));
	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1)
		if (lremovexattr(cfg->sandbox_dir, names + off) < 0 && errno != ENODATA)
			return -errno;
	return 0;
}

/* What is left after a reset, as a message; empty when nothing is. */
static void reset_verify(uid_t uid, const Isol8__Agent__V1__Reset *req, char *msg, size_t size)
{
	int ids[1];

	msg[0] = '\0';
	if (reset_kill_scan(uid) != 0) {
		snprintf(msg, size, "processes of uid %u are still running", (unsigned)uid);
		return;
	}
	for (size_t i = 0; i < sizeof(ipc_kinds) / sizeof(ipc_kinds[0]); i++) {
		if (ipc_ids(&ipc_kinds[i], uid, ids, 1) != 0) {
			snprintf(msg, size, "System V IPC objects (%s) of uid %u are left", ipc_kinds[i].name,
				 (unsigned)uid);
			return;
		}
	}
	for (size_t i = 0; i < req->n_wipe; i++) {
		DIR *d = opendir(req->wipe[i]);
		struct dirent *de;
		if (d == NULL) {
			if (errno != ENOENT)
				snprintf(msg, size, "cannot open \"%s\": %s", req->wipe[i], strerror(errno));
			if (errno != ENOENT)
				return;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				snprintf(msg, size, "\"%s\" is not empty (\"%s\" is left)", req->wipe[i], de->d_name);
				break;
			}
		}
		closedir(d);
		if (msg[0])
			return;
	}
}

int agent_serve_reset(const struct agent_config *cfg, int conn, const isol8_frame *first)
{
	const Isol8__Agent__V1__Reset *req = first->reset;
	char left[512];
	int ret;

	if (req->uid == 0) {
		agent_send_error(conn, EINVAL, "reset: uid must be a non-root uid");
		return 1;
	}
	for (size_t i = 0; i < req->n_wipe; i++) {
		if (!agent_path_absolute(req->wipe[i])) {
			agent_send_error(conn, EINVAL, "reset: wipe[%zu] \"%s\" is not an absolute normalized path", i,
					 req->wipe[i]);
			return 1;
		}
	}
	ret = agent_kill_uid(req->uid);
	if (ret < 0) {
		agent_send_error(conn, -ret, "reset: kill the processes of uid %u: %s", req->uid, strerror(-ret));
		return 1;
	}
	for (size_t i = 0; i < req->n_wipe; i++) {
		ret = agent_wipe_dir(req->wipe[i]);
		if (ret < 0 && ret != -ENOENT) {
			agent_send_error(conn, -ret, "reset: wipe \"%s\": %s", req->wipe[i], strerror(-ret));
			return 1;
		}
	}
	ret = reset_sandbox_dir(cfg);
	if (ret < 0) {
		agent_send_error(conn, -ret, "reset: restore \"%s\": %s", cfg->sandbox_dir, strerror(-ret));
		return 1;
	}
	reset_verify(req->uid, req, left, sizeof(left));
	if (left[0]) {
		agent_send_error(conn, EBUSY, "reset: not clean afterwards: %s", left);
		return 1;
	}
	return agent_send_ack(conn) < 0 ? 1 : 0;
}
