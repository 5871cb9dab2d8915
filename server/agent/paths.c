/* Path checks, parent directories and privilege dropping: see agent.h. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
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

int agent_make_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int agent_drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -errno;
	if (getuid() != uid || geteuid() != uid || getgid() != gid)
		return -EPERM;
	return 0;
}
