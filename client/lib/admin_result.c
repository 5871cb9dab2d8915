/* ListSessions, Info and Cleanup replies -> their structs: see result.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/client.h"
#include "lib/result.h"

static void session_info_release(struct isol8_session_info *s)
{
	free(s->id);
	free(s->runtime);
	free(s->created_at);
	free(s->last_used_at);
	free(s->container_id);
}

void isol8_session_infos_free(struct isol8_session_info *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		session_info_release(&list[i]);
	free(list);
}

int isol8_sessions_from_proto(struct isol8_session_info **out, size_t *n, const Isol8__V1__ListSessionsResult *msg,
			      struct isol8_error *err)
{
	bool oom = false;
	struct isol8_session_info *list = isol8_copy_array(&oom, msg->n_sessions, sizeof(*list));

	*out = NULL;
	*n = 0;
	for (size_t i = 0; list != NULL && i < msg->n_sessions; i++) {
		const Isol8__V1__SessionInfo *m = msg->sessions[i];
		list[i] = (struct isol8_session_info){
			.id = isol8_copy_str(&oom, m->id),
			.runtime = isol8_copy_str(&oom, m->runtime),
			.created_at = isol8_copy_str(&oom, m->created_at),
			.last_used_at = isol8_copy_str(&oom, m->last_used_at),
			.container_id = isol8_copy_str(&oom, m->container_id),
			.busy = m->busy,
			.idle_ms = m->idle_ms,
		};
	}
	if (oom) {
		isol8_session_infos_free(list, msg->n_sessions);
		return isol8_client_nomem(err, "copying the session list");
	}
	*out = list;
	*n = msg->n_sessions;
	return 0;
}

static void copy_sandboxes(struct isol8_info *info, const Isol8__V1__InfoResult__Sandboxes *s, bool *oom)
{
	info->sandboxes.strategy = isol8_copy_str(oom, s != NULL ? s->strategy : NULL);
	if (s == NULL)
		return;
	info->sandboxes.live = s->live;
	info->sandboxes.clean = s->clean;
	info->sandboxes.in_use = s->in_use;
	info->sandboxes.starting = s->starting;
	info->sandboxes.resetting = s->resetting;
	info->sandboxes.kept = s->kept;
	info->sandboxes.removing = s->removing;
	info->sandboxes.pools = s->pools;
	info->sandboxes.sessions = s->sessions;
	info->sandboxes.created = s->created;
	info->sandboxes.reused = s->reused;
	info->sandboxes.resets_failed = s->resets_failed;
	info->sandboxes.replaced = s->replaced;
}

static void copy_images(struct isol8_info *info, const Isol8__V1__InfoResult *m, bool *oom)
{
	info->images = isol8_copy_array(oom, m->n_images, sizeof(*info->images));
	if (info->images == NULL)
		return;
	info->n_images = m->n_images;
	for (size_t i = 0; i < m->n_images; i++) {
		info->images[i].runtime = isol8_copy_str(oom, m->images[i]->runtime);
		info->images[i].image = isol8_copy_str(oom, m->images[i]->image);
		info->images[i].present = m->images[i]->present;
		info->images[i].up_to_date = m->images[i]->up_to_date;
	}
}

static void copy_kept(struct isol8_info *info, const Isol8__V1__InfoResult *m, bool *oom)
{
	info->kept = isol8_copy_array(oom, m->n_kept, sizeof(*info->kept));
	if (info->kept == NULL)
		return;
	info->n_kept = m->n_kept;
	for (size_t i = 0; i < m->n_kept; i++) {
		info->kept[i].container_id = isol8_copy_str(oom, m->kept[i]->container_id);
		info->kept[i].runtime = isol8_copy_str(oom, m->kept[i]->runtime);
	}
}

int isol8_info_from_proto(struct isol8_info **out, const Isol8__V1__InfoResult *m, struct isol8_error *err)
{
	struct isol8_info *info = calloc(1, sizeof(*info));
	bool oom = info == NULL;

	*out = NULL;
	if (info == NULL)
		return isol8_client_nomem(err, "copying the daemon's information");
	info->version = isol8_copy_str(&oom, m->version);
	info->instance_id = isol8_copy_str(&oom, m->instance_id);
	info->docker_version = isol8_copy_str(&oom, m->docker_version);
	info->docker_api_version = isol8_copy_str(&oom, m->docker_api_version);
	info->active_executions = m->active_executions;
	copy_sandboxes(info, m->sandboxes, &oom);
	copy_images(info, m, &oom);
	copy_kept(info, m, &oom);
	if (oom) {
		isol8_info_free(info);
		return isol8_client_nomem(err, "copying the daemon's information");
	}
	*out = info;
	return 0;
}

void isol8_info_free(struct isol8_info *info)
{
	if (info == NULL)
		return;
	free(info->version);
	free(info->instance_id);
	free(info->docker_version);
	free(info->docker_api_version);
	free(info->sandboxes.strategy);
	for (size_t i = 0; i < info->n_images; i++) {
		free(info->images[i].runtime);
		free(info->images[i].image);
	}
	free(info->images);
	for (size_t i = 0; i < info->n_kept; i++) {
		free(info->kept[i].container_id);
		free(info->kept[i].runtime);
	}
	free(info->kept);
	free(info);
}

static void strings_free(char **list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		free(list[i]);
	free(list);
}

void isol8_cleanup_result_free(struct isol8_cleanup_result *r)
{
	if (r == NULL)
		return;
	strings_free(r->sessions.errors, r->sessions.n_errors);
	strings_free(r->containers.errors, r->containers.n_errors);
	strings_free(r->images.errors, r->images.n_errors);
	strings_free(r->kept_containers, r->n_kept_containers);
	free(r);
}

/* Which counts an error line belongs to, by what it names first. */
static struct isol8_cleanup_counts *error_counts(struct isol8_cleanup_result *r, const char *line)
{
	static const char session[] = "session ", image[] = "image ";

