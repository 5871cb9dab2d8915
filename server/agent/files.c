/*
 * put_file and get_file. The handler process serving one of these drops to
 * the sandbox identity first (put_file: the request's uid/gid, default the
 * agent's --uid/--gid; get_file: the agent's), so a path or a link planted by
 * user code can reach nothing that user could not. Paths must be absolute,
 * normalized (no "..", ".", "//" or trailing "/") and under /sandbox or /tmp
 * (EINVAL otherwise); no component is ever followed when it is a link (ELOOP),
 * and only regular files are read or written. A put_file mode has permission
 * bits only (0777). A put_file that fails part way removes what it wrote; a
 * full tmpfs is ENOSPC with a message saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/util.h"

/* The trees put_file and get_file may reach: the sandbox's two tmpfs. */
static const char *const files_roots[] = {"/sandbox/", "/tmp/"};

/* Whether path is absolute, normalized and strictly under a root. */
static bool files_path_allowed(const char *path)
{
	if (!agent_path_absolute(path))
		return false;
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(files_roots); i++)
		if (strncmp(path, files_roots[i], strlen(files_roots[i])) == 0)
			return true;
	return false;
}

/* Sends the Error of a refused path; what is "put_file" or "get_file". */
static void files_refuse_path(int conn, const char *what, const char *path)
{
	agent_send_error(conn, EINVAL,
			 "%s: path \"%s\" is not an absolute normalized path under /sandbox or /tmp", what, path);
}

/* Sends the Error of a failed open: a link on the way gets its own words. */
static void files_open_error(int conn, const char *what, const char *path, int errnum)
{
	if (errnum == ELOOP)
		agent_send_error(conn, ELOOP, "%s: \"%s\": a component is a symbolic link (links are not followed)",
				 what, path);
	else if (errnum == ENOSPC || errnum == EDQUOT)
		agent_send_error(conn, errnum, "%s: \"%s\": the sandbox's tmpfs is full (%s)", what, path,
				 strerror(errnum));
	else
		agent_send_error(conn, errnum, "%s: open \"%s\": %s", what, path, strerror(errnum));
}

/* Sends the Error of a failed write: a full tmpfs says so. */
static void files_write_error(int conn, const char *path, int errnum)
{
	if (errnum == ENOSPC || errnum == EDQUOT)
		agent_send_error(conn, errnum, "put_file: write \"%s\": the sandbox's tmpfs is full (%s)", path,
				 strerror(errnum));
	else
		agent_send_error(conn, errnum, "put_file: write \"%s\": %s", path, strerror(errnum));
}

/* Opens path for reading or writing, refusing links, FIFOs and devices. */
static int files_open_regular(const char *path, int flags, mode_t mode)
{
	struct stat st;
	int fd = agent_open_nofollow(path, flags | O_NONBLOCK, mode);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	return fd;
}

/* Reads the next PutFile chunk; negative with an Error sent when it fails. */
static int files_next_chunk(int conn, isol8_frame **out)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	int ret = isol8_frame_read(conn, out, AGENT_REQUEST_TIMEOUT_MS, &err);

	if (ret == 0)
		return -ECONNRESET;
	if (ret < 0 && err.code == ISOL8_E_DEADLINE) {
		agent_send_error(conn, ETIMEDOUT, "put_file: no chunk came for %d s: the upload is abandoned",
				 AGENT_REQUEST_TIMEOUT_MS / 1000);
		return -ETIMEDOUT;
	}
	if (ret < 0) {
		agent_send_error(conn, EPROTO, "put_file: %s", err.message);
		return -EPROTO;
	}
	if ((*out)->body_case != ISOL8__AGENT__V1__FRAME__BODY_PUT_FILE) {
		isol8_frame_free(*out);
		*out = NULL;
		agent_send_error(conn, EPROTO, "put_file: expected a PutFile chunk");
		return -EPROTO;
	}
	return 0;
}

