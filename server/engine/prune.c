/* cleanup.autoPrune: isol8 containers past their age that no live daemon
 * holds. See isol8_engine_prune in engine.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/paths.h"
#include "engine/engine_internal.h"

struct prune_scan {
	struct isol8_engine *engine;
	int64_t created_before;    /* seconds since the epoch */
	struct isol8_id_list doomed;
};

static void consider(const struct isol8_docker_entry *c, void *userdata)
{
	struct prune_scan *s = userdata;
	const char *instance = isol8_docker_entry_label(c, "isol8.instance");
	const char *owner = isol8_docker_entry_label(c, "isol8.owner");

	if (c->created > s->created_before || strcmp(instance, s->engine->instance_id) == 0)
		return;
	/* an earlier run of this daemon left it, or its daemon is gone */
	if (strcmp(owner, s->engine->owner) == 0 || !isol8_daemon_socket_alive(owner))
		isol8_id_list_collect(c->id, "", &s->doomed);
}

int isol8_engine_prune(struct isol8_engine *e, int64_t max_age_ms, int *removed, struct isol8_error *err)
{
	struct prune_scan s = {.engine = e, .created_before = (int64_t)time(NULL) - max_age_ms / 1000};
	int kept = 0, ret;

	*removed = 0;
	ret = isol8_docker_container_list_entries(e->docker, "isol8.managed=true", consider, &s, err);
	if (ret == 0 && s.doomed.oom)
		ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory listing containers");
	for (size_t i = 0; ret == 0 && i < s.doomed.n; i++) {
		struct isol8_error one = ISOL8_ERROR_INIT;
		/* one that went meanwhile is no failure */
		if (isol8_docker_container_remove(e->docker, s.doomed.items[i], true, &one) == 0)
			(*removed)++;
		else if (one.code != ISOL8_E_NOT_FOUND)
			ret = isol8_error_set(err, one.code, "%s", one.message);
	}
	free(s.doomed.items);
	isol8_registry_remove_kept_idle(e->registry, max_age_ms, NULL, NULL, &kept);
	*removed += kept;
	return ret;
}
