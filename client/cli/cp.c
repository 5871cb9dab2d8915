/*
 * `isol8 cp SRC DST`: copies one file between this machine and a session's
 * sandbox (PutFile, GetFile). An upload sends the local file (or stdin) a
 * chunk at a time with its permission bits; a download writes a temporary
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
#include "isol8/v1/isol8.rpc.h"

/* Bytes read from the local file per PutFileChunk. */
#define CP_CHUNK (1024u * 1024u)

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

/* Sends the file chunk by chunk; a read error is printed and returns 1. */
static int upload_send(const struct isol8_cli_cp *cp, struct isol8_rpc_stream *st, int fd, uint32_t mode,
		       uint8_t *buf, struct isol8_error *err)
{
	Isol8__V1__PutFileChunk chunk = ISOL8__V1__PUT_FILE_CHUNK__INIT;

	chunk.session_id = (char *)cp->session_id;
	chunk.path = (char *)cp->path;
	chunk.mode = mode;
	for (;;) {
		/* what a pipe has goes on at once: a slow writer never leaves the
		 * sandbox's side waiting for a full chunk */
		ssize_t n = read(fd, buf, CP_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			isol8_cli_say("cp: read \"%s\": %s", cp->local, strerror(errno));
			return 1;
		}
		/* the first chunk goes even when empty: it names the file */
		if (n > 0 || chunk.session_id[0] != '\0') {
			chunk.data = (ProtobufCBinaryData){(size_t)n, buf};
			if (isol8__v1__isol8__put_file__write(st, &chunk, err) < 0)
				return -1;
		}
		chunk.session_id = "";
		chunk.path = "";
		chunk.mode = 0;
		if (n == 0)
			return 0;
	}
}

/* The local file is opened before the daemon is reached, so a bad one is
 * said without a daemon. */
static int cp_upload(const struct isol8_cli_cp *cp, const struct isol8_cli_conn *conn)
{
	_cleanup_message_ Isol8__V1__PutFileResult *res = NULL;
	_cleanup_channel_ struct isol8_rpc_channel *ch = NULL;
	_cleanup_stream_ struct isol8_rpc_stream *st = NULL;
	_cleanup_free_ uint8_t *buf = malloc(CP_CHUNK);
	struct isol8_error err = ISOL8_ERROR_INIT;
	uint32_t mode;
	int fd = -1, ret;

	if (buf == NULL) {
		isol8_cli_say("cp: out of memory");
		return ISOL8_CLI_EXIT_ERROR;
	}
	ret = upload_open(cp, &fd, &mode);
	if (ret == 0)
		ret = isol8_cli_open(&ch, conn);
	if (ret == 0 && isol8__v1__isol8__put_file__start(&st, ch, 0, &err) < 0)
		ret = cp_failed(cp, conn, &err);
	if (ret == 0)
		ret = upload_send(cp, st, fd, mode, buf, &err);
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	if (ret > 0)
		return ISOL8_CLI_EXIT_ERROR; /* said; freeing the stream cancels the upload */
	/* a write fails when the daemon ended the call: its status says why */
	isol8_error_clear(&err);
	if (isol8__v1__isol8__put_file__finish(st, &res, &err) < 0)
		return cp_failed(cp, conn, &err);
	if (ret < 0) {
		isol8_error_set(&err, ISOL8_E_UNAVAILABLE, "the daemon stopped reading the file");
		return cp_failed(cp, conn, &err);
	}
	return 0;
}

/* --- download --- */

/* Where a download goes: the destination (DST, or DST/NAME when DST is a
 * directory) and the temporary file beside it. */
struct download {
	char dst[PATH_MAX];
	char tmp[PATH_MAX];
	int fd;
	const char *name; /* for messages: dst, or "stdout" */
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

static int cp_download(const struct isol8_cli_cp *cp, const struct isol8_cli_conn *conn)
{
	Isol8__V1__GetFileRequest req = ISOL8__V1__GET_FILE_REQUEST__INIT;
	__attribute__((cleanup(download_release))) struct download d = {.fd = -1};
	_cleanup_channel_ struct isol8_rpc_channel *ch = NULL;
	_cleanup_stream_ struct isol8_rpc_stream *st = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int ret = download_open(cp, &d);

	if (ret == 0)
		ret = isol8_cli_open(&ch, conn);
	if (ret != 0)
		return ret;
	req.session_id = (char *)cp->session_id;
	req.path = (char *)cp->path;
	ret = isol8__v1__isol8__get_file__start(&st, ch, &req, 0, &err);
	while (ret == 0) {
		_cleanup_message_ Isol8__V1__FileChunk *chunk = NULL;

		ret = isol8__v1__isol8__get_file__read(st, &chunk, &err);
		if (ret <= 0)
			break;
		ret = isol8_cli_write(d.fd, d.name, chunk->data.data, chunk->data.len, &err);
		if (ret < 0) {
			isol8_cli_say("cp: %s", err.message);
			return ISOL8_CLI_EXIT_ERROR;
		}
	}
	if (ret < 0)
		return cp_failed(cp, conn, &err);
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
