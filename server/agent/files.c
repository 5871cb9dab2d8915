/*
 * put_file and get_file. The handler process serving one of these drops to
 * the sandbox identity first (put_file: the request's uid/gid, default the
 * agent's --uid/--gid; get_file: the agent's), so a path or a link planted by
 * user code can reach nothing that user could not. Paths must be absolute and
 * normalized (no "..", ".", "//" or trailing "/"); the last component is never
 * followed when it is a link, and only regular files are read or written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/util.h"

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
			agent_send_error(conn, errno, "put_file: write \"%s\": %s", path, strerror(errno));
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
	mode_t mode = req->mode ? (req->mode & 07777) : 0644;
	_cleanup_close_ int fd = -1;
	int ret;

	if (!agent_path_absolute(req->path)) {
		agent_send_error(conn, EINVAL, "put_file: path \"%s\" is not an absolute normalized path", req->path);
		return 1;
	}
	ret = agent_drop_privileges(req->uid ? req->uid : cfg->uid, req->gid ? req->gid : cfg->gid);
	if (ret == 0)
		ret = agent_make_parents(req->path);
	if (ret == 0)
		ret = fd = files_open_regular(req->path, O_WRONLY | O_CREAT, mode);
	if (ret < 0) {
		agent_send_error(conn, -ret, "put_file: open \"%s\": %s", req->path, strerror(-ret));
		return 1;
	}
	if (ftruncate(fd, 0) < 0 || fchmod(fd, mode) < 0) {
		agent_send_error(conn, errno, "put_file: \"%s\": %s", req->path, strerror(errno));
		return 1;
	}
	ret = files_receive(conn, fd, req, req->path);
	if (ret < 0) {
		unlink(req->path);
		return 1;
	}
	if (close(fd) < 0) {
		fd = -1;
		agent_send_error(conn, errno, "put_file: close \"%s\": %s", req->path, strerror(errno));
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
	if (!agent_path_absolute(path)) {
		agent_send_error(conn, EINVAL, "get_file: path \"%s\" is not an absolute normalized path", path);
		return 1;
	}
	ret = agent_drop_privileges(cfg->uid, cfg->gid);
	if (ret == 0)
		ret = fd = files_open_regular(path, O_RDONLY, 0);
	if (ret < 0) {
		agent_send_error(conn, -ret, "get_file: open \"%s\": %s", path, strerror(-ret));
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
