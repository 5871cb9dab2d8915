/* Files of a session: PutFile streams chunks of at most FILE_CHUNK bytes
 * (the first names the session, path and mode), GetFile reads chunks as
 * isol8d sends them. No deadline: a transfer of any size takes its time,
 * and isol8d gives up on an upload that stalls (30 s without a chunk). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isol8/v1/isol8.rpc.h"
#include "lib/client.h"
#include "base/util.h"

#define FILE_CHUNK (1024u * 1024u)
/* isol8_get_file's buffer: past it, isol8_get_file_to streams. */
#define GET_FILE_MAX ((size_t)1 << 30)

/* Where an upload's bytes come from: a buffer, or a reader into buf. */
struct source {
	const unsigned char *data; /* a buffer: what is left of it */
	size_t left;
	isol8_read_fn read; /* or a reader */
	void *userdata;
	unsigned char *buf;
};

/* The next piece: its length (0 at the end), or -1 with errno. */
static ssize_t source_next(struct source *s, const unsigned char **piece)
{
	size_t n;

	if (s->read != NULL) {
		*piece = s->buf;
		return s->read(s->userdata, s->buf, FILE_CHUNK);
	}
	n = s->left < FILE_CHUNK ? s->left : FILE_CHUNK;
	*piece = s->data;
	s->data += n;
	s->left -= n;
	return (ssize_t)n;
}

static int check_names(struct isol8_client *c, const char *session_id, const char *path, struct isol8_error *err)
{
	if (c == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "client is NULL");
	if (session_id == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "session_id is NULL");
	if (path == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "path is NULL");
	return 0;
}

/* Sends every piece; the first chunk goes even when empty: it names the file. */
static int send_chunks(struct isol8_rpc_stream *st, struct source *src, const char *session_id, const char *path,
		       uint32_t mode, struct isol8_error *err)
{
	Isol8__V1__PutFileChunk chunk = ISOL8__V1__PUT_FILE_CHUNK__INIT;
	bool first = true;

	chunk.session_id = (char *)session_id;
	chunk.path = (char *)path;
	chunk.mode = mode;
	for (;;) {
		const unsigned char *piece;
		ssize_t n = source_next(src, &piece);
		int ret;

		if (n < 0)
			return isol8_error_errno(err, ISOL8_E_IO, errno, "reading the data for %s", path);
		if (n == 0 && !first)
			return 0;
		chunk.data = (ProtobufCBinaryData){(size_t)n, (uint8_t *)piece};
		ret = isol8__v1__isol8__put_file__write(st, &chunk, err);
		if (ret < 0 || n == 0)
			return ret;
		first = false;
		chunk.session_id = "";
		chunk.path = "";
		chunk.mode = 0;
	}
}

static int put(struct isol8_client *c, const char *session_id, const char *path, uint32_t mode, struct source *src,
	       uint64_t *written, struct isol8_error *err)
{
	struct isol8_rpc_stream *st = NULL;
	Isol8__V1__PutFileResult *res = NULL;
	int ret = check_names(c, session_id, path, err);

	if (written != NULL)
		*written = 0;
	if (ret == 0)
		ret = isol8__v1__isol8__put_file__start(&st, c->channel, 0, err);
	if (ret == 0)
		ret = send_chunks(st, src, session_id, path, mode, err);
	if (ret == 0)
		ret = isol8__v1__isol8__put_file__finish(st, &res, err);
	if (ret == 0 && written != NULL)
		*written = res->size;
	if (res != NULL)
		protobuf_c_message_free_unpacked(&res->base, NULL);
	isol8_rpc_stream_free(st); /* a failed upload is cancelled: isol8d removes the partial file */
	return ret;
}

int isol8_put_file(struct isol8_client *c, const char *session_id, const char *path, const void *data, size_t size,
		   uint32_t mode, struct isol8_error *err)
{
	struct source src = {.data = data, .left = size};

	if (data == NULL && size > 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "data is NULL but size is %zu", size);
	return put(c, session_id, path, mode, &src, NULL, err);
}

