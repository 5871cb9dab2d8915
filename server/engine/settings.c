/* The engine's defaults, policy, remote-code policy and prewarm counts, copied from its
 * configuration: see engine_internal.h. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"

int isol8_engine_settings_init(struct isol8_engine *e, const struct isol8_engine_config *cfg,
			       struct isol8_error *err)
{
	int prewarm = cfg->prewarm < 0 ? 1 : cfg->prewarm;

	for (int i = 0; i < ISOL8_RT_COUNT; i++)
		e->prewarm_by_runtime[i] = cfg->prewarm_by_runtime ? cfg->prewarm_by_runtime[i] : prewarm;
	if (cfg->defaults != NULL)
		e->defaults = *cfg->defaults;
	else
		isol8_exec_defaults_init(&e->defaults);
	e->defaults.container.seccomp_profile = NULL;
	if (e->defaults.container.seccomp == ISOL8_SECCOMP_CUSTOM) {
		if (cfg->defaults->container.seccomp_profile == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "defaults: seccomp \"custom\" without a profile");
		e->default_profile = strdup(cfg->defaults->container.seccomp_profile);
		if (e->default_profile == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		e->defaults.container.seccomp_profile = e->default_profile;
	}
	if (cfg->remote_code != NULL) {
		if (isol8_remote_new(&e->remote, cfg->remote_code, err) < 0)
			return -err->code;
	} else {
		struct isol8_remote_settings off;
		isol8_remote_settings_init(&off);
		if (isol8_remote_new(&e->remote, &off, err) < 0)
			return -err->code;
	}
	if (isol8_packages_init(&e->packages, cfg->packages, err) < 0)
		return -err->code;
	if (cfg->policy != NULL)
		return isol8_policy_copy(&e->policy, cfg->policy, err);
	isol8_policy_init(&e->policy);
	return 0;
}

void isol8_engine_settings_release(struct isol8_engine *e)
{
	isol8_policy_release(&e->policy);
	isol8_remote_free(e->remote);
	e->remote = NULL;
	isol8_packages_release(&e->packages);
	free(e->default_profile);
	e->default_profile = NULL;
}
