/* isol8.v1.Admin: image set-up with progress, information, clean-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "sandbox/registry.h"
#include "isol8/v1/admin.rpc.h"
#include "base/log.h"
#include "engine/runtime.h"
#include "base/util.h"


struct setup_stream {
	struct isol8_rpc_call *call;
	bool broken; /* the client went away: stop sending, let the build finish */
};

static void setup_event(void *userdata, const char *image, Isol8__V1__SetupEvent__Phase phase, const char *message)
{
	struct setup_stream *s = userdata;
	struct isol8_error err = ISOL8_ERROR_INIT;
	Isol8__V1__SetupEvent ev;

	if (phase == ISOL8__V1__SETUP_EVENT__PHASE__BUILT || phase == ISOL8__V1__SETUP_EVENT__PHASE__FAILED)
		isol8_log(ISOL8_LOG_INFO, "setup %s %s %s", ISOL8_LOG_Q(image),
			  phase == ISOL8__V1__SETUP_EVENT__PHASE__BUILT ? "built" : "failed:", ISOL8_LOG_Q(message));
	if (s->broken)
		return;
	isol8__v1__setup_event__init(&ev);
	ev.image = (char *)image;
	ev.phase = phase;
	ev.message = (char *)(message ? message : "");
	if (isol8_rpc_call_write(s->call, &ev.base, &err) < 0)
		s->broken = true;
}

static void handle_setup(struct isol8_rpc_call *call, const Isol8__V1__SetupRequest *req, void *userdata)
{
	struct isol8d *d = userdata;
	struct setup_stream s = {call, false};
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8d_call_begin(d, call)) {
		int ret = isol8_engine_setup(d->engine, req, setup_event, &s, &err);
		if (ret < 0 && err.code == ISOL8_E_INVALID) {
			isol8d_finish_error(call, &err);
		} else {
			setup_event(&s, "", ret < 0 ? ISOL8__V1__SETUP_EVENT__PHASE__FAILED
						    : ISOL8__V1__SETUP_EVENT__PHASE__DONE,
				    ret < 0 ? err.message : "");
			if (ret < 0)
				isol8d_finish_error(call, &err);
			else
				isol8_rpc_call_finish(call, 0, "");
		}
	}
	isol8d_call_end(d);
}

/* Kept sandboxes gathered for a reply (bounded: the rest are counted only). */
#define KEPT_LISTED 256

struct kept_list {
	Isol8__V1__InfoResult__KeptSandbox items[KEPT_LISTED];
	Isol8__V1__InfoResult__KeptSandbox *ptrs[KEPT_LISTED];
	char *ids[KEPT_LISTED];
	char store[KEPT_LISTED][65];
	size_t n;
};

static void kept_add(const char *container_id, const char *runtime, void *userdata)
{
	struct kept_list *k = userdata;

	if (k->n == KEPT_LISTED)
		return;
	snprintf(k->store[k->n], sizeof(k->store[0]), "%s", container_id);
	isol8__v1__info_result__kept_sandbox__init(&k->items[k->n]);
	k->items[k->n].container_id = k->store[k->n];
	k->items[k->n].runtime = (char *)(runtime ? runtime : "");
	k->ptrs[k->n] = &k->items[k->n];
	k->ids[k->n] = k->store[k->n];
	k->n++;
}

static void kept_removed(const char *container_id, void *userdata)
{
	kept_add(container_id, NULL, userdata);
}

static void fill_sandboxes(struct isol8d *d, Isol8__V1__InfoResult__Sandboxes *out)
{
	struct isol8_registry_stats st;

	isol8_engine_pool_stats(d->engine, &st);
	isol8__v1__info_result__sandboxes__init(out);
	out->strategy = st.secure ? "secure" : "fast";
	out->live = st.live;
	out->clean = st.clean;
	out->in_use = st.in_use;
	out->starting = st.starting;
	out->resetting = st.resetting;
	out->kept = st.kept;
	out->sessions = st.sessions;
	out->removing = st.removing;
	out->pools = st.pools;
	out->created = (int64_t)st.created;
	out->reused = (int64_t)st.reused;
	out->resets_failed = (int64_t)st.resets_failed;
	out->replaced = (int64_t)st.replaced;
}

