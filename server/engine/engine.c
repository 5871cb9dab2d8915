/*
 * The execution engine's life: its configuration, the registry and its
 * prewarmed pools, orphans and kept sandboxes. One execution is run.c, the
 * clean-up cleanup.c, the health check health.c. See engine.h for the
 * thread model.
 */
#include "engine/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sandbox/agent_client.h"
#include "engine/engine_internal.h"
#include "engine/launcher.h"
#include "base/log.h"
#include "engine/options.h"
#include "base/util.h"

#define DEFAULT_WORKERS 4

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

/* Registry limits from the engine's configuration. */
static struct isol8_registry_config registry_config(const struct isol8_engine *e,
						    const struct isol8_engine_config *cfg)
{
	struct isol8_registry_config rc = {.env = e->env};

	rc.strategy = cfg->secure_pool ? ISOL8_POOL_SECURE : ISOL8_POOL_FAST;
	rc.max_executions = cfg->max_concurrent > 0 ? cfg->max_concurrent : 64;
	rc.max_waiting = cfg->max_waiting > 0 ? cfg->max_waiting : 4 * rc.max_executions;
	rc.max_warm = cfg->max_warm > 0 ? cfg->max_warm : (cfg->max_warm < 0 ? 0 : ISOL8_DEFAULT_MAX_WARM);
	rc.max_sandboxes = cfg->max_sandboxes > 0 ? cfg->max_sandboxes : rc.max_executions + rc.max_warm;
	rc.workers = DEFAULT_WORKERS;
	return rc;
}

#define LAUNCHER_START_MS 10000

/* The registry's prepare hook: a clean pooled sandbox gets its next
 * execution's handler forked and waiting, with the runtime's interpreter
 * started behind it where it has a launcher. Failing that, runs take the
 * normal path. */
static void prepare_sandbox(void *userdata, struct isol8_sandbox *sb)
{
	struct isol8_engine *e = userdata;
	const struct isol8_runtime *rt = isol8_runtime_find(sb->runtime);
	const struct isol8_launcher *l = rt && e->prestart ? isol8_launcher_find(rt->info->name) : NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_exec_spec spec;

	if (rt == NULL || sb->launcher_fd >= 0)
		return;
	if (l == NULL) {
		Isol8__Agent__V1__Exec none = ISOL8__AGENT__V1__EXEC__INIT;
		isol8_agent_prestart(sb->socket, &none, LAUNCHER_START_MS, &sb->launcher_fd, &err);
	} else if (isol8_exec_spec_interpreter(rt, l->argv, &spec, &err) == 0) {
		/* a filtered sandbox's programs all get the same proxy environment */
		if ((sb->egress == NULL || isol8_proxy_env_add(&spec, sb->egress_ca, &err) == 0) &&
		    isol8_agent_prestart(sb->socket, &spec.exec, LAUNCHER_START_MS, &sb->launcher_fd, &err) == 0)
			sb->launcher_running = true;
		isol8_exec_spec_release(&spec);
	}
	if (err.code != 0 && e->log)
		e->log(ISOL8_LOG_WARN, err.message);
}

/* The container options of a runtime's default pool: a request with no
 * options for that runtime resolves to exactly these. */
static int default_container_options(const struct isol8_engine *e, const struct isol8_runtime *rt,
				     struct isol8_container_options *out, struct isol8_error *err)
{
	Isol8__V1__ExecuteRequest req;
	struct isol8_exec_options opts;
	int ret;

	isol8__v1__execute_request__init(&req);
	req.runtime = (char *)rt->info->name;
	req.code = "-";
	ret = isol8_options_resolve_with(&req, &e->defaults, &opts, err);
	if (ret == 0)
		*out = opts.container;
	isol8_exec_options_release(&opts);
	return ret;
}

int isol8_engine_prewarm(struct isol8_engine *e, struct isol8_error *err)
{
	size_t n;
	const struct isol8_runtime *rts = isol8_runtime_all(&n);
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++) {
		int clean = e->prewarm_by_runtime[rts[i].info - isol8_runtime_infos];
		struct isol8_container_options c;
		if (clean <= 0)
			continue;
		ret = default_container_options(e, &rts[i], &c, err);
		if (ret == 0)
			ret = isol8_registry_prewarm(e->registry, &c, clean, err);
	}
	return ret;
}

/* The session table's log line for a session that went. */
static void session_gone(void *userdata, const char *id, const char *reason)
{
	struct isol8_engine *e = userdata;

	if (e->log) {
		char msg[ISOL8_SESSION_ID_MAX + 64];
		snprintf(msg, sizeof(msg), "session %s %s", id, reason);
		e->log(strcmp(reason, "broken") == 0 ? ISOL8_LOG_WARN : ISOL8_LOG_INFO, msg);
	}
}

