/* The handlers that answer with one JSON body. Each
 * runs on a worker (server.c) and makes one blocking libisol8 call. */
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/util.h"
#include "gateway/errors.h"
#include "gateway/gateway.h"
#include "gateway/mapping.h"

static void answer_oom(struct gw_call *call)
{
	gw_call_error(call, 503, "out of memory");
}

/* The upstream's health, checked by one caller at a time and reused while fresh. */
static void upstream_health(struct gw_server *srv, struct isol8_error *err)
{
	struct isol8_error fresh = ISOL8_ERROR_INIT;

	pthread_mutex_lock(&srv->health_lock);
	while (srv->health_running)
		pthread_cond_wait(&srv->health_done, &srv->health_lock);
	if (srv->health_at_ms == 0 || isol8_now_ms() - srv->health_at_ms > GW_HEALTH_FRESH_MS) {
		srv->health_running = true;
		pthread_mutex_unlock(&srv->health_lock);
		isol8_health(srv->upstream, &fresh);
		pthread_mutex_lock(&srv->health_lock);
		srv->health_err = fresh;
		srv->health_at_ms = isol8_now_ms();
		srv->health_running = false;
		pthread_cond_broadcast(&srv->health_done);
	}
	*err = srv->health_err;
	pthread_mutex_unlock(&srv->health_lock);
}

void gw_handle_health(struct gw_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct gw_buf b = GW_BUF_INIT(0);
	unsigned status = 200;
	int rc;

	upstream_health(call->srv, &err);
	if (err.code == 0)
		rc = gw_buf_printf(&b, "{\"status\":\"ok\",\"version\":\"%s\"}", ISOL8_VERSION);
	else {
		status = 503;
		rc = gw_buf_puts(&b, "{\"status\":\"unavailable\"") < 0 ||
				     gw_json_kv_str(&b, "error", err.message[0] ? err.message : "isol8d is not reachable") <
					     0 ||
				     gw_buf_puts(&b, "}") < 0
			     ? -1
			     : 0;
	}
	if (rc < 0) {
		gw_buf_free(&b);
		answer_oom(call);
		return;
	}
	gw_call_json(call, status, &b);
}

void gw_handle_execute(struct gw_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct gw_buf b = GW_BUF_INIT(0);
	struct isol8_result *res = NULL;
	struct gw_exec x;

	if (gw_call_parse_body(call, false) < 0)
		return;
	if (gw_exec_parse(call->json, &x, &err) < 0) {
		gw_call_fail(call, &err);
		return;
	}
	if (gw_call_client(call) == 0) {
		if (isol8_execute(call->client, &x.req, &res, &err) < 0)
			gw_call_fail(call, &err);
		else if (gw_result_json(&b, res, x.want_files, x.log_network) < 0)
			answer_oom(call);
		else
			gw_call_json(call, 200, &b);
	}
	gw_buf_free(&b);
	isol8_result_free(res);
	gw_exec_free(&x);
}

/* A required string member of the body. */
static const char *required_string(struct gw_call *call, const char *key)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	const char *v = NULL;

	if (gw_json_get_string(call->json, key, key, &v, &err) < 0 || v == NULL || *v == '\0') {
		if (err.code == 0)
			isol8_error_set(&err, ISOL8_E_INVALID, "%s: required", key);
		gw_call_fail(call, &err);
		return NULL;
	}
	return v;
}

void gw_handle_put_file(struct gw_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct gw_buf b = GW_BUF_INIT(0);
	_cleanup_free_ unsigned char *data = NULL;
	const char *session, *path, *content;
	size_t len, n = 0;

	if (gw_call_parse_body(call, false) < 0 || (session = required_string(call, "sessionId")) == NULL ||
	    (path = required_string(call, "path")) == NULL)
		return;
	if (gw_json_get_string(call->json, "content", "content", &content, &err) < 0 || content == NULL) {
		if (err.code == 0)
			isol8_error_set(&err, ISOL8_E_INVALID, "content: required (the file as base64)");
		gw_call_fail(call, &err);
		return;
	}
	len = strlen(content);
	data = malloc(isol8_base64_decoded_max(len));
	if (data == NULL) {
		answer_oom(call);
		return;
	}
	if (!isol8_base64_decode(content, len, data, &n)) {
		gw_call_error(call, 400, "content: not valid base64");
		return;
	}
	if (n > call->srv->cfg.max_body_size) {
		gw_call_error(call, 413, "content: the file has %zu bytes, more than the %zu this gateway takes "
					 "(--max-body-size)",
			      n, call->srv->cfg.max_body_size);
		return;
	}
	if (gw_call_client(call) < 0)
		return;
	if (isol8_put_file(call->client, session, path, data, n, 0, &err) < 0) {
		gw_call_fail(call, &err);
		return;
	}
	if (gw_buf_puts(&b, "{\"ok\":true}") < 0) {
		answer_oom(call);
		return;
	}
	gw_call_json(call, 200, &b);
}

