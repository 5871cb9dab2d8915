/* Starting the local isol8d on demand: see autostart.h. */
#include "cli/autostart.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/options.h"
#include "base/paths.h"
#include "base/util.h"

/* A log past this size is started afresh. */
#define LOG_MAX_BYTES (1024 * 1024)
#define POLL_MS 50

/* 1 when something accepts connections on the socket, 0 when nothing does,
 * negative when we may not even try (permissions). */
static int probe(const char *socket_path, struct isol8_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int ret;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "socket");
	do
		ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	while (ret < 0 && errno == EINTR);
	if (ret == 0)
		return 1;
	if (errno == EACCES || errno == EPERM)
		return isol8_error_errno(err, ISOL8_E_UNAVAILABLE, errno, "cannot connect to \"%s\"",
					 socket_path);
	return 0;
}

/* Creates the socket directory if missing; a private one must be a real
 * directory of ours that nobody else can write to. */
static int ensure_dir(const char *dir, bool private_dir, struct isol8_error *err)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot create \"%s\"", dir);
	if (!private_dir)
		return 0;
	if (lstat(dir, &st) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot stat \"%s\"", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022) != 0)
		return isol8_error_set(err, ISOL8_E_PRECONDITION,
				       "\"%s\" must be a directory owned by uid %u that only it can "
				       "write to",
				       dir, (unsigned)getuid());
	return 0;
}

static int lock_dir(const char *dir, int *out, struct isol8_error *err)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/isol8d.lock", dir) >= (int)sizeof(path))
		return isol8_error_set(err, ISOL8_E_INVALID, "\"%s\": path too long", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot open \"%s\"", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int saved = errno;
			close(fd);
			return isol8_error_errno(err, ISOL8_E_IO, saved, "cannot lock \"%s\"", path);
		}
	}
	*out = fd;
	return 0;
}

static int idle_exit_seconds(int64_t *out, struct isol8_error *err)
{
	const char *env = getenv("ISOL8_IDLE_EXIT");

	*out = ISOL8_CLI_IDLE_EXIT_DEFAULT;
	if (env == NULL || env[0] == '\0')
		return 0;
	return isol8_cli_parse_int("ISOL8_IDLE_EXIT", env, 0, INT32_MAX, "a number of seconds",
				   out, err);
}

static bool executable(const char *path)
{
	struct stat st;

	return path != NULL && path[0] != '\0' && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* The isol8d to start, into buf; empty when only PATH is left to try. */
static void find_isol8d(char *buf, size_t size)
{
	char exe[PATH_MAX];
	char dir[PATH_MAX];
	const char *env = getenv("ISOL8D");
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(buf, size, "%s", env); /* used as given; exec names it if it fails */
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		isol8_dirname(exe, dir, sizeof(dir));
		if (snprintf(buf, size, "%s/isol8d", dir) < (int)size && executable(buf))
			return;
		if (snprintf(buf, size, "%s/../../server/daemon/isol8d", dir) < (int)size &&
		    executable(buf))
			return;
	}
#ifdef ISOL8D_BUILD_PATH
	if (executable(ISOL8D_BUILD_PATH)) {
		snprintf(buf, size, "%s", ISOL8D_BUILD_PATH);
		return;
	}
#endif
	buf[0] = '\0';
}

static int open_log(const char *path, struct isol8_error *err)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);

	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot open \"%s\"", path);
	if (fstat(fd, &st) == 0 && st.st_size > LOG_MAX_BYTES && ftruncate(fd, 0) < 0) {
		/* an over-long log is only untidy */
	}
	return fd;
}

/* In the child: marks every fd above stderr close-on-exec, so the daemon does
 * not keep pipes or files the CLI inherited (a caller waiting for EOF on one
 * would wait for the daemon's whole life). */