int isol8_engine_destroy_session(struct isol8_engine *e, const char *session_id, bool *destroyed,
				 struct isol8_error *err)
{
	return isol8_sessions_destroy(e->sessions, session_id, destroyed, err);
}

int isol8_engine_list_sessions(struct isol8_engine *e, void (*fn)(const struct isol8_session_info *info,
								 void *userdata),
			       void *userdata, struct isol8_error *err)
{
	return isol8_sessions_list(e->sessions, fn, userdata, err);
}

int isol8_engine_new(struct isol8_engine **out, const struct isol8_engine_config *cfg, struct isol8_error *err)
{
	struct isol8_registry_config rc;
	struct isol8_engine *e;
	int ret;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	pthread_mutex_init(&e->setup_lock, NULL);
	pthread_mutex_init(&e->health_lock, NULL);
	ret = isol8_engine_settings_init(e, cfg, err);
	if (ret < 0) {
		isol8_engine_free(e);
		return ret;
	}
	e->run_dir = dup_or_null(cfg->run_dir);
	e->agent_path = dup_or_null(cfg->agent_path);
	e->images_dir = dup_or_null(cfg->images_dir);
	e->image_prefix = strdup(cfg->image_prefix ? cfg->image_prefix : "isol8");
	e->base_image = strdup(cfg->base_image ? cfg->base_image : "isol8:base");
	e->owner = strdup(cfg->owner ? cfg->owner : "isol8d");
	e->ca_bundle = dup_or_null(cfg->ca_bundle);
	e->egress = cfg->egress;
	e->egress_max_bytes = cfg->egress_max_bytes;
	if (!e->run_dir || !e->agent_path || !e->images_dir || !e->image_prefix || !e->base_image ||
	    !e->owner || (cfg->ca_bundle != NULL && e->ca_bundle == NULL)) {
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
					    e->image_prefix, cfg->egress, e->ca_bundle};
	rc = registry_config(e, cfg);
	rc.prepare = prepare_sandbox;
	rc.prepare_userdata = e;
	e->prestart = !cfg->no_prestart;
	e->log = cfg->log;
	e->prewarm = cfg->prewarm < 0 ? 1 : cfg->prewarm;
	ret = isol8_registry_new(&e->registry, &rc, cfg->log, err);
	if (ret == 0) {
		struct isol8_sessions_config sc = {.registry = e->registry, .max = cfg->max_sessions,
						   .idle_ms = cfg->session_idle_ms, .on_gone = session_gone,
						   .userdata = e};
		ret = isol8_sessions_new(&e->sessions, &sc, err);
	}
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
	/* running executions see it and stop; the registry waits for them */
	atomic_store(&e->shutting_down, true);
	isol8_sessions_free(e->sessions);
	isol8_registry_free(e->registry);
	if (e->docker != NULL) {
		char filter[128];
		struct isol8_error ignored = ISOL8_ERROR_INIT;
		snprintf(filter, sizeof(filter), "isol8.instance=%s", e->instance_id);
		remove_labelled(e, filter, NULL, &ignored);
		isol8_docker_free(e->docker);
	}
	pthread_mutex_destroy(&e->setup_lock);
	pthread_mutex_destroy(&e->health_lock);
	isol8_engine_settings_release(e);
	free(e->run_dir);
	free(e->agent_path);
	free(e->images_dir);
	free(e->image_prefix);
	free(e->base_image);
	free(e->owner);
	free(e->ca_bundle);
	free(e);
}

const char *isol8_engine_instance_id(const struct isol8_engine *e)
{
	return e->instance_id;
}

int isol8_engine_active(struct isol8_engine *e)
{
	struct isol8_registry_stats st;

	isol8_registry_stats(e->registry, &st);
	return st.running;
}

void isol8_engine_pool_stats(struct isol8_engine *e, struct isol8_registry_stats *out)
{
	isol8_registry_stats(e->registry, out);
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

	int dirs = 0, ret;

	snprintf(filter, sizeof(filter), "isol8.owner=%s", e->owner);
	ret = remove_labelled(e, filter, removed, err);
	/* and the run dirs (agent sockets) that no container owns any more */
	if (ret == 0 && isol8_sandbox_remove_stale_dirs(&e->env, &dirs, err) < 0)
		ret = isol8_error_prefix(err, "removing stale run directories");
	return ret;
}

struct kept_fn {
	void (*each)(const char *container_id, const char *runtime, void *userdata);
	void *userdata;
};

static void kept_call(const struct isol8_sandbox *sb, void *userdata)
{
	struct kept_fn *k = userdata;

	k->each(sb->container_id, sb->runtime, k->userdata);
}

void isol8_engine_each_kept(struct isol8_engine *e, void (*fn)(const char *container_id, const char *runtime,
							       void *userdata),
			    void *userdata)
{
	struct kept_fn k = {fn, userdata};

	isol8_registry_each_kept(e->registry, kept_call, &k);
}
