/*
 * `isol8 cp SRC DST`: copies one file between this machine and a session's
 * sandbox (isol8_put_file_from, isol8_get_file_to). An upload sends the
 * local file (or stdin) as it reads it, with its permission bits; a download writes a temporary
 * file beside the destination and renames it over the destination at the
 * end, so a failed copy leaves no partial file ("-" writes to stdout as the
 * bytes come).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/cp_args.h"
#include "cli/output.h"

void isol8_cli_cp_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 cp SRC DST\n\n"
		     "Copies one file between this machine and a persistent session's sandbox\n"
		     "(created by `isol8 run --session-id ID`). Exactly one side is SESSION:/PATH,\n"
		     "an absolute path under /sandbox or /tmp; the other a local path, or - for\n"
		     "stdin (upload) or stdout (download). An upload keeps the local file's\n"
		     "permission bits; a download replaces DST only once the whole file came.\n\n"
		     "  isol8 cp data.csv s1:/sandbox/data.csv\n"
		     "  isol8 cp s1:/sandbox/out.png ./out.png\n\nFlags:\n" ISOL8_CLI_CONN_HELP
		     "  -h, --help         show this help\n");
}

/* The session side, for messages: "s1:/sandbox/x". */
static void remote_name(const struct isol8_cli_cp *cp, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%s", cp->session_id, cp->path);
}

/* Prints why a call failed, naming what; returns the exit status. */
static int cp_failed(const struct isol8_cli_cp *cp, const struct isol8_cli_conn *conn, const struct isol8_error *err)
{
	char remote[PATH_MAX + ISOL8_CLI_SESSION_ID_MAX + 2];

	if (isol8_cli_error_is_disconnect(err))
		return isol8_cli_call_failed(err, conn);
	remote_name(cp, remote, sizeof(remote));
	if (err->code == ISOL8_E_NOT_FOUND && strncmp(err->message, "session_id:", 11) == 0)
		isol8_cli_say("cp: session \"%s\" not found (`isol8 run --session-id %s` creates it)", cp->session_id,
			      cp->session_id);
	else if (err->code == ISOL8_E_NOT_FOUND)
		isol8_cli_say("cp: \"%s\": no such file (%s)", remote, err->message);
	else
		isol8_cli_say("cp: %s \"%s\": %s", cp->upload ? "upload to" : "download of", remote, err->message);
	return ISOL8_CLI_EXIT_ERROR;
}

/* --- upload --- */

/* Opens the local source: its fd and the mode to send (0: the daemon's
 * default, for stdin). */
