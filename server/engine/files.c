/*
 * File transfer with a session's sandbox: see isol8_engine_put_file and
 * isol8_engine_get_file in engine.h. A transfer holds a reference on the
 * session (isol8_sessions_ref), not the session itself, so it runs beside a
 * call; when the session is destroyed meanwhile, the transfer stops at its
 * next chunk with ISOL8_E_CANCELLED.
 */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/options.h"
#include "sandbox/agent_client.h"
#include "sandbox/sandbox.h"

/* The default mode of a PutFile that gives none. */
#define FILES_DEFAULT_MODE 0644u

/* What a transfer of one file works with. */
struct files_transfer {
	struct isol8_session_ref ref;
	bool doomed; /* the session was destroyed during the transfer */
	isol8_file_source_fn next;
	int (*on_chunk)(void *userdata, const uint8_t *data, size_t len);
	void *userdata;
};

/* The checks of a transfer's request, then the reference on its session
 * (ISOL8_E_NOT_FOUND saying that an Execute with the id creates it). */
static int files_begin(struct isol8_engine *e, const char *session_id, const char *path,
		       struct files_transfer *t, struct isol8_error *err)
{
	int ret = isol8_inputs_transfer_path("path", path, err);

	if (ret < 0)
		return ret;
	if (e->sessions == NULL)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "session_id: this engine serves no sessions");
	return isol8_sessions_ref(e->sessions, session_id != NULL ? session_id : "", &t->ref, err);
}

/* Ends a transfer: a failure of a session destroyed meanwhile says so. */
static int files_end(struct isol8_engine *e, struct files_transfer *t, const char *session_id, const char *what,
		     const char *path, int ret, struct isol8_error *err)
{
	if (ret < 0 && (t->doomed || isol8_sessions_ref_doomed(&t->ref))) {
		isol8_error_clear(err);
		ret = isol8_error_set(err, ISOL8_E_CANCELLED, "session \"%s\" was destroyed during the %s of \"%s\"",
				      session_id, what, path);
	} else if (ret < 0) {
		isol8_error_prefix(err, "session \"%s\"", session_id);
	}
	isol8_sessions_unref(e->sessions, &t->ref);
	return ret;
}

static int files_put_next(void *userdata, const uint8_t **data, size_t *len)
{
	struct files_transfer *t = userdata;

	if (isol8_sessions_ref_doomed(&t->ref)) {
		t->doomed = true;
		return -ISOL8_E_CANCELLED;
	}
	return t->next(t->userdata, data, len);
}

int isol8_engine_put_file(struct isol8_engine *e, const char *session_id, const char *path, uint32_t mode,
			  isol8_file_source_fn next, void *userdata, uint64_t *size, struct isol8_error *err)
{
	struct files_transfer t = {.next = next, .userdata = userdata};
	int ret;

	*size = 0;
	if ((mode & ~0777u) != 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "mode: 0%o has bits outside 0777 (a file's mode here is its permission bits)",
				       mode);
	ret = files_begin(e, session_id, path, &t, err);
	if (ret < 0)
		return ret;
	ret = isol8_agent_put_file_stream(t.ref.socket, path, mode ? mode : FILES_DEFAULT_MODE, ISOL8_SANDBOX_UID,
					  ISOL8_SANDBOX_GID, files_put_next, &t, size, err);
	return files_end(e, &t, session_id, "upload", path, ret, err);
}

static int files_get_chunk(void *userdata, const uint8_t *data, size_t len)
{
	struct files_transfer *t = userdata;

	if (isol8_sessions_ref_doomed(&t->ref)) {
		t->doomed = true;
		return -ISOL8_E_CANCELLED;
	}
	return t->on_chunk(t->userdata, data, len);
}

int isol8_engine_get_file(struct isol8_engine *e, const char *session_id, const char *path,
			  int (*on_chunk)(void *userdata, const uint8_t *data, size_t len), void *userdata,
			  struct isol8_error *err)
{
	struct files_transfer t = {.on_chunk = on_chunk, .userdata = userdata};
	int ret = files_begin(e, session_id, path, &t, err);

	if (ret < 0)
		return ret;
	ret = isol8_agent_get_file(t.ref.socket, path, files_get_chunk, &t, err);
	return files_end(e, &t, session_id, "download", path, ret, err);
}
