/* Unit tests: listening sockets (api/rpc/server_listen.c): what a unix
 * socket path may replace, its directory and mode, a TCP port already
 * taken, and which addresses are loopback. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "runner.h"

static char dir[64];

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/isol8-listen-test-XXXXXX");
	return mkdtemp(dir) == NULL;
}

static int cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0;
}

/* Starts a server on addr; returns 0 or the error's negative code (message in err). */
static int serve(struct isol8_rpc_server **srv, const char *addr, int *port, struct isol8_error *err)
{
	int ret;

	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_new(srv, NULL, err), 0);
	ret = isol8_rpc_server_listen(*srv, addr, NULL, NULL, port, err);
	if (ret == 0)
		ret = isol8_rpc_server_start(*srv, err);
	return ret;
}

/* The server answers a connection on target. */
static bool answers(const char *target)
{
	struct isol8_rpc_channel_config cfg = {target, NULL, NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_channel *ch = NULL;
	bool ok;

	if (isol8_rpc_channel_new(&ch, &cfg, &err) < 0)
		return false;
	ok = isol8_rpc_channel_wait_ready(ch, 3000, &err) == 0;
	isol8_rpc_channel_free(ch);
	return ok;
}

/* Entries of d other than . and .. (the private bind directories must be gone). */
static int entries(const char *d)
{
	DIR *h = opendir(d);
	struct dirent *e;
	int n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	while ((e = readdir(h)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(h);
	return n;
}

static void test_socket_mode_and_directory(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_server *srv = NULL;
	char sub[128], path[160], addr[170];
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/made", dir);
	snprintf(path, sizeof(path), "%s/isol8.sock", sub);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	CU_ASSERT_EQUAL_FATAL(serve(&srv, addr, NULL, &err), 0);
	CU_ASSERT_EQUAL(stat(sub, &st), 0);
	CU_ASSERT(S_ISDIR(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	CU_ASSERT_EQUAL(lstat(path, &st), 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL(entries(sub), 1); /* only the socket */
	CU_ASSERT(answers(addr));
	isol8_rpc_server_free(srv);
	unlink(path);
	rmdir(sub);
}

static void test_regular_file_is_refused_and_kept(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_server *srv = NULL;
	char path[160], addr[170], want[200], got[16] = "";
	int fd;

	snprintf(path, sizeof(path), "%s/precious.txt", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "keep me", 7), 7);
	close(fd);
	CU_ASSERT_EQUAL(serve(&srv, addr, NULL, &err), -ISOL8_E_INVALID);
	snprintf(want, sizeof(want), "\"%s\" exists and is not a socket", path);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
	isol8_rpc_server_free(srv);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(read(fd, got, sizeof(got) - 1), 7);
	close(fd);
	CU_ASSERT_STRING_EQUAL(got, "keep me");
	/* a directory too, through the prepare call the daemon makes first */
	snprintf(path, sizeof(path), "%s/adir", dir);
	CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_rpc_unix_prepare(path, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "exists and is not a socket"));
	CU_ASSERT_EQUAL(rmdir(path), 0);
	CU_ASSERT_EQUAL(entries(dir), 1); /* precious.txt, no private bind directory left */
}

static void test_stale_socket_is_replaced(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_server *srv = NULL;
	char path[160], addr[170];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	CU_ASSERT_FATAL(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the socket file of a dead server stays */
	CU_ASSERT_EQUAL_FATAL(serve(&srv, addr, NULL, &err), 0);
	CU_ASSERT(answers(addr));
	isol8_rpc_server_free(srv);
	unlink(path);
}

static void test_directory_owner_and_mode(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char sub[128], path[160], want[256];

	snprintf(sub, sizeof(sub), "%s/open", dir);
	snprintf(path, sizeof(path), "%s/isol8.sock", sub);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	CU_ASSERT_EQUAL(chmod(sub, 0770), 0);
	CU_ASSERT_EQUAL(isol8_rpc_unix_prepare(path, &err), -ISOL8_E_INVALID);
	snprintf(want, sizeof(want),
		 "the socket directory \"%s\" must be owned by uid %u and not writable by group or others "
		 "(it is owned by uid %u, mode 0770)",
		 sub, (unsigned)geteuid(), (unsigned)geteuid());
	CU_ASSERT_STRING_EQUAL(err.message, want);
	CU_ASSERT_EQUAL(chmod(sub, 01777), 0);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_rpc_unix_prepare(path, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "mode 1777"));
	CU_ASSERT_EQUAL(chmod(sub, 0755), 0);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_rpc_unix_prepare(path, &err), 0);
	if (geteuid() == 0) { /* another owner */
		CU_ASSERT_EQUAL(chown(sub, 65534, 65534), 0);
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(isol8_rpc_unix_prepare(path, &err), -ISOL8_E_INVALID);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "(it is owned by uid 65534, mode 0755)"));
	}
	CU_ASSERT_EQUAL(rmdir(sub), 0);
	/* a parent that is missing: named */
	snprintf(path, sizeof(path), "%s/no/such/isol8.sock", dir);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_rpc_unix_prepare(path, &err), -ISOL8_E_IO);
	snprintf(want, sizeof(want), "cannot create the socket directory \"%s/no/such\"", dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
	/* too long for sun_path */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_rpc_unix_prepare(path, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "is longer than 107 bytes"));
}

static void test_tcp_port_taken(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_server *first = NULL, *second = NULL;
	char addr[64], want[128];
	int port = 0, other = 0;

	CU_ASSERT_EQUAL_FATAL(serve(&first, "127.0.0.1:0", &port, &err), 0);
	CU_ASSERT_FATAL(port > 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	CU_ASSERT_EQUAL(serve(&second, addr, &other, &err), -ISOL8_E_UNAVAILABLE);
	snprintf(want, sizeof(want), "cannot listen on %s: address already in use", addr);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
	isol8_rpc_server_free(second);
	CU_ASSERT(answers(addr));
	isol8_rpc_server_free(first);
}

static void test_loopback_addresses(void)
{
	static const char *const loopback[] = {"127.0.0.1:7700", "127.1.2.3:1", "[::1]:7700", "localhost:7700",
					       "LOCALHOST:1", "[::ffff:127.0.0.1]:7700", "unix:/run/isol8/isol8.sock"};
	static const char *const open_to_all[] = {"0.0.0.0:7700", ":7700", "[::]:7700", "10.0.0.5:7700",
						  "example.com:7700", "128.0.0.1:7700", "[::2]:7700", "nonsense"};

	for (size_t i = 0; i < ISOL8_TESTS_LEN(loopback); i++)
		CU_ASSERT(isol8_rpc_addr_is_loopback(loopback[i]));
	for (size_t i = 0; i < ISOL8_TESTS_LEN(open_to_all); i++)
		CU_ASSERT(!isol8_rpc_addr_is_loopback(open_to_all[i]));
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"a unix socket is 0600 in a 0700 directory it made", test_socket_mode_and_directory},
		{"a regular file at the socket path is refused and kept", test_regular_file_is_refused_and_kept},
		{"a stale socket is replaced", test_stale_socket_is_replaced},
		{"the socket directory's owner and mode are checked", test_directory_owner_and_mode},
		{"a TCP port already listened on is refused", test_tcp_port_taken},
		{"loopback addresses", test_loopback_addresses},
	};

	return isol8_test_run("listen", setup, cleanup, tests, ISOL8_TESTS_LEN(tests));
}