static void handle_info(struct isol8_rpc_call *call, const Isol8__V1__InfoRequest *req, void *userdata)
{
	_cleanup_free_ struct kept_list *kept = calloc(1, sizeof(*kept));
	Isol8__V1__InfoResult__Sandboxes sandboxes;
	struct isol8d *d = userdata;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char version[64] = "", api[16] = "";
	size_t count;
	const struct isol8_runtime *all = isol8_runtime_all(&count);
	struct isol8_image_status status[8];
	Isol8__V1__InfoResult__Image images[8], *image_ptrs[8];
	Isol8__V1__InfoResult out;
	size_t n = 0;

	(void)req;
	if (!isol8d_call_begin(d, call)) {
		isol8d_call_end(d);
		return;
	}
	int ret = isol8_engine_docker_version(d->engine, version, sizeof(version), api, sizeof(api), &err);
	for (size_t i = 0; ret == 0 && i < count && i < ISOL8_ARRAY_LEN(images); i++, n++) {
		ret = isol8_engine_image_status(d->engine, all[i].info->name, &status[i], &err);
		isol8__v1__info_result__image__init(&images[i]);
		images[i].runtime = (char *)all[i].info->name;
		images[i].image = status[i].image;
		images[i].present = status[i].present;
		images[i].up_to_date = status[i].up_to_date;
		image_ptrs[i] = &images[i];
	}
	if (ret < 0) {
		isol8d_finish_error(call, &err);
	} else {
		isol8__v1__info_result__init(&out);
		out.version = ISOL8_VERSION;
		out.instance_id = (char *)isol8_engine_instance_id(d->engine);
		out.docker_version = version;
		out.docker_api_version = api;
		out.images = image_ptrs;
		out.n_images = n;
		out.active_executions = isol8_engine_active(d->engine);
		fill_sandboxes(d, &sandboxes);
		out.sandboxes = &sandboxes;
		if (kept != NULL) {
			isol8_engine_each_kept(d->engine, kept_add, kept);
			out.kept = kept->ptrs;
			out.n_kept = kept->n;
		}
		isol8d_reply(call, &out.base);
	}
	isol8d_call_end(d);
}

static void cleanup_reply(struct isol8_rpc_call *call, const struct isol8_cleanup_report *r, struct kept_list *kept)
{
	char *errors[ISOL8_CLEANUP_ERRORS_MAX];
	Isol8__V1__CleanupResult out;

	isol8_log(ISOL8_LOG_INFO,
		  "cleanup removed %d sessions, %d containers, %d images; failed %d sessions, %d containers, %d images",
		  r->removed_sessions, r->removed_containers, r->removed_images, r->failed_sessions,
		  r->failed_containers, r->failed_images);
	for (size_t i = 0; i < r->n_errors; i++) {
		errors[i] = (char *)r->errors[i];
		isol8_log(ISOL8_LOG_WARN, "cleanup: %s", ISOL8_LOG_Q(r->errors[i]));
	}
	isol8__v1__cleanup_result__init(&out);
	out.removed_sessions = r->removed_sessions;
	out.failed_sessions = r->failed_sessions;
	out.removed_containers = r->removed_containers;
	out.failed_containers = r->failed_containers;
	out.removed_images = r->removed_images;
	out.failed_images = r->failed_images;
	out.errors = errors;
	out.n_errors = r->n_errors;
	out.kept_containers = kept->ids;
	out.n_kept_containers = kept->n;
	isol8d_reply(call, &out.base);
}

static void handle_cleanup(struct isol8_rpc_call *call, const Isol8__V1__CleanupRequest *req, void *userdata)
{
	_cleanup_free_ struct kept_list *kept = calloc(1, sizeof(*kept));
	_cleanup_free_ struct isol8_cleanup_report *report = calloc(1, sizeof(*report));
	struct isol8d *d = userdata;
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8d_call_begin(d, call)) {
		if (kept == NULL || report == NULL) {
			isol8_error_set(&err, ISOL8_E_NOMEM, "out of memory");
			isol8d_finish_error(call, &err);
		} else if (isol8_engine_cleanup(d->engine, req->sessions, req->images, report, kept_removed, kept,
						&err) < 0) {
			isol8_log(ISOL8_LOG_WARN, "cleanup failed: %s", ISOL8_LOG_Q(err.message));
			isol8d_finish_error(call, &err);
		} else {
			cleanup_reply(call, report, kept);
		}
	}
	isol8d_call_end(d);
}

int isol8d_routes_admin(struct isol8d *d, struct isol8_error *err)
{
	int ret = isol8__v1__admin__setup__route(d->server, handle_setup, d, err);
	if (ret == 0)
		ret = isol8__v1__admin__info__route(d->server, handle_info, d, err);
	if (ret == 0)
		ret = isol8__v1__admin__cleanup__route(d->server, handle_cleanup, d, err);
	return ret;
}
