/* Local daemon paths: see paths.h. */
#include "base/paths.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int isol8_default_socket_path(char *buf, size_t size, uid_t uid, const char *xdg_runtime_dir,
			      const char *override)
{
	int n;

	if (override != NULL && override[0] != '\0')
		n = snprintf(buf, size, "%s", override);
	else if (uid == 0)
		n = snprintf(buf, size, "/run/isol8/isol8.sock");
	else if (xdg_runtime_dir != NULL && xdg_runtime_dir[0] == '/')
		n = snprintf(buf, size, "%s/isol8/isol8.sock", xdg_runtime_dir);
	else
		n = snprintf(buf, size, "/tmp/isol8-%u/isol8.sock", (unsigned)uid);
	if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -1;
	return 0;
}

void isol8_dirname(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(buf, size, ".");
	else if (slash == path)
		snprintf(buf, size, "/");
	else
		snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

bool isol8_daemon_socket_alive(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd, ret, saved;

	if (path[0] != '/' || strlen(path) >= sizeof(addr.sun_path))
		return true;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return true;
	do
		ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	while (ret < 0 && errno == EINTR);
	saved = errno;
	close(fd);
	return ret == 0 || !(saved == ECONNREFUSED || saved == ENOENT || saved == ENOTDIR);
}
