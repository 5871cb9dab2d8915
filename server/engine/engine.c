/*
 * The execution engine: admission, one sandbox per execution, the agent exec,
 * output masking, and the result. See engine.h for the thread model.
 */
#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent_client.h"
#include "engine_internal.h"
#include "mask.h"
#include "options.h"
#include "sandbox.h"
#include "util.h"

#define ENV_MAX_VARS 256

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int make_dir(const char *path, struct isol8_error *err)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot create \"%s\"", path);
	return 0;
}

int isol8_engine_new(struct isol8_engine **out, const struct isol8_engine_config *cfg, struct isol8_error *err)
{
	struct isol8_engine *e;
	int ret;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->idle, NULL);
	pthread_cond_init(&e->slot, NULL);
	pthread_mutex_init(&e->setup_lock, NULL);
	e->max_concurrent = cfg->max_concurrent > 0 ? cfg->max_concurrent : 64;
	e->max_waiting = cfg->max_waiting > 0 ? cfg->max_waiting : 4 * e->max_concurrent;
	e->run_dir = dup_or_null(cfg->run_dir);
	e->agent_path = dup_or_null(cfg->agent_path);
	e->images_dir = dup_or_null(cfg->images_dir);
	e->image_prefix = strdup(cfg->image_prefix ? cfg->image_prefix : "isol8");
	e->base_image = strdup(cfg->base_image ? cfg->base_image : "isol8:base");
	e->owner = strdup(cfg->owner ? cfg->owner : "isol8d");
	if (!e->run_dir || !e->agent_path || !e->images_dir || !e->image_prefix || !e->base_image ||
	    !e->owner) {
		isol8_engine_free(e);
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	if (access(e->agent_path, R_OK) < 0) {
		ret = isol8_error_errno(err, ISOL8_E_PRECONDITION, errno, "agent binary \"%s\"", e->agent_path);
		isol8_engine_free(e);
		return ret;
	}
	ret = isol8_random_hex(e->instance_id, 8, err);
	if (ret == 0)
		ret = make_dir(e->run_dir, err);
	if (ret == 0)
		ret = isol8_docker_new(&e->docker, cfg->docker_socket, err);
	if (ret < 0) {
		isol8_engine_free(e);
		return ret;
	}
	e->env = (struct isol8_sandbox_env){e->docker, e->run_dir, e->agent_path, e->owner, e->instance_id,
					    e->image_prefix};
	ret = isol8_reaper_start(&e->reaper, &e->env, err);
	if (ret < 0) {
		isol8_engine_free(e);
		return ret;
	}
	*out = e;
	return 0;
}

static int remove_labelled(struct isol8_engine *e, const char *filter, int *removed, struct isol8_error *err);

void isol8_engine_free(struct isol8_engine *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->shutting_down = true;
	pthread_cond_broadcast(&e->slot);
	while (e->active > 0 || e->waiting > 0)
		pthread_cond_wait(&e->idle, &e->lock);
	pthread_mutex_unlock(&e->lock);
	isol8_reaper_stop(&e->reaper);
	if (e->docker != NULL) {
		char filter[128];
		struct isol8_error ignored = ISOL8_ERROR_INIT;
		snprintf(filter, sizeof(filter), "isol8.instance=%s", e->instance_id);
		remove_labelled(e, filter, NULL, &ignored);
		isol8_docker_free(e->docker);
	}
	pthread_cond_destroy(&e->idle);
	pthread_cond_destroy(&e->slot);
	pthread_mutex_destroy(&e->setup_lock);
	pthread_mutex_destroy(&e->lock);
	free(e->run_dir);
	free(e->agent_path);
	free(e->images_dir);
	free(e->image_prefix);
	free(e->base_image);
	free(e->owner);
	free(e);
}

const char *isol8_engine_instance_id(const struct isol8_engine *e)
{
	return e->instance_id;
}

int isol8_engine_active(struct isol8_engine *e)
{
	int n;

	pthread_mutex_lock(&e->lock);
	n = e->active;
	pthread_mutex_unlock(&e->lock);
	return n;
}