/* GET /file gathers the file, bounded. */
struct download {
	struct gw_buf data;
};

static int download_write(void *userdata, const void *buf, size_t size)
{
	struct download *d = userdata;

	return gw_buf_append(&d->data, buf, size);
}

void gw_handle_get_file(struct gw_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct download d = {GW_BUF_INIT(GW_MAX_DOWNLOAD)};
	struct gw_buf b = GW_BUF_INIT(0);

	if (call->query_session == NULL || call->query_path == NULL || !*call->query_session || !*call->query_path) {
		gw_call_error(call, 400, "Missing sessionId or path");
		return;
	}
	if (gw_call_client(call) < 0)
		return;
	if (isol8_get_file_to(call->client, call->query_session, call->query_path, download_write, &d, &err) < 0) {
		if (d.data.len + (256u << 10) >= GW_MAX_DOWNLOAD && err.code != ISOL8_E_NOT_FOUND)
			gw_call_error(call, 413, "path: the file is larger than the %u bytes GET /file returns",
				      GW_MAX_DOWNLOAD);
		else
			gw_call_fail(call, &err);
	} else if (gw_buf_puts(&b, "{\"content\":") < 0 || gw_json_base64(&b, d.data.data, d.data.len) < 0 ||
		   gw_buf_puts(&b, "}") < 0) {
		answer_oom(call);
	} else {
		gw_call_json(call, 200, &b);
	}
	gw_buf_free(&b);
	gw_buf_free(&d.data);
}

void gw_handle_delete_session(struct gw_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct gw_buf b = GW_BUF_INIT(0);

	if (gw_call_client(call) < 0)
		return;
	/* idempotent: an id no session has (or could have) is gone already */
	if (isol8_destroy_session(call->client, call->param, NULL, &err) < 0 && err.code != ISOL8_E_NOT_FOUND &&
	    err.code != ISOL8_E_INVALID) {
		gw_call_fail(call, &err);
		return;
	}
	if (gw_buf_puts(&b, "{\"ok\":true}") < 0) {
		answer_oom(call);
		return;
	}
	gw_call_json(call, 200, &b);
}

void gw_handle_sessions(struct gw_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct gw_buf b = GW_BUF_INIT(0);
	struct isol8_session_info *list = NULL;
	size_t n = 0;

	if (gw_call_client(call) < 0)
		return;
	if (isol8_list_sessions(call->client, &list, &n, &err) < 0) {
		gw_call_fail(call, &err);
		return;
	}
	if (gw_sessions_json(&b, list, n) < 0)
		answer_oom(call);
	else
		gw_call_json(call, 200, &b);
	gw_buf_free(&b);
	isol8_session_infos_free(list, n);
}

void gw_handle_cleanup(struct gw_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_cleanup_options opts = ISOL8_CLEANUP_OPTIONS_INIT;
	struct isol8_cleanup_result *res = NULL;
	struct gw_buf b = GW_BUF_INIT(0);

	if (gw_call_parse_body(call, true) < 0)
		return;
	if (call->json && gw_json_get_bool(call->json, "images", "images", &opts.images, &err) < 0) {
		gw_call_fail(call, &err);
		return;
	}
	opts.sessions = true;
	if (gw_call_client(call) < 0)
		return;
	if (isol8_cleanup(call->client, &opts, &res, &err) < 0) {
		gw_call_fail(call, &err);
		return;
	}
	if (gw_cleanup_json(&b, res, opts.images) < 0)
		answer_oom(call);
	else
		gw_call_json(call, 200, &b);
	gw_buf_free(&b);
	isol8_cleanup_result_free(res);
}
