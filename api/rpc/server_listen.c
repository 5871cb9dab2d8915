/*
 * Listening sockets: what gRPC does not check for us.
 *
 * Unix sockets. The directory must be ours and closed to others (created
 * 0700 when missing), and the path must be free or hold a socket: a regular
 * file or anything else is refused, never deleted. The socket is bound
 * under a private name (a mkdtemp directory beside it, 0700), made 0600 and
 * only then renamed onto its path, so nobody can connect to it before its
 * mode is set; the rename replaces a stale socket in one step. Whether a
 * stale socket may be replaced is the caller's decision (isol8d holds an
 * flock on "<socket>.lock").
 *
 * TCP. The server turns SO_REUSEPORT off (server.c), so a port someone
 * listens on is refused; gRPC says only that no address was added, so the
 * reason is found by binding the address once ourselves.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/paths.h"
#include "base/util.h"
#include "rpc/rpc_server_internal.h"

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

static int dir_check(const char *dir, struct isol8_error *err)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot create the socket directory \"%s\"", dir);
	if (stat(dir, &st) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot stat the socket directory \"%s\"", dir);
	if (!S_ISDIR(st.st_mode))
		return isol8_error_set(err, ISOL8_E_INVALID, "the socket directory \"%s\" is not a directory", dir);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "the socket directory \"%s\" must be owned by uid %u and not writable by group "
				       "or others (it is owned by uid %u, mode %04o)",
				       dir, (unsigned)geteuid(), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* The path is free or holds a socket. */
static int path_check(const char *path, struct isol8_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot stat the socket \"%s\"", path);
	}
	if (!S_ISSOCK(st.st_mode))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "\"%s\" exists and is not a socket: refusing to replace it (give a free path)",
				       path);
	return 0;
}

int isol8_rpc_unix_prepare(const char *path, struct isol8_error *err)
{
	char dir[PATH_MAX];
	int ret;

	if (path == NULL || path[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "the socket path is empty");
	if (strlen(path) >= SUN_PATH_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "the socket path \"%s\" is longer than %zu bytes", path,
				       SUN_PATH_MAX - 1);
	isol8_dirname(path, dir, sizeof(dir));
	ret = dir_check(dir, err);
	if (ret == 0)
		ret = path_check(path, err);
	return ret;
}

int isol8_rpc_listen_unix(grpc_server *server, const char *path, grpc_server_credentials *creds,
			  struct isol8_error *err)
{
	char dir[PATH_MAX], tmp_dir[PATH_MAX], tmp_sock[PATH_MAX + 8], addr[PATH_MAX + 16];
	int ret;

	ret = isol8_rpc_unix_prepare(path, err);
	if (ret < 0)
		return ret;
	isol8_dirname(path, dir, sizeof(dir));
	if ((size_t)snprintf(tmp_dir, sizeof(tmp_dir), "%s/.isol8-XXXXXX", dir) >= sizeof(tmp_dir) ||
	    (size_t)snprintf(tmp_sock, sizeof(tmp_sock), "%s/s", tmp_dir) >= SUN_PATH_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "the socket directory \"%s\" is too long: a socket is bound under a private "
				       "name first, which needs a directory of at most %zu bytes",
				       dir, SUN_PATH_MAX - 17);
	if (mkdtemp(tmp_dir) == NULL)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot create a directory in \"%s\"", dir);
	snprintf(tmp_sock, sizeof(tmp_sock), "%s/s", tmp_dir);
	snprintf(addr, sizeof(addr), "unix:%s", tmp_sock);
	if (grpc_server_add_http2_port(server, addr, creds) <= 0)
		ret = isol8_error_set(err, ISOL8_E_IO, "cannot listen on unix:%s", path);
	else if (chmod(tmp_sock, 0600) < 0)
		ret = isol8_error_errno(err, ISOL8_E_IO, errno, "cannot set the mode of the socket \"%s\"", tmp_sock);
	else if ((ret = path_check(path, err)) == 0 && rename(tmp_sock, path) < 0)
		ret = isol8_error_errno(err, ISOL8_E_IO, errno, "cannot move the socket to \"%s\"", path);
	if (ret < 0)
		unlink(tmp_sock);
	rmdir(tmp_dir);
	return ret;
}

/* Host and port of "HOST:PORT", "[V6]:PORT" or ":PORT" (host NULL: every address). */
static int split_host_port(const char *addr, char *host, size_t size, const char **port)
{
	const char *colon = strrchr(addr, ':');
	size_t len;

	if (colon == NULL)
		return -1;
	*port = colon + 1;
	len = (size_t)(colon - addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len >= size)
		return -1;
	memcpy(host, addr, len);
	host[len] = '\0';
	return 0;
}

int isol8_rpc_listen_tcp_failure(const char *addr, struct isol8_error *err)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *list = NULL;
	char host[256];
	const char *port;
	int reason = 0, rc;

	if (split_host_port(addr, host, sizeof(host), &port) < 0)
		return isol8_error_set(err, ISOL8_E_IO, "cannot listen on %s", addr);
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &list);
	if (rc != 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "cannot listen on %s: cannot resolve \"%s\": %s", addr,
				       host, gai_strerror(rc));
	for (struct addrinfo *ai = list; ai != NULL && reason == 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), one = 1;

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* as gRPC does */
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			reason = errno;
		close(fd);
	}
	freeaddrinfo(list);
	if (reason == EADDRINUSE)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE,
				       "cannot listen on %s: address already in use (another isol8d or program "
				       "listens on port %s)",
				       addr, port);
	if (reason != 0)
		return isol8_error_errno(err, ISOL8_E_IO, reason, "cannot listen on %s", addr);
	return isol8_error_set(err, ISOL8_E_IO, "cannot listen on %s", addr);
}

bool isol8_rpc_addr_is_loopback(const char *addr)
{
	char host[256];
	const char *port;
	struct in_addr v4;
	struct in6_addr v6;

	if (strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "unix-abstract:", 14) == 0)
		return true;
	if (split_host_port(addr, host, sizeof(host), &port) < 0)
		return false;
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6) ||
		       (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
	return false;
}