static void cloexec_inherited(void)
{
	long max;

	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* In the child: becomes the daemon or reports errno on report_fd and exits. */
static void __attribute__((noreturn))
exec_daemon(const char *binary, char *const argv[], int null_fd, int log_fd, int report_fd)
{
	int saved;

	if (setsid() < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
	    dup2(log_fd, STDERR_FILENO) < 0)
		goto fail;
	cloexec_inherited();
	if (binary[0] != '\0')
		execv(binary, argv);
	else
		execvp("isol8d", argv);
fail:
	saved = errno;
	if (write(report_fd, &saved, sizeof(saved)) < 0) {
		/* nothing left to tell */
	}
	_exit(127);
}

/* Forks the daemon; *pid is its pid. Fails fast when exec fails. */
static int spawn(const char *socket_path, const char *log_path, pid_t *pid,
		 struct isol8_error *err)
{
	char binary[PATH_MAX];
	char idle[24];
	char *argv[] = {"isol8d", "--socket", (char *)socket_path, "--idle-exit", idle, NULL};
	int64_t idle_s;
	_cleanup_close_ int null_fd = -1;
	_cleanup_close_ int log_fd = -1;
	int report[2];
	int child_errno = 0;
	ssize_t n;
	int ret;

	ret = idle_exit_seconds(&idle_s, err);
	if (ret < 0)
		return ret;
	snprintf(idle, sizeof(idle), "%lld", (long long)idle_s);
	find_isol8d(binary, sizeof(binary));

	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot open /dev/null");
	log_fd = open_log(log_path, err);
	if (log_fd < 0)
		return log_fd;
	if (pipe2(report, O_CLOEXEC) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "pipe");
	*pid = fork();
	if (*pid < 0) {
		close(report[0]);
		close(report[1]);
		return isol8_error_errno(err, ISOL8_E_IO, errno, "fork");
	}
	if (*pid == 0)
		exec_daemon(binary, argv, null_fd, log_fd, report[1]);
	close(report[1]);
	do
		n = read(report[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		waitpid(*pid, NULL, 0);
		return isol8_error_errno(err, ISOL8_E_UNAVAILABLE, child_errno,
					 "cannot start isol8d \"%s\" (set ISOL8D to the isol8d to use)",
					 binary[0] != '\0' ? binary : "isol8d on PATH");
	}
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Waits until the socket answers, the daemon dies, or the time is up. */
static int wait_answer(const char *socket_path, pid_t pid, struct isol8_error *err)
{
	int64_t deadline = isol8_now_ms() + ISOL8_CLI_START_WAIT_MS;
	int status;

	for (;;) {
		int ret = probe(socket_path, err);
		if (ret != 0)
			return ret < 0 ? ret : 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (WIFEXITED(status))
				return isol8_error_set(err, ISOL8_E_UNAVAILABLE,
						       "isol8d exited with status %d before it "
						       "answered on %s",
						       WEXITSTATUS(status), socket_path);
			return isol8_error_set(err, ISOL8_E_UNAVAILABLE,
					       "isol8d was killed by signal %d before it answered "
					       "on %s",
					       WTERMSIG(status), socket_path);
		}
		if (isol8_now_ms() >= deadline)
			return isol8_error_set(err, ISOL8_E_UNAVAILABLE,
					       "isol8d did not answer on %s within %d s", socket_path,
					       ISOL8_CLI_START_WAIT_MS / 1000);
		sleep_ms(POLL_MS);
	}
}

int isol8_cli_daemon_ensure(const char *socket_path, bool private_dir,
			    struct isol8_cli_daemon_status *status, struct isol8_error *err)
{
	char dir[PATH_MAX];
	_cleanup_close_ int lock_fd = -1;
	pid_t pid = -1;
	int ret;

	*status = (struct isol8_cli_daemon_status){0};
	isol8_dirname(socket_path, dir, sizeof(dir));
	ret = ensure_dir(dir, private_dir, err);
	if (ret < 0)
		return ret;
	ret = probe(socket_path, err);
	if (ret != 0)
		return ret < 0 ? ret : 0;
	ret = lock_dir(dir, &lock_fd, err);
	if (ret < 0)
		return ret;
	ret = probe(socket_path, err); /* another CLI may have started it meanwhile */
	if (ret != 0)
		return ret < 0 ? ret : 0;
	if (snprintf(status->log_path, sizeof(status->log_path), "%s/isol8d.log", dir) >=
	    (int)sizeof(status->log_path))
		return isol8_error_set(err, ISOL8_E_INVALID, "\"%s\": path too long", dir);
	ret = spawn(socket_path, status->log_path, &pid, err);
	if (ret < 0)
		return ret;
	status->started = true;
	return wait_answer(socket_path, pid, err);
}

void isol8_cli_daemon_log_tail(const char *log_path, int lines)
{
	char buf[4096];
	_cleanup_close_ int fd = open(log_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	off_t size;
	ssize_t n;
	const char *start;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0)
		return;
	if (lseek(fd, size > (off_t)sizeof(buf) ? size - (off_t)sizeof(buf) : 0, SEEK_SET) < 0)
		return;
	n = isol8_read_full(fd, buf, sizeof(buf));
	if (n <= 0)
		return;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	start = buf + n;
	for (int seen = 0; start > buf && seen < lines; start--)
		if (start[-1] == '\n' && ++seen == lines)
			break;
	fprintf(stderr, "[INFO] last lines of %s:\n%.*s\n", log_path, (int)(n - (start - buf)),
		start);
}