void isol8_id_list_collect(const char *id, const char *name, void *userdata)
{
	struct isol8_id_list *l = userdata;
	(void)name;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->items, cap * sizeof(*l->items));
		if (p == NULL) {
			l->oom = true;
			return;
		}
		l->items = p;
		l->cap = cap;
	}
	snprintf(l->items[l->n++], sizeof(l->items[0]), "%s", id);
}

bool isol8_id_list_has(const struct isol8_id_list *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], id) == 0)
			return true;
	return false;
}

static int remove_labelled(struct isol8_engine *e, const char *filter, int *removed, struct isol8_error *err)
{
	struct isol8_id_list l = {0};
	int ret, count = 0;

	ret = isol8_docker_container_list(e->docker, filter, isol8_id_list_collect, &l, err);
	for (size_t i = 0; ret == 0 && i < l.n; i++) {
		ret = isol8_docker_container_remove(e->docker, l.items[i], true, err);
		if (ret == 0)
			count++;
	}
	free(l.items);
	if (ret == 0 && l.oom)
		ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory listing containers");
	if (removed)
		*removed = count;
	return ret;
}

int isol8_engine_remove_orphans(struct isol8_engine *e, int *removed, struct isol8_error *err)
{
	char filter[PATH_MAX + 32];

	snprintf(filter, sizeof(filter), "isol8.owner=%s", e->owner);
	return remove_labelled(e, filter, removed, err);
}

int isol8_engine_cleanup(struct isol8_engine *e, bool images, int *removed_containers, int *removed_images,
			 struct isol8_error *err)
{
	int ret;

	*removed_containers = 0;
	*removed_images = 0;
	/* this daemon's running sandboxes are left alone: every other isol8 container goes */
	ret = isol8_engine_cleanup_containers(e, removed_containers, err);
	if (ret == 0 && images)
		ret = isol8_images_remove_all(e, removed_images, err);
	return ret;
}

/* -------------------------------------------------------------- execution */

/* Takes an execution slot. When all max_concurrent are busy the call waits
 * for one (as the original's semaphore does), noticing its own cancellation,
 * unless max_waiting calls already wait: then it is refused at once. */
static int admit(struct isol8_engine *e, const struct isol8_exec_sink *sink, struct isol8_error *err)
{
	int ret = 0;

	pthread_mutex_lock(&e->lock);
	if (e->active >= e->max_concurrent && e->waiting >= e->max_waiting) {
		ret = isol8_error_set(err, ISOL8_E_EXHAUSTED,
				      "too many executions at once: %d running and %d waiting (limits %d and %d)",
				      e->active, e->waiting, e->max_concurrent, e->max_waiting);
		goto out;
	}
	e->waiting++;
	while (e->active >= e->max_concurrent && !e->shutting_down) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e->slot, &e->lock, &until);
		pthread_mutex_unlock(&e->lock);
		bool gone = sink->cancelled != NULL && sink->cancelled(sink->userdata);
		pthread_mutex_lock(&e->lock);
		if (gone) {
			ret = isol8_error_set(err, ISOL8_E_CANCELLED, "cancelled while waiting for a free execution slot");
			break;
		}
	}
	e->waiting--;
	if (e->waiting == 0 && e->active == 0)
		pthread_cond_broadcast(&e->idle);
	if (ret == 0 && e->shutting_down)
		ret = isol8_error_set(err, ISOL8_E_UNAVAILABLE, "isol8d is shutting down");
	if (ret == 0)
		e->active++;
out:
	pthread_mutex_unlock(&e->lock);
	return ret;
}

static void release(struct isol8_engine *e)
{
	pthread_mutex_lock(&e->lock);
	pthread_cond_signal(&e->slot);
	if (--e->active == 0)
		pthread_cond_broadcast(&e->idle);
	pthread_mutex_unlock(&e->lock);
}

static bool shutting_down(struct isol8_engine *e)
{
	bool v;

	pthread_mutex_lock(&e->lock);
	v = e->shutting_down;
	pthread_mutex_unlock(&e->lock);
	return v;
}

/* Per-execution state handed to the agent client's callbacks. */
struct run {
	struct isol8_engine *engine;
	const struct isol8_exec_sink *sink;
	struct isol8_mask masks[2];
	int stream; /* stream being emitted, for emit_masked */
};

