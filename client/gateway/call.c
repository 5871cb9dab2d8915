/* The answers handlers give (status and JSON body on the call) and the
 * workers they run on: see gateway.h, and server.c for the threads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/errors.h"
#include "gateway/gateway.h"
#include "gateway/mapping.h"

/* ---- Answers ----------------------------------------------------------- */

void gw_call_json(struct gw_call *call, unsigned status, struct gw_buf *body)
{
	gw_buf_free(&call->resp);
	call->resp = *body;
	*body = (struct gw_buf)GW_BUF_INIT(0);
	call->status = status;
}

void gw_call_error(struct gw_call *call, unsigned status, const char *fmt, ...)
{
	char message[ISOL8_ERROR_MESSAGE_MAX];
	struct gw_buf b = GW_BUF_INIT(0);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	gw_buf_free(&call->resp);
	call->status = status;
	if (gw_error_json(&b, message) == 0)
		call->resp = b;
	else
		gw_buf_free(&b); /* answered below with a fixed body */
}

void gw_call_fail(struct gw_call *call, const struct isol8_error *err)
{
	char message[ISOL8_ERROR_MESSAGE_MAX];
	unsigned status = gw_error_status(err->code, err->message);

	if (err->code == ISOL8_E_UNAUTHENTICATED) {
		gw_call_error(call, 403, "Invalid API key");
		return;
	}
	gw_error_rename(err->message[0] ? err->message : isol8_error_code_name(err->code), message, sizeof(message));
	gw_call_error(call, status, "%s", message);
}

int gw_call_client(struct gw_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (call->srv->cfg.key != NULL || call->token == NULL) {
		call->client = call->srv->upstream;
		return 0;
	}
	if (isol8_client_with_key(&call->client, call->srv->upstream, call->token, &err) < 0) {
		gw_call_fail(call, &err);
		return -1;
	}
	call->own_client = true;
	return 0;
}

int gw_call_parse_body(struct gw_call *call, bool allow_empty)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (call->body.len == 0 && allow_empty)
		return 0;
	if (gw_json_parse_object(call->body.data, call->body.len, "body", &call->json, &err) < 0) {
		gw_call_fail(call, &err);
		return -1;
	}
	return 0;
}

/* ---- Workers ----------------------------------------------------------- */

int gw_worker_start(struct gw_server *srv, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	pthread_mutex_lock(&srv->lock);
	if (srv->stopping || srv->workers >= srv->max_workers) {
		pthread_mutex_unlock(&srv->lock);
		return -1;
	}
	srv->workers++;
	pthread_mutex_unlock(&srv->lock);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, GW_WORKER_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (ret != 0) {
		gw_worker_done(srv);
		return -1;
	}
	return 0;
}

void gw_worker_done(struct gw_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->workers--;
	pthread_cond_broadcast(&srv->changed);
	pthread_mutex_unlock(&srv->lock);
}


bool gw_server_stopping(struct gw_server *srv)
{
	bool stopping;

	pthread_mutex_lock(&srv->lock);
	stopping = srv->stopping;
	pthread_mutex_unlock(&srv->lock);
	return stopping;
}