/* Writes the first chunk's data and every following chunk until eof. */
static int files_receive(int conn, int fd, const Isol8__Agent__V1__PutFile *chunk, const char *path)
{
	isol8_frame *next = NULL;
	int ret = 0;

	for (;;) {
		if (isol8_write_full(fd, chunk->data.data, chunk->data.len) < 0) {
			ret = -errno;
			files_write_error(conn, path, errno);
			break;
		}
		if (chunk->eof)
			break;
		isol8_frame_free(next);
		next = NULL;
		ret = files_next_chunk(conn, &next);
		if (ret < 0)
			break;
		chunk = next->put_file;
	}
	isol8_frame_free(next);
	return ret;
}

int agent_serve_put_file(const struct agent_config *cfg, int conn, const isol8_frame *first)
{
	const Isol8__Agent__V1__PutFile *req = first->put_file;
	mode_t mode = req->mode ? req->mode : 0644;
	_cleanup_close_ int fd = -1;
	int ret;

	if (!files_path_allowed(req->path)) {
		files_refuse_path(conn, "put_file", req->path);
		return 1;
	}
	if ((req->mode & ~0777u) != 0) {
		agent_send_error(conn, EINVAL, "put_file: mode 0%o has bits outside 0777 (only permission bits are kept)",
				 req->mode);
		return 1;
	}
	ret = agent_drop_privileges(req->uid ? req->uid : cfg->uid, req->gid ? req->gid : cfg->gid);
	if (ret == 0)
		ret = agent_make_parents(req->path);
	if (ret == 0)
		ret = fd = files_open_regular(req->path, O_WRONLY | O_CREAT, mode);
	if (ret < 0) {
		files_open_error(conn, "put_file", req->path, -ret);
		return 1;
	}
	if (ftruncate(fd, 0) < 0 || fchmod(fd, mode) < 0) {
		agent_send_error(conn, errno, "put_file: \"%s\": %s", req->path, strerror(errno));
		unlink(req->path);
		return 1;
	}
	ret = files_receive(conn, fd, req, req->path);
	if (ret < 0) {
		unlink(req->path);
		return 1;
	}
	if (close(fd) < 0) {
		fd = -1;
		files_write_error(conn, req->path, errno);
		unlink(req->path);
		return 1;
	}
	fd = -1;
	return agent_send_ack(conn) < 0 ? 1 : 0;
}

static int files_send_chunk(int conn, const uint8_t *data, size_t len, bool eof)
{
	Isol8__Agent__V1__Frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__FileData chunk = ISOL8__AGENT__V1__FILE_DATA__INIT;

	chunk.data.data = (uint8_t *)data;
	chunk.data.len = len;
	chunk.eof = eof;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_FILE_DATA;
	frame.file_data = &chunk;
	return isol8_frame_write(conn, &frame, NULL);
}

int agent_serve_get_file(const struct agent_config *cfg, int conn, const isol8_frame *first)
{
	const char *path = first->get_file->path;
	_cleanup_free_ uint8_t *buf = malloc(AGENT_FILE_CHUNK);
	_cleanup_close_ int fd = -1;
	int ret;

	if (buf == NULL) {
		agent_send_error(conn, ENOMEM, "get_file: out of memory");
		return 1;
	}
	if (!files_path_allowed(path)) {
		files_refuse_path(conn, "get_file", path);
		return 1;
	}
	ret = agent_drop_privileges(cfg->uid, cfg->gid);
	if (ret == 0)
		ret = fd = files_open_regular(path, O_RDONLY, 0);
	if (ret < 0) {
		files_open_error(conn, "get_file", path, -ret);
		return 1;
	}
	for (;;) {
		ssize_t n = isol8_read_full(fd, buf, AGENT_FILE_CHUNK);
		if (n < 0) {
			agent_send_error(conn, errno, "get_file: read \"%s\": %s", path, strerror(errno));
			return 1;
		}
		if (files_send_chunk(conn, buf, (size_t)n, (size_t)n < AGENT_FILE_CHUNK) < 0)
			return 1;
		if ((size_t)n < AGENT_FILE_CHUNK)
			return 0;
	}
}
