/*
 * Clean-up (Admin.Cleanup): sessions, kept sandboxes, the isol8 containers
 * no live daemon holds, and with images isol8's images. Each removal that
 * fails is counted and described in the report, and the others go on; only
 * a list Docker cannot give stops it. See engine.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/paths.h"
#include "engine/engine_internal.h"
#include "base/util.h"

/* Counts a failure in *failed and describes it (while there is room). */
static void report_fail(struct isol8_cleanup_report *r, int *failed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report_fail(struct isol8_cleanup_report *r, int *failed, const char *fmt, ...)
{
	va_list ap;

	(*failed)++;
	if (r->n_errors == ISOL8_CLEANUP_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(r->errors[r->n_errors++], sizeof(r->errors[0]), fmt, ap);
	va_end(ap);
}

struct kept_removed {
	void (*fn)(const char *container_id, void *userdata);
	void *userdata;
};

static void kept_call(const struct isol8_sandbox *sb, void *userdata)
{
	struct kept_removed *k = userdata;

	if (k->fn)
		k->fn(sb->container_id, k->userdata);
}

struct cleanup_scan {
	struct isol8_engine *engine;
	struct isol8_id_list doomed;
};

static void cleanup_consider(const struct isol8_docker_entry *c, void *userdata)
{
	struct cleanup_scan *s = userdata;
	const char *owner = isol8_docker_entry_label(c, "isol8.owner");

	/* this daemon's pool and runs, and another live daemon's, stay */
	if (strcmp(isol8_docker_entry_label(c, "isol8.instance"), s->engine->instance_id) == 0)
		return;
	if (owner[0] != '\0' && strcmp(owner, s->engine->owner) != 0 && isol8_daemon_socket_alive(owner))
		return;
	isol8_id_list_collect(c->id, "", &s->doomed);
}

/* Every isol8 container that neither this daemon's running instance nor
 * another live daemon holds (a dead daemon's, or one no daemon owns). A
 * container gone meanwhile counts as removed, an image gone meanwhile as
 * neither. */
static int cleanup_containers(struct isol8_engine *e, struct isol8_cleanup_report *r, struct isol8_error *err)
{
	struct cleanup_scan s = {.engine = e};
	int ret = isol8_docker_container_list_entries(e->docker, "isol8.managed=true", cleanup_consider, &s, err);

	if (ret == 0 && s.doomed.oom)
		ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory listing containers");
	for (size_t i = 0; ret == 0 && i < s.doomed.n; i++) {
		struct isol8_error one = ISOL8_ERROR_INIT;
		if (isol8_docker_container_remove(e->docker, s.doomed.items[i], true, &one) == 0)
			r->removed_containers++;
		else if (one.code != ISOL8_E_NOT_FOUND)
			report_fail(r, &r->failed_containers, "container %s: %s", s.doomed.items[i], one.message);
	}
	free(s.doomed.items);
	return ret;
}

/* The isol8 images by id, with the name each is reported by (its first
 * tag, else its id). */
struct image_list {
	struct isol8_id_list ids, names;
};

static void image_collect(const char *id, const char *name, void *userdata)
{
	struct image_list *l = userdata;

	isol8_id_list_collect(id, "", &l->ids);
	isol8_id_list_collect(name && name[0] ? name : id, "", &l->names);
}

static void remove_image(struct isol8_engine *e, const char *id, const char *name, struct isol8_cleanup_report *r)
{
	struct isol8_error one = ISOL8_ERROR_INIT;

	if (isol8_docker_image_remove(e->docker, id, true, &one) == 0)
		r->removed_images++;
	else if (one.code != ISOL8_E_NOT_FOUND)
		report_fail(r, &r->failed_images, "image %s: %s", name, one.message);
}

static int cleanup_images(struct isol8_engine *e, struct isol8_cleanup_report *r, struct isol8_error *err)
{
	struct image_list l = {0};
	int ret = isol8_docker_image_list(e->docker, "isol8.managed=true", image_collect, &l, err);

	if (ret == 0 && (l.ids.oom || l.names.oom))
		ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory listing images");
	for (size_t i = 0; ret == 0 && i < l.ids.n; i++)
		remove_image(e, l.ids.items[i], l.names.items[i], r);
	/* the locally built base carries no isol8 label of its own */
	if (ret == 0 && isol8_images_base_is_local(e))
		remove_image(e, e->base_image, e->base_image, r);
	free(l.ids.items);
	free(l.names.items);
	return ret;
}

int isol8_engine_cleanup(struct isol8_engine *e, bool sessions, bool images, struct isol8_cleanup_report *out,
			 void (*kept)(const char *container_id, void *userdata), void *userdata,
			 struct isol8_error *err)
{
	struct kept_removed k = {kept, userdata};
	int ret;

	memset(out, 0, sizeof(*out));
	/* a session is taken out at once and its sandbox removed in the
	 * background (a failure there is logged): destroying one cannot fail */
	if (sessions)
		isol8_sessions_destroy_all(e->sessions, &out->removed_sessions);
	/* this daemon's pooled and running sandboxes are left alone: its kept
	 * ones and every other daemon's isol8 containers go */
	isol8_registry_remove_kept(e->registry, kept_call, &k, &out->removed_containers);
	ret = cleanup_containers(e, out, err);
	if (ret == 0 && images)
		ret = cleanup_images(e, out, err);
	return ret;
}