static int upload_open(const struct isol8_cli_cp *cp, int *fd, uint32_t *mode)
{
	struct stat st;

	*mode = 0;
	if (strcmp(cp->local, "-") == 0) {
		*fd = STDIN_FILENO;
		return 0;
	}
	*fd = open(cp->local, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		isol8_cli_say("cp: cannot open \"%s\": %s", cp->local, strerror(errno));
		return ISOL8_CLI_EXIT_ERROR;
	}
	if (fstat(*fd, &st) < 0)
		st.st_mode = 0;
	if (!S_ISREG(st.st_mode)) {
		isol8_cli_say("cp: \"%s\" is %s (cp copies one regular file)", cp->local,
			      S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		close(*fd);
		*fd = -1;
		return ISOL8_CLI_EXIT_ERROR;
	}
	*mode = (uint32_t)(st.st_mode & 0777);
	return 0;
}

/* The local side of an upload, read as the library asks: what a pipe has
 * goes on at once, so a slow writer never leaves the sandbox's side waiting
 * for a full chunk. A read error is kept to be said as the local file's. */
struct upload {
	int fd;
	int read_errno; /* 0: none */
};

static ssize_t upload_read(void *userdata, void *buf, size_t size)
{
	struct upload *u = userdata;
	ssize_t n;

	do
		n = read(u->fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		u->read_errno = errno;
	return n;
}

/* The local file is opened before the daemon is reached, so a bad one is
 * said without a daemon. */
static int cp_upload(const struct isol8_cli_cp *cp, const struct isol8_cli_conn *conn)
{
	_cleanup_client_ struct isol8_client *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct upload u = {.fd = -1};
	uint32_t mode;
	int ret;

	ret = upload_open(cp, &u.fd, &mode);
	if (ret == 0)
		ret = isol8_cli_open(&c, conn);
	if (ret == 0 && isol8_put_file_from(c, cp->session_id, cp->path, mode, upload_read, &u, NULL, &err) < 0) {
		if (u.read_errno != 0)
			isol8_cli_say("cp: read \"%s\": %s", cp->local, strerror(u.read_errno));
		ret = u.read_errno != 0 ? ISOL8_CLI_EXIT_ERROR : cp_failed(cp, conn, &err);
	}
	if (u.fd >= 0 && u.fd != STDIN_FILENO)
		close(u.fd);
	return ret;
}

/* --- download --- */

/* Where a download goes: the destination (DST, or DST/NAME when DST is a
 * directory) and the temporary file beside it. */
struct download {
	char dst[PATH_MAX];
	char tmp[PATH_MAX];
	int fd;
	const char *name; /* for messages: dst, or "stdout" */
	struct isol8_error write_err; /* why writing it failed */
};

static int download_open(const struct isol8_cli_cp *cp, struct download *d)
{
	const char *base = strrchr(cp->path, '/') + 1;
	const char *slash;
	struct stat st;
	int dir_len;

	if (strcmp(cp->local, "-") == 0) {
		d->fd = STDOUT_FILENO;
		d->name = "stdout";
		return 0;
	}
	if (stat(cp->local, &st) == 0 && S_ISDIR(st.st_mode)) {
		if ((size_t)snprintf(d->dst, sizeof(d->dst), "%s/%s", cp->local, base) >= sizeof(d->dst))
			goto too_long;
	} else if ((size_t)snprintf(d->dst, sizeof(d->dst), "%s", cp->local) >= sizeof(d->dst)) {
		goto too_long;
	}
	slash = strrchr(d->dst, '/');
	dir_len = slash ? (int)(slash - d->dst) + 1 : 0;
	if ((size_t)snprintf(d->tmp, sizeof(d->tmp), "%.*s.%s.isol8-cp-XXXXXX", dir_len, d->dst,
			     d->dst + dir_len) >= sizeof(d->tmp))
		goto too_long;
	d->fd = mkostemp(d->tmp, O_CLOEXEC);
	if (d->fd < 0) {
		isol8_cli_say("cp: cannot create a file beside \"%s\": %s", d->dst, strerror(errno));
		return ISOL8_CLI_EXIT_ERROR;
	}
	d->name = d->dst;
	return 0;
too_long:
	isol8_cli_say("cp: \"%s\": path too long", cp->local);
	return ISOL8_CLI_EXIT_ERROR;
}

/* The new file gets the destination's mode when it exists, else what a
 * new file gets (0666 less the umask). */
static int download_commit(struct download *d)
{
	struct stat st;
	mode_t mode;

	if (stat(d->dst, &st) == 0) {
		mode = st.st_mode & 07777;
	} else {
		mode_t mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	if (fchmod(d->fd, mode) < 0 || close(d->fd) < 0) {
		d->fd = -1;
		isol8_cli_say("cp: write \"%s\": %s", d->tmp, strerror(errno));
		return ISOL8_CLI_EXIT_ERROR;
	}
	d->fd = -1;
	if (rename(d->tmp, d->dst) < 0) {
		isol8_cli_say("cp: rename \"%s\" to \"%s\": %s", d->tmp, d->dst, strerror(errno));
		return ISOL8_CLI_EXIT_ERROR;
	}
	d->tmp[0] = '\0';
	return 0;
}

/* Whatever is left of a download that did not finish goes. */
static void download_release(struct download *d)
{
	if (d->fd >= 0 && d->fd != STDOUT_FILENO)
		close(d->fd);
	if (d->tmp[0] != '\0')
		unlink(d->tmp);
}

/* The library's writer: the bytes into the download's file as they come;
 * a write error is kept to be said as the local file's. */
static int download_write(void *userdata, const void *buf, size_t size)
{
	struct download *d = userdata;

	return isol8_cli_write(d->fd, d->name, buf, size, &d->write_err) < 0 ? -1 : 0;
}

static int cp_download(const struct isol8_cli_cp *cp, const struct isol8_cli_conn *conn)
{
	__attribute__((cleanup(download_release))) struct download d = {.fd = -1};
	_cleanup_client_ struct isol8_client *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int ret = download_open(cp, &d);

	if (ret == 0)
		ret = isol8_cli_open(&c, conn);
	if (ret != 0)
		return ret;
	if (isol8_get_file_to(c, cp->session_id, cp->path, download_write, &d, &err) < 0) {
		if (d.write_err.code == 0)
			return cp_failed(cp, conn, &err);
		isol8_cli_say("cp: %s", d.write_err.message);
		return ISOL8_CLI_EXIT_ERROR;
	}
	return d.fd == STDOUT_FILENO ? 0 : download_commit(&d);
}

int isol8_cli_cp_main(int argc, char **argv)
{
	struct isol8_cli_cp cp;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_cli_conn conn = {0};

	if (isol8_cli_cp_parse(&cp, argc, argv, &err) < 0)
		return isol8_cli_fail(&err);
	if (cp.help) {
		isol8_cli_cp_usage(stdout);
		return 0;
	}
	conn.host = cp.host;
	conn.key = cp.key;
	return cp.upload ? cp_upload(&cp, &conn) : cp_download(&cp, &conn);
}
