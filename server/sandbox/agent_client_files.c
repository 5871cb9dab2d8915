/* Host side of the agent protocol, file transfer: put_file streamed from a
 * chunk source, get_file to a chunk consumer (see agent_client.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "sandbox/agent_client_internal.h"

static int client_put_chunk(int fd, const char *path, const uint8_t *data, size_t len, uint32_t mode,
			    uint32_t uid, uint32_t gid, bool eof, struct isol8_error *err)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__PutFile chunk = ISOL8__AGENT__V1__PUT_FILE__INIT;

	chunk.path = (char *)(path ? path : "");
	chunk.data.data = (uint8_t *)data;
	chunk.data.len = len;
	chunk.mode = mode;
	chunk.uid = uid;
	chunk.gid = gid;
	chunk.eof = eof;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_PUT_FILE;
	frame.put_file = &chunk;
	return isol8_frame_write(fd, &frame, err);
}

/* After a failed write the agent may have sent an Error: prefer its message. */
static int client_put_error(int fd, struct isol8_error *err)
{
	struct isol8_error ignored = ISOL8_ERROR_INIT;
	_cleanup_frame_ isol8_frame *reply = NULL;

	if (isol8_frame_read(fd, &reply, 1000, &ignored) > 0 && reply->body_case == ISOL8__AGENT__V1__FRAME__BODY_ERROR) {
		isol8_error_clear(err);
		return agent_client_error(reply->error, err);
	}
	return -err->code;
}

/* Sends one chunk of the source in frames of at most ISOL8_AGENT_PUT_CHUNK. */
static int client_put_data(int fd, const uint8_t *data, size_t len, struct isol8_error *err)
{
	while (len > 0) {
		size_t n = len > ISOL8_AGENT_PUT_CHUNK ? ISOL8_AGENT_PUT_CHUNK : len;
		int ret = client_put_chunk(fd, NULL, data, n, 0, 0, 0, false, err);

		if (ret < 0)
			return client_put_error(fd, err);
		data += n;
		len -= n;
	}
	return 0;
}

/* The Ack that ends a put. */
static int client_put_ack(int fd, struct isol8_error *err)
{
	_cleanup_frame_ isol8_frame *reply = NULL;
	int ret = isol8_frame_read(fd, &reply, CLIENT_FILE_TIMEOUT_MS, err);

	if (ret == 0)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "agent closed the connection without an answer");
	if (ret < 0)
		return ret;
	return reply->body_case == ISOL8__AGENT__V1__FRAME__BODY_ACK ? 0 : agent_client_unexpected(reply, "Ack", err);
}

int isol8_agent_put_file_stream(const char *socket_path, const char *dst_path, uint32_t mode, uint32_t uid,
				uint32_t gid, isol8_agent_source_fn next, void *userdata, uint64_t *size,
				struct isol8_error *err)
{
	_cleanup_close_ int fd = -1;
	uint64_t sent = 0;
	int ret = isol8_agent_connect(socket_path, &fd, err);

	/* the first frame names the file, so a refused path is known before
	 * the source is asked for anything */
	if (ret == 0 && client_put_chunk(fd, dst_path, NULL, 0, mode, uid, gid, false, err) < 0)
		ret = client_put_error(fd, err);
	while (ret == 0) {
		const uint8_t *data = NULL;
		size_t len = 0;
		int more = next(userdata, &data, &len);

		if (more < 0) {
			/* closing without eof makes the agent remove the partial file */
			ret = isol8_error_set(err, agent_client_consumer_code(more), "stopped by the file source");
			break;
		}
		if (more == 0) {
			if (client_put_chunk(fd, NULL, NULL, 0, 0, 0, 0, true, err) < 0)
				ret = client_put_error(fd, err);
			else
				ret = client_put_ack(fd, err);
			break;
		}
		ret = client_put_data(fd, data, len, err);
		sent += len;
	}
	if (size != NULL)
		*size = ret == 0 ? sent : 0;
	return ret < 0 ? isol8_error_prefix(err, "put file \"%s\"", dst_path) : 0;
}

/* The source of isol8_agent_put_file: one buffer, given once. */
struct client_buffer {
	const uint8_t *data;
	size_t len;
	bool given;
};

static int client_buffer_next(void *userdata, const uint8_t **data, size_t *len)
{
	struct client_buffer *b = userdata;

	if (b->given || b->len == 0)
		return 0;
	b->given = true;
	*data = b->data;
	*len = b->len;
	return 1;
}

int isol8_agent_put_file(const char *socket_path, const char *dst_path, const uint8_t *data, size_t len,
			 uint32_t mode, uint32_t uid, uint32_t gid, struct isol8_error *err)
{
	struct client_buffer b = {.data = data, .len = len};

	return isol8_agent_put_file_stream(socket_path, dst_path, mode, uid, gid, client_buffer_next, &b, NULL, err);
}

static int client_get_chunks(int fd, isol8_agent_chunk_fn on_chunk, void *userdata, struct isol8_error *err)
{
	for (;;) {
		_cleanup_frame_ isol8_frame *reply = NULL;
		const Isol8__Agent__V1__FileData *chunk;
		int ret = isol8_frame_read(fd, &reply, CLIENT_FILE_TIMEOUT_MS, err);

		if (ret == 0)
			return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "agent closed the connection mid-file");
		if (ret < 0)
			return ret;
		if (reply->body_case != ISOL8__AGENT__V1__FRAME__BODY_FILE_DATA)
			return agent_client_unexpected(reply, "FileData", err);
		chunk = reply->file_data;
		if (chunk->data.len > 0) {
			ret = on_chunk(userdata, chunk->data.data, chunk->data.len);
			if (ret != 0)
				return isol8_error_set(err, agent_client_consumer_code(ret), "stopped by the file consumer");
		}
		if (chunk->eof)
			return 0;
	}
}

int isol8_agent_get_file(const char *socket_path, const char *path, isol8_agent_chunk_fn on_chunk,
			 void *userdata, struct isol8_error *err)
{
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__GetFile get = ISOL8__AGENT__V1__GET_FILE__INIT;
	_cleanup_close_ int fd = -1;
	int ret;

	get.path = (char *)path;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_GET_FILE;
	frame.get_file = &get;
	ret = agent_client_request(socket_path, &frame, &fd, NULL, 0, err);
	if (ret == 0)
		ret = client_get_chunks(fd, on_chunk, userdata, err);
	return ret < 0 ? isol8_error_prefix(err, "get file \"%s\"", path) : 0;
}
