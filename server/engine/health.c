/* The engine's health: whether Docker answers a ping, asked at most once
 * per ISOL8_HEALTH_CACHE_MS (see engine.h). */
#include <string.h>

#include "engine/engine_internal.h"
#include "base/util.h"

int isol8_engine_health(struct isol8_engine *e, struct isol8_error *err)
{
	int64_t now;
	int ret;

	pthread_mutex_lock(&e->health_lock);
	now = isol8_now_ms();
	if (e->health_at_ms == 0 || now - e->health_at_ms >= ISOL8_HEALTH_CACHE_MS) {
		isol8_error_clear(&e->health_err);
		isol8_docker_ping(e->docker, &e->health_err);
		e->health_at_ms = isol8_now_ms();
	}
	ret = e->health_err.code == 0 ? 0 : -e->health_err.code;
	if (ret < 0 && err != NULL)
		*err = e->health_err;
	pthread_mutex_unlock(&e->health_lock);
	return ret;
}
