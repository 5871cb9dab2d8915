/* An execution's code_url: fetched, then the request as if the code had
 * been given inline. See isol8_engine_fetch_code in engine_internal.h. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "engine/engine_internal.h"

struct fetch_call {
	struct isol8_engine *engine;
	const struct isol8_exec_sink *sink;
};

static bool fetch_cancelled(void *userdata)
{
	const struct fetch_call *f = userdata;

	return atomic_load(&f->engine->shutting_down) ||
	       (f->sink->cancelled != NULL && f->sink->cancelled(f->sink->userdata));
}

static void log_fetch(struct isol8_engine *e, const char *url, size_t len, bool from_cache)
{
	char msg[ISOL8_REMOTE_URL_MAX + 96];

	if (e->log == NULL)
		return;
	snprintf(msg, sizeof(msg), "code_url \"%s\": %zu bytes %s", url, len,
		 from_cache ? "from the cache" : "fetched");
	e->log(ISOL8_LOG_INFO, msg);
}

int isol8_engine_fetch_code(struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req,
			    const struct isol8_exec_sink *sink, Isol8__V1__ExecuteRequest *copy, char **code,
			    struct isol8_error *err)
{
	struct fetch_call call = {e, sink};
	struct isol8_remote_request rr = {
		.url = req->code_url,
		.hash = req->code_hash,
		.allow_insecure = req->allow_insecure_code_url,
		.cancelled = fetch_cancelled,
		.userdata = &call,
	};
	const char *runtime, *file_extension;
	bool from_cache = false;
	size_t len = 0;
	int ret = isol8_options_request_runtime(req, &runtime, &file_extension, err);

	if (ret == 0)
		ret = isol8_remote_fetch(e->remote, &rr, code, &len, &from_cache, err);
	if (ret < 0)
		return ret;
	log_fetch(e, req->code_url, len, from_cache);
	*copy = *req;
	copy->code = *code;
	copy->code_url = "";
	copy->code_hash = "";
	copy->allow_insecure_code_url = false;
	copy->runtime = (char *)runtime;
	copy->file_extension = (char *)(file_extension != NULL ? file_extension : "");
	return 0;
}