static int emit_masked(void *userdata, const uint8_t *data, size_t len)
{
	struct run *r = userdata;
	return r->sink->on_output(r->sink->userdata, r->stream, data, len);
}

static int run_output(void *userdata, int stream, const uint8_t *data, size_t len)
{
	struct run *r = userdata;

	if (stream != 1 && stream != 2)
		return 0;
	r->stream = stream;
	return isol8_mask_feed(&r->masks[stream - 1], data, len, emit_masked, r);
}

static bool run_cancelled(void *userdata)
{
	struct run *r = userdata;
	return shutting_down(r->engine) || (r->sink->cancelled && r->sink->cancelled(r->sink->userdata));
}

static void stamp(struct isol8_exec_result *res)
{
	isol8_utc_timestamp(res->timestamp, sizeof(res->timestamp));
}

static int setup_masks(struct run *r, const Isol8__V1__ExecuteRequest *req, struct isol8_error *err)
{
	const Isol8__V1__ExecutionOptions *o = req->options;
	int ret = 0;

	for (size_t i = 0; o && i < o->n_secrets && ret == 0; i++)
		for (int s = 0; s < 2 && ret == 0; s++)
			ret = isol8_mask_add(&r->masks[s], o->secrets[i]->value, err);
	return ret;
}

static int run_in_sandbox(struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req,
			  const struct isol8_exec_options *opts, struct run *r, struct isol8_exec_result *res,
			  struct isol8_error *err)
{
	struct isol8_agent_exec_io io = {run_output, run_cancelled, r};
	struct isol8_agent_exit exit_status = {0};
	struct isol8_exec_spec spec;
	struct isol8_sandbox sb;
	int ret;

	ret = isol8_exec_spec_build(req, opts, &spec, err);
	if (ret < 0)
		return ret;
	ret = isol8_sandbox_create(&e->env, opts, &sb, err);
	if (ret < 0) {
		isol8_exec_spec_release(&spec);
		return isol8_images_explain_create_error(e, opts, err);
	}
	snprintf(res->container_id, sizeof(res->container_id), "%s", sb.container_id);
	ret = isol8_agent_exec(sb.socket, &spec.exec, &io, &exit_status, err);
	isol8_exec_spec_release(&spec);
	for (int s = 0; ret == 0 && s < 2; s++) {
		r->stream = s + 1;
		ret = isol8_mask_flush(&r->masks[s], emit_masked, r);
		if (ret > 0 || (ret < 0 && err->code == 0))
			ret = isol8_error_set(err, ISOL8_E_CANCELLED, "output could not be delivered");
	}
	if (!opts->persist)
		isol8_reaper_add(&e->reaper, &sb);
	if (ret < 0)
		return ret;
	res->exit_code = exit_status.exit_code;
	res->signal = exit_status.signal;
	res->timed_out = exit_status.timed_out;
	res->truncated = exit_status.truncated;
	res->duration_ms = (int64_t)(exit_status.duration_us / 1000);
	res->cpu_user_ms = (int64_t)(exit_status.cpu_user_us / 1000);
	res->cpu_system_ms = (int64_t)(exit_status.cpu_system_us / 1000);
	res->max_rss_kb = (int64_t)exit_status.max_rss_kb;
	return 0;
}

int isol8_engine_execute(struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req,
			 const struct isol8_exec_sink *sink, struct isol8_exec_result *res,
			 struct isol8_error *err)
{
	struct isol8_exec_options opts;
	struct run r = {.engine = e, .sink = sink};
	int ret;

	memset(res, 0, sizeof(*res));
	ret = isol8_options_resolve(req, &opts, err);
	if (ret < 0)
		return ret;
	ret = isol8_random_hex(res->execution_id, 16, err);
	if (ret < 0)
		return ret;
	res->runtime = opts.runtime->name;
	stamp(res);
	ret = setup_masks(&r, req, err);
	if (ret == 0)
		ret = admit(e, sink, err);
	if (ret == 0) {
		ret = run_in_sandbox(e, req, &opts, &r, res, err);
		release(e);
	}
	isol8_mask_release(&r.masks[0]);
	isol8_mask_release(&r.masks[1]);
	return ret;
}