	if (strncmp(line, session, sizeof(session) - 1) == 0)
		return &r->sessions;
	if (strncmp(line, image, sizeof(image) - 1) == 0)
		return &r->images;
	return &r->containers;
}

static void copy_errors(struct isol8_cleanup_result *r, const Isol8__V1__CleanupResult *m, bool *oom)
{
	struct isol8_cleanup_counts *all[] = {&r->sessions, &r->containers, &r->images};

	/* each list has room for every line */
	for (size_t k = 0; k < 3; k++)
		all[k]->errors = isol8_copy_array(oom, m->n_errors, sizeof(char *));
	if (*oom)
		return;
	for (size_t i = 0; i < m->n_errors; i++) {
		struct isol8_cleanup_counts *c = error_counts(r, m->errors[i]);
		c->errors[c->n_errors++] = isol8_copy_str(oom, m->errors[i]);
	}
}

int isol8_cleanup_from_proto(struct isol8_cleanup_result **out, const Isol8__V1__CleanupResult *m,
			     struct isol8_error *err)
{
	struct isol8_cleanup_result *r = calloc(1, sizeof(*r));
	bool oom = r == NULL;

	*out = NULL;
	if (r == NULL)
		return isol8_client_nomem(err, "copying the clean-up result");
	r->sessions.removed = m->removed_sessions;
	r->sessions.failed = m->failed_sessions;
	r->containers.removed = m->removed_containers;
	r->containers.failed = m->failed_containers;
	r->images.removed = m->removed_images;
	r->images.failed = m->failed_images;
	copy_errors(r, m, &oom);
	r->kept_containers = isol8_copy_array(&oom, m->n_kept_containers, sizeof(char *));
	for (size_t i = 0; r->kept_containers != NULL && i < m->n_kept_containers; i++)
		r->kept_containers[r->n_kept_containers++] = isol8_copy_str(&oom, m->kept_containers[i]);
	if (oom) {
		isol8_cleanup_result_free(r);
		return isol8_client_nomem(err, "copying the clean-up result");
	}
	*out = r;
	return 0;
}
