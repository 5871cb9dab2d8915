/* Persistent sessions over gRPC: isol8.v1.Isol8/DestroySession and
 * isol8.v1.Admin/ListSessions (the session table: sandbox/sessions.h). */
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon.h"
#include "isol8/v1/admin.rpc.h"
#include "isol8/v1/isol8.rpc.h"
#include "sandbox/sessions.h"

static void handle_destroy_session(struct isol8_rpc_call *call, const Isol8__V1__DestroySessionRequest *req,
				   void *userdata)
{
	struct isol8d *d = userdata;
	struct isol8_error err = ISOL8_ERROR_INIT;
	Isol8__V1__DestroySessionResult out;
	bool destroyed = false;

	if (isol8d_call_begin(d, call)) {
		if (isol8_engine_destroy_session(d->engine, req->session_id, &destroyed, &err) < 0) {
			isol8d_finish_error(call, &err);
		} else {
			isol8__v1__destroy_session_result__init(&out);
			out.destroyed = destroyed;
			isol8d_reply(call, &out.base);
		}
	}
	isol8d_call_end(d);
}

/* The reply's sessions, gathered from the table. */
struct session_list {
	Isol8__V1__SessionInfo *items;
	Isol8__V1__SessionInfo **ptrs;
	char (*ids)[ISOL8_SESSION_ID_MAX + 1];
	char (*containers)[65];
	char (*times)[2][40];
	size_t n, cap;
	bool failed;
};

static bool session_list_grow(struct session_list *l)
{
	size_t cap = l->cap ? l->cap * 2 : 16;
	void *a = realloc(l->items, cap * sizeof(*l->items));
	if (a == NULL)
		return false;
	l->items = a;
	a = realloc(l->ids, cap * sizeof(*l->ids));
	if (a == NULL)
		return false;
	l->ids = a;
	a = realloc(l->containers, cap * sizeof(*l->containers));
	if (a == NULL)
		return false;
	l->containers = a;
	a = realloc(l->times, cap * sizeof(*l->times));
	if (a == NULL)
		return false;
	l->times = a;
	l->cap = cap;
	return true;
}

static void session_add(const struct isol8_session_info *info, void *userdata)
{
	struct session_list *l = userdata;
	Isol8__V1__SessionInfo *s;

	if (l->failed || (l->n == l->cap && !session_list_grow(l))) {
		l->failed = true;
		return;
	}
	s = &l->items[l->n];
	isol8__v1__session_info__init(s);
	snprintf(l->ids[l->n], sizeof(l->ids[0]), "%s", info->id);
	snprintf(l->containers[l->n], sizeof(l->containers[0]), "%s", info->container_id);
	isol8_utc_timestamp_at(info->created_unix_ms, l->times[l->n][0], sizeof(l->times[0][0]));
	isol8_utc_timestamp_at(info->last_used_unix_ms, l->times[l->n][1], sizeof(l->times[0][1]));
	s->id = l->ids[l->n];
	s->runtime = (char *)info->runtime;
	s->container_id = l->containers[l->n];
	s->created_at = l->times[l->n][0];
	s->last_used_at = l->times[l->n][1];
	s->busy = info->busy;
	s->idle_ms = info->idle_ms;
	l->n++;
}

static void handle_list_sessions(struct isol8_rpc_call *call, const Isol8__V1__ListSessionsRequest *req,
				 void *userdata)
{
	struct isol8d *d = userdata;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct session_list l = {0};
	Isol8__V1__ListSessionsResult out;

	(void)req;
	if (isol8d_call_begin(d, call)) {
		int ret = isol8_engine_list_sessions(d->engine, session_add, &l, &err);
		if (ret == 0 && l.failed)
			ret = isol8_error_set(&err, ISOL8_E_NOMEM, "out of memory listing sessions");
		if (ret == 0 && l.n > 0 && (l.ptrs = calloc(l.n, sizeof(*l.ptrs))) == NULL)
			ret = isol8_error_set(&err, ISOL8_E_NOMEM, "out of memory listing sessions");
		if (ret < 0) {
			isol8d_finish_error(call, &err);
		} else {
			for (size_t i = 0; i < l.n; i++)
				l.ptrs[i] = &l.items[i];
			isol8__v1__list_sessions_result__init(&out);
			out.sessions = l.ptrs;
			out.n_sessions = l.n;
			isol8d_reply(call, &out.base);
		}
	}
	isol8d_call_end(d);
	free(l.items);
	free(l.ptrs);
	free(l.ids);
	free(l.containers);
	free(l.times);
}

int isol8d_routes_sessions(struct isol8d *d, struct isol8_error *err)
{
	int ret = isol8__v1__isol8__destroy_session__route(d->server, handle_destroy_session, d, err);
	if (ret == 0)
		ret = isol8__v1__admin__list_sessions__route(d->server, handle_list_sessions, d, err);
	return ret;
}
