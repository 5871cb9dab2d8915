/*
 * isol8.v1.Isol8 PutFile and GetFile over gRPC: the service layer
 * (isol8_service_put_file, isol8_service_get_file) checks and transfers;
 * this file turns the call's messages into its chunks and back. PutFile
 * reads a PutFileChunk only when the previous one went on to the sandbox,
 * and GetFile writes each FileChunk as the agent sends it (256 KiB), so a
 * transfer holds about one chunk whatever the file's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "isol8/v1/isol8.rpc.h"

/* How long an upload waits for its next chunk (as long as the agent does):
 * a client that stalls longer gets DEADLINE_EXCEEDED and frees its session. */
#define PUT_CHUNK_WAIT_MS 30000

/* PutFile's stream of chunks, as a file source. */
struct put_stream {
	struct isol8_rpc_call *call;
	Isol8__V1__PutFileChunk *chunk; /* the chunk whose data was handed out last */
	bool first_pending;             /* the first chunk's data is still to give */
	char *session_id, *path;        /* the first chunk's */
	uint64_t index;                 /* of chunk, from 0 */
	struct isol8_error err;         /* what went wrong with the stream itself */
};

static void put_chunk_free(Isol8__V1__PutFileChunk *chunk)
{
	if (chunk != NULL)
		protobuf_c_message_free_unpacked(&chunk->base, NULL);
}

/* Later chunks name the same session and path as the first, or none. */
static int put_check_same(struct put_stream *p, const char *field, const char *value, const char *first)
{
	if (value == NULL || value[0] == '\0' || strcmp(value, first) == 0)
		return 0;
	return isol8_error_set(&p->err, ISOL8_E_INVALID,
			       "%s: PutFileChunk %llu names \"%s\", the first one \"%s\" (later chunks carry only "
			       "data)",
			       field, (unsigned long long)p->index, value, first);
}

/* The code a failed stream aborts the upload with: never 0, which would
 * end the file as if it were complete. */
static int put_failure(const struct put_stream *p)
{
	return -(p->err.code != 0 ? p->err.code : ISOL8_E_CANCELLED);
}

/* Reads the next chunk; 1 with one, 0 at the end of the stream. */
static int put_read(struct put_stream *p)
{
	ProtobufCMessage *msg = NULL;
	int ret = isol8_rpc_call_read_within(p->call, &msg, PUT_CHUNK_WAIT_MS, "chunk", &p->err);

	if (ret <= 0)
		return ret;
	put_chunk_free(p->chunk);
	p->chunk = (Isol8__V1__PutFileChunk *)msg;
	p->index++;
	return 1;
}

static int put_next(void *userdata, const uint8_t **data, size_t *len)
{
	struct put_stream *p = userdata;
	int ret;

	if (p->first_pending) {
		p->first_pending = false;
	} else {
		ret = put_read(p);
		if (ret <= 0)
			return ret < 0 ? put_failure(p) : 0;
		if (put_check_same(p, "session_id", p->chunk->session_id, p->session_id) < 0 ||
		    put_check_same(p, "path", p->chunk->path, p->path) < 0)
			return put_failure(p);
	}
	*data = p->chunk->data.data;
	*len = p->chunk->data.len;
	return 1;
}

/* The first chunk, which names the session and the path. */
static int put_first(struct put_stream *p)
{
	ProtobufCMessage *msg = NULL;
	int ret = isol8_rpc_call_read_within(p->call, &msg, PUT_CHUNK_WAIT_MS, "chunk", &p->err);

	if (ret == 0)
		return isol8_error_set(&p->err, ISOL8_E_INVALID,
				       "session_id: no PutFileChunk came (the first one names the session and path)");
	if (ret < 0)
		return ret;
	p->chunk = (Isol8__V1__PutFileChunk *)msg;
	if (p->chunk->session_id == NULL || p->chunk->session_id[0] == '\0')
		return isol8_error_set(&p->err, ISOL8_E_INVALID,
				       "session_id: empty in the first PutFileChunk (it names the session)");
	if (p->chunk->path == NULL || p->chunk->path[0] == '\0')
		return isol8_error_set(&p->err, ISOL8_E_INVALID,
				       "path: empty in the first PutFileChunk (it names the file)");
	p->session_id = strdup(p->chunk->session_id);
	p->path = strdup(p->chunk->path);
	if (p->session_id == NULL || p->path == NULL)
		return isol8_error_set(&p->err, ISOL8_E_NOMEM, "out of memory");
	p->first_pending = true;
	return 0;
}

static void handle_put_file(struct isol8_rpc_call *call, void *userdata)
{
	struct isol8d *d = userdata;
	struct put_stream p = {.call = call, .err = ISOL8_ERROR_INIT};
	struct isol8_error err = ISOL8_ERROR_INIT;
	Isol8__V1__PutFileResult out = ISOL8__V1__PUT_FILE_RESULT__INIT;
	uint64_t size = 0;

	if (isol8d_call_begin(d, call)) {
		if (put_first(&p) < 0)
			isol8d_finish_error(call, &p.err);
		else if (isol8_service_put_file(&d->service, p.session_id, p.path, p.chunk->mode, put_next, &p, &size,
						&err) < 0)
			/* the stream's own failure says more than "stopped by the source" */
			isol8d_finish_error(call, p.err.code != 0 ? &p.err : &err);
		else {
			out.size = size;
			isol8d_reply(call, &out.base);
		}
	}
	isol8d_call_end(d);
	put_chunk_free(p.chunk);
	free(p.session_id);
	free(p.path);
}

static int get_chunk(void *userdata, const uint8_t *data, size_t len)
{
	struct isol8_rpc_call *call = userdata;
	Isol8__V1__FileChunk chunk = ISOL8__V1__FILE_CHUNK__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;

	chunk.data = (ProtobufCBinaryData){len, (uint8_t *)data};
	return isol8_rpc_call_write(call, &chunk.base, &err) < 0 ? -ISOL8_E_CANCELLED : 0;
}

static void handle_get_file(struct isol8_rpc_call *call, const Isol8__V1__GetFileRequest *req, void *userdata)
{
	struct isol8d *d = userdata;
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8d_call_begin(d, call)) {
		if (isol8_service_get_file(&d->service, req->session_id, req->path, get_chunk, call, &err) < 0)
			isol8d_finish_error(call, &err);
		else
			isol8_rpc_call_finish(call, 0, "");
	}
	isol8d_call_end(d);
}

int isol8d_routes_files(struct isol8d *d, struct isol8_error *err)
{
	int ret = isol8__v1__isol8__put_file__route(d->server, handle_put_file, d, err);
	if (ret == 0)
		ret = isol8__v1__isol8__get_file__route(d->server, handle_get_file, d, err);
	return ret;
}
