/* Path checks, parent directories and privilege dropping: see agent.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"

bool agent_path_valid(const char *path)
{
	size_t len = strlen(path);
	const char *p = path;

	if (len == 0 || len >= PATH_MAX)
		return false;
	if (*p == '/')
		p++;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t part = slash ? (size_t)(slash - p) : strlen(p);

		if (part == 0 || (part == 1 && p[0] == '.') || (part == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (slash == NULL)
			return true;
		p = slash + 1;
	}
}

bool agent_path_absolute(const char *path)
{
	return path[0] == '/' && path[1] != '\0' && agent_path_valid(path);
}

/* Walks a normalized path (absolute, or relative to the working directory)
 * from "/" (or ".") one component at a time, never
 * following a link (O_NOFOLLOW under a directory fd): a link anywhere in it
 * fails with ELOOP or ENOTDIR. Directories missing on the way are made
 * (0755) when make_dirs. The last component is opened with flags and mode,
 * or, when last_is_dir, walked and returned as a directory fd. */
static int walk_beneath(const char *path, int flags, mode_t mode, bool make_dirs, bool last_is_dir)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	char *comp, *next;
	int dir, fd;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	/* relative paths are under the working directory */
	dir = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	for (comp = buf + (path[0] == '/'); comp != NULL && *comp; comp = next) {
		next = strchr(comp, '/');
		if (next != NULL)
			*next++ = '\0';
		if (next == NULL && !last_is_dir) {
			fd = openat(dir, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			fd = fd < 0 ? -errno : fd;
			close(dir);
			return fd;
		}
		fd = openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && make_dirs &&
		    (mkdirat(dir, comp, 0755) == 0 || errno == EEXIST))
			fd = openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			struct stat st;
			int ret = -errno;
			/* a link on the way is refused as one, not as a missing dir */
			if (ret == -ENOTDIR && fstatat(dir, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				ret = -ELOOP;
			close(dir);
			return ret;
		}
		close(dir);
		dir = fd;
	}
	return dir;
}

int agent_make_parents(const char *path)
{
	const char *slash = strrchr(path, '/');
	char buf[PATH_MAX];
	int fd;

	if (slash == NULL || slash == path)
		return 0;
	if ((size_t)(slash - path) >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, (size_t)(slash - path));
	buf[slash - path] = '\0';
	fd = walk_beneath(buf, 0, 0, true, true);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int agent_make_dirs(const char *path)
{
	int fd = walk_beneath(path, 0, 0, true, true);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int agent_open_nofollow(const char *path, int flags, mode_t mode)
{
	return walk_beneath(path, flags, mode, false, false);
}

int agent_drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -errno;
	if (getuid() != uid || geteuid() != uid || getgid() != gid)
		return -EPERM;
	return 0;
}

int agent_set_oom_score_adj(int value)
{
	char text[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	int len = snprintf(text, sizeof(text), "%d", value);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len)
		ret = -errno;
	close(fd);
	return ret;
}