int isol8_put_file_from(struct isol8_client *c, const char *session_id, const char *path, uint32_t mode,
			isol8_read_fn read, void *userdata, uint64_t *written, struct isol8_error *err)
{
	_cleanup_free_ unsigned char *buf = NULL;
	struct source src = {.read = read, .userdata = userdata};

	if (read == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "read is NULL");
	buf = malloc(FILE_CHUNK);
	if (buf == NULL)
		return isol8_client_nomem(err, "uploading a file");
	src.buf = buf;
	return put(c, session_id, path, mode, &src, written, err);
}

int isol8_get_file_to(struct isol8_client *c, const char *session_id, const char *path, isol8_write_fn write,
		      void *userdata, struct isol8_error *err)
{
	Isol8__V1__GetFileRequest req = ISOL8__V1__GET_FILE_REQUEST__INIT;
	struct isol8_rpc_stream *st = NULL;
	int ret = check_names(c, session_id, path, err);

	if (ret == 0 && write == NULL)
		ret = isol8_error_set(err, ISOL8_E_INVALID, "write is NULL");
	req.session_id = (char *)session_id;
	req.path = (char *)path;
	if (ret == 0)
		ret = isol8__v1__isol8__get_file__start(&st, c->channel, &req, 0, err);
	while (ret == 0) {
		Isol8__V1__FileChunk *chunk = NULL;

		ret = isol8__v1__isol8__get_file__read(st, &chunk, err);
		if (ret <= 0)
			break;
		ret = 0;
		if (chunk->data.len > 0 && write(userdata, chunk->data.data, chunk->data.len) < 0)
			ret = isol8_error_errno(err, ISOL8_E_IO, errno, "writing %s", path);
		protobuf_c_message_free_unpacked(&chunk->base, NULL);
	}
	isol8_rpc_stream_free(st);
	return ret;
}

/* isol8_get_file's writer: appends to a buffer of at most GET_FILE_MAX. */
struct memory_sink {
	unsigned char *data;
	size_t size, cap;
	bool too_big;
};

static int memory_write(void *userdata, const void *buf, size_t size)
{
	struct memory_sink *m = userdata;
	size_t need;

	if (!isol8_size_add(m->size, size, &need) || need >= GET_FILE_MAX) {
		m->too_big = true;
		errno = EFBIG;
		return -1;
	}
	if (need + 1 > m->cap) {
		size_t cap = m->cap > 0 ? m->cap : 64 * 1024;
		unsigned char *grown;
		while (cap < need + 1)
			cap *= 2;
		grown = realloc(m->data, cap);
		if (grown == NULL) {
			errno = ENOMEM;
			return -1;
		}
		m->data = grown;
		m->cap = cap;
	}
	memcpy(m->data + m->size, buf, size);
	m->size = need;
	return 0;
}

int isol8_get_file(struct isol8_client *c, const char *session_id, const char *path, unsigned char **data,
		   size_t *size, struct isol8_error *err)
{
	struct isol8_error local = ISOL8_ERROR_INIT;
	struct memory_sink m = {0};
	int ret;

	if (data == NULL || size == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", data == NULL ? "data" : "size");
	*data = NULL;
	*size = 0;
	ret = isol8_get_file_to(c, session_id, path, memory_write, &m, &local);
	if (ret < 0 && m.too_big)
		ret = isol8_error_set(err, ISOL8_E_EXHAUSTED, "%s is larger than %zu MiB: isol8_get_file_to streams it",
				      path, GET_FILE_MAX >> 20);
	else if (ret < 0)
		ret = isol8_error_set(err, local.code, "%s", local.message);
	if (ret == 0 && m.data == NULL && (m.data = malloc(1)) == NULL)
		ret = isol8_client_nomem(err, "downloading a file");
	if (ret < 0) {
		free(m.data);
		return ret;
	}
	m.data[m.size] = '\0';
	*data = m.data;
	*size = m.size;
	return 0;
}
